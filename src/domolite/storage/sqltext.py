"""Quoting helpers and column types for the SQL that domolite itself writes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domolite.models.records import Column, DomoType

SQL_TYPES: dict[DomoType, str] = {
    DomoType.STRING: "VARCHAR",
    DomoType.LONG: "BIGINT",
    DomoType.DOUBLE: "DOUBLE",
    DomoType.DECIMAL: "DECIMAL(38,9)",
    DomoType.DATE: "DATE",
    DomoType.DATETIME: "TIMESTAMP",
}


def null_columns(columns: Sequence[Column]) -> str:
    """The select list of one row of NULLs typed as `columns` are stored, named as they are (a relation of no
    rows: `SELECT <this> WHERE false`)."""
    return ", ".join(f"CAST(NULL AS {SQL_TYPES[c.type]}) AS {ident(c.name)}" for c in columns)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_WIDE_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def text_sql(column: str, duck_type: str) -> str:
    """SQL for the text of `column` as DuckDB writes it, and for a wide DECIMAL (more than 18 digits, such
    as DECIMAL(38,9)) made the fast way: DuckDB turns a 128-bit decimal into text ~10x slower than a 64-bit one,
    so values that fit 18 digits at the same scale go through DECIMAL(18,s) (the text is the same)."""
    wide = _WIDE_DECIMAL.match(duck_type.upper().replace(" ", ""))
    if not wide or int(wide.group(1)) <= 18 or int(wide.group(2)) > 18:
        return f"CAST({column} AS VARCHAR)"
    scale = int(wide.group(2))
    bound = "9" * (18 - scale) + ("." + "9" * scale if scale else "")
    return (
        f"CASE WHEN {column} BETWEEN -{bound} AND {bound} "
        f"THEN CAST(CAST({column} AS DECIMAL(18,{scale})) AS VARCHAR) ELSE CAST({column} AS VARCHAR) END"
    )


def is_wide_decimal(duck_type: str) -> bool:
    """Whether `text_sql` has a fast form for the type."""
    return text_sql("x", duck_type) != "CAST(x AS VARCHAR)"
