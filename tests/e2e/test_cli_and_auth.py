"""The admin commands, the token endpoint's forms, and token lifetime across restarts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import jwt
import pytest

from tests.helpers import assert_domo_error
from tests.serverproc import ADMIN_PASSWORD, Server


def test_admin_commands_print_json_and_their_credentials_work(server: Server) -> None:
    user = json.loads(
        server.cli("users", "create", "--email", "ana@example.com", "--name", "Ana", "--role", "Privileged", "--json")
    )
    assert isinstance(user["id"], int)
    client = json.loads(
        server.cli("clients", "create", "--user", "ana@example.com", "--name", "etl", "--scope", "data", "--json")
    )
    assert set(client) == {"clientId", "clientSecret"}
    token = json.loads(server.cli("tokens", "create", "--user", "ana@example.com", "--json"))["token"]

    granted = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "data user"},
        auth=(client["clientId"], client["clientSecret"]),
    ).json()
    assert granted["token_type"] == "bearer" and granted["scope"] == "data"  # only the allowed subset
    assert granted["userId"] == user["id"] and granted["role"] == "Privileged"
    assert set(granted) >= {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "customer",
        "userId",
        "role",
        "jti",
    }
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": token}) as dev:
        made = dev.post("/v1/datasets", json={"name": "by ana", "schema": {"columns": [{"type": "LONG", "name": "a"}]}})
        assert made.status_code == 201 and made.json()["owner"] == {"id": user["id"], "name": "Ana"}


def test_cli_reports_a_duplicate_user(server: Server) -> None:
    server.cli("users", "create", "--email", "dup@example.com", "--name", "Dup")
    for again in ("dup@example.com", "DUP@Example.com"):  # logins ignore case, so addresses are unique without it
        with pytest.raises(Exception) as caught:
            server.cli("users", "create", "--email", again, "--name", "Dup")
        assert "already exists" in str(getattr(caught.value, "stderr", ""))


def test_an_address_differing_only_in_case_is_taken(server: Server) -> None:
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}) as admin:
        first = admin.post("/v1/users", json={"name": "Lee", "email": "lee.case@example.com", "role": "Participant"})
        assert first.status_code == 200, first.text
        r = admin.post("/v1/users", json={"name": "LEE", "email": "LEE.Case@example.com", "role": "Participant"})
        assert_domo_error(r, 409, "already exists")
        other = admin.post("/v1/users", json={"name": "Kim", "email": "kim.case@example.com", "role": "Participant"})
        moved = admin.put(f"/v1/users/{other.json()['id']}", json={"email": "Lee.CASE@example.com"})
        assert_domo_error(moved, 409, "already exists")
        assert admin.get(f"/v1/users/{other.json()['id']}").json()["email"] == "kim.case@example.com"


def test_credentials_are_answered_with_no_store_and_a_form_of_any_letter_case_is_read(server: Server) -> None:
    auth = (server.client_id, server.client_secret)
    r = httpx.post(
        server.url + "/oauth/token",
        content=b"grant_type=client_credentials&scope=user",
        headers={"Content-Type": "Application/X-WWW-Form-Urlencoded"},
        auth=auth,
    )
    assert r.status_code == 200 and r.json()["scope"] == "user"  # was every scope of the client
    assert (r.headers["cache-control"], r.headers["pragma"]) == ("no-store", "no-cache")
    login = httpx.post(
        server.url + "/api/content/v2/authentication",
        json={"method": "password", "emailAddress": "admin@domolite.local", "password": ADMIN_PASSWORD},
    )
    assert login.json()["success"] is True and login.headers["cache-control"] == "no-store"
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}) as admin:
        made = admin.post("/api/data/v1/accesstokens", json={"name": "cached?"})
        assert made.headers["cache-control"] == "no-store"
        token_id = made.json()["id"]
        assert admin.delete(f"/api/data/v1/accesstokens/{token_id}").status_code == 204
        assert admin.delete(f"/api/data/v1/accesstokens/{token_id}").status_code == 204  # revoked already: no change
        events = admin.get("/v1/audit", params={"objectId": token_id}).json()
        assert [e["actionType"] for e in events] == ["REVOKED", "CREATED"]  # one revoke recorded, not two


@pytest.mark.parametrize(
    "how",
    ["post-form", "post-query", "get-query"],
)
def test_token_request_forms(server: Server, how: str) -> None:
    auth = (server.client_id, server.client_secret)
    params = {"grant_type": "client_credentials", "scope": "data user"}
    if how == "post-form":
        r = httpx.post(server.url + "/oauth/token", data=params, auth=auth)
    elif how == "post-query":
        r = httpx.post(server.url + "/oauth/token", params={"grant_type": "client_credentials"}, auth=auth)
    else:
        r = httpx.get(server.url + "/oauth/token", params=params, auth=auth)
    assert r.status_code == 200
    body = r.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] > time.time() + 600 and set(body["scope"].split()) == {"data", "user"}
    listed = httpx.get(server.url + "/v1/datasets", headers={"Authorization": f"BEARER {body['access_token']}"})
    assert listed.status_code == 200


def test_token_scope_outside_the_client_is_refused(server: Server) -> None:
    r = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "audit"},
        auth=(server.client_id, server.client_secret),
    )
    assert_domo_error(r, 400, "invalid_scope")


def test_tokens_survive_a_restart_and_a_key_rotation_and_expire_on_time(tmp_path: Path) -> None:
    # Tokens live a minute across the restart: long enough to outlast it on a busy machine. The server then
    # restarts issuing tokens that live 15 s (long enough for a key rotation), to wait one of them out.
    srv = Server(data_dir=tmp_path / "data", env={"DOMOLITE_TOKEN_LIFETIME_S": "60"}).start()

    def status(token: str) -> int:
        return httpx.get(srv.url + "/v1/datasets", headers={"Authorization": f"bearer {token}"}).status_code

    try:
        token = srv.token()
        login = {"method": "password", "emailAddress": "admin@domolite.local", "password": ADMIN_PASSWORD}
        session = httpx.post(srv.url + "/api/content/v2/authentication", json=login).json()["sessionToken"]
        srv.stop()
        srv.env["DOMOLITE_TOKEN_LIFETIME_S"] = "15"
        srv.start()
        assert status(token) == 200
        # A new key signs from now on; the old one still verifies what it signed, until that expires.
        older = srv.token()
        issued = jwt.decode(older, options={"verify_signature": False})
        assert issued["exp"] - issued["iat"] == 15
        rotated = json.loads(srv.cli("keys", "rotate", "--json"))
        # Token times are whole seconds: the newer token is issued in a later second, so that it outlives the older.
        time.sleep(max(0.0, issued["iat"] + 1 - time.time()))
        newer = srv.token()
        assert jwt.get_unverified_header(newer)["kid"] == rotated["kid"] != jwt.get_unverified_header(older)["kid"]
        assert status(older) == 200 and status(newer) == 200
        who = httpx.get(srv.url + "/api/content/v2/users/me", headers={"x-domo-authentication": session})
        assert who.status_code == 200 and who.json()["emailAddress"] == "admin@domolite.local"
        expires = issued["exp"]
        time.sleep(max(0.0, expires - time.time()) + 0.5)
        r = httpx.get(srv.url + "/v1/datasets", headers={"Authorization": f"bearer {older}"})
        assert_domo_error(r, 401, "expired")
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert status(newer) == 200  # issued a second or more later, by the new key: still valid
        assert status(token) == 200  # issued before the restart, for a minute: still valid
    finally:
        srv.stop()


def test_first_start_prints_credentials_once_and_logs_one_line_per_request(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data").start()
    try:
        with srv.client() as api:
            api.get("/v1/datasets", params={"limit": 3})
            # Encoded CR LF in a path would write a forged line into the log, were the fields not escaped.
            forged = api.get("/v1/datasets%0D%0A2031-01-01 00:00:00,000 INFO domolite.access 6.6.6.6 forged%0Aline")
            assert forged.status_code == 404
        srv.stop()
        lines = srv.log_text().splitlines()
        assert not [line for line in lines if line.startswith(("2031-01-01", "line"))], lines[-5:]
        access = next(line for line in lines if "forged" in line)
        assert (
            '"GET /v1/datasets\\r\\n2031-01-01 00:00:00,000 INFO domolite.access 6.6.6.6 forged\\nline" 404' in access
        )
        first_log = srv.log_text()
        assert first_log.count("client secret") == 1
        srv.start()
        srv.stop()
        assert srv.log_text().count("client secret") == 1, "credentials are printed only at the first start"
        assert srv.log_text().count('"GET /v1/datasets" 200') == 1
        assert srv.client_secret not in srv.log_text().split("client secret", 1)[1].split("\n", 1)[1]
    finally:
        srv.stop()
