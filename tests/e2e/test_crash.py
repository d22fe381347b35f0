"""A server killed with SIGKILL during a large commit restarts with the DataSet wholly old or wholly new."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import make_dataset, stream_of
from tests.serverproc import Server

ROWS_PER_PART = 400_000
PARTS = 3


@pytest.fixture
def crash_server(tmp_path: Path) -> Server:
    srv = Server(data_dir=tmp_path / "data").start()
    yield srv
    srv.stop()


def part_body(n: int) -> bytes:
    base = n * ROWS_PER_PART
    return "".join(f"{base + i},row {base + i} of a large commit\n" for i in range(ROWS_PER_PART)).encode()


def count_rows(api: httpx.Client, ds: str) -> tuple[int, int]:
    meta = api.get(f"/v1/datasets/{ds}").json()["rows"]
    counted = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT COUNT(*) FROM table"}).json()
    return int(meta), int(counted["rows"][0][0])


@pytest.mark.parametrize("extra_delay", [0.0, 0.3])
def test_kill_9_mid_commit_leaves_old_or_new(crash_server: Server, extra_delay: float) -> None:
    with crash_server.client() as api:
        ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")])["id"]
        api.put(f"/v1/datasets/{ds}/data", content=b"".join(f"{-i},old\n".encode() for i in range(1, 11)))
        sid = stream_of(api, ds)
        api.patch(f"/v1/streams/{sid}", json={"updateMethod": "APPEND"})
        eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
        for n in range(PARTS):
            assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=part_body(n)).status_code == 200

        committer = threading.Thread(
            target=lambda: _ignore_errors(lambda: api.put(f"/v1/streams/{sid}/executions/{eid}/commit")),
            daemon=True,
        )
        committer.start()
        deadline = time.monotonic() + 30
        state = "ACTIVE"
        while state == "ACTIVE" and time.monotonic() < deadline:
            state = api.get(f"/v1/streams/{sid}/executions/{eid}").json()["currentState"]
        assert state in ("COMMITTING", "SUCCESS")
        time.sleep(extra_delay)
        crash_server.kill9()
        committer.join(timeout=10)

    crash_server.start()
    with crash_server.client() as api:
        meta, counted = count_rows(api, ds)
        assert meta == counted, "the catalog's row count agrees with the data"
        assert counted in (10, 10 + PARTS * ROWS_PER_PART), counted
        execution = api.get(f"/v1/streams/{sid}/executions/{eid}").json()
        assert execution["currentState"] == ("SUCCESS" if counted > 10 else "ERROR")
        old = api.post(
            f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT COUNT(*) FROM table WHERE n < 0"}
        ).json()
        assert old["rows"] == [[10]]
        # The DataSet still takes new data after the crash.
        assert (
            api.put(f"/v1/datasets/{ds}/data", params={"updateMethod": "APPEND"}, content=b"7,after\n").status_code
            == 204
        )
        assert count_rows(api, ds)[1] == counted + 1
    staging = crash_server.data_dir / "staging" / f"execution-{eid}"
    assert not staging.exists(), "the parts of a settled execution are deleted"


def _ignore_errors(call: object) -> None:
    try:
        call()  # type: ignore[operator]
    except httpx.HTTPError:
        pass
