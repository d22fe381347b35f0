"""Wire shapes of the instance product API (/api/...): camelCase lives here. Inputs are lenient
pydantic models
(ids as strings or numbers, booleans as JSON or text); outputs are dicts in Domo's field order."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domolite.api.public.schemas import Description, Email, Int64, Name, ProviderType, SqlText
from domolite.connectors.schedule import parse as parse_schedule
from domolite.connectors.streams import ConnectorStream
from domolite.connectors.writeback import PROVIDER_KEY
from domolite.datasets.versions import DataVersion
from domolite.errors import InvalidField
from domolite.models.records import Column, DataSet, DomoType, Execution, IndexRequest, Partition, RunInfo, User


class Lenient(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


# -- inputs --------------------------------------------------------------------------------------------------


class LoginIn(Lenient):
    method: str = "password"
    email_address: Email = Field("", alias="emailAddress")
    password: str = ""


class DataControlIn(Lenient):
    filter_group_ids: list[Int64] = Field(default_factory=list, alias="filterGroupIds")
    preview_pdp: bool = Field(False, alias="previewPdp")


class QueryContextIn(Lenient):
    data_control_context: DataControlIn | None = Field(None, alias="dataControlContext")


class SqlIn(Lenient):
    sql: SqlText
    context: QueryContextIn | None = None

    def preview_policies(self) -> list[int] | None:
        """The policies (filter groups) a PDP preview shows, or None when the query is no preview."""
        control = self.context.data_control_context if self.context else None
        return list(control.filter_group_ids) if control is not None and control.preview_pdp else None


class SchemaColumnIn(Lenient):
    name: str
    id: str | None = None
    type: str
    visible: bool | str | None = None

    _name = field_validator("name", "id", mode="before")(_text)

    def to_domain(self, where: str) -> tuple[Column, str | None]:
        visible = self.visible if isinstance(self.visible, bool) else (self.visible or "true").lower() != "false"
        return Column(name=self.name, type=DomoType.parse(self.type, f"{where}.type"), visible=visible), self.id


class SchemaIn(Lenient):
    columns: list[SchemaColumnIn]


class CreateIn(Lenient):
    user_defined_type: ProviderType = Field("api", alias="userDefinedType")
    data_source_name: Name = Field(alias="dataSourceName", min_length=1)
    data_source_description: Description = Field("", alias="dataSourceDescription")
    description: Description = ""
    schema_: SchemaIn = Field(default_factory=lambda: SchemaIn(columns=[]), alias="schema")


class UploadIn(Lenient):
    action: str | None = None
    append_id: str | None = Field(None, alias="appendId")
    message: str | None = None
    values: str | None = None  # the append-row upload: one row, split at `delimiter`
    delimiter: str | None = None

    _append = field_validator("append_id", "values", mode="before")(_text)


class CommitIn(Lenient):
    action: str | None = None
    index: bool | str | None = None
    data_tag: str | None = Field(None, alias="dataTag")
    restate_data_tag: str | None = Field(None, alias="restateDataTag")
    append_id: str | None = Field(None, alias="appendId")

    _tags = field_validator("data_tag", "restate_data_tag", "append_id", mode="before")(_text)

    def wants_index(self) -> bool:
        """`index` as sent (`true`, `"false"`, …); absent means true. Every commit is queryable at once either
        way; the reply says what was asked."""
        if isinstance(self.index, bool):
            return self.index
        return self.index is None or self.index.strip().lower() not in ("false", "0", "no", "n", "off")


class FilterValuesIn(Lenient):
    min: Any = Field(None, alias="MIN")
    max: Any = Field(None, alias="MAX")


class PaginationFieldIn(Lenient):
    field_name: str = Field("datecompleted", alias="fieldName")
    sort_order: str = Field("ASC", alias="sortOrder")
    filter_values: FilterValuesIn | None = Field(None, alias="filterValues")


class PartitionListIn(Lenient):
    pagination_fields: list[PaginationFieldIn] = Field(default_factory=list, alias="paginationFields")
    limit: int = Field(100, ge=0, le=2**63 - 1)
    offset: int = Field(0, ge=0, le=2**63 - 1)


class IndexIn(Lenient):
    data_ids: list[Int64] = Field(default_factory=list, alias="dataIds")


class VersionWindowIn(Lenient):
    type: str = "EXPRESSION"
    expression: SqlText = "1=1"


class HydrateIn(Lenient):
    data_source_id: str = Field(alias="dataSourceId")
    version_window: VersionWindowIn = Field(default_factory=VersionWindowIn, alias="versionWindow")


class TransportIn(Lenient):
    type: str = "CONNECTOR"
    description: str = ""
    version: str = "0"

    _version = field_validator("version", mode="before")(_text)


class ProviderIn(Lenient):
    key: ProviderType = Field(min_length=1)


class StreamDataSourceIn(Lenient):
    name: Name | None = None
    description: Description | None = None


class StreamIn(Lenient):
    transport: TransportIn = Field(default_factory=TransportIn)
    configuration: list[dict[str, Any]] = Field(default_factory=list)
    account: dict[str, Any] | None = None
    update_method: str | None = Field(None, alias="updateMethod")
    data_provider: ProviderIn | None = Field(None, alias="dataProvider")
    data_source: StreamDataSourceIn = Field(default_factory=StreamDataSourceIn, alias="dataSource")
    advanced_schedule_json: str | dict[str, Any] | None = Field(None, alias="advancedScheduleJson")
    schedule_retry_count: int | None = Field(None, alias="scheduleRetryCount", ge=0, le=10)

    def schedule(self) -> str | None:
        if isinstance(self.advanced_schedule_json, dict):
            return json.dumps(self.advanced_schedule_json)
        return self.advanced_schedule_json


class SearchFilterIn(Lenient):
    field: str
    filter_type: str = Field("term", alias="filterType")
    query: Any = None
    value: Any = None
    not_: bool = Field(False, alias="not")


class SearchIn(Lenient):
    entities: list[str] = Field(default_factory=lambda: ["DATASET"])
    filters: list[SearchFilterIn] = Field(default_factory=list)
    query: str = "*"
    count: int = Field(100, ge=0)
    offset: int = Field(0, ge=0)


# -- outputs -------------------------------------------------------------------------------------------------


def epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.replace(tzinfo=UTC).timestamp() * 1000)


def epoch_s(value: datetime | None) -> int | None:
    """Whole epoch seconds, as the product streams API shows them (a typed client rejects a fraction)."""
    return None if value is None else int(value.replace(tzinfo=UTC).timestamp())


def iso_ms(value: datetime) -> str:
    """Domo's dateCompleted form: 2023-01-24T14:27:21.000+00:00."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+00:00"


