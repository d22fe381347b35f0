"""Wire shapes: camelCase lives here and only here. Inputs are pydantic models; outputs are built as dicts
so that key order is exactly Domo's (pydomo compares schema JSON as strings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from domolite.models import Column, DataSet, DomoType, Execution, Stream, User


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


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
    id: int


class DataSetIn(WireModel):
    name: str = Field(min_length=1)
    description: str = ""
    schema_: SchemaIn = Field(alias="schema")
    owner: OwnerIn | None = None
    pdp_enabled: bool = False


class DataSetUpdateIn(WireModel):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
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
    sql: str

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
        "id": execution.id,
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
