"""The execution lifecycle (ACTIVE -> COMMITTING -> SUCCESS | ERROR, or ABORTED) and one-shot imports."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio

from domolite.audit.log import AuditLog
from domolite.catalog import Catalog
from domolite.catalog.engine import CatalogWrite
from domolite.datasets.service import check_upsert_keys
from domolite.errors import Busy, CommitRunning, DomoError, ExecutionNotActive, InvalidCsv, InvalidPart, ShuttingDown
from domolite.ingest.csvformat import diagnose, source_sql
from domolite.ingest.parts import receive_body
from domolite.models.audit import Action, AuditEvent, ObjectType
from domolite.models.limits import Limits
from domolite.models.records import DataSet, Execution, ExecutionState, Principal, Stream, UpdateMethod
from domolite.server import metrics
from domolite.server.scratch import private_dir, remove_gone
from domolite.storage.staging import FolderStaging, Staging
from domolite.storage.tables import LoadFailed, LoadResult, Tables

log = logging.getLogger("domolite.ingest")

IMPORT_KIND = "import"
DIAGNOSE_KIND = "diagnose"  # local copies of parts kept in the bucket, read to name a commit's bad value


@dataclass(frozen=True)
class Landed:
    """A commit that reached the lake: its data version, update method and partition tag (with the rows the
    partition holds now)."""

    dataset: DataSet
    snapshot_id: int
    method: UpdateMethod
    partition: str | None
    partition_rows: int


# What another part of the catalog records about a landed commit (a partition's entry), written in the same
# transaction as the execution's end, whether the commit ends normally or is settled after a crash.
LandingHook = Callable[[Landed], CatalogWrite | None]


class Ingest:
    def __init__(
        self,
        catalog: Catalog,
        lake: Tables,
        staging_dir: Path,
        limits: Limits,
        *,
        process_id: str,
        audit: AuditLog,
        staging: Staging | None = None,
    ) -> None:
        """Parts are kept in `staging` (default: a folder under `staging_dir`); bodies are received, and
        imports kept, in `staging_dir` (local scratch)."""
        self.catalog = catalog
        self.audit = audit
        self.process_id = process_id
        self._landing_hooks: list[LandingHook] = []
        self.lake = lake
        self.staging_dir = staging_dir
        self.limits = limits
        self.staging = staging or FolderStaging(staging_dir)
        # Bodies are received here and moved into their execution's folder only once complete and checked,
        # in the catalog transaction that records them (so a commit or abort never races a half-moved part).
        self.incoming_dir = staging_dir / "incoming"
        staging_dir.mkdir(parents=True, exist_ok=True)

    # -- staged parts -----------------------------------------------------------------------------------------
    def _discard(self, execution_id: int) -> None:
        self.catalog.streams.delete_parts(execution_id)
        self._forget(execution_id)

    def _forget(self, execution_id: int) -> None:
        try:
            self.staging.discard(execution_id)
        except DomoError as exc:  # the object store failed: the next start removes them (remove_ended_parts)
            log.warning("the staged parts of execution %s stay for now: %s", execution_id, exc.message)

    def forget_executions(self, execution_ids: Sequence[int]) -> None:
        """Remove the staged parts of executions the catalog no longer has (their DataSet or stream was deleted)."""
        for execution_id in execution_ids:
            self._forget(execution_id)

    def on_landed(self, hook: LandingHook) -> None:
        """Have `hook` record what it keeps about every commit that reaches the lake (see LandingHook)."""
        self._landing_hooks.append(hook)

    def _landing_writes(self, landed: Landed, by: Principal | None, comment: str) -> list[CatalogWrite]:
        """What the hooks record about a landed commit, and its audit event (who committed what)."""
        writes = [w for w in (hook(landed) for hook in self._landing_hooks) if w is not None]
        return [*writes, self.audit.write(self._committed(landed.dataset, by, landed.snapshot_id, comment))]

    def _committed(self, dataset: DataSet, by: Principal | None, version: int, comment: str) -> AuditEvent:
        text = f"data version {version}; {comment}"
        return self.audit.event(by, Action.DATA_COMMITTED, ObjectType.DATA_SOURCE, dataset.id, dataset.name, text)

    # -- executions -------------------------------------------------------------------------------------------
    def open_execution(self, stream: Stream, dataset: DataSet, method: UpdateMethod | None) -> Execution:
        """Open an execution of the stream with `method` (the stream's when None).

        Raises:
            InvalidField: an UPSERT whose stream has no key columns, or one no longer in the schema.
        """
        method = method or stream.update_method
        if method is UpdateMethod.UPSERT:
            check_upsert_keys(stream.key_columns, dataset.columns)
        return self.catalog.streams.create_execution(stream.id, method)

    def _active(self, stream_id: int, execution_id: int) -> Execution:
        execution = self.catalog.streams.get_execution(stream_id, execution_id)
        if execution.state is not ExecutionState.ACTIVE:
            raise ExecutionNotActive(stream_id, execution.number, execution.state.value)
        return execution

    async def receive_part(
        self, stream_id: int, execution_id: int, part_no: int, chunks: AsyncIterator[bytes], *, gzip: bool
    ) -> Execution:
        """Store one part (re-sending a part number replaces it). Parts may arrive in parallel and in any order.

        Raises:
            ExecutionNotActive: the execution is committing or ended, before the body or once it arrived
                (nothing of the part is kept).
            InvalidPart: the body is incomplete, damaged or holds a record over the limit (nothing is kept).
        """
        if part_no < 0:
            raise InvalidPart(f"part number {part_no} is negative")
        # Catalog work on a worker thread: a wait for the catalog must never hold up the event loop.
        await anyio.to_thread.run_sync(self._active, stream_id, execution_id)
        received, size = await receive_body(
            chunks,
            self.incoming_dir,
            gzip_declared=gzip,
            max_bytes=self.limits.part_bytes,
            max_record_bytes=self.limits.record_bytes,
            what=f"part {part_no}",
            again="send the part again",
            owner=self.process_id,
        )
        try:
            await anyio.to_thread.run_sync(self._place_part, stream_id, execution_id, part_no, received, size)
        finally:
            received.unlink(missing_ok=True)
        return await anyio.to_thread.run_sync(self._active_or_done, stream_id, execution_id)

    def _place_part(self, stream_id: int, execution_id: int, part_no: int, received: Path, size: int) -> None:
        """Keep a received part in the staging area and record it, in one catalog transaction that first checks
        that the execution is still ACTIVE (a commit or abort takes the same row, so it waits or wins)."""
        with self.staging.placing(received, execution_id, part_no, self.process_id) as place:
            self.catalog.streams.record_part(stream_id, execution_id, part_no, size, place)

    def _active_or_done(self, stream_id: int, execution_id: int) -> Execution:
        """The execution, as it is now (a part was recorded while it was ACTIVE; a commit may have begun since)."""
        return self.catalog.streams.get_execution(stream_id, execution_id)

    def stage_part(self, stream_id: int, execution_id: int, part_no: int, data: bytes) -> None:
        """Store a part made by the server itself (a connector's row)."""
        self._active(stream_id, execution_id)
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        received = self.incoming_dir / f"{self.process_id}-{uuid.uuid4().hex}.tmp"
        received.write_bytes(data)
        try:
            self._place_part(stream_id, execution_id, part_no, received, len(data))
        finally:
            received.unlink(missing_ok=True)

    def commit(self, dataset: DataSet, stream: Stream, execution_id: int, by: Principal | None = None) -> Execution:
        """Make the execution's parts the DataSet's data, as one data version.

        Raises:
            ExecutionNotActive: the execution was already committed or aborted.
            InvalidCsv: a part does not match the schema; the DataSet is unchanged and the execution is ERROR.
        """
        return self.commit_version(dataset, stream, execution_id, by=by)[0]

    def commit_version(
        self,
        dataset: DataSet,
        stream: Stream,
        execution_id: int,
        *,
        method: UpdateMethod | None = None,
        partition: str | None = None,
        reported: tuple[int, int] | None = None,
        failure: str | None = None,
        by: Principal | None = None,
    ) -> tuple[Execution, int]:
        """`commit`, with the update method chosen at commit time and an optional partition tag whose rows the
        parts replace. Returns the execution and the data version (snapshot id) it made.

        A connector run reports its own rows and bytes (`reported`), and ends ERROR with `failure` when the
        work it records failed: the record is still committed. `by` is who committed (None: the server itself),
        for the audit log."""
        execution = self._active(stream.id, execution_id)
        with self.lake.writing():  # Busy after a bounded wait: the execution stays ACTIVE, to be committed again
            if self.lake.closing:
                raise ShuttingDown("the server is stopping; commit the execution again")
            # The DataSet and stream as they are now, in the write turn: a schema change or a delete may have
            # come first (the DataSet's gone: DataSetNotFound; a key column gone: InvalidField, still ACTIVE).
            dataset = self.catalog.datasets.get(dataset.id)
            stream = self.catalog.streams.get(stream.id)
            if (method or execution.update_method) is UpdateMethod.UPSERT:
                check_upsert_keys(stream.key_columns, dataset.columns)
            return self._commit_in_turn(dataset, stream, execution, method, partition, reported, failure, by)

    def _commit_in_turn(
        self,
        dataset: DataSet,
        stream: Stream,
        execution: Execution,
        method: UpdateMethod | None,
        partition: str | None,
        reported: tuple[int, int] | None,
        failure: str | None,
        by: Principal | None,
    ) -> tuple[Execution, int]:
        execution = self.catalog.streams.advance_execution(execution, ExecutionState.COMMITTING, owner=self.process_id)
        numbered = self.catalog.streams.part_numbers(execution.id)
        method = method or execution.update_method
        size = sum(part_size for _, part_size in numbered)
        info: dict[str, object] = {"execution": execution.id, "method": method.value, "bytes": size}
        if partition is not None:
            info["partition"] = partition
        try:
            result = self._load(dataset, execution.id, numbered, method, stream.key_columns, info, partition=partition)
        except ShuttingDown:
            raise  # left COMMITTING, with its parts: the next start settles it by whether its snapshot landed
        except Busy:
            self.catalog.streams.advance_execution(execution, ExecutionState.ACTIVE)  # nothing changed; parts kept
            raise
        except BaseException as exc:
            message = exc.message if isinstance(exc, DomoError) else "the commit failed on an internal error"
            self.catalog.streams.advance_execution(execution, ExecutionState.ERROR, message=message)
            self._discard(execution.id)
            raise
        self.catalog.datasets.record_data_change(dataset.id, result.row_count, result.snapshot_id)
        rows, size = reported or (result.rows_loaded, size)
        landed = Landed(dataset, result.snapshot_id, method, partition, result.rows_loaded)
        what = f"{method.value} of {result.rows_loaded} rows by execution {execution.number} of stream {stream.id}"
        if partition is not None:
            what += f" into partition {partition!r}"
        writes = self._landing_writes(landed, by, what)
        if failure is not None:
            done = self.catalog.streams.advance_execution(
                execution, ExecutionState.ERROR, message=failure, rows=rows, size=size, also=writes, method=method
            )
        else:
            done = self.catalog.streams.advance_execution(
                execution, ExecutionState.SUCCESS, rows=rows, size=size, also=writes, method=method
            )
        self._discard(execution.id)
        return done, result.snapshot_id

    def abort(self, stream_id: int, execution_id: int) -> Execution:
        execution = self._active(stream_id, execution_id)
        done = self.catalog.streams.advance_execution(execution, ExecutionState.ABORTED)
        self._discard(execution_id)
        return done

    def abort_active(self, stream_id: int) -> None:
        """Abort every ACTIVE execution of the stream ("abort all"; none is fine).

        Raises:
            CommitRunning: an execution of the stream was committing, which cannot be aborted (it ends SUCCESS
                or ERROR); the ACTIVE ones were aborted all the same.
        """
        offset = 0
        committing: list[int] = []
        while page := self.catalog.streams.list_executions(stream_id, limit=500, offset=offset):
            for execution in page:
                if execution.state is ExecutionState.ACTIVE:
                    try:
                        self.abort(stream_id, execution.id)
                    except ExecutionNotActive:
                        execution = self.catalog.streams.get_execution(stream_id, execution.id)
                if execution.state is ExecutionState.COMMITTING:
                    committing.append(execution.number)
            offset += len(page)
        if committing:
            raise CommitRunning(stream_id, committing)

    # -- one-shot import (PUT /v1/datasets/{id}/data) ----------------------------------------------------------
    async def receive_import(self, dataset: DataSet, chunks: AsyncIterator[bytes], *, gzip: bool) -> Path:
        """Receive a one-shot import into `dataset` whole (see `receive_part` for what is refused) into a folder
        of its own. A DataSet without columns is refused before the body is read."""
        check_loadable(dataset)
        folder = private_dir(self.staging_dir, IMPORT_KIND, self.process_id)
        try:
            received, _size = await receive_body(
                chunks,
                folder,
                gzip_declared=gzip,
                max_bytes=self.limits.part_bytes,
                max_record_bytes=self.limits.record_bytes,
                what="the body",
                again="send it again",
                owner=self.process_id,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        dest = folder / "part-000000000000.csv"
        os.replace(received, dest)
        return dest

    def apply_import(self, dataset: DataSet, path: Path, method: UpdateMethod, by: Principal | None = None) -> None:
        """Load a received import (`receive_import`) into the DataSet as it is once the lake's write turn is
        taken: a schema change or a delete may have come while the body arrived (DataSetNotFound then)."""
        try:
            info: dict[str, object] = {"import": path.parent.name, "method": method.value, "bytes": path.stat().st_size}
            with self.lake.writing():
                dataset = self.catalog.datasets.get(dataset.id)
                result = self._load(dataset, None, [(0, path.stat().st_size)], method, (), info, path=path)
            with self.catalog.tx() as conn:
                self.catalog.datasets.record_data_change(dataset.id, result.row_count, result.snapshot_id, conn)
                what = f"{method.value} of {result.rows_loaded} rows by import"
                self.audit.write(self._committed(dataset, by, result.snapshot_id, what))(conn)
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)

    # -- the load itself --------------------------------------------------------------------------------------
    def _load(
        self,
        dataset: DataSet,
        execution_id: int | None,
        numbered: Sequence[tuple[int, int]],
        method: UpdateMethod,
        key_columns: Sequence[str],
        commit_info: dict[str, object],
        *,
        partition: str | None = None,
        path: Path | None = None,
    ) -> _Loaded:
        """Load the parts (part number, bytes) of an execution, or the one file at `path` (an import)."""
        check_loadable(dataset)
        nonempty = [n for n, size in numbered if size > 0]

        if path is not None or execution_id is None:
            files = [str(path)] if path is not None and nonempty else []
        else:
            files = [self.staging.location(execution_id, n) for n in nonempty]

        def load(typed: bool) -> LoadResult:
            return self.lake.load(
                dataset.table,
                source_sql(files, dataset.columns, typed=typed, max_record_bytes=self.limits.record_bytes),
                replace=method is UpdateMethod.REPLACE and partition is None,
                partition=partition,
                key_columns=key_columns if method is UpdateMethod.UPSERT else (),
                commit_info=commit_info,
            )

        try:
            try:
                result = load(typed=True)  # the fast form; nothing is committed when it fails
            except LoadFailed:
                result = load(typed=False)  # the full rules (`""` in a number or date column is NULL)
        except LoadFailed as exc:
            problem = self._diagnose(execution_id, nonempty, path, dataset)
            log.info("load of %s failed: %s", dataset.id, exc.detail.splitlines()[0] if exc.detail else exc)
            raise InvalidCsv(problem or _first_line(exc.detail)) from None
        metrics.committed(result.rows_loaded)
        return _Loaded(result.row_count, result.rows_loaded, result.snapshot_id)

    def _diagnose(
        self, execution_id: int | None, part_nos: Sequence[int], path: Path | None, dataset: DataSet
    ) -> str | None:
        """The first bad value of the parts, read in Python (from local copies when they are in the bucket)."""
        if path is not None or execution_id is None:
            return diagnose([("the body", path)] if path is not None else [], dataset.columns)
        scratch = private_dir(self.staging_dir, DIAGNOSE_KIND, self.process_id)
        try:
            with ExitStack() as stack:
                copies = [
                    (f"part {n}", stack.enter_context(self.staging.readable(execution_id, n, scratch)))
                    for n in part_nos
                ]
                return diagnose(copies, dataset.columns)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # -- recovery ---------------------------------------------------------------------------------------------
    def recover(self, is_gone: Callable[[str | None], bool]) -> None:
        """Settle the executions a gone server process was committing (SUCCESS if their snapshot landed, else
        ERROR) and drop the imports it was receiving. What live processes are doing is left to them."""
        for execution, owner in self.catalog.streams.committing_executions():
            if not is_gone(owner):
                continue
            try:
                self._settle(execution)
            except ExecutionNotActive:
                continue  # another process settled it first
        remove_gone(self.staging_dir, IMPORT_KIND, is_gone)
        remove_gone(self.staging_dir, DIAGNOSE_KIND, is_gone)
        try:
            self.staging.remove_gone_incoming(is_gone)
        except DomoError as exc:
            log.warning("the incoming parts of gone processes stay for now: %s", exc.message)
        for path in self.incoming_dir.glob("*.tmp"):  # parts a gone process was receiving
            owner, sep, _rest = path.name.partition("-")
            if is_gone(owner if sep and owner else None):
                path.unlink(missing_ok=True)

    def remove_ended_parts(self) -> None:
        """Remove the parts of executions that have ended (committed, failed, aborted) or no longer exist:
        what a process that stopped mid-way left behind (run at start)."""
        for execution_id in self.staging.staged_executions():
            state = self.catalog.streams.execution_state(execution_id)
            if state is None or state in (ExecutionState.SUCCESS, ExecutionState.ERROR, ExecutionState.ABORTED):
                self._forget(execution_id)

    def _settle(self, execution: Execution) -> None:
        snapshot = self.lake.committed_snapshot("execution", execution.id)
        if snapshot is not None:
            stream = self.catalog.streams.get(execution.stream_id)
            dataset = self.catalog.datasets.get(stream.dataset_id)
            version = snapshot.snapshot_id
            self.catalog.datasets.record_data_change(dataset.id, self.lake.row_count(dataset.table, version), version)
            partition = snapshot.info.get("partition")
            tag = partition if isinstance(partition, str) else None
            try:
                method = UpdateMethod(str(snapshot.info.get("method")))
            except ValueError:
                method = execution.update_method
            rows = self.lake.partition_rows(dataset.table, tag) if tag is not None else 0
            landed = Landed(dataset, snapshot.snapshot_id, method, tag, rows)
            writes = self._landing_writes(
                landed, None, f"execution {execution.number}, settled after its server stopped"
            )
            self.catalog.streams.advance_execution(execution, ExecutionState.SUCCESS, also=writes)
        else:
            self.catalog.streams.advance_execution(
                execution, ExecutionState.ERROR, message="the commit was interrupted: its server process stopped"
            )
        self._discard(execution.id)


def check_loadable(dataset: DataSet) -> None:
    """Rows load only into a DataSet with a schema (a connector's DataSet has none until its first run or a
    schema change)."""
    if not dataset.columns:
        raise InvalidCsv(
            f"DataSet {dataset.id} has no columns yet: give it a schema (a schema change) before loading rows"
        )


class _Loaded:
    __slots__ = ("row_count", "rows_loaded", "snapshot_id")

    def __init__(self, row_count: int, rows_loaded: int, snapshot_id: int) -> None:
        self.row_count = row_count
        self.rows_loaded = rows_loaded
        self.snapshot_id = snapshot_id


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "the data does not match the schema"
    return line.removeprefix("Conversion Error: ").removeprefix("Invalid Input Error: ")
