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
from starlette.responses import Response

from domolite.errors import DomoError, TooManyRequests, Unauthorized

log = logging.getLogger("domolite.api")


def error_body(status: int, message: str, toe: str) -> dict[str, Any]:
    return {"status": status, "statusReason": HTTPStatus(status).phrase, "message": message, "toe": toe}


def toe_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("toe", ""))


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(error_body(status, message, toe_of(request)))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def validation_message(errors: list[Any]) -> str:
    """'field.path: problem' for each pydantic error, joined; names the field that was wrong."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


async def _domo_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomoError)
    headers: dict[str, str] | None = None
    if isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    elif isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
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


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("toe=%s unexpected error", toe_of(request), exc_info=exc)
    return error_response(request, 500, "An internal error occurred")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomoError, _domo_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)
    app.add_exception_handler(ValidationError, _invalid_input)
    app.add_exception_handler(Exception, _unexpected)
