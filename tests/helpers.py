"""Small helpers shared by the tests: HTTP calls and their checks, and a lake on disk for the tests without a
server."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy

if TYPE_CHECKING:
    from domolite.storage.lake import Lake
    from tests.serverproc import Server

ERROR_KEYS = {"status", "statusReason", "message", "toe"}
# What the instance API's own clients send with a JSON body.
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
KEPT: list[httpx.Client] = []


def kept_client(base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    """An HTTP client that lives as long as the test module that made it (which then closes it)."""
    client = httpx.Client(base_url=base_url, headers=headers, timeout=60)
    KEPT.append(client)
    return client


def close_kept_clients() -> None:
    while KEPT:
        KEPT.pop().close()


def make_dataset(
    api: httpx.Client, columns: list[tuple[str, str]], name: str = "test", *, csv: str | None = None
) -> dict[str, Any]:
    """A new DataSet (its public form), with `csv` imported into it when given."""
    r = api.post(
        "/v1/datasets",
        json={
            "name": name,
            "description": "",
            "schema": {"columns": [{"type": t, "name": n} for n, t in columns]},
        },
    )
    assert r.status_code == 201, r.text
    dataset = dict(r.json())
    if csv is not None:
        loaded = api.put(
            f"/v1/datasets/{dataset['id']}/data", content=csv.encode(), headers={"Content-Type": "text/csv"}
        )
        assert loaded.status_code == 204, loaded.text
    return dataset


def stream_of(api: httpx.Client, dataset_id: str) -> int:
    found = api.get("/v1/streams/search", params={"q": f"dataSource.id:{dataset_id}"}).json()
    assert len(found) == 1
    return int(found[0]["id"])


def export_csv(api: httpx.Client, dataset_id: str, header: bool = False) -> str:
    r = api.get(f"/v1/datasets/{dataset_id}/data", params={"includeHeader": str(header).lower()})
    assert r.status_code == 200, r.text
    return r.text


def assert_domo_error(r: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    """The response is Domo's error body with this status, and its message mentions every fragment."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = dict(r.json())
    assert set(body) == ERROR_KEYS
    assert body["status"] == status
    assert isinstance(body["statusReason"], str) and body["statusReason"]
    assert isinstance(body["toe"], str) and body["toe"]
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


def assert_exact_error(r: httpx.Response, status: int, message: str) -> None:
    """The response is exactly Domo's error body with this status and message (and some toe)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = dict(r.json())
    toe = body.pop("toe")
    assert isinstance(toe, str) and toe
    assert body == {"status": status, "statusReason": HTTPStatus(status).phrase, "message": message}


class Snapshot:
    """A DataSet's rows and metadata row count, to show an operation left it unchanged."""

    def __init__(self, api: httpx.Client, dataset_id: str) -> None:
        self.api = api
        self.dataset_id = dataset_id
        self.rows, self.content = self._read()

    def _read(self) -> tuple[int, str]:
        meta = self.api.get(f"/v1/datasets/{self.dataset_id}")
        assert meta.status_code == 200, meta.text
        return int(meta.json()["rows"]), export_csv(self.api, self.dataset_id)

    def assert_unchanged(self) -> None:
        assert self._read() == (self.rows, self.content)


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> None:
    """Wait until `check()` holds, looking `every` seconds; fail saying `what` did not happen in `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"{what} did not happen in {timeout} s")


def wait_export(
    api: httpx.Client, dataset_id: str, export_id: str, state: str | None = None, timeout: float = 60
) -> dict[str, Any]:
    """The export once it reaches `state` (by default: once it ends, in success or error)."""
    wanted = (state,) if state else ("success", "error")
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = api.get(f"/api/query/v1/export/{dataset_id}/{export_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["exportStatus"] in wanted:
            return job
        time.sleep(0.05)
    raise AssertionError(f"export {export_id} did not reach {' or '.join(wanted)} in {timeout} s: {job}")


def catalog_rows(catalog_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on a server's catalog (SQLite or PostgreSQL), read directly."""
    engine = sqlalchemy.create_engine(catalog_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(sql), params)]
    finally:
        engine.dispose()


def execution_key(catalog_url: str, stream_id: int, number: int) -> int:
    """The catalog's key of a stream's execution `number` (the id clients see): what names its staging folder
    (`execution-<key>`) and its parts' rows."""
    rows = catalog_rows(
        catalog_url, "SELECT id FROM executions WHERE stream_id = :s AND number = :n", s=stream_id, n=number
    )
    assert len(rows) == 1, (stream_id, number, rows)
    return int(rows[0][0])


def catalog_dump(catalog_url: str) -> str:
    """Every value of every table of a server's catalog, as text."""
    engine = sqlalchemy.create_engine(catalog_url)
    try:
        tables = sqlalchemy.MetaData()
        tables.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(
                repr(tuple(row)) for table in tables.sorted_tables for row in conn.execute(sqlalchemy.select(table))
            )
    finally:
        engine.dispose()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus' text format, as /metrics shows it (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if wanted else "") + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def lake_in(root: Path, *, catalog_url: str | None = None, threads: int = 1, unload_threads: int | None = None) -> Lake:
    """A `Lake` as a server process opens one, its files under `root`: on the embedded SQLite metadata, or on
    the PostgreSQL catalog at `catalog_url` (each call a process of its own: its own DuckDB and writer lock)."""
    from domolite.storage.lake import Lake

    return Lake(
        catalog_url=catalog_url or f"sqlite:///{root / 'catalog.sqlite'}",
        lake_dir=root / "lake",
        extension_dir=root / "extensions",
        threads=threads,
        memory_limit="500MB",
        unload_threads=unload_threads,
    )


def oauth_client(server: Server, scope: str, name: str = "") -> httpx.Client:
    """A client whose OAuth token, of a new client of the bootstrap admin, is granted `scope` (space- or
    comma-separated)."""
    scopes = scope.replace(" ", ",")
    out = server.cli(
        "clients", "create", "--user", "admin@domolite.local", "--name", name or scope, "--scope", scopes, "--json"
    )
    creds = json.loads(out)
    granted = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["clientId"], creds["clientSecret"]),
    )
    granted.raise_for_status()
    return server.client(granted.json()["access_token"])
