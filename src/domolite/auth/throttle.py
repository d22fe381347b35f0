"""Failed logins are slowed down: after too many in a window, per credential and per remote address, the next
attempts get a 429 (with Retry-After) without being checked, until the window has passed.

Every failure is an audit event (LOGIN_FAILED), and failures are counted there, so processes sharing a catalog
count together. The lockout itself is kept by each process that saw a failure reach the limit; a process that
has not seen one yet locks out at its first failure of that credential or address.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from domolite.audit.log import AuditLog
from domolite.errors import TokenExpired, TooManyRequests, Unauthorized
from domolite.models.audit import Action, ObjectType

T = TypeVar("T")

# The credential a way in names, and what an audit event calls it.
SUBJECT_TYPES: dict[str, ObjectType] = {
    "oauth": ObjectType.CLIENT,
    "session login": ObjectType.USER,
    "developer token": ObjectType.ACCESS_TOKEN,
    "session": ObjectType.SESSION,
    "bearer token": ObjectType.TOKEN,
}
MAX_LOCKS = 100_000  # a bound on what one process remembers


class LoginGuard:
    def __init__(self, audit: AuditLog, *, per_subject: int, per_address: int, window_s: float) -> None:
        self.audit = audit
        self.per_subject = per_subject
        self.per_address = per_address
        self.window_s = window_s
        self._locked: dict[str, float] = {}  # key -> time.monotonic() when its lockout ends
        self._lock = threading.Lock()

    @staticmethod
    def _keys(way: str, subject: str | None, address: str | None) -> list[str]:
        keys = [f"{way}\0{subject}"] if subject else []
        return [*keys, f"address\0{address}"] if address else keys

    def check(self, way: str, subject: str | None, address: str | None) -> None:
        """Raise TooManyRequests while the credential or the address is locked out."""
        now = time.monotonic()
        with self._lock:
            for key in self._keys(way, subject, address):
                until = self._locked.get(key)
                if until is None:
                    continue
                if until <= now:
                    del self._locked[key]
                    continue
                raise TooManyRequests(
                    "too many failed logins; try again later", retry_after=max(1, math.ceil(until - now))
                )

    def failed(self, way: str, subject: str | None, address: str | None, reason: str) -> None:
        """Record a failed login; lock the credential or the address out when it reached its limit."""
        object_type = SUBJECT_TYPES[way]
        self.audit.record(
            self.audit.event(
                None, Action.LOGIN_FAILED, object_type, subject, comment=reason, via=way, credential_id=subject
            )
        )
        lock_out = []
        if subject and self.audit.failed_logins(self.window_s, subject=(object_type, subject)) >= self.per_subject:
            lock_out.append(f"{way}\0{subject}")
        if address and self.audit.failed_logins(self.window_s, ip_address=address) >= self.per_address:
            lock_out.append(f"address\0{address}")
        if lock_out:
            until = time.monotonic() + self.window_s
            with self._lock:
                if len(self._locked) > MAX_LOCKS:
                    now = time.monotonic()
                    self._locked = {k: v for k, v in self._locked.items() if v > now}
                for key in lock_out:
                    self._locked[key] = until

    def attempt(self, way: str, subject: str | None, address: str | None, verify: Callable[[], T]) -> T:
        """Check a credential with `verify`, unless it or the address is locked out. An Unauthorized from `verify`
        counts as a failed login (an expired token does not: its holder only has to renew it)."""
        self.check(way, subject, address)
        try:
            return verify()
        except TokenExpired:
            raise
        except Unauthorized as exc:
            self.failed(way, subject, address, exc.message)
            raise
