"""Streams in their connector form (/api/data/v1/streams): provider, transport, configuration, account and
schedule, kept as the client sent them.

domolite runs one connector, the Amazon S3 Unload Writeback (writeback.py), manually and on its schedule
(scheduler.py). A run of a stream of any other provider ends ERROR with a message saying why; data reaches
such a DataSet through uploads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from domolite.access import permissions
from domolite.catalog import Catalog
from domolite.catalog.product import ProductStore
from domolite.catalog.schedules import StreamSchedule
from domolite.connectors.accounts import Accounts
from domolite.connectors.schedule import parse as parse_schedule
from domolite.connectors.scheduler import ConnectorRuns
from domolite.connectors.writeback import (
    PROVIDER_KEY,
    UnloadRunner,
    check_input,
    metrics_columns,
    owner_may_write_back,
    parse_config,
)
from domolite.datasets.service import DataSets
from domolite.errors import Forbidden, InvalidField
from domolite.ingest.executions import Ingest
from domolite.models.records import (
    Account,
    Connector,
    DataSet,
    Execution,
    ExecutionState,
    Principal,
    RunInfo,
    Stream,
    UpdateMethod,
)


@dataclass(frozen=True)
class ConnectorSpec:
    provider_key: str
    transport: dict[str, Any]
    configuration: list[dict[str, Any]]
    account: dict[str, Any] | None
    schedule: str | None
    retry_count: int | None = None  # None: keep the stream's


@dataclass(frozen=True)
class ConnectorStream:
    stream: Stream
    dataset: DataSet
    connector: Connector | None
    last: Execution | None
    last_success: Execution | None
    schedule: StreamSchedule | None = None
    runs: dict[int, RunInfo] | None = None
    account: Account | None = None  # the account the connector names, when it exists


@dataclass(frozen=True)
class Run:
    """An execution of a stream, with how it was started when a connector ran it."""

    execution: Execution
    info: RunInfo | None


class Connectors:
    def __init__(
        self,
        catalog: Catalog,
        product: ProductStore,
        datasets: DataSets,
        ingest: Ingest,
        runs: ConnectorRuns,
        unload: UnloadRunner,
        accounts: Accounts,
    ) -> None:
        self.catalog = catalog
        self.product = product
        self.datasets = datasets
        self.ingest = ingest
        self.runs = runs
        self.unload = unload
        self.accounts = accounts

    def attached(self, stream_id: int) -> bool:
        """Whether the stream has a connector (a provider and its configuration)."""
        return self.product.get_connector(stream_id) is not None

    def _view(self, stream: Stream, dataset: DataSet) -> ConnectorStream:
        executions = self._executions(stream.id)
        last = executions[-1] if executions else None
        success = next((e for e in reversed(executions) if e.state is ExecutionState.SUCCESS), None)
        connector = self.product.get_connector(stream.id)
        return ConnectorStream(
            stream,
            dataset,
            connector,
            last,
            success,
            self.runs.schedule_of(stream.id),
            self.runs.runs(stream.id),
            self._account(connector),
        )

    def _account(self, connector: Connector | None) -> Account | None:
        """The connector's account, if one of its provider exists under that id."""
        raw = (connector.account or {}).get("id") if connector else None
        if connector is None or raw is None or not str(raw).strip().isdigit():
            return None
        account = self.accounts.find(int(raw))
        return account if account is not None and account.provider_key == connector.provider_key else None

    def _check_writeback(self, principal: Principal, spec: ConnectorSpec, owner_id: int) -> None:
        """A writeback stream's configuration, account, schedule and the ownership rule, before anything is kept.

        Raises InvalidField (400, naming the field), Forbidden (403) and the not-found errors (404)."""
        parse_schedule(spec.schedule)
        config = parse_config(spec.configuration)
        raw_account = (spec.account or {}).get("id")
        if raw_account is None or not str(raw_account).strip().isdigit():
            raise InvalidField("account.id", "the writeback connector needs the id of an account")
        account = self.accounts.usable_by(principal, int(raw_account))
        if account.provider_key != PROVIDER_KEY:
            raise InvalidField("account.id", f"account {account.id} is for {account.provider_key}, not {PROVIDER_KEY}")
        input_dataset = self.catalog.datasets.get(config.input_dataset_id)
        if not owner_may_write_back(self.unload.owner_principal(owner_id), input_dataset):
            raise Forbidden(
                f"the owner of a writeback DataSet must be an owner or co-owner of the input DataSet {input_dataset.id}"
            )
        check_input(config, input_dataset)

    def _keep_schedule(self, stream_id: int, spec: ConnectorSpec) -> None:
        current = self.runs.schedule_of(stream_id)
        retry_count = spec.retry_count if spec.retry_count is not None else (current.retry_count if current else 0)
        self.runs.set_schedule(stream_id, parse_schedule(spec.schedule), retry_count)

    def _executions(self, stream_id: int) -> list[Execution]:
        out: list[Execution] = []
        while page := self.catalog.streams.list_executions(stream_id, limit=500, offset=len(out)):
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
        writeback = spec.provider_key == PROVIDER_KEY
        if writeback:
            self._check_writeback(principal, spec, principal.user.id)
            parse_schedule(spec.schedule)  # a bad schedule is refused before anything is made
        dataset, stream = self.datasets.create(
            principal,
            name=name,
            description=description,
            columns=metrics_columns(parse_config(spec.configuration).date_parse) if writeback else (),
            update_method=update_method,
            data_provider_type=spec.provider_key,
            schema_later=True,
        )
        self.product.put_connector(None, self._connector(stream.id, spec, principal.user.id, principal.user.id))
        if writeback:
            self._keep_schedule(stream.id, spec)
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
        stream = self.catalog.streams.get(stream_id)
        return self._view(stream, self.datasets.get(principal, stream.dataset_id))

    def list(self, principal: Principal, *, limit: int, offset: int) -> list[ConnectorStream]:
        """The streams of the DataSets the caller may read (every stream for an Admin)."""
        permissions.require_scope(principal, "data")
        readable = self.datasets.readable_ids(principal)
        return [
            self._view(s, self.catalog.datasets.get(s.dataset_id))
            for s in self.catalog.streams.find(limit=limit, offset=offset, dataset_ids=readable)
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
        stream = self.catalog.streams.get(stream_id)
        dataset = self.datasets.get_for_edit(principal, stream.dataset_id)
        if update_method is UpdateMethod.UPSERT and not stream.key_columns:
            raise InvalidField("updateMethod", "UPSERT needs key columns; use APPEND or REPLACE")
        writeback = spec is not None and spec.provider_key == PROVIDER_KEY
        if spec is not None and writeback:
            self._check_writeback(principal, spec, dataset.owner_id)
        if name is not None or description is not None:
            dataset = self.datasets.update(principal, dataset.id, name=name or None, description=description)
        if update_method is not None:
            stream = self.catalog.streams.update(stream_id, update_method, None)
        if spec is not None:
            old = self.product.get_connector(stream_id)
            created_by = old.created_by if old else principal.user.id
            self.product.put_connector(None, self._connector(stream_id, spec, created_by, principal.user.id))
            if spec.provider_key != dataset.data_provider_type:
                dataset = self.datasets.catalog.datasets.update(dataset.id, data_provider_type=spec.provider_key)
            if writeback:
                columns = metrics_columns(parse_config(spec.configuration).date_parse)
                dataset = self.datasets.update(principal, dataset.id, columns=columns)
                self._keep_schedule(stream_id, spec)
        return self._view(stream, dataset)

    def run(self, principal: Principal, stream_id: int) -> Run:
        """A manual run: the writeback connector starts in the background (the execution is ACTIVE); a stream
        of any other provider ends ERROR at once, saying why. Raises Conflict while the stream is running."""
        stream = self.catalog.streams.get(stream_id)
        dataset = self.datasets.get_for_edit(principal, stream.dataset_id)
        connector = self.product.get_connector(stream_id)
        if connector is not None and connector.provider_key == PROVIDER_KEY:
            execution = self.runs.run_now(stream, principal.user.id)
            return Run(execution, self.runs.runs(stream_id).get(execution.id))
        execution = self.ingest.open_execution(stream, dataset, None)
        if connector is None:
            message = (
                f"stream {stream_id} has no connector: its DataSet is loaded through uploads, not by running the stream"
            )
        else:
            message = f"domolite has no connector for the data provider {connector.provider_key!r} yet"
        return Run(self.catalog.streams.advance_execution(execution, ExecutionState.ERROR, message=message), None)

    def history(self, principal: Principal, stream_id: int) -> Sequence[Run]:
        """The stream's runs, newest first."""
        stream = self.catalog.streams.get(stream_id)
        self.datasets.get(principal, stream.dataset_id)
        infos = self.runs.runs(stream_id)
        return [Run(e, infos.get(e.id)) for e in reversed(self._executions(stream_id))]

    def execution(self, principal: Principal, stream_id: int, execution_id: int) -> Run:
        stream = self.catalog.streams.get(stream_id)
        self.datasets.get(principal, stream.dataset_id)
        execution = self.catalog.streams.get_execution(stream_id, execution_id)
        return Run(execution, self.runs.runs(stream_id).get(execution_id))


def with_dataset(view: ConnectorStream, dataset: DataSet) -> ConnectorStream:
    return replace(view, dataset=dataset)
