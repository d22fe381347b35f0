"""Accounts, the Amazon S3 Unload Writeback connector through its page's panes, run now against moto's S3
server and the run in the history with the objects in the bucket; and Export to S3 from a DataSet's page."""

from __future__ import annotations

import json
import re
import time
import uuid

import boto3
import httpx
from playwright.sync_api import Page, expect

from tests.export.conftest import KEYS
from tests.serverproc import Server
from tests.web.conftest import sales

PANES = ["Credentials", "Details", "Scheduling", "Name & Describe Your DataSet"]


def reload_until(page: Page, selector: str, wanted: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cells = page.locator(selector)
        if cells.count() and cells.first.inner_text().strip() in (wanted, "ERROR", "error"):
            break
        time.sleep(0.5)
        page.reload()
    expect(page.locator(selector).first).to_have_text(wanted)


def test_writeback_connector_from_its_panes_runs_against_s3(
    admin_page: Page, dc_server: Server, dc_api: httpx.Client, s3_url: str
) -> None:
    page = admin_page
    tag = uuid.uuid4().hex[:6]
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id=KEYS["awsAccessKey"],
        aws_secret_access_key=KEYS["awsAccessSecret"],
    )
    bucket = f"unload-{tag}"
    s3.create_bucket(Bucket=bucket)
    input_id = sales(dc_api, f"Input {tag}", [("east", i) for i in range(25)])

    # Accounts: create; secrets are never shown back
    page.get_by_role("link", name="Accounts").click()
    page.get_by_label("Account name").fill(f"S3 {tag}")
    page.get_by_label("Domo Client ID").fill(dc_server.client_id)
    page.get_by_label("Domo Client Secret").fill(dc_server.client_secret)
    page.get_by_label("Access Key").fill(KEYS["awsAccessKey"])
    page.get_by_label("Secret Key").fill(KEYS["awsAccessSecret"])
    page.get_by_label("Bucket").fill(bucket)
    page.get_by_label("Region").select_option("us-east-1")
    page.get_by_label("S3-compatible endpoint URL").fill(s3_url)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_have_text(f"Account 'S3 {tag}' created.")
    page.get_by_role("link", name=f"Edit account S3 {tag}").click()
    expect(page.get_by_label("Bucket")).to_have_value(bucket)
    expect(page.get_by_label("Secret Key")).to_have_value("")
    html = page.content()
    for secret in (dc_server.client_secret, KEYS["awsAccessSecret"], KEYS["awsAccessKey"]):
        assert secret not in html

    # the connector's page: exactly the seed's panes
    page.get_by_role("link", name="Connectors").click()
    page.get_by_role("link", name="New Amazon S3 Unload Writeback connector").click()
    expect(page.locator("legend")).to_have_text(PANES)
    page.get_by_label("Account").select_option(label=f"S3 {tag}")
    page.get_by_label("Input DataSet ID").fill(input_id)
    page.get_by_label("Path").fill(f"unload/{tag}")
    page.get_by_label("Select the Data Type for Date Column(s) to be parsed").select_option("DATETIME")
    page.get_by_label("Update", exact=True).select_option("DAY")
    page.get_by_label("At (time of day").fill("02:00")
    page.get_by_label("Retries when a run fails").fill("2")
    page.get_by_label("DataSet name").fill(f"Unload metrics {tag}")
    page.get_by_role("button", name="Save connector").click()
    expect(page.get_by_role("status")).to_have_text("Connector created.")
    expect(page.locator(".facts")).to_contain_text("DAY every 1, 2 retries")

    # run now, then the run in the history and the objects in the bucket
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("started.")
    reload_until(page, ".run-state", "SUCCESS")
    runs = page.get_by_role("table", name="Run history").locator("tbody tr")
    expect(runs).to_have_count(1)
    expect(runs.first).to_contain_text("MANUAL")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"unload/{tag}").get("Contents", [])]
    data = [k for k in keys if k.endswith(".csv")]
    assert data, keys
    body = s3.get_object(Bucket=bucket, Key=data[0])["Body"].read().decode()
    assert body.count("\n") >= 25 and "east" in body

    # edit it through the same panes: what it has now is shown (never a secret), and the change is the API's
    stream_id = int(re.search(r"/connectors/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    page.get_by_role("link", name="Edit connector").click()
    expect(page.locator("legend")).to_have_text(PANES)
    expect(page.get_by_label("Account").locator("option:checked")).to_have_text(f"S3 {tag}")
    expect(page.get_by_label("Input DataSet ID")).to_have_value(input_id)
    expect(page.get_by_label("Path")).to_have_value(f"unload/{tag}")
    expect(page.get_by_label("Select the Data Type for Date Column(s) to be parsed")).to_have_value("DATETIME")
    expect(page.get_by_label("Update", exact=True)).to_have_value("DAY")
    expect(page.get_by_label("At (time of day")).to_have_value("02:00")
    expect(page.get_by_label("Retries when a run fails")).to_have_value("2")
    expect(page.get_by_label("DataSet name")).to_have_value(f"Unload metrics {tag}")
    for secret_field in ("Domo Client Secret", "Access Key", "Secret Key"):
        expect(page.get_by_label(secret_field)).to_have_value("")
    html = page.content()
    for secret in (dc_server.client_secret, KEYS["awsAccessSecret"], KEYS["awsAccessKey"]):
        assert secret not in html
    page.get_by_label("Path").fill(f"unload/{tag}/v2")
    page.get_by_label("Update", exact=True).select_option("HOUR")
    page.get_by_label("Every N").fill("6")
    page.get_by_label("Retries when a run fails").fill("1")
    page.get_by_label("DataSet name").fill(f"Unload metrics {tag} v2")
    page.get_by_label("Description").fill("edited in the Data Center")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Connector saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Unload metrics {tag} v2")
    expect(page.locator(".facts")).to_contain_text("HOUR every 6, 1 retries")
    expect(page.locator(".facts")).to_contain_text(f"unload/{tag}/v2")
    stream = dc_api.get(f"/api/data/v1/streams/{stream_id}").json()
    assert {c["name"]: c["value"] for c in stream["configuration"]}["path"] == f"unload/{tag}/v2"
    assert json.loads(stream["advancedScheduleJson"])["type"] == "HOUR"
    assert stream["scheduleRetryCount"] == 1
    assert dc_api.get(f"/v1/datasets/{stream['dataSource']['id']}").json()["description"] == "edited in the Data Center"
    # the edited connector runs with its new Path
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("started.")
    expect(page.get_by_role("table", name="Run history").locator("tbody tr")).to_have_count(2)
    reload_until(page, ".run-state", "SUCCESS")
    moved = s3.list_objects_v2(Bucket=bucket, Prefix=f"unload/{tag}/v2/").get("Contents", [])
    assert [o["Key"] for o in moved if o["Key"].endswith(".csv")], moved

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connectors").click()
    expect(page.get_by_role("table", name="Connectors")).to_contain_text(f"Unload metrics {tag} v2")

    # Export to S3 from the DataSet's page: status and objects
    page.goto(f"/datasources/{input_id}/details/export")
    page.get_by_label("AWS access key").fill(KEYS["awsAccessKey"])
    page.get_by_label("AWS access secret").fill(KEYS["awsAccessSecret"])
    page.get_by_label("Bucket").fill(bucket)
    page.get_by_label("Region").fill("us-east-1")
    page.get_by_label("Path").fill(f"exports/{tag}")
    page.get_by_label("S3-compatible endpoint URL").fill(s3_url)
    page.get_by_role("button", name="Start the export").click()
    expect(page.get_by_role("status")).to_contain_text("started.")
    reload_until(page, ".export-status", "success")
    exported = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"exports/{tag}").get("Contents", [])]
    assert exported
    table = page.get_by_role("table", name="Exports")
    for key in exported:
        if key.endswith(".csv"):
            expect(table).to_contain_text(f"s3://{bucket}/{key}")
