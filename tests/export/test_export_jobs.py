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

from tests.e2e.people import make_person, share
from tests.export.conftest import KEYS, body, keys_under, parse_csv, read_object
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


def test_a_reader_meeting_another_users_running_export_is_told_to_wait_not_shown_it(
    server: Server, api: httpx.Client, proxy: TcpProxy, bucket: str
) -> None:
    # A reader sees their own exports only; the running one of the owner is not theirs to be handed.
    owner = make_person(server, api, "Privileged", "runningowner")
    reader = make_person(server, api, "Participant", "waitingreader")
    ds = make_dataset(owner.http, [("n", "LONG")], "someone's running", csv="1\n2\n")["id"]
    assert share(owner.http, ds, "USER", reader.id, "READ").status_code == 200
    proxy.hold_prefix = b"POST "
    first = owner.http.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url)).json()
    wait_export(owner.http, ds, first["exportId"], "exporting")
    refused = reader.http.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url))
    assert refused.status_code == 409 and "another user's export" in refused.json()["message"]
    assert first["exportId"] not in refused.text
    again = owner.http.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url, path="elsewhere"))
    assert again.status_code == 200 and again.json()["exportId"] == first["exportId"]  # the owner's own: shown
    proxy.released.set()
    assert wait_export(owner.http, ds, first["exportId"])["exportStatus"] == "success"


def _request_to(bucket: str, target: str) -> re.Pattern[bytes]:
    """The start of a POST to an export's object: `target` is its name and query, e.g. `data.csv?uploads`."""
    return re.compile(rb"POST /" + re.escape(bucket.encode()) + rb"/[^ ]*/export/" + re.escape(target.encode()))


def _padded_rows(rows: int) -> list[list[str]]:
    return [[str(i), f"row number {i} with some padding"] for i in range(rows)]


def _rows_of(s3: Any, job: dict[str, Any]) -> list[list[str]]:
    """The rows of an export's objects, in order; each object has the header and the rows it is said to hold."""
    got: list[list[str]] = []
    for url, count in job["urlRowCountMap"].items():
        header, rows = parse_csv(read_object(s3, url))
        assert header == ["n", "s"] and len(rows) == count
        got += rows
    return got


def _export_in_objects(api: httpx.Client, bucket: str, proxy: TcpProxy, rows: int) -> tuple[str, str]:
    """A DataSet of `rows` rows (~33 bytes each; see `_padded_rows`), and its export through the proxy started, in
    objects of 250,000 bytes: the DataSet's id and the export's."""
    lines = "".join(",".join(row) + "\n" for row in _padded_rows(rows))
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")], "several objects", csv=lines)["id"]
    r = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url, maxFileSize=250_000))
    assert r.status_code == 200, r.text
    return ds, r.json()["exportId"]


