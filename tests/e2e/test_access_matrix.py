"""Who may do what to a DataSet, over HTTP: every role and access level against every endpoint family."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.people import Person, ThreeWays, make_person, share, sign_in_three_ways
from tests.helpers import make_dataset, oauth_client
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
CAN_EDIT_ROWS = CAN_DELETE | {"can_edit"}


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
        "nobody": make_person(server, api, "Participant", "nobody"),  # no share of anything
    }
    group = api.post("/v1/groups", json={"name": f"readers-{uuid.uuid4().hex[:6]}"}).json()["id"]
    assert api.put(f"/v1/groups/{group}/users/{people['group_read'].id}", json={}).status_code == 204
    people["_group"] = Person(id=group, email="", token="", http=api)
    return people


def _shared_dataset(cast: dict[str, Person], name: str) -> str:
    owner = cast["owner"].http
    ds = make_dataset(owner, COLUMNS, name, csv=CSV)["id"]
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


# Destructive rights (docs/choices.md, "Who may delete what"): removing rows is an edit (every version stays
# readable by time travel), removing a thing (a DataSet, its stream, a PDP policy) is the owner's, a co-owner's or
# an Admin's. Each runs in this order on a DataSet of the caller's own test.
DESTRUCTIVE: dict[str, tuple[Call, set[str]]] = {
    "delete partition rows": (
        lambda h, ds: h.delete(f"/api/query/v1/datasources/{ds}/tag/p1/data"),
        CAN_EDIT_ROWS,
    ),
    "abort an execution": (lambda h, ds: h.put(f"/v1/streams/{STREAMS[ds]}/executions/abort"), CAN_EDIT_ROWS),
    "delete a PDP policy": (lambda h, ds: h.delete(f"/v1/datasets/{ds}/policies/{POLICIES[ds]}"), CAN_DELETE),
    "delete the stream": (lambda h, ds: h.delete(f"/v1/streams/{STREAMS[ds]}"), CAN_DELETE),
    "delete the DataSet": (lambda h, ds: h.delete(f"/v1/datasets/{ds}"), CAN_DELETE),
}
POLICIES: dict[str, int] = {}


@pytest.mark.parametrize("caller", list(ALLOWED))
def test_destructive_rights_as_the_matrix_says(cast: dict[str, Person], caller: str) -> None:
    ds = _shared_dataset(cast, f"destroy-{caller}")
    owner = cast["owner"].http
    opened = owner.post(f"/api/data/v3/datasources/{ds}/uploads", params={"dataTag": "p1"}, json={}).json()
    assert (
        owner.put(f"/api/data/v3/datasources/{ds}/uploads/{opened['uploadId']}/parts/1", content=b"3,c\n").status_code
        == 200
    )
    done = owner.put(f"/api/data/v3/datasources/{ds}/uploads/{opened['uploadId']}/commit", json={"dataTag": "p1"})
    assert done.status_code == 200, done.text
    policy = owner.post(
        f"/v1/datasets/{ds}/policies",
        json={"name": "p", "filters": [{"column": "s", "values": ["a"], "operator": "EQUALS"}]},
    )
    POLICIES[ds] = policy.json()["id"]
    got = {name: call(cast[caller].http, ds).status_code for name, (call, _who) in DESTRUCTIVE.items()}
    expected = {
        name: (got[name] if got[name] < 300 else f"{got[name]}!") if caller in who else NO
        for name, (_c, who) in DESTRUCTIVE.items()
    }
    assert got == expected, f"{caller}: {got}"
    if caller not in CAN_DELETE:
        assert owner.get(f"/v1/streams/{STREAMS[ds]}").status_code == 200  # nothing was deleted
        assert owner.get(f"/v1/datasets/{ds}").status_code == 200


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
    # nor lower someone above them first (then remove them as a reader)
    demoted = share(sharer, ds, "USER", cast["co_owner"].id, "READ")
    assert demoted.status_code == 403 and "CO_OWNER" in demoted.json()["message"]
    listed = owner.http.get(f"/api/data/v3/datasources/{ds}/permissions").json()
    assert {(e["id"], e["accessLevel"]) for e in listed["list"]} >= {(str(cast["co_owner"].id), "CO_OWNER")}
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
    ds = make_dataset(api, COLUMNS, "scoped", csv=CSV)["id"]

    with oauth_client(server, "data") as data_only, oauth_client(server, "user") as user_only:
        assert data_only.get(f"/v1/datasets/{ds}").status_code == 200
        assert data_only.get("/v1/users").status_code == 403
        assert user_only.get("/v1/users").status_code == 200
        denied = user_only.get(f"/v1/datasets/{ds}")
        assert denied.status_code == 403 and "data" in denied.json()["message"]
        assert user_only.get(f"/v1/datasets/{ds}/data").status_code == 403
        assert user_only.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT 1"}).status_code == 403


def test_a_token_limited_to_some_scopes_cannot_hand_out_a_developer_token(server: Server, api: httpx.Client) -> None:
    # A developer token carries every scope: a client granted only some may not mint, list or revoke them.
    admin = httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token})
    mine = admin.post("/api/data/v1/accesstokens", json={"name": "admin's own"}).json()
    every = "data user dashboard account audit workflow"
    with oauth_client(server, "user") as user_only, oauth_client(server, every) as all_scopes:
        made = user_only.post("/api/data/v1/accesstokens", json={"name": "escalated"})
        assert made.status_code == 403 and "'data'" in made.json()["message"]
        listed = user_only.get("/api/data/v1/accesstokens")
        assert listed.status_code == 403 and "every scope" in listed.json()["message"]
        assert user_only.delete(f"/api/data/v1/accesstokens/{mine['id']}").status_code == 403
        names = [t["name"] for t in admin.get("/api/data/v1/accesstokens").json()]
        assert "escalated" not in names and "admin's own" in names  # nothing was made or revoked
        # granted every scope, the same user may
        made = all_scopes.post("/api/data/v1/accesstokens", json={"name": "granted"})
        assert made.status_code == 200
        with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": made.json()["token"]}) as minted:
            assert minted.get("/v1/users").status_code == 200
        assert all_scopes.delete(f"/api/data/v1/accesstokens/{made.json()['id']}").status_code == 204
    admin.close()


# -- lists and searches, and every way in --------------------------------------------------------------------
# Every GET route of the app is in one of these tables (a test below checks it against /openapi.json), so a new
# list or read route cannot be added without saying who sees what through it.
Ctx = dict[str, Any]
Route = Callable[[httpx.Client, Ctx], httpx.Response]

# List and search routes: a Participant with no shares sees nothing of another user's DataSet through them.
LIST_ROUTES: dict[str, Route] = {
    "GET /v1/datasets": lambda h, c: h.get("/v1/datasets", params={"limit": 50, "nameLike": c["marker"]}),
    "GET /v1/streams": lambda h, c: h.get("/v1/streams", params={"limit": 500}),
    "GET /v1/streams/search": lambda h, c: h.get("/v1/streams/search", params={"q": f"dataSource.id:{c['ds']}"}),
    "GET /v1/streams/search by owner": lambda h, c: h.get(
        "/v1/streams/search", params={"q": f"dataSource.owner.id:{c['owner']}"}
    ),
    "GET /v1/users": lambda h, c: h.get("/v1/users", params={"limit": 500}),
    "GET /v1/groups": lambda h, c: h.get("/v1/groups", params={"limit": 500}),
    "GET /v1/groups/{group_id}/users": lambda h, c: h.get(f"/v1/groups/{c['group']}/users"),
    "GET /v1/accounts": lambda h, c: h.get("/v1/accounts"),
    "GET /v1/audit": lambda h, c: h.get("/v1/audit"),
    "GET /v1/datasets/{dataset_id}/policies": lambda h, c: h.get(f"/v1/datasets/{c['ds']}/policies"),
    "GET /v1/streams/{stream_id}/executions": lambda h, c: h.get(f"/v1/streams/{c['stream']}/executions"),
    "GET /api/data/v1/streams": lambda h, c: h.get("/api/data/v1/streams"),
    "GET /api/data/v1/streams paged": lambda h, c: h.get("/api/data/v1/streams", params={"limit": 5, "offset": 0}),
    "GET /api/data/v1/accounts": lambda h, c: h.get("/api/data/v1/accounts"),
    "GET /api/data/v1/accesstokens": lambda h, c: h.get("/api/data/v1/accesstokens"),
    "GET /api/audit/v1/user-audits": lambda h, c: h.get("/api/audit/v1/user-audits"),
    "POST /api/search/v1/query": lambda h, c: h.post(
        "/api/search/v1/query", json={"query": c["marker"], "entities": ["DATASET"], "count": 100}
    ),
    "POST /api/search/v1/query by owner": lambda h, c: h.post(
        "/api/search/v1/query",
        json={"query": "*", "filters": [{"field": "owned_by_id", "filterType": "term", "value": str(c["owner"])}]},
    ),
    "GET /api/data/v3/datasources/{dataset_id}/permissions": lambda h, c: h.get(
        f"/api/data/v3/datasources/{c['ds']}/permissions"
    ),
    "GET /api/data/v3/datasources/{dataset_id}/dataversions/details": lambda h, c: h.get(
        f"/api/data/v3/datasources/{c['ds']}/dataversions/details"
    ),
    "GET /api/query/v1/datasources/{dataset_id}/partition": lambda h, c: h.get(
        f"/api/query/v1/datasources/{c['ds']}/partition"
    ),
    "POST /api/query/v1/datasources/{dataset_id}/partition/list": lambda h, c: h.post(
        f"/api/query/v1/datasources/{c['ds']}/partition/list", json={}
    ),
    "POST /api/dataprocessing/v2/dataflows/data-version-hydrate": lambda h, c: h.post(
        "/api/dataprocessing/v2/dataflows/data-version-hydrate",
        json={"dataSourceId": c["ds"], "versionWindow": {"type": "EXPRESSION", "expression": "true"}},
    ),
    "GET /api/query/v1/export/{dataset_id}": lambda h, c: h.get(f"/api/query/v1/export/{c['ds']}"),
    "GET /api/query/v1/data-control/{dataset_id}/filter-groups": lambda h, c: h.get(
        f"/api/query/v1/data-control/{c['ds']}/filter-groups"
    ),
    "GET /api/data/v1/streams/{stream_id}/executions": lambda h, c: h.get(
        f"/api/data/v1/streams/{c['connector']}/executions"
    ),
    "GET /api/data/v1/streams/{stream_id}/history/aggregate": lambda h, c: h.get(
        f"/api/data/v1/streams/{c['connector']}/history/aggregate"
    ),
    "GET /api/content/v1/datasources/{dataset_id}/cards": lambda h, c: h.get(
        f"/api/content/v1/datasources/{c['ds']}/cards"
    ),
}

# Read routes of one object: the same user gets the same answer by OAuth token, developer token and session.
READ_ROUTES: dict[str, Route] = {
    "GET /v1/datasets/{dataset_id}": lambda h, c: h.get(f"/v1/datasets/{c['ds']}"),
    "GET /v1/datasets/{dataset_id}/data": lambda h, c: h.get(f"/v1/datasets/{c['ds']}/data"),
    "POST /v1/datasets/query/execute/{dataset_id}": lambda h, c: h.post(
        f"/v1/datasets/query/execute/{c['ds']}", json={"sql": "SELECT n, s FROM table ORDER BY n"}
    ),
    "GET /v1/datasets/{dataset_id}/policies/{policy_id}": lambda h, c: h.get(
        f"/v1/datasets/{c['ds']}/policies/{c['policy']}"
    ),
    "GET /v1/streams/{stream_id}": lambda h, c: h.get(f"/v1/streams/{c['stream']}"),
    "GET /v1/streams/{stream_id}/executions/{execution_id}": lambda h, c: h.get(
        f"/v1/streams/{c['stream']}/executions/{c['execution']}"
    ),
    "GET /v1/users/{user_id}": lambda h, c: h.get(f"/v1/users/{c['owner']}"),
    "GET /v1/groups/{group_id}": lambda h, c: h.get(f"/v1/groups/{c['group']}"),
    "GET /v1/accounts/{account_id}": lambda h, c: h.get(f"/v1/accounts/{c['account']}"),
    "GET /api/data/v1/accounts/{account_id}": lambda h, c: h.get(f"/api/data/v1/accounts/{c['account']}"),
    "GET /api/content/v2/users/me": lambda h, c: h.get("/api/content/v2/users/me"),
    "GET /api/data/v3/datasources/{dataset_id}": lambda h, c: h.get(f"/api/data/v3/datasources/{c['ds']}"),
    "GET /api/query/v1/datasources/{dataset_id}/schema/indexed": lambda h, c: h.get(
        f"/api/query/v1/datasources/{c['ds']}/schema/indexed"
    ),
    "POST /api/query/v1/execute/{dataset_id}": lambda h, c: h.post(
        f"/api/query/v1/execute/{c['ds']}", json={"sql": "SELECT n, s FROM table ORDER BY n"}
    ),
    "GET /api/data/v2/datasources/{dataset_id}/dataversions/latest": lambda h, c: h.get(
        f"/api/data/v2/datasources/{c['ds']}/dataversions/latest", params={"includeHeader": "true"}
    ),
    "GET /api/data/v3/datasources/{dataset_id}/indexes/{index_id}/statuses": lambda h, c: h.get(
        f"/api/data/v3/datasources/{c['ds']}/indexes/{c['index']}/statuses"
    ),
    "GET /api/data/v1/streams/{stream_id}": lambda h, c: h.get(f"/api/data/v1/streams/{c['connector']}"),
    "GET /api/data/v1/streams/{stream_id}/executions/{execution_id}": lambda h, c: h.get(
        f"/api/data/v1/streams/{c['stream']}/executions/{c['execution']}"
    ),
    "GET /api/query/v1/export/{dataset_id}/{export_id}": lambda h, c: h.get(
        f"/api/query/v1/export/{c['ds']}/{uuid.UUID(int=0)}"
    ),
    "GET /api/query/v1/data-control/{dataset_id}": lambda h, c: h.get(f"/api/query/v1/data-control/{c['ds']}"),
    "GET /api/query/v1/data-control/{dataset_id}/filter-groups/{policy_id}": lambda h, c: h.get(
        f"/api/query/v1/data-control/{c['ds']}/filter-groups/{c['policy']}"
    ),
}
# the token endpoint (GET form) and the operators' probes: no principal, no DataSet content
NOT_READS = {"GET /oauth/token", "GET /health", "GET /ready", "GET /metrics"}
# What a READ share of the DataSet gives; every other read answers 403 (PDP and accounts are the owner's).
READ_SHARE_DENIED = {
    "GET /v1/datasets/{dataset_id}/policies/{policy_id}",
    "GET /api/query/v1/data-control/{dataset_id}",
    "GET /api/query/v1/data-control/{dataset_id}/filter-groups/{policy_id}",
    "GET /v1/accounts/{account_id}",
    "GET /api/data/v1/accounts/{account_id}",
}
READ_SHARE_MISSING = {"GET /api/query/v1/export/{dataset_id}/{export_id}"}  # 404: no such export
# What a successful read holds (default: the DataSet's id).
READ_CONTENT = {
    "GET /v1/datasets/{dataset_id}/data": "1,a,x",
    "GET /api/data/v2/datasources/{dataset_id}/dataversions/latest": "{marker}_col",
    "GET /api/query/v1/datasources/{dataset_id}/schema/indexed": "{marker}_col",
    "GET /v1/streams/{stream_id}/executions/{execution_id}": '"id":{execution}',
    "GET /api/data/v1/streams/{stream_id}/executions/{execution_id}": '"executionId":{execution}',
    "GET /api/data/v1/streams/{stream_id}": "{marker} connector",
    "GET /v1/users/{user_id}": '"id":{owner}',
    "GET /v1/groups/{group_id}": '"id":{group}',
    "GET /api/content/v2/users/me": "{email}",
}


@pytest.fixture(scope="module")
def hidden(server: Server, api: httpx.Client, cast: dict[str, Person]) -> Ctx:
    """Another user's DataSet with everything attached (stream runs, a partition, an index request, a policy, a
    connector stream, an account, a developer token), each named with a marker no stranger may ever see."""
    marker = f"hidden{uuid.uuid4().hex[:8]}"
    owner = cast["owner"]
    columns = [("n", "LONG"), ("s", "STRING"), (f"{marker}_col", "STRING")]
    ds = make_dataset(owner.http, columns, f"{marker} dataset", csv="1,a,x\n2,b,y\n")["id"]
    stream = owner.http.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()[0]["id"]
    execution = owner.http.post(f"/v1/streams/{stream}/executions", json={"updateMethod": "APPEND"}).json()["id"]
    assert owner.http.put(f"/v1/streams/{stream}/executions/{execution}/part/1", content=b"3,c,z\n").status_code == 200
    assert owner.http.put(f"/v1/streams/{stream}/executions/{execution}/commit", json={}).status_code == 200
    opened = owner.http.post(f"/api/data/v3/datasources/{ds}/uploads", params={"dataTag": marker}, json={}).json()
    upload = opened["uploadId"]
    part = owner.http.put(f"/api/data/v3/datasources/{ds}/uploads/{upload}/parts/1", content=b"4,d,w\n")
    assert part.status_code == 200, part.text
    committed = owner.http.put(
        f"/api/data/v3/datasources/{ds}/uploads/{upload}/commit", json={"action": "APPEND", "dataTag": marker}
    )
    assert committed.status_code == 200, committed.text
    index = owner.http.post(f"/api/data/v3/datasources/{ds}/indexes", json={"dataIds": []}).json()["indexId"]
    policy = owner.http.post(
        f"/v1/datasets/{ds}/policies",
        json={"name": f"{marker} policy", "filters": [{"column": "s", "values": ["a"], "operator": "EQUALS"}]},
    ).json()["id"]
    connector = owner.http.post(
        "/api/data/v1/streams",
        json={
            "dataProvider": {"key": f"{marker}-provider"},
            "dataSource": {"name": f"{marker} connector"},
            "configuration": [{"category": "METADATA", "name": "query", "value": marker}],
        },
    )
    assert connector.status_code == 200, connector.text
    account = owner.http.post(
        "/api/data/v1/accounts",
        json={
            "name": f"{marker} account",
            "displayName": f"{marker} account",
            "dataProviderType": "amazon-s3-unload-writeback",
            "configurations": {
                "domoClientId": marker,
                "domoClientSecret": marker,
                "accessKey": marker,
                "secretKey": marker,
                "bucket": marker,
                "region": "us-east-1",
            },
        },
    )
    assert account.status_code == 200, account.text
    token = owner.http.post("/api/data/v1/accesstokens", json={"name": f"{marker} token"})
    assert token.status_code == 200
    return {
        "marker": marker,
        "ds": ds,
        "stream": stream,
        "execution": execution,
        "policy": policy,
        "index": index,
        "connector": connector.json()["id"],
        "connector_ds": connector.json()["dataSource"]["id"],
        "account": account.json()["id"],
        "owner": owner.id,
        "group": cast["_group"].id,
    }


@pytest.fixture(scope="module")
def reader(server: Server, api: httpx.Client, cast: dict[str, Person], hidden: Ctx) -> ThreeWays:
    """A Participant with a READ share of the hidden DataSet, signed in the three ways."""
    person = sign_in_three_ways(server, api)
    for ds in (hidden["ds"], hidden["connector_ds"]):
        assert share(cast["owner"].http, ds, "USER", person.id, "READ").status_code == 200
    return person


def test_every_get_route_is_in_the_matrix(server: Server) -> None:
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    gets = {f"GET {path}" for path, methods in paths.items() if "get" in methods}
    covered = {name for name in (*LIST_ROUTES, *READ_ROUTES) if name.count(" ") == 1} | NOT_READS
    assert gets <= covered, f"GET routes with no row in the permission matrix: {sorted(gets - covered)}"


@pytest.mark.parametrize("route", list(LIST_ROUTES))
def test_a_participant_with_no_shares_sees_nothing_of_others_through_lists_and_searches(
    cast: dict[str, Person], hidden: Ctx, route: str
) -> None:
    r = LIST_ROUTES[route](cast["nobody"].http, hidden)
    assert r.status_code in (200, 403), (route, r.status_code, r.text)
    assert hidden["marker"] not in r.text, (route, r.text[:500])
    if r.status_code == 200:  # (a 403 may name the DataSet id the caller sent: ids are not secret, content is)
        assert hidden["ds"] not in r.text, (route, r.text[:500])
    if r.status_code == 200 and route.startswith("GET /v1/streams"):
        assert r.json() == []
    if route in ("GET /api/data/v1/streams", "GET /api/data/v1/streams paged", "GET /api/data/v1/accesstokens"):
        assert r.json() == [] or all(str(hidden["owner"]) not in str(item.get("owner", "")) for item in r.json())


def _comparable(r: httpx.Response) -> object:
    """A response without what differs between two identical requests (the trace id, timings)."""
    if not r.headers.get("content-type", "").startswith("application/json"):
        return r.text
    body = r.json()

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("toe", "duration")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(body)


@pytest.mark.parametrize("route", list(READ_ROUTES) + [r for r in LIST_ROUTES if "audit" not in r])
def test_one_user_has_one_access_by_oauth_token_developer_token_and_session(
    reader: ThreeWays, hidden: Ctx, route: str
) -> None:
    call = READ_ROUTES.get(route) or LIST_ROUTES[route]
    answers = {way: call(http, hidden) for way, http in reader.ways.items()}
    statuses = {way: r.status_code for way, r in answers.items()}
    if route in READ_ROUTES:
        expected = 403 if route in READ_SHARE_DENIED else 404 if route in READ_SHARE_MISSING else 200
        assert set(statuses.values()) == {expected}, (route, statuses, answers["session"].text[:300])
    else:
        assert len(set(statuses.values())) == 1, (route, statuses)
    bodies = {way: _comparable(r) for way, r in answers.items()}
    assert bodies["oauth"] == bodies["developer token"] == bodies["session"], (route, bodies)
    if route in READ_ROUTES and statuses["session"] == 200:  # and the answer is the object asked for
        fragment = READ_CONTENT.get(route, "{ds}").format(**hidden, email=reader.email)
        assert fragment in answers["session"].text, (route, answers["session"].text[:300])


def test_audit_routes_answer_the_same_by_every_way_in(reader: ThreeWays) -> None:
    for path in ("/v1/audit", "/api/audit/v1/user-audits"):
        for way, http in reader.ways.items():
            r = http.get(path)
            assert r.status_code == 403 and "Admin" in r.json()["message"], (way, r.text)


def test_a_run_of_a_stream_one_may_not_read_is_refused_alike_whether_it_exists_or_not(
    cast: dict[str, Person], hidden: Ctx
) -> None:
    # The access check comes first: a 403 for any run number, not a 404 that tells which runs exist.
    nobody = cast["nobody"].http
    base = f"/api/data/v1/streams/{hidden['stream']}/executions"
    assert cast["owner"].http.get(f"{base}/{hidden['execution']}").status_code == 200  # it exists
    there, missing = nobody.get(f"{base}/{hidden['execution']}"), nobody.get(f"{base}/987654")
    assert (there.status_code, missing.status_code) == (403, 403)
    assert there.json()["message"] == missing.json()["message"]
