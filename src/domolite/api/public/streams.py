"""/v1/streams: streams, executions, parts, commit and abort."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from starlette.responses import Response

from domolite.api.body import body_chunks, body_of, is_gzip
from domolite.api.deps import DataSetsDep, IngestDep, PrincipalDep, StreamsDep
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
from domolite.datasets.service import DataSets
from domolite.errors import InvalidField
from domolite.models.records import DataSet, Principal, Stream, UpdateMethod

router = Router()


def view(datasets: DataSets, principal: Principal, stream: Stream, dataset: DataSet) -> dict[str, object]:
    return stream_out(stream, dataset_view(datasets.view(principal, dataset)))


@router.post("/v1/streams", status_code=201, openapi_extra=body_model(StreamIn))
def create_stream(
    request: Request,
    principal: PrincipalDep,
    body: Annotated[StreamIn, body_of(StreamIn)],
    streams: StreamsDep,
    datasets: DataSetsDep,
) -> JSON:
    """Create a stream and the DataSet it feeds (its name, schema and owner in `dataSet`), with the
    stream's update method (REPLACE, APPEND or UPSERT on keyColumnNames)."""
    stream, dataset = streams.create(
        principal,
        name=body.data_set.name,
        description=body.data_set.description,
        columns=body.data_set.schema_.to_domain(),
        update_method=UpdateMethod.parse(body.update_method),
        key_columns=body.key_column_names,
        owner_id=body.data_set.owner.id if body.data_set.owner else None,
    )
    location = str(request.base_url).rstrip("/") + f"/v1/streams/{stream.id}"
    return JSON(view(datasets, principal, stream, dataset), status_code=201, headers={"Location": location})


@router.get("/v1/streams")
def list_streams(
    principal: PrincipalDep,
    streams: StreamsDep,
    datasets: DataSetsDep,
    limit: PageQuery = None,
    offset: PageQuery = None,
) -> JSON:
    """The streams of the DataSets the caller may read, a page at a time (limit at most 500, offset)."""
    size, start = page(limit, offset, default=50, maximum=500)
    return JSON([view(datasets, principal, s, d) for s, d in streams.list(principal, limit=size, offset=start)])


@router.get("/v1/streams/search")
def search_streams(principal: PrincipalDep, streams: StreamsDep, datasets: DataSetsDep, q: str = "") -> JSON:
    """The streams whose DataSet matches `q`: dataSource.id:X, dataSource.name:X or
    dataSource.owner.id:X, comma-joined, all of them holding."""
    return JSON([view(datasets, principal, s, d) for s, d in streams.search(principal, q)])


@router.get("/v1/streams/{stream_id}")
def get_stream(stream_id: IdPath, principal: PrincipalDep, streams: StreamsDep, datasets: DataSetsDep) -> JSON:
    """A stream: its DataSet, update method, key columns and times."""
    return JSON(view(datasets, principal, *streams.get(principal, stream_id)))


@router.patch("/v1/streams/{stream_id}", openapi_extra=body_model(StreamPatchIn))
def update_stream(
    stream_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[StreamPatchIn, body_of(StreamPatchIn)],
    streams: StreamsDep,
    datasets: DataSetsDep,
    updateMethod: str | None = None,
) -> JSON:
    """Change a stream's update method and, for UPSERT, its key columns. The method may also come as the query
    parameter `updateMethod` (the form Domo's reference lists); given both ways, they must agree."""
    in_body = UpdateMethod.parse(body.update_method) if body.update_method else None
    in_query = UpdateMethod.parse(updateMethod) if updateMethod else None
    if in_body and in_query and in_body is not in_query:
        raise InvalidField("updateMethod", "the query parameter and the body name different update methods")
    method = in_body or in_query
    stream, dataset = streams.update(principal, stream_id, method, body.key_column_names)
    return JSON(view(datasets, principal, stream, dataset))


@router.delete("/v1/streams/{stream_id}", status_code=204)
def delete_stream(stream_id: IdPath, principal: PrincipalDep, streams: StreamsDep) -> Response:
    """Delete a stream with its executions; its DataSet and the data already committed stay."""
    streams.delete(principal, stream_id)
    return Response(status_code=204)


