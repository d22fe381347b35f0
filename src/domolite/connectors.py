"""Streams in their connector form (/api/data/v1/streams): provider, transport, configuration, account and
schedule, kept as the client sent them. domolite runs no connectors yet, so a manual run of a stream
ends ERROR
with a message saying why; data reaches such a DataSet through uploads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from domolite.auth import permissions
from domolite.catalog import Catalog
from domolite.catalog.product import ProductCatalog
from domolite.datasets import DataSets
from domolite.errors import InvalidField
from domolite.ingest.executions import Ingest
from domolite.models import Connector, DataSet, Execution, ExecutionState, Principal, Stream, UpdateMethod


@dataclass(frozen=True)
class ConnectorSpec:
    provider_key: str
    transport: dict[str, Any]
    configuration: list[dict[str, Any]]
    account: dict[str, Any] | None
    schedule: str | None


@dataclass(frozen=True)
class ConnectorStream:
    stream: Stream
    dataset: DataSet
    connector: Connector | None
    last: Execution | None
    last_success: Execution | None


class Connectors:
    def __init__(self, catalog: Catalog, product: ProductCatalog, datasets: DataSets, ingest: Ingest) -> None:
        self.catalog = catalog
        self.product = product
        self.datasets = datasets
        self.ingest = ingest

    def _view(self, stream: Stream, dataset: DataSet) -> ConnectorStream:
        executions = self._executions(stream.id)
        last = executions[-1] if executions else None
        success = next((e for e in reversed(executions) if e.state is ExecutionState.SUCCESS), None)
        return ConnectorStream(stream, dataset, self.product.get_connector(stream.id), last, success)

    def _executions(self, stream_id: int) -> list[Execution]:
        out: list[Execution] = []
        while page := self.catalog.list_executions(stream_id, limit=500, offset=len(out)):
            out.extend(page)
        return out

    def create(
        self,
        principal: Principal,
        spec: ConnectorSpec,
        *,
        name: str,
        description: str,
        update_method: UpdateMethod,
    ) -> ConnectorStream:
        """A new DataSet (schema set by its first upload or a schema change) with its stream and connector."""
        if not name.strip():
            raise InvalidField("dataSource.name", "a DataSet needs a name")
        if update_method is UpdateMethod.UPSERT:
            raise InvalidField("updateMethod", "a connector stream takes APPEND or REPLACE")
        dataset, stream = self.datasets.create(
            principal,
            name=name,
            description=description,
            columns=(),
            update_method=update_method,
            data_provider_type=spec.provider_key,
        )
        self.product.put_connector(None, self._connector(stream.id, spec, principal.user.id, principal.user.id))
        return self._view(stream, dataset)

    @staticmethod
    def _connector(stream_id: int, spec: ConnectorSpec, created_by: int, modified_by: int) -> Connector:
        return Connector(
            stream_id=stream_id,
            provider_key=spec.provider_key,
            transport=spec.transport,
            configuration=[{k: v for k, v in c.items() if k != "streamId"} for c in spec.configuration],
            account=spec.account,
            schedule=spec.schedule,
            created_by=created_by,
            modified_by=modified_by,
        )

    def get(self, principal: Principal, stream_id: int) -> ConnectorStream:
        stream = self.catalog.get_stream(stream_id)
        return self._view(stream, self.datasets.get(principal, stream.dataset_id))

    def list(self, principal: Principal, *, limit: int, offset: int) -> list[ConnectorStream]:
        permissions.require_scope(principal, "data")
        return [
            self._view(s, self.catalog.get_dataset(s.dataset_id))
            for s in self.catalog.list_streams(limit=limit, offset=offset)
        ]

    def update(
        self,
        principal: Principal,
        stream_id: int,
        spec: ConnectorSpec | None,
        *,
        name: str | None,
        description: str | None,
        update_method: UpdateMethod | None,
    ) -> ConnectorStream:
        stream = self.catalog.get_stream(stream_id)
        dataset = self.datasets.get_for_edit(principal, stream.dataset_id)
        if update_method is UpdateMethod.UPSERT and not stream.key_columns:
            raise InvalidField("updateMethod", "UPSERT needs key columns; use APPEND or REPLACE")
        if name is not None or description is not None:
            dataset = self.datasets.update(principal, dataset.id, name=name or None, description=description)
        if update_method is not None:
            stream = self.catalog.update_stream(stream_id, update_method, None)
        if spec is not None:
            old = self.product.get_connector(stream_id)
            created_by = old.created_by if old else principal.user.id
            self.product.put_connector(None, self._connector(stream_id, spec, created_by, principal.user.id))
            if spec.provider_key != dataset.data_provider_type:
                dataset = self.datasets.catalog.update_dataset(dataset.id, data_provider_type=spec.provider_key)
        return self._view(stream, dataset)

    def run(self, principal: Principal, stream_id: int) -> Execution:
        """A manual run. No connector exists in domolite yet, so the run ends ERROR and says so."""
        stream = self.catalog.get_stream(stream_id)
        self.datasets.get_for_edit(principal, stream.dataset_id)
        connector = self.product.get_connector(stream_id)
        execution = self.ingest.open_execution(stream, None)
        if connector is None:
            message = (
                f"stream {stream_id} has no connector: its DataSet is loaded through uploads, not by running the stream"
            )
        else:
            message = f"domolite has no connector for the data provider {connector.provider_key!r} yet"
        return self.catalog.advance_execution(execution, ExecutionState.ERROR, message=message)

    def history(self, principal: Principal, stream_id: int) -> Sequence[Execution]:
        stream = self.catalog.get_stream(stream_id)
        self.datasets.get(principal, stream.dataset_id)
        return list(reversed(self._executions(stream_id)))


def with_dataset(view: ConnectorStream, dataset: DataSet) -> ConnectorStream:
    return replace(view, dataset=dataset)
