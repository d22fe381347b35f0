"""Who may do what to a DataSet, over HTTP: every role and access level against every endpoint family."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.people import Person, make_dataset, make_person, share
from tests.serverproc import Server

CSV = "1,a\n2,b\n"
COLUMNS = [("n", "LONG"), ("s", "STRING")]

# Each family: how to call it on a DataSet, and the status for each caller (None = every success code).
Call = Callable[[httpx.Client, str], httpx.Response]
STREAMS: dict[str, int] = {}  # DataSet id -> its stream id, looked up by the owner


FAMILIES: dict[str, Call] = {
    "get metadata": lambda h, ds: h.get(f"/v1/datasets/{ds}"),
    "export csv": lambda h, ds: h.get(f"/v1/datasets/{ds}/data"),
    "query": lambda h, ds: h.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT count(*) FROM table"}),
    "access list": lambda h, ds: h.get(f"/api/data/v3/datasources/{ds}/permissions"),
    "import": lambda h, ds: h.put(
        f"/v1/datasets/{ds}/data", content=CSV.encode(), headers={"Content-Type": "text/csv"}
    ),
    "properties": lambda h, ds: h.put(f"/v1/datasets/{ds}", json={"description": "changed"}),
    "schema": lambda h, ds: h.put(
        f"/v1/datasets/{ds}",
        json={"schema": {"columns": [{"type": "LONG", "name": "n"}, {"type": "STRING", "name": "s"}]}},
    ),
    "stream execution": lambda h, ds: h.post(f"/v1/streams/{STREAMS[ds]}/executions", json={}),
    "share": lambda h, ds: h.post(
        f"/api/data/v3/datasources/{ds}/share",
        json={"permissions": [{"type": "USER", "id": 1, "accessLevel": "READ"}], "sendEmail": False},
    ),
    "pdp policies": lambda h, ds: h.get(f"/v1/datasets/{ds}/policies"),
    "pdp switch": lambda h, ds: h.put(f"/api/query/v1/data-control/{ds}", json={"enabled": False}),
}

OK, NO = "ok", 403
READERS = {"get metadata", "export csv", "query", "access list"}
EDITORS = READERS | {"import", "properties", "schema", "stream execution"}
SHARERS = READERS | {"share"}
EVERYTHING = set(FAMILIES)

# caller -> the families it may use (all others: 403)
ALLOWED: dict[str, set[str]] = {
    "owner": EVERYTHING,
    "admin": EVERYTHING,
    "co_owner": EVERYTHING,
    "can_edit": EDITORS | {"share"},
    "can_share": SHARERS,
    "read": READERS,
    "group_read": READERS,
    "stranger": set(),
}
CAN_DELETE = {"owner", "admin", "co_owner"}


@pytest.fixture(scope="module")
def cast(server: Server, api: httpx.Client) -> dict[str, Person]:
    people = {
        "owner": make_person(server, api, "Privileged", "owner"),
        "admin": make_person(server, api, "Admin", "admin"),
        "co_owner": make_person(server, api, "Participant", "coowner"),
        "can_edit": make_person(server, api, "Participant", "editor"),
        "can_share": make_person(server, api, "Participant", "sharer"),
        "read": make_person(server, api, "Participant", "reader"),
        "group_read": make_person(server, api, "Participant", "groupreader"),
        "stranger": make_person(server, api, "Privileged", "stranger"),
    }
    group = api.post("/v1/groups", json={"name": f"readers-{uuid.uuid4().hex[:6]}"}).json()["id"]
    assert api.put(f"/v1/groups/{group}/users/{people['group_read'].id}", json={}).status_code == 204
    people["_group"] = Person(id=group, email="", token="", http=api)
    return people


def _shared_dataset(cast: dict[str, Person], name: str) -> str:
    owner = cast["owner"].http
    ds = make_dataset(owner, name, CSV, COLUMNS)
    for who, level in (
        ("co_owner", "CO_OWNER"),
        ("can_edit", "CAN_EDIT"),
        ("can_share", "CAN_SHARE"),
        ("read", "READ"),
    ):
        assert share(owner, ds, "USER", cast[who].id, level).status_code == 200
    assert share(owner, ds, "GROUP", cast["_group"].id, "READ").status_code == 200
    STREAMS[ds] = owner.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()[0]["id"]
    return ds


@pytest.mark.parametrize("caller", list(ALLOWED))
def test_every_endpoint_family_answers_as_the_access_level_says(cast: dict[str, Person], caller: str) -> None:
    ds = _shared_dataset(cast, f"matrix-{caller}")
    http = cast[caller].http
    got: dict[str, int] = {}
    for family, call in FAMILIES.items():
        r = call(http, ds)
        got[family] = r.status_code
        if r.status_code == 403:
            body = r.json()
            assert body["status"] == 403 and body["statusReason"] == "Forbidden" and ds in body["message"]
            assert "toe" in body
    expected = {f: (got[f] if got[f] < 300 else f"{got[f]}!") if f in ALLOWED[caller] else NO for f in FAMILIES}
    assert got == expected, f"{caller}: {got}"
    deleted = http.delete(f"/v1/datasets/{ds}")
    assert deleted.status_code == (204 if caller in CAN_DELETE else 403), deleted.text


def test_lists_and_search_show_only_readable_datasets(cast: dict[str, Person]) -> None:
    ds = _shared_dataset(cast, f"visible-{uuid.uuid4().hex[:6]}")

    def listed(person: str) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while page := cast[person].http.get("/v1/datasets", params={"limit": 50, "offset": offset}).json():
            ids |= {d["id"] for d in page}
            offset += len(page)
        return ids

    assert ds in listed("read") and ds in listed("group_read") and ds in listed("admin")
    assert ds not in listed("stranger")
    found = cast["stranger"].http.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"})
    assert found.status_code == 200 and found.json() == []
    streams = cast["stranger"].http.get("/v1/streams", params={"limit": 500}).json()
    assert ds not in {s["dataSet"]["id"] for s in streams}
    assert (
        cast["read"].http.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()[0]["dataSet"]["id"]
        == ds
    )


def test_access_list_and_revoke(cast: dict[str, Person]) -> None:
    owner = cast["owner"]
    ds = _shared_dataset(cast, f"revoke-{uuid.uuid4().hex[:6]}")
    listed = owner.http.get(f"/api/data/v3/datasources/{ds}/permissions").json()
    entries = {(e["type"], e["id"]): e["accessLevel"] for e in listed["list"]}
    assert entries[("USER", str(owner.id))] == "OWNER"
    assert entries[("USER", str(cast["can_edit"].id))] == "CAN_EDIT"
    assert entries[("GROUP", str(cast["_group"].id))] == "READ"
    assert (listed["totalUserCount"], listed["totalGroupCount"]) == (5, 1)

    # a CAN_SHARE user cannot hand out more than they have, nor remove someone above them
    sharer = cast["can_share"].http
    assert share(sharer, ds, "USER", cast["stranger"].id, "CAN_EDIT").status_code == 403
    assert sharer.delete(f"/api/data/v3/datasources/{ds}/permissions/USER/{cast['co_owner'].id}").status_code == 403
    assert share(owner.http, ds, "USER", cast["stranger"].id, "OWNER").status_code == 400
    assert share(owner.http, ds, "USER", 987654321, "READ").status_code == 400
    assert share(owner.http, ds, "USER", cast["stranger"].id, "SUPREME").status_code == 400

    # the three revoke routes
    assert owner.http.delete(f"/api/data/v3/datasources/{ds}/permissions/USER/{cast['read'].id}").status_code == 200
    assert cast["read"].http.get(f"/v1/datasets/{ds}").status_code == 403
    assert owner.http.delete(f"/api/data/v3/datasources/{ds}/USERS/{cast['can_edit'].id}").status_code == 200
    assert cast["can_edit"].http.get(f"/v1/datasets/{ds}").status_code == 403
    bulk = owner.http.request(
        "DELETE",
        f"/api/data/v3/datasources/{ds}/users",
        json=[{"id": str(cast["can_share"].id), "type": "USER"}, {"id": cast["_group"].id, "type": "GROUP"}],
    )
    assert bulk.status_code == 200
    assert cast["can_share"].http.get(f"/v1/datasets/{ds}").status_code == 403
    assert cast["group_read"].http.get(f"/v1/datasets/{ds}").status_code == 403
    left = owner.http.get(f"/api/data/v3/datasources/{ds}/permissions").json()
    assert {e["id"] for e in left["list"]} == {str(owner.id), str(cast["co_owner"].id)}
    # the owner cannot be removed
    assert owner.http.delete(f"/api/data/v3/datasources/{ds}/permissions/USER/{owner.id}").status_code == 400


def test_participants_cannot_create_datasets(cast: dict[str, Person]) -> None:
    r = cast["read"].http.post(
        "/v1/datasets", json={"name": "x", "schema": {"columns": [{"type": "LONG", "name": "n"}]}}
    )
    assert r.status_code == 403 and "Participant" in r.json()["message"]


def test_v1_token_reaches_only_what_its_scopes_allow(server: Server, api: httpx.Client) -> None:
    ds = make_dataset(api, "scoped", CSV, COLUMNS)

    def client_with(scope: str) -> httpx.Client:
        out = server.cli(
            "clients", "create", "--user", "admin@domolite.local", "--name", scope, "--scope", scope, "--json"
        )
        import json

        creds = json.loads(out)
        r = httpx.post(
            server.url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["clientId"], creds["clientSecret"]),
        )
        return server.client(r.json()["access_token"])

    with client_with("data") as data_only, client_with("user") as user_only:
        assert data_only.get(f"/v1/datasets/{ds}").status_code == 200
        assert data_only.get("/v1/users").status_code == 403
        assert user_only.get("/v1/users").status_code == 200
        denied = user_only.get(f"/v1/datasets/{ds}")
        assert denied.status_code == 403 and "data" in denied.json()["message"]
        assert user_only.get(f"/v1/datasets/{ds}/data").status_code == 403
        assert user_only.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT 1"}).status_code == 403
