"""Where the current request came from, set once per request by the API's middleware and read by the audit log
(services need not pass it along). Work outside a request (schedules, recovery) has no origin."""

from __future__ import annotations

from contextvars import ContextVar, Token

from domolite.models.audit import Origin

_current: ContextVar[Origin | None] = ContextVar("domolite_request_origin", default=None)


def enter(origin: Origin) -> Token[Origin | None]:
    return _current.set(origin)


def leave(token: Token[Origin | None]) -> None:
    _current.reset(token)


def current() -> Origin | None:
    return _current.get()
