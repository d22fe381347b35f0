"""Secrets: stored only as hashes, never in logs or replies; developer tokens can be revoked (API and CLI)."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.e2e.people import make_person
from tests.helpers import catalog_dump, catalog_rows
from tests.serverproc import ADMIN_PASSWORD, Server


def test_a_token_revoked_over_the_api_gets_401_on_its_next_call(server: Server, api: httpx.Client) -> None:
    person = make_person(server, api, "Privileged", "revokee")
    assert person.http.get("/v1/datasets").status_code == 200
    mine = person.http.get("/api/data/v1/accesstokens").json()
    assert [t["revoked"] for t in mine] == [False]
    assert "token" not in mine[0] and person.token not in json.dumps(mine)
    other = make_person(server, api, "Participant", "bystander")
    assert other.http.delete(f"/api/data/v1/accesstokens/{mine[0]['id']}").status_code == 404  # not theirs
    assert person.http.delete(f"/api/data/v1/accesstokens/{mine[0]['id']}").status_code == 204
    r = person.http.get("/v1/datasets")
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    assert person.token not in r.text
    assert other.http.get("/v1/datasets").status_code == 200


def test_a_token_revoked_with_the_cli_gets_401_on_its_next_call(server: Server, api: httpx.Client) -> None:
    person = make_person(server, api, "Privileged", "clirevokee")
    assert person.http.get("/v1/users").status_code == 200
    out = json.loads(server.cli("tokens", "revoke", "--token", person.token, "--json"))
    assert out["revoked"] is True
    assert person.http.get("/v1/users").status_code == 401
    again = person.http.get("/v1/users")
    assert again.status_code == 401 and again.json()["statusReason"] == "Unauthorized"


def test_a_deleted_users_token_gets_401(server: Server, api: httpx.Client) -> None:
    person = make_person(server, api, "Participant", "leaver")
    assert api.delete(f"/v1/users/{person.id}").status_code == 204
    assert person.http.get("/v1/datasets").status_code == 401


def test_secrets_are_stored_as_hashes_and_never_logged(server: Server, api: httpx.Client) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    email = f"pw-{uuid.uuid4().hex[:6]}@example.com"
    server.cli("users", "create", "--email", email, "--name", "Pat", "--password", password)
    client = json.loads(server.cli("clients", "create", "--user", email, "--name", "c", "--scope", "data", "--json"))
    mint = {"X-DOMO-Developer-Token": server.dev_token}  # minting one takes a credential with every scope
    made = httpx.post(server.url + "/api/data/v1/accesstokens", headers=mint, json={"name": "fresh"}).json()
    token = made["token"]
    bearer = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["clientId"], client["clientSecret"]),
    ).json()["access_token"]
    # use every credential, right and wrong, so that they pass through the server
    assert httpx.get(server.url + "/v1/datasets", headers={"X-DOMO-Developer-Token": token}).status_code == 200
    assert httpx.get(server.url + "/v1/datasets", headers={"Authorization": f"bearer {bearer}"}).status_code == 200
    wrong = httpx.get(server.url + "/v1/datasets", headers={"X-DOMO-Developer-Token": token[:-3] + "xyz"})
    assert wrong.status_code == 401 and token[:-3] not in wrong.text
    bad = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["clientId"], "nope"),
    )
    assert bad.status_code == 401

    log = server.log_text()
    for secret in (password, client["clientSecret"], token, bearer, ADMIN_PASSWORD):
        assert secret not in log
    assert log.count(server.dev_token) == 1  # shown once, in the first-start banner
    assert log.count(server.client_secret) == 1

    dump = catalog_dump(server.catalog_url)
    ((password_hash,),) = catalog_rows(server.catalog_url, "SELECT password_hash FROM users WHERE email = :e", e=email)
    for secret in (
        password,
        client["clientSecret"],
        token,
        server.dev_token,
        server.client_secret,
        ADMIN_PASSWORD,
    ):
        assert secret not in dump
    assert password_hash.startswith("$argon2id$")
