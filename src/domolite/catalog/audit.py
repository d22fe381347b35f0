"""Audit events in the catalog: append, read a page with filters, count failed logins, forget old ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from domolite.catalog import schema as t
from domolite.catalog.engine import Store
from domolite.models.audit import Action, AuditEvent, AuditQuery, ObjectType

_e = t.audit_events.c


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        id=int(row.id),
        at=row.at,
        action=Action(row.action),
        object_type=ObjectType(row.object_type),
        object_id=row.object_id,
        object_name=row.object_name,
        user_id=None if row.user_id is None else int(row.user_id),
        user_name=row.user_name,
        via=row.via,
        credential_id=row.credential_id,
        ip_address=row.ip_address,
        user_agent=row.user_agent,
        comment=row.comment,
    )


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


class AuditStore(Store):
    def insert(self, event: AuditEvent, conn: Connection | None = None) -> None:
        """Append one event (its id is given by the database), in `conn`'s transaction when there is one."""
        stmt = insert(t.audit_events).values(
            at=event.at,
            action=event.action.value,
            object_type=event.object_type.value,
            object_id=_clip(event.object_id, 1000),
            object_name=_clip(event.object_name, 1000),
            user_id=event.user_id,
            user_name=_clip(event.user_name, 320),
            via=event.via[:32],
            credential_id=_clip(event.credential_id, 320),
            ip_address=_clip(event.ip_address, 64),
            user_agent=_clip(event.user_agent, 2000),
            comment=event.comment[:4000],
        )
        if conn is not None:
            conn.execute(stmt)
            return
        with self.tx() as c:
            c.execute(stmt)

    def page(self, query: AuditQuery, *, limit: int, offset: int) -> list[AuditEvent]:
        """Matching events, newest first."""
        q = select(t.audit_events)
        if query.start is not None:
            q = q.where(_e.at >= query.start)
        if query.end is not None:
            q = q.where(_e.at <= query.end)
        if query.user_id is not None:
            q = q.where(_e.user_id == query.user_id)
        if query.actions:
            q = q.where(_e.action.in_(sorted(a.value for a in query.actions)))
        if query.object_types:
            q = q.where(_e.object_type.in_(sorted(o.value for o in query.object_types)))
        if query.object_id is not None:
            q = q.where(_e.object_id == query.object_id)
        q = q.order_by(_e.id.desc()).limit(limit).offset(offset)
        with self.tx() as c:
            return [_event(r) for r in c.execute(q)]

    def failed_logins(
        self, since: datetime, *, subject: tuple[ObjectType, str] | None = None, ip_address: str | None = None
    ) -> int:
        """How many failed logins since `since` named this subject (or came from this address)."""
        q = (
            select(func.count())
            .select_from(t.audit_events)
            .where(_e.action == Action.LOGIN_FAILED.value, _e.at >= since)
        )
        if subject is not None:
            q = q.where(_e.object_type == subject[0].value, _e.object_id == subject[1])
        if ip_address is not None:
            q = q.where(_e.ip_address == ip_address)
        with self.tx() as c:
            return int(c.execute(q).scalar_one())

    def forget_before(self, cutoff: datetime) -> int:
        with self.tx() as c:
            return int(c.execute(delete(t.audit_events).where(_e.at < cutoff)).rowcount)
