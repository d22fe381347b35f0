"""Bounded waits and a clean stop: a commit that cannot have the lake in time is a 503 and stays ACTIVE; SIGTERM
stops the server within seconds, during a commit or with downloads hung open; the next start settles the
commit, removes the leftovers of the last run and puts an older lake's metadata in WAL mode."""

from __future__ import annotations

import functools
import signal
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.e2e.traffic import new_stream, rows_csv, start_download
from tests.helpers import assert_domo_error, execution_key, until
from tests.serverproc import Server

BIG_ROWS = 1_000_000


def own_server(tmp_path: Path, **env: str) -> Server:
    return Server(data_dir=tmp_path / "data", env=env).start()


def open_execution(api: httpx.Client, stream_id: int, parts: list[bytes]) -> int:
    eid = int(api.post(f"/v1/streams/{stream_id}/executions").json()["id"])
    for n, part in enumerate(parts, start=1):
        assert api.put(f"/v1/streams/{stream_id}/executions/{eid}/part/{n}", content=part).status_code == 200
    return eid


def state_of(api: httpx.Client, stream_id: int, eid: int) -> str:
    return str(api.get(f"/v1/streams/{stream_id}/executions/{eid}").json()["currentState"])


def commit_in_background(api: httpx.Client, stream_id: int, eid: int) -> list[httpx.Response]:
    answers: list[httpx.Response] = []

    def commit() -> None:
        try:
            answers.append(api.put(f"/v1/streams/{stream_id}/executions/{eid}/commit"))
        except httpx.TransportError:
            pass  # the server stopped under it

    threading.Thread(target=commit, daemon=True).start()
    until(lambda: state_of(api, stream_id, eid) != "ACTIVE", 30, "the commit to start", every=0.01)
    return answers


@functools.cache
def big_parts() -> list[bytes]:
    """BIG_ROWS rows in two parts: a commit of them takes a second or more."""
    half = BIG_ROWS // 2
    return [rows_csv(half), rows_csv(half, half)]


def stopped_within(server: Server, seconds: float) -> float:
    """Send SIGTERM; the seconds the process took to exit (failing past `seconds`)."""
    assert server.proc is not None
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=seconds)
    except Exception:
        server.kill9()
        pytest.fail(f"the server did not stop within {seconds} s of SIGTERM")
    return time.monotonic() - started


def test_a_commit_that_cannot_have_the_lake_in_time_is_a_503_and_sigterm_is_not_held_by_downloads(
    tmp_path: Path,
) -> None:
    """A commit that waited its bounded time for the lake (held by another commit) is a 503 with Retry-After
    and stays ACTIVE, to be committed again. Then, with clients that stopped reading their downloads and one
    that hung up before the body, SIGTERM stops the server within seconds."""
    server = own_server(tmp_path, DOMOLITE_LAKE_WRITE_WAIT_S="0.2")
    with server.client() as api:
        slow, quick = new_stream(api, "slow"), new_stream(api, "quick")
        slow_eid = open_execution(api, slow["id"], big_parts())
        quick_eid = open_execution(api, quick["id"], [b"1,Oslo\n"])
        slow_answer = commit_in_background(api, slow["id"], slow_eid)
        r = api.put(f"/v1/streams/{quick['id']}/executions/{quick_eid}/commit")
        assert slow_answer == [] and state_of(api, slow["id"], slow_eid) == "COMMITTING"  # it held the lake
        assert_domo_error(r, 503, "the lake was busy with other changes", "nothing was changed")
        assert r.headers["retry-after"] == "5"
        assert state_of(api, quick["id"], quick_eid) == "ACTIVE"
        until(lambda: bool(slow_answer), 120, "the slow commit to end")
        assert slow_answer[0].status_code == 200, slow_answer[0].text
        again = api.put(f"/v1/streams/{quick['id']}/executions/{quick_eid}/commit")
        assert again.status_code == 200 and again.json()["currentState"] == "SUCCESS"
        assert api.get(f"/v1/datasets/{quick['dataSet']['id']}").json()["rows"] == 1

        token = server.token()
        stalled = [start_download(server, token, slow["dataSet"]["id"], 100_000) for _ in range(2)]
        start_download(server, token, slow["dataSet"]["id"], 0).close()
        time.sleep(0.5)
        took = stopped_within(server, 20)
        for sock in stalled:
            sock.close()
    assert took < 10, took


def test_sigterm_during_a_commit_stops_the_server_and_the_next_start_settles_it_and_cleans_up(
    tmp_path: Path,
) -> None:
    """SIGTERM while a commit runs: the server stops within seconds, the commit having finished or been left
    for the next start, which settles it, removes what the last run left in the staging area (keeping an
    ACTIVE execution's parts) and puts a lake made before WAL mode in WAL mode."""
    server = own_server(tmp_path)
    with server.client() as api:
        stream = new_stream(api, "committing at the stop")
        active = open_execution(api, stream["id"], [b"1,Oslo\n"])
        eid = open_execution(api, stream["id"], big_parts())
        active_key, key = (execution_key(server.catalog_url, stream["id"], n) for n in (active, eid))
        commit_in_background(api, stream["id"], eid)
        took = stopped_within(server, 20)
    assert took < 10, took

    staging = server.data_dir / "staging"
    leftovers = [
        staging / "exports" / "pipe-0123456789abcdef-x1",  # a download pipe of a process that is gone
        staging / "exports" / "csv-export-k2",  # one named as older versions named them
        staging / "s3-exports" / "pipe-0123456789abcdef-x3",
        staging / "s3-exports" / "parquet-0123456789abcdef-x4",
        staging / "s3-exports" / "unload-csv-x5",
        staging / "import-0123456789abcdef-x6",
        staging / "execution-999999",  # parts of no execution
    ]
    for path in leftovers:
        path.mkdir(parents=True, exist_ok=True)
        (path / "rows.csv").write_bytes(b"1,x\n")
    lake_file = server.data_dir / "lake" / "metadata.sqlite"
    with closing(sqlite3.connect(lake_file)) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        con.execute("PRAGMA journal_mode=DELETE")  # as the lakes made before WAL mode are

    server.start()
    assert [p for p in leftovers if p.exists()] == []
    assert not (staging / f"execution-{key}").exists()  # settled: its parts are gone
    assert (staging / f"execution-{active_key}").exists()  # an ACTIVE execution's parts are kept
    with closing(sqlite3.connect(lake_file)) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with server.client() as api:
        execution = api.get(f"/v1/streams/{stream['id']}/executions/{eid}").json()
        rows = api.get(f"/v1/datasets/{stream['dataSet']['id']}").json()["rows"]
        # The commit finished within the graceful stop, or was interrupted and settled at this start.
        assert (execution["currentState"], rows) in [("SUCCESS", BIG_ROWS), ("ERROR", 0)], execution
        r = api.put(f"/v1/streams/{stream['id']}/executions/{active}/commit")
        assert r.status_code == 200 and r.json()["currentState"] == "SUCCESS"
        assert api.get(f"/v1/datasets/{stream['dataSet']['id']}").json()["rows"] == rows + 1
    server.stop()
