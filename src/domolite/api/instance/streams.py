"""/api/data/v1/streams: streams in their connector form, manual runs and their history."""

from __future__ import annotations

from typing import Annotated

from domolite.api.body import RawBodyDep, body_of, optional_count
from domolite.api.deps import ConnectorsDep, DataSetsDep, PrincipalDep, StreamsDep
from domolite.api.instance.datasources import datasource_view
from domolite.api.instance.schemas import StreamIn, execution_out, history_out, stream_out
from domolite.api.openapi import body_model
from domolite.api.public.schemas import IdPath
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.connectors.streams import ConnectorSpec, ConnectorStream
from domolite.datasets.service import DataSets
from domolite.errors import InvalidField
from domolite.ingest.streams import Streams
from domolite.models.records import Principal, UpdateMethod

router = Router()


def view(datasets: DataSets, principal: Principal, found: ConnectorStream) -> dict[str, object]:
    return stream_out(found, datasource_view(datasets, principal, found.dataset))


def _counts_hidden(streams: Streams, datasets: DataSets, principal: Principal, stream_id: int) -> bool:
    """Whether the caller is PDP-filtered on the stream's DataSet, and so sees no row counts of its runs."""
    _stream, dataset = streams.get(principal, stream_id)
    return datasets.counts_hidden(principal, dataset)


def _spec(body: StreamIn, fallback_key: str | None) -> ConnectorSpec:
    key = body.data_provider.key if body.data_provider else fallback_key
    if not key:
        raise InvalidField("dataProvider.key", "a stream needs a data provider key")
    return ConnectorSpec(
        provider_key=key,
        transport=body.transport.model_dump(),
        configuration=body.configuration,
        account=body.account,
        schedule=body.schedule(),
        retry_count=body.schedule_retry_count,
    )


@router.post("/api/data/v1/streams", openapi_extra=body_model(StreamIn))
def create_stream(
    principal: PrincipalDep,
    body: Annotated[StreamIn, body_of(StreamIn)],
    connectors: ConnectorsDep,
    datasets: DataSetsDep,
) -> JSON:
    """Create a connector stream and its DataSet: transport, data provider, account, configuration, update
    method and schedule (advancedScheduleJson), kept as sent."""
    spec = _spec(body, None)
    method = UpdateMethod.parse(body.update_method) if body.update_method else UpdateMethod.REPLACE

    found = connectors.create(
        principal,
        spec,
        name=body.data_source.name or "",
        description=body.data_source.description or "",
        update_method=method,
    )
    return JSON(view(datasets, principal, found))


@router.get("/api/data/v1/streams")
def list_streams(
    principal: PrincipalDep,
    connectors: ConnectorsDep,
    datasets: DataSetsDep,
    limit: str | None = None,
    offset: str | None = None,
    offet: str | None = None,  # domolibrary's spelling
) -> JSON:
    """The streams in their connector form, a page at a time (limit, by default 500; offset, also spelt
    offet)."""
    size = optional_count(limit, "limit")
    start = optional_count(offset, "offset")
    if start is None:
        start = optional_count(offet, "offet") or 0
    found = connectors.list(principal, limit=size if size is not None else 500, offset=start)
    return JSON([view(datasets, principal, f) for f in found])


@router.get("/api/data/v1/streams/{stream_id}")
def get_stream(stream_id: IdPath, principal: PrincipalDep, connectors: ConnectorsDep, datasets: DataSetsDep) -> JSON:
    """A stream in its connector form: transport, data provider, account, configuration, schedule, its
    DataSet and its last runs."""
    return JSON(view(datasets, principal, connectors.get(principal, stream_id)))


@router.put("/api/data/v1/streams/{stream_id}", openapi_extra=body_model(StreamIn))
def update_stream(
    stream_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[StreamIn, body_of(StreamIn)],
    raw: RawBodyDep,
    connectors: ConnectorsDep,
    datasets: DataSetsDep,
) -> JSON:
    """Change a connector stream: its connector (transport, provider, account, configuration, schedule)
    when a body is sent, its DataSet's name and description, its update method."""
    method = UpdateMethod.parse(body.update_method) if body.update_method else None

    current = connectors.get(principal, stream_id)
    fallback = current.connector.provider_key if current.connector else current.dataset.data_provider_type
    spec = _spec(body, fallback) if raw.strip() else None
    found = connectors.update(
        principal,
        stream_id,
        spec,
        name=body.data_source.name,
        description=body.data_source.description,
        update_method=method,
    )
    return JSON(view(datasets, principal, found))


@router.post("/api/data/v1/streams/{stream_id}/executions")
def run_stream(stream_id: IdPath, principal: PrincipalDep, connectors: ConnectorsDep) -> JSON:
    """Run the stream now (MANUAL): the S3 unload writeback connector starts in the background; a stream
    of any other provider ends ERROR at once, saying why."""
    # The body ({"action": "MANUAL"} or none) names the only kind of run a client can start.
    run = connectors.run(principal, stream_id)
    return JSON(execution_out(run.execution, stream_id, run.info))


@router.get("/api/data/v1/streams/{stream_id}/executions")
def list_runs(
    stream_id: IdPath,
    principal: PrincipalDep,
    connectors: ConnectorsDep,
    streams: StreamsDep,
    datasets: DataSetsDep,
    limit: str | None = None,
    offset: str | None = None,
) -> JSON:
    """The stream's runs, newest first (limit, offset). A PDP-filtered caller sees no row counts."""
    size = optional_count(limit, "limit")
    start = optional_count(offset, "offset") or 0
    runs = connectors.history(principal, stream_id)
    hidden = _counts_hidden(streams, datasets, principal, stream_id)
    page = runs[start : start + size] if size is not None else runs[start:]
    return JSON([execution_out(r.execution, stream_id, r.info, hidden) for r in page])


@router.get("/api/data/v1/streams/{stream_id}/executions/{execution_id}")
def get_run(
    stream_id: IdPath,
    execution_id: IdPath,
    principal: PrincipalDep,
    streams: StreamsDep,
    connectors: ConnectorsDep,
    datasets: DataSetsDep,
) -> JSON:
    """One run of the stream: its state, phase, run type, rows, bytes and error."""
    streams.get(principal, stream_id)  # the caller may read it, before saying whether the run exists
    key = streams.execution_key(stream_id, execution_id)
    run = connectors.execution(principal, stream_id, key)
    return JSON(
        execution_out(run.execution, stream_id, run.info, _counts_hidden(streams, datasets, principal, stream_id))
    )


@router.get("/api/data/v1/streams/{stream_id}/history/aggregate")
def stream_history(
    stream_id: IdPath, principal: PrincipalDep, connectors: ConnectorsDep, streams: StreamsDep, datasets: DataSetsDep
) -> JSON:
    """The stream's run history, newest first: each run's state, rows, bytes, times and error."""
    runs = connectors.history(principal, stream_id)
    hidden = _counts_hidden(streams, datasets, principal, stream_id)
    return JSON([history_out(r.execution, stream_id, r.info, hidden) for r in runs])
