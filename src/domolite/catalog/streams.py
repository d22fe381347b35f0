"""Streams, their executions (numbered per stream, moved through their state machine) and the executions' parts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from domolite.catalog import schema as t
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import CatalogWrite, Store
from domolite.errors import ExecutionNotActive, ExecutionNotFound, StreamNotFound
from domolite.models.records import Execution, ExecutionState, Stream, UpdateMethod, check_transition


class StreamStore(Store):
    @staticmethod
    def _stream(row: Any) -> Stream:
        return Stream(
            id=int(row.id),
            dataset_id=row.dataset_id,
            update_method=UpdateMethod(row.update_method),
            key_columns=tuple(json.loads(row.key_columns)),
            created_at=row.created_at,
            modified_at=row.modified_at,
        )

    def insert(self, conn: Connection, dataset_id: str, method: UpdateMethod, key_columns: Sequence[str]) -> int:
        now = utcnow()
        key = conn.execute(
            insert(t.streams).values(
                dataset_id=dataset_id,
                update_method=method.value,
                key_columns=json.dumps(list(key_columns)),
                created_at=now,
                modified_at=now,
            )
        ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def get(self, stream_id: int) -> Stream:
        return self._stream(
            self.first_or(select(t.streams).where(t.streams.c.id == stream_id), StreamNotFound(stream_id))
        )

    def find(self, *, limit: int, offset: int, dataset_ids: Sequence[str] | None = None) -> list[Stream]:
        q = select(t.streams).order_by(t.streams.c.id)
        if dataset_ids is not None:
            q = q.where(t.streams.c.dataset_id.in_(list(dataset_ids)))
        with self.tx() as c:
            return [self._stream(r) for r in c.execute(q.limit(limit).offset(offset))]

    def update(self, stream_id: int, method: UpdateMethod | None, key_columns: Sequence[str] | None) -> Stream:
        values: dict[str, Any] = {"modified_at": utcnow()}
        if method is not None:
            values["update_method"] = method.value
        if key_columns is not None:
            values["key_columns"] = json.dumps(list(key_columns))
        with self.tx() as c:
            if c.execute(update(t.streams).where(t.streams.c.id == stream_id).values(**values)).rowcount == 0:
                raise StreamNotFound(stream_id)
        return self.get(stream_id)

    def delete(self, stream_id: int) -> list[int]:
        """Remove a stream with its executions (and their parts and uploads), connector, schedule and runs, in
        one transaction. Returns the ids of the executions removed.

        Raises:
            StreamNotFound: no such stream.
        """
        with self.tx() as c:
            if c.execute(select(t.streams.c.id).where(t.streams.c.id == stream_id)).first() is None:
                raise StreamNotFound(stream_id)
            return forget_streams(c, [stream_id])

    # -- executions -------------------------------------------------------------------------------------------
    def _execution(self, conn: Connection, row: Any) -> Execution:
        nparts = row.parts
        if nparts is None:  # open: its parts are there to count
            nparts = conn.execute(
                select(func.count()).select_from(t.parts).where(t.parts.c.execution_id == row.id)
            ).scalar_one()
        return Execution(
            id=int(row.id),
            stream_id=int(row.stream_id),
            state=ExecutionState(row.state),
            update_method=UpdateMethod(row.update_method),
            created_at=row.created_at,
            modified_at=row.modified_at,
            ended_at=row.ended_at,
            rows=int(row.rows),
            bytes=int(row.bytes),
            message=row.message,
            parts=int(nparts),
            number=int(row.number),
        )

    def create_execution(self, stream_id: int, method: UpdateMethod) -> Execution:
        now = utcnow()
        s = t.streams.c
        with self.tx() as c:
            number = c.execute(
                update(t.streams)
                .where(s.id == stream_id)
                .values(last_execution_number=s.last_execution_number + 1)
                .returning(s.last_execution_number)
            ).scalar()
            if number is None:
                raise StreamNotFound(stream_id)
            key = c.execute(
                insert(t.executions).values(
                    number=int(number),
                    stream_id=stream_id,
                    state=ExecutionState.ACTIVE.value,
                    update_method=method.value,
                    created_at=now,
                    modified_at=now,
                    rows=0,
                    bytes=0,
                )
            ).inserted_primary_key
            assert key is not None
            row = c.execute(select(t.executions).where(t.executions.c.id == key[0])).one()
            return self._execution(c, row)

    def execution_key(self, stream_id: int, number: int) -> int:
        """The catalog's key of the stream's execution `number` (the execution id a client sends).

        Raises:
            ExecutionNotFound: the stream has no such execution.
        """
        e = t.executions.c
        with self.tx() as c:
            key = c.execute(select(e.id).where(e.stream_id == stream_id, e.number == number)).scalar()
        if key is None:
            raise ExecutionNotFound(stream_id, number)
        return int(key)

    def get_execution(self, stream_id: int, execution_id: int) -> Execution:
        with self.tx() as c:
            row = c.execute(
                select(t.executions).where(t.executions.c.id == execution_id, t.executions.c.stream_id == stream_id)
            ).first()
            if row is None:
                raise ExecutionNotFound(stream_id, execution_id)
            return self._execution(c, row)

    def execution_state(self, execution_id: int) -> ExecutionState | None:
        """The state of an execution of any stream, or None when there is no such execution."""
        with self.tx() as c:
            state = c.execute(select(t.executions.c.state).where(t.executions.c.id == execution_id)).scalar()
        return None if state is None else ExecutionState(state)

    def list_executions(self, stream_id: int, *, limit: int, offset: int) -> list[Execution]:
        q = (
            select(t.executions)
            .where(t.executions.c.stream_id == stream_id)
            .order_by(t.executions.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.tx() as c:
            return [self._execution(c, r) for r in c.execute(q).all()]

    def committing_executions(self) -> list[tuple[Execution, str | None]]:
        """Executions being committed, each with the process committing it (None: not recorded)."""
        with self.tx() as c:
            rows = c.execute(select(t.executions).where(t.executions.c.state == ExecutionState.COMMITTING.value)).all()
            return [(self._execution(c, r), r.owner) for r in rows]

    def advance_execution(
        self,
        execution: Execution,
        new: ExecutionState,
        *,
        message: str | None = None,
        rows: int | None = None,
        size: int | None = None,
        owner: str | None = None,
        also: Sequence[CatalogWrite] = (),
        method: UpdateMethod | None = None,
    ) -> Execution:
        """Move an execution to `new` if the state machine allows it, with compare-and-set on the old state.
        `owner` names the process that takes it on (the one committing it); `also` are writes that belong to
        the same change (a partition's entry), made in the same transaction; `method` is the update method the
        commit used, when it chose one."""
        check_transition(execution.state, new)
        now = utcnow()
        values: dict[str, Any] = {"state": new.value, "modified_at": now}
        if owner is not None:
            values["owner"] = owner
        if new in (ExecutionState.SUCCESS, ExecutionState.ERROR, ExecutionState.ABORTED):
            values["ended_at"] = now
            # The parts it had, kept: they are let go of once it has ended.
            values["parts"] = (
                select(func.count()).select_from(t.parts).where(t.parts.c.execution_id == execution.id)
            ).scalar_subquery()
        if message is not None:
            values["message"] = message
        if rows is not None:
            values["rows"] = rows
        if size is not None:
            values["bytes"] = size
        if method is not None:
            values["update_method"] = method.value
        with self.tx() as c:
            n = c.execute(
                update(t.executions)
                .where(t.executions.c.id == execution.id, t.executions.c.state == execution.state.value)
                .values(**values)
            ).rowcount
            if n == 0:
                current = c.execute(select(t.executions.c.state).where(t.executions.c.id == execution.id)).scalar()
                if current is None:  # removed meanwhile, with its stream or DataSet
                    raise ExecutionNotFound(execution.stream_id, execution.number)
                raise ExecutionNotActive(execution.stream_id, execution.number, str(current))
            for write in also:
                write(c)
            row = c.execute(select(t.executions).where(t.executions.c.id == execution.id)).one()
            return self._execution(c, row)

    # -- parts ------------------------------------------------------------------------------------------------
    def record_part(
        self, stream_id: int, execution_id: int, part_no: int, size: int, place: Callable[[], None]
    ) -> None:
        """Record a part of an ACTIVE execution; `place` puts its file where the commit reads it. The execution's
        row is taken first (as a commit or an abort takes it to change its state), so the part is recorded and
        placed before a commit reads the parts, or refused.

        Raises:
            ExecutionNotActive: the execution is committing or ended; `place` was not called.
        """
        e = t.executions.c
        with self.tx() as c:
            taken = c.execute(
                update(t.executions)
                .where(e.id == execution_id, e.stream_id == stream_id, e.state == ExecutionState.ACTIVE.value)
                .values(modified_at=utcnow())
            ).rowcount
            if taken == 0:
                found = c.execute(select(e.state, e.number).where(e.id == execution_id)).first()
                state, number = (found[0], found[1]) if found is not None else (None, execution_id)
                if state is None:
                    raise ExecutionNotFound(stream_id, execution_id)
                raise ExecutionNotActive(stream_id, int(number), str(state))
            place()
            c.execute(delete(t.parts).where(t.parts.c.execution_id == execution_id, t.parts.c.part_no == part_no))
            c.execute(
                insert(t.parts).values(execution_id=execution_id, part_no=part_no, bytes=size, received_at=utcnow())
            )

    def part_numbers(self, execution_id: int) -> list[tuple[int, int]]:
        """(part_no, bytes) of an execution's parts, in numeric order."""
        with self.tx() as c:
            rows = c.execute(
                select(t.parts.c.part_no, t.parts.c.bytes)
                .where(t.parts.c.execution_id == execution_id)
                .order_by(t.parts.c.part_no)
            ).all()
        return [(int(r[0]), int(r[1])) for r in rows]

    def delete_parts(self, execution_id: int) -> None:
        with self.tx() as c:
            c.execute(delete(t.parts).where(t.parts.c.execution_id == execution_id))


def forget_streams(c: Connection, stream_ids: Sequence[int]) -> list[int]:
    """Remove streams and what hangs on them (executions, parts, uploads, connector, schedule, runs)."""
    if not stream_ids:
        return []
    ids = list(stream_ids)
    e = t.executions.c
    execution_ids = [int(r[0]) for r in c.execute(select(e.id).where(e.stream_id.in_(ids)))]
    if execution_ids:
        c.execute(delete(t.parts).where(t.parts.c.execution_id.in_(execution_ids)))
    c.execute(delete(t.uploads).where(t.uploads.c.stream_id.in_(ids)))
    c.execute(delete(t.executions).where(e.stream_id.in_(ids)))
    for table in (t.stream_connectors, t.stream_schedules, t.connector_runs):
        c.execute(delete(table).where(table.c.stream_id.in_(ids)))
    c.execute(delete(t.streams).where(t.streams.c.id.in_(ids)))
    return execution_ids
