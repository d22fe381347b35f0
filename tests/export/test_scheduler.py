"""The scheduler: schedules fire, failed runs are retried with backoff, and two server processes sharing one
catalog run each due job exactly once. The servers here count a schedule minute as one second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.export.conftest import parse_csv, read_object
from tests.export.tcpproxy import TcpProxy
from tests.export.writeback import history, make_account, make_connector, metrics, run, stream_body, wait_run
from tests.helpers import make_dataset, metric, until
from tests.serverproc import Server

FAST_CLOCK = {
    "DOMOLITE_SCHEDULER_MINUTE_S": "1",
    "DOMOLITE_SCHEDULER_TICK_S": "0.1",
    "DOMOLITE_SCHEDULER_LEASE_S": "15",
}
SALES = [("Region", "STRING"), ("Units", "LONG")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Two server processes on one data directory (one catalog, one lake), both running the scheduler."""
    data_dir: Path = tmp_path_factory.mktemp("shared") / "data"
    first = Server(data_dir=data_dir, env=FAST_CLOCK).start()
    second = first.sibling().start()
    yield first, second
    second.stop()
    first.stop()


@pytest.fixture(scope="module")
def fast(pair: tuple[Server, Server]) -> Iterator[httpx.Client]:
    with pair[0].client() as client:
        yield client


def ended(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r["currentState"] in ("SUCCESS", "ERROR", "ABORTED")]


def counted(pair: tuple[Server, Server], name: str, **labels: str) -> float:
    """One Prometheus series summed over both processes (each counts the runs it ran)."""
    return sum(metric(httpx.get(srv.url + "/metrics").text, name, **labels) for srv in pair)


def test_a_minute_schedule_fires(
    pair: tuple[Server, Server], fast: httpx.Client, s3_url: str, s3: Any, bucket: str
) -> None:
    server = pair[0]
    input_id = make_dataset(fast, SALES, "every minute", csv="West,1\nEast,2\n")["id"]
    account = make_account(fast, s3_url, bucket, server.client_id, server.client_secret)
    stream_id, writeback_id = make_connector(
        fast, account, input_id, path="minutely", schedule={"type": "MINUTE", "interval": 1, "timezone": "UTC"}
    )
    until(lambda: len(ended(history(fast, stream_id))) >= 2, 30, "two scheduled runs")
    stop = stream_body(account, input_id, path="minutely", schedule={"type": "MANUAL", "timezone": "UTC"})
    assert fast.put(f"/api/data/v1/streams/{stream_id}", json=stop).status_code == 200
    until(
        lambda: not [r for r in history(fast, stream_id) if r["currentState"] in ("ACTIVE", "COMMITTING")],
        30,
        "the last run",
    )

    runs = history(fast, stream_id)
    assert len(runs) >= 2
    for r in runs:
        assert r["runType"] == "AUTOMATED"
        assert r["currentState"] == "SUCCESS", r
        assert r["rowsInserted"] == 2
    last = fast.get(f"/api/data/v1/streams/{stream_id}/executions/{runs[0]['executionId']}").json()
    _, rows = parse_csv(read_object(s3, f"s3://{bucket}/minutely/{last['exportId']}/export/data.csv"))
    assert sorted(rows) == [["East", "2"], ["West", "1"]]
    assert len(metrics(fast, writeback_id)) == len(runs)

    # Set to MANUAL, it stays quiet.
    time.sleep(2.5)
    assert len(history(fast, stream_id)) == len(runs)


def test_two_processes_run_each_due_job_exactly_once(
    pair: tuple[Server, Server], fast: httpx.Client, s3_url: str, bucket: str
) -> None:
    server = pair[0]
    input_id = make_dataset(fast, SALES, "shared by two servers", csv="West,1\n")["id"]
    account = make_account(fast, s3_url, bucket, server.client_id, server.client_secret)
    # A daily schedule a few seconds from now: due once, then not before tomorrow.
    fire_at = datetime.now(UTC) + timedelta(seconds=4)
    schedule = {"type": "DAY", "interval": 1, "timezone": "UTC", "time": fire_at.strftime("%H:%M:%S")}
    streams = [make_connector(fast, account, input_id, path=f"once/{i}", schedule=schedule)[0] for i in range(6)]

    until(lambda: all(ended(history(fast, s)) for s in streams), 60, "a run of every stream")
    time.sleep(2)  # room for a second run, if one process were to start it again
    second = pair[1].client()
    for stream_id in streams:
        runs = history(fast, stream_id)
        assert len(runs) == 1, runs
        assert runs[0]["currentState"] == "SUCCESS" and runs[0]["runType"] == "AUTOMATED", runs[0]["errors"]
        # Both processes see the same single run.
        assert [r["executionId"] for r in history(second, stream_id)] == [runs[0]["executionId"]]
    second.close()


