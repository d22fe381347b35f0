"""Credentials against an S3 server that checks them (moto with IAM authentication on): bad keys are refused
clearly, temporary credentials with a session token work, and no secret is ever echoed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from tests.export.conftest import body, read_object
from tests.helpers import make_dataset, wait_export
from tests.serverproc import free_port

ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)


@pytest.fixture(scope="module")
def strict_s3() -> Iterator[dict[str, Any]]:
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "5"}  # the set-up below runs before checks begin
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        anon = {
            "endpoint_url": url,
            "region_name": "us-east-1",
            "aws_access_key_id": "x",
            "aws_secret_access_key": "y",
        }
        iam = boto3.client("iam", **anon)
        iam.create_user(UserName="exporter")
        iam.put_user_policy(UserName="exporter", PolicyName="all", PolicyDocument=ALLOW_ALL)
        iam.create_role(RoleName="export-role", AssumeRolePolicyDocument=TRUST)
        iam.put_role_policy(RoleName="export-role", PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = iam.create_access_key(UserName="exporter")["AccessKey"]
        good = {
            **anon,
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
        boto3.client("s3", **good).create_bucket(Bucket="strict-bucket")
        yield {"url": url, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"], "boto": good}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wrong_secret_is_refused_without_echoing_it(api: httpx.Client, strict_s3: dict[str, Any]) -> None:
    ds = make_dataset(api, [("n", "LONG")], "strict creds", csv="1\n")["id"]
    payload = body("strict-bucket", strict_s3["url"], awsAccessKey=strict_s3["key"], awsAccessSecret="wrong-secret-123")
    r = api.post(f"/api/query/v1/export/{ds}", json=payload)
    assert r.status_code == 400
    message = r.json()["message"]
    assert "S3 rejected the credentials (SignatureDoesNotMatch)" in message
    assert "wrong-secret-123" not in r.text and strict_s3["key"] not in r.text
    unknown = body("strict-bucket", strict_s3["url"], awsAccessKey="AKIANOBODY0000000000", awsAccessSecret="nope")
    r = api.post(f"/api/query/v1/export/{ds}", json=unknown)
    assert r.status_code == 400 and "InvalidAccessKeyId" in r.json()["message"]


def test_temporary_credentials_with_a_session_token(api: httpx.Client, strict_s3: dict[str, Any]) -> None:
    sts = boto3.client("sts", **strict_s3["boto"])
    temp = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/export-role", RoleSessionName="export-test")[
        "Credentials"
    ]
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")], "temp creds", csv="1,a\n2,b\n")["id"]
    payload = body(
        "strict-bucket",
        strict_s3["url"],
        awsAccessKey=temp["AccessKeyId"],
        awsAccessSecret=temp["SecretAccessKey"],
        sessionToken=temp["SessionToken"],
    )
    without_token = {k: v for k, v in payload.items() if k != "sessionToken"}
    assert api.post(f"/api/query/v1/export/{ds}", json=without_token).status_code == 400
    r = api.post(f"/api/query/v1/export/{ds}", json=payload)
    assert r.status_code == 200, r.text
    job = wait_export(api, ds, r.json()["exportId"])
    assert job["exportStatus"] == "success", job
    ((url, count),) = job["urlRowCountMap"].items()
    reader = boto3.client("s3", **strict_s3["boto"])
    assert count == 2 and read_object(reader, url) == b"n,s\n1,a\n2,b\n"
    listed = api.get(f"/api/query/v1/export/{ds}").text
    assert temp["SessionToken"] not in listed and temp["SecretAccessKey"] not in listed
