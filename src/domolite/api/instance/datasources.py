"""/api/...: session login, the caller, DataSet metadata, create and delete, SQL, schema, tags, properties,
cards, and the CSV of a DataSet (now or at a data version)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Request
from starlette.responses import Response

from domolite.api.body import JsonDep, LaterBody, body_of, flag, later_body, optional_count, optional_int
from domolite.api.deps import (
    CallerDep,
    DataSetsDep,
    GuardDep,
    PrincipalDep,
    QueriesDep,
    SessionsDep,
    SettingsDep,
    client_address,
)
from domolite.api.instance.schemas import (
    CreateIn,
    LoginIn,
    SchemaIn,
    SqlIn,
    datasource_out,
    schema_out,
    user_out,
)
from domolite.api.lifetime import request_cancel, until_hung_up
from domolite.api.openapi import answers_csv, body_model, body_schema
from domolite.api.public.schemas import query_out
from domolite.api.responses import JSON, NO_STORE, JSONWithRows, PipedCSV
from domolite.api.routing import Router
from domolite.datasets.service import DataSets, SchemaColumn
from domolite.errors import BadRequest, InvalidField, Unauthorized
from domolite.models.records import Column, DataSet, Principal, User
from domolite.server.cancel import Cancel

router = Router()


def datasource_view(datasets: DataSets, principal: Principal, dataset: DataSet) -> dict[str, Any]:
    """The instance form of a DataSet as the caller sees it (see DataSets.datasource)."""
    found = datasets.datasource(principal, dataset)
    return datasource_out(
        found.dataset,
        found.owner,
        stream_id=found.stream_id,
        connector=found.connector,
        permissions=found.permissions,
    )


# -- auth ----------------------------------------------------------------------------------------------------


@router.post("/api/content/v2/authentication", openapi_extra=body_model(LoginIn))
def login(request: Request, body: Annotated[LoginIn, body_of(LoginIn)], sessions: SessionsDep, guard: GuardDep) -> JSON:
    """Sign in with an e-mail address and password; the session token authenticates as
    X-DOMO-Authentication. Wrong credentials answer 200 with success false; repeated failures are throttled."""
    if body.method.lower() != "password":
        raise InvalidField("method", f"unsupported method {body.method!r}; use password")

    def log_in() -> tuple[User, str]:
        found = sessions.login(body.email_address, body.password)
        if found is None:
            raise Unauthorized("wrong e-mail or password")
        return found

    email = body.email_address.strip().lower()
    try:
        user, token = guard.attempt("session login", email, client_address(request), log_in)
    except Unauthorized:  # Domo answers bad credentials with 200 and a reason
        return JSON({"success": False, "reason": "INVALID_CREDENTIALS"})
    return JSON(
        {
            "userId": user.id,
            "success": True,
            "sessionToken": token,
            "twoFactorInfo": {"token": None, "key": None, "status": "VALID", "phoneMask": None},
        },
        headers=NO_STORE,
    )


@router.get("/api/content/v2/users/me")
def who_am_i(principal: PrincipalDep) -> JSON:
    """The signed-in user: id, names, e-mail address and role."""
    return JSON(user_out(principal.user))


# -- query ---------------------------------------------------------------------------------------------------


@router.post("/api/query/v1/execute/{dataset_id}", openapi_extra=body_model(SqlIn))
async def execute(
    dataset_id: str,
    request: Request,
    caller: CallerDep,
    body: Annotated[LaterBody[SqlIn], later_body(SqlIn)],
    queries: QueriesDep,
    settings: SettingsDep,
    offset: str | None = None,
    limit: str | None = None,
    dataVersion: str | None = None,
) -> JSONWithRows:
    """Run SQL against the DataSet (`FROM table`) as the caller may see it (PDP applies), at an earlier
    data version with dataVersion, paged by limit and offset. A PDP preview (previewPdp, filterGroupIds) shows
    the rows those policies show together, to one who may manage them."""
    started = time.monotonic()

    def run(cancel: Cancel) -> JSONWithRows:
        # One hand-off to a worker thread for the whole query: the caller first, then the body, then the paging.
        principal = caller.principal()
        sql_in = body.value()
        version = optional_int(dataVersion, "dataVersion")
        dataset, result = queries.run(
            principal,
            dataset_id,
            sql_in.sql,
            limit=optional_count(limit, "limit"),
            offset=optional_count(offset, "offset"),
            version=version,
            cancel=cancel,
            preview_policies=sql_in.preview_policies(),
        )
        head, tail = query_out(dataset, result, duration_ms=int((time.monotonic() - started) * 1000))
        return JSONWithRows(head, result.rows_json, tail)

    return await until_hung_up(request, run, request_cancel(request, settings.query_timeout_s))


# -- metadata, create, delete --------------------------------------------------------------------------------


@router.get("/api/data/v3/datasources/{dataset_id}")
def get_datasource(
    dataset_id: str,
    principal: PrincipalDep,
    datasets: DataSetsDep,
    part: str = "",
) -> JSON:
    """A DataSet in the instance API's form: provider, owner, row and column counts, times, tags,
    properties, the stream that feeds it and the caller's permissions (every `part` is always included)."""
    del part  # every part is always included (see docs/choices.md)
    return JSON(datasource_view(datasets, principal, datasets.get(principal, dataset_id)))


