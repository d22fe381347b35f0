"""Quoting helpers and column types for the SQL that domolite itself writes."""

from __future__ import annotations

from domolite.models.records import DomoType

SQL_TYPES: dict[DomoType, str] = {
    DomoType.STRING: "VARCHAR",
    DomoType.LONG: "BIGINT",
    DomoType.DOUBLE: "DOUBLE",
    DomoType.DECIMAL: "DECIMAL(38,9)",
    DomoType.DATE: "DATE",
    DomoType.DATETIME: "TIMESTAMP",
}


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