def test_a_failed_run_is_retried_with_backoff_until_it_succeeds(
    pair: tuple[Server, Server], fast: httpx.Client, s3_url: str, s3: Any
) -> None:
    server = pair[0]
    input_id = make_dataset(fast, SALES, "retried", csv="West,1\n")["id"]
    missing = "retry-bucket-" + input_id[:8]
    account = make_account(fast, s3_url, missing, server.client_id, server.client_secret)
    stream_id, _ = make_connector(fast, account, input_id, path="retried", retries=2)
    assert fast.get(f"/api/data/v1/streams/{stream_id}").json()["scheduleRetryCount"] == 2
    runs = "domolite_scheduler_runs_total"
    before = {outcome: counted(pair, runs, outcome=outcome) for outcome in ("failed", "succeeded")}

    failed = wait_run(fast, stream_id, run(fast, stream_id)["executionId"])
    assert failed["currentState"] == "ERROR"
    s3.create_bucket(Bucket=missing)
    # The first retry comes one schedule minute (a second here) later, by itself.
    until(lambda: len(ended(history(fast, stream_id))) == 2, 20, "the retry")
    retried = history(fast, stream_id)[0]
    assert retried["currentState"] == "SUCCESS", retried
    assert retried["runType"] == "AUTOMATED" and retried["retryCount"] == 1
    time.sleep(3)
    assert len(history(fast, stream_id)) == 2  # a success ends the retries
    # /metrics counted both runs by their outcome: the failed one and the retry that succeeded.
    assert counted(pair, runs, outcome="failed") == before["failed"] + 1
    assert counted(pair, runs, outcome="succeeded") == before["succeeded"] + 1


def test_retries_stop_after_the_retry_count(pair: tuple[Server, Server], fast: httpx.Client, s3_url: str) -> None:
    server = pair[0]
    input_id = make_dataset(fast, SALES, "never reaches s3", csv="West,1\n")["id"]
    account = make_account(fast, s3_url, "no-such-bucket-ever", server.client_id, server.client_secret)
    stream_id, _ = make_connector(fast, account, input_id, path="never", retries=1)
    wait_run(fast, stream_id, run(fast, stream_id)["executionId"])
    until(lambda: len(ended(history(fast, stream_id))) == 2, 20, "the one retry")
    time.sleep(4)  # a second retry would come two seconds after the first
    runs = history(fast, stream_id)
    assert [(r["runType"], r["retryCount"], r["currentState"]) for r in runs] == [
        ("AUTOMATED", 1, "ERROR"),
        ("MANUAL", 0, "ERROR"),
    ]
    assert all(r["errors"] and "no-such-bucket-ever" in r["errors"][0]["message"] for r in runs), runs


def test_a_run_whose_server_died_ends_in_error_and_the_stream_runs_again(
    tmp_path: Path, s3_url: str, s3: Any, bucket: str
) -> None:
    proxy = TcpProxy(int(s3_url.rsplit(":", 1)[1])).start()
    proxy.hold_prefix = f"POST /{bucket}/crash/".encode()  # the export's upload stalls here
    server = Server(data_dir=tmp_path / "data", env={**FAST_CLOCK, "DOMOLITE_SCHEDULER_LEASE_S": "2"}).start()
    try:
        with server.client() as api:
            input_id = make_dataset(api, SALES, "crash mid-run", csv="West,1\n")["id"]
            account = make_account(api, proxy.url, bucket, server.client_id, server.client_secret)
            stream_id, _ = make_connector(api, account, input_id, path="crash")
            execution_id = run(api, stream_id)["executionId"]
            until(lambda: proxy.forwarded > 0, 20, "the export reaching S3")
            time.sleep(0.5)
            assert history(api, stream_id)[0]["currentState"] == "ACTIVE"
        server.kill9()
        proxy.released.set()
        server.start()
        with server.client() as api:
            until(lambda: history(api, stream_id)[0]["currentState"] == "ERROR", 20, "the dead run's end")
            dead = api.get(f"/api/data/v1/streams/{stream_id}/executions/{execution_id}").json()
            assert "interrupted" in dead["errors"][0]["message"]
            again = wait_run(api, stream_id, run(api, stream_id)["executionId"])
            assert again["currentState"] == "SUCCESS", again
    finally:
        server.stop()
        proxy.stop()
