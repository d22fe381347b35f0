"""Responses: JSON serialised with orjson (datetimes as ISO, NaN as null), and CSV streamed from a pipe."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import anyio
import orjson
from fastapi import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from domolite.api.errors import domo_error_response
from domolite.api.lifetime import hang_up
from domolite.errors import DomoError, InvalidField
from domolite.query.fifo import FifoReader

log = logging.getLogger("domolite.api")


# An answer that carries a credential is never kept by a cache (RFC 6749 5.1, as Domo's token answer says).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


_SMALL = 1 << 16  # an answer up to this size is joined into one body message (one write), at no real cost


class JSONWithRows(Response):
    """A JSON object of `head`'s members, then `"rows": [...]` from a query's chunked JSON rows (sent as they
    are, never joined into one copy), then `tail`'s members. Everything is known before the first byte, so the
    length goes out as a header. The parts are in memory already: they go out one after the other, with no
    task watching for the client to hang up (a hung-up client's parts are dropped by the server)."""

    media_type = "application/json"

    def __init__(self, head: dict[str, Any], rows_json: Sequence[bytes], tail: dict[str, Any]) -> None:
        parts = [orjson.dumps(head, option=orjson.OPT_NON_STR_KEYS)[:-1] + b',"rows":[']
        for n, chunk in enumerate(rows_json):
            parts.extend((b",", chunk) if n else (chunk,))
        parts.append(b"]," + orjson.dumps(tail, option=orjson.OPT_NON_STR_KEYS)[1:])
        length = sum(len(p) for p in parts)
        self.parts = [b"".join(parts)] if length <= _SMALL else parts  # a small answer goes out in one write
        super().__init__(None, headers={"Content-Length": str(length)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        last = len(self.parts) - 1
        for n, part in enumerate(self.parts):
            await send({"type": "http.response.body", "body": part, "more_body": n < last})


def attachment(file_name: str, field: str = "fileName") -> str:
    """A Content-Disposition naming a download (RFC 6266): `filename` with a printable-ASCII stand-in for
    older clients, and `filename*` with the name itself in UTF-8 when it is not plain ASCII.

    Raises:
        InvalidField: the name holds control characters (a NUL, a line break, ...).
    """
    if any(unicodedata.category(ch) == "Cc" for ch in file_name):
        raise InvalidField(field, "must not contain control characters")
    plain = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in file_name)
    value = f'attachment; filename="{plain}"'
    if plain != file_name:
        value += "; filename*=UTF-8''" + quote(file_name, safe="!#$&+^`|")
    return value


class PipedCSV(Response):
    """CSV read from a pipe as DuckDB writes it. The status line goes out only once the first chunk is there
    (or the rows turn out to be none), so a failure to start is a proper error response; a failure after that
    can only cut the body short, and the connection is closed so that the client sees it was. Whatever ends
    the request (the last row sent, the client hanging up before or during the body, the server stopping)
    closes the pipe, which stops DuckDB."""

    media_type = "text/csv; charset=utf-8"

    def __init__(self, pipe: FifoReader, headers: dict[str, str] | None = None) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers(headers)  # every header is decided here, before the first byte (no length: chunked)
        self.pipe = pipe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._close_on_hang_up, receive)
                try:
                    await self._send(scope, receive, send)
                finally:
                    group.cancel_scope.cancel()
        finally:
            self.pipe.close()

    async def _close_on_hang_up(self, receive: Receive) -> None:
        await hang_up(receive, self.pipe.cancel)
        self.pipe.close()

    async def _send(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            first = await anyio.to_thread.run_sync(_next_chunk, self.pipe)
        except DomoError as exc:
            await domo_error_response(Request(scope, receive), exc)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        chunk = first
        while chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            try:
                chunk = await anyio.to_thread.run_sync(_next_chunk, self.pipe)
            except DomoError as exc:
                log.error("toe=%s a CSV download stopped part way: %s", scope["state"].get("toe", ""), exc.message)
                return  # the response is left incomplete: the server closes the connection
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _next_chunk(pipe: FifoReader) -> bytes:
    """The next chunk, or b"" at the end."""
    return next(pipe, b"")
