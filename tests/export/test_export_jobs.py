"""Export jobs when things go wrong: one active export per DataSet, S3 vanishing mid-export, a server restart.
S3 is reached through a TCP proxy that the tests can hold or cut, while the S3 server keeps its state."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.export.conftest import KEYS, body, keys_under
from tests.export.tcpproxy import TcpProxy
from tests.helpers import assert_domo_error, catalog_rows, make_dataset, until, wait_export
from tests.serverproc import Server


@pytest.fixture
def proxy(s3_url: str) -> Iterator[TcpProxy]:
    upstream = int(s3_url.rsplit(":", 1)[1])
    p = TcpProxy(upstream).start()
    yield p
    p.released.set()
    p.stop()


def test_one_active_export_per_dataset(api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str) -> None:
    ds = make_dataset(api, [("n", "LONG")], "one active", csv="1\n2\n3\n")["id"]
    proxy.hold_prefix = b"POST "  # the job's CreateMultipartUpload waits; the bucket check (HEAD) goes through
    first = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url))
    assert first.status_code == 200
    running = wait_export(api, ds, first.json()["exportId"], "exporting")
    second = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url, compression="gzip", path="elsewhere"))
    assert second.status_code == 200
    assert second.json()["exportId"] == running["exportId"] and second.json()["exportStatus"] == "exporting"
    assert second.json()["compression"] == "none"  # the running export, not the new request
    assert "already running" in second.json()["message"] and running["exportId"] in second.json()["message"]
    assert running["message"] is None  # said to the second request only
    listed = api.get(f"/api/query/v1/export/{ds}").json()
    assert [j["exportStatus"] for j in listed] == ["exporting"]
    proxy.released.set()
    done = wait_export(api, ds, running["exportId"])
    assert done["exportStatus"] == "success" and list(done["urlRowCountMap"].values()) == [3]
    assert keys_under(s3, bucket) == [
        f"{ds}/{done['exportId']}/export/data.csv",
        f"{ds}/{done['exportId']}/export/manifest.json",
    ]
    third = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url, compression="gzip"))
    assert third.json()["exportId"] != running["exportId"]
    assert wait_export(api, ds, third.json()["exportId"])["exportStatus"] == "success"


def test_s3_gone_mid_export_leaves_nothing_behind(api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str) -> None:
    lines = "".join(f"{i},row number {i} with some padding text to make it longer\n" for i in range(60_000))
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")], "vanishing s3", csv=lines)["id"]
    proxy.cut_after_bytes = 1_500_000  # S3 stops answering after about three objects' worth of bytes
    r = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url, maxFileSize=500_000))
    assert r.status_code == 200
    export_id = r.json()["exportId"]
    deadline = time.monotonic() + 30
    while proxy.running.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not proxy.running.is_set(), "the export finished before S3 was cut"
    assert proxy.forwarded >= 1_500_000
    time.sleep(1.5)
    assert api.get(f"/api/query/v1/export/{ds}/{export_id}").json()["exportStatus"] == "exporting"  # still cleaning up
    proxy.start()  # S3 comes back: the job's clean-up (abort, delete) gets through
    job = wait_export(api, ds, export_id)
    assert job["exportStatus"] == "error" and job["errorCode"] == "S3_UNREACHABLE"
    assert "could not be reached" in job["message"] and "could not be" not in job["message"].split(";", 1)[1]
    cleaned = re.search(
        r"cleaned up: (\d+) open upload\(s\) aborted, (\d+) finished object\(s\) deleted", job["message"]
    )
    assert cleaned is not None and int(cleaned[1]) >= 1 and int(cleaned[2]) >= 1, job["message"]
    assert KEYS["awsAccessSecret"] not in job["message"] and KEYS["awsAccessKey"] not in job["message"]
    assert job["urlRowCountMap"] == {} and job["finished"]
    # nothing that looks complete, and no multipart upload left open
    assert keys_under(s3, bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_restart_marks_running_exports_interrupted(tmp_path: Path, s3: Any, proxy: TcpProxy, bucket: str) -> None:
    own = Server(data_dir=tmp_path / "data").start()
    try:
        with own.client() as api:
            ds = make_dataset(api, [("n", "LONG")], "restart", csv="1\n")["id"]
            proxy.hold_prefix = b"POST "
            started = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url)).json()
            wait_export(api, ds, started["exportId"], "exporting")
        own.kill9()
        proxy.released.set()
        own.start()
        with own.client() as api:
            job = api.get(f"/api/query/v1/export/{ds}/{started['exportId']}").json()
            assert job["exportStatus"] == "error" and job["errorCode"] == "INTERRUPTED"
            assert job["message"] == "interrupted: the server process running it stopped"
            again = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url))
            assert again.json()["exportId"] != started["exportId"]  # the DataSet is free again
            assert wait_export(api, ds, again.json()["exportId"])["exportStatus"] == "success"
    finally:
        own.stop()


def test_deleting_the_dataset_ends_its_running_export_with_nothing_written(
    server: Server, api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str
) -> None:
    lines = "".join(f"{i},row {i}\n" for i in range(20_000))
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")], "deleted while exporting", csv=lines)["id"]
    proxy.hold_prefix = b"POST "  # the job's CreateMultipartUpload waits; the bucket check (HEAD) goes through
    started = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url))
    assert started.status_code == 200, started.text
    export_id = started.json()["exportId"]
    wait_export(api, ds, export_id, "exporting")
    assert api.delete(f"/v1/datasets/{ds}").status_code == 204
    sql = "SELECT state, error_code, message, manifest_url FROM exports WHERE id = :x"
    assert catalog_rows(server.catalog_url, sql, x=export_id) == [
        ("error", "DATASET_DELETED", "the DataSet was deleted", None)
    ]
    proxy.released.set()  # the job goes on, sees it was ended, and takes back what it began
    until(
        lambda: s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == [] and proxy.forwarded > 0,
        30,
        "the job's open upload being aborted",
    )
    time.sleep(1.0)  # a job that wrongly went on would have written its manifest by now
    assert keys_under(s3, bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert catalog_rows(server.catalog_url, sql, x=export_id) == [
        ("error", "DATASET_DELETED", "the DataSet was deleted", None)
    ]
    assert_domo_error(api.get(f"/api/query/v1/export/{ds}/{export_id}"), 404, f"DataSet {ds} not found")
