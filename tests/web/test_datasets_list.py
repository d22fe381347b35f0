"""The DataSets list over HTTP: search by name, sort by name, owner, rows, columns and last updated (each way),
paging, and only the DataSets the signed-in user may read."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

import httpx
import pytest

from tests.serverproc import Server
from tests.web.conftest import ADMIN_EMAIL, web_session

ROW_NAME = re.compile(r'<td data-label="Name"><a href="/datasources/[^"]+/details/overview">([^<]*)</a></td>')


def names(web: httpx.Client, **params: str) -> list[str]:
    """The DataSet names of one page of the list, in the order shown."""
    r = web.get("/", params=params)
    assert r.status_code == 200, r.text
    return [html.unescape(n) for n in ROW_NAME.findall(r.text)]


def make(api: httpx.Client, name: str, owner_id: int, columns: int) -> str:
    schema = {"columns": [{"name": f"c{i}", "type": "LONG"} for i in range(columns)]}
    created = api.post("/v1/datasets", json={"name": name, "schema": schema, "owner": {"id": owner_id}})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def load(api: httpx.Client, dataset_id: str, columns: int, rows: int) -> None:
    body = "".join(",".join([str(r)] * columns) + "\n" for r in range(rows))
    loaded = api.put(f"/v1/datasets/{dataset_id}/data", content=body, headers={"Content-Type": "text/csv"})
    assert loaded.status_code == 204, loaded.text


def make_user(api: httpx.Client, name: str, email: str) -> int:
    made = api.post(
        "/v1/users/", params={"sendInvite": "false"}, json={"name": name, "email": email, "role": "Participant"}
    )
    assert made.status_code == 200, made.text
    return int(made.json()["id"])


def user_id(api: httpx.Client, email: str) -> int:
    return int(next(u["id"] for u in api.get("/v1/users", params={"limit": 500}).json() if u["email"] == email))


@dataclass
class Listed:
    tag: str
    admin: httpx.Client
    pat: httpx.Client  # a participant who may read alpha and gamma only


@pytest.fixture(scope="module")
def listed(dc_server: Server, dc_api: httpx.Client) -> Iterator[Listed]:
    """Three DataSets of three owners (alpha: Cy, beta: Ann, gamma: Bob), each with its own column and row counts,
    loaded in the order gamma, alpha, beta; and Pat, signed in, with READ on alpha and gamma."""
    tag = uuid.uuid4().hex[:8]
    owners = {
        who: make_user(dc_api, f"{who} {tag}", f"{who.lower()}-{tag}@example.com") for who in ("Cy", "Ann", "Bob")
    }
    admin = web_session(dc_server)
    email, password = f"pat-{tag}@example.com", f"pw-{tag}"
    made = admin.post(  # a password is set on the Admin page
        "/admin/users",
        data={"csrf": admin.cookies["domolite_csrf"], "name": f"Pat {tag}", "email": email, "password": password},
    )
    assert made.status_code == 303 and "created" in unquote(made.headers.get("set-cookie", "")), made.text
    ids = {
        "alpha": make(dc_api, f"{tag} alpha", owners["Cy"], columns=3),
        "beta": make(dc_api, f"{tag} beta", owners["Ann"], columns=1),
        "gamma": make(dc_api, f"{tag} gamma", owners["Bob"], columns=2),
    }
    for key, rows in (("gamma", 9), ("alpha", 5), ("beta", 2)):
        load(dc_api, ids[key], {"alpha": 3, "beta": 1, "gamma": 2}[key], rows)
    pat_id = user_id(dc_api, email)
    for key in ("alpha", "gamma"):
        shared = dc_api.post(
            f"/api/data/v3/datasources/{ids[key]}/share",
            json={"permissions": [{"type": "USER", "id": pat_id, "accessLevel": "READ"}], "sendEmail": False},
        )
        assert shared.status_code == 200, shared.text
    pat = web_session(dc_server, email, password)
    yield Listed(tag, admin, pat)
    pat.close()
    admin.close()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha", "beta", "gamma"]),
        ("-name", ["gamma", "beta", "alpha"]),
        ("owner", ["beta", "gamma", "alpha"]),  # Ann, Bob, Cy
        ("-owner", ["alpha", "gamma", "beta"]),
        ("rows", ["beta", "alpha", "gamma"]),  # 2, 5, 9
        ("-rows", ["gamma", "alpha", "beta"]),
        ("columns", ["beta", "gamma", "alpha"]),  # 1, 2, 3
        ("-columns", ["alpha", "gamma", "beta"]),
        ("updated", ["gamma", "alpha", "beta"]),  # loaded in that order
        ("-updated", ["beta", "alpha", "gamma"]),
    ],
)
def test_the_list_sorts_each_way(listed: Listed, sort: str, expected: list[str]) -> None:
    assert names(listed.admin, q=listed.tag, sort=sort) == [f"{listed.tag} {n}" for n in expected]


def test_the_list_sorted_shows_only_what_the_user_may_read(listed: Listed) -> None:
    tag, pat = listed.tag, listed.pat
    assert names(pat, q=tag, sort="owner") == [f"{tag} gamma", f"{tag} alpha"]  # Bob, Cy; never Ann's beta
    assert names(pat, q=tag, sort="-columns") == [f"{tag} alpha", f"{tag} gamma"]
    assert names(pat, q=tag, sort="rows") == [f"{tag} alpha", f"{tag} gamma"]
    page = pat.get("/", params={"q": tag, "sort": "owner"}).text
    assert "Sort by Owner" in page and "Sort by Columns" in page


def test_the_list_pages_by_25_and_searches_by_name(dc_api: httpx.Client, dc_server: Server) -> None:
    tag = uuid.uuid4().hex[:8]
    admin = web_session(dc_server)
    try:
        owner = user_id(dc_api, ADMIN_EMAIL)
        for i in range(27):
            make(dc_api, f"paged {tag} {i:02d}", owner, columns=1)
        make(dc_api, f"other {tag}", owner, columns=1)
        first = names(admin, q=f"paged {tag}", sort="-name")
        assert first == [f"paged {tag} {i:02d}" for i in range(26, 1, -1)]
        page = admin.get("/", params={"q": f"paged {tag}", "sort": "-name"}).text
        assert 'rel="next"' in page and 'rel="prev"' not in page
        second = names(admin, q=f"paged {tag}", sort="-name", page="2")
        assert second == [f"paged {tag} 01", f"paged {tag} 00"]
        last = admin.get("/", params={"q": f"paged {tag}", "sort": "-name", "page": "2"}).text
        assert 'rel="prev"' in last and 'rel="next"' not in last
        assert names(admin, q=f"OTHER {tag}") == [f"other {tag}"]  # search ignores case
    finally:
        admin.close()