def datasource_out(
    dataset: DataSet, owner: User | None, *, stream_id: int | None, connector: bool, permissions: str
) -> dict[str, Any]:
    provider = dataset.data_provider_type
    out: dict[str, Any] = {
        "id": dataset.id,
        "displayType": provider,
        "dataProviderType": provider,
        "type": provider,
        "name": dataset.name,
        "description": dataset.description,
        "owner": {
            "id": str(dataset.owner_id),
            "name": owner.name if owner else "",
            "type": "USER",
            "group": False,
        },
        "status": "SUCCESS",
        "created": epoch_ms(dataset.created_at),
        "lastTouched": epoch_ms(dataset.updated_at),
        "lastUpdated": epoch_ms(dataset.data_updated_at or dataset.created_at),
        "rowCount": dataset.row_count,
        "columnCount": len(dataset.columns),
        "cardInfo": {"cardCount": 0, "cardViewCount": 0},
        "properties": {"formulas": {"formulas": {}}, **dataset.properties},
        "state": "SUCCESS",
        "validConfiguration": True,
        "validAccount": True,
    }
    if stream_id is not None:
        out["streamId"] = stream_id
    out.update(
        {
            "transportType": "CONNECTOR" if connector else "API",
            "adc": False,
            "adcExternal": False,
            "adcSource": "DIRECT",
            "masked": False,
            "currentUserFullAccess": permissions == "READ_WRITE_DELETE_SHARE_ADMIN",
            "cloudId": "domo",
            "cloudName": "Domo",
            "permissions": permissions,
            "hidden": False,
            "tags": json.dumps(list(dataset.tags)),
            "scheduleActive": True,
            "cardCount": 0,
            "cryoStatus": "ADRENALINE",
            "cloudEngine": "domo",
            "pdpEnabled": dataset.pdp_enabled,
        }
    )
    return out


def schema_out(dataset: DataSet, include_hidden: bool = False) -> dict[str, Any]:
    """The indexed schema: hidden columns only when `include_hidden`; `order` is the place in the DataSet."""
    return {
        "name": "schema",
        "tables": [
            {
                "name": "table",
                "columns": [
                    {"name": c.name, "id": c.name, "type": c.type.value, "visible": c.visible, "order": i}
                    for i, c in enumerate(dataset.columns)
                    if c.visible or include_hidden
                ],
            }
        ],
        "dataSourceId": dataset.id,
    }


