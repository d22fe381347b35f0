"""Three-stage uploads (open, parts, commit) and the partitions (data tags) they fill.

An upload is an execution of the DataSet's stream, so parts, diagnostics, the commit as one data version and
crash recovery are the ingest machinery's. A tagged commit replaces that partition's rows in one snapshot;
the partition's catalog entry is written after the lake commit, in the same catalog transaction that ends the
execution (the pointer moves last), and a commit settled after a crash writes it the same way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import anyio

from domolite.access import permissions
from domolite.catalog import Catalog
from domolite.catalog.engine import CatalogWrite
from domolite.catalog.product import ProductStore
from domolite.datasets.service import DataSets
from domolite.errors import Conflict, ExecutionNotActive, InvalidField, PartitionLimitReached, PartitionNotFound
from domolite.ingest.csvformat import source_sql
from domolite.ingest.executions import Ingest, Landed
from domolite.models.audit import Action
from domolite.models.records import (
    Column,
    DataSet,
    Execution,
    ExecutionState,
    Partition,
    Principal,
    Stream,
    UpdateMethod,
    Upload,
)
from domolite.storage.tables import Tables


@dataclass(frozen=True)
class Committed:
    upload: Upload
    execution: Execution
    data_tag: str | None


def no_rows_sql(columns: tuple[Column, ...]) -> str:
    """A SELECT of no rows shaped like the schema (a load that only deletes)."""
    return source_sql([], columns) if columns else "SELECT 1 AS __none WHERE false LIMIT 0"


def row_csv(values: str, delimiter: str | None, columns: tuple[Column, ...]) -> bytes:
    """The append-row upload's `values` (one row, split at `delimiter`, a comma by default; a field may be quoted
    to hold the delimiter) as one line of Domo CSV.

    Raises:
        InvalidField: the delimiter is empty, the values hold more than one row, or not one value per column.
    """
    sep = "," if delimiter is None else delimiter
    if not sep or sep in ('"', "\r", "\n"):
        raise InvalidField("delimiter", f"{sep!r} cannot separate values; send one character such as ',' or '|'")
    if len(sep) == 1:
        rows = list(csv.reader(io.StringIO(values, newline=""), delimiter=sep))
    else:
        rows = [line.split(sep) for line in values.splitlines()]
    if len(rows) != 1:
        raise InvalidField("values", f"holds {len(rows)} rows; the append-row upload adds exactly one")
    row = rows[0]
    if len(row) != len(columns):
        names = ", ".join(repr(c.name) for c in columns)
        raise InvalidField(
            "values",
            f"holds {len(row)} values split at {sep!r}; the DataSet has {len(columns)} columns ({names})",
        )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue().encode()


def check_tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    text = str(tag)
    if not text.strip():
        return None
    if len(text) > 1000:
        raise InvalidField("dataTag", "a partition tag is at most 1000 characters")
    return text


class Uploads:
    def __init__(
        self,
        catalog: Catalog,
        product: ProductStore,
        lake: Tables,
        ingest: Ingest,
        datasets: DataSets,
        partition_limit: int,
    ) -> None:
        self.catalog = catalog
        self.product = product
        self.lake = lake
        self.ingest = ingest
        self.datasets = datasets
        self.partition_limit = partition_limit
        ingest.on_landed(self._partition_entry)

    def _partition_entry(self, landed: Landed) -> CatalogWrite | None:
        """A tagged commit is its partition's newest data version; a REPLACE of every row empties them all. The
        entry is written in the commit's own catalog transaction (also when a restart settles the commit)."""
        if landed.partition is not None:
            return self.product.partition_write(
                landed.dataset.id, landed.partition, landed.snapshot_id, landed.partition_rows
            )
        if landed.method is UpdateMethod.REPLACE:
            return self.product.clear_partitions_write(landed.dataset.id)
        return None

    # -- stage 1 ---------------------------------------------------------------------------------------------
    def _stream_of(self, dataset: DataSet) -> Stream:
        found = self.catalog.streams.find(limit=1, offset=0, dataset_ids=[dataset.id])
        if found:
            return found[0]
        with self.catalog.tx() as conn:
            stream_id = self.catalog.streams.insert(conn, dataset.id, UpdateMethod.REPLACE, ())
        return self.catalog.streams.get(stream_id)

    def _check_room(self, dataset: DataSet, tag: str) -> None:
        if self.product.has_partition(dataset.id, tag):
            return
        if self.product.count_partitions(dataset.id) >= self.partition_limit:
            raise PartitionLimitReached(dataset.id, self.partition_limit)

    def open(self, principal: Principal, dataset_id: str, action: str | None, data_tag: str | None) -> Upload:
        """Stage 1: a new upload id (never 0). A new partition tag past the limit is refused here."""
        dataset = self.datasets.get_for_edit(principal, dataset_id)
        tag = check_tag(data_tag)
        if tag is not None:
            self._check_room(dataset, tag)
        method = UpdateMethod.parse(action, "action") if action else None
        stream = self._stream_of(dataset)
        execution = self.ingest.open_execution(stream, dataset, method if method is not UpdateMethod.UPSERT else None)
        return self.product.add_upload(execution.id, dataset.id, stream.id, tag)

    async def begin(
        self,
        principal: Principal,
        dataset_id: str,
        action: str | None,
        data_tag: str | None,
        values: str | None = None,
        delimiter: str | None = None,
    ) -> Upload | Committed:
        """Stage 1 as the API asks it: an upload opened (`open`, on a worker thread), or with `values` the
        append-row upload, committed at once (`append_row`)."""
        if values is not None:
            return await self.append_row(principal, dataset_id, values, delimiter)
        return await anyio.to_thread.run_sync(self.open, principal, dataset_id, action, data_tag)

    async def append_row(self, principal: Principal, dataset_id: str, values: str, delimiter: str | None) -> Committed:
        """The append-row upload: `values` become one row appended to the DataSet, as one upload committed at
        once (one data version). Nothing is added when the values do not fit the schema."""

        def opened() -> tuple[Upload, bytes]:
            dataset = self.datasets.get_for_edit(principal, dataset_id)
            line = row_csv(values, delimiter, dataset.columns)
            return self.open(principal, dataset_id, UpdateMethod.APPEND.value, None), line

        upload, line = await anyio.to_thread.run_sync(opened)

        async def body() -> AsyncIterator[bytes]:
            yield line

        await self.receive_part(upload, 1, body(), gzip=False)
        return await anyio.to_thread.run_sync(
            self.commit, principal, dataset_id, upload.id, UpdateMethod.APPEND.value, None
        )

    # -- stage 2 ---------------------------------------------------------------------------------------------
    async def receive_part(
        self, upload: Upload, part_no: int, chunks: AsyncIterator[bytes], *, gzip: bool
    ) -> Execution:
        try:
            return await self.ingest.receive_part(upload.stream_id, upload.id, part_no, chunks, gzip=gzip)
        except ExecutionNotActive as exc:
            raise _ended(upload, exc) from None

    async def receive_part_of(
        self,
        principal: Principal,
        dataset_id: str,
        upload_id: int,
        part_no: int,
        chunks: AsyncIterator[bytes],
        *,
        gzip: Callable[[], bool],
    ) -> tuple[Upload, Execution]:
        """Stage 2 as the API asks it: the caller may edit the DataSet and the upload is its (checked on a
        worker thread before the body is read), then the part is stored (see `receive_part`). `gzip` says
        whether the body is gzip; it is asked after the checks (it may refuse the body's encoding)."""
        upload = await anyio.to_thread.run_sync(self.upload_for_edit, principal, dataset_id, upload_id)
        return upload, await self.receive_part(upload, part_no, chunks, gzip=gzip())

    async def import_csv(
        self,
        principal: Principal,
        dataset_id: str,
        chunks: AsyncIterator[bytes],
        *,
        gzip: Callable[[], bool],
        method: UpdateMethod,
    ) -> None:
        """A one-shot CSV import (PUT /v1/datasets/{id}/data): the caller may edit the DataSet (checked before the
        body is read), the body is received whole, then loaded as one data version (on a worker thread).

        Raises:
            InvalidField: `updateMethod` UPSERT: an import takes REPLACE or APPEND (UPSERT is a stream's, on its
                key columns).
        """
        if method is UpdateMethod.UPSERT:
            raise InvalidField("updateMethod", "an import takes REPLACE or APPEND; UPSERT is for a stream's executions")
        dataset = await anyio.to_thread.run_sync(self.datasets.get_for_edit, principal, dataset_id)
        path = await self.ingest.receive_import(dataset, chunks, gzip=gzip())
        await anyio.to_thread.run_sync(self.ingest.apply_import, dataset, path, method, principal)

    def upload_for_edit(self, principal: Principal, dataset_id: str, upload_id: int) -> Upload:
        self.datasets.get_for_edit(principal, dataset_id)
        return self.product.get_upload(dataset_id, upload_id)

    # -- stage 3 ---------------------------------------------------------------------------------------------
    def commit(
        self, principal: Principal, dataset_id: str, upload_id: int, action: str | None, data_tag: str | None
    ) -> Committed:
        """Stage 3: the parts become one data version. APPEND adds, REPLACE replaces every row, and a
        partition
        tag (given here or at stage 1) replaces only that partition's rows. Committing again is harmless: a
        committed upload is answered as it was.

        Raises:
            InvalidCsv: a part does not match the schema; the DataSet (and the partition) keep their old rows.
        """
        dataset = self.datasets.get_for_edit(principal, dataset_id)
        upload = self.product.get_upload(dataset_id, upload_id)
        execution = self.catalog.streams.get_execution(upload.stream_id, upload.id)
        if execution.state is ExecutionState.SUCCESS:  # answered as the first commit was, whatever this one says
            return Committed(upload, execution, self._tag_committed(upload))
        given = check_tag(data_tag)
        if given is not None and upload.data_tag is not None and given != upload.data_tag:
            raise InvalidField(
                "dataTag",
                f"upload {upload.id} was opened for the partition {upload.data_tag!r}, not {given!r}; commit it "
                "with that tag or none",
            )
        tag = given or upload.data_tag
        method = UpdateMethod.parse(action, "action") if action else None
        if method is UpdateMethod.UPSERT:
            raise InvalidField("action", "uploads take APPEND or REPLACE")
        if tag is not None:
            self._check_room(dataset, tag)
            method = UpdateMethod.APPEND
        stream = self.catalog.streams.get(upload.stream_id)
        try:
            done, _version = self.ingest.commit_version(
                dataset, stream, upload.id, method=method, partition=tag, by=principal
            )
        except ExecutionNotActive as exc:
            raise _ended(upload, exc) from None
        return Committed(upload, done, tag)

    def _tag_committed(self, upload: Upload) -> str | None:
        """The partition tag a committed upload's commit used (its own, or the one given at stage 1)."""
        snapshot = self.lake.committed_snapshot("execution", upload.id)
        partition = snapshot.info.get("partition") if snapshot is not None else None
        return partition if isinstance(partition, str) else upload.data_tag

    # -- partitions ------------------------------------------------------------------------------------------
    def partitions(
        self,
        principal: Principal,
        dataset_id: str,
        *,
        include_deleted: bool,
        descending: bool = False,
        completed_min: datetime | None = None,
        completed_max: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Partition]:
        self.datasets.get(principal, dataset_id)
        return self.product.list_partitions(
            dataset_id,
            include_deleted=include_deleted,
            descending=descending,
            completed_min=completed_min,
            completed_max=completed_max,
            limit=limit,
            offset=offset,
        )

    def settle_partition_deletions(self) -> None:
        """A deletion of a partition's rows that reached the lake but not the catalog (its server stopped in
        between) is marked in the catalog now, as the deletion would have marked it. Run at start."""
        marked = self.lake.marked_snapshots("deletePartition")
        if not marked:
            return
        by_table = {d.table: d.id for d in map(self.catalog.datasets.get, self.catalog.datasets.all_ids())}
        for snapshot in marked:
            tag, dataset_id = snapshot.info.get("deletePartition"), by_table.get(str(snapshot.info.get("table")))
            if not isinstance(tag, str) or dataset_id is None:
                continue
            try:
                current = self.product.get_partition(dataset_id, tag)
            except PartitionNotFound:
                continue  # the tag was removed since
            if current.data_id < snapshot.snapshot_id:
                self.product.put_partition(dataset_id, tag, snapshot.snapshot_id, 0, deleted=True)

    def delete_partition_data(self, principal: Principal, dataset_id: str, tag: str) -> Partition:
        """Remove the partition's rows (one data version) and keep the tag, marked deleted."""
        dataset = self.datasets.get_for_edit(principal, dataset_id)
        self.product.get_partition(dataset_id, tag)
        result = self.lake.load(
            dataset.table,
            no_rows_sql(dataset.columns),
            replace=False,
            partition=tag,
            commit_info={"deletePartition": tag, "method": "DELETE"},
        )
        self.catalog.datasets.record_data_change(dataset.id, result.row_count, result.snapshot_id)
        self.product.put_partition(dataset.id, tag, result.snapshot_id, 0, deleted=True)
        what = f"data version {result.snapshot_id}; the rows of partition {tag!r} deleted"
        self.datasets.record(principal, Action.DATA_COMMITTED, dataset, what)
        return self.product.get_partition(dataset_id, tag)

    def remove_partition(self, principal: Principal, dataset_id: str, tag: str) -> None:
        """Forget the tag. Rows still carrying it stay; delete the partition's data first to remove them."""
        permissions.require_edit(principal, self.datasets.get_for_edit(principal, dataset_id))
        self.product.remove_partition(dataset_id, tag)


def _ended(upload: Upload, exc: ExecutionNotActive) -> Conflict:
    """An upload that takes no more parts or commits, told in the upload's words."""
    if exc.state == ExecutionState.COMMITTING.value:
        return Conflict(f"upload {upload.id} is being committed; wait for its commit to end")
    return Conflict(
        f"upload {upload.id} has ended ({exc.state}) and takes no more parts or commits; open a new upload and "
        "send its parts"
    )
