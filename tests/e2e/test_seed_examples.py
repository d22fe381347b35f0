"""The seed documents' own example requests, sent as printed, answered as a client written from them expects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.crash.test_stopping import big_parts, commit_in_background, open_execution, state_of
from tests.e2e.test_instance_api import STREAM_BODY, create, inst
from tests.e2e.traffic import new_stream
from tests.helpers import JSON_HEADERS, assert_domo_error, until

__all__ = ["inst"]  # the fixture


def upload(inst: httpx.Client, ds: str, csv: str, commit: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document's three stages (stage 1 sends `action: null`); returns the commit's reply."""
    opened = inst.post(
        f"/api/data/v3/datasources/{ds}/uploads", headers=JSON_HEADERS, json={"action": None, "appendId": None}
    )
    assert opened.status_code == 200, opened.text
    upload_id = opened.json()["uploadId"]
    part = inst.put(
        f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/parts/1",
        headers={"Content-Type": "text/csv", "Accept": "application/json"},
        content=csv.encode(),
    )
    assert part.status_code == 200, part.text
    r = inst.put(
        f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/commit",
        headers=JSON_HEADERS,
        json=commit if commit is not None else {"action": "APPEND", "index": True},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def execute(inst: httpx.Client, ds: str, sql: str, **extra: Any) -> httpx.Response:
    return inst.post(f"/api/query/v1/execute/{ds}", headers=JSON_HEADERS, json={"sql": sql, **extra})


def people(inst: httpx.Client, name: str = "people") -> str:
    ds = create(inst, name, [{"type": "STRING", "name": "column"}, {"type": "LONG", "name": "n"}])
    upload(inst, ds, "value,1\nother,2\nvalue,3\n")
    return ds


# -- Query with SQL ------------------------------------------------------------------------------------------


def test_any_single_table_name_reads_the_urls_dataset(inst: httpx.Client) -> None:
    ds = people(inst)
    r = execute(inst, ds, "SELECT * FROM your_table WHERE column = 'value'")
    assert r.status_code == 200, r.text
    assert r.json()["columns"] == ["column", "n"]
    assert r.json()["rows"] == [["value", 1], ["value", 3]]
    public = inst.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT SUM(n) AS s FROM sales"})
    assert public.status_code == 200, public.text
    assert public.json()["rows"] == [[6]]
    # A CTE's name still means the CTE; the one other name is the DataSet.
    cte = execute(inst, ds, "WITH v AS (SELECT n FROM my_data WHERE n > 1) SELECT COUNT(*) AS c FROM v")
    assert cte.json()["rows"] == [[2]]
    # Two different names cannot both be the one DataSet; another DataSet's id is not this one.
    assert_domo_error(execute(inst, ds, "SELECT * FROM a JOIN b ON true"), 400, "unknown table")
    other = create(inst, "other", [{"type": "LONG", "name": "n"}])
    assert_domo_error(execute(inst, ds, f"SELECT * FROM `{other}`"), 400, "unknown table")


def test_result_columns_are_named_as_the_sql_wrote_them(inst: httpx.Client, api: httpx.Client) -> None:
    ds = people(inst, "counted")
    r = execute(inst, ds, "SELECT COUNT(*) FROM table")
    assert r.status_code == 200, r.text
    assert r.json()["columns"] == ["COUNT(*)"] and r.json()["rows"] == [[3]]
    sql = "SELECT column, sum(n), COUNT(DISTINCT n) AS k, n * 2 FROM table GROUP BY column, n ORDER BY n LIMIT 1"
    got = execute(inst, ds, sql).json()
    assert got["columns"] == ["column", "sum(n)", "k", "n * 2"] and got["rows"] == [["value", 1, 1, 2]]
    paged = inst.post(
        f"/api/query/v1/execute/{ds}", params={"limit": 10, "offset": 0}, json={"sql": "SELECT MAX(n) FROM table"}
    )
    assert paged.json()["columns"] == ["MAX(n)"] and paged.json()["rows"] == [[3]]
    public = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT COUNT(*) FROM table"}).json()
    assert public["columns"] == ["COUNT(*)"] and public["rows"] == [[3]]


def test_sql_mistakes_are_named_where_they_are_with_a_suggestion(inst: httpx.Client) -> None:
    ds = create(inst, "typos", [{"type": "STRING", "name": "name"}, {"type": "LONG", "name": "amount"}])
    upload(inst, ds, "a,1\n")
    r = execute(inst, ds, "SELECT nmae FROM table")
    assert_domo_error(r, 400)
    assert r.json()["message"] == "no column 'nmae' (line 1, column 8); did you mean 'name'?"
    where = execute(inst, ds, "SELECT name\nFROM table\nWHERE amout > 0").json()["message"]
    assert where == "no column 'amout' (line 3, column 7); did you mean 'amount'?"
    far = execute(inst, ds, "SELECT zzz FROM table").json()["message"]
    assert far == "no column 'zzz' (line 1, column 8); the DataSet's columns are 'name', 'amount'"
    typo = execute(inst, ds, "SELEC name FROM table").json()["message"]
    assert typo == "the SQL does not parse at line 1, column 1: 'SELEC' is not a SQL keyword; did you mean SELECT?"
    form = execute(inst, ds, "SELECT * FORM table").json()["message"]
    assert form == "the SQL does not parse at line 1, column 10: 'FORM' is not a SQL keyword; did you mean FROM?"
    paren = execute(inst, ds, "SELECT COUNT(* FROM table").json()["message"]
    assert paren == "the SQL does not parse at line 1, column 16 (near 'FROM table'): a ')' is missing"


# -- the product streams API ---------------------------------------------------------------------------------


def stream_id_of(inst: httpx.Client, ds: str) -> int:
    r = inst.get(f"/api/data/v3/datasources/{ds}")
    assert r.status_code == 200, r.text
    return int(r.json()["streamId"])


def test_stream_times_are_whole_epoch_seconds(inst: httpx.Client) -> None:
    ds = people(inst, "times")
    stream = stream_id_of(inst, ds)
    got = inst.get(f"/api/data/v1/streams/{stream}").json()
    execution = got["lastExecution"]
    times = [got["createdAt"], got["modifiedAt"], *(execution[k] for k in ("startedAt", "endedAt", "createdAt"))]
    history = inst.get(f"/api/data/v1/streams/{stream}/history/aggregate").json()
    times += [history[0]["startedAt"], history[0]["endedAt"]]
    runs = inst.get(f"/api/data/v1/streams/{stream}/executions").json()
    times += [runs[0]["startedAt"], runs[0]["modifiedAt"]]
    for t in times:
        assert type(t) is int and 1_600_000_000 < t < 10_000_000_000, times  # seconds, not ms, no fraction
    assert history[0]["endedAt"] >= history[0]["startedAt"]


def test_creating_a_stream_answers_201_with_its_location(api: httpx.Client) -> None:
    r = api.post(
        "/v1/streams",
        headers=JSON_HEADERS,
        json={
            "dataSet": {
                "name": "Leonhard Euler Party",
                "description": "Mathematician Guest List",
                "rows": 0,
                "schema": {"columns": [{"type": "STRING", "name": "Friend"}, {"type": "STRING", "name": "Attending"}]},
            },
            "updateMethod": "APPEND",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["updateMethod"] == "APPEND" and body["dataSet"]["name"] == "Leonhard Euler Party"
    assert r.headers["location"] == f"{api.base_url}/v1/streams/{body['id']}".replace("//v1", "/v1")
    followed = api.get(r.headers["location"])
    assert followed.status_code == 200 and followed.json()["id"] == body["id"]


# -- uploads -------------------------------------------------------------------------------------------------


def test_the_commit_reply_and_the_history_say_the_method_and_index_used(inst: httpx.Client) -> None:
    ds = people(inst, "appended")  # stage 1 sent `action: null`; the commit said APPEND
    reply = upload(inst, ds, "more,4\n", {"action": "APPEND", "index": False})
    assert reply["action"] == "APPEND" and reply["index"] is False and reply["numRows"] == 1
    as_text = upload(inst, ds, "last,5\n", {"action": "APPEND", "index": "true"})  # the document's own body
    assert as_text["action"] == "APPEND" and as_text["index"] is True
    assert [r[1] for r in execute(inst, ds, "SELECT * FROM table ORDER BY n").json()["rows"]] == [1, 2, 3, 4, 5]
    history = inst.get(f"/api/data/v1/streams/{stream_id_of(inst, ds)}/history/aggregate").json()
    assert [h["updateMethod"] for h in history] == ["APPEND", "APPEND", "APPEND"]
    assert [h["rowsInserted"] for h in history] == [1, 1, 3]
    replaced = upload(inst, ds, "only,9\n", {"action": "REPLACE", "index": True})
    assert replaced["action"] == "REPLACE" and replaced["index"] is True
    assert execute(inst, ds, "SELECT n FROM table").json()["rows"] == [[9]]
    runs = inst.get(f"/api/data/v1/streams/{stream_id_of(inst, ds)}/executions").json()
    assert runs[0]["updateMethod"] == "REPLACE" and runs[1]["updateMethod"] == "APPEND"


def test_append_row_adds_the_values_as_one_row(inst: httpx.Client) -> None:
    ds = people(inst, "append row")
    url = f"/api/data/v3/datasources/{ds}/uploads"
    example = {"action": "APPEND", "message": "Uploading", "appendId": "latest"}
    r = inst.post(url, headers=JSON_HEADERS, json={**example, "values": "added,7"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SUCCESS" and r.json()["action"] == "APPEND" and r.json()["numRows"] == 1
    piped = inst.post(url, headers=JSON_HEADERS, json={**example, "values": "with, a comma|8", "delimiter": "|"})
    assert piped.status_code == 200, piped.text
    got = execute(inst, ds, "SELECT * FROM table WHERE n > 3 ORDER BY n").json()["rows"]
    assert got == [["added", 7], ["with, a comma", 8]]
    short = inst.post(url, headers=JSON_HEADERS, json={**example, "values": "only one"})
    assert_domo_error(short, 400, "values", "1 values", "2 columns ('column', 'n')")
    assert execute(inst, ds, "SELECT COUNT(*) FROM table").json()["rows"] == [[5]]
    # Without `values`, stage 1 opens an upload as before.
    assert isinstance(inst.post(url, headers=JSON_HEADERS, json=example).json()["uploadId"], int)


# -- the Stream API ------------------------------------------------------------------------------------------


def test_abort_all_while_a_commit_runs_is_a_409_naming_it(api: httpx.Client) -> None:
    stream = new_stream(api, "abort while committing")
    sid = stream["id"]
    idle = open_execution(api, sid, [b"1,a\n"])
    busy = open_execution(api, sid, big_parts())
    answers = commit_in_background(api, sid, busy)
    if state_of(api, sid, busy) != "COMMITTING":
        pytest.skip("the commit ended before it could be seen committing")
    r = api.put(f"/v1/streams/{sid}/executions/abort", json={})
    assert_domo_error(r, 409, f"execution {busy} of stream {sid} is committing", "every ACTIVE execution")
    assert state_of(api, sid, idle) == "ABORTED"
    until(lambda: bool(answers), 120, "the commit to end")
    assert answers[0].status_code == 200 and state_of(api, sid, busy) == "SUCCESS"
    # With nothing committing, abort all is pydomo's 204.
    assert api.put(f"/v1/streams/{sid}/executions/abort", json={}).status_code == 204


# -- hidden columns ------------------------------------------------------------------------------------------


def test_hidden_columns_stay_in_the_data_and_out_of_the_indexed_schema(inst: httpx.Client, api: httpx.Client) -> None:
    ds = create(inst, "alerts", [{"type": "STRING", "name": "name"}, {"type": "LONG", "name": "id"}])
    upload(inst, ds, "a,1\nb,2\n")
    example = [
        {"name": "name", "id": "name", "type": "STRING", "visible": True, "order": 0},
        {"name": "id", "id": "id", "type": "LONG", "visible": True, "order": 0},
        {"name": "alertId", "id": "alertId", "type": "LONG", "visible": False, "order": 0},
    ]
    r = inst.post(
        f"/api/data/v2/datasources/{ds}/schemas",
        headers=JSON_HEADERS,
        json={"columns": example, "objects": [], "views": []},
    )
    assert r.status_code == 200, r.text
    indexed = f"/api/query/v1/datasources/{ds}/schema/indexed"
    shown = inst.get(indexed, params={"includeHidden": "false"}).json()["tables"][0]["columns"]
    assert [(c["name"], c["visible"]) for c in shown] == [("name", True), ("id", True)]
    every = inst.get(indexed, params={"includeHidden": "true"}).json()["tables"][0]["columns"]
    assert [(c["name"], c["visible"], c["order"]) for c in every] == [
        ("name", True, 0),
        ("id", True, 1),
        ("alertId", False, 2),
    ]
    # Still in the data: queries, uploads and the public API read and write it.
    upload(inst, ds, "c,3,30\n")
    assert execute(inst, ds, "SELECT * FROM table ORDER BY id").json()["rows"] == [
        ["a", 1, None],
        ["b", 2, None],
        ["c", 3, 30],
    ]
    stream = inst.get(f"/api/data/v1/streams/{stream_id_of(inst, ds)}").json()
    assert [c["visible"] for c in stream["schemaDefinition"]["columns"]] == [True, True, False]
    # A schema change through the public API (which cannot say `visible`) keeps it hidden; showing it again works.
    schema = {
        "columns": [
            {"type": "STRING", "name": "name"},
            {"type": "LONG", "name": "id"},
            {"type": "LONG", "name": "alertId"},
        ]
    }
    assert api.put(f"/v1/datasets/{ds}", json={"schema": schema}).status_code == 200
    assert len(inst.get(indexed).json()["tables"][0]["columns"]) == 2
    shown_again = [{**c, "visible": True} for c in example]
    inst.post(f"/api/data/v2/datasources/{ds}/schemas", headers=JSON_HEADERS, json={"columns": shown_again})
    assert [c["name"] for c in inst.get(indexed).json()["tables"][0]["columns"]] == ["name", "id", "alertId"]


def test_a_scheduled_stream_shows_its_expression_and_provider(inst: httpx.Client) -> None:
    example = {**STREAM_BODY, "advancedScheduleJson": '{"type": "DAY", "timezone": "UTC", "time": "13:30"}'}
    created = inst.post("/api/data/v1/streams", headers=JSON_HEADERS, json=example)
    assert created.status_code == 200, created.text
    got = inst.get(f"/api/data/v1/streams/{created.json()['id']}").json()
    assert got["scheduleExpression"] == "0 30 13 * * ?"
    assert "nextUpdate" not in got["dataSource"]  # no connector of this provider runs in domolite
    provider = got["dataProvider"]
    assert provider["key"] == "snowflake-unload-v2" and provider["name"] == "Snowflake Unload V2"
    assert set(provider) >= {
        "id",
        "url",
        "defaultConnectorId",
        "defaultConnectorLabel",
        "authenticationScheme",
        "connectorValidatorPresent",
        "resourceBundlePresent",
        "moduleHandler",
        "iconPicker",
        "scope",
        "producer",
        "version",
        "dateCreated",
        "dateUpdated",
        "visibility",
        "type",
        "authenticationSchemeConfiguration",
    }
    assert type(provider["id"]) is int and provider["version"] == "1" and type(provider["dateCreated"]) is int
    every = {**example, "advancedScheduleJson": '{"type":"MINUTE","timezone":"UTC","between":null,"interval":30}'}
    updated = inst.put(f"/api/data/v1/streams/{got['id']}", headers=JSON_HEADERS, json=every).json()
    assert updated["scheduleExpression"] == "0 0/30 * * * ?"
    manual = {**example, "advancedScheduleJson": '{"type": "MANUAL", "timezone": "UTC"}'}
    unscheduled = inst.put(f"/api/data/v1/streams/{got['id']}", headers=JSON_HEADERS, json=manual).json()
    assert unscheduled["scheduleExpression"] is None and "nextUpdate" not in unscheduled["dataSource"]


def test_each_stream_has_its_own_incrementing_execution_sequence(api: httpx.Client, inst: httpx.Client) -> None:
    first, second = new_stream(api, "first sequence"), new_stream(api, "second sequence")
    a1 = api.post(f"/v1/streams/{first['id']}/executions").json()
    a2 = api.post(f"/v1/streams/{first['id']}/executions").json()
    b1 = api.post(f"/v1/streams/{second['id']}/executions").json()
    assert (a1["id"], a2["id"], b1["id"]) == (1, 2, 1)
    assert a1["currentState"] == "ACTIVE"
    base = f"/v1/streams/{second['id']}/executions/1"
    assert api.put(f"{base}/part/1", content=b"7,seven\n").status_code == 200
    done = api.put(f"{base}/commit")
    assert done.status_code == 200 and done.json()["id"] == 1 and done.json()["currentState"] == "SUCCESS"
    assert api.get(f"/v1/streams/{first['id']}/executions/1").json()["currentState"] == "ACTIVE"
    aborted = api.put(f"/v1/streams/{first['id']}/executions/2/abort").json()
    assert aborted["id"] == 2 and aborted["currentState"] == "ABORTED"
    assert_domo_error(api.get(f"/v1/streams/{second['id']}/executions/2"), 404, "Execution 2 of stream")
    assert [e["id"] for e in api.get(f"/v1/streams/{first['id']}/executions").json()] == [1, 2]
    history = inst.get(f"/api/data/v1/streams/{second['id']}/history/aggregate").json()
    assert [(h["executionId"], h["rowsInserted"]) for h in history] == [(1, 1)]
    assert inst.get(f"/api/data/v1/streams/{second['id']}/executions/1").json()["executionId"] == 1
    rows = api.post(f"/v1/datasets/query/execute/{second['dataSet']['id']}", json={"sql": "SELECT * FROM table"})
    assert rows.json()["rows"] == [[7, "seven"]]
