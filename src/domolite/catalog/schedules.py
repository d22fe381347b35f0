"""Stream schedules and their lease, and the runs of connector streams.

A run of a stream holds the stream's lease: a row in `stream_schedules` names the process running it until a
time. Taking the lease is one UPDATE whose WHERE says the lease is free (and, for a scheduled run, that the
stream is due), so of several processes sharing the catalog exactly one gets it. A lease that is not renewed
runs out, so a process that died frees its streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from domolite.catalog import schema as t
from domolite.catalog.engine import Store
from domolite.models.records import RunInfo


@dataclass(frozen=True)
class StreamSchedule:
    stream_id: int
    retry_count: int
    next_run_at: datetime | None
    retry_at: datetime | None
    attempt: int
    lease_owner: str | None
    lease_until: datetime | None


def _schedule(row: Any) -> StreamSchedule:
    return StreamSchedule(
        stream_id=int(row.stream_id),
        retry_count=int(row.retry_count),
        next_run_at=row.next_run_at,
        retry_at=row.retry_at,
        attempt=int(row.attempt),
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )


def _run(row: Any) -> RunInfo:
    return RunInfo(
        execution_id=int(row.execution_id),
        stream_id=int(row.stream_id),
        run_type=row.run_type,
        attempt=int(row.attempt),
        started_by=None if row.started_by is None else int(row.started_by),
        export_id=row.export_id,
    )


class ScheduleStore(Store):
    # -- schedules ---------------------------------------------------------------------------------------------
    def get(self, stream_id: int) -> StreamSchedule | None:
        with self.tx() as c:
            row = c.execute(select(t.stream_schedules).where(t.stream_schedules.c.stream_id == stream_id)).first()
        return None if row is None else _schedule(row)

    def put(self, stream_id: int, *, retry_count: int, next_run_at: datetime | None) -> None:
        """Set the stream's schedule (a new next firing and retry count); a lease or pending retry stays."""
        values = {"retry_count": retry_count, "next_run_at": next_run_at}
        with self.tx() as c:
            done = c.execute(
                update(t.stream_schedules).where(t.stream_schedules.c.stream_id == stream_id).values(**values)
            )
            if done.rowcount == 0:
                try:
                    with c.begin_nested():
                        c.execute(insert(t.stream_schedules).values(stream_id=stream_id, attempt=0, **values))
                except IntegrityError:  # another process inserted it first
                    c.execute(
                        update(t.stream_schedules).where(t.stream_schedules.c.stream_id == stream_id).values(**values)
                    )

    def delete(self, stream_id: int) -> None:
        with self.tx() as c:
            c.execute(t.stream_schedules.delete().where(t.stream_schedules.c.stream_id == stream_id))

    def due(self, now: datetime, limit: int = 100) -> list[int]:
        """Streams whose firing or retry time has come and whose lease is free, the longest waiting first."""
        s = t.stream_schedules.c
        with self.tx() as c:
            rows = c.execute(
                select(s.stream_id).where(_due(now), _free(now)).order_by(s.next_run_at).limit(limit)
            ).all()
        return [int(r.stream_id) for r in rows]

    # -- the lease ---------------------------------------------------------------------------------------------
    def claim(self, stream_id: int, owner: str, now: datetime, until: datetime, *, due_only: bool) -> bool:
        """Take the stream's lease if it is free (and, with `due_only`, the stream is due). True if taken."""
        s = t.stream_schedules.c
        conditions = [s.stream_id == stream_id, _free(now)]
        if due_only:
            conditions.append(_due(now))
        with self.tx() as c:
            taken = c.execute(
                update(t.stream_schedules).where(*conditions).values(lease_owner=owner, lease_until=until)
            ).rowcount
        return taken == 1

    def renew(self, stream_id: int, owner: str, until: datetime) -> bool:
        s = t.stream_schedules.c
        with self.tx() as c:
            done = c.execute(
                update(t.stream_schedules)
                .where(s.stream_id == stream_id, s.lease_owner == owner)
                .values(lease_until=until)
            ).rowcount
        return done == 1

    def release(
        self,
        stream_id: int,
        owner: str,
        *,
        next_run_at: datetime | None,
        retry_at: datetime | None,
        attempt: int,
    ) -> None:
        """End a run: free the lease and record the next firing and any retry, in one statement."""
        s = t.stream_schedules.c
        with self.tx() as c:
            c.execute(
                update(t.stream_schedules)
                .where(s.stream_id == stream_id, s.lease_owner == owner)
                .values(
                    lease_owner=None,
                    lease_until=None,
                    next_run_at=next_run_at,
                    retry_at=retry_at,
                    attempt=attempt,
                )
            )

    def orphaned_runs(self, now: datetime) -> list[tuple[int, int]]:
        """(stream id, execution id) of connector runs still ACTIVE or COMMITTING while their stream's lease is
        free: the process running them stopped (a live run holds the lease until its execution has ended)."""
        s, r, e = t.stream_schedules.c, t.connector_runs.c, t.executions.c
        with self.tx() as c:
            rows = c.execute(
                select(r.stream_id, r.execution_id)
                .join(t.executions, e.id == r.execution_id)
                .join(t.stream_schedules, s.stream_id == r.stream_id)
                .where(e.state.in_(("ACTIVE", "COMMITTING")), _free(now))
            ).all()
        return [(int(row.stream_id), int(row.execution_id)) for row in rows]

    # -- runs --------------------------------------------------------------------------------------------------
    def record_run(self, run: RunInfo) -> None:
        with self.tx() as c:
            c.execute(
                insert(t.connector_runs).values(
                    execution_id=run.execution_id,
                    stream_id=run.stream_id,
                    run_type=run.run_type,
                    attempt=run.attempt,
                    started_by=run.started_by,
                    export_id=run.export_id,
                )
            )

    def set_export(self, execution_id: int, export_id: str) -> None:
        with self.tx() as c:
            c.execute(
                update(t.connector_runs)
                .where(t.connector_runs.c.execution_id == execution_id)
                .values(export_id=export_id)
            )

    def runs(self, stream_id: int) -> dict[int, RunInfo]:
        with self.tx() as c:
            rows = c.execute(select(t.connector_runs).where(t.connector_runs.c.stream_id == stream_id)).all()
        return {int(r.execution_id): _run(r) for r in rows}


def _due(now: datetime) -> Any:
    s = t.stream_schedules.c
    return or_(s.next_run_at <= now, s.retry_at <= now)


def _free(now: datetime) -> Any:
    s = t.stream_schedules.c
    return or_(s.lease_until.is_(None), s.lease_until < now)
