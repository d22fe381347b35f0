"""Export to S3 jobs: accept a request (one active export per DataSet, reuse when nothing changed), run it
in the background, and record its progress and outcome. Credentials live only in the running job's memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from domolite.access import permissions
from domolite.audit.log import AuditLog
from domolite.catalog import Catalog
from domolite.catalog.clock import utcnow
from domolite.errors import Conflict, DomoError, ExportNotFound, Forbidden, InvalidField, S3Refused, ShuttingDown
from domolite.export.codecs import CONTENT_TYPES, EXTENSIONS
from domolite.export.csvsplit import CsvSplitter
from domolite.models.access import Capability
from domolite.models.audit import Action, ObjectType
from domolite.models.exports import (
    ACTIVE_STATES,
    Compression,
    ErrorCode,
    ExportFailure,
    ExportFormat,
    ExportJob,
    ExportObject,
    ExportOptions,
    ExportState,
    S3Credentials,
    S3Target,
)
from domolite.models.records import DataSet, Principal
from domolite.query import request as query_request
from domolite.query.door import Door
from domolite.query.request import QuerySpec
from domolite.query.unload import remove_leftovers
from domolite.server import metrics
from domolite.server.cancel import Cancel, Cancelled
from domolite.settings import Settings
from domolite.storage.s3 import S3, MultipartUpload

log = logging.getLogger("domolite.export")

READ_REQUIRED = (
    "To access this endpoint you must have READ rights on the dataset, "
    "or have dataset administrative authority (dataset.admin)."
)
INTERRUPTED_MESSAGE = "interrupted: the server process running it stopped"
PARQUET_CODECS = {
    Compression.NONE: "uncompressed",
    Compression.SNAPPY: "snappy",
    Compression.GZIP: "gzip",
    Compression.ZSTD: "zstd",
}


def already_running(job: ExportJob) -> ExportJob:
    """The running export as the answer to a request to start one: its `message` says that it was already
    running and that this request started nothing (only one export runs per DataSet at a time)."""
    note = (
        f"an export of this DataSet is already running (export {job.id}); only one runs per DataSet at a time, so "
        "this request started nothing and the running export is returned"
    )
    return replace(job, message=f"{note}; {job.message}" if job.message else note)


@dataclass(frozen=True)
class ExportRequest:
    """A parsed export request. `path` None means the DataSet id."""

    bucket: str
    region: str
    path: str | None
    credentials: S3Credentials = field(repr=False)
    options: ExportOptions = ExportOptions()
    query: QuerySpec = QuerySpec()
    endpoint_url: str | None = None
    path_style: bool = False
    kms_key_id: str | None = None


@dataclass
class _Completing:
    """An object whose last part was handed over, while S3 completes it."""

    key: str
    url: str
    rows: int
    size: int
    upload: MultipartUpload


@dataclass
class _Progress:
    """What a running job has written: uploads still open, objects complete."""

    open: dict[str, MultipartUpload] = field(default_factory=dict)
    # Objects written whose completion S3 is still on, in order: they are finished once complete.
    being_completed: list[_Completing] = field(default_factory=list)
    done: list[ExportObject] = field(default_factory=list)
    done_keys: list[str] = field(default_factory=list)
    # Where the job's objects go (`<path>/<exportId>/export/`: no other job writes there).
    prefix: str = ""
    # S3 became unreachable while starting an upload, or a start was sent again: S3 may have started an upload
    # without the answer reaching the job. The job then looks for uploads under `prefix` when it ends.
    unanswered: bool = False
    last_report: float = 0.0

    def open_upload(self, s3: S3, key: str, content_type: str) -> MultipartUpload:
        try:
            upload = s3.open_upload(key, content_type)
        except S3Refused as exc:
            if exc.code == ErrorCode.S3_UNREACHABLE:
                self.unanswered = True
            raise
        self.unanswered = self.unanswered or upload.start_retried
        self.open[key] = upload
        return upload

    def finished(self, key: str, url: str, rows: int, size: int) -> None:
        self.open.pop(key, None)
        self.done.append(ExportObject(url, rows, size))
        self.done_keys.append(key)

    def completing(self, key: str, url: str, rows: int, size: int) -> None:
        """The object at `key` is written: S3 completes it while the next one is written (`settle`)."""
        self.being_completed.append(_Completing(key, url, rows, size, self.open[key]))
        self.settle(wait=False)

    def settle(self, wait: bool) -> None:
        """Count the objects S3 has completed as finished, in order (with `wait`, all of them, once complete);
        raise the failure of a completion."""
        while self.being_completed and (wait or self.being_completed[0].upload.completed):
            done = self.being_completed.pop(0)
            done.upload.wait()
            self.finished(done.key, done.url, done.rows, done.size)


def _object_key(base: str, index: int, ext: str) -> str:
    """The key of an export's object: data.csv, data_1.csv, ... (data.parquet, ...)."""
    return f"{base}/data{'' if index == 0 else f'_{index}'}{ext}"