def _columns(schema: SchemaIn) -> list[SchemaColumn]:
    out = []
    for i, col in enumerate(schema.columns):
        column, source = col.to_domain(f"columns[{i}]")
        out.append(SchemaColumn(column, source))
    return out


@router.post("/api/data/v2/datasources", openapi_extra=body_model(CreateIn))
def create_datasource(
    principal: PrincipalDep,
    body: Annotated[CreateIn, body_of(CreateIn)],
    datasets: DataSetsDep,
) -> JSON:
    """Create a DataSet (and the stream its uploads go through) with a name, a description, a provider
    type and a schema; answers its metadata and its indexed schema."""
    columns: tuple[Column, ...] = tuple(c.column for c in _columns(body.schema_))

    dataset, _stream = datasets.create(
        principal,
        name=body.data_source_name,
        description=body.data_source_description or body.description,
        columns=columns,
        data_provider_type=body.user_defined_type or "api",
    )
    view = datasource_view(datasets, principal, dataset)
    return JSON({"dataSource": {"dataSourceId": dataset.id, **view}, "schema": schema_out(dataset)})


@router.delete("/api/data/v3/datasources/{dataset_id}")
def delete_datasource(
    dataset_id: str,
    principal: PrincipalDep,
    datasets: DataSetsDep,
    deleteMethod: str = "hard",
) -> JSON:
    """Delete a DataSet with everything attached to it (its data, stream, shares, PDP policies);
    deleteMethod hard or soft, both the same."""
    if deleteMethod.lower() not in ("hard", "soft"):
        raise InvalidField("deleteMethod", f"unknown delete method {deleteMethod!r}; use hard or soft")
    datasets.delete(principal, dataset_id)
    return JSON({"dataSourceId": dataset_id, "deleted": True})


# -- schema --------------------------------------------------------------------------------------------------


@router.get("/api/query/v1/datasources/{dataset_id}/schema/indexed")
def get_schema(
    dataset_id: str,
    principal: PrincipalDep,
    datasets: DataSetsDep,
    includeHidden: str = "false",
) -> JSON:
    """The DataSet's indexed schema: its columns, their types and places; hidden columns only with
    includeHidden=true."""
    return JSON(schema_out(datasets.get(principal, dataset_id), flag(includeHidden)))


@router.post("/api/data/v2/datasources/{dataset_id}/schemas", openapi_extra=body_model(SchemaIn))
def alter_schema(
    dataset_id: str, principal: PrincipalDep, body: Annotated[SchemaIn, body_of(SchemaIn)], datasets: DataSetsDep
) -> JSON:
    """Replace the DataSet's schema: kept columns keep their rows, new ones are null, and a column can be
    hidden (visible false). Answers the id of the change."""
    columns = _columns(body)
    schema_id = datasets.alter_schema(principal, dataset_id, columns)
    return JSON({"schemaId": schema_id})


# -- tags, properties, cards ---------------------------------------------------------------------------------


@router.post(
    "/api/data/ui/v3/datasources/{dataset_id}/tags",
    openapi_extra=body_schema({"type": "array", "items": {"type": "string"}}),
)
def set_tags(dataset_id: str, principal: PrincipalDep, data: JsonDep, datasets: DataSetsDep) -> JSON:
    """Replace the DataSet's tags with the array sent."""
    if data is None:
        data = []
    if not isinstance(data, list) or not all(isinstance(t, str | int | float) for t in data):
        raise BadRequest("the body must be a JSON array of tag strings")
    dataset = datasets.set_tags(principal, dataset_id, [str(t) for t in data])
    return JSON({"dataSourceId": dataset.id, "tags": list(dataset.tags)})


@router.put(
    "/api/data/v3/datasources/{dataset_id}/properties",
    openapi_extra=body_schema({"type": "object", "properties": {"dataProviderType": {"type": "string"}}}),
)
def set_properties(
    dataset_id: str,
    principal: PrincipalDep,
    data: JsonDep,
    datasets: DataSetsDep,
) -> JSON:
    """Set the DataSet's properties: dataProviderType changes its provider type; other keys are kept among
    its properties."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object such as {"dataProviderType": "..."}')
    dataset = datasets.set_properties(principal, dataset_id, data)
    return JSON(datasource_view(datasets, principal, dataset))


@router.get("/api/content/v1/datasources/{dataset_id}/cards")
def cards(dataset_id: str, principal: PrincipalDep, datasets: DataSetsDep, drill: str = "true") -> JSON:
    """The cards built on the DataSet: always none, as domolite has no cards."""
    del drill
    datasets.get(principal, dataset_id)
    return JSON([])  # domolite has no cards


# -- CSV -----------------------------------------------------------------------------------------------------


@router.get(
    "/api/data/v2/datasources/{dataset_id}/dataversions/latest", response_class=Response, openapi_extra=answers_csv()
)
def download_csv(
    dataset_id: str,
    principal: PrincipalDep,
    queries: QueriesDep,
    includeHeader: str | None = None,
    dataVersion: str | None = None,
) -> Response:
    """The DataSet's rows as CSV, now or at an earlier data version (dataVersion), with a header line when
    includeHeader=true. PDP filters the rows."""
    version = optional_int(dataVersion, "dataVersion")
    return PipedCSV(queries.csv(principal, dataset_id, header=flag(includeHeader), version=version))
