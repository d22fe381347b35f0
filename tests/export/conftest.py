"""S3 for the export tests: moto in server mode on 127.0.0.1, and functions that drive and read exports."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

KEYS = {"awsAccessKey": "AKIAEXPORTTEST000001", "awsAccessSecret": "export-test-secret-do-not-leak"}


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3(s3_url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id=KEYS["awsAccessKey"],
        aws_secret_access_key=KEYS["awsAccessSecret"],
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"exports-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def body(bucket: str, s3_url: str, query: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An export request as Domo documents it, pointed at the test S3 server."""
    out: dict[str, Any] = {
        **KEYS,
        "bucket": bucket,
        "region": "us-east-1",
        "endpointUrl": s3_url,
        "queryRequest": {"includeBOM": False, "useCache": True, "query": query or {}},
    }
    out.update(extra)
    return out


def keys_under(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in found)


def read_object(s3: Any, url: str) -> bytes:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def parse_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return rows[0], rows[1:]
