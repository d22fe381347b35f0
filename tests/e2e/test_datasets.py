"""The DataSet API: CRUD, list paging, CSV import/export formats, and SQL query."""

from __future__ import annotations

import gzip
from typing import Any

import httpx

from tests.helpers import assert_domo_error, export_csv, make_dataset

ALL_TYPES = [
    ("s", "STRING"),
    ("l", "LONG"),
    ("d", "DOUBLE"),
    ("m", "DECIMAL"),
    ("day", "DATE"),
    ("at", "DATETIME"),
]


def test_create_get_update_delete(api: httpx.Client) -> None:
    created = api.post(
        "/v1/datasets",
        json={
            "name": "crud",
            "description": "first",
            "rows": 0,
            "schema": {"columns": [{"type": "STRING", "name": "Friend"}, {"type": "STRING", "name": "Attending"}]},
        },
    )
    assert created.status_code == 201
    ds = created.json()
    assert list(ds["schema"]["columns"][0]) == ["type", "name"]  # exact key order: pydomo compares JSON text
    assert ds["schema"] == {"columns": [{"type": "STRING", "name": "Friend"}, {"type": "STRING", "name": "Attending"}]}
    assert ds["rows"] == 0 and ds["columns"] == 2 and ds["owner"]["id"] == 1 and ds["pdpEnabled"] is False
    assert ds["createdAt"].endswith("Z")
    assert api.get(f"/v1/datasets/{ds['id']}").json() == ds

    # PUT is partial: a body with only the schema keeps name and description.
    new_schema = {"columns": [{"type": "STRING", "name": "Friend"}, {"type": "LONG", "name": "Guests"}]}
    updated = api.put(f"/v1/datasets/{ds['id']}", json={"schema": new_schema})
    assert updated.status_code == 200
    assert updated.json()["name"] == "crud" and updated.json()["description"] == "first"
    assert updated.json()["schema"] == new_schema
    renamed = api.put(f"/v1/datasets/{ds['id']}", json={"name": "renamed", "pdpEnabled": True}).json()
    assert renamed["name"] == "renamed" and renamed["pdpEnabled"] is True and renamed["schema"] == new_schema

    assert api.delete(f"/v1/datasets/{ds['id']}").status_code == 204
    assert_domo_error(api.get(f"/v1/datasets/{ds['id']}"), 404)
    assert_domo_error(api.delete(f"/v1/datasets/{ds['id']}"), 404)


def test_schema_change_keeps_rows_matched_by_name(api: httpx.Client) -> None:
    ds = make_dataset(api, [("a", "LONG"), ("b", "STRING")])["id"]
    api.put(f"/v1/datasets/{ds}/data", content=b"1,x\n2,y\n")
    schema = {
        "columns": [
            {"type": "STRING", "name": "b"},
            {"type": "DOUBLE", "name": "a"},
            {"type": "DATE", "name": "c"},
        ]
    }
    assert api.put(f"/v1/datasets/{ds}", json={"schema": schema}).status_code == 200
    assert export_csv(api, ds, header=True) == "b,a,c\nx,1.0,\ny,2.0,\n"
    bad = api.put(f"/v1/datasets/{ds}", json={"schema": {"columns": [{"type": "LONG", "name": "b"}]}})
    assert_domo_error(bad, 400, "column 'b' cannot become LONG", "'x'")
    assert export_csv(api, ds, header=True) == "b,a,c\nx,1.0,\ny,2.0,\n"


def test_list_limit_offset_sort_and_name_like(api: httpx.Client) -> None:
    ids = [make_dataset(api, [("a", "LONG")], name=f"listing-{c}")["id"] for c in "cab"]
    page = api.get("/v1/datasets", params={"nameLike": "LISTING-", "sort": "name", "limit": 2, "offset": 0}).json()
    assert [d["name"] for d in page] == ["listing-a", "listing-b"]
    rest = api.get("/v1/datasets", params={"nameLike": "listing-", "sort": "name", "limit": 2, "offset": 2}).json()
    assert [d["name"] for d in rest] == ["listing-c"]
    assert api.get("/v1/datasets", params={"nameLike": "listing-", "limit": 2, "offset": 3}).json() == []
    desc = api.get("/v1/datasets", params={"nameLike": "listing-", "sort": "-name"}).json()
    assert [d["name"] for d in desc] == ["listing-c", "listing-b", "listing-a"]
    default_order = api.get("/v1/datasets", params={"nameLike": "listing-", "limit": 0}).json()
    assert [d["id"] for d in default_order] == ids  # limit=0 is not an error: the default page, creation order
    assert len(api.get("/v1/datasets", params={"limit": 500}).json()) <= 50