def _cleaned_up_once_s3_is_back(
    api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str, ds: str, export_id: str
) -> tuple[dict[str, Any], int, int]:
    """S3 comes back after the proxy cut it: the export ends in error S3_UNREACHABLE, naming the proxy's address
    (S3 could not be reached there, or its answer was cut short), with no object and no open upload left. The
    job, and the uploads aborted and objects deleted its message reports."""
    proxy.start()
    job = wait_export(api, ds, export_id)
    assert job["exportStatus"] == "error" and job["errorCode"] == "S3_UNREACHABLE", job["message"]
    assert proxy.url in job["message"]
    cleaned = re.search(
        r"cleaned up: (\d+) open upload\(s\) aborted, (\d+) finished object\(s\) deleted", job["message"]
    )
    assert cleaned is not None, job["message"]
    assert keys_under(s3, bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    return job, int(cleaned[1]), int(cleaned[2])


def test_s3_gone_mid_export_leaves_nothing_behind(api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str) -> None:
    # S3 completes the second object and is gone before its answer comes back: by then the first object is
    # complete, and the next ones are being written
    proxy.cut_after_match = _request_to(bucket, "data_1.csv?uploadId=")
    ds, export_id = _export_in_objects(api, bucket, proxy, 60_000)
    until(lambda: not proxy.running.is_set(), 30, "S3 being cut")
    time.sleep(1.5)
    assert api.get(f"/api/query/v1/export/{ds}/{export_id}").json()["exportStatus"] == "exporting"  # still cleaning up
    # the S3 server itself (not behind the proxy) holds both objects: the second one's completion did happen,
    # only its answer was lost
    prefix = f"{ds}/{export_id}/export/"
    assert keys_under(s3, bucket) == [prefix + "data.csv", prefix + "data_1.csv"]
    # the job's clean-up (abort, delete) gets through; nothing that looks complete is left (not even the object
    # whose completion went unanswered)
    job, aborted, deleted = _cleaned_up_once_s3_is_back(api, s3, proxy, bucket, ds, export_id)
    assert "could not be" not in job["message"].split(";", 1)[1]
    assert aborted >= 1 and deleted >= 1, job["message"]
    assert KEYS["awsAccessSecret"] not in job["message"] and KEYS["awsAccessKey"] not in job["message"]
    assert job["urlRowCountMap"] == {} and job["finished"]


def test_the_next_object_is_written_while_s3_completes_the_one_before(
    api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str
) -> None:
    # S3 takes its time completing the first object: its CompleteMultipartUpload waits
    proxy.hold_match = _request_to(bucket, "data.csv?uploadId=")
    ds, export_id = _export_in_objects(api, bucket, proxy, 30_000)
    prefix = f"{ds}/{export_id}/export/"

    def parts_of(name: str) -> int:
        uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix + name).get("Uploads", [])
        return sum(
            len(s3.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts", [])) for u in uploads
        )

    # meanwhile the export goes on: the next objects' rows are sent
    until(lambda: parts_of("data_1.csv") >= 1 and parts_of("data_2.csv") >= 1, 30, "the next objects' parts")
    assert parts_of("data.csv") == 1 and keys_under(s3, bucket) == []  # the first one is not complete yet
    running = api.get(f"/api/query/v1/export/{ds}/{export_id}").json()
    assert running["exportStatus"] == "exporting" and running["urlRowCountMap"] == {}
    proxy.released.set()
    job = wait_export(api, ds, export_id)
    assert job["exportStatus"] == "success", job["message"]
    names = [url.rsplit("/", 1)[1] for url in job["urlRowCountMap"]]
    assert names[:3] == ["data.csv", "data_1.csv", "data_2.csv"] and len(names) >= 4
    assert _rows_of(s3, job) == _padded_rows(30_000)


def test_an_upload_s3_started_without_answering_is_aborted(
    api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str
) -> None:
    # S3 starts the second object's upload, and is gone before its answer comes back
    proxy.cut_after_match = _request_to(bucket, "data_1.csv?uploads")
    ds, export_id = _export_in_objects(api, bucket, proxy, 20_000)
    until(lambda: not proxy.running.is_set(), 30, "S3 being cut")
    time.sleep(1.5)
    job, aborted, _ = _cleaned_up_once_s3_is_back(api, s3, proxy, bucket, ds, export_id)
    assert aborted >= 1, job["message"]


def test_a_start_sent_again_after_its_answer_was_lost_leaves_no_upload_open(
    api: httpx.Client, s3: Any, proxy: TcpProxy, bucket: str
) -> None:
    # S3 starts the second object's upload, its answer is lost, and the client sends the start again
    proxy.drop_answer_match = _request_to(bucket, "data_1.csv?uploads")
    ds, export_id = _export_in_objects(api, bucket, proxy, 20_000)
    job = wait_export(api, ds, export_id)
    assert job["exportStatus"] == "success", job["message"]
    assert proxy.drop_answer_match is None  # the answer was dropped
    assert _rows_of(s3, job) == _padded_rows(20_000)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # the first start's upload too


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
