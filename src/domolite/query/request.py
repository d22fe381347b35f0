"""Domo's structured QueryRequest (columns, where tree, group by, order by), as SQL over the door's SELECT.

The wire form is parsed in `api/instance/export_schemas.py`; this module holds the parsed tree and turns it into
DuckDB SQL.
Every name is checked against the DataSet and quoted; every value becomes a literal. Nothing of the request is
pasted into SQL as text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domolite.errors import InvalidField
from domolite.models.records import Column, DataSet, DomoType
from domolite.storage.sqltext import ident, literal


class Aggregate(StrEnum):
    SUM = "SUM"
    COUNT = "COUNT"
    AVG = "AVG"
    MIN = "MIN"
    MAX = "MAX"
    COUNT_DISTINCT = "COUNT_DISTINCT"


class Comparison(StrEnum):
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    GREATER_THAN = "GREATER_THAN"
    GREATER_THAN_EQUAL = "GREATER_THAN_EQUAL"
    LESS_THAN = "LESS_THAN"
    LESS_THAN_EQUAL = "LESS_THAN_EQUAL"
    IN = "IN"
    NOT_IN = "NOT_IN"
    LIKE = "LIKE"
    CONTAINS = "CONTAINS"
    BETWEEN = "BETWEEN"
    IS_NULL = "IS_NULL"
    IS_NOT_NULL = "IS_NOT_NULL"


_OPERATORS = {
    Comparison.EQUALS: "=",
    Comparison.NOT_EQUALS: "<>",
    Comparison.GREATER_THAN: ">",
    Comparison.GREATER_THAN_EQUAL: ">=",
    Comparison.LESS_THAN: "<",
    Comparison.LESS_THAN_EQUAL: "<=",
    Comparison.LIKE: "LIKE",
}


@dataclass(frozen=True)
class ColumnExpr:
    """A column, or an aggregate of one (`name` None: COUNT(*)). `where` is the request field, for errors."""

    name: str | None
    aggregate: Aggregate | None
    alias: str | None
    where: str


@dataclass(frozen=True)
class Value:
    kind: str  # "string" | "number" | "date"
    value: str | int | float | date | datetime
    where: str


@dataclass(frozen=True)
class Compare:
    op: Comparison
    left: ColumnExpr | Value
    right: tuple[ColumnExpr | Value, ...]  # empty for IS_NULL, one for binary, a list for IN and BETWEEN
    where: str


@dataclass(frozen=True)
class Logic:
    op: str  # "AND" | "OR"
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    item: Condition


Condition = Compare | Logic | Negation


@dataclass(frozen=True)
class OrderBy:
    expr: ColumnExpr
    descending: bool


@dataclass(frozen=True)
class QuerySpec:
    """`landed` (naive UTC start and end) keeps only the rows that commits of that span wrote."""

    columns: tuple[ColumnExpr, ...] = ()
    where: Condition | None = None
    group_by: tuple[ColumnExpr, ...] = ()
    order_by: tuple[OrderBy, ...] = ()
    landed: tuple[datetime, datetime] | None = None


def _column(dataset: DataSet, expr: ColumnExpr) -> Column:
    assert expr.name is not None
    for col in dataset.columns:
        if col.name == expr.name:
            return col
    for col in dataset.columns:
        if col.name.lower() == expr.name.lower():
            return col
    names = ", ".join(repr(c.name) for c in dataset.columns)
    raise InvalidField(f"{expr.where}.column", f"DataSet {dataset.id} has no column {expr.name!r}; it has {names}")


def output_name(expr: ColumnExpr, dataset: DataSet) -> str:
    if expr.alias:
        return expr.alias
    if expr.aggregate is None:
        return _column(dataset, expr).name
    inner = "*" if expr.name is None else _column(dataset, expr).name
    if expr.aggregate is Aggregate.COUNT_DISTINCT:
        return f"COUNT(DISTINCT {inner})"
    return f"{expr.aggregate.value}({inner})"


def _expr_sql(expr: ColumnExpr, dataset: DataSet) -> str:
    if expr.aggregate is None:
        return ident(_column(dataset, expr).name)
    if expr.name is None:
        if expr.aggregate is not Aggregate.COUNT:
            raise InvalidField(f"{expr.where}.column", f"{expr.aggregate.value} needs a column")
        return "count(*)"
    col = _column(dataset, expr)
    if expr.aggregate in (Aggregate.SUM, Aggregate.AVG) and col.type not in (
        DomoType.LONG,
        DomoType.DOUBLE,
        DomoType.DECIMAL,
    ):
        raise InvalidField(
            f"{expr.where}.exprType",
            f"{expr.aggregate.value} needs a numeric column; {col.name!r} is {col.type.value}",
        )
    if expr.aggregate is Aggregate.COUNT_DISTINCT:
        return f"count(DISTINCT {ident(col.name)})"
    return f"{expr.aggregate.value.lower()}({ident(col.name)})"


def _value_sql(value: Value) -> str:
    v = value.value
    if value.kind == "number":
        if isinstance(v, bool) or not isinstance(v, int | float) or (isinstance(v, float) and not math.isfinite(v)):
            raise InvalidField(value.where, f"{v!r} is not a finite number")
        return repr(v)
    if value.kind == "date":
        if isinstance(v, datetime):
            return f"TIMESTAMP {literal(v.isoformat(sep=' '))}"
        if isinstance(v, date):
            return f"DATE {literal(v.isoformat())}"
        raise InvalidField(value.where, f"{v!r} is not a date")
    return literal(str(v))


def _operand_sql(operand: ColumnExpr | Value, dataset: DataSet, *, aggregates: bool) -> str:
    if isinstance(operand, Value):
        return _value_sql(operand)
    if operand.aggregate is not None and not aggregates:
        raise InvalidField(f"{operand.where}.exprType", "aggregates cannot be used in where")
    return _expr_sql(operand, dataset)


def condition_sql(cond: Condition, dataset: DataSet) -> str:
    """SQL for a where tree, with every column checked against the DataSet.

    Raises:
        InvalidField: unknown column, wrong number of values, or a value of the wrong kind.
    """
    if isinstance(cond, Logic):
        joiner = f" {cond.op} "
        return "(" + joiner.join(condition_sql(item, dataset) for item in cond.items) + ")"
    if isinstance(cond, Negation):
        return f"(NOT {condition_sql(cond.item, dataset)})"
    left = _operand_sql(cond.left, dataset, aggregates=False)
    rights = [_operand_sql(r, dataset, aggregates=False) for r in cond.right]
    op = cond.op
    if op is Comparison.IS_NULL:
        return f"({left} IS NULL)"
    if op is Comparison.IS_NOT_NULL:
        return f"({left} IS NOT NULL)"
    if op in (Comparison.IN, Comparison.NOT_IN):
        if not rights:
            raise InvalidField(f"{cond.where}.rightExpr", f"{op.value} needs at least one value")
        neg = "NOT " if op is Comparison.NOT_IN else ""
        return f"({left} {neg}IN ({', '.join(rights)}))"
    if op is Comparison.BETWEEN:
        if len(rights) != 2:
            raise InvalidField(f"{cond.where}.rightExpr", f"BETWEEN needs two values, got {len(rights)}")
        return f"({left} BETWEEN {rights[0]} AND {rights[1]})"
    if len(rights) != 1:
        raise InvalidField(f"{cond.where}.rightExpr", f"{op.value} needs exactly one value, got {len(rights)}")
    if op is Comparison.CONTAINS:
        return f"(strpos(CAST({left} AS VARCHAR), CAST({rights[0]} AS VARCHAR)) > 0)"
    if op is Comparison.LIKE:
        return f"(CAST({left} AS VARCHAR) LIKE CAST({rights[0]} AS VARCHAR))"
    return f"({left} {_OPERATORS[op]} {rights[0]})"


def to_sql(spec: QuerySpec, dataset: DataSet, source_sql: str) -> tuple[str, list[str]]:
    """The SELECT that answers `spec` over the rows of `source_sql` (the door's SELECT), and its column names.

    With no columns, every column of the DataSet is selected. With aggregates and no groupByColumns, the plain
    columns are the groups (as a Domo card groups).

    Raises:
        InvalidField: names the request field that is wrong (an unknown column, a plain column that is neither
            grouped nor aggregated, a bad value).
    """
    columns = spec.columns or tuple(
        ColumnExpr(c.name, None, None, f"queryRequest.query.columns[{i}]") for i, c in enumerate(dataset.columns)
    )
    select: list[str] = []
    names: list[str] = []
    seen: set[str] = set()
    for expr in columns:
        name = output_name(expr, dataset)
        if name.lower() in seen:
            raise InvalidField(f"{expr.where}", f"the output column {name!r} appears twice; give one an alias")
        seen.add(name.lower())
        select.append(f"{_expr_sql(expr, dataset)} AS {ident(name)}")
        names.append(name)
    has_aggregates = any(c.aggregate is not None for c in columns)
    group_cols = [ident(_column(dataset, g).name) for g in spec.group_by]
    for g in spec.group_by:
        if g.aggregate is not None:
            raise InvalidField(f"{g.where}.exprType", "groupByColumns take plain columns, not aggregates")
    if has_aggregates or group_cols:
        grouped = {_column(dataset, g).name for g in spec.group_by}
        plain = [c for c in columns if c.aggregate is None]
        if not spec.group_by:
            group_cols = list(dict.fromkeys(ident(_column(dataset, c).name) for c in plain))
        else:
            for c in plain:
                if _column(dataset, c).name not in grouped:
                    raise InvalidField(
                        f"{c.where}.column",
                        f"{_column(dataset, c).name!r} must be in groupByColumns or be aggregated",
                    )
    sql = f"SELECT {', '.join(select)} FROM ({source_sql}) AS {ident('table')}"
    if spec.where is not None:
        sql += f" WHERE {condition_sql(spec.where, dataset)}"
    if group_cols:
        sql += f" GROUP BY {', '.join(group_cols)}"
    if spec.order_by:
        keys = []
        for order in spec.order_by:
            expr = order.expr
            if has_aggregates or group_cols:
                # Order by an output column: aggregates by their output name, plain columns as grouped.
                target = ident(output_name(expr, dataset)) if expr.aggregate is not None else _expr_sql(expr, dataset)
                if expr.aggregate is not None and output_name(expr, dataset) not in names:
                    target = _expr_sql(expr, dataset)
            else:
                if expr.aggregate is not None:
                    raise InvalidField(f"{expr.where}.exprType", "ordering by an aggregate needs an aggregate query")
                target = _expr_sql(expr, dataset)
            keys.append(f"{target} {'DESC' if order.descending else 'ASC'} NULLS LAST")
        sql += f" ORDER BY {', '.join(keys)}"
    return sql, names
