"""The Amazon S3 Unload Writeback connector, driven through /api/data/v1 against the local S3 server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.people import make_person, share
from tests.export.conftest import keys_under, parse_csv, read_object
from tests.export.writeback import (
    AWS_SECRET,
    PROVIDER,
    history,
    make_account,
    make_connector,
    metrics,
    run,
    stream_body,
    wait_run,
)
from tests.helpers import make_dataset
from tests.serverproc import Server

SALES = [("Region", "STRING"), ("Units", "LONG")]
SALES_CSV = "West,10\nEast,20\nWest,30\n"


def admin_account(api: httpx.Client, server: Server, s3_url: str, bucket: str) -> int:
    return make_account(api, s3_url, bucket, server.client_id, server.client_secret)


def test_a_manual_run_unloads_the_dataset_and_appends_one_metrics_row(
    server: Server, api: httpx.Client, s3_url: str, s3: Any, bucket: str
) -> None:
    input_id = make_dataset(api, SALES, "sales to unload", csv=SALES_CSV)["id"]
    account = admin_account(api, server, s3_url, bucket)
    stream_id, writeback_id = make_connector(api, account, input_id, path="nightly/sales", primary_key="Units")

    stream = api.get(f"/api/data/v1/streams/{stream_id}").json()
    assert stream["dataProvider"]["key"] == PROVIDER
    assert stream["transport"]["type"] == "CONNECTOR"
    # domolibrary reads account.id, displayName and userId off a stream.
    assert stream["account"]["id"] == account
    shown = api.get(f"/api/data/v1/accounts/{account}").json()
    assert stream["account"]["userId"] == shown["userId"] == 1  # the bootstrap admin made it
    assert stream["account"]["displayName"] == shown["displayName"]
    assert stream["account"]["dataProviderType"] == PROVIDER
    columns = {c["name"]: c["type"] for c in stream["schemaDefinition"]["columns"]}
    assert columns == {
        "exportId": "STRING",
        "status": "STRING",
        "started": "STRING",
        "finished": "STRING",
        "rows": "LONG",
        "bytes": "LONG",
        "objectUrls": "STRING",
        "message": "STRING",
    }

    started = run(api, stream_id)
    assert started["currentState"] == "ACTIVE"
    assert started["runType"] == "MANUAL"
    done = wait_run(api, stream_id, started["executionId"])
    assert done["currentState"] == "SUCCESS", done
    assert done["rowsInserted"] == 3
    assert done["errors"] == []
    export_id = done["exportId"]

    # The objects are in the account's bucket under the path, ordered by the primary key.
    assert keys_under(s3, bucket, "nightly/sales/") == [
        f"nightly/sales/{export_id}/export/data.csv",
        f"nightly/sales/{export_id}/export/manifest.json",
    ]
    header, rows = parse_csv(read_object(s3, f"s3://{bucket}/nightly/sales/{export_id}/export/data.csv"))
    assert header == ["Region", "Units"]
    assert rows == [["West", "10"], ["East", "20"], ["West", "30"]]

    # One metrics row in the writeback DataSet.
    [row] = metrics(api, writeback_id)
    assert row["exportId"] == export_id
    assert row["status"] == "success"
    assert row["rows"] == 3
    assert row["bytes"] == done["bytesInserted"] > 0
    assert json.loads(row["objectUrls"]) == [f"s3://{bucket}/nightly/sales/{export_id}/export/data.csv"]
    assert row["message"] == "exported 3 rows in 1 object(s)"
    # Parse as is: the export's own time text.
    assert datetime.strptime(row["started"], "%Y-%m-%dT%H:%M:%S.%fZ") <= datetime.strptime(
        row["finished"], "%Y-%m-%dT%H:%M:%S.%fZ"
    )

    # APPEND keeps history: a second run adds a second row.
    second = wait_run(api, stream_id, run(api, stream_id)["executionId"])
    assert second["currentState"] == "SUCCESS"
    assert [r["exportId"] for r in metrics(api, writeback_id)] == [export_id, second["exportId"]]

    runs = history(api, stream_id)
    assert [h["executionId"] for h in runs] == [second["executionId"], done["executionId"]]
    for h in runs:
        assert h["currentState"] == "SUCCESS"
        assert h["rowsInserted"] == 3 and h["bytesInserted"] == done["bytesInserted"]
        assert h["startedAt"] <= h["endedAt"]
        assert h["errors"] == []
    listed = api.get(f"/api/data/v1/streams/{stream_id}/executions").json()
    assert [e["executionId"] for e in listed] == [second["executionId"], done["executionId"]]
    assert all(e["currentState"] == "SUCCESS" and e["rowsInserted"] == 3 for e in listed)
    assert api.get(f"/api/data/v1/streams/{stream_id}").json()["lastExecution"]["executionId"] == second["executionId"]


def test_specific_day_1_exports_only_yesterdays_rows_and_parses_times(
    server: Server, api: httpx.Client, s3_url: str, s3: Any, bucket: str
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")

    data = "".join(
        f"{name},{stamp(moment)}\n"
        for name, moment in [
            ("two days ago", yesterday - timedelta(seconds=1)),
            ("yesterday start", yesterday),
            ("yesterday noon", yesterday + timedelta(hours=12)),
            ("yesterday end", today - timedelta(seconds=1)),
            ("today start", today),
        ]
    )
    input_id = make_dataset(api, [("Name", "STRING"), ("At", "DATETIME")], "events by day", csv=data)["id"]
    account = admin_account(api, server, s3_url, bucket)
    stream_id, writeback_id = make_connector(
        api, account, input_id, path="daily", specific_day=1, date_column="At", date_parse="DATETIME"
    )
    done = wait_run(api, stream_id, run(api, stream_id)["executionId"])
    assert done["currentState"] == "SUCCESS", done
    _, rows = parse_csv(read_object(s3, f"s3://{bucket}/daily/{done['exportId']}/export/data.csv"))
    assert sorted(r[0] for r in rows) == ["yesterday end", "yesterday noon", "yesterday start"]
    assert done["rowsInserted"] == 3

    [row] = metrics(api, writeback_id)
    columns = {c["name"]: c["type"] for c in api.get(f"/v1/datasets/{writeback_id}").json()["schema"]["columns"]}
    assert columns["started"] == columns["finished"] == "DATETIME"
    assert row["rows"] == 3
    started = datetime.fromisoformat(str(row["started"]).replace("Z", "+00:00"))
    assert abs(started.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=5)


def test_specific_day_without_a_date_column_exports_the_rows_of_that_days_commits(
    server: Server, api: httpx.Client, s3_url: str, s3: Any, bucket: str
) -> None:
    input_id = make_dataset(api, SALES, "landed today", csv=SALES_CSV)["id"]
    account = admin_account(api, server, s3_url, bucket)
    today, _ = make_connector(api, account, input_id, path="landed/today", specific_day=0)  # "0 pulls today's data"
    done = wait_run(api, today, run(api, today)["executionId"])
    assert done["currentState"] == "SUCCESS", done
    _, rows = parse_csv(read_object(s3, f"s3://{bucket}/landed/today/{done['exportId']}/export/data.csv"))
    assert sorted(rows) == [["East", "20"], ["West", "10"], ["West", "30"]] and done["rowsInserted"] == 3
    yesterday, _ = make_connector(api, account, input_id, path="landed/yesterday", specific_day=1)
    none = wait_run(api, yesterday, run(api, yesterday)["executionId"])
    assert none["currentState"] == "SUCCESS" and none["rowsInserted"] == 0
    _, rows = parse_csv(read_object(s3, f"s3://{bucket}/landed/yesterday/{none['exportId']}/export/data.csv"))
    assert rows == []


def test_a_failing_s3_ends_the_run_in_error_with_the_reason_and_the_next_run_succeeds(
    server: Server, api: httpx.Client, s3_url: str, s3: Any
) -> None:
    input_id = make_dataset(api, SALES, "sales, bucket missing", csv=SALES_CSV)["id"]
    missing = "bucket-made-later-" + input_id[:8]
    account = admin_account(api, server, s3_url, missing)
    stream_id, writeback_id = make_connector(api, account, input_id, path="retry")

    failed = wait_run(api, stream_id, run(api, stream_id)["executionId"])
    assert failed["currentState"] == "ERROR"
    [error] = failed["errors"]
    assert "BUCKET_NOT_FOUND" in error["message"] or missing in error["message"], error
    [entry] = history(api, stream_id)
    assert entry["currentState"] == "ERROR" and entry["errors"] == failed["errors"]

    s3.create_bucket(Bucket=missing)
    ok = wait_run(api, stream_id, run(api, stream_id)["executionId"])
    assert ok["currentState"] == "SUCCESS", ok
    assert keys_under(s3, missing, "retry/") == [
        f"retry/{ok['exportId']}/export/data.csv",
        f"retry/{ok['exportId']}/export/manifest.json",
    ]
    assert [h["currentState"] for h in history(api, stream_id)] == ["SUCCESS", "ERROR"]
    # Both runs are recorded in the writeback DataSet, the failed one with its reason.
    rows = metrics(api, writeback_id)
    assert [r["status"] for r in rows] == ["error", "success"]
    assert rows[0]["message"] == error["message"] and rows[0]["rows"] == 0


def test_the_writeback_owner_must_own_or_co_own_the_input(
    server: Server, api: httpx.Client, s3_url: str, s3: Any, bucket: str
) -> None:
    input_id = make_dataset(api, SALES, "owned by the admin", csv=SALES_CSV)["id"]
    editor = make_person(server, api, role="Privileged")
    account = make_account(editor.http, s3_url, bucket, server.client_id, server.client_secret)

    # READ on the input is not enough: refused at creation, and nothing is made.
    assert share(api, input_id, "USER", editor.id, "READ").status_code == 200
    before = len(api.get("/api/data/v1/streams", params={"limit": 1000}).json())
    refused = editor.http.post("/api/data/v1/streams", json=stream_body(account, input_id))
    assert refused.status_code == 403, refused.text
    assert "co-owner" in refused.json()["message"]
    assert len(api.get("/api/data/v1/streams", params={"limit": 1000}).json()) == before

    # As a co-owner the editor may; when that share is taken back, the next run ends in ERROR saying why.
    assert share(api, input_id, "USER", editor.id, "CO_OWNER").status_code == 200
    stream_id, writeback_id = make_connector(editor.http, account, input_id, path="owned")
    ok = wait_run(editor.http, stream_id, run(editor.http, stream_id)["executionId"])
    assert ok["currentState"] == "SUCCESS", ok
    assert share(api, input_id, "USER", editor.id, "READ").status_code == 200
    refused_run = wait_run(editor.http, stream_id, run(editor.http, stream_id)["executionId"])
    assert refused_run["currentState"] == "ERROR"
    assert "is not an owner or co-owner of the input DataSet" in refused_run["errors"][0]["message"]
    assert [r["status"] for r in metrics(editor.http, writeback_id)] == ["success", "error"]


def test_a_bad_configuration_is_refused_naming_the_field(
    server: Server, api: httpx.Client, s3_url: str, bucket: str
) -> None:
    input_id = make_dataset(api, SALES, "for bad configurations", csv=SALES_CSV)["id"]
    account = admin_account(api, server, s3_url, bucket)
    cases: list[tuple[dict[str, Any], str, int]] = [
        (stream_body(account, ""), "configuration.inputDataSetId", 400),
        (stream_body(account, input_id, specific_day=-1), "configuration.specificDay", 400),
        (stream_body(account, input_id, specific_day=1, date_column="Nope"), "configuration.dateColumn", 400),
        (stream_body(account, input_id, specific_day=1, date_column="Region"), "configuration.dateColumn", 400),
        (stream_body(account, input_id, primary_key="Id"), "configuration.primaryKey", 400),
        (stream_body(account, input_id, date_parse="SOMETIMES"), "configuration.dateParseOption", 400),
        (stream_body(None, input_id), "account.id", 400),
        (stream_body(account, input_id, schedule={"type": "YEARLY"}), "advancedScheduleJson.type", 400),
        (stream_body(account, input_id, schedule={"type": "MINUTE", "interval": 10**15}), "interval", 400),
        (stream_body(account, input_id, schedule={"type": "MONTH", "interval": 121}), "at most 120 months", 400),
        (stream_body(account, "00000000-0000-0000-0000-000000000000"), "00000000-0000-0000-0000-000000000000", 404),
    ]
    before = len(api.get("/api/data/v1/streams").json())
    for body, field, status in cases:
        r = api.post("/api/data/v1/streams", json=body)
        assert r.status_code == status, (field, r.text)
        assert field in r.json()["message"], (field, r.json())
    assert len(api.get("/api/data/v1/streams").json()) == before  # nothing was made, not even in part


def test_no_endpoint_or_log_line_shows_the_account_secrets(
    server: Server, api: httpx.Client, s3_url: str, bucket: str
) -> None:
    input_id = make_dataset(api, SALES, "sales, secrets", csv=SALES_CSV)["id"]
    account = admin_account(api, server, s3_url, bucket)
    stream_id, writeback_id = make_connector(api, account, input_id, path="secret-check")
    done = wait_run(api, stream_id, run(api, stream_id)["executionId"])
    assert done["currentState"] == "SUCCESS"
    seen = [
        api.get(f"/api/data/v1/streams/{stream_id}").text,
        api.get(f"/api/data/v1/streams/{stream_id}/executions").text,
        api.get(f"/api/data/v1/streams/{stream_id}/history/aggregate").text,
        api.get(f"/api/data/v3/datasources/{writeback_id}").text,
        api.post(f"/v1/datasets/query/execute/{writeback_id}", json={"sql": "SELECT * FROM table"}).text,
        api.get(f"/api/data/v1/accounts/{account}").text,
        api.get("/api/data/v1/accounts").text,
    ]
    for text in seen:
        assert AWS_SECRET not in text
        assert server.client_secret not in text
    log = server.log_text()
    assert AWS_SECRET not in log
    assert log.count(server.client_secret) <= 1  # the bootstrap banner of the first start only


def test_with_replace_the_writeback_dataset_keeps_only_the_last_run(
    server: Server, api: httpx.Client, s3_url: str, bucket: str
) -> None:
    input_id = make_dataset(api, SALES, "sales, replace", csv=SALES_CSV)["id"]
    account = admin_account(api, server, s3_url, bucket)
    stream_id, writeback_id = make_connector(api, account, input_id, path="replace", method="REPLACE")
    first = wait_run(api, stream_id, run(api, stream_id)["executionId"])
    second = wait_run(api, stream_id, run(api, stream_id)["executionId"])
    assert first["currentState"] == second["currentState"] == "SUCCESS"
    assert [r["exportId"] for r in metrics(api, writeback_id)] == [second["exportId"]]
    assert len(history(api, stream_id)) == 2


def test_a_scheduled_writeback_stream_shows_its_expression_and_next_update(
    server: Server, api: httpx.Client, s3_url: str, bucket: str
) -> None:
    input_id = make_dataset(api, SALES, "unloaded daily", csv=SALES_CSV)["id"]
    account = admin_account(api, server, s3_url, bucket)
    daily = {"type": "DAY", "timezone": "UTC", "time": "13:30"}
    stream_id, _ = make_connector(api, account, input_id, path="daily at 13:30", schedule=daily)
    stream = api.get(f"/api/data/v1/streams/{stream_id}").json()
    assert stream["scheduleExpression"] == "0 30 13 * * ?" and stream["scheduleState"] == "ACTIVE"
    next_update = stream["dataSource"]["nextUpdate"]
    assert type(next_update) is int and next_update % 86_400_000 == (13 * 60 + 30) * 60_000  # 13:30 UTC, in ms
    now_ms = datetime.now(UTC).timestamp() * 1000
    assert now_ms < next_update <= now_ms + 86_400_000
    assert stream["dataProvider"]["name"] == "Amazon S3 Unload Writeback"
    assert stream["dataProvider"]["visibility"] == "WITH_CONNECTOR"
    manual = stream_body(account, input_id, path="daily at 13:30", schedule={"type": "MANUAL", "timezone": "UTC"})
    stopped = api.put(f"/api/data/v1/streams/{stream_id}", json=manual).json()
    assert stopped["scheduleExpression"] is None and "nextUpdate" not in stopped["dataSource"]
