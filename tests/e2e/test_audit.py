"""The audit log: an event for every action that changes, shares, deletes or exports data, for tokens and for
failed logins; who, when, from where; read by Admins through /v1/audit with paging and filters; kept for a
settable time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.people import Person, make_person, share
from tests.helpers import assert_domo_error
from tests.serverproc import Server

AGENT = "audit-test/1.0"


def events(admin: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = admin.get("/v1/audit", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return list(r.json())


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[httpx.Client]:
    """The bootstrap admin by developer token (it carries every scope, `audit` too)."""
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}) as http:
        yield http


@pytest.fixture(scope="module")
def acted(server: Server, api: httpx.Client) -> dict[str, Any]:
    """A Privileged user does one of each audited action, with a User-Agent of its own."""
    actor = make_person(server, api, "Privileged", "auditee")
    other = make_person(server, api, "Participant", "audited-reader")
    http = actor.http
    http.headers["User-Agent"] = AGENT
    started = int(time.time() * 1000) - 1000
    schema = {"columns": [{"type": "LONG", "name": "n"}, {"type": "STRING", "name": "s"}]}
    ds = http.post("/v1/datasets", json={"name": "audited", "schema": schema}).json()["id"]
    assert http.put(f"/v1/datasets/{ds}/data", content=b"1,a\n").status_code == 204
    stream = http.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()[0]["id"]
    execution = http.post(f"/v1/streams/{stream}/executions", json={"updateMethod": "APPEND"}).json()["id"]
    http.put(f"/v1/streams/{stream}/executions/{execution}/part/1", content=b"2,b\n")
    assert http.put(f"/v1/streams/{stream}/executions/{execution}/commit", json={}).status_code == 200
    upload = http.post(f"/api/data/v3/datasources/{ds}/uploads", json={}).json()["uploadId"]
    http.put(f"/api/data/v3/datasources/{ds}/uploads/{upload}/parts/1", content=b"3,c\n")
    assert (
        http.put(f"/api/data/v3/datasources/{ds}/uploads/{upload}/commit", json={"action": "APPEND"}).status_code == 200
    )
    wider = {"columns": [*schema["columns"], {"type": "DOUBLE", "name": "x"}]}
    assert http.put(f"/v1/datasets/{ds}", json={"schema": wider}).status_code == 200
    assert share(http, ds, "USER", other.id, "READ").status_code == 200
    assert http.delete(f"/api/data/v3/datasources/{ds}/permissions/USER/{other.id}").status_code == 200
    policy = {"name": "ones", "filters": [{"column": "s", "values": ["a"], "operator": "EQUALS"}], "users": [other.id]}
    assert http.post(f"/v1/datasets/{ds}/policies", json=policy).status_code == 201
    assert http.put(f"/api/query/v1/data-control/{ds}", json={"enabled": True}).status_code == 200
    token = http.post("/api/data/v1/accesstokens", json={"name": "audited token"}).json()
    assert http.delete(f"/api/data/v1/accesstokens/{token['id']}").status_code == 204
    assert http.delete(f"/v1/streams/{stream}").status_code == 204
    assert http.delete(f"/v1/datasets/{ds}").status_code == 204
    wrong_client = str(uuid.uuid4())
    failed = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(wrong_client, "guess"),
        headers={"User-Agent": AGENT},
    )
    assert failed.status_code == 401
    return {
        "actor": actor,
        "ds": ds,
        "stream": stream,
        "token": token["id"],
        "wrong_client": wrong_client,
        "started": started,
        "ended": int(time.time() * 1000) + 1000,
    }


def test_each_action_is_an_event_with_who_when_and_from_where(admin: httpx.Client, acted: dict[str, Any]) -> None:
    actor: Person = acted["actor"]
    mine = list(reversed(events(admin, user=actor.id)))  # oldest first
    about_ds = [(e["actionType"], e["objectType"]) for e in mine if e["objectId"] == acted["ds"]]
    assert about_ds == [
        ("CREATED", "DATA_SOURCE"),
        ("DATA_COMMITTED", "DATA_SOURCE"),  # the import
        ("DATA_COMMITTED", "DATA_SOURCE"),  # the stream execution
        ("DATA_COMMITTED", "DATA_SOURCE"),  # the three-stage upload
        ("SCHEMA_CHANGED", "DATA_SOURCE"),
        ("SHARED", "DATA_SOURCE"),
        ("UNSHARED", "DATA_SOURCE"),
        ("POLICY_CHANGED", "DATA_SOURCE"),  # the policy
        ("POLICY_CHANGED", "DATA_SOURCE"),  # the PDP switch
        ("DELETED", "DATA_SOURCE"),
    ]
    by_action = {(e["actionType"], e["objectType"], e["objectId"]): e for e in mine}
    assert ("CREATED", "ACCESS_TOKEN", acted["token"]) in by_action
    assert ("REVOKED", "ACCESS_TOKEN", acted["token"]) in by_action
    assert ("DELETED", "STREAM", str(acted["stream"])) in by_action
    for e in mine:
        assert e["userId"] == str(actor.id) and e["userType"] == "USER"
        assert e["ipAddress"] == "127.0.0.1" and e["browserDetails"] == AGENT
        assert e["authentication"] == "developer token"
        assert acted["started"] <= e["time"] <= acted["ended"]
        assert e["eventText"]
    comments = {e["actionType"]: e["additionalComment"] for e in mine if e["objectId"] == acted["ds"]}
    assert "added x" in comments["SCHEMA_CHANGED"] and "READ" in comments["SHARED"]
    assert "PDP on" in comments["POLICY_CHANGED"]
    assert "audited" in {e["objectName"] for e in mine}


def test_a_failed_login_is_an_event_without_a_user(admin: httpx.Client, acted: dict[str, Any]) -> None:
    (failed,) = events(admin, actionType="LOGIN_FAILED", objectId=acted["wrong_client"])
    assert failed["objectType"] == "CLIENT" and failed["userId"] is None and failed["userType"] == "ANONYMOUS"
    assert failed["ipAddress"] == "127.0.0.1" and failed["browserDetails"] == AGENT


def test_the_log_is_paged_newest_first_and_filtered(admin: httpx.Client, acted: dict[str, Any]) -> None:
    actor: Person = acted["actor"]
    everything = events(admin, user=actor.id)
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    first = events(admin, user=actor.id, limit=3, offset=0)
    second = events(admin, user=actor.id, limit=3, offset=3)
    assert first + second == everything[:6]
    tokens = events(admin, user=actor.id, objectType="ACCESS_TOKEN")
    assert {e["actionType"] for e in tokens} == {"CREATED", "REVOKED"}
    sharing = events(admin, objectId=acted["ds"], actionType="SHARED,UNSHARED")
    assert [e["actionType"] for e in sharing] == ["UNSHARED", "SHARED"]
    created_at = next(e["time"] for e in everything if e["actionType"] == "CREATED" and e["objectId"] == acted["ds"])
    assert all(e["time"] <= created_at for e in events(admin, user=actor.id, end=created_at))
    assert events(admin, user=actor.id, start=acted["ended"]) == []
    instance = admin.get("/api/audit/v1/user-audits", params={"user": actor.id, "limit": 1000}).json()
    assert instance == everything


def test_only_admins_with_the_audit_scope_read_the_log(
    server: Server, api: httpx.Client, admin: httpx.Client, acted: dict[str, Any]
) -> None:
    assert_domo_error(acted["actor"].http.get("/v1/audit"), 403, "Admin")
    assert_domo_error(api.get("/v1/audit"), 403, "audit")  # the bootstrap client has data and user only
    assert_domo_error(admin.get("/v1/audit", params={"limit": 5000}), 400, "limit")
    assert_domo_error(admin.get("/v1/audit", params={"actionType": "PEEKED"}), 400, "actionType")
    assert_domo_error(admin.get("/v1/audit", params={"start": "yesterday"}), 400, "start")


def test_events_are_kept_for_the_retention_time(tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = Server(data_dir=tmp_path_factory.mktemp("retention") / "data", env={"DOMOLITE_AUDIT_RETENTION_S": "2"})
    srv.start()
    try:
        with httpx.Client(base_url=srv.url, headers={"X-DOMO-Developer-Token": srv.dev_token}) as admin:
            schema = {"columns": [{"type": "LONG", "name": "n"}]}
            old = admin.post("/v1/datasets", json={"name": "old", "schema": schema}).json()["id"]
            assert [e["actionType"] for e in events(admin, objectId=old)] == ["CREATED"]
            time.sleep(2.5)
            new = admin.post("/v1/datasets", json={"name": "new", "schema": schema}).json()["id"]
            assert events(admin, objectId=old) == []
            assert [e["actionType"] for e in events(admin, objectId=new)] == ["CREATED"]
    finally:
        srv.stop()


def test_role_changes_and_group_changes_are_events(server: Server, admin: httpx.Client, api: httpx.Client) -> None:
    # They grant or take away access: who changed what, and from what to what.
    person = make_person(server, api, "Admin", "demoted")
    assert admin.put(f"/v1/users/{person.id}", json={"role": "Participant"}).status_code == 200
    group = admin.post("/v1/groups", json={"name": f"audited-{uuid.uuid4().hex[:6]}"}).json()["id"]
    assert admin.put(f"/v1/groups/{group}/users/{person.id}", json={}).status_code == 204
    assert admin.delete(f"/v1/groups/{group}/users/{person.id}").status_code == 204
    assert admin.delete(f"/v1/groups/{group}").status_code == 204
    about_user = [e for e in events(admin, objectId=str(person.id)) if e["objectType"] == "USER"]
    assert (
        about_user[0]["actionType"] == "CHANGED"
        and "role 'Admin' -> 'Participant'" in about_user[0]["additionalComment"]
    )
    about_group = [
        (e["actionType"], e["additionalComment"])
        for e in reversed(events(admin, objectId=str(group), objectType="GROUP"))
    ]
    assert about_group == [
        ("CREATED", "no members"),
        ("CHANGED", f"added user {person.id}"),
        ("CHANGED", f"removed user {person.id}"),
        ("DELETED", ""),
    ]
    assert all(e["eventText"] for e in events(admin, objectId=str(group), objectType="GROUP"))
