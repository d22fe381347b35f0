"""Query answers as JSON made by DuckDB: each row becomes one JSON array inside the engine, and the rows reach
Python as one string each, joined into chunks of bytes. No Python object is made per value, which is what a
JSON answer used to cost (a tuple per row, an object per value, each converted and serialised again).

The JSON is the same as the Python form gives (docs/choices.md, "Query results"): LONG as integers, DOUBLE and
DECIMAL as numbers (DECIMAL rounded to the nearest double, as Python's float() of the exact value), NaN and
±inf as null, DATE `YYYY-MM-DD`, DATETIME `YYYY-MM-DDTHH:MM:SS` with `.fff` when it has a fraction. Result
types with no exact DuckDB form here (TIME, INTERVAL, BLOB, nested types, ...) take the Python form instead:
`json_sql` returns None for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from domolite.storage.sqltext import ident, text_sql

# Rows per chunk of an answer's bytes (a few MB): what goes out in one piece.
CHUNK_ROWS = 20_000

_AS_IS = frozenset(
    {"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "VARCHAR", "DATE"}
)
# With a time zone (what SQL's TIMESTAMP becomes, and now()), the session's UTC wall time, as a DATETIME column.
_DATETIME = frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"})
_SECONDS = "'%Y-%m-%dT%H:%M:%S'"
_MILLIS = "'%Y-%m-%dT%H:%M:%S.%g'"


def _value_sql(column: str, duck_type: str) -> str | None:
    """The JSON form of one result column, or None when only the Python form has it exactly."""
    if duck_type in _AS_IS:
        return column
    if duck_type in ("DOUBLE", "FLOAT"):
        return f"CASE WHEN isfinite({column}) THEN CAST({column} AS DOUBLE) END"
    if duck_type.startswith("DECIMAL") or duck_type in ("HUGEINT", "UBIGINT"):
        # The exact text, read back as a JSON number: the nearest double (DuckDB's own DECIMAL -> DOUBLE cast
        # may be one unit off in the last place), and integers past 64 bits whole.
        return f"CAST({text_sql(column, duck_type)} AS JSON)"
    if duck_type in _DATETIME:
        ts = f"CAST({column} AS TIMESTAMP)"
        return (
            f"CASE WHEN epoch_us({ts}) % 1000000 = 0 THEN strftime({ts}, {_SECONDS}) ELSE strftime({ts}, {_MILLIS}) END"
        )
    return None


def json_sql(select_sql: str, duck_types: Sequence[str], limit: int) -> str | None:
    """SELECT of one VARCHAR column `j`, each row of `select_sql` as a JSON array, at most `limit` rows; None
    when a column's type has no exact JSON form here."""
    names = [f"c{i}" for i in range(len(duck_types))]
    values = [_value_sql(ident(n), re.sub(r"\s+", " ", t.upper())) for n, t in zip(names, duck_types, strict=True)]
    if not values or any(v is None for v in values):
        return None
    aliases = ", ".join(ident(n) for n in names)
    return (
        f"SELECT CAST(json_array({', '.join(v for v in values if v)}) AS VARCHAR) AS j "
        f"FROM ({select_sql}) AS q({aliases}) LIMIT {int(limit)}"
    )


def chunks_of(strings: Sequence[str]) -> list[bytes]:
    """Row texts joined with commas, in chunks of `CHUNK_ROWS` rows."""
    return [",".join(strings[i : i + CHUNK_ROWS]).encode() for i in range(0, len(strings), CHUNK_ROWS)]


def chunks_of_rows(rows: Sequence[Sequence[Any]]) -> list[bytes]:
    """Python rows (already JSON-ready values) in the same chunked form."""
    return [
        orjson.dumps(rows[i : i + CHUNK_ROWS], option=orjson.OPT_NON_STR_KEYS)[1:-1]
        for i in range(0, len(rows), CHUNK_ROWS)
    ]


def rows_of(chunks: Sequence[bytes]) -> list[list[Any]]:
    """The rows of chunked JSON as Python lists (for answers the server reads itself)."""
    return list(orjson.loads(b"[" + b",".join(chunks) + b"]"))
