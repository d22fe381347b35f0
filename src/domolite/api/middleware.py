"""Pure-ASGI middleware: a toe (trace id) per request, the request's origin for the audit log, and one access
log line per request (its fields escaped: no CR or LF from a request reaches the log)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domolite.audit import origin
from domolite.audit.model import Origin
from domolite.logs import escape

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
        scope.setdefault("state", {})["toe"] = toe
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
            await self.app(scope, receive, send_with_status)
        finally:
            origin.leave(entered)
            log.info(
                '%s "%s %s" %s %.1fms toe=%s',
                escape(client[0]),
                escape(scope["method"]),
                escape(scope["path"]),
                status["code"],
                (time.perf_counter() - started) * 1000,
                toe,
            )
