"""A team at once, for 60 s, on each catalog backend: 4 uploaders (an execution of 4 parts of 20,000 rows, a
commit, again), 4 query clients (GROUP BY on the DataSets being written and on others) and 2 clients that start
CSV downloads and hang up. No error of any kind, every commit SUCCESS, every read a whole number of commits,
and the final row counts the sum of the committed rows."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.traffic import (
    GROUP_BY,
    assert_no_errors_logged,
    commit_parts,
    idle_lake_transactions,
    new_stream,
    pipes,
    rows_csv,
    start_download,
)
from tests.helpers import until
from tests.pg import Postgres
from tests.serverproc import Server

DURATION_S = 60.0
PART_ROWS = 20_000
PARTS = 4
EXECUTION_ROWS = PART_ROWS * PARTS


def test_uploads_queries_and_hung_up_downloads_for_a_minute(
    server: Server, api: httpx.Client, server_postgres: Postgres | None
) -> None:
    log_start = len(server.log_text())
    written = [new_stream(api, f"written {k}") for k in range(4)]
    others = [new_stream(api, f"read only {k}") for k in range(2)]
    for stream in others:
        assert commit_parts(api, stream["id"], [rows_csv(PART_ROWS)]).status_code == 200
    parts = [rows_csv(PART_ROWS, n * PART_ROWS) for n in range(PARTS)]
    token = server.token()
    ends_at = time.monotonic() + DURATION_S
    errors: list[str] = []
    committed = {stream["id"]: 0 for stream in written}
    counts = {"commits": 0, "queries": 0, "downloads": 0}

    def client(name: str, step: Callable[[httpx.Client, int], None]) -> threading.Thread:
        def loop() -> None:
            with server.client(token) as http:
                for i in itertools.count():
                    if time.monotonic() >= ends_at:
                        return
                    try:
                        step(http, i)
                    except Exception as exc:  # every failure counts, whatever it is
                        errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])

        return threading.Thread(target=loop, name=name)

    def upload(stream: dict[str, Any]) -> Callable[[httpx.Client, int], None]:
        def step(http: httpx.Client, _i: int) -> None:
            r = commit_parts(http, stream["id"], parts)
            assert r.status_code == 200, r.text
            assert r.json()["currentState"] == "SUCCESS", r.text
            committed[stream["id"]] += EXECUTION_ROWS
            counts["commits"] += 1

        return step

    def query(k: int) -> Callable[[httpx.Client, int], None]:
        def step(http: httpx.Client, i: int) -> None:
            stream = (written + others)[(k + i) % 6]
            r = http.post(f"/v1/datasets/query/execute/{stream['dataSet']['id']}", json={"sql": GROUP_BY})
            assert r.status_code == 200, r.text
            total = sum(row[1] for row in r.json()["rows"])
            whole = PART_ROWS if stream in others else EXECUTION_ROWS
            assert total % whole == 0, f"a read saw {total} rows: part of a commit"  # reads see whole snapshots
            counts["queries"] += 1

        return step

    def download(k: int) -> Callable[[httpx.Client, int], None]:
        def step(_http: httpx.Client, i: int) -> None:
            stream = (written + others)[(k + i) % 6]
            read = 0 if i % 2 else 100_000  # before the body, or during it
            sock = start_download(server, token, stream["dataSet"]["id"], read)
            sock.close()
            counts["downloads"] += 1
            time.sleep(0.2)

        return step

    threads = [client(f"uploader {k}", upload(s)) for k, s in enumerate(written)]
    threads += [client(f"query client {k}", query(k)) for k in range(4)]
    threads += [client(f"downloader {k}", download(k)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [], errors[:10]
    assert counts["commits"] >= 8 and counts["queries"] >= 20 and counts["downloads"] >= 20, counts
    for stream in written:
        executions = api.get(f"/v1/streams/{stream['id']}/executions", params={"limit": 500}).json()
        assert {e["currentState"] for e in executions} == {"SUCCESS"}
        ds = stream["dataSet"]["id"]
        assert api.get(f"/v1/datasets/{ds}").json()["rows"] == committed[stream["id"]]
        r = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT count(*) AS n FROM table"})
        assert r.json()["rows"] == [[committed[stream["id"]]]]
    until(lambda: not pipes(server), 5, "the hung-up downloads' pipes to go")
    assert idle_lake_transactions(server, server_postgres) == []
    assert_no_errors_logged(server, log_start)
