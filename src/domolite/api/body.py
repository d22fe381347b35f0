"""Reading request bodies and query flags leniently, the way Domo's clients send them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from domolite.api.errors import validation_message
from domolite.errors import BadRequest

M = TypeVar("M", bound=BaseModel)


async def json_body(request: Request) -> Any:
    """The JSON body, or None when the body is empty (accepted even when declared JSON)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


async def parse_body(request: Request, model: type[M], *, default: Any = None) -> M:
    data = await json_body(request)
    if data is None:
        data = {} if default is None else default
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(validation_message(list(exc.errors()))) from None


def flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes", "y", "on")


def is_gzip(request: Request) -> bool:
    encoding = request.headers.get("content-encoding", "").lower()
    ctype = request.headers.get("content-type", "").lower()
    return "gzip" in encoding or ctype.startswith(("application/gzip", "application/x-gzip"))


def body_chunks(request: Request) -> AsyncIterator[bytes]:
    return request.stream()
