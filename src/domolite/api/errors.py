"""The one place that turns errors into Domo's error body: {status, statusReason, message, toe}."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domolite.errors import Busy, DomoError, TooManyRequests, Unauthorized
from domolite.server.cancel import Cancelled

log = logging.getLogger("domolite.api")


def error_body(status: int, message: str, toe: str) -> dict[str, Any]:
    return {"status": status, "statusReason": HTTPStatus(status).phrase, "message": message, "toe": toe}


def toe_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("toe", ""))


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(error_body(status, message, toe_of(request)))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def validation_message(errors: list[Any]) -> str:
    """'field.path: problem' for each pydantic error, joined; names the field that was wrong, items of a list by
    their index as the hand-made messages do (`permissions[0].id`; `body[1].id` for an item of a body that is a
    list)."""
    parts = []
    for err in errors:
        where = ""
        for p in err.get("loc", ()):
            if p in ("body", "query", "path", "header"):
                continue
            if isinstance(p, int):
                where = f"{where or 'body'}[{p}]"
            else:
                where = f"{where}.{p}" if where else str(p)
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


async def _domo_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomoError)
    return domo_error_response(request, exc)


def domo_error_response(request: Request, exc: DomoError) -> Response:
    """The response for a domain error: its status and message (a 5xx says only that it was internal), with
    Retry-After on a Busy or a TooManyRequests and WWW-Authenticate on a 401."""
    headers: dict[str, str] | None = None
    if isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    elif isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, Busy):
        return error_response(request, exc.status, exc.message, {"Retry-After": str(exc.retry_after_s)})
    if exc.status >= 500:
        log.error("toe=%s %s", toe_of(request), exc.message)
        return error_response(request, exc.status, "An internal error occurred")
    return error_response(request, exc.status, exc.message, headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"No such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(request, exc.status_code, message, dict(exc.headers or {}) or None)


async def _invalid_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | ValidationError)
    return error_response(request, 400, validation_message(list(exc.errors())))


async def _cancelled(request: Request, exc: Exception) -> Response:
    """Work stopped on purpose: the client hung up (and will not read this) or the server is stopping."""
    assert isinstance(exc, Cancelled)
    return error_response(request, 503, f"the request was stopped: {exc.reason}", {"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RecursionError):  # only input nested past what a parser can follow gets this deep
        log.info("toe=%s refused: input nested too deeply", toe_of(request))
        return error_response(request, 400, "the request is nested too deeply to be read")
    log.exception("toe=%s unexpected error", toe_of(request), exc_info=exc)
    return error_response(request, 500, "An internal error occurred")


class LastResort:
    """Pure-ASGI middleware for an exception no handler took: the client gets Domo's bare 500 and the app then
    returns normally, so the server keeps the keep-alive connection open for the next request (an exception
    that escapes the app makes it close the connection). Once a response has started, the exception goes on:
    the body is cut short and the connection has to close."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except ClientDisconnect:
            log.info("toe=%s the client hung up during the request body", scope.get("state", {}).get("toe", ""))
        except Exception as exc:
            if started:
                raise
            request = Request(scope, receive)
            response = await _unexpected(request, exc)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Error handlers and the last-resort middleware; add this before the middleware that sets the toe."""
    app.add_middleware(LastResort)
    app.add_exception_handler(DomoError, _domo_error)
    app.add_exception_handler(Cancelled, _cancelled)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)
    app.add_exception_handler(ValidationError, _invalid_input)
    app.add_exception_handler(Exception, _unexpected)
