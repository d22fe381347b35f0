"""Data versions (one DuckLake snapshot per committed load), the version-window filter of
data-version-hydrate,
and indexing, which in domolite compacts a DataSet's small files (committed data is queryable at once)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from domolite.catalog.product import ProductStore
from domolite.datasets.service import DataSets
from domolite.errors import DataVersionNotFound, DomoError, InvalidField
from domolite.models.records import DataSet, IndexRequest, Principal
from domolite.storage.tables import Tables


@dataclass(frozen=True)
class DataVersion:
    dataset_id: str
    version: int  # the DuckLake snapshot id: Domo's dataId / dataVersionId
    recorded_ms: int
    rows: int  # rows this version added
    row_count: int  # rows of the DataSet after it
    size: int  # bytes uploaded
    method: str
    data_tag: str | None

    def fields(self) -> dict[str, Any]:
        """The names a version-window expression may use."""
        return {
            "dataid": self.version,
            "dataversionid": self.version,
            "numrows": self.rows,
            "rowcount": self.row_count,
            "numbytes": self.size,
            "recordeddate": self.recorded_ms,
            "datatag": self.data_tag,
            "updatemethod": self.method,
        }


class Versions:
    def __init__(self, lake: Tables, product: ProductStore, datasets: DataSets, *, process_id: str) -> None:
        self.lake = lake
        self.product = product
        self.datasets = datasets
        self.process_id = process_id

    def of(self, dataset: DataSet) -> list[DataVersion]:
        out = []
        for snap in self.lake.snapshots(dataset.table):
            info = snap.info
            tag = info.get("partition") or info.get("deletePartition")
            out.append(
                DataVersion(
                    dataset_id=dataset.id,
                    version=snap.snapshot_id,
                    recorded_ms=snap.recorded_ms,
                    rows=int(info.get("rows", 0)),
                    row_count=int(info.get("rowCount", 0)),
                    size=int(info.get("bytes", 0)),
                    method=str(info.get("method", "REPLACE")),
                    data_tag=str(tag) if tag is not None else None,
                )
            )
        return out

    def of_id(self, principal: Principal, dataset_id: str) -> list[DataVersion]:
        return self.of(self.datasets.get(principal, dataset_id))

    def hydrate(self, principal: Principal, dataset_id: str, expression: str) -> list[DataVersion]:
        """The data versions for which the version-window expression holds."""
        check = compile_window(expression)
        return [v for v in self.of_id(principal, dataset_id) if check(v.fields())]

    def check_version(self, dataset: DataSet, version: int | None) -> int | None:
        """Time travel: `version` must be one of the DataSet's data versions."""
        if version is None:
            return None
        if not any(v.version == version for v in self.of(dataset)):
            raise DataVersionNotFound(dataset.id, version)
        return version

    # -- index -----------------------------------------------------------------------------------------------
    def index(self, principal: Principal, dataset_id: str) -> IndexRequest:
        """Compact the DataSet's files now; the request records how that ended."""
        dataset = self.datasets.get_for_edit(principal, dataset_id)
        index_id = self.product.open_index(dataset.id, self.process_id)
        try:
            merged = self.lake.compact(dataset.table)
        except DomoError as exc:
            return self.product.close_index(index_id, "ERROR", 0, exc.message)
        return self.product.close_index(index_id, "SUCCESS", merged, None)

    def recover(self, is_gone: Callable[[str | None], bool]) -> None:
        """Index requests a gone server process was running end ERROR."""
        for index_id, owner in self.product.running_index_owners():
            if is_gone(owner):
                self.product.fail_index(index_id, "interrupted: the server process running it stopped")

    def index_status(self, principal: Principal, dataset_id: str, index_id: int) -> IndexRequest:
        self.datasets.get(principal, dataset_id)
        return self.product.get_index(dataset_id, index_id)


# -- version-window expressions ------------------------------------------------------------------------------

_COMPARE: dict[type[exp.Expression], Callable[[Any, Any], bool]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}


