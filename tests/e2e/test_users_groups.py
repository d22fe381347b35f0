"""/v1/users and /v1/groups as pydomo drives them: trailing slashes, "active" as a string, ids as strings,
member lists as bare user ids, and the exact status codes pydomo checks."""

from __future__ import annotations

import uuid

import httpx
from pydomo import Domo

from tests.e2e.people import make_person
from tests.serverproc import Server


def test_users_crud_with_and_without_trailing_slash(api: httpx.Client) -> None:
    email = f"u-{uuid.uuid4().hex[:8]}@example.com"
    created = api.post("/v1/users/?sendInvite=False", json={"name": "Una", "email": email, "role": "Privileged"})
    assert created.status_code == 200
    user = created.json()
    assert (user["name"], user["email"], user["role"]) == ("Una", email, "Privileged")
    uid = user["id"]
    assert isinstance(uid, int)

    assert api.get(f"/v1/users/{uid}").json()["email"] == email
    listed = [u["id"] for u in api.get("/v1/users", params={"limit": 500, "offset": 0}).json()]
    assert uid in listed and listed == sorted(listed)
    assert api.get("/v1/users/", params={"limit": 500, "offset": 100000}).json() == []

    changed = api.put(f"/v1/users/{uid}", json={"role": "Participant"})
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["name"]) == ("Participant", "Una")  # partial update

    bad = api.post("/v1/users", json={"name": "x", "email": "not-an-email", "role": "Admin"})
    assert bad.status_code == 400 and "email" in bad.json()["message"]
    bad_role = api.post("/v1/users", json={"name": "x", "email": f"r{email}", "role": "Wizard"})
    assert bad_role.status_code == 400 and "role" in bad_role.json()["message"]
    dup = api.post("/v1/users", json={"name": "x", "email": email, "role": "Admin"})
    assert dup.status_code == 409

    assert api.delete(f"/v1/users/{uid}").status_code == 204
    gone = api.get(f"/v1/users/{uid}")
    assert gone.status_code == 404 and gone.json()["statusReason"] == "Not Found"


def test_groups_through_pydomo(server: Server, api: httpx.Client) -> None:
    a = api.post("/v1/users/", json={"name": "Ann", "email": f"a-{uuid.uuid4().hex[:6]}@example.com"}).json()["id"]
    b = api.post("/v1/users/", json={"name": "Ben", "email": f"b-{uuid.uuid4().hex[:6]}@example.com"}).json()["id"]
    domo = Domo(server.client_id, server.client_secret, api_host=server.host, use_https=False, log_level=50)
    name = f"team-{uuid.uuid4().hex[:6]}"

    group = domo.groups_create(name, users=[a], active="true")  # sends {"name", "active": "true"}, then PUT per user
    gid = group["id"]
    assert group["active"] is True
    assert domo.groups_add_users(gid, b) == "success"  # PUT /v1/groups/{gid}/users/{uid} -> 204
    assert sorted(domo.groups_list_users(gid)) == sorted([a, b])  # bare ids, paged until []
    assert domo.groups_get(gid)["memberCount"] == 2
    assert name in set(domo.groups_list()["name"])
    domo.groups_remove_users(gid, a)
    assert domo.groups_list_users(gid) == [b]
    domo.groups_delete(gid)  # removes members one by one, then the group
    assert api.get(f"/v1/groups/{gid}").status_code == 404


def test_ids_as_numeric_strings_and_active_as_text(api: httpx.Client) -> None:
    uid = api.post("/v1/users", json={"name": "Cy", "email": f"c-{uuid.uuid4().hex[:6]}@example.com"}).json()["id"]
    created = api.post("/v1/groups", json={"name": f"g-{uuid.uuid4().hex[:6]}", "active": "false", "users": [str(uid)]})
    assert created.status_code == 200
    assert created.json()["active"] is False
    gid = created.json()["id"]
    assert api.get(f"/v1/groups/{gid}/users").json() == [uid]
    assert api.put(f"/v1/groups/{gid}", json={"active": "true", "name": f"renamed-{gid}"}).json()["active"] is True
    assert api.put(f"/v1/groups/{gid}/users/{uid}", json={}).status_code == 204  # adding twice is fine
    assert api.get(f"/v1/groups/{gid}/users/").json() == [uid]
    missing = api.post("/v1/groups", json={"name": f"g-{uuid.uuid4().hex[:6]}", "users": ["999999"]})
    assert missing.status_code == 400 and "999999" in missing.json()["message"]


def test_only_admins_manage_users_and_participants_cannot_manage_groups(server: Server, api: httpx.Client) -> None:
    privileged = make_person(server, api, "Privileged")
    participant = make_person(server, api, "Participant")
    r = privileged.http.post("/v1/users", json={"name": "x", "email": f"x-{uuid.uuid4().hex[:6]}@example.com"})
    assert r.status_code == 403 and "Admin" in r.json()["message"]
    assert privileged.http.post("/v1/groups", json={"name": f"p-{uuid.uuid4().hex[:6]}"}).status_code == 200
    assert participant.http.post("/v1/groups", json={"name": f"q-{uuid.uuid4().hex[:6]}"}).status_code == 403
    assert participant.http.get("/v1/users").status_code == 200  # everyone may read the directory
    assert participant.http.delete(f"/v1/users/{privileged.id}").status_code == 403


def test_one_who_is_not_an_admin_cannot_join_a_group_to_more_access_than_they_have(
    server: Server, api: httpx.Client
) -> None:
    admins = api.post(
        "/v1/datasets", json={"name": "the admin's", "schema": {"columns": [{"type": "LONG", "name": "n"}]}}
    )
    ds = admins.json()["id"]
    finance = api.post("/v1/groups", json={"name": f"finance-{uuid.uuid4().hex[:6]}"}).json()["id"]
    share = {"permissions": [{"type": "GROUP", "id": finance, "accessLevel": "CO_OWNER"}], "sendEmail": False}
    assert api.post(f"/api/data/v3/datasources/{ds}/share", json=share).status_code == 200
    privileged = make_person(server, api, "Privileged", "climber")
    assert privileged.http.get(f"/v1/datasets/{ds}").status_code == 403
    joined = privileged.http.put(f"/v1/groups/{finance}/users/{privileged.id}", json={})
    assert joined.status_code == 403 and "CO_OWNER" in joined.json()["message"]
    assert privileged.http.get(f"/v1/datasets/{ds}").status_code == 403  # still nothing
    assert privileged.id not in api.get(f"/v1/groups/{finance}/users").json()
    # a group with nothing shared beyond what they have: theirs to manage, as before
    plain = privileged.http.post("/v1/groups", json={"name": f"plain-{uuid.uuid4().hex[:6]}"}).json()["id"]
    assert privileged.http.put(f"/v1/groups/{plain}/users/{privileged.id}", json={}).status_code == 204
    # an Admin may add anyone to any group
    assert api.put(f"/v1/groups/{finance}/users/{privileged.id}", json={}).status_code == 204
    assert privileged.http.get(f"/v1/datasets/{ds}").status_code == 200
