"""/v1/streams: streams, executions, parts, commit and abort."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from domolite.api.body import body_chunks, is_gzip, parse_body
from domolite.api.deps import PrincipalDep, ServicesDep
from domolite.api.openapi import body_csv, body_model
from domolite.api.public.datasets import dataset_view, page
from domolite.api.public.schemas import (
    ExecutionIn,
    IdPath,
    PageQuery,
    StreamIn,
    StreamPatchIn,
    execution_out,
    stream_out,
)
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.models.records import DataSet, Principal, Stream, UpdateMethod
from domolite.services import Services

router = Router()


def view(services: Services, principal: Principal, stream: Stream, dataset: DataSet) -> dict[str, object]:
    return stream_out(stream, dataset_view(services, principal, dataset))


@router.post("/v1/streams", status_code=201, openapi_extra=body_model(StreamIn))
async def create_stream(request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, StreamIn)
    stream, dataset = await run_in_threadpool(
        lambda: services.streams.create(
            principal,
            name=body.data_set.name,
            description=body.data_set.description,
            columns=body.data_set.schema_.to_domain(),
            update_method=UpdateMethod.parse(body.update_method),
            key_columns=body.key_column_names,
            owner_id=body.data_set.owner.id if body.data_set.owner else None,
        )
    )
    location = str(request.base_url).rstrip("/") + f"/v1/streams/{stream.id}"
    return JSON(view(services, principal, stream, dataset), status_code=201, headers={"Location": location})


@router.get("/v1/streams")
def list_streams(
    principal: PrincipalDep, services: ServicesDep, limit: PageQuery = None, offset: PageQuery = None
) -> JSON:
    size, start = page(limit, offset, default=50, maximum=500)
    return JSON(
        [view(services, principal, s, d) for s, d in services.streams.list(principal, limit=size, offset=start)]
    )


@router.get("/v1/streams/search")
def search_streams(principal: PrincipalDep, services: ServicesDep, q: str = "") -> JSON:
    return JSON([view(services, principal, s, d) for s, d in services.streams.search(principal, q)])


@router.get("/v1/streams/{stream_id}")
def get_stream(stream_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> JSON:
    return JSON(view(services, principal, *services.streams.get(principal, stream_id)))


@router.patch("/v1/streams/{stream_id}", openapi_extra=body_model(StreamPatchIn))
async def update_stream(stream_id: IdPath, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, StreamPatchIn)
    method = UpdateMethod.parse(body.update_method) if body.update_method else None
    stream, dataset = await run_in_threadpool(
        services.streams.update, principal, stream_id, method, body.key_column_names
    )
    return JSON(view(services, principal, stream, dataset))


@router.delete("/v1/streams/{stream_id}", status_code=204)
def delete_stream(stream_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.streams.delete(principal, stream_id)
    return Response(status_code=204)


@router.post("/v1/streams/{stream_id}/executions", status_code=201, openapi_extra=body_model(ExecutionIn))
async def create_execution(stream_id: IdPath, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, ExecutionIn)
    method = UpdateMethod.parse(body.update_method) if body.update_method else None

    def run() -> dict[str, object]:
        stream, _dataset = services.streams.get_for_edit(principal, stream_id)
        return execution_out(services.ingest.open_execution(stream, method))

    return JSON(await run_in_threadpool(run), status_code=201)


@router.get("/v1/streams/{stream_id}/executions")
def list_executions(
    stream_id: IdPath,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: PageQuery = None,
    offset: PageQuery = None,
) -> JSON:
    _stream, dataset = services.streams.get(principal, stream_id)
    hidden = services.datasets.counts_hidden(principal, dataset)
    size, start = page(limit, offset, default=50, maximum=500)
    found = services.streams.executions(stream_id, limit=size, offset=start)
    return JSON([execution_out(e, hidden) for e in found])


@router.put("/v1/streams/{stream_id}/executions/abort", status_code=204)
def abort_current(stream_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.streams.get_for_edit(principal, stream_id)
    services.ingest.abort_active(stream_id)
    return Response(status_code=204)


@router.get("/v1/streams/{stream_id}/executions/{execution_id}")
def get_execution(stream_id: IdPath, execution_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> JSON:
    _stream, dataset = services.streams.get(principal, stream_id)
    hidden = services.datasets.counts_hidden(principal, dataset)
    key = services.streams.execution_key(stream_id, execution_id)
    return JSON(execution_out(services.streams.execution(stream_id, key), hidden))


@router.put("/v1/streams/{stream_id}/executions/{execution_id}/part/{part_no}", openapi_extra=body_csv())
async def upload_part(
    stream_id: IdPath,
    execution_id: IdPath,
    part_no: IdPath,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> JSON:
    await run_in_threadpool(services.streams.get_for_edit, principal, stream_id)
    key = await run_in_threadpool(services.streams.execution_key, stream_id, execution_id)
    execution = await services.ingest.receive_part(stream_id, key, part_no, body_chunks(request), gzip=is_gzip(request))
    return JSON(execution_out(execution))


@router.put("/v1/streams/{stream_id}/executions/{execution_id}/commit")
def commit_execution(stream_id: IdPath, execution_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> JSON:
    stream, dataset = services.streams.get_for_edit(principal, stream_id)
    key = services.streams.execution_key(stream_id, execution_id)
    return JSON(execution_out(services.ingest.commit(dataset, stream, key, by=principal)))


@router.put("/v1/streams/{stream_id}/executions/{execution_id}/abort")
def abort_execution(stream_id: IdPath, execution_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> JSON:
    services.streams.get_for_edit(principal, stream_id)
    key = services.streams.execution_key(stream_id, execution_id)
    return JSON(execution_out(services.ingest.abort(stream_id, key)))