def data_version_out(v: DataVersion, hide_rows: bool = False) -> dict[str, Any]:
    return {
        "dataSourceId": v.dataset_id,
        "dataId": v.version,
        "dataVersionId": v.version,
        "uploadStatus": "SUCCESS",
        "status": "SUCCESS",
        "statusMessage": None,
        "numRows": None if hide_rows else v.rows,
        "rowCount": None if hide_rows else v.row_count,
        "numBytes": v.size,
        "sizeBytes": v.size,
        "recordedDate": v.recorded_ms,
        "datetimeRecorded": v.recorded_ms,
        "datetimeUploadCompleted": v.recorded_ms,
        "updateMethod": v.method,
        "dataTag": v.data_tag,
    }


def partition_out(p: Partition, hide_rows: bool = False) -> dict[str, Any]:
    return {
        "partitionId": p.tag,
        "dataId": p.data_id,
        "dateCompleted": iso_ms(p.completed_at),
        "rowCount": None if hide_rows else p.row_count,
    }


def index_out(req: IndexRequest) -> dict[str, Any]:
    return {
        "indexId": req.id,
        "id": req.id,
        "dataSourceId": req.dataset_id,
        "status": req.status,
        "filesMerged": req.files_merged,
        "message": req.message,
        "created": epoch_ms(req.created_at),
        "completed": epoch_ms(req.ended_at),
    }


def execution_out(e: Execution, stream_id: int, info: RunInfo | None = None, hide_rows: bool = False) -> dict[str, Any]:
    return {
        "streamId": stream_id,
        "executionId": e.number,  # the stream's own sequence; `uploadId` is the upload's id
        "toe": f"{stream_id}-{e.number}",
        "startedAt": epoch_s(e.created_at),
        "endedAt": epoch_s(e.ended_at),
        "updateMethod": e.update_method.value,
        "index": True,
        "retryCount": info.attempt if info else 0,
        "currentState": e.state.value,
        "currentPhase": "FINAL" if e.ended_at else "RUNNING",
        "runType": info.run_type if info else "MANUAL",
        "startedBy": info.started_by if info else None,
        "createdAt": epoch_s(e.created_at),
        "modifiedAt": epoch_s(e.modified_at),
        "removed": False,
        "rowsInserted": None if hide_rows else e.rows,
        "bytesInserted": e.bytes,
        "uploadId": e.id,
        "exportId": info.export_id if info else None,
        "errors": _errors(e),
    }


def _errors(e: Execution) -> list[dict[str, Any]]:
    return [{"message": e.message}] if e.message and e.state.value == "ERROR" else []


def history_out(e: Execution, stream_id: int, info: RunInfo | None = None, hide_rows: bool = False) -> dict[str, Any]:
    return {
        "streamId": stream_id,
        "executionId": e.number,
        "currentState": e.state.value,
        "rowsInserted": None if hide_rows else e.rows,
        "bytesInserted": e.bytes,
        "startedAt": epoch_s(e.created_at),
        "endedAt": epoch_s(e.ended_at),
        "updateMethod": e.update_method.value,
        "runType": info.run_type if info else "MANUAL",
        "retryCount": info.attempt if info else 0,
        "peakMemoryUsedBytes": None,
        "errors": _errors(e),
    }


def schedule_expression(advanced: str | None) -> str | None:
    """`scheduleExpression` of a stream's `advancedScheduleJson` (checked when it was stored)."""
    try:
        return parse_schedule(advanced).expression()
    except InvalidField:
        return None


# Display names of the providers domolite knows; others are named from their key.
PROVIDER_NAMES = {PROVIDER_KEY: "Amazon S3 Unload Writeback", "api": "API"}
RUNS_HERE = frozenset({PROVIDER_KEY})  # providers whose connector domolite runs


def provider_out(key: str, version: str, created: datetime, updated: datetime, runs_here: bool) -> dict[str, Any]:
    """The stream's `dataProvider` with every field Domo shows. `id` is derived from the key (stable across
    restarts and servers); `visibility` says whether domolite runs the provider's connector."""
    return {
        "id": zlib.crc32(key.encode()) % 1_000_000_000,
        "key": key,
        "name": PROVIDER_NAMES.get(key) or key.replace("-", " ").replace("_", " ").title(),
        "url": None,
        "defaultConnectorId": None,
        "defaultConnectorLabel": None,
        "authenticationScheme": "fields" if runs_here else None,
        "connectorValidatorPresent": False,
        "resourceBundlePresent": False,
        "moduleHandler": None,
        "iconPicker": False,
        "scope": "0",
        "producer": "DOMO",
        "version": version,
        "dateCreated": epoch_ms(created),
        "dateUpdated": epoch_ms(updated),
        "visibility": "WITH_CONNECTOR" if runs_here else "NONE",
        "type": "STANDARD",
        "authenticationSchemeConfiguration": [],
    }


