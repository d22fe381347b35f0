"""A server killed with SIGKILL during a large commit restarts with the DataSet wholly old or wholly new."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.helpers import make_dataset, stream_of, until
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


def test_a_tagged_commit_that_reached_the_lake_keeps_its_partition_after_a_crash(tmp_path: Path) -> None:
    """The server dies after the lake took a partition's rows and before the catalog recorded the commit (the
    test holds the catalog's write lock in between): after the restart the partition is listed with them."""
    server = Server(data_dir=tmp_path / "data").start()
    headers = {"x-domo-developer-token": server.dev_token}
    catalog_file = server.data_dir / "catalog.sqlite"
    lake_file = server.data_dir / "lake" / "metadata.sqlite"
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as inst:
            ds = inst.post(
                "/api/data/v2/datasources",
                json={"dataSourceName": "tagged", "schema": {"columns": [{"type": "LONG", "name": "n"}]}},
            ).json()["dataSource"]["dataSourceId"]
            opened = inst.post(f"/api/data/v3/datasources/{ds}/uploads", params={"dataTag": "day-1"}, json={})
            upload_id = opened.json()["uploadId"]
            part = "".join(f"{i}\n" for i in range(ROWS_PER_PART)).encode()
            for n in (1, 2):
                r = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/parts/{n}", content=part)
                assert r.status_code == 200, r.text
            commit = {"action": "APPEND", "dataTag": "day-1", "appendId": "latest"}
            committer = threading.Thread(
                target=lambda: _ignore_errors(
                    lambda: inst.put(f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/commit", json=commit)
                ),
                daemon=True,
            )
            committer.start()
            until(lambda: _execution_state(catalog_file, upload_id) == "COMMITTING", 30, "the commit", every=0.005)
            hold = sqlite3.connect(catalog_file, isolation_level=None, timeout=30)
            hold.execute("BEGIN IMMEDIATE")  # the catalog takes no write until the server is gone
            until(lambda: _lake_has_execution(lake_file, upload_id), 30, "the lake to take the rows")
            state = hold.execute("SELECT state FROM executions WHERE id = ?", (upload_id,)).fetchone()
            assert state == ("COMMITTING",)  # the catalog has not recorded the commit
            server.kill9()
            hold.execute("ROLLBACK")
            hold.close()
            committer.join(timeout=10)

        server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as inst:
            listed = inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={"limit": 10, "offset": 0}).json()
            assert [(p["partitionId"], p["rowCount"]) for p in listed] == [("day-1", 2 * ROWS_PER_PART)]
            execution = inst.get(f"/v1/streams/{stream_of(inst, ds)}/executions/{upload_id}").json()
            assert execution["currentState"] == "SUCCESS"
            assert inst.get(f"/v1/datasets/{ds}").json()["rows"] == 2 * ROWS_PER_PART
    finally:
        server.stop()


def _execution_state(catalog_file: Path, execution_id: int) -> str | None:
    with closing(sqlite3.connect(catalog_file, timeout=30)) as conn:
        row = conn.execute("SELECT state FROM executions WHERE id = ?", (execution_id,)).fetchone()
    return None if row is None else str(row[0])


def _lake_has_execution(lake_file: Path, execution_id: int) -> bool:
    with closing(sqlite3.connect(lake_file, timeout=30)) as conn:
        infos = conn.execute("SELECT commit_extra_info FROM ducklake_snapshot_changes").fetchall()
    return any(info and json.loads(info).get("execution") == execution_id for (info,) in infos)
