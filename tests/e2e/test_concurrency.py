"""Many people at once on one server: a reader never blocks a commit, a download whose client hangs up frees
its DuckDB work and pipe at once, and every header is decided before the first byte."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from tests.helpers import assert_domo_error
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
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    for n, part in enumerate(parts, start=1):
        put = api.put(f"/v1/streams/{stream_id}/executions/{eid}/part/{n}", content=part)
        assert put.status_code == 200, put.text
    return api.put(f"/v1/streams/{stream_id}/executions/{eid}/commit")


def test_commits_go_through_while_queries_run_on_another_dataset(server: Server, api: httpx.Client) -> None:
    """The smallest case that wedged the server: one client commits 4-part executions while two others run
    a GROUP BY on a different DataSet in a loop. Every commit and every query succeeds, in normal time."""
    log_start = len(server.log_text())
    writing, reading = new_stream(api, "written"), new_stream(api, "read")
    assert commit_parts(api, reading["id"], [rows_csv(20_000)]).status_code == 200
    stop = threading.Event()
    answers: Counter[int] = Counter()

    def query_loop() -> None:
        with server.client() as http:
            while not stop.is_set():
                r = http.post(f"/v1/datasets/query/execute/{reading['dataSet']['id']}", json={"sql": GROUP_BY})
                answers[r.status_code] += 1

    readers = [threading.Thread(target=query_loop) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        took = []
        for k in range(6):
            started = time.monotonic()
            r = commit_parts(api, writing["id"], [rows_csv(20_000, 80_000 * k + 20_000 * n) for n in range(4)])
            took.append(time.monotonic() - started)
            assert r.status_code == 200, r.text
            assert r.json()["currentState"] == "SUCCESS"
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert max(took) < 15, took  # a stalled commit took over 60 s and then failed
    assert set(answers) == {200} and answers[200] > 0, answers
    rows = api.get(f"/v1/datasets/{writing['dataSet']['id']}").json()["rows"]
    assert rows == 6 * 80_000
    assert_no_errors_logged(server, log_start)


def assert_no_errors_logged(server: Server, since: int) -> None:
    """The server logged no error after offset `since` of its log."""
    errors = [line for line in server.log_text()[since:].splitlines() if " ERROR " in line]
    assert not errors, errors[:5]