class Exports:
    def __init__(self, catalog: Catalog, door: Door, settings: Settings, process_id: str, audit: AuditLog) -> None:
        self.catalog = catalog
        self.audit = audit
        self.process_id = process_id
        self.jobs = catalog.exports
        self.door = door
        self.settings = settings
        self.scratch_dir = settings.staging_dir / "s3-exports"
        self._pool = ThreadPoolExecutor(max_workers=settings.export_workers, thread_name_prefix="export")
        self._stop = threading.Event()
        self._stopping = Cancel()  # cancelled by close(): interrupts the DuckDB work of running jobs

    # -- lifecycle -------------------------------------------------------------------------------------------
    def recover(self, is_gone: Callable[[str | None], bool]) -> None:
        """Jobs left queued or running by a server process that is gone end in error (their credentials went
        with it). Jobs of processes still running are theirs."""
        remove_leftovers(self.scratch_dir, is_gone)
        for job in self.jobs.in_states(ACTIVE_STATES):
            if not is_gone(job.owner):
                continue
            try:
                self.jobs.advance(job, ExportState.ERROR, error_code=ErrorCode.INTERRUPTED, message=INTERRUPTED_MESSAGE)
            except Conflict:
                continue

    def close(self, timeout_s: float = 20.0) -> None:
        """Ask running jobs to stop (they abort their uploads and end in error); wait a little for them."""
        self._stop.set()
        self._stopping.cancel("the server is stopping")
        waiter = threading.Thread(target=self._pool.shutdown, kwargs={"wait": True, "cancel_futures": True})
        waiter.start()
        waiter.join(timeout_s)

    # -- reads -----------------------------------------------------------------------------------------------
    def _readable(self, principal: Principal, dataset_id: str) -> DataSet:
        dataset = self.catalog.datasets.get(dataset_id)
        try:
            permissions.require_read(principal, dataset)
        except Forbidden:
            raise Forbidden(READ_REQUIRED) from None
        return dataset

    def for_dataset(self, principal: Principal, dataset_id: str) -> list[ExportJob]:
        """The exports of the DataSet the caller may see, oldest first: every one for its owner, co-owners and
        Admins, one's own for other readers (an export shows where another user's rows went, and how many).
        Raises DataSetNotFound, Forbidden."""
        dataset = self._readable(principal, dataset_id)
        return [job for job in self.jobs.for_dataset(dataset_id) if self._may_see(principal, dataset, job)]

    def get(self, principal: Principal, dataset_id: str, export_id: str) -> ExportJob:
        """One export the caller may see (as `for_dataset` says: another reader's is not found).
        Raises DataSetNotFound, Forbidden, ExportNotFound."""
        dataset = self._readable(principal, dataset_id)
        job = self.jobs.get(dataset_id, export_id)
        if not self._may_see(principal, dataset, job):
            raise ExportNotFound(dataset_id, export_id)
        return job

    @staticmethod
    def _may_see(principal: Principal, dataset: DataSet, job: ExportJob) -> bool:
        """One's own exports, and every export for the DataSet's owner, co-owners and Admins."""
        return job.requested_by == principal.user.id or permissions.can(principal, dataset, Capability.MANAGE)

    def wait(self, dataset_id: str, export_id: str, tick: Callable[[], None], poll_s: float = 0.2) -> ExportJob:
        """Wait for an export to end; `tick` runs at every poll (a connector run renews its lease there)."""
        while True:
            job = self.jobs.get(dataset_id, export_id)
            if job.state not in ACTIVE_STATES:
                return job
            tick()
            time.sleep(poll_s)

    # -- start -----------------------------------------------------------------------------------------------
    def start(self, principal: Principal, dataset_id: str, request: ExportRequest, *, reuse: bool = True) -> ExportJob:
        """Start an export, or return the DataSet's running one, or the last identical one if nothing changed.

        With `reuse` False (a connector run) a new export always starts, and a running one is a Conflict.

        Raises:
            DataSetNotFound: unknown DataSet. Forbidden: no READ on it.
            InvalidField: the query or an option is wrong (names the field).
            S3Refused: the bucket is missing, in another region, or refuses the credentials.
        """
        dataset = self._readable(principal, dataset_id)
        # permissions and PDP for this principal
        source_sql = self.door.source_sql(dataset, principal, landed=request.query.landed)
        select_sql, names = query_request.to_sql(request.query, dataset, source_sql)
        self.door.check_select(select_sql, "queryRequest.query")
        options = request.options
        if options.format is ExportFormat.CSV and options.compression is Compression.SNAPPY:
            raise InvalidField("compression", "snappy is for Parquet; CSV takes none, gzip or zstd")
        max_bytes = options.max_object_bytes or self.settings.export_max_object_bytes
        target = S3Target(
            bucket=request.bucket,
            region=request.region,
            prefix=(request.path or "").strip("/") or dataset.id,
            endpoint_url=request.endpoint_url,
            path_style=request.path_style,
            kms_key_id=request.kms_key_id,
        )
        reuse_key = _reuse_key(dataset, target, options, max_bytes, select_sql)

        active = self.jobs.active(dataset.id)
        if active is not None:
            if not reuse:
                raise Conflict(f"an export of DataSet {dataset.id} is already running ({active.id})")
            if not self._may_see(principal, dataset, active):  # another reader's: not theirs to be shown
                raise Conflict(f"another user's export of DataSet {dataset.id} is running; try again when it ends")
            return already_running(active)
        previous = self.jobs.last_success(dataset.id, reuse_key) if reuse else None
        if previous is not None:
            return previous

        s3 = self._s3(request.credentials, target)  # from here on the job's only copy of the credentials
        submitted = False
        try:
            s3.check_bucket()
            job = ExportJob(
                id=str(uuid.uuid4()),
                dataset_id=dataset.id,
                requested_by=principal.user.id,
                state=ExportState.NONE,
                bucket=target.bucket,
                prefix=target.prefix,
                format=options.format,
                compression=options.compression,
                created_at=utcnow(),
                started_at=None,
                finished_at=None,
                rows_written=0,
                bytes_written=0,
                objects=(),
                error_code=None,
                message=None,
                reuse_key=reuse_key,
                owner=self.process_id,
            )
            inserted = self.jobs.insert(job)
            if inserted is None:  # another request started one first
                running = self.jobs.active(dataset.id)
                if running is not None and reuse:
                    return already_running(running)
                raise Conflict(f"another export of DataSet {dataset.id} was starting; try again")
            where = f"s3://{target.bucket}/{target.prefix}"
            self.audit.record(
                self.audit.event(
                    principal,
                    Action.EXPORTED,
                    ObjectType.DATA_SOURCE,
                    dataset.id,
                    dataset.name,
                    f"export {inserted.id} to {where} as {options.format.value}",
                )
            )
            # The job reuses the client that checked the bucket (and its open connection).
            self._pool.submit(self._run, inserted, s3, target, options, max_bytes, select_sql, names)
            submitted = True
            return inserted
        finally:
            if not submitted:
                s3.close()

    def _s3(self, credentials: S3Credentials, target: S3Target) -> S3:
        return S3(
            credentials,
            target,
            part_bytes=self.settings.export_part_bytes,
            upload_threads=self.settings.export_upload_threads,
        )

    # -- the job ---------------------------------------------------------------------------------------------
    def _run(
        self,
        job: ExportJob,
        s3: S3,
        target: S3Target,
        options: ExportOptions,
        max_bytes: int,
        select_sql: str,
        names: list[str],
    ) -> None:
        """Run one export with the client that checked its bucket (the job's only copy of the credentials);
        the client is closed when the job ends."""
        try:
            job = self.jobs.advance(job, ExportState.EXPORTING)
        except Conflict:
            s3.close()
            return
        except BaseException:
            s3.close()
            raise
        base = f"{target.prefix}/{job.id}/export"
        progress = _Progress(prefix=base + "/")
        try:
            if options.format is ExportFormat.PARQUET:
                self._write_parquet(job, s3, base, select_sql, options, max_bytes, progress)
            else:
                self._write_csv(job, s3, base, select_sql, options, max_bytes, progress)
            self._report(job, progress, sum(o.rows for o in progress.done), force=True)  # still running?
            if progress.unanswered:
                self._abort_strays(job, s3, progress)
            manifest_key = f"{base}/manifest.json"
            progress.done_keys.append(manifest_key)  # removed with the objects if the job is ended now
            s3.put(manifest_key, _manifest(job, options, names, progress.done), "application/json")
            self.jobs.advance(job, ExportState.SUCCESS, objects=tuple(progress.done), manifest_url=s3.url(manifest_key))
            metrics.export_ended(ExportState.SUCCESS.value)
            log.info(
                "export %s of DataSet %s: %d rows in %d objects",
                job.id,
                job.dataset_id,
                sum(o.rows for o in progress.done),
                len(progress.done),
            )
        except BaseException as exc:
            code, message = _failure(exc)
            if code is ErrorCode.INTERNAL:
                log.error("export %s failed unexpectedly (%s)", job.id, type(exc).__name__)
            try:
                message += self._clean_up(s3, progress)
            except Exception as cleanup_exc:  # the job's end is recorded all the same
                log.error("export %s: clean-up failed (%s)", job.id, type(cleanup_exc).__name__)
                message += "; the clean-up of what was written failed"
            message = s3.scrub(message)
            try:
                self.jobs.advance(job, ExportState.ERROR, objects=(), error_code=code, message=message)
                metrics.export_ended(ExportState.ERROR.value)
            except Conflict:  # ended from outside (its DataSet was deleted): that record stands
                log.info("export %s stopped, ended from outside; %s", job.id, message)
            if not isinstance(exc, Exception):
                raise
        finally:
            s3.close()

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise ExportFailure(ErrorCode.INTERRUPTED, "the server is shutting down")

    def _report(self, job: ExportJob, progress: _Progress, rows: int, force: bool = False) -> None:
        """Record the progress (at most once a second unless forced), and stop the job if it was ended from
        outside (its DataSet was deleted): it then writes nothing more and removes what it wrote."""
        now = time.monotonic()
        if force or now - progress.last_report >= 1.0:
            progress.last_report = now
            size = sum(o.bytes for o in progress.done)
            if not self.jobs.progress(job, rows, size, tuple(progress.done)):
                raise ExportFailure(ErrorCode.DATASET_DELETED, "the export was ended while it ran")

    def _write_csv(
        self,
        job: ExportJob,
        s3: S3,
        base: str,
        select_sql: str,
        options: ExportOptions,
        max_bytes: int,
        progress: _Progress,
    ) -> None:
        ext = ".csv" + EXTENSIONS[options.compression]
        content_type = CONTENT_TYPES[options.compression]
        keys: dict[int, str] = {}

        def open_object(index: int) -> MultipartUpload:
            self._check_stop()
            keys[index] = key = _object_key(base, index, ext)
            return progress.open_upload(s3, key, content_type)

        def on_object(index: int, rows: int, size: int) -> None:
            progress.completing(keys[index], s3.url(keys[index]), rows, size)
            self._report(job, progress, splitter.rows_total, force=True)

        splitter = CsvSplitter(
            open_object,
            on_object,
            max_object_bytes=max_bytes,
            compression=options.compression,
            bom=options.include_bom,
        )
        chunks = self.door.unload_csv(select_sql, self.scratch_dir, owner=self.process_id, stop_with=self._stopping)
        try:
            for chunk in chunks:
                self._check_stop()
                splitter.feed(chunk)
                for upload in progress.open.values():
                    upload.raise_if_failed()
                progress.settle(wait=False)
                self._report(job, progress, splitter.rows_total)
        finally:
            chunks.close()  # stops DuckDB if the export stopped early
        splitter.finish()
        progress.settle(wait=True)

    def _write_parquet(
        self,
        job: ExportJob,
        s3: S3,
        base: str,
        select_sql: str,
        options: ExportOptions,
        max_bytes: int,
        progress: _Progress,
    ) -> None:
        files = self.door.parquet_files(self.scratch_dir, self.process_id)
        try:
            written = files.write(
                select_sql,
                compression=PARQUET_CODECS[options.compression],
                file_size_bytes=max_bytes,
                cancel=self._stopping,
            )
            rows_so_far = 0
            for index, (path, rows, _size) in enumerate(written):
                self._check_stop()
                key = _object_key(base, index, ".parquet")
                upload = progress.open_upload(s3, key, "application/vnd.apache.parquet")
                _send_file(path, upload, self._check_stop)
                progress.completing(key, s3.url(key), rows, upload.finish())
                rows_so_far += rows
                self._report(job, progress, rows_so_far, force=True)
            progress.settle(wait=True)
        finally:
            files.close()

    def _abort_strays(self, job: ExportJob, s3: S3, progress: _Progress) -> None:
        """With every object of the job complete, abort the uploads left under its prefix: ones S3 started for a
        start whose answer was lost. Not being able to is logged; the export stands."""
        found = _abort_strays_under(s3, progress.prefix, time.monotonic() + self.settings.export_abort_grace_s)
        if found is None:
            log.warning("export %s: the uploads S3 may have started without answering could not be checked", job.id)
        elif found:
            log.info("export %s: %d upload(s) S3 started without answering were aborted", job.id, found)

    def _clean_up(self, s3: S3, progress: _Progress) -> str:
        """Abort open uploads and delete finished objects of a failed export; say what was undone."""
        deadline = time.monotonic() + self.settings.export_abort_grace_s
        aborted = not_aborted = 0
        maybe_complete: list[str] = []
        for upload in progress.open.values():  # stop them all first, then wait for each
            upload.stop()
        for key, upload in list(progress.open.items()):
            if upload.abandon():  # S3 completed it all the same: a finished object, deleted below
                progress.open.pop(key)
                progress.done_keys.append(key)
                continue
            if s3.retrying(partial(s3.abort, key, upload.upload_id), deadline):
                aborted += 1
            else:
                not_aborted += 1
            if upload.finished:  # its completion failed, perhaps only its answer: S3 may hold the object
                maybe_complete.append(key)
        if progress.unanswered:
            found = _abort_strays_under(s3, progress.prefix, deadline)
            if found is None:
                not_aborted += 1
            else:
                aborted += found
        deleted = not_deleted = 0
        for key in progress.done_keys:
            if s3.retrying(partial(s3.delete, key), deadline):
                deleted += 1
            else:
                not_deleted += 1
        for key in maybe_complete:  # deleting a key that does not exist is no error
            if not s3.retrying(partial(s3.delete, key), deadline):
                not_deleted += 1
        notes = []
        if aborted or deleted:
            notes.append(f"cleaned up: {aborted} open upload(s) aborted, {deleted} finished object(s) deleted")
        if not_aborted:
            notes.append(f"{not_aborted} multipart upload(s) could not be aborted")
        if not_deleted:
            notes.append(f"{not_deleted} finished object(s) could not be deleted")
        return ("; " + "; ".join(notes)) if notes else ""


