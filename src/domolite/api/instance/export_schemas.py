"""Wire shapes of Export to S3: the request body (with Domo's QueryRequest tree) and the export object."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import AliasChoices, Field, field_validator

from domolite.api.public.schemas import WireModel
from domolite.errors import InvalidField
from domolite.export.jobs import ExportRequest
from domolite.models.enums import parse_member
from domolite.models.exports import (
    Compression,
    ExportFormat,
    ExportJob,
    ExportOptions,
    S3Credentials,
    check_bucket,
    check_endpoint_url,
    check_region,
    time_text,
)
from domolite.query.request import (
    Aggregate,
    ColumnExpr,
    Compare,
    Comparison,
    Condition,
    Logic,
    Negation,
    OrderBy,
    QuerySpec,
    Value,
)

_AGGREGATES = {
    "SUM": Aggregate.SUM,
    "COUNT": Aggregate.COUNT,
    "AVG": Aggregate.AVG,
    "AVERAGE": Aggregate.AVG,
    "MIN": Aggregate.MIN,
    "MAX": Aggregate.MAX,
    "COUNT_DISTINCT": Aggregate.COUNT_DISTINCT,
    "COUNT DISTINCT": Aggregate.COUNT_DISTINCT,
    "COUNTDISTINCT": Aggregate.COUNT_DISTINCT,
    "DISTINCT_COUNT": Aggregate.COUNT_DISTINCT,
}
_VALUE_KINDS = {"STRING_VALUE": "string", "NUMERIC_VALUE": "number", "DATE_VALUE": "date"}
_LIST_KINDS = frozenset({"LIST", "LIST_VALUE", "VALUES", "VALUE_LIST"})


class ExportIn(WireModel):
    aws_access_key: str | None = None
    aws_access_secret: str | None = None
    session_token: str | None = Field(default=None, validation_alias=AliasChoices("sessionToken", "awsSessionToken"))
    aws_kms_key: str | None = None
    bucket: str | None = None
    path: str | None = None
    region: str | None = None
    source: str | None = None
    query_request: dict[str, Any] | None = None
    export_format: str | None = Field(default=None, validation_alias=AliasChoices("exportFormat", "format"))
    compression: str | None = None
    max_file_size: int | None = None
    endpoint_url: str | None = None
    path_style: bool | None = None

    @field_validator("aws_access_key", "aws_access_secret", "session_token", "aws_kms_key", "bucket", "region")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) and value.strip() else None

    def to_domain(self) -> ExportRequest:
        """The request in domain terms. Raises InvalidField naming the first field that is wrong."""
        if not self.aws_access_key:
            raise InvalidField("awsAccessKey", "required")
        if not self.aws_access_secret:
            raise InvalidField("awsAccessSecret", "required")
        if not self.bucket:
            raise InvalidField("bucket", "required")
        check_bucket(self.bucket, "bucket")
        if not self.region:
            raise InvalidField("region", "required: the region of the bucket, e.g. us-east-1")
        check_region(self.region, "region")
        if self.path is not None and len(self.path) > 900:
            raise InvalidField("path", "longer than 900 characters")
        fmt = _enum(ExportFormat, self.export_format or "csv", "exportFormat")
        default_codec = "snappy" if fmt is ExportFormat.PARQUET else "none"
        compression = _enum(Compression, self.compression or default_codec, "compression")
        if self.max_file_size is not None and self.max_file_size < 1024:
            raise InvalidField("maxFileSize", "must be at least 1024 bytes")
        endpoint = check_endpoint_url(self.endpoint_url, "endpointUrl") if self.endpoint_url else None
        query = self.query_request or {}
        if not isinstance(query, dict):
            raise InvalidField("queryRequest", "must be an object")
        include_bom = query.get("includeBOM", False)
        if not isinstance(include_bom, bool):
            raise InvalidField("queryRequest.includeBOM", "must be true or false")
        return ExportRequest(
            bucket=self.bucket,
            region=self.region,
            path=self.path,
            credentials=S3Credentials(self.aws_access_key, self.aws_access_secret, self.session_token),
            options=ExportOptions(
                format=fmt,
                compression=compression,
                include_bom=include_bom,
                max_object_bytes=self.max_file_size,
            ),
            query=parse_query(query.get("query"), "queryRequest.query"),
            endpoint_url=endpoint,
            path_style=self.path_style if self.path_style is not None else endpoint is not None,
            kms_key_id=self.aws_kms_key,
        )


def _enum(kind: Any, value: str, where: str) -> Any:
    return parse_member(kind, value, where, "value", text=str(value).lower())


# -- the QueryRequest tree -----------------------------------------------------------------------------------
def parse_query(raw: Any, where: str) -> QuerySpec:
    if raw is None:
        return QuerySpec()
    if not isinstance(raw, dict):
        raise InvalidField(where, "must be an object")
    columns = tuple(_column_expr(c, f"{where}.columns[{i}]") for i, c in enumerate(_list(raw, "columns", where)))
    group_by = tuple(
        _column_expr(c, f"{where}.groupByColumns[{i}]") for i, c in enumerate(_list(raw, "groupByColumns", where))
    )
    order_by = tuple(
        _order(o, f"{where}.orderByColumns[{i}]") for i, o in enumerate(_list(raw, "orderByColumns", where))
    )
    where_raw = raw.get("where")
    condition = _condition(where_raw, f"{where}.where") if where_raw else None
    return QuerySpec(columns=columns, where=condition, group_by=group_by, order_by=order_by)


def _list(raw: dict[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidField(f"{where}.{key}", "must be a list")
    return value


def _expr_type(raw: dict[str, Any], where: str) -> str:
    kind = raw.get("exprType")
    if not isinstance(kind, str) or not kind.strip():
        raise InvalidField(f"{where}.exprType", "required")
    return kind.strip().upper()


def _column_expr(raw: Any, where: str) -> ColumnExpr:
    if isinstance(raw, str):
        return ColumnExpr(raw, None, None, where)
    if not isinstance(raw, dict):
        raise InvalidField(where, "must be an object with column and exprType")
    kind = _expr_type(raw, where) if "exprType" in raw else "COLUMN"
    alias = raw.get("alias")
    if alias is not None and not isinstance(alias, str):
        raise InvalidField(f"{where}.alias", "must be a string")
    name = raw.get("column")
    if kind == "COLUMN":
        if not isinstance(name, str) or not name:
            raise InvalidField(f"{where}.column", "required")
        return ColumnExpr(name, None, alias, where)
    aggregate = _AGGREGATES.get(kind)
    if aggregate is None:
        raise InvalidField(
            f"{where}.exprType",
            f"unknown exprType {raw.get('exprType')!r}; expected COLUMN, SUM, COUNT, AVG, MIN, MAX or COUNT_DISTINCT",
        )
    if name in (None, "*") and aggregate is Aggregate.COUNT:
        return ColumnExpr(None, aggregate, alias, where)
    if not isinstance(name, str) or not name:
        raise InvalidField(f"{where}.column", "required")
    return ColumnExpr(name, aggregate, alias, where)


def _order(raw: Any, where: str) -> OrderBy:
    if isinstance(raw, str):
        return OrderBy(ColumnExpr(raw, None, None, where), False)
    if not isinstance(raw, dict):
        raise InvalidField(where, "must be an object with column and order")
    inner = raw.get("expression") or raw.get("expr")
    expr = _column_expr(inner, f"{where}.expression") if isinstance(inner, dict) else _column_expr(raw, where)
    direction = raw.get("order") or raw.get("direction") or raw.get("sortOrder") or "ASCENDING"
    text = str(direction).strip().upper()
    if text in ("ASC", "ASCENDING"):
        return OrderBy(expr, False)
    if text in ("DESC", "DESCENDING"):
        return OrderBy(expr, True)
    raise InvalidField(f"{where}.order", f"unknown direction {direction!r}; expected ASCENDING or DESCENDING")


def _value(raw: dict[str, Any], kind: str, where: str) -> Value:
    value = raw.get("value")
    label = _VALUE_KINDS[kind]
    if label == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    value = float(value) if any(ch in value for ch in ".eE") else int(value)
                except ValueError:
                    raise InvalidField(f"{where}.value", f"{value!r} is not a number") from None
            else:
                raise InvalidField(f"{where}.value", f"{value!r} is not a number")
        return Value("number", value, f"{where}.value")
    if label == "date":
        if not isinstance(value, str):
            raise InvalidField(f"{where}.value", "a DATE_VALUE is a string such as 2024-01-31 or 2024-01-31T10:00:00")
        return Value("date", _date(value, f"{where}.value"), f"{where}.value")
    if value is None or isinstance(value, dict | list):
        raise InvalidField(f"{where}.value", "a STRING_VALUE needs a value")
    return Value("string", str(value), f"{where}.value")


def _date(text: str, where: str) -> date | datetime:
    raw = text.strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        raise InvalidField(where, f"{text!r} is not a date (YYYY-MM-DD) or date-time") from None
    except OverflowError:  # an offset that carries it past the years 1 to 9999
        raise InvalidField(where, f"{text!r} is out of the range of dates (years 1 to 9999)") from None


def _operand(raw: Any, where: str) -> tuple[ColumnExpr | Value, ...]:
    """One operand, or several for a list (a JSON list, a LIST expression, or a value holding a list)."""
    if isinstance(raw, list):
        out: list[ColumnExpr | Value] = []
        for i, item in enumerate(raw):
            out.extend(_operand(item, f"{where}[{i}]"))
        return tuple(out)
    if not isinstance(raw, dict):
        raise InvalidField(where, "must be an expression object with exprType")
    kind = _expr_type(raw, where)
    if kind in _LIST_KINDS:
        items = raw.get("values", raw.get("value"))
        if not isinstance(items, list):
            raise InvalidField(f"{where}.values", "must be a list")
        return _operand(items, f"{where}.values")
    if kind in _VALUE_KINDS:
        value = raw.get("value")
        if isinstance(value, list):
            return tuple(_value({"value": v}, kind, f"{where}.value[{i}]") for i, v in enumerate(value))
        return (_value(raw, kind, where),)
    if kind == "COLUMN" or kind in _AGGREGATES:
        return (_column_expr(raw, where),)
    raise InvalidField(
        f"{where}.exprType",
        f"unknown exprType {raw.get('exprType')!r}; expected COLUMN, STRING_VALUE, NUMERIC_VALUE or DATE_VALUE",
    )


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, dict):
        raise InvalidField(where, "must be an expression object with exprType")
    kind = _expr_type(raw, where)
    if kind in ("AND", "OR"):
        items = raw.get("expressions") or raw.get("exprs")
        if isinstance(items, list) and items:
            parts = tuple(_condition(e, f"{where}.expressions[{i}]") for i, e in enumerate(items))
        else:
            if "leftExpr" not in raw or "rightExpr" not in raw:
                raise InvalidField(where, f"{kind} needs leftExpr and rightExpr (or a list of expressions)")
            parts = (
                _condition(raw["leftExpr"], f"{where}.leftExpr"),
                _condition(raw["rightExpr"], f"{where}.rightExpr"),
            )
        return Logic(kind, parts)
    if kind == "NOT":
        key = next((k for k in ("expr", "expression", "leftExpr") if k in raw), None)
        if key is None:
            raise InvalidField(where, "NOT needs expr")
        return Negation(_condition(raw[key], f"{where}.{key}"))
    try:
        op = Comparison(kind)
    except ValueError:
        allowed = ", ".join(c.value for c in Comparison)
        raise InvalidField(
            f"{where}.exprType", f"unknown exprType {raw.get('exprType')!r}; expected AND, OR, NOT, {allowed}"
        ) from None
    if "leftExpr" not in raw:
        raise InvalidField(f"{where}.leftExpr", "required")
    left = _operand(raw["leftExpr"], f"{where}.leftExpr")
    if len(left) != 1:
        raise InvalidField(f"{where}.leftExpr", "must be one column or value")
    if op in (Comparison.IS_NULL, Comparison.IS_NOT_NULL):
        return Compare(op, left[0], (), where)
    if "rightExpr" not in raw:
        raise InvalidField(f"{where}.rightExpr", "required")
    right = _operand(raw["rightExpr"], f"{where}.rightExpr")
    return Compare(op, left[0], right, where)


# -- the export object ---------------------------------------------------------------------------------------
def export_out(job: ExportJob, *, detail: bool = False) -> dict[str, Any]:
    done = {o.url: o.rows for o in job.objects}
    out: dict[str, Any] = {
        "bucket": job.bucket,
        "compression": job.compression.value,
        "errorCode": job.error_code,
        "exportFormat": job.format.value,
        "exportId": job.id,
        "exportStatus": job.state.value,
        "finished": time_text(job.finished_at),
        "message": job.message,
        "started": time_text(job.started_at or job.created_at),
        "tempUrlRowCountMap": {} if job.state.value == "success" else done,
        "urlRowCountMap": done if job.state.value == "success" else {},
    }
    if detail:
        out["datasetId"] = job.dataset_id
        out["path"] = job.prefix
        out["rowsWritten"] = job.rows_written
        out["bytesWritten"] = job.bytes_written
        out["manifestUrl"] = job.manifest_url
        out["requestedAt"] = time_text(job.created_at)
    return out
