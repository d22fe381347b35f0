"""Many people at once on one server: a reader never blocks a commit, a download whose client hangs up frees
its DuckDB work and pipe at once, and every header is decided before the first byte."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.traffic import (
    GROUP_BY,
    assert_no_errors_logged,
    commit_parts,
    idle_lake_transactions,
    new_stream,
    pipes,
    requests_ended,
    rows_csv,
    start_download,
)
from tests.helpers import assert_domo_error, execution_key, until
from tests.pg import Postgres
from tests.serverproc import Server


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


# -- downloads whose client hangs up -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(api: httpx.Client) -> str:
    """A DataSet of 2,000,000 rows (~28 MB of CSV, far more than the pipe and the sockets hold)."""
    stream = new_stream(api, "big download")
    assert commit_parts(api, stream["id"], [rows_csv(1_000_000), rows_csv(1_000_000, 1_000_000)]).status_code == 200
    return str(stream["dataSet"]["id"])


def test_a_download_hung_up_before_the_body_frees_its_pipe_and_lake_at_once(
    server: Server, api: httpx.Client, big: str, server_postgres: Postgres | None
) -> None:
    token = server.token()
    log_start = len(server.log_text())
    for _ in range(3):
        start_download(server, token, big, 0).close()
    download = f"GET /v1/datasets/{big}/data"
    until(lambda: len(requests_ended(server, log_start, download)) == 3, 20, "the server to end the downloads")
    until(lambda: not pipes(server), 1, "the hung-up downloads' pipes to go", every=0.02)
    assert idle_lake_transactions(server, server_postgres) == []
    writing = new_stream(api, "after hang-ups")
    started = time.monotonic()
    assert commit_parts(api, writing["id"], [rows_csv(20_000)]).status_code == 200
    assert time.monotonic() - started < 10
    assert len(api.get(f"/v1/datasets/{big}/data").content) > 20_000_000  # downloads still work


def test_a_download_hung_up_during_the_body_frees_its_pipe_and_lake_at_once(
    server: Server, api: httpx.Client, big: str, server_postgres: Postgres | None
) -> None:
    token = server.token()
    socks = [start_download(server, token, big, 200_000) for _ in range(2)]
    time.sleep(0.5)
    assert len(pipes(server)) == 2  # DuckDB is still writing them: the body is far from done
    hung_up = time.monotonic()
    for sock in socks:
        sock.close()
    until(lambda: not pipes(server), 2, "the hung-up downloads' pipes to go", every=0.02)
    assert time.monotonic() - hung_up < 2
    assert idle_lake_transactions(server, server_postgres) == []
    writing = new_stream(api, "after hang-ups in the body")
    started = time.monotonic()
    assert commit_parts(api, writing["id"], [rows_csv(20_000)]).status_code == 200
    assert time.monotonic() - started < 10


def test_a_query_whose_client_hangs_up_stops_within_a_second(server: Server, api: httpx.Client) -> None:
    """A query that would run until its 30 s limit is stopped when its client goes: the request ends (its
    access line is written) about when the client left, and the server answers the next query at once."""
    stream = new_stream(api, "slow query")
    assert commit_parts(api, stream["id"], [rows_csv(2000)]).status_code == 200
    ds = stream["dataSet"]["id"]
    body = b'{"sql": "SELECT count(*) FROM table a, table b, table c, table d WHERE a.id + b.id + c.id + d.id = -1"}'
    log_start = len(server.log_text())
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = f"POST /v1/datasets/query/execute/{ds} HTTP/1.1\r\nHost: x\r\nAuthorization: bearer {server.token()}\r\n"
    sock.sendall(f"{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    time.sleep(1.0)
    sock.close()
    query = f"POST /v1/datasets/query/execute/{ds}"
    until(lambda: bool(requests_ended(server, log_start, query)), 10, "the query to stop")
    (line,) = requests_ended(server, log_start, query)
    took_ms = float(re.search(r" (\d+\.\d)ms ", line).group(1))  # type: ignore[union-attr]
    assert took_ms < 2500, line
    r = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT count(*) AS n FROM table"})
    assert r.status_code == 200 and r.json()["rows"] == [[2000]]


def test_an_upload_whose_client_hangs_up_in_the_body_leaves_nothing_and_logs_no_error(
    server: Server, api: httpx.Client
) -> None:
    stream = new_stream(api, "upload hung up")
    eid = api.post(f"/v1/streams/{stream['id']}/executions").json()["id"]
    folder = server.data_dir / "staging" / f"execution-{execution_key(server.catalog_url, stream['id'], eid)}"
    log_start = len(server.log_text())
    sock = socket.create_connection(("127.0.0.1", server.port))
    path = f"/v1/streams/{stream['id']}/executions/{eid}/part/1"
    head = f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: bearer {server.token()}\r\n"
    sock.sendall(f"{head}Content-Type: text/csv\r\nContent-Length: 5000000\r\n\r\n".encode() + rows_csv(5000))
    time.sleep(0.3)
    sock.close()
    until(lambda: bool(requests_ended(server, log_start, f"PUT {path}")), 10, "the upload to end")
    assert list(folder.glob("*")) == []  # no half part
    execution = api.get(f"/v1/streams/{stream['id']}/executions/{eid}").json()
    assert execution["currentState"] == "ACTIVE" and execution["uploadedParts"] == 0
    assert_no_errors_logged(server, log_start)


# -- headers are decided before the first byte ----------------------------------------------------------


def test_any_unicode_file_name_is_sent_per_rfc_6266(api: httpx.Client) -> None:
    stream = new_stream(api, "named download")
    assert commit_parts(api, stream["id"], [b"1,Oslo\n"]).status_code == 200
    ds = stream["dataSet"]["id"]
    for name, expected in [
        ("数据.csv", "attachment; filename=\"__.csv\"; filename*=UTF-8''%E6%95%B0%E6%8D%AE.csv"),
        (
            'say "hi" \\ 10%.csv',
            "attachment; filename=\"say _hi_ _ 10%.csv\"; filename*=UTF-8''say%20%22hi%22%20%5C%2010%25.csv",
        ),
        ("plain name.csv", 'attachment; filename="plain name.csv"'),
    ]:
        r = api.get(f"/v1/datasets/{ds}/data", params={"fileName": name})
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"] == expected
        assert r.text == "1,Oslo\n"


def test_a_file_name_with_control_characters_is_a_400_naming_it(server: Server, api: httpx.Client) -> None:
    stream = new_stream(api, "badly named download")
    ds = stream["dataSet"]["id"]
    r = api.get(f"/v1/datasets/{ds}/data", params={"fileName": "a\x00b.csv"})
    assert_domo_error(r, 400, "fileName: holds a NUL character")  # refused with every NUL, before any route
    for name in ["a\x0bb.csv", "a\r\nSet-Cookie: x=1", "tab\there.csv", "del\x7f.csv"]:
        r = api.get(f"/v1/datasets/{ds}/data", params={"fileName": name})
        assert_domo_error(r, 400, "fileName", "control characters")
    assert api.get(f"/v1/datasets/{ds}").status_code == 200  # the same connection goes on
    assert not pipes(server)
