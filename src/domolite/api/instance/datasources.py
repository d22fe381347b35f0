"""/api/...: session login, the caller, DataSet metadata, create and delete, SQL, schema, tags, properties,
cards, and the CSV of a DataSet (now or at a data version)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from domolite.api.body import flag, json_body, optional_int, parse_body
from domolite.api.deps import PrincipalDep, ServicesDep, client_address
from domolite.api.instance.schemas import (
    CreateIn,
    LoginIn,
    SchemaIn,
    SqlIn,
    datasource_out,
    query_out,
    schema_out,
    user_out,
)
from domolite.api.lifetime import request_cancel, until_hung_up
from domolite.api.openapi import answers_csv, body_model, body_schema
from domolite.api.responses import JSON, JSONWithRows, PipedCSV
from domolite.api.routing import Router
from domolite.datasets.datacenter import SchemaColumn, access_level
from domolite.errors import BadRequest, InvalidField, Unauthorized
from domolite.models.records import Column, DataSet, Principal, User
from domolite.services import Services

router = Router()


def datasource_view(services: Services, principal: Principal, dataset: DataSet) -> dict[str, Any]:
    """The instance form of a DataSet as the caller sees it (the row count of their rows, under PDP)."""
    dataset = services.datasets.seen_by(principal, dataset)
    owner = services.datasets.owner(dataset)
    stream = services.streams.of_dataset(dataset)
    stream_id = stream.id if stream else None
    connector = stream_id is not None and services.connectors.attached(stream_id)
    return datasource_out(
        dataset, owner, stream_id=stream_id, connector=connector, permissions=access_level(principal, dataset)
    )


# -- auth ----------------------------------------------------------------------------------------------------


@router.post("/api/content/v2/authentication", openapi_extra=body_model(LoginIn))
async def login(request: Request, services: ServicesDep) -> JSON:
    body = await parse_body(request, LoginIn)
    if body.method.lower() != "password":
        raise InvalidField("method", f"unsupported method {body.method!r}; use password")

    def log_in() -> tuple[User, str]:
        found = services.sessions.login(body.email_address, body.password)
        if found is None:
            raise Unauthorized("wrong e-mail or password")
        return found

    email = body.email_address.strip().lower()
    try:
        user, token = await run_in_threadpool(
            services.guard.attempt, "session login", email, client_address(request), log_in
        )
    except Unauthorized:  # Domo answers bad credentials with 200 and a reason
        return JSON({"success": False, "reason": "INVALID_CREDENTIALS"})
    return JSON(
        {
            "userId": user.id,
            "success": True,
            "sessionToken": token,
            "twoFactorInfo": {"token": None, "key": None, "status": "VALID", "phoneMask": None},
        }
    )


@router.get("/api/content/v2/users/me")
def who_am_i(principal: PrincipalDep) -> JSON:
    return JSON(user_out(principal.user))


# -- query ---------------------------------------------------------------------------------------------------


@router.post("/api/query/v1/execute/{dataset_id}", openapi_extra=body_model(SqlIn))
async def execute(
    dataset_id: str,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    offset: str | None = None,
    limit: str | None = None,
    dataVersion: str | None = None,
) -> JSONWithRows:
    body = await parse_body(request, SqlIn)
    version = optional_int(dataVersion, "dataVersion")
    started = time.monotonic()
    dataset, result = await until_hung_up(
        request,
        lambda cancel: services.queries.run(
            principal,
            dataset_id,
            body.sql,
            limit=optional_int(limit, "limit"),
            offset=optional_int(offset, "offset"),
            version=version,
            cancel=cancel,
            preview_policies=body.preview_policies(),
        ),
        request_cancel(request, services.settings.query_timeout_s),
    )
    head, tail = query_out(dataset, result, int((time.monotonic() - started) * 1000))
    return JSONWithRows(head, result.rows_json, tail)


# -- metadata, create, delete --------------------------------------------------------------------------------


@router.get("/api/data/v3/datasources/{dataset_id}")
def get_datasource(dataset_id: str, principal: PrincipalDep, services: ServicesDep, part: str = "") -> JSON:
    del part  # every part is always included (see docs/choices.md)
    return JSON(datasource_view(services, principal, services.datasets.get(principal, dataset_id)))


def _columns(schema: SchemaIn) -> list[SchemaColumn]:
    out = []
    for i, col in enumerate(schema.columns):
        column, source = col.to_domain(f"columns[{i}]")
        out.append(SchemaColumn(column, source))
    return out


@router.post("/api/data/v2/datasources", openapi_extra=body_model(CreateIn))
async def create_datasource(request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, CreateIn)
    columns: tuple[Column, ...] = tuple(c.column for c in _columns(body.schema_))

    def run() -> dict[str, Any]:
        dataset, _stream = services.datacenter.create(
            principal,
            name=body.data_source_name,
            description=body.data_source_description or body.description,
            columns=columns,
            provider=body.user_defined_type,
        )
        view = datasource_view(services, principal, dataset)
        return {"dataSource": {"dataSourceId": dataset.id, **view}, "schema": schema_out(dataset)}

    return JSON(await run_in_threadpool(run))


@router.delete("/api/data/v3/datasources/{dataset_id}")
def delete_datasource(
    dataset_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    deleteMethod: str = "hard",
) -> JSON:
    if deleteMethod.lower() not in ("hard", "soft"):
        raise InvalidField("deleteMethod", f"unknown delete method {deleteMethod!r}; use hard or soft")
    services.datasets.delete(principal, dataset_id)
    return JSON({"dataSourceId": dataset_id, "deleted": True})


# -- schema --------------------------------------------------------------------------------------------------


@router.get("/api/query/v1/datasources/{dataset_id}/schema/indexed")
def get_schema(
    dataset_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    includeHidden: str = "false",
) -> JSON:
    return JSON(schema_out(services.datasets.get(principal, dataset_id), flag(includeHidden)))


@router.post("/api/data/v2/datasources/{dataset_id}/schemas", openapi_extra=body_model(SchemaIn))
async def alter_schema(dataset_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, SchemaIn)
    columns = _columns(body)
    schema_id = await run_in_threadpool(services.datacenter.alter_schema, principal, dataset_id, columns)
    return JSON({"schemaId": schema_id})


# -- tags, properties, cards ---------------------------------------------------------------------------------


@router.post(
    "/api/data/ui/v3/datasources/{dataset_id}/tags",
    openapi_extra=body_schema({"type": "array", "items": {"type": "string"}}),
)
async def set_tags(dataset_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    data = await json_body(request)
    if data is None:
        data = []
    if not isinstance(data, list) or not all(isinstance(t, str | int | float) for t in data):
        raise BadRequest("the body must be a JSON array of tag strings")
    dataset = await run_in_threadpool(services.datacenter.set_tags, principal, dataset_id, [str(t) for t in data])
    return JSON({"dataSourceId": dataset.id, "tags": list(dataset.tags)})


@router.put(
    "/api/data/v3/datasources/{dataset_id}/properties",
    openapi_extra=body_schema({"type": "object", "properties": {"dataProviderType": {"type": "string"}}}),
)
async def set_properties(dataset_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    data = await json_body(request)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object such as {"dataProviderType": "..."}')
    dataset = await run_in_threadpool(services.datacenter.set_properties, principal, dataset_id, data)
    return JSON(datasource_view(services, principal, dataset))


@router.get("/api/content/v1/datasources/{dataset_id}/cards")
def cards(dataset_id: str, principal: PrincipalDep, services: ServicesDep, drill: str = "true") -> JSON:
    del drill
    services.datasets.get(principal, dataset_id)
    return JSON([])  # domolite has no cards


# -- CSV -----------------------------------------------------------------------------------------------------


@router.get("/api/data/v2/datasources/{dataset_id}/dataversions/latest", openapi_extra=answers_csv())
def download_csv(
    dataset_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    includeHeader: str | None = None,
    dataVersion: str | None = None,
) -> Response:
    select_sql = services.queries.export_sql(principal, dataset_id, optional_int(dataVersion, "dataVersion"))
    return PipedCSV(services.door.csv_stream(select_sql, header=flag(includeHeader)))
