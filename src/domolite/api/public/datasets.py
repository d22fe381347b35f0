"""/v1/datasets: the public DataSet API (CRUD, CSV import and export, SQL query)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from domolite.api.body import body_chunks, flag, is_gzip, parse_body
from domolite.api.deps import PrincipalDep, ServicesDep
from domolite.api.lifetime import request_cancel, until_hung_up
from domolite.api.openapi import answers_csv, body_csv, body_model
from domolite.api.public.schemas import DataSetIn, DataSetUpdateIn, PageQuery, QueryIn, dataset_out
from domolite.api.responses import JSON, JSONWithRows, PipedCSV, attachment
from domolite.api.routing import Router
from domolite.models.records import DataSet, Principal, UpdateMethod, User
from domolite.server.cancel import Cancel
from domolite.services import Services

router = Router()


def dataset_view(
    services: Services, principal: Principal, dataset: DataSet, owners: dict[int, User | None] | None = None
) -> dict[str, Any]:
    """The public form of a DataSet as the caller sees it (the row count of their rows, under PDP)."""
    dataset = services.datasets.seen_by(principal, dataset)
    cache = owners if owners is not None else {}
    if dataset.owner_id not in cache:
        cache[dataset.owner_id] = services.datasets.owner(dataset)
    return dataset_out(dataset, cache[dataset.owner_id])


def page(limit: int | None, offset: int | None, default: int = 50, maximum: int = 50) -> tuple[int, int]:
    size = default if not limit or limit < 0 else min(limit, maximum)
    return size, max(offset or 0, 0)


@router.post("/v1/datasets", status_code=201, openapi_extra=body_model(DataSetIn))
async def create_dataset(request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, DataSetIn)
    dataset, _stream = await run_in_threadpool(
        lambda: services.datasets.create(
            principal,
            name=body.name,
            description=body.description,
            columns=body.schema_.to_domain(),
            owner_id=body.owner.id if body.owner else None,
            pdp_enabled=body.pdp_enabled,
        )
    )
    return JSON(dataset_view(services, principal, dataset), status_code=201)


@router.get("/v1/datasets")
def list_datasets(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: PageQuery = None,
    offset: PageQuery = None,
    sort: str | None = None,
    nameLike: str = "",
) -> JSON:
    size, start = page(limit, offset)
    found = services.datasets.list(principal, limit=size, offset=start, name_like=nameLike, sort=sort)
    owners: dict[int, User | None] = {}
    return JSON([dataset_view(services, principal, d, owners) for d in found])


@router.get("/v1/datasets/{dataset_id}")
def get_dataset(dataset_id: str, principal: PrincipalDep, services: ServicesDep) -> JSON:
    return JSON(dataset_view(services, principal, services.datasets.get(principal, dataset_id)))


@router.put("/v1/datasets/{dataset_id}", openapi_extra=body_model(DataSetUpdateIn))
async def update_dataset(dataset_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, DataSetUpdateIn)
    dataset = await run_in_threadpool(
        lambda: services.datasets.update(
            principal,
            dataset_id,
            name=body.name,
            description=body.description,
            columns=body.schema_.to_domain() if body.schema_ else None,
            pdp_enabled=body.pdp_enabled,
            owner_id=body.owner.id if body.owner else None,
        )
    )
    return JSON(dataset_view(services, principal, dataset))


@router.delete("/v1/datasets/{dataset_id}", status_code=204)
def delete_dataset(dataset_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.datasets.delete(principal, dataset_id)
    return Response(status_code=204)


@router.put("/v1/datasets/{dataset_id}/data", status_code=204, openapi_extra=body_csv())
async def import_data(
    dataset_id: str,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    updateMethod: str = "REPLACE",
) -> Response:
    method = UpdateMethod.parse(updateMethod)
    dataset = await run_in_threadpool(services.datasets.get_for_edit, principal, dataset_id)
    path = await services.ingest.receive_import(dataset, body_chunks(request), gzip=is_gzip(request))
    await run_in_threadpool(services.ingest.apply_import, dataset, path, method, principal)
    return Response(status_code=204)


@router.get("/v1/datasets/{dataset_id}/data", openapi_extra=answers_csv())
def export_data(
    dataset_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    includeHeader: str | None = None,
    fileName: str | None = None,
) -> PipedCSV:
    headers = {"Content-Disposition": attachment(fileName)} if fileName else {}
    dataset = services.datasets.get(principal, dataset_id)
    select_sql = services.door.source_sql(dataset, principal)  # permission and PDP decided before the first byte
    return PipedCSV(services.door.csv_stream(select_sql, header=flag(includeHeader)), headers)


@router.post("/v1/datasets/query/execute/{dataset_id}", openapi_extra=body_model(QueryIn))
async def query_dataset(
    dataset_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> JSONWithRows:
    body = await parse_body(request, QueryIn)

    def run(cancel: Cancel) -> JSONWithRows:
        dataset = services.datasets.get(principal, dataset_id)
        result = services.door.query(dataset, principal, body.sql, cancel=cancel)
        head = {
            "datasource": dataset.id,
            "columns": result.columns,
            "metadata": [
                {"type": t.value, "dataSourceId": dataset.id, "maxLength": -1, "minLength": -1, "periodIndex": 0}
                for t in result.types
            ],
        }
        tail = {"numRows": result.row_count, "numColumns": len(result.columns), "fromcache": False}
        return JSONWithRows(head, result.rows_json, tail)

    return await until_hung_up(request, run, request_cancel(request, services.settings.query_timeout_s))
