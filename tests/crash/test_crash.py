"""A server killed with SIGKILL during a large commit restarts with the DataSet wholly old or wholly new."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import catalog_rows, execution_key, make_dataset, stream_of, until
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
        key = execution_key(crash_server.catalog_url, sid, eid)
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
    staging = crash_server.data_dir / "staging" / f"execution-{key}"
    assert not staging.exists(), "the parts of a settled execution are deleted"


def _ignore_errors(call: object) -> None:
    try:
        call()  # type: ignore[operator]
    except httpx.HTTPError:
        pass


def _tagged_dataset(inst: httpx.Client, name: str, tag: str, parts: list[bytes]) -> tuple[str, int]:
    """A DataSet of one LONG column made with the instance API, and an upload to partition `tag` with its parts
    sent (not committed): (DataSet id, upload id)."""
    ds = inst.post(
        "/api/data/v2/datasources",
        json={"dataSourceName": name, "schema": {"columns": [{"type": "LONG", "name": "n"}]}},
    ).json()["dataSource"]["dataSourceId"]
    upload_id = int(
        inst.post(f"/api/data/v3/datasources/{ds}/uploads", params={"dataTag": tag}, json={}).json()["uploadId"]
    )
    for n, part in enumerate(parts, start=1):
        r = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/parts/{n}", content=part)
        assert r.status_code == 200, r.text
    return str(ds), upload_id


def _commit_tagged(inst: httpx.Client, ds: str, upload_id: int, tag: str) -> httpx.Response:
    commit = {"action": "APPEND", "dataTag": tag, "appendId": "latest"}
    return inst.put(f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/commit", json=commit)


def _instance_client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"x-domo-developer-token": server.dev_token}, timeout=60)


def _kill_and_release(server: Server, hold: sqlite3.Connection, request: threading.Thread) -> None:
    """Kill the server while the test holds the catalog's write lock, then let go of the lock."""
    server.kill9()
    hold.execute("ROLLBACK")
    hold.close()
    request.join(timeout=10)


def _partition_list(inst: httpx.Client, ds: str) -> list[dict[str, Any]]:
    listed = inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={"limit": 10, "offset": 0})
    assert listed.status_code == 200, listed.text
    return list(listed.json())


def _in_background(call: Callable[[], object]) -> threading.Thread:
    """Run a request whose server will be killed under it."""
    thread = threading.Thread(target=lambda: _ignore_errors(call), daemon=True)
    thread.start()
    return thread


def test_a_tagged_commit_that_reached_the_lake_keeps_its_partition_after_a_crash(crash_server: Server) -> None:
    """The server dies after the lake took a partition's rows and before the catalog recorded the commit (the
    test holds the catalog's write lock in between): after the restart the partition is listed with them."""
    server = crash_server
    catalog_file, lake_file = server.data_dir / "catalog.sqlite", server.data_dir / "lake" / "metadata.sqlite"
    with _instance_client(server) as inst:
        part = "".join(f"{i}\n" for i in range(ROWS_PER_PART)).encode()
        ds, upload_id = _tagged_dataset(inst, "tagged", "day-1", [part, part])
        committer = _in_background(lambda: _commit_tagged(inst, ds, upload_id, "day-1"))
        until(lambda: _execution_state(catalog_file, upload_id) == "COMMITTING", 30, "the commit", every=0.005)
        hold = sqlite3.connect(catalog_file, isolation_level=None, timeout=30)
        hold.execute("BEGIN IMMEDIATE")  # the catalog takes no write until the server is gone
        until(lambda: _lake_has_execution(lake_file, upload_id), 30, "the lake to take the rows")
        state = hold.execute("SELECT state FROM executions WHERE id = ?", (upload_id,)).fetchone()
        assert state == ("COMMITTING",)  # the catalog has not recorded the commit
        _kill_and_release(server, hold, committer)

    server.start()
    with _instance_client(server) as inst:
        listed = _partition_list(inst, ds)
        assert [(p["partitionId"], p["rowCount"]) for p in listed] == [("day-1", 2 * ROWS_PER_PART)]
        [(number,)] = catalog_rows(server.catalog_url, "SELECT number FROM executions WHERE id = :i", i=upload_id)
        execution = inst.get(f"/v1/streams/{stream_of(inst, ds)}/executions/{number}").json()
        assert execution["currentState"] == "SUCCESS"
        assert inst.get(f"/v1/datasets/{ds}").json()["rows"] == 2 * ROWS_PER_PART


def _execution_state(catalog_file: Path, execution_id: int) -> str | None:
    with closing(sqlite3.connect(catalog_file, timeout=30)) as conn:
        row = conn.execute("SELECT state FROM executions WHERE id = ?", (execution_id,)).fetchone()
    return None if row is None else str(row[0])


def _lake_has_execution(lake_file: Path, execution_id: int) -> bool:
    return _lake_has(lake_file, "execution", execution_id)


def _lake_has(lake_file: Path, key: str, value: object) -> bool:
    """Whether a snapshot in the lake's SQLite metadata carries commit info {key: value}."""
    with closing(sqlite3.connect(lake_file, timeout=30)) as conn:
        infos = conn.execute("SELECT commit_extra_info FROM ducklake_snapshot_changes").fetchall()
    return any(info and json.loads(info).get(key) == value for (info,) in infos)


def test_a_partition_deletion_that_reached_the_lake_is_marked_after_a_crash(crash_server: Server) -> None:
    """The server dies after the lake dropped a partition's rows and before the catalog marked the partition
    deleted (the test holds the catalog's write lock in between): after the restart it is marked."""
    server = crash_server
    catalog_file, lake_file = server.data_dir / "catalog.sqlite", server.data_dir / "lake" / "metadata.sqlite"
    with _instance_client(server) as inst:
        ds, upload_id = _tagged_dataset(inst, "tag to delete", "day-1", [b"1\n2\n3\n"])
        assert _commit_tagged(inst, ds, upload_id, "day-1").status_code == 200
        listed = _partition_list(inst, ds)
        assert [(p["partitionId"], p["rowCount"]) for p in listed] == [("day-1", 3)]
        filled_version = listed[0]["dataId"]

        hold = sqlite3.connect(catalog_file, isolation_level=None, timeout=30)
        hold.execute("BEGIN IMMEDIATE")  # the catalog takes no write until the server is gone
        deleter = _in_background(lambda: inst.delete(f"/api/query/v1/datasources/{ds}/tag/day-1/data"))
        until(lambda: _lake_has(lake_file, "deletePartition", "day-1"), 30, "the lake to drop the rows")
        (deleted,) = hold.execute("SELECT deleted FROM partitions WHERE tag = 'day-1'").fetchone()
        assert not deleted  # the catalog has not recorded the deletion
        _kill_and_release(server, hold, deleter)

    server.start()
    with _instance_client(server) as inst:
        assert _partition_list(inst, ds) == []  # deleted partitions are left out of the list
        (shown,) = inst.get(f"/api/query/v1/datasources/{ds}/partition").json()
        assert shown["partitionId"] == "day-1"
        assert shown["dataId"] > filled_version  # the deletion's data version
        assert inst.get(f"/v1/datasets/{ds}").json()["rows"] == 0
