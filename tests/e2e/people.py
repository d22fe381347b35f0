"""For tests: users made over HTTP by the bootstrap admin, each with its own developer token."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx

from tests.helpers import kept_client
from tests.serverproc import Server


@dataclass
class Person:
    id: int
    email: str
    token: str
    http: httpx.Client


def make_person(server: Server, admin: httpx.Client, role: str = "Participant", name: str = "") -> Person:
    email = f"{name or role.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    created = admin.post(
        "/v1/users/",
        params={"sendInvite": "false"},
        json={"name": name or email, "email": email, "role": role},
    )
    assert created.status_code == 200, created.text
    user_id = created.json()["id"]
    token = developer_token(server, user_id, "tests")
    http = kept_client(server.url, {"X-DOMO-Developer-Token": token})
    return Person(id=user_id, email=email, token=token, http=http)


def developer_token(server: Server, user_id: int, name: str) -> str:
    """A new developer token of the user, made by the bootstrap admin's developer token (minting one takes a
    credential with every scope)."""
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}) as minter:
        made = minter.post("/api/data/v1/accesstokens", json={"name": name, "ownerId": user_id})
    assert made.status_code == 200, made.text
    return str(made.json()["token"])


def share(http: httpx.Client, dataset_id: str, kind: str, grantee: int, level: str) -> httpx.Response:
    return http.post(
        f"/api/data/v3/datasources/{dataset_id}/share",
        json={"permissions": [{"type": kind, "id": grantee, "accessLevel": level}], "sendEmail": False},
    )


def equals_policy(http: httpx.Client, dataset_id: str, name: str, column: str, value: str, user: int) -> httpx.Response:
    """A PDP policy for one user: only the rows whose `column` equals `value`."""
    return http.post(
        f"/v1/datasets/{dataset_id}/policies",
        json={"name": name, "filters": [{"column": column, "values": [value], "operator": "EQUALS"}], "users": [user]},
    )


def query_rows(http: httpx.Client, dataset_id: str, sql: str) -> list[list[object]]:
    r = http.post(f"/v1/datasets/query/execute/{dataset_id}", json={"sql": sql})
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


@dataclass
class ThreeWays:
    """One user, signed in each way: OAuth access token, developer token, session (`x-domo-authentication`)."""

    id: int
    email: str
    ways: dict[str, httpx.Client]


ALL_SCOPES = "data,user,account,audit,dashboard,workflow"


def sign_in_three_ways(server: Server, admin: httpx.Client, role: str = "Participant") -> ThreeWays:
    """A new user (made with a password by the admin command) with an OAuth client of every scope, a developer
    token and a session."""
    email = f"threeways-{uuid.uuid4().hex[:8]}@example.com"
    password = uuid.uuid4().hex
    made = json.loads(
        server.cli(
            "users",
            "create",
            "--email",
            email,
            "--name",
            "Three Ways",
            "--role",
            role,
            "--password",
            password,
            "--json",
        )
    )
    client = json.loads(
        server.cli("clients", "create", "--user", email, "--name", "ways", "--scope", ALL_SCOPES, "--json")
    )
    granted = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["clientId"], client["clientSecret"]),
    )
    assert granted.status_code == 200, granted.text
    login = httpx.post(
        server.url + "/api/content/v2/authentication",
        json={"method": "password", "emailAddress": email, "password": password},
    ).json()
    assert login["success"] is True, login
    headers = {
        "oauth": {"Authorization": f"bearer {granted.json()['access_token']}"},
        "developer token": {"X-DOMO-Developer-Token": developer_token(server, made["id"], "ways")},
        "session": {"x-domo-authentication": login["sessionToken"]},
    }
    ways = {way: kept_client(server.url, h) for way, h in headers.items()}
    return ThreeWays(id=int(made["id"]), email=email, ways=ways)
