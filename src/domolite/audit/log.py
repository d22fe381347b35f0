"""The audit log service: events are recorded by the services that do the work (with the request's origin),
read by Admins a page at a time, and forgotten after the retention time."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from domolite.audit import origin
from domolite.catalog.audit import AuditStore
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import CatalogWrite
from domolite.errors import Forbidden
from domolite.models.audit import Action, AuditEvent, AuditQuery, ObjectType
from domolite.models.records import Principal

PRUNE_EVERY_S = 60.0


AUDIT_SCOPE = "audit"


def require_reader(principal: Principal) -> None:
    """The audit log is read by Admins, with a credential that carries the `audit` scope (as Domo's /v1/audit).
    The audit log's own rule: every service records into the log, so the log depends on no access rule."""
    if AUDIT_SCOPE not in principal.scopes:
        raise Forbidden(f"this token lacks the {AUDIT_SCOPE!r} scope")
    if not principal.is_admin:
        raise Forbidden("only an Admin may read the audit log")


class AuditLog:
    def __init__(self, store: AuditStore, retention_s: float) -> None:
        self.store = store
        self.retention_s = retention_s
        self._pruned_at = float("-inf")
        self._lock = threading.Lock()

    def event(
        self,
        principal: Principal | None,
        action: Action,
        object_type: ObjectType,
        object_id: str | int | None = None,
        object_name: str | None = None,
        comment: str = "",
        *,
        via: str | None = None,
        credential_id: str | None = None,
    ) -> AuditEvent:
        """An event by `principal` (None: no user, as for the server's own work, a failed login or the command
        line: `via` says which), from where the current request came from."""
        seen = origin.current()
        return AuditEvent(
            id=0,
            at=utcnow(),
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            object_name=object_name,
            user_id=principal.user.id if principal else None,
            user_name=principal.user.name if principal else None,
            via=via or (principal.via if principal else "server"),
            credential_id=credential_id or (principal.credential_id if principal else None),
            ip_address=seen.ip_address if seen else None,
            user_agent=seen.user_agent if seen else None,
            comment=comment,
        )

    def record(self, event: AuditEvent) -> None:
        self.store.insert(event)
        self._prune_now_and_then()

    def write(self, event: AuditEvent) -> CatalogWrite:
        """The event as a write of another transaction (it is kept exactly when that change is)."""
        return lambda conn: self.store.insert(event, conn)

    # -- failed logins ---------------------------------------------------------------------------------------
    def failed_logins(
        self, window_s: float, *, subject: tuple[ObjectType, str] | None = None, ip_address: str | None = None
    ) -> int:
        since = utcnow() - timedelta(seconds=window_s)
        return self.store.failed_logins(since, subject=subject, ip_address=ip_address)

    # -- reading ---------------------------------------------------------------------------------------------
    def read(self, principal: Principal, query: AuditQuery, *, limit: int, offset: int) -> list[AuditEvent]:
        """A page of the events that match, newest first (Admins only)."""
        require_reader(principal)
        self.prune()
        return self.store.page(query, limit=limit, offset=offset)

    def prune(self) -> int:
        """Forget events older than the retention time; returns how many."""
        with self._lock:
            self._pruned_at = time.monotonic()
        return self.store.forget_before(utcnow() - timedelta(seconds=self.retention_s))

    def _prune_now_and_then(self) -> None:
        with self._lock:
            due = time.monotonic() - self._pruned_at >= PRUNE_EVERY_S
        if due:
            self.prune()