@router.post("/v1/streams/{stream_id}/executions", openapi_extra=body_model(ExecutionIn))
def create_execution(
    stream_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[ExecutionIn, body_of(ExecutionIn)],
    streams: StreamsDep,
    ingest: IngestDep,
) -> JSON:
    """Open an execution of the stream (ACTIVE) to upload parts into; its update method is the stream's
    unless the body names another."""
    method = UpdateMethod.parse(body.update_method) if body.update_method else None

    stream, dataset = streams.get_for_edit(principal, stream_id)
    return JSON(execution_out(ingest.open_execution(stream, dataset, method)))


@router.get("/v1/streams/{stream_id}/executions")
def list_executions(
    stream_id: IdPath,
    principal: PrincipalDep,
    streams: StreamsDep,
    datasets: DataSetsDep,
    limit: PageQuery = None,
    offset: PageQuery = None,
) -> JSON:
    """The stream's executions, a page at a time (limit at most 500, offset)."""
    _stream, dataset = streams.get(principal, stream_id)
    hidden = datasets.counts_hidden(principal, dataset)
    size, start = page(limit, offset, default=50, maximum=500)
    found = streams.executions(stream_id, limit=size, offset=start)
    return JSON([execution_out(e, hidden) for e in found])


@router.put("/v1/streams/{stream_id}/executions/abort", status_code=204)
def abort_current(stream_id: IdPath, principal: PrincipalDep, streams: StreamsDep, ingest: IngestDep) -> Response:
    """Abort every active execution of the stream (none is fine): their parts are dropped, nothing is
    loaded. An execution already committing cannot be aborted."""
    streams.get_for_edit(principal, stream_id)
    ingest.abort_active(stream_id)
    return Response(status_code=204)


@router.get("/v1/streams/{stream_id}/executions/{execution_id}")
def get_execution(
    stream_id: IdPath, execution_id: IdPath, principal: PrincipalDep, streams: StreamsDep, datasets: DataSetsDep
) -> JSON:
    """One execution of the stream: its state, update method, parts, rows and bytes, and its error if it
    failed."""
    _stream, dataset = streams.get(principal, stream_id)
    hidden = datasets.counts_hidden(principal, dataset)
    key = streams.execution_key(stream_id, execution_id)
    return JSON(execution_out(streams.execution(stream_id, key), hidden))


@router.put("/v1/streams/{stream_id}/executions/{execution_id}/part/{part_no}", openapi_extra=body_csv())
async def upload_part(
    stream_id: IdPath,
    execution_id: IdPath,
    part_no: IdPath,
    request: Request,
    principal: PrincipalDep,
    streams: StreamsDep,
) -> JSON:
    """Upload one part of the execution: header-less CSV rows (plain or gzip). Parts may come in
    parallel and in any order; sending a part number again replaces it."""
    chunks, gzip = body_chunks(request), lambda: is_gzip(request)
    execution = await streams.receive_part(principal, stream_id, execution_id, part_no, chunks, gzip=gzip)
    return JSON(execution_out(execution))


@router.put("/v1/streams/{stream_id}/executions/{execution_id}/commit")
def commit_execution(
    stream_id: IdPath, execution_id: IdPath, principal: PrincipalDep, streams: StreamsDep, ingest: IngestDep
) -> JSON:
    """Commit the execution: its parts become one data version of the DataSet (REPLACE, APPEND or
    UPSERT, as the execution says). The execution ends SUCCESS, or ERROR with the DataSet unchanged."""
    stream, dataset = streams.get_for_edit(principal, stream_id)
    key = streams.execution_key(stream_id, execution_id)
    return JSON(execution_out(ingest.commit(dataset, stream, key, by=principal)))


@router.put("/v1/streams/{stream_id}/executions/{execution_id}/abort")
def abort_execution(
    stream_id: IdPath, execution_id: IdPath, principal: PrincipalDep, streams: StreamsDep, ingest: IngestDep
) -> JSON:
    """Abort the execution: its parts are dropped, nothing is loaded, and it ends ABORTED."""
    streams.get_for_edit(principal, stream_id)
    key = streams.execution_key(stream_id, execution_id)
    return JSON(execution_out(ingest.abort(stream_id, key)))
