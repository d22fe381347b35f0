"""No input costs a 500: ids, limits and offsets outside 64 bits, text over its limit, JSON bodies over the
limit, SQL nested too deeply, NUL characters, and schemas domolite cannot hold are each a 400 (or 413) that
names what was wrong, and the DataSet they were aimed at is unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import Snapshot, assert_exact_error, make_dataset, stream_of
from tests.serverproc import Server

TOO_BIG = 2**63  # one past the largest 64-bit id
ONE_COLUMN = {"columns": [{"type": "LONG", "name": "n"}]}


@pytest.fixture(scope="module")
def inst(server: Server) -> Any:
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}, timeout=120) as c:
        yield c


def with_rows(api: httpx.Client) -> dict[str, Any]:
    ds = make_dataset(api, [("n", "LONG")], "limits")
    assert api.put(f"/v1/datasets/{ds['id']}/data", content=b"1\n2\n3\n").status_code == 204
    return ds


# -- ranges ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        f"/v1/users/{TOO_BIG}",
        f"/v1/groups/{TOO_BIG}",
        f"/v1/groups/1/users?limit={TOO_BIG}",
        f"/v1/streams/{TOO_BIG}",
        f"/v1/streams/1/executions/{TOO_BIG}",
        f"/v1/accounts/{TOO_BIG}",
        f"/api/data/v1/streams/{TOO_BIG}",
        f"/v1/datasets?offset={TOO_BIG}",
        f"/v1/datasets?limit={-TOO_BIG - 1}",
        f"/v1/users?offset={TOO_BIG}",
        f"/v1/streams?limit={TOO_BIG * 10}",
    ],
)
def test_ids_limits_and_offsets_outside_64_bits_are_400(api: httpx.Client, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 400, r.text
    name, _, value = path.rpartition("=")
    field = name.rpartition("?")[2] if "?" in path else None
    message = r.json()["message"]
    if field:
        assert message.startswith(f"{field}: Input should be"), message
    else:
        assert message.endswith(("less than or equal to 9223372036854775807",)), message
    assert set(r.json()) == {"status", "statusReason", "message", "toe"}


def test_string_query_numbers_and_body_ids_outside_64_bits_are_400(api: httpx.Client, inst: httpx.Client) -> None:
    ds = with_rows(api)
    before = Snapshot(api, ds["id"])
    r = inst.get("/api/data/v1/streams", params={"limit": str(TOO_BIG)})
    assert_exact_error(r, 400, f"limit: {TOO_BIG} is outside the range of a 64-bit integer")
    r = inst.post(f"/api/query/v1/execute/{ds['id']}", params={"offset": str(TOO_BIG)}, json={"sql": "SELECT 1"})
    assert_exact_error(r, 400, f"offset: {TOO_BIG} is outside the range of a 64-bit integer")
    r = api.post("/v1/groups", json={"name": "too big", "users": [TOO_BIG]})
    assert_exact_error(r, 400, "users[0]: Input should be less than or equal to 9223372036854775807")
    r = inst.post(f"/api/data/v3/datasources/{ds['id']}/share", json={"permissions": [{"id": TOO_BIG}]})
    assert_exact_error(r, 400, "permissions[0].id: Input should be less than or equal to 9223372036854775807")
    r = api.put(f"/v1/datasets/{ds['id']}", json={"owner": {"id": TOO_BIG}})
    assert_exact_error(r, 400, "owner.id: Input should be less than or equal to 9223372036854775807")
    before.assert_unchanged()
    # The largest 64-bit id is in range: simply not found.
    assert_exact_error(api.get(f"/v1/users/{TOO_BIG - 1}"), 404, f"User {TOO_BIG - 1} not found")


# -- text and body limits --------------------------------------------------------------------------------------
def test_names_descriptions_and_sql_over_their_limits_are_400_naming_the_field(
    api: httpx.Client, inst: httpx.Client
) -> None:
    ds = with_rows(api)
    before = Snapshot(api, ds["id"])
    long_name = "n" * 256
    r = api.post("/v1/datasets", json={"name": long_name, "schema": ONE_COLUMN})
    assert_exact_error(r, 400, "name: is 256 characters long, more than 255, the limit (the max_name_chars setting)")
    r = api.put(f"/v1/datasets/{ds['id']}", json={"name": long_name})
    assert_exact_error(r, 400, "name: is 256 characters long, more than 255, the limit (the max_name_chars setting)")
    r = api.put(f"/v1/datasets/{ds['id']}", json={"description": "d" * 65_537})
    message = "description: is 65537 characters long, more than 65536, the limit (the max_description_chars setting)"
    assert_exact_error(r, 400, message)
    r = inst.post("/api/data/v2/datasources", json={"dataSourceName": long_name, "schema": ONE_COLUMN})
    message = "dataSourceName: is 256 characters long, more than 255, the limit (the max_name_chars setting)"
    assert_exact_error(r, 400, message)
    columns = {"columns": [{"type": "LONG", "name": long_name}]}
    r = api.post("/v1/datasets", json={"name": "x", "schema": columns})
    message = "schema.columns[0].name: is 256 characters long, more than 255, the limit (the max_name_chars setting)"
    assert_exact_error(r, 400, message)
    r = api.post("/v1/users", json={"name": long_name, "email": "long@example.com"})
    assert_exact_error(r, 400, "name: is 256 characters long, more than 255, the limit (the max_name_chars setting)")
    r = api.post("/v1/users", json={"name": "x", "email": "e" * 321})
    assert_exact_error(r, 400, "email: is 321 characters long, more than 320, the limit (the catalog's width)")
    sql = "SELECT n FROM table WHERE n IN (" + ",".join(["1"] * 131_072) + ")"
    r = api.post(f"/v1/datasets/query/execute/{ds['id']}", json={"sql": sql})
    message = f"sql: is {len(sql)} characters long, more than 262144, the limit (the max_sql_chars setting)"
    assert_exact_error(r, 400, message)
    before.assert_unchanged()
    assert api.get(f"/v1/datasets/{ds['id']}").json()["name"] == "limits"


def test_a_json_body_over_the_limit_is_413_before_it_is_read(api: httpx.Client) -> None:
    ds = with_rows(api)
    before = Snapshot(api, ds["id"])
    big = b'{"name": "' + b"x" * (16 * 2**20) + b'"}'
    r = api.put(f"/v1/datasets/{ds['id']}", content=big, headers={"Content-Type": "application/json"})
    message = f"the JSON body is larger than {16 * 2**20} bytes, the limit (the max_json_bytes setting)"
    assert_exact_error(r, 413, message)
    before.assert_unchanged()


def test_sql_nested_too_deeply_is_a_400_that_says_so(api: httpx.Client) -> None:
    ds = with_rows(api)
    url = f"/v1/datasets/query/execute/{ds['id']}"
    message = "the SQL is nested too deeply to be read; flatten its subqueries, parentheses or expressions"
    for sql in (
        "SELECT " + "(" * 3000 + "n" + ")" * 3000 + " FROM table",
        "SELECT " + "abs(" * 1000 + "n" + ")" * 1000 + " FROM table",
        "SELECT " + "+".join(["n"] * 5000) + " FROM table",
        "SELECT * FROM " + "(SELECT * FROM " * 400 + "table" + ") t" * 400,
    ):
        assert_exact_error(api.post(url, json={"sql": sql}), 400, message)
    nested = "SELECT * FROM " + "(SELECT * FROM " * 40 + "table" + ") t" * 40  # 40 levels still read
    assert api.post(url, json={"sql": nested}).json()["numRows"] == 3


def test_nul_characters_are_refused_wherever_they_come(api: httpx.Client) -> None:
    ds = with_rows(api)
    before = Snapshot(api, ds["id"])
    assert_exact_error(api.get("/v1/datasets/a%00b"), 400, "the request's path holds a NUL character")
    assert_exact_error(api.get("/v1/datasets", params={"nameLike": "a\x00b"}), 400, "nameLike: holds a NUL character")
    r = api.put(f"/v1/datasets/{ds['id']}", json={"description": "a\x00b"})
    assert_exact_error(r, 400, "description: holds a NUL character")
    before.assert_unchanged()


# -- schemas ---------------------------------------------------------------------------------------------------
def test_a_schema_with_no_columns_is_refused_at_creation_and_change(api: httpx.Client, inst: httpx.Client) -> None:
    empty = {"columns": []}
    message = "schema.columns: a schema needs at least one column"
    assert_exact_error(api.post("/v1/datasets", json={"name": "x", "schema": empty}), 400, message)
    r = api.post("/v1/streams", json={"dataSet": {"name": "x", "schema": empty}, "updateMethod": "APPEND"})
    assert_exact_error(r, 400, message)
    assert_exact_error(inst.post("/api/data/v2/datasources", json={"dataSourceName": "x"}), 400, message)
    ds = with_rows(api)
    before = Snapshot(api, ds["id"])
    assert_exact_error(api.put(f"/v1/datasets/{ds['id']}", json={"schema": empty}), 400, message)
    r = inst.post(f"/api/data/v2/datasources/{ds['id']}/schemas", json=empty)
    assert_exact_error(r, 400, "columns: a schema needs at least one column")
    before.assert_unchanged()


def test_a_connector_dataset_without_a_schema_refuses_rows_with_a_400(inst: httpx.Client) -> None:
    made = inst.post(
        "/api/data/v1/streams", json={"dataProvider": {"key": "some-connector"}, "dataSource": {"name": "later"}}
    )
    assert made.status_code == 200, made.text
    ds = made.json()["dataSource"]["id"]
    r = inst.put(f"/v1/datasets/{ds}/data", content=b"1\n")
    message = f"DataSet {ds} has no columns yet: give it a schema (a schema change) before loading rows"
    assert_exact_error(r, 400, message)
    upload = inst.post(f"/api/data/v3/datasources/{ds}/uploads", json={}).json()["uploadId"]
    assert inst.put(f"/api/data/v3/datasources/{ds}/uploads/{upload}/parts/1", content=b"1\n").status_code == 200
    r = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{upload}/commit", json={})
    assert_exact_error(r, 400, message)
    assert inst.get(f"/v1/datasets/{ds}").json()["rows"] == 0


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("__domolite_partition", "'__domolite_partition' is reserved: names starting with __domolite are domolite's"),
        ("__DOMOLITE_anything", "'__DOMOLITE_anything' is reserved: names starting with __domolite are domolite's"),
        ("a\nb", "a column name may not hold a control character (U+000A)"),
        ("tab\there", "a column name may not hold a control character (U+0009)"),
        ("bell\x07", "a column name may not hold a control character (U+0007)"),
        ("nul\x00", "holds a NUL character"),
    ],
)
def test_internal_and_control_character_column_names_are_refused(
    api: httpx.Client, inst: httpx.Client, name: str, problem: str
) -> None:
    columns = {"columns": [{"type": "LONG", "name": "ok"}, {"type": "STRING", "name": name}]}
    assert_exact_error(
        api.post("/v1/datasets", json={"name": "x", "schema": columns}), 400, f"schema.columns[1].name: {problem}"
    )
    ds = with_rows(api)
    before = Snapshot(api, ds["id"])
    r = inst.post(f"/api/data/v2/datasources/{ds['id']}/schemas", json=columns)
    assert_exact_error(r, 400, f"columns[1].name: {problem}")
    before.assert_unchanged()


def test_more_columns_than_the_limit_are_refused_at_creation(api: httpx.Client) -> None:
    columns = {"columns": [{"type": "LONG", "name": f"c{i}"} for i in range(1501)]}
    r = api.post("/v1/datasets", json={"name": "too wide", "schema": columns})
    assert_exact_error(r, 400, "schema.columns: 1501 columns is more than 1500, the limit (the max_columns setting)")


def test_the_widest_schema_accepted_works_on_every_path(api: httpx.Client, inst: httpx.Client) -> None:
    types = ["STRING", "LONG", "DOUBLE", "DECIMAL", "DATE", "DATETIME"]
    values = [
        "x" * 300,
        "9223372036854775807",
        "1.5",
        "12345678901234567890.123456789",
        "2024-01-31",
        "2024-01-31T10:11:12",
    ]
    width = 1500
    names = [f"column number {i:04d} " + "w" * 200 for i in range(width)]
    schema = [{"type": types[i % 6], "name": names[i]} for i in range(width)]
    row = ",".join(values[i % 6] for i in range(width)).encode() + b"\n"
    r = api.post("/v1/datasets", json={"name": "widest", "schema": {"columns": schema}})
    assert r.status_code == 201, r.text
    ds = r.json()["id"]
    assert api.put(f"/v1/datasets/{ds}/data", content=row * 3).status_code == 204
    sid = stream_of(api, ds)
    eid = api.post(f"/v1/streams/{sid}/executions", json={"updateMethod": "APPEND"}).json()["id"]
    assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=row).status_code == 200
    assert api.put(f"/v1/streams/{sid}/executions/{eid}/commit").json()["currentState"] == "SUCCESS"
    assert api.get(f"/v1/datasets/{ds}").json()["rows"] == 4
    got = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table LIMIT 1"}).json()
    assert got["numColumns"] == width and got["rows"][0][1] == 9223372036854775807
    csv = api.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "true"})
    assert csv.status_code == 200 and csv.text.count("\n") == 5
    base = f"/api/data/v3/datasources/{ds}/uploads"
    upload = inst.post(base, json={"action": "APPEND"}).json()["uploadId"]
    assert inst.put(f"{base}/{upload}/parts/1", content=row).status_code == 200
    assert inst.put(f"{base}/{upload}/commit", json={"action": "APPEND"}).json()["numRows"] == 1
    versions = inst.get(f"/api/data/v3/datasources/{ds}/dataversions/details").json()
    first = versions[-1]["dataId"]
    old = inst.get(f"/api/data/v2/datasources/{ds}/dataversions/latest", params={"dataVersion": first})
    assert old.status_code == 200 and old.text.count("\n") == 3
    # Every 30th column renamed, the last one too (renaming all 1,500 costs DuckDB ~20 s: each ALTER copies the
    # table's whole entry).
    renaming = set(range(0, width, 30)) | {width - 1}
    renamed = [
        {"name": ("renamed " + c["name"][:200]) if i in renaming else c["name"], "id": c["name"], "type": c["type"]}
        for i, c in enumerate(schema)
    ]
    assert inst.post(f"/api/data/v2/datasources/{ds}/schemas", json={"columns": renamed}).status_code == 200
    now = [c["name"] for c in api.get(f"/v1/datasets/{ds}").json()["schema"]["columns"]]
    assert now == [c["name"] for c in renamed] and now[0].startswith("renamed ") and now[-1].startswith("renamed ")
    got = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": f"SELECT `{now[-1]}`, `{now[1]}` FROM table"})
    assert got.status_code == 200 and got.json()["rows"][0] == ["2024-01-31T10:11:12", 9223372036854775807]
    assert api.delete(f"/v1/datasets/{ds}").status_code == 204
