"""One delete per noun: deleting a DataSet from either API removes everything attached to it in one catalog
transaction and its files from the lake; deleting a stream removes its executions; ids are never given again;
a part that arrives once its execution is committing or ended is a 409; and the Parquet files of loads that
failed or were interrupted do not stay in the lake."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import Snapshot, assert_exact_error, catalog_rows, execution_key, make_dataset, stream_of
from tests.serverproc import Server

COLUMNS = [("n", "LONG"), ("s", "STRING")]


@pytest.fixture(scope="module")
def inst(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}, timeout=120) as c:
        yield c


def table_files(server: Server, dataset_id: str) -> list[Path]:
    folder = server.data_dir / "lake" / "data" / "main" / ("ds_" + dataset_id.replace("-", ""))
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


def count(server: Server, table: str, where: str, **params: Any) -> int:
    return int(catalog_rows(server.catalog_url, f"SELECT count(*) FROM {table} WHERE {where}", **params)[0][0])


def furnished(server: Server, api: httpx.Client, inst: httpx.Client, name: str) -> dict[str, Any]:
    """A DataSet with rows in several versions, a partition, an open upload, a policy, a share, an index
    request and a stream execution: everything a delete has to take with it."""
    ds = make_dataset(api, COLUMNS, name)
    did = ds["id"]
    for i in range(3):
        assert api.put(f"/v1/datasets/{did}/data", content=b"%d,x\n" % i * 50_000).status_code == 204
    base = f"/api/data/v3/datasources/{did}/uploads"
    tagged = inst.post(base, params={"dataTag": "2024-01-01"}, json={"action": "APPEND"}).json()["uploadId"]
    assert inst.put(f"{base}/{tagged}/parts/1", content=b"7,tagged\n").status_code == 200
    assert inst.put(f"{base}/{tagged}/commit", json={}).status_code == 200
    open_upload = inst.post(base, json={"action": "APPEND"}).json()["uploadId"]
    assert inst.put(f"{base}/{open_upload}/parts/1", content=b"8,staged\n").status_code == 200
    policy = {"name": "p", "type": "user", "filters": [{"column": "s", "values": ["x"]}], "users": [1]}
    assert api.post(f"/v1/datasets/{did}/policies", json=policy).status_code == 201
    email = name.replace(" ", "-") + "@example.com"
    user = api.post("/v1/users", json={"name": f"reader {name}", "email": email}).json()
    share = {"permissions": [{"type": "USER", "id": user["id"], "accessLevel": "READ"}]}
    assert inst.post(f"/api/data/v3/datasources/{did}/share", json=share).status_code == 200
    assert inst.post(f"/api/data/v3/datasources/{did}/indexes", json={}).status_code == 200
    sid = stream_of(api, did)
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=b"9,active\n").status_code == 200
    key = execution_key(server.catalog_url, sid, eid)
    return {"id": did, "stream": sid, "execution": key, "upload": open_upload}


def assert_gone(server: Server, found: dict[str, Any]) -> None:
    did, sid = found["id"], found["stream"]
    for table in ("datasets",):
        assert count(server, table, "id = :d", d=did) == 0
    for table in ("uploads", "partitions", "index_requests", "pdp_policies", "dataset_permissions", "streams"):
        assert count(server, table, "dataset_id = :d", d=did) == 0, table
    for table in ("executions", "stream_connectors", "stream_schedules"):
        assert count(server, table, "stream_id = :s", s=sid) == 0, table
    assert count(server, "parts", "execution_id IN (:e, :u)", e=found["execution"], u=found["upload"]) == 0
    assert table_files(server, did) == []
    staged = server.data_dir / "staging"
    assert not (staged / f"execution-{found['execution']}").exists()
    assert not (staged / f"execution-{found['upload']}").exists()


@pytest.mark.parametrize("api_form", ["public", "instance"])
def test_deleting_a_dataset_from_either_api_takes_everything_with_it(
    server: Server, api: httpx.Client, inst: httpx.Client, api_form: str
) -> None:
    found = furnished(server, api, inst, f"deleted {api_form}")
    other = make_dataset(api, COLUMNS, f"stays {api_form}")
    assert api.put(f"/v1/datasets/{other['id']}/data", content=b"1,a\n").status_code == 204
    other_before = Snapshot(api, other["id"])
    other_files = table_files(server, other["id"])
    assert len(table_files(server, found["id"])) >= 3
    if api_form == "public":
        assert api.delete(f"/v1/datasets/{found['id']}").status_code == 204
    else:
        r = inst.delete(f"/api/data/v3/datasources/{found['id']}")
        assert r.status_code == 200 and r.json() == {"dataSourceId": found["id"], "deleted": True}
    assert_gone(server, found)
    assert_exact_error(api.get(f"/v1/datasets/{found['id']}"), 404, f"DataSet {found['id']} not found")
    other_before.assert_unchanged()
    assert table_files(server, other["id"]) == other_files


def test_ids_are_never_given_again_after_a_delete(server: Server, api: httpx.Client, inst: httpx.Client) -> None:
    first = make_dataset(api, COLUMNS, "ids first")
    base = f"/api/data/v3/datasources/{first['id']}/uploads"
    upload = inst.post(base, json={"action": "APPEND"}).json()["uploadId"]
    assert api.delete(f"/v1/datasets/{first['id']}").status_code == 204
    second = make_dataset(api, COLUMNS, "ids second")
    again = inst.post(f"/api/data/v3/datasources/{second['id']}/uploads", json={"action": "APPEND"})
    assert again.status_code == 200, again.text
    assert again.json()["uploadId"] > upload
    stream = api.post(
        "/v1/streams", json={"dataSet": {"name": "s", "schema": {"columns": [{"type": "LONG", "name": "n"}]}}}
    )
    sid = stream.json()["id"]
    assert api.delete(f"/v1/streams/{sid}").status_code == 204
    newer = api.post(
        "/v1/streams", json={"dataSet": {"name": "t", "schema": {"columns": [{"type": "LONG", "name": "n"}]}}}
    )
    assert newer.json()["id"] > sid


def test_deleting_a_stream_removes_its_executions(server: Server, api: httpx.Client) -> None:
    schema = {"columns": [{"type": "LONG", "name": "n"}]}
    stream = api.post("/v1/streams", json={"dataSet": {"name": "s", "schema": schema}, "updateMethod": "APPEND"}).json()
    sid = stream["id"]
    done = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    assert api.put(f"/v1/streams/{sid}/executions/{done}/part/1", content=b"1\n").status_code == 200
    assert api.put(f"/v1/streams/{sid}/executions/{done}/commit").status_code == 200
    active = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    assert api.put(f"/v1/streams/{sid}/executions/{active}/part/1", content=b"2\n").status_code == 200
    done_key, active_key = (execution_key(server.catalog_url, sid, n) for n in (done, active))
    assert (server.data_dir / "staging" / f"execution-{active_key}").exists()
    assert api.delete(f"/v1/streams/{sid}").status_code == 204
    assert count(server, "executions", "stream_id = :s", s=sid) == 0
    assert count(server, "parts", "execution_id IN (:a, :b)", a=done_key, b=active_key) == 0
    assert not (server.data_dir / "staging" / f"execution-{active_key}").exists()
    assert_exact_error(api.get(f"/v1/streams/{sid}/executions"), 404, f"Stream {sid} not found")
    # The DataSet stays, with its rows.
    assert api.get(f"/v1/datasets/{stream['dataSet']['id']}").json()["rows"] == 1
    newer = api.post("/v1/streams", json={"dataSet": {"name": "n", "schema": schema}}).json()
    assert api.get(f"/v1/streams/{newer['id']}/executions").json() == []


def test_a_part_that_arrives_once_its_execution_committed_is_a_409_and_is_not_kept(
    server: Server, api: httpx.Client
) -> None:
    ds = make_dataset(api, COLUMNS, "race")
    assert api.put(f"/v1/datasets/{ds['id']}/data", content=b"0,before\n").status_code == 204
    sid = stream_of(api, ds["id"])
    eid = api.post(f"/v1/streams/{sid}/executions", json={"updateMethod": "APPEND"}).json()["id"]
    assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=b"1,one\n").status_code == 200
    folder = server.data_dir / "staging" / f"execution-{execution_key(server.catalog_url, sid, eid)}"
    assert folder.exists()
    sending = threading.Event()
    committed = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b"2,two\n"
        sending.set()
        committed.wait(30)
        yield b"3,three\n"

    result: dict[str, httpx.Response] = {}

    def send() -> None:
        with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}) as c:
            result["r"] = c.put(f"/v1/streams/{sid}/executions/{eid}/part/2", content=slow_body())

    sender = threading.Thread(target=send)
    sender.start()
    assert sending.wait(30)
    time.sleep(0.3)  # the part's first bytes are at the server
    done = api.put(f"/v1/streams/{sid}/executions/{eid}/commit")
    assert done.status_code == 200 and done.json()["currentState"] == "SUCCESS" and done.json()["rows"] == 1
    committed.set()
    sender.join(60)
    assert_exact_error(result["r"], 409, f"Execution {eid} of stream {sid} is SUCCESS, not ACTIVE")
    rows = api.post(f"/v1/datasets/query/execute/{ds['id']}", json={"sql": "SELECT s FROM table ORDER BY n"})
    assert rows.json()["rows"] == [["before"], ["one"]]
    assert not folder.exists()
    assert list((server.data_dir / "staging" / "incoming").glob("*")) == []


def test_a_failed_load_leaves_no_parquet_file(server: Server, api: httpx.Client) -> None:
    ds = make_dataset(api, COLUMNS, "failing")
    assert api.put(f"/v1/datasets/{ds['id']}/data", content=b"1,a\n").status_code == 204
    before = Snapshot(api, ds["id"])
    files = table_files(server, ds["id"])
    # Good rows past DuckDB's first row group, then a bad value: the load writes Parquet before it fails.
    body = b"".join(b"%d,x\n" % i for i in range(3_000_000)) + b"oops,y\n"
    r = api.put(f"/v1/datasets/{ds['id']}/data", content=body)
    assert r.status_code == 400 and "line 3000001, column 'n'" in r.json()["message"], r.text
    before.assert_unchanged()
    assert table_files(server, ds["id"]) == files


def test_parquet_files_of_interrupted_loads_are_removed_at_start(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data").start()
    try:
        with srv.client() as api:
            ds = make_dataset(api, COLUMNS, "orphans")
            assert api.put(f"/v1/datasets/{ds['id']}/data", content=b"1,a\n2,b\n").status_code == 204
            kept = table_files(srv, ds["id"])
            assert len(kept) == 1
            before = Snapshot(api, ds["id"])
        srv.stop()
        # What a load killed before its commit leaves: Parquet files DuckLake never listed.
        for i in range(7):
            shutil.copy(kept[0], kept[0].with_name(f"ducklake-interrupted-{i}.parquet"))
        srv.start()
        with srv.client() as api:
            assert table_files(srv, ds["id"]) == kept
            before.api = api
            before.assert_unchanged()
        assert "removed 7 Parquet file(s) of loads that did not finish" in srv.log_text()
    finally:
        srv.stop()