def test_list_takes_domos_sort_spellings(api: httpx.Client) -> None:
    ids = [make_dataset(api, [("a", "LONG")], name=f"spelled-{c}")["id"] for c in "bca"]
    api.put(f"/v1/datasets/{ids[0]}/data", content=b"1\n")  # b: updated last

    def order(sort: str) -> list[str]:
        return [d["name"][-1] for d in api.get("/v1/datasets", params={"nameLike": "spelled-", "sort": sort}).json()]

    assert order("nameDescending") == order("-name") == ["c", "b", "a"]
    assert order("lastUpdatedAscending") == order("lastUpdated") == order("lastTouchedAscending") == ["c", "a", "b"]
    assert order("-lastUpdated") == order("-lastTouched") == ["b", "a", "c"]
    assert order("createdAt") == order("createdAtAscending") == order("cardCount") == ["b", "c", "a"]
    assert order("-createdAt") == ["a", "c", "b"]
    assert order("dataSourceId") == [n for _, n in sorted(zip(ids, "bca", strict=True))]


def test_name_like_ignores_the_case_of_every_letter(api: httpx.Client) -> None:
    ds = make_dataset(api, [("a", "LONG")], name="Épée Straße Ωmega")["id"]
    for like in ("Épée", "épée", "ÉPÉE", "straße", "ωMEGA", "pée str"):
        assert [d["id"] for d in api.get("/v1/datasets", params={"nameLike": like}).json()] == [ds], like
    assert api.get("/v1/datasets", params={"nameLike": "Epee"}).json() == []


def test_import_accepts_domo_csv_and_export_writes_it_back(api: httpx.Client) -> None:
    ds = make_dataset(api, ALL_TYPES)["id"]
    body = (
        "\ufeff"  # a leading BOM is dropped
        "plain,1,1.5,12.25,2024-01-02,2024-01-02 03:04:05\r\n"
        '"with, comma",-2,1e-07,0,2024-02-29,2024-01-02T03:04:05.123\n'
        '"multi\nline ""q""",,,,,\n'
        "\\N,3,inf,1.5,2024-03-01 00:00:00,2024-01-02T05:04:05+02:00\n"
        '"",4,-0.5,,,2024-01-02\n'
        "last,5,2,3,2024-12-31,2024-12-31 23:59:59.999999"  # no final newline
    ).encode()
    assert api.put(f"/v1/datasets/{ds}/data", content=body, headers={"Content-Type": "text/csv"}).status_code == 204
    assert api.get(f"/v1/datasets/{ds}").json()["rows"] == 6
    q = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table ORDER BY l NULLS FIRST"}).json()
    assert q["columns"] == ["s", "l", "d", "m", "day", "at"]
    assert [m["type"] for m in q["metadata"]] == ["STRING", "LONG", "DOUBLE", "DECIMAL", "DATE", "DATETIME"]
    assert q["rows"] == [
        ['multi\nline "q"', None, None, None, None, None],
        ["with, comma", -2, 1e-07, 0.0, "2024-02-29", "2024-01-02T03:04:05.123"],
        ["plain", 1, 1.5, 12.25, "2024-01-02", "2024-01-02T03:04:05"],
        [
            None,
            3,
            None,
            1.5,
            "2024-03-01",
            "2024-01-02T03:04:05",
        ],  # +02:00 stored in UTC; inf has no JSON form
        ["", 4, -0.5, None, None, "2024-01-02T00:00:00"],
        ["last", 5, 2.0, 3.0, "2024-12-31", "2024-12-31T23:59:59.999"],
    ]
    text = export_csv(api, ds, header=True)
    lines = text.splitlines(keepends=True)
    assert lines[0] == "s,l,d,m,day,at\n"  # header = schema names, no BOM
    assert not text.startswith("\ufeff")
    assert "plain,1,1.5,12.250000000,2024-01-02,2024-01-02T03:04:05\n" in text
    assert '"multi\nline ""q""",,,,,\n' in text  # NULL is an empty field
    assert ",3,inf,1.500000000,2024-03-01,2024-01-02T03:04:05\n" in text
    assert '"",4,-0.5,,,2024-01-02T00:00:00\n' in text  # the empty string stays distinct from NULL


