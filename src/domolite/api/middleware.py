"""Pure-ASGI middleware: a toe (trace id) per request, the request's origin for the audit log, one access log
line per request (its fields escaped: no CR or LF from a request reaches the log), the refusal of a path or
query holding a NUL character (no text the catalog stores may hold one), and a path's trailing slash dropped
before routing (every route answers with and without it, see `api/routing.py`)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domolite.api.errors import error_body
from domolite.api.routing import without_trailing_slash
from domolite.audit import origin
from domolite.models.audit import Origin
from domolite.server import metrics
from domolite.server.logs import escape

log = logging.getLogger("domolite.access")


def new_toe() -> str:
    raw = uuid.uuid4().hex.upper()
    return f"{raw[:10]}-{raw[10:15]}-{raw[15:20]}"


class ToeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        toe = new_toe()
        asked = scope["path"]  # as the client wrote it, for the log
        state = scope.setdefault("state", {})
        state["toe"] = toe
        state["arrived"] = time.monotonic()  # where a request's time limit counts from
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}
        client = scope.get("client") or ("-", 0)
        agent = next((v for k, v in scope.get("headers", ()) if k == b"user-agent"), None)
        entered = origin.enter(
            Origin(
                ip_address=client[0] if client[0] != "-" else None,
                user_agent=agent.decode("latin-1") if agent is not None else None,
            )
        )

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-domo-toe", toe.encode()))
                message["headers"] = headers
            await send(message)

        try:
            nul = _nul_message(scope)
            if nul is not None:
                body = orjson.dumps(error_body(400, nul, toe))
                await send_with_status(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            scope["path"] = without_trailing_slash(scope["path"])
            await self.app(scope, receive, send_with_status)
        finally:
            origin.leave(entered)
            seconds = time.perf_counter() - started
            route = _route(scope)
            metrics.request_done(scope["method"], route, status["code"], seconds)
            fields = {
                "client": client[0],
                "method": scope["method"],
                "path": asked,
                "route": route,
                "status": status["code"],
                "duration_ms": round(seconds * 1000, 1),
                "user": state.get("user_id"),
                "toe": toe,
            }
            log.info(
                '%s "%s %s" %s %.1fms toe=%s',
                escape(client[0]),
                escape(scope["method"]),
                escape(asked),
                status["code"],
                seconds * 1000,
                toe,
                extra=fields,
            )


def _route(scope: Scope) -> str:
    """The path template of the route that answered (`/v1/datasets/{dataset_id}`), never the path itself (whose
    ids would make one metric series per object); `unmatched` when no route did."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _nul_message(scope: Scope) -> str | None:
    """What holds a NUL character (the path, or the query parameter by name), or None when nothing does."""
    if "\x00" in scope.get("path", ""):
        return "the request's path holds a NUL character"
    query: bytes = scope.get("query_string", b"")
    if b"\x00" not in unquote_to_bytes(query):
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in value and "\x00" not in name:
            return f"{name}: holds a NUL character"
    return "the request's query holds a NUL character"