def compile_window(expression: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over a version's fields from a SQL boolean expression such as `1=1`,
    `dataVersionId > 3`, `dataTag = '2024-01-01' AND numRows > 0` (comparisons, AND, OR, NOT, IN, IS NULL).

    Raises:
        InvalidField: the expression does not parse or uses something else.
    """
    text = (expression or "").strip() or "1=1"
    try:
        root = cast(exp.Expression, sqlglot.parse_one(text, read="mysql"))
    except (ParseError, TokenError) as exc:
        raise InvalidField("versionWindow.expression", f"does not parse: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise InvalidField("versionWindow.expression", "is nested too deeply; flatten it") from None

    def value(node: exp.Expression, row: dict[str, Any]) -> Any:
        if isinstance(node, exp.Paren):
            return value(node.this, row)
        if isinstance(node, exp.Literal):
            return str(node.this) if node.is_string else float(node.this)
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        if isinstance(node, exp.Null):
            return None
        if isinstance(node, exp.Column):
            key = node.name.lower()
            if key not in row:
                known = ", ".join(
                    sorted(
                        {
                            "dataId",
                            "dataVersionId",
                            "numRows",
                            "rowCount",
                            "numBytes",
                            "recordedDate",
                            "dataTag",
                            "updateMethod",
                        }
                    )
                )
                raise InvalidField("versionWindow.expression", f"unknown field {node.name!r}; use {known}")
            return row[key]
        if isinstance(node, exp.And):
            return bool(value(node.this, row)) and bool(value(node.expression, row))
        if isinstance(node, exp.Or):
            return bool(value(node.this, row)) or bool(value(node.expression, row))
        if isinstance(node, exp.Not):
            return not value(node.this, row)
        if isinstance(node, exp.Is):
            return value(node.this, row) is None
        if isinstance(node, exp.In):
            left = value(node.this, row)
            return any(_same(left, value(e, row)) for e in node.expressions)
        for kind, op in _COMPARE.items():
            if isinstance(node, kind):
                left, right = value(node.this, row), value(node.expression, row)
                if left is None or right is None:
                    return False
                if isinstance(left, int | float) != isinstance(right, int | float):
                    left, right = str(left), str(right)
                return op(left, right)
        raise InvalidField("versionWindow.expression", f"{node.sql(dialect='mysql')!r} is not supported")

    def predicate(row: dict[str, Any]) -> bool:
        try:
            return bool(value(root, row))
        except RecursionError:
            raise InvalidField("versionWindow.expression", "is nested too deeply; flatten it") from None

    fields = dict.fromkeys(DataVersion("", 0, 0, 0, 0, 0, "", None).fields())

    def check(node: exp.Expression) -> None:
        """Refuse what `value` would refuse, wherever it is: AND and OR stop early, so evaluating once on
        one row would not reach every part (`dataId > 0 AND (SELECT 1) = 1` with no versions)."""
        if isinstance(node, exp.Column):
            value(node, fields)  # an unknown field: InvalidField naming the known ones
            if node.table:
                raise InvalidField("versionWindow.expression", f"{node.sql(dialect='mysql')!r} is not supported")
            return
        plain_in = isinstance(node, exp.In) and not any(node.args.get(k) for k in ("query", "unnest", "field"))
        null_is = isinstance(node, exp.Is) and isinstance(node.expression, exp.Null)
        if not (plain_in or null_is or isinstance(node, _CHECKED)):
            raise InvalidField("versionWindow.expression", f"{node.sql(dialect='mysql')!r} is not supported")
        for child in node.iter_expressions():
            check(child)

    try:
        check(root)
    except RecursionError:
        raise InvalidField("versionWindow.expression", "is nested too deeply; flatten it") from None
    return predicate


# The nodes `compile_window` evaluates as they are (IN and IS are checked by their parts).
_CHECKED: tuple[type[exp.Expression], ...] = (
    exp.Paren,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.And,
    exp.Or,
    exp.Not,
    *_COMPARE,
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return str(a) == str(b)
