"""Export jobs in the catalog: insert under the one-active rule, and state changes by compare-and-set."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from domolite.catalog import schema as t
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import Store
from domolite.errors import Conflict, ExportNotFound
from domolite.models.exports import (
    ACTIVE_STATES,
    Compression,
    ErrorCode,
    ExportFormat,
    ExportJob,
    ExportObject,
    ExportState,
    check_export_transition,
)


def _objects_json(objects: tuple[ExportObject, ...]) -> str:
    return json.dumps([{"url": o.url, "rows": o.rows, "bytes": o.bytes} for o in objects])


def _job(row: Any) -> ExportJob:
    return ExportJob(
        id=row.id,
        dataset_id=row.dataset_id,
        requested_by=int(row.requested_by),
        state=ExportState(row.state),
        bucket=row.bucket,
        prefix=row.prefix,
        format=ExportFormat(row.export_format),
        compression=Compression(row.compression),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        rows_written=int(row.rows_written),
        bytes_written=int(row.bytes_written),
        objects=tuple(ExportObject(o["url"], int(o["rows"]), int(o["bytes"])) for o in json.loads(row.objects)),
        error_code=row.error_code,
        message=row.message,
        reuse_key=row.reuse_key,
        manifest_url=row.manifest_url,
        owner=row.owner,
    )


class ExportStore(Store):
    def insert(self, job: ExportJob) -> ExportJob | None:
        """Record a new queued job. None, and nothing inserted, when the DataSet already has an active one."""
        try:
            with self.tx() as c:
                c.execute(
                    insert(t.exports).values(
                        id=job.id,
                        dataset_id=job.dataset_id,
                        active_dataset_id=job.dataset_id,
                        requested_by=job.requested_by,
                        state=job.state.value,
                        reuse_key=job.reuse_key,
                        bucket=job.bucket,
                        prefix=job.prefix,
                        export_format=job.format.value,
                        compression=job.compression.value,
                        created_at=job.created_at,
                        rows_written=0,
                        bytes_written=0,
                        objects="[]",
                        owner=job.owner,
                    )
                )
        except IntegrityError:
            return None
        return self.get(job.dataset_id, job.id)

    def get(self, dataset_id: str, export_id: str) -> ExportJob:
        with self.tx() as c:
            row = c.execute(
                select(t.exports).where(t.exports.c.id == export_id, t.exports.c.dataset_id == dataset_id)
            ).first()
        if row is None:
            raise ExportNotFound(dataset_id, export_id)
        return _job(row)

    def for_dataset(self, dataset_id: str) -> list[ExportJob]:
        q = (
            select(t.exports)
            .where(t.exports.c.dataset_id == dataset_id)
            .order_by(t.exports.c.created_at, t.exports.c.id)
        )
        with self.tx() as c:
            return [_job(r) for r in c.execute(q)]

    def active(self, dataset_id: str) -> ExportJob | None:
        with self.tx() as c:
            row = c.execute(select(t.exports).where(t.exports.c.active_dataset_id == dataset_id)).first()
        return _job(row) if row else None

    def last_success(self, dataset_id: str, reuse_key: str) -> ExportJob | None:
        q = (
            select(t.exports)
            .where(
                t.exports.c.dataset_id == dataset_id,
                t.exports.c.reuse_key == reuse_key,
                t.exports.c.state == ExportState.SUCCESS.value,
            )
            .order_by(t.exports.c.finished_at.desc())
            .limit(1)
        )
        with self.tx() as c:
            row = c.execute(q).first()
        return _job(row) if row else None

    def in_states(self, states: frozenset[ExportState]) -> list[ExportJob]:
        with self.tx() as c:
            rows = c.execute(select(t.exports).where(t.exports.c.state.in_([s.value for s in states]))).all()
        return [_job(r) for r in rows]

    def advance(
        self,
        job: ExportJob,
        new: ExportState,
        *,
        objects: tuple[ExportObject, ...] | None = None,
        manifest_url: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
    ) -> ExportJob:
        """The one way an export changes state: checked by the state machine, compare-and-set on the state.

        Raises:
            Conflict: the transition is not allowed, or another writer moved the job first.
        """
        check_export_transition(job.state, new)
        now = utcnow()
        values: dict[str, Any] = {"state": new.value}
        if new is ExportState.EXPORTING:
            values["started_at"] = now
        if new not in ACTIVE_STATES:
            values["finished_at"] = now
            values["active_dataset_id"] = None
        if objects is not None:
            values["objects"] = _objects_json(objects)
            values["rows_written"] = sum(o.rows for o in objects)
            values["bytes_written"] = sum(o.bytes for o in objects)
        if manifest_url is not None:
            values["manifest_url"] = manifest_url
        if error_code is not None:
            values["error_code"] = error_code
        if message is not None:
            values["message"] = message
        with self.tx() as c:
            n = c.execute(
                update(t.exports).where(t.exports.c.id == job.id, t.exports.c.state == job.state.value).values(**values)
            ).rowcount
        if n == 0:
            raise Conflict(f"export {job.id} was changed by someone else")
        return self.get(job.dataset_id, job.id)

    def progress(self, job: ExportJob, rows: int, size: int, objects: tuple[ExportObject, ...]) -> bool:
        """Rows and bytes written so far, and the objects already complete, while the job runs. False when the
        job is no longer running (it was ended from outside: its DataSet was deleted)."""
        with self.tx() as c:
            n = c.execute(
                update(t.exports)
                .where(t.exports.c.id == job.id, t.exports.c.state == ExportState.EXPORTING.value)
                .values(rows_written=rows, bytes_written=size, objects=_objects_json(objects))
            ).rowcount
        return n > 0


def end_exports(c: Connection, dataset_id: str, message: str) -> None:
    """The DataSet's queued or running exports end `error` with `message` (its deletion); the job running one
    sees that and stops, writing no manifest and aborting its uploads."""
    for state in ACTIVE_STATES:
        check_export_transition(state, ExportState.ERROR)
    x = t.exports.c
    c.execute(
        update(t.exports)
        .where(x.dataset_id == dataset_id, x.state.in_([s.value for s in ACTIVE_STATES]))
        .values(
            state=ExportState.ERROR.value,
            error_code=ErrorCode.DATASET_DELETED.value,
            message=message,
            finished_at=utcnow(),
            active_dataset_id=None,
        )
    )
