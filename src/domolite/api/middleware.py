"""Pure-ASGI middleware: a toe (trace id) per request, and one access log line per request."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
        state = scope.setdefault("state", {})
        state["toe"] = toe
        state["arrived"] = time.monotonic()  # where a request's time limit counts from
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

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
            client = scope.get("client") or ("-", 0)
            log.info(
                '%s "%s %s" %s %.1fms toe=%s',
                client[0],
                scope["method"],
                scope["path"],
                status["code"],
                (time.perf_counter() - started) * 1000,
                toe,
            )
