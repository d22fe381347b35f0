"""What the clients of the concurrency tests send and read: streams with executions of generated rows, raw CSV
downloads that may hang up, and what the server's log says about them."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx

from tests.pg import Postgres
from tests.serverproc import Server

SCHEMA = {"columns": [{"type": "LONG", "name": "id"}, {"type": "STRING", "name": "city"}]}
GROUP_BY = "SELECT city, COUNT(*) AS n FROM table GROUP BY city"


def rows_csv(count: int, start: int = 0) -> bytes:
    return "".join(f"{i},city{i % 50}\n" for i in range(start, start + count)).encode()


def new_stream(api: httpx.Client, name: str) -> dict:
    r = api.post("/v1/streams", json={"dataSet": {"name": name, "schema": SCHEMA}, "updateMethod": "APPEND"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def commit_parts(api: httpx.Client, stream_id: int, parts: list[bytes]) -> httpx.Response:
    """One execution: open it, send the parts, commit it; the commit's response."""
    r = api.post(f"/v1/streams/{stream_id}/executions")
    assert r.status_code == 200, r.text
    eid = r.json()["id"]
    for n, part in enumerate(parts, start=1):
        put = api.put(f"/v1/streams/{stream_id}/executions/{eid}/part/{n}", content=part)
        assert put.status_code == 200, put.text
    return api.put(f"/v1/streams/{stream_id}/executions/{eid}/commit")


def pipes(server: Server) -> list[Path]:
    """The FIFO folders of the server's CSV downloads in progress."""
    return list((server.data_dir / "staging" / "exports").glob("*"))


def start_download(server: Server, token: str, dataset_id: str, read_bytes: int) -> socket.socket:
    """Send a CSV download request on a raw connection and read `read_bytes` of the answer, or all of it when
    it is shorter (0: read nothing). The answer must be a 200."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    request = f"GET /v1/datasets/{dataset_id}/data HTTP/1.1\r\nHost: x\r\nAuthorization: bearer {token}\r\n\r\n"
    sock.sendall(request.encode())
    got = b""
    while len(got) < read_bytes and not got.endswith(b"\r\n0\r\n\r\n"):  # the end of a chunked body
        data = sock.recv(65536)
        assert data, f"the server closed the download after {got[:200]!r}"
        got += data
        if len(got) >= 12 and not got.startswith(b"HTTP/1.1 200"):
            sock.close()
            status = got.split(b"\r\n", 1)[0]
            raise AssertionError(f"the download answered {status!r}")
    return sock


def requests_ended(server: Server, since: int, request: str) -> list[str]:
    """The access lines (written when a request ends) of `request` ("GET /path") after offset `since` of the
    server's log."""
    return [line for line in server.log_text()[since:].splitlines() if f'"{request}"' in line]


def assert_no_errors_logged(server: Server, since: int) -> None:
    """The server logged no error after offset `since` of its log."""
    errors = [line for line in server.log_text()[since:].splitlines() if " ERROR " in line]
    assert not errors, errors[:5]


def idle_lake_transactions(server: Server, postgres: Postgres | None, settle_s: float = 0.5) -> list[Any]:
    """PostgreSQL sessions of the server's database left in an open transaction (none on SQLite): idle in the
    same transaction (the same start) when looked at twice, `settle_s` apart. A session caught between its BEGIN
    and its first statement (the catalog's own work, at any moment) is not one."""
    if postgres is None:
        return []
    sql = "SELECT pid, xact_start, left(query, 60) FROM pg_stat_activity WHERE datname = current_database() "
    sql += "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
    first = postgres.query(server.catalog_url, sql)
    if not first:
        return []
    time.sleep(settle_s)
    again = {(pid, started) for pid, started, _query in postgres.query(server.catalog_url, sql)}
    return [(pid, query) for pid, started, query in first if (pid, started) in again]