def test_import_update_methods_and_body_encodings(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG")])["id"]
    url = f"/v1/datasets/{ds}/data"
    assert api.put(url, content=b"1\n").status_code == 204
    assert (
        api.put(
            url,
            params={"updateMethod": "APPEND"},
            content=gzip.compress(b"2\n"),
            headers={"Content-Encoding": "gzip"},
        ).status_code
        == 204
    )
    assert (
        api.put(
            url,
            params={"updateMethod": "APPEND"},
            content=gzip.compress(b"3\n"),
            headers={"Content-Type": "application/gzip"},
        ).status_code
        == 204
    )

    def chunks() -> object:
        yield b"4\n"
        yield b"5\n"

    assert api.put(url, params={"updateMethod": "APPEND"}, content=chunks()).status_code == 204
    assert sorted(export_csv(api, ds).split()) == ["1", "2", "3", "4", "5"]
    assert api.put(url, params={"updateMethod": "REPLACE"}, content=b"9\n").status_code == 204
    assert export_csv(api, ds) == "9\n"
    assert_domo_error(api.put(url, params={"updateMethod": "MERGE"}, content=b"1\n"), 400, "MERGE")


def test_a_failed_import_changes_nothing(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")])["id"]
    api.put(f"/v1/datasets/{ds}/data", content=b"1,a\n")
    r = api.put(f"/v1/datasets/{ds}/data", params={"updateMethod": "APPEND"}, content=b"2,b\n3,c,extra\n")
    assert_domo_error(r, 400, "line 2: expected 2 columns, found 3")
    r = api.put(f"/v1/datasets/{ds}/data", content=b'2,b\n3,"unterminated\n')
    assert_domo_error(r, 400)
    assert export_csv(api, ds) == "1,a\n"
    assert api.get(f"/v1/datasets/{ds}").json()["rows"] == 1


def test_export_header_switch_and_file_name(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG")])["id"]
    api.put(f"/v1/datasets/{ds}/data", content=b"1\n")
    for value, expected in [("True", "n\n1\n"), ("true", "n\n1\n"), ("False", "1\n"), (None, "1\n")]:
        params = {"includeHeader": value} if value is not None else {}
        assert api.get(f"/v1/datasets/{ds}/data", params=params).text == expected
    r = api.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "true", "fileName": "foo.csv"})
    assert r.headers["content-disposition"] == 'attachment; filename="foo.csv"'
    assert r.headers["content-type"].startswith("text/csv")


def test_query_reads_only_its_dataset(api: httpx.Client) -> None:
    mine = make_dataset(api, [("n", "LONG")])["id"]
    other = make_dataset(api, [("n", "LONG")])["id"]
    api.put(f"/v1/datasets/{mine}/data", content=b"1\n2\n")
    api.put(f"/v1/datasets/{other}/data", content=b"100\n")
    url = f"/v1/datasets/query/execute/{mine}"
    got = api.post(url, json={"sql": "SELECT SUM(`n`) AS total, COUNT(*) AS c FROM table"}).json()
    assert got["rows"] == [[3, 2]] and got["datasource"] == mine and got["fromcache"] is False
    assert_domo_error(api.post(url, json={"sql": f"SELECT * FROM `{other}`"}), 400, "unknown table")
    nested = api.post(url, json={"sql": {"sql": "SELECT n FROM table ORDER BY n"}}).json()
    assert nested["rows"] == [[1], [2]]


def test_datetime_offsets_are_stored_in_utc_and_plain_values_as_given(api: httpx.Client) -> None:
    ds = make_dataset(api, [("k", "LONG"), ("at", "DATETIME")])["id"]
    body = (
        b"1,2024-01-02 03:04:05Z\n"
        b"2,2024-01-02T03:04:05-05:30\n"
        b"3,2024-01-02 03:04:05.250+01\n"
        b"4,2024-01-02 03:04:05\n"
        b"5,2024-1-2 03:04:05\n"
        b"6,2024-01-02\n"
        b"7,\n"
    )
    assert api.put(f"/v1/datasets/{ds}/data", content=body, headers={"Content-Type": "text/csv"}).status_code == 204
    q = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT k, at FROM table ORDER BY k"}).json()
    assert q["rows"] == [
        [1, "2024-01-02T03:04:05"],
        [2, "2024-01-02T08:34:05"],
        [3, "2024-01-02T02:04:05.250"],
        [4, "2024-01-02T03:04:05"],
        [5, "2024-01-02T03:04:05"],
        [6, "2024-01-02T00:00:00"],
        [7, None],
    ]


def test_sql_timestamps_and_now_answer_as_datetimes_in_utc(api: httpx.Client) -> None:
    # SQL's TIMESTAMP (a time zone type in DuckDB), now(), and both inside a list (the Python form).
    ds = make_dataset(api, [("k", "LONG"), ("at", "DATETIME")])["id"]
    api.put(f"/v1/datasets/{ds}/data", content=b"1,2024-01-02T03:04:05\n")
    sql = (
        "SELECT CAST('2024-01-01 10:11:12' AS TIMESTAMP) AS t, CAST(at AS TIMESTAMP) AS a, "
        "TIMESTAMP '2024-05-06 07:08:09.5' AS lit, CURRENT_TIMESTAMP IS NOT NULL AS has_now FROM table"
    )
    for url in (f"/v1/datasets/query/execute/{ds}", f"/api/query/v1/execute/{ds}"):
        q = api.post(url, json={"sql": sql})
        assert q.status_code == 200, q.text
        assert q.json()["rows"] == [["2024-01-01T10:11:12", "2024-01-02T03:04:05", "2024-05-06T07:08:09.500", True]]
        assert [m["type"] for m in q.json()["metadata"]][:3] == ["DATETIME"] * 3
    nested = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT [now()] AS l, k FROM table"})
    assert nested.status_code == 200, nested.text
    assert nested.json()["rows"][0][1] == 1 and len(nested.json()["rows"][0][0]) == 1


def test_computed_columns_are_named_as_written_whatever_comes_first(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")])["id"]
    api.put(f"/v1/datasets/{ds}/data", content=b"1,ab\n")
    named = {
        "SELECT CAST(n AS CHAR) AS nc, COUNT(*) FROM table GROUP BY 1": ["nc", "COUNT(*)"],
        "SELECT CAST(n AS CHAR) FROM table": ["CAST(n AS CHAR)"],
        "SELECT SUBSTRING(s,1,2), n FROM table": ["SUBSTRING(s,1,2)", "n"],
        "SELECT (SELECT max(n) FROM table), COUNT(*) FROM table": ["(SELECT max(n) FROM table)", "COUNT(*)"],
        "SELECT DISTINCT UPPER(s), n + 1 FROM table": ["UPPER(s)", "n + 1"],
        "SELECT EXISTS(SELECT 1 FROM table) FROM table": ["EXISTS(SELECT 1 FROM table)"],
    }
    for sql, columns in named.items():
        q = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": sql})
        assert q.status_code == 200 and q.json()["columns"] == columns, (sql, q.text)


def test_a_quoted_empty_value_is_null_in_number_and_date_columns(api: httpx.Client) -> None:
    ds = make_dataset(api, [("s", "STRING"), ("l", "LONG"), ("d", "DOUBLE"), ("day", "DATE")])["id"]
    body = b'"","","",""\nx,1,1.5,2024-01-02\n'
    assert api.put(f"/v1/datasets/{ds}/data", content=body, headers={"Content-Type": "text/csv"}).status_code == 204
    q = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table ORDER BY s"}).json()
    assert q["rows"] == [["", None, None, None], ["x", 1, 1.5, "2024-01-02"]]


def test_a_query_answer_keeps_its_shape_and_follows_a_schema_change(api: httpx.Client) -> None:
    ds = make_dataset(api, [("a", "LONG"), ("b", "DOUBLE")])["id"]
    api.put(f"/v1/datasets/{ds}/data", content=b"1,1.5\n2,nan\n")
    sql = {"sql": "SELECT a, b, a AS a FROM table ORDER BY a"}
    r = api.post(f"/v1/datasets/query/execute/{ds}", json=sql)
    assert int(r.headers["content-length"]) == len(r.content)
    q = r.json()
    assert list(q) == ["datasource", "columns", "metadata", "rows", "numRows", "numColumns", "fromcache"]
    assert q["columns"] == ["a", "b", "a"] and q["rows"] == [[1, 1.5, 1], [2, None, 2]] and q["numRows"] == 2
    assert [m["type"] for m in q["metadata"]] == ["LONG", "DOUBLE", "LONG"]
    # The same SQL after the schema changes: the answer has the new types (no plan of the old schema is kept).
    schema = {"columns": [{"type": "STRING", "name": "a"}, {"type": "DOUBLE", "name": "b"}]}
    assert api.put(f"/v1/datasets/{ds}", json={"schema": schema}).status_code == 200
    q = api.post(f"/v1/datasets/query/execute/{ds}", json=sql).json()
    assert [m["type"] for m in q["metadata"]] == ["STRING", "DOUBLE", "STRING"]
    assert q["rows"] == [["1", 1.5, "1"], ["2", None, "2"]]
    empty = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table WHERE false"}).json()
    assert empty["rows"] == [] and empty["numRows"] == 0 and empty["columns"] == ["a", "b"]


def test_a_dataset_with_no_rows_answers_queries_with_its_columns_and_types_before_and_after_loads(
    api: httpx.Client,
) -> None:
    ds = make_dataset(api, ALL_TYPES)["id"]
    url = f"/v1/datasets/query/execute/{ds}"

    def query(sql: str) -> dict[str, Any]:
        r = api.post(url, json={"sql": sql})
        assert r.status_code == 200, r.text
        return dict(r.json())

    never_loaded = query("SELECT * FROM table")
    assert never_loaded["columns"] == [n for n, _ in ALL_TYPES] and never_loaded["rows"] == []
    assert [m["type"] for m in never_loaded["metadata"]] == [t for _, t in ALL_TYPES]
    totals = query("SELECT count(*) AS n, sum(l) AS sl, sum(m) AS sm, max(day) AS d, max(at) AS a FROM table")
    assert totals["rows"] == [[0, None, None, None, None]]
    assert [m["type"] for m in totals["metadata"]] == ["LONG", "LONG", "DECIMAL", "DATE", "DATETIME"]
    # The SQL is checked against the column types as it is when there are rows.
    wrong = api.post(url, json={"sql": "SELECT day + at FROM table"})
    assert wrong.status_code == 400 and "+(DATE, TIMESTAMP)" in wrong.json()["message"], wrong.text
    row = b"x,1,2.5,3.25,2024-01-02,2024-01-02 03:04:05\n"
    assert api.put(f"/v1/datasets/{ds}/data", content=row).status_code == 204
    assert query("SELECT s, l, m FROM table")["rows"] == [["x", 1, 3.25]]
    assert api.put(f"/v1/datasets/{ds}/data", content=b"").status_code == 204  # replaced by no rows
    emptied = query("SELECT count(*) AS n, max(s) AS s FROM table")
    assert emptied["rows"] == [[0, None]] and api.get(f"/v1/datasets/{ds}").json()["rows"] == 0


def test_a_large_query_answer_arrives_whole_and_every_path_answers_with_a_trailing_slash(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")])["id"]
    csv = "".join(f"{i},row number {i} with some text to make the answer larger\n" for i in range(20_000))
    assert api.put(f"/v1/datasets/{ds}/data/", content=csv.encode()).status_code == 204
    # An answer past 64 KiB goes out in many parts (rows as they were built): all of them, in order.
    r = api.post(f"/v1/datasets/query/execute/{ds}/", json={"sql": "SELECT * FROM table ORDER BY n"})
    assert r.status_code == 200 and len(r.content) > 1 << 20
    assert int(r.headers["content-length"]) == len(r.content)
    q = r.json()
    assert q["numRows"] == 20_000 and q["rows"][0] == [0, "row number 0 with some text to make the answer larger"]
    assert [row[0] for row in q["rows"]] == list(range(20_000))
    assert api.get(f"/v1/datasets/{ds}/").json()["rows"] == 20_000
    assert api.get("/health/").json() == {"status": "ok"}
    missing = api.get("/v1/datasets/no-such-dataset/")
    assert_domo_error(missing, 404)


def test_a_column_dropped_and_added_again_reads_null_and_a_retype_and_back_reads_the_retyped_text(
    api: httpx.Client,
) -> None:
    ds = make_dataset(api, [("n", "LONG"), ("secret", "STRING"), ("code", "STRING")])["id"]
    api.put(f"/v1/datasets/{ds}/data", content=b"1,ssn-1,007\n2,ssn-2,010\n")

    def rows() -> list[list[object]]:
        answer = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table ORDER BY n"})
        assert answer.status_code == 200, answer.text
        return list(answer.json()["rows"])

    assert rows() == [[1, "ssn-1", "007"], [2, "ssn-2", "010"]]  # read (and its files listed) before the changes

    def schema(*columns: tuple[str, str]) -> None:
        body = {"schema": {"columns": [{"type": t, "name": n} for n, t in columns]}}
        assert api.put(f"/v1/datasets/{ds}", json=body).status_code == 200

    schema(("n", "LONG"), ("code", "STRING"))
    schema(("n", "LONG"), ("secret", "STRING"), ("code", "STRING"))  # a new column of the old name: no values
    assert rows() == [[1, None, "007"], [2, None, "010"]]
    schema(("n", "LONG"), ("secret", "STRING"), ("code", "LONG"))
    schema(("n", "LONG"), ("secret", "STRING"), ("code", "STRING"))  # the values went through LONG
    assert rows() == [[1, None, "7"], [2, None, "10"]]
    assert export_csv(api, ds, header=False) == "1,,7\n2,,10\n"
