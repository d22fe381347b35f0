"""For tests: users made over HTTP by the bootstrap admin, each with its own developer token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

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
    made = admin.post("/api/data/v1/accesstokens", json={"name": "tests", "ownerId": user_id})
    assert made.status_code == 200, made.text
    token = made.json()["token"]
    http = httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": token}, timeout=60)
    return Person(id=user_id, email=email, token=token, http=http)


def make_dataset(http: httpx.Client, name: str, csv: str, columns: list[tuple[str, str]]) -> str:
    schema = {"columns": [{"type": t, "name": n} for n, t in columns]}
    created = http.post("/v1/datasets", json={"name": name, "schema": schema})
    assert created.status_code == 201, created.text
    dataset_id = str(created.json()["id"])
    loaded = http.put(f"/v1/datasets/{dataset_id}/data", content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert loaded.status_code == 204, loaded.text
    return dataset_id


def share(http: httpx.Client, dataset_id: str, kind: str, grantee: int, level: str) -> httpx.Response:
    return http.post(
        f"/api/data/v3/datasources/{dataset_id}/share",
        json={"permissions": [{"type": kind, "id": grantee, "accessLevel": level}], "sendEmail": False},
    )


def query_rows(http: httpx.Client, dataset_id: str, sql: str) -> list[list[object]]:
    r = http.post(f"/v1/datasets/query/execute/{dataset_id}", json={"sql": sql})
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])
