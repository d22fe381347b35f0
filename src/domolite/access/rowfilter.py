"""The one function that turns a DataSet's PDP policies into the WHERE clause a caller's reads get.

`Door.source_sql` calls it (through `Policies.row_filter`) for queries, CSV exports and S3 exports alike.
Rules:
* PDP off, or the caller bypasses PDP (the owner, Admins): no filter.
* Otherwise the caller sees the union of the rows of every policy that names them or one of their groups;
  an open policy ("All Rows") naming them means every row; naming them in no policy means no rows.
* A policy's filters are ANDed. A filter whose column no longer exists matches nothing (fail closed).
* `not` negates a filter; a NULL value never matches a filter, so it does match its negation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from domolite.errors import InvalidField
from domolite.models.access import FilterOperator, Policy, PolicyFilter
from domolite.models.records import Column, DomoType
from domolite.storage.sqltext import ident, literal

NO_ROWS = "FALSE"
_NUMERIC = (DomoType.LONG, DomoType.DOUBLE, DomoType.DECIMAL)
_PATTERN_OPS = (
    FilterOperator.LIKE,
    FilterOperator.BEGINS_WITH,
    FilterOperator.ENDS_WITH,
    FilterOperator.CONTAINS,
)


def row_filter(columns: Sequence[Column], policies: Sequence[Policy], user_id: int, group_ids: frozenset[int]) -> str:
    """SQL boolean over the DataSet's columns: the rows the user may see under PDP."""
    mine = [p for p in policies if p.names(user_id, group_ids)]
    if any(p.is_open for p in mine):
        return "TRUE"
    parts = [policy_sql(columns, p) for p in mine]
    parts = [p for p in parts if p != NO_ROWS]
    if not parts:
        return NO_ROWS
    return " OR ".join(f"({p})" for p in parts)


def preview_filter(columns: Sequence[Column], policies: Sequence[Policy]) -> str:
    """SQL boolean: the rows these policies show together (a preview of them, whoever they name)."""
    if any(p.is_open for p in policies):
        return "TRUE"
    parts = [p for p in (policy_sql(columns, policy) for policy in policies) if p != NO_ROWS]
    return " OR ".join(f"({p})" for p in parts) if parts else NO_ROWS


def policy_sql(columns: Sequence[Column], policy: Policy) -> str:
    if policy.is_open:
        return "TRUE"
    if not policy.filters:
        return NO_ROWS  # a user policy with no filter grants nothing
    by_name = {c.name.lower(): c for c in columns}
    parts = []
    for f in policy.filters:
        column = by_name.get(f.column.lower())
        if column is None:
            return NO_ROWS
        parts.append(filter_sql(column, f))
    return " AND ".join(parts)


def filter_sql(column: Column, f: PolicyFilter) -> str:
    matched = f"COALESCE({_positive(column, f)}, FALSE)"
    return f"(NOT {matched})" if f.negate else matched


def _positive(column: Column, f: PolicyFilter) -> str:
    op = f.operator
    if op in _PATTERN_OPS:
        text = f"CAST({ident(column.name)} AS VARCHAR)"
        if f.ignore_case:
            text = f"lower({text})"
        values = [v.lower() if f.ignore_case else v for v in f.values]
        fn = {
            FilterOperator.LIKE: "{0} LIKE {1}",
            FilterOperator.BEGINS_WITH: "starts_with({0}, {1})",
            FilterOperator.ENDS_WITH: "suffix({0}, {1})",
            FilterOperator.CONTAINS: "contains({0}, {1})",
        }[op]
        return "(" + " OR ".join(fn.format(text, literal(v)) for v in values) + ")"
    target = ident(column.name)
    ignore_case = f.ignore_case and column.type is DomoType.STRING
    if ignore_case:
        target = f"lower({target})"
    vals = [typed_literal(column, v.lower() if ignore_case else v, "values") for v in f.values]
    if op is FilterOperator.EQUALS:
        return f"{target} IN ({', '.join(vals)})"
    if op is FilterOperator.BETWEEN:
        return f"{target} BETWEEN {vals[0]} AND {vals[1]}"
    symbol = {
        FilterOperator.GREATER_THAN: ">",
        FilterOperator.LESS_THAN: "<",
        FilterOperator.GREATER_THAN_EQUAL: ">=",
        FilterOperator.LESS_THAN_EQUAL: "<=",
    }[op]
    return f"{target} {symbol} {vals[0]}"


def typed_literal(column: Column, value: str, where: str) -> str:
    """A SQL literal of the column's type.

    Raises:
        InvalidField: the value is not of the column's type.
    """
    kind = column.type
    try:
        if kind is DomoType.LONG:
            return str(int(value.strip()))
        if kind in (DomoType.DOUBLE, DomoType.DECIMAL):
            number = Decimal(value.strip())
            if not number.is_finite():
                raise ValueError(value)
            sql_type = "DOUBLE" if kind is DomoType.DOUBLE else "DECIMAL(38,9)"
            return f"CAST({literal(str(number))} AS {sql_type})"
        if kind is DomoType.DATE:
            return f"DATE {literal(dt.date.fromisoformat(value.strip()).isoformat())}"
        if kind is DomoType.DATETIME:
            stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            if stamp.tzinfo is not None:  # stored in UTC, as a loaded value with an offset is
                stamp = stamp.astimezone(dt.UTC)
            return f"TIMESTAMP {literal(stamp.replace(tzinfo=None).isoformat(sep=' '))}"
    except (ValueError, InvalidOperation, OverflowError):
        raise InvalidField(where, f"{value!r} is not a {kind.value} value for column {column.name!r}") from None
    return literal(value)
