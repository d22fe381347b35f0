"""Wire shapes: camelCase lives here and only here. Inputs are pydantic models; outputs are built as dicts
so that key order is exactly Domo's (pydomo compares schema JSON as strings)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from domolite.models.limits import Limits
from domolite.models.records import Column, DataSet, DomoType, Execution, Stream, User
from domolite.query.door import QueryResult

INT64_MAX = 2**63 - 1


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def _limited(kind: str) -> Callable[[Any, ValidationInfo], Any]:
    """A check of a text field's length against the limits in the validation context (see body.parse_body)."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            limits = (info.context or {}).get("limits") or Limits()
            problem = limits.too_long(value, kind)
            if problem is not None:
                raise PydanticCustomError("too_long", "{problem}", {"problem": problem})
        return value

    return check


# Text fields checked against the limits (docs/configuration.md): a name, a description, SQL text, and the
# fields whose catalog columns have a fixed width.
Name = Annotated[str, AfterValidator(_limited("name"))]
Description = Annotated[str, AfterValidator(_limited("description"))]
SqlText = Annotated[str, AfterValidator(_limited("sql"))]
Email = Annotated[str, AfterValidator(_limited("email"))]
ProviderType = Annotated[str, AfterValidator(_limited("provider"))]
# An id or count as the catalog stores it: a 64-bit signed integer (outside that range: a 400 naming it).
Int64 = Annotated[int, Field(ge=-(2**63), le=INT64_MAX)]
IdPath = Annotated[int, Path(ge=-(2**63), le=INT64_MAX)]
PageQuery = Annotated[int | None, Query(ge=-(2**63), le=INT64_MAX)]


class ColumnIn(WireModel):
    type: str
    name: str

    @field_validator("name", mode="before")
    @classmethod
    def _name_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    def to_domain(self, where: str) -> Column:
        return Column(name=self.name, type=DomoType.parse(self.type, f"{where}.type"))


class SchemaIn(WireModel):
    columns: list[ColumnIn]

    def to_domain(self) -> tuple[Column, ...]:
        return tuple(c.to_domain(f"schema.columns[{i}]") for i, c in enumerate(self.columns))


class OwnerIn(WireModel):
    id: Int64


class DataSetIn(WireModel):
    name: Name = Field(min_length=1)
    description: Description = ""
    schema_: SchemaIn = Field(alias="schema")
    owner: OwnerIn | None = None
    pdp_enabled: bool = False


class DataSetUpdateIn(WireModel):
    name: Name | None = Field(default=None, min_length=1)
    description: Description | None = None
    schema_: SchemaIn | None = Field(default=None, alias="schema")
    owner: OwnerIn | None = None
    pdp_enabled: bool | None = None


class StreamIn(WireModel):
    data_set: DataSetIn
    update_method: str = "APPEND"
    key_column_names: list[str] = []


class StreamPatchIn(WireModel):
    update_method: str | None = None
    key_column_names: list[str] | None = None


class ExecutionIn(WireModel):
    update_method: str | None = None


class QueryIn(WireModel):
    sql: SqlText

    @field_validator("sql", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        # pydomo's docstring example produces {"sql": {"sql": "..."}}; accept it.
        if isinstance(value, dict) and "sql" in value:
            return value["sql"]
        return value


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def schema_out(columns: tuple[Column, ...]) -> dict[str, Any]:
    return {"columns": [{"type": c.type.value, "name": c.name} for c in columns]}


def dataset_out(dataset: DataSet, owner: User | None) -> dict[str, Any]:
    return {
        "id": dataset.id,
        "name": dataset.name,
        "description": dataset.description,
        "rows": dataset.row_count,
        "columns": len(dataset.columns),
        "schema": schema_out(dataset.columns),
        "owner": {"id": dataset.owner_id, "name": owner.name if owner else ""},
        "createdAt": iso(dataset.created_at),
        "updatedAt": iso(dataset.updated_at),
        "dataCurrentAt": iso(dataset.data_updated_at),
        "pdpEnabled": dataset.pdp_enabled,
    }


def stream_out(stream: Stream, dataset: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": stream.id,
        "dataSet": dataset,
        "updateMethod": stream.update_method.value,
        "createdAt": iso(stream.created_at),
        "modifiedAt": iso(stream.modified_at),
    }
    if stream.key_columns:
        out["keyColumnNames"] = list(stream.key_columns)
    return out


def execution_out(execution: Execution, hide_rows: bool = False) -> dict[str, Any]:
    """An execution; `hide_rows` for a PDP-filtered reader (its row count is not theirs to see)."""
    out: dict[str, Any] = {
        "id": execution.number,  # the stream's own sequence
        "startedAt": iso(execution.created_at),
        "currentState": execution.state.value,
        "createdAt": iso(execution.created_at),
        "modifiedAt": iso(execution.modified_at),
        "updateMethod": execution.update_method.value,
        "uploadedParts": execution.parts,
        "rows": None if hide_rows else execution.rows,
        "bytes": execution.bytes,
    }
    if execution.ended_at:
        out["endedAt"] = iso(execution.ended_at)
    if execution.message:
        out["errors"] = [{"message": execution.message}]
    return out


def query_out(
    dataset: DataSet, result: QueryResult, *, duration_ms: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one shape of a query answer, as the members before its rows and after them (see `JSONWithRows`): the
    public API's (POST /v1/datasets/query/execute), or with `duration_ms` the instance API's, which also flags
    each column as neither aggregated nor analytic and says how long the query took."""
    instance = duration_ms is not None
    metadata = []
    for t in result.types:
        column: dict[str, Any] = {
            "type": t.value,
            "dataSourceId": dataset.id,
            "maxLength": -1,
            "minLength": -1,
            "periodIndex": 0,
        }
        if instance:
            column.update(aggregated=False, analytic=False)
        metadata.append(column)
    head = {"datasource": dataset.id, "columns": result.columns, "metadata": metadata}
    tail: dict[str, Any] = {"numRows": result.row_count, "numColumns": len(result.columns), "fromcache": False}
    if instance:
        tail["duration"] = str(duration_ms)
    return head, tail
