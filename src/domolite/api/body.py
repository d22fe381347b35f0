"""Reading request bodies and query flags leniently, the way Domo's clients send them, and whole: a body that
stops before its Content-Length, a JSON body over the limit, and an encoding domolite cannot decode are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from domolite.api.deps import get_services
from domolite.api.errors import validation_message
from domolite.errors import BadRequest, BodyEndedEarly, DomoError, InvalidField, UnsupportedMediaType
from domolite.models.limits import Limits

M = TypeVar("M", bound=BaseModel)

_GZIP = frozenset({"gzip", "x-gzip"})
_IDENTITY = frozenset({"", "identity"})


def _limits(request: Request) -> Limits:
    return get_services(request).limits


def declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value.strip())
    except ValueError:
        raise InvalidField("Content-Length", f"{value!r} is not a number of bytes") from None
    if length < 0:
        raise InvalidField("Content-Length", f"{value!r} is not a number of bytes")
    return length


async def body_chunks(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives. Raises BodyEndedEarly when it stops short of its Content-Length or the client
    goes away while sending it."""
    declared = declared_length(request)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            yield chunk
    except ClientDisconnect:
        raise BodyEndedEarly(received, declared) from None
    if declared is not None and received < declared:
        raise BodyEndedEarly(received, declared)


async def small_body(request: Request) -> bytes:
    """A JSON or form body, read whole (once; later calls return it again).

    Raises:
        PayloadTooLarge: larger than the max_json_bytes setting, refused before the rest is read.
    """
    cached: bytes | None = request.scope.get("domolite.body")
    if cached is not None:
        return cached
    limits = _limits(request)
    declared = declared_length(request)
    if declared is not None:
        limits.json_size(declared)
    parts = []
    size = 0
    async for chunk in body_chunks(request):
        size += len(chunk)
        limits.json_size(size)
        parts.append(chunk)
    raw = b"".join(parts)
    request.scope["domolite.body"] = raw
    return raw


async def json_body(request: Request) -> Any:
    """The JSON body, or None when the body is empty (accepted even when declared JSON).

    Raises:
        PayloadTooLarge: larger than the max_json_bytes setting (refused before the rest is read).
        BadRequest: not JSON, or a string in it holds a NUL character.
    """
    return _json_of(await small_body(request))


def _json_of(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if b"\\u0000" in raw:
        _refuse_nul(data, "")
    return data


def _refuse_nul(value: Any, where: str) -> None:
    """No text field may hold a NUL character (PostgreSQL cannot store one; no client means one)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidField(where or "body", "holds a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if "\x00" in key:
                raise InvalidField(name.replace("\x00", "\\0"), "a field name holds a NUL character")
            _refuse_nul(item, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nul(item, f"{where}[{i}]")


async def parse_body(request: Request, model: type[M], *, default: Any = None) -> M:
    return _validated(await small_body(request), model, _limits(request), default)


def _validated(raw: bytes, model: type[M], limits: Limits, default: Any) -> M:
    data = _json_of(raw)
    if data is None:
        data = {} if default is None else default
    try:
        return model.model_validate(data, context={"limits": limits})
    except ValidationError as exc:
        raise BadRequest(validation_message(list(exc.errors()))) from None


def body_of(model: type[M], *, default: Any = None) -> Any:
    """A dependency: the JSON body validated as `model` (see `parse_body`), read before the handler runs, so
    that the handler is a plain function (FastAPI runs it on a worker thread)."""

    async def read(request: Request) -> M:
        return await parse_body(request, model, default=default)

    return Depends(read)


class LaterBody(Generic[M]):
    """A JSON body read whole before the handler runs and validated as `model` when `value()` is called, on
    the handler's worker thread after its caller is authenticated (see deps.Caller): a failure to read it
    (too large, cut short) waits for that too, so a route taking one answers 401 before 400 or 413 as the
    routes whose body is a plain dependency do."""

    __slots__ = ("_raw", "_failure", "_model", "_limits", "_default")

    def __init__(
        self, raw: bytes, failure: DomoError | None, model: type[M], limits: Limits, default: Any = None
    ) -> None:
        self._raw, self._failure = raw, failure
        self._model, self._limits, self._default = model, limits, default

    def value(self) -> M:
        """The body validated as the model (see `parse_body`), or the error reading it raised."""
        if self._failure is not None:
            raise self._failure
        return _validated(self._raw, self._model, self._limits, self._default)


def later_body(model: type[M], *, default: Any = None) -> Any:
    """A dependency: the JSON body, read now and validated as `model` when the handler asks (LaterBody)."""

    async def read(request: Request) -> LaterBody[M]:
        try:
            raw, failure = await small_body(request), None
        except DomoError as exc:
            raw, failure = b"", exc
        return LaterBody(raw, failure, model, _limits(request), default)

    return Depends(read)


JsonDep = Annotated[Any, Depends(json_body)]  # the JSON body, or None when empty (see json_body)
RawBodyDep = Annotated[bytes, Depends(small_body)]  # a small body's bytes (see small_body)


def flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes", "y", "on")


def is_gzip(request: Request) -> bool:
    """Whether a CSV body is gzip (Content-Encoding gzip, or a gzip Content-Type).

    Raises:
        UnsupportedMediaType: a Content-Encoding other than gzip or identity (the body would not be read as
            what it is).
    """
    encodings = [e.strip().lower() for e in request.headers.get("content-encoding", "").split(",")]
    unknown = [e for e in encodings if e not in _GZIP | _IDENTITY]
    if unknown:
        raise UnsupportedMediaType(
            f"Content-Encoding {', '.join(unknown)} is not supported; send the body as it is or gzip-compressed"
        )
    if sum(e in _GZIP for e in encodings) > 1:
        raise UnsupportedMediaType("Content-Encoding names gzip more than once; send one gzip layer")
    ctype = request.headers.get("content-type", "").lower()
    return any(e in _GZIP for e in encodings) or ctype.startswith(("application/gzip", "application/x-gzip"))


def optional_int(value: str | None, name: str) -> int | None:
    """A whole number given as text (a query parameter), within 64 bits."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidField(name, f"{value!r} is not a whole number") from None
    if not -(2**63) <= number < 2**63:
        raise InvalidField(name, f"{value} is outside the range of a 64-bit integer")
    return number


def optional_count(value: str | None, name: str) -> int | None:
    """A page's limit or offset given as text (a query parameter): a whole number, not negative."""
    number = optional_int(value, name)
    if number is not None and number < 0:
        raise InvalidField(name, f"must not be negative (got {number})")
    return number
