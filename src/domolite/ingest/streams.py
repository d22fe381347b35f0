"""Streams: the upload channel of a DataSet. Creation, search, update, deletion, and execution access."""

from __future__ import annotations

import builtins
import re
from collections.abc import AsyncIterator, Callable, Sequence

import anyio

from domolite.access import permissions
from domolite.catalog import Catalog
from domolite.datasets.service import DataSets, check_upsert_keys
from domolite.errors import InvalidField
from domolite.ingest.executions import Ingest
from domolite.models.access import Capability
from domolite.models.audit import Action, ObjectType
from domolite.models.records import Column, DataSet, Execution, Principal, Stream, UpdateMethod

_TERM_SPLIT = re.compile(r",(?=dataSource\.)")


class Streams:
    def __init__(self, catalog: Catalog, datasets: DataSets, ingest: Ingest) -> None:
        self.catalog = catalog
        self.datasets = datasets
        self.ingest = ingest

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        description: str,
        columns: Sequence[Column],
        update_method: UpdateMethod,
        key_columns: Sequence[str],
        owner_id: int | None = None,
    ) -> tuple[Stream, DataSet]:
        dataset, stream = self.datasets.create(
            principal,
            name=name,
            description=description,
            columns=columns,
            owner_id=owner_id,
            update_method=_keyed(update_method, key_columns),
            key_columns=key_columns,
        )
        return stream, dataset

    def get(self, principal: Principal, stream_id: int) -> tuple[Stream, DataSet]:
        stream = self.catalog.streams.get(stream_id)
        return stream, self.datasets.get(principal, stream.dataset_id)

    def of_dataset(self, dataset: DataSet) -> Stream | None:
        """The DataSet's stream (every DataSet has at most one), or None."""
        found = self.catalog.streams.find(limit=1, offset=0, dataset_ids=[dataset.id])
        return found[0] if found else None

    def executions(self, stream_id: int, *, limit: int, offset: int) -> builtins.list[Execution]:
        return self.catalog.streams.list_executions(stream_id, limit=limit, offset=offset)

    def execution(self, stream_id: int, execution_id: int) -> Execution:
        return self.catalog.streams.get_execution(stream_id, execution_id)

    def execution_key(self, stream_id: int, number: int) -> int:
        """The catalog's key of the stream's execution `number` (each stream numbers its own executions)."""
        return self.catalog.streams.execution_key(stream_id, number)

    async def receive_part(
        self,
        principal: Principal,
        stream_id: int,
        number: int,
        part_no: int,
        chunks: AsyncIterator[bytes],
        *,
        gzip: Callable[[], bool],
    ) -> Execution:
        """A part of the stream's execution `number`: the caller may edit the DataSet (checked on a worker thread
        before the body is read), then the part is stored (see Ingest.receive_part). `gzip` says whether the body
        is gzip; it is asked after the checks (it may refuse the body's encoding)."""

        def key() -> int:
            self.get_for_edit(principal, stream_id)
            return self.execution_key(stream_id, number)

        execution_id = await anyio.to_thread.run_sync(key)
        return await self.ingest.receive_part(stream_id, execution_id, part_no, chunks, gzip=gzip())

    def get_for_edit(self, principal: Principal, stream_id: int) -> tuple[Stream, DataSet]:
        stream = self.catalog.streams.get(stream_id)
        return stream, self.datasets.get_for_edit(principal, stream.dataset_id)

    def list(self, principal: Principal, *, limit: int, offset: int) -> builtins.list[tuple[Stream, DataSet]]:
        permissions.require_scope(principal, "data")
        readable = self.datasets.readable_ids(principal)
        streams = self.catalog.streams.find(limit=limit, offset=offset, dataset_ids=readable)
        return [(s, self.catalog.datasets.get(s.dataset_id)) for s in streams]

    def search(self, principal: Principal, query: str) -> builtins.list[tuple[Stream, DataSet]]:
        """`dataSource.id:X`, `dataSource.name:X`, `dataSource.owner.id:X`, comma-joined and ANDed."""
        permissions.require_scope(principal, "data")
        wanted: dict[str, str] = {}
        for term in _TERM_SPLIT.split(query.strip()):
            key, sep, value = term.partition(":")
            if not sep or key not in ("dataSource.id", "dataSource.name", "dataSource.owner.id"):
                raise InvalidField("q", f"unsupported search term {term!r}")
            wanted[key] = value
        candidates: Sequence[DataSet]
        if "dataSource.id" in wanted:
            try:
                candidates = [self.catalog.datasets.get(wanted["dataSource.id"])]
            except Exception:
                return []
        else:
            candidates = self.datasets.visible(principal)
        out = []
        for dataset in candidates:
            if not permissions.can(principal, dataset, Capability.READ):
                continue
            if "dataSource.name" in wanted and dataset.name != wanted["dataSource.name"]:
                continue
            if "dataSource.owner.id" in wanted and str(dataset.owner_id) != wanted["dataSource.owner.id"]:
                continue
            for stream in self.catalog.streams.find(limit=1000, offset=0, dataset_ids=[dataset.id]):
                out.append((stream, dataset))
        return out

    def update(
        self, principal: Principal, stream_id: int, method: UpdateMethod | None, key_columns: Sequence[str] | None
    ) -> tuple[Stream, DataSet]:
        stream, dataset = self.get_for_edit(principal, stream_id)
        if key_columns:  # keys given to an APPEND stream (or with APPEND): an upsert from now on
            method = _keyed(method or stream.update_method, key_columns)
        effective = method or stream.update_method
        keys = key_columns if key_columns is not None else stream.key_columns
        if effective is UpdateMethod.UPSERT:
            check_upsert_keys(keys, dataset.columns)
        return self.catalog.streams.update(stream_id, method, key_columns), dataset

    def delete(self, principal: Principal, stream_id: int) -> None:
        """Deletes the stream with its executions (one catalog transaction); its DataSet stays. Deleting is the
        owner's, a co-owner's or an Admin's right (as deleting the DataSet is), not an editor's."""
        stream = self.catalog.streams.get(stream_id)
        dataset = self.catalog.datasets.get(stream.dataset_id)
        permissions.require_delete(principal, dataset)
        self.datasets.executions_removed(self.catalog.streams.delete(stream_id))
        self.datasets.audit.record(
            self.datasets.audit.event(
                principal, Action.DELETED, ObjectType.STREAM, stream_id, dataset.name, f"stream of DataSet {dataset.id}"
            )
        )


def _keyed(method: UpdateMethod, key_columns: Sequence[str]) -> UpdateMethod:
    """APPEND with key columns is how the Stream API document asks for an upsert (pydomo sends UPSERT)."""
    return UpdateMethod.UPSERT if method is UpdateMethod.APPEND and key_columns else method
