"""Query answers made as JSON by DuckDB read back exactly as the Python form of the same rows does (each value
converted in Python, then serialised), for every result type that takes the DuckDB form."""

from __future__ import annotations

import random

import duckdb
import orjson

from domolite.query.door import _json_value
from domolite.query.jsonrows import chunks_of, chunks_of_rows, json_sql, rows_of
from domolite.storage.sqltext import is_wide_decimal, text_sql

VALUES = {
    "BIGINT": ["0", "-9223372036854775808", "9223372036854775807", "NULL"],
    "INTEGER": ["-2147483648", "7"],
    "BOOLEAN": ["true", "false"],
    "VARCHAR": ["''", "'plain'", "'say \"hi\"'", "'back\\slash'", "'two' || chr(10) || 'lines'", "chr(0)",
                "chr(31) || chr(127)", "'ünïcødé ✓ 😀'", "chr(8232)", "'[1,2]'"],
    "DOUBLE": ["1.5", "1e-7", "-0.0", "1e308", "5e-324", "0.1 + 0.2", "'nan'", "'inf'", "'-inf'", "NULL"],
    "FLOAT": ["0.1", "'nan'", "3.4e38"],
    "DECIMAL(38,9)": ["12.25", "0", "-0.000000001", "99999999999999999999999999999.999999999",
                      "12345678901234567890.123456789", "0.1", "1.000000001", "NULL"],
    "DECIMAL(18,2)": ["12345.67", "-0.05"],
    "HUGEINT": ["9223372036854775807", "-5"],  # SUM of a LONG column; past 64 bits see below
    "DATE": ["'2024-01-02'", "'1970-01-01'", "'9999-12-31'", "'1000-01-01'"],
    "TIMESTAMP": ["'2024-01-02 03:04:05'", "'2024-01-02 03:04:05.123'", "'2024-12-31 23:59:59.999999'",
                  "'2024-01-02 03:04:05.0005'", "'1969-12-31 23:59:59.5'", "'1900-01-01 00:00:00'"],
    "TIMESTAMP_MS": ["'2024-01-02 03:04:05.120'"],
    "TIMESTAMP_NS": ["'2024-01-02 03:04:05.123456789'", "'2024-01-02 03:04:05'"],
    # What SQL's TIMESTAMP and now() become: the session's (UTC) wall time.
    "TIMESTAMPTZ": ["'2024-01-02 03:04:05'", "'2024-01-02 03:04:05.25+02:00'", "'1969-12-31 23:59:59.5'"],
}  # fmt: skip


def python_form(con: duckdb.DuckDBPyConnection, sql: str) -> list[list[object]]:
    rows = con.execute(sql).fetchall()
    return list(orjson.loads(orjson.dumps([[_json_value(v) for v in row] for row in rows])))


def duckdb_form(con: duckdb.DuckDBPyConnection, sql: str) -> list[list[object]]:
    types = [str(t) for t in con.sql(sql).types]
    wrapped = json_sql(sql, types, 10**6)
    assert wrapped is not None, types
    return rows_of(chunks_of(con.execute(wrapped).fetchnumpy()["j"].tolist()))


def test_every_type_reads_back_as_the_python_form_gives_it() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for type_, values in VALUES.items():
        sql = " UNION ALL ".join(f"SELECT {n} AS n, CAST({v} AS {type_}) AS v" for n, v in enumerate(values))
        sql = f"SELECT v, n FROM ({sql}) ORDER BY n"
        assert duckdb_form(con, sql) == python_form(con, sql), type_


def test_random_decimals_are_the_nearest_double_of_their_exact_value() -> None:
    rnd = random.Random(16)
    con = duckdb.connect()
    values = [
        f"{rnd.choice('-+')}{rnd.randint(0, 10 ** rnd.randint(0, 29))}.{rnd.randint(0, 10**9):09d}" for _ in range(3000)
    ]
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (SELECT unnest(?) AS s, generate_subscripts(?, 1) AS n)", [values, values]
    )
    sql = "SELECT CAST(s AS DECIMAL(38,9)) AS d FROM t ORDER BY n"
    assert duckdb_form(con, sql) == python_form(con, sql)


def test_an_integer_past_64_bits_is_written_whole() -> None:
    # The Python form cannot write it at all (orjson stops at 64 bits).
    con = duckdb.connect()
    wrapped = json_sql("SELECT CAST('-1267650600228229401496703205375' AS HUGEINT) AS v", ["HUGEINT"], 10)
    assert wrapped is not None
    assert con.execute(wrapped).fetchall() == [("[-1267650600228229401496703205375]",)]


def test_duplicate_and_odd_column_names_and_types_without_a_duckdb_form() -> None:
    con = duckdb.connect()
    sql = 'SELECT 1 AS a, 2 AS a, 3 AS "j", 4 AS "c0", 5 AS "we""ird"'
    assert duckdb_form(con, sql) == [[1, 2, 3, 4, 5]]
    for type_ in ("TIME", "INTERVAL", "BLOB", "INTEGER[]", "UUID", "TIMESTAMP WITH TIME ZONE[]"):
        assert json_sql("SELECT 1", [type_], 10) is None, type_


def test_chunks_join_to_the_whole_answer() -> None:
    rows = [[n, f"r{n}"] for n in range(45_001)]
    assert rows_of(chunks_of_rows(rows)) == rows
    assert len(chunks_of_rows(rows)) == 3 and chunks_of_rows([]) == [] and rows_of([]) == []


def test_wide_decimals_made_text_the_fast_way_give_the_same_text() -> None:
    rnd = random.Random(9)
    con = duckdb.connect()
    values = ["999999999.999999999", "-999999999.999999999", "1000000000", "-1000000000.000000001", "0", "NULL"]
    values += [
        f"{rnd.choice('-+')}{rnd.randint(0, 10 ** rnd.randint(0, 29))}.{rnd.randint(0, 10**9 - 1):09d}"
        for _ in range(2000)
    ]
    con.execute(
        "CREATE TABLE t AS SELECT CAST(unnest(?) AS DECIMAL(38,9)) AS d", [[v if v != "NULL" else None for v in values]]
    )
    fast = con.execute(f"SELECT {text_sql('d', 'DECIMAL(38,9)')} FROM t").fetchall()
    assert fast == con.execute("SELECT CAST(d AS VARCHAR) FROM t").fetchall()
    assert is_wide_decimal("DECIMAL(38,9)") and is_wide_decimal("DECIMAL(20, 2)")
    assert not is_wide_decimal("DECIMAL(18,2)") and not is_wide_decimal("BIGINT")
