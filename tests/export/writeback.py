"""For the connector tests: accounts and Amazon S3 Unload Writeback streams made over HTTP, and their runs."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from tests.export.conftest import KEYS

PROVIDER = "amazon-s3-unload-writeback"
AWS_SECRET = KEYS["awsAccessSecret"]


def make_account(
    http: httpx.Client, s3_url: str, bucket: str, client_id: str, client_secret: str, *, region: str = "us-east-1"
) -> int:
    created = http.post(
        "/api/data/v1/accounts",
        json={
            "displayName": f"s3 unload {uuid.uuid4().hex[:6]}",
            "dataProviderType": PROVIDER,
            "configurations": {
                "domoClientId": client_id,
                "domoClientSecret": client_secret,
                "accessKey": KEYS["awsAccessKey"],
                "secretKey": AWS_SECRET,
                "bucket": bucket,
                "region": region,
                "endpointUrl": s3_url,
            },
        },
    )
    assert created.status_code in (200, 201), created.text
    return int(created.json()["id"])


def stream_body(
    account_id: int | None,
    input_id: str,
    *,
    path: str = "",
    specific_day: int | None = None,
    date_column: str | None = None,
    date_parse: str | None = None,
    primary_key: str | None = None,
    schedule: dict[str, Any] | None = None,
    retries: int | None = None,
    method: str = "APPEND",
) -> dict[str, Any]:
    config = {"inputDataSetId": input_id, "path": path}
    if specific_day is not None:
        config["specificDay"] = str(specific_day)
    if date_column is not None:
        config["dateColumn"] = date_column
    if date_parse is not None:
        config["dateParseOption"] = date_parse
    if primary_key is not None:
        config["primaryKey"] = primary_key
    body: dict[str, Any] = {
        "transport": {"type": "CONNECTOR", "description": "com.domo.connector.s3unloadwriteback", "version": "1"},
        "configuration": [{"name": k, "value": v, "type": "string", "category": "METADATA"} for k, v in config.items()],
        "account": None if account_id is None else {"id": account_id},
        "updateMethod": method,
        "dataProvider": {"key": PROVIDER},
        "dataSource": {"name": f"unload metrics {uuid.uuid4().hex[:6]}", "description": "one row per run"},
        "advancedScheduleJson": json.dumps(schedule or {"type": "MANUAL", "timezone": "UTC"}),
    }
    if retries is not None:
        body["scheduleRetryCount"] = retries
    return body


def make_connector(http: httpx.Client, account_id: int, input_id: str, **kw: Any) -> tuple[int, str]:
    """A writeback stream; returns the stream id and the writeback DataSet id."""
    created = http.post("/api/data/v1/streams", json=stream_body(account_id, input_id, **kw))
    assert created.status_code == 200, created.text
    return int(created.json()["id"]), str(created.json()["dataSource"]["id"])


def run(http: httpx.Client, stream_id: int) -> dict[str, Any]:
    started = http.post(f"/api/data/v1/streams/{stream_id}/executions", json={"action": "MANUAL"})
    assert started.status_code == 200, started.text
    execution: dict[str, Any] = started.json()
    return execution


def wait_run(http: httpx.Client, stream_id: int, execution_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = http.get(f"/api/data/v1/streams/{stream_id}/executions/{execution_id}")
        assert r.status_code == 200, r.text
        execution: dict[str, Any] = r.json()
        if execution["currentState"] in ("SUCCESS", "ERROR", "ABORTED"):
            return execution
        time.sleep(0.1)
    raise AssertionError(f"execution {execution_id} of stream {stream_id} did not end in {timeout} s")


def history(http: httpx.Client, stream_id: int) -> list[dict[str, Any]]:
    r = http.get(f"/api/data/v1/streams/{stream_id}/history/aggregate")
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


def metrics(http: httpx.Client, dataset_id: str) -> list[dict[str, Any]]:
    """The writeback DataSet's rows, as dicts, oldest run first."""
    r = http.post(f"/v1/datasets/query/execute/{dataset_id}", json={"sql": "SELECT * FROM table ORDER BY started"})
    assert r.status_code == 200, r.text
    names = r.json()["columns"]
    return [dict(zip(names, row, strict=True)) for row in r.json()["rows"]]