def _abort_strays_under(s3: S3, prefix: str, deadline: float) -> int | None:
    """Abort the uploads under `prefix` (retried until `deadline`): how many, or None when S3 could not say."""
    found: list[int] = []
    if not s3.retrying(lambda: found.append(s3.abort_uploads_under(prefix)), deadline):
        return None
    return found[0]


def _send_file(path: Path, upload: MultipartUpload, check_stop: Callable[[], None]) -> None:
    with path.open("rb") as src:
        while chunk := src.read(1 << 20):
            check_stop()
            upload.write(chunk)


def _failure(exc: BaseException) -> tuple[ErrorCode, str]:
    if isinstance(exc, ExportFailure):
        return exc.code, exc.message
    if isinstance(exc, S3Refused):
        return ErrorCode(exc.code), exc.message
    if isinstance(exc, ShuttingDown | Cancelled):
        return ErrorCode.INTERRUPTED, "the server is shutting down"
    if isinstance(exc, DomoError):
        return ErrorCode.QUERY_FAILED, f"reading the DataSet failed: {exc.message}"
    if isinstance(exc, OSError):
        return ErrorCode.INTERNAL, f"the export failed on the server ({type(exc).__name__})"
    return ErrorCode.INTERNAL, "the export failed on the server"


def _reuse_key(dataset: DataSet, target: S3Target, options: ExportOptions, max_bytes: int, select_sql: str) -> str:
    """Identical request (secrets excluded) over the same data: same key."""
    data_version = (dataset.data_updated_at.isoformat() if dataset.data_updated_at else "", dataset.row_count)
    payload = json.dumps(
        {
            "target": repr(target),
            "options": repr(options),
            "max_bytes": max_bytes,
            "sql": select_sql,
            "data": data_version,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _manifest(job: ExportJob, options: ExportOptions, names: list[str], objects: list[ExportObject]) -> bytes:
    """A Redshift UNLOAD-style manifest, written last: its presence says the export is complete."""
    return json.dumps(
        {
            "exportId": job.id,
            "datasetId": job.dataset_id,
            "format": options.format.value,
            "compression": options.compression.value,
            "columns": names,
            "rowCount": sum(o.rows for o in objects),
            "entries": [
                {"url": o.url, "mandatory": True, "meta": {"content_length": o.bytes, "record_count": o.rows}}
                for o in objects
            ],
        },
        indent=2,
    ).encode()