def _account_out(view: ConnectorStream) -> dict[str, Any] | None:
    """The stream's account as Domo shows it (id, names, owner); the connector's own words if it is unknown."""
    account = view.account
    if account is None:
        return view.connector.account if view.connector else None
    return {
        "id": account.id,
        "name": account.name,
        "displayName": account.display_name,
        "userId": account.owner_id,
        "dataProviderType": account.provider_key,
        "valid": account.valid,
    }


def stream_out(view: ConnectorStream, datasource: dict[str, Any]) -> dict[str, Any]:
    c = view.connector
    stream = view.stream
    if c is not None:
        transport = {
            "type": c.transport.get("type", "CONNECTOR"),
            "description": c.transport.get("description", ""),
            "version": str(c.transport.get("version", "0")),
        }
        provider_key = c.provider_key
    else:
        transport = {"type": "API", "description": "domolite.upload", "version": "0"}
        provider_key = view.dataset.data_provider_type
    configuration = [
        {"streamId": stream.id, "category": "METADATA", "type": "string", **item}
        for item in (c.configuration if c else [])
    ]
    state = view.last.state.value if view.last else None
    runs = view.runs or {}
    next_at = view.schedule.next_run_at if view.schedule else None
    next_update = {"nextUpdate": epoch_ms(next_at)} if next_at is not None else {}
    return {
        "id": stream.id,
        "valid": True,
        "invalidExecutionId": None,
        "transport": transport,
        "updateMethod": stream.update_method.value,
        "dataProvider": provider_out(
            provider_key, transport["version"], stream.created_at, stream.modified_at, provider_key in RUNS_HERE
        ),
        "account": _account_out(view) if c else None,
        "dataSource": {**datasource, **next_update},
        "schemaDefinition": {
            "columns": [
                {"type": col.type.value, "name": col.name, "id": col.name, "visible": col.visible}
                for col in view.dataset.columns
            ]
        },
        "scheduleExpression": schedule_expression(c.schedule) if c else None,
        "scheduleStartDate": None,
        "advancedScheduleJson": c.schedule if c else None,
        "scheduleRetryExpression": None,
        "scheduleRetryCount": view.schedule.retry_count if view.schedule else 0,
        "lastExecution": execution_out(view.last, stream.id, runs.get(view.last.id)) if view.last else None,
        "lastSuccessfulExecution": (
            execution_out(view.last_success, stream.id, runs.get(view.last_success.id)) if view.last_success else None
        ),
        "currentExecution": (
            execution_out(view.last, stream.id, runs.get(view.last.id))
            if view.last and view.last.ended_at is None
            else None
        ),
        "currentExecutionState": state,
        "createdAt": epoch_s(stream.created_at),
        "createdBy": c.created_by if c else view.dataset.owner_id,
        "modifiedAt": epoch_s(stream.modified_at),
        "modifiedBy": c.modified_by if c else view.dataset.owner_id,
        "scheduleState": "ACTIVE" if c and c.schedule else "INACTIVE",
        "scheduleAssertion": False,
        "inactiveScheduleCode": None,
        "configuration": configuration,
    }


def user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "invitorUserId": None,
        "displayName": user.name,
        "department": "",
        "userName": user.email,
        "emailAddress": user.email,
        "avatarKey": "",
        "accepted": True,
        "userType": "USER",
        "role": user.role.value,
        "active": True,
        "pending": False,
        "anonymous": False,
        "systemUser": False,
    }


def search_object_out(dataset: DataSet, owner: User | None) -> dict[str, Any]:
    owner_name = owner.name if owner else ""
    return {
        "entityType": "dataset",
        "databaseId": dataset.id,
        "id": dataset.id,
        "name": dataset.name,
        "description": dataset.description,
        "createDate": epoch_ms(dataset.created_at),
        "lastModified": epoch_ms(dataset.updated_at),
        "lastUpdated": epoch_ms(dataset.data_updated_at or dataset.created_at),
        "ownedById": str(dataset.owner_id),
        "ownedByName": owner_name,
        "ownedByType": "USER",
        "owners": [{"id": str(dataset.owner_id), "type": "USER", "displayName": owner_name}],
        "rowCount": dataset.row_count,
        "columnCount": len(dataset.columns),
        "dataprovidername": dataset.data_provider_type,
        "dataProviderType": dataset.data_provider_type,
        "pdpEnabled": dataset.pdp_enabled,
        "tags": list(dataset.tags),
        "cloudId": "domo",
        "cloudName": "Domo",
    }
