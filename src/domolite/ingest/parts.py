"""Receiving one body (a stream part or an import): decompressed as it arrives and written to the staging area.

A body is taken whole or not at all: a gzip body must reach the end of its last member with every member's
CRC-32 and length trailer right, with nothing but further members after it; a body that ends before its
Content-Length is refused; and no record (a CSV row, which may span lines inside quotes) may be longer than
the record limit. A refused body leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from isal import isal_zlib

from domolite.errors import BodyEndedEarly, InvalidPart, PayloadTooLarge

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"


class _Gunzip:
    """Streaming gzip decoder (isal) for bodies made of one or more gzip members. isal checks each member's
    CRC-32 and length trailer when it reaches the member's end."""

    def __init__(self, what: str, again: str) -> None:
        self._what = what
        self._again = again
        self._d: Any = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
        self._pending = b""  # the start of what follows a member, until it is long enough to tell a new one

    def _refuse(self, problem: str) -> InvalidPart:
        return InvalidPart(f"{self._what}: {problem}; {self._again}")

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            if self._d is None:  # between members: only another member may follow
                data = self._pending + data
                self._pending = b""
                if len(data) < len(GZIP_MAGIC):
                    if not GZIP_MAGIC.startswith(data):
                        raise self._refuse("data follows the end of the gzip data")
                    self._pending = data
                    return b"".join(out)
                if not data.startswith(GZIP_MAGIC):
                    raise self._refuse("data follows the end of the gzip data")
                self._d = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
            d = self._d
            try:
                out.append(d.decompress(data))
            except (isal_zlib.error, ValueError) as exc:  # type: ignore[misc]
                raise self._refuse(f"the gzip data is damaged ({exc})") from None
            if d.eof:
                data = d.unused_data
                self._d = None
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> None:
        """Refuse a body whose last gzip member did not reach its end (and its trailer)."""
        if self._d is not None or self._pending:
            raise self._refuse("the gzip data ends early")


class _Records:
    """Follows the records of Domo CSV as the decompressed body streams by (a record ends at a line feed outside
    quotes; `""` inside quotes is an escaped quote, so counting quotes tells inside from outside) and refuses
    one longer than `limit` bytes, naming the line it starts on. Only chunks that a record near the limit
    touches are walked line by line; the rest cost two counts."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.quoted = False  # inside a quoted field at the current position
        self.open_len = 0  # bytes of the record not yet ended
        self.lines = 0  # line feeds before the current position
        self.record_line = 1  # the line the open record starts on

    def _refuse(self) -> InvalidPart:
        return InvalidPart(
            f"{self.what}, line {self.record_line}: the record is longer than {self.limit} bytes, the limit "
            "(the max_record_bytes setting)"
        )

    def feed(self, data: bytes) -> None:
        n = len(data)
        if not n:
            return
        quotes = data.count(b'"')
        feeds = data.count(b"\n")
        if self.open_len + n > self.limit:
            self._walk(data)
        elif feeds:
            self._last_end(data, quotes)
        else:
            self.open_len += n
        self.quoted ^= bool(quotes & 1)
        self.lines += feeds

    def _last_end(self, data: bytes, quotes: int) -> None:
        """No record here can pass the limit: find where the last one that ends here ends."""
        inside_after = self.quoted ^ bool(quotes & 1)
        pos, end = data.rfind(b"\n"), len(data)
        inside = inside_after
        while pos >= 0:
            inside ^= bool(data.count(b'"', pos, end) & 1)  # the state just before this line feed
            if not inside:
                self.open_len = len(data) - pos - 1
                self.record_line = self.lines + data.count(b"\n", 0, pos + 1) + 1
                return
            end = pos
            pos = data.rfind(b"\n", 0, pos)
        self.open_len += len(data)  # every line feed here is inside quotes

    def _walk(self, data: bytes) -> None:
        """Every record end in the chunk, in order, each checked against the limit."""
        inside = self.quoted
        start = last = 0
        lines = self.lines
        pos = data.find(b"\n")
        while pos >= 0:
            inside ^= bool(data.count(b'"', last, pos) & 1)
            last = pos
            lines += 1
            if not inside:
                if self.open_len + (pos - start) > self.limit:
                    raise self._refuse()
                self.open_len = 0
                start = pos + 1
                self.record_line = lines + 1
            pos = data.find(b"\n", pos + 1)
        self.open_len += len(data) - start
        if self.open_len > self.limit:
            raise self._refuse()


async def receive_body(
    chunks: AsyncIterator[bytes],
    scratch: Path,
    *,
    gzip_declared: bool,
    max_bytes: int,
    max_record_bytes: int,
    what: str,
    again: str,
    owner: str = "",
) -> tuple[Path, int]:
    """Write a body as plain UTF-8 CSV to a new file under `scratch`; return the file and its size.

    The body may be plain or gzip (declared by the caller or recognised by its magic bytes); a leading BOM is
    dropped. The file is returned only when the body is complete and checked; the caller moves it where it
    belongs (or removes it). `what` names the body in errors ("part 3"), `again` says what to do ("send the
    part again"). The file's name starts with `owner-` (the receiving process, so that the files of a process
    that died while receiving can be told apart).

    Raises:
        InvalidPart: declared gzip that is not gzip; gzip that ends early, is damaged or has data after its
            end; a body shorter than its Content-Length; a record longer than `max_record_bytes`.
        PayloadTooLarge: more than `max_bytes` once decompressed.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    tmp = scratch / f"{owner}-{uuid.uuid4().hex}.tmp"
    size = 0
    gunzip: _Gunzip | None = None
    records = _Records(max_record_bytes, what)
    first = True
    head = b""
    carry = b""  # a trailing CR held back until we see whether LF follows

    def take(data: bytes, out: BinaryIO) -> None:
        nonlocal size
        records.feed(data)
        size += len(data)
        if size > max_bytes:
            raise PayloadTooLarge(f"{what} is larger than {max_bytes} bytes")
        out.write(data)

    try:
        with tmp.open("wb") as out:
            try:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    if first:
                        head += chunk
                        if len(head) < 3:
                            continue
                        chunk, head, first = head, b"", False
                        if chunk.startswith(GZIP_MAGIC):
                            gunzip = _Gunzip(what, again)
                        elif gzip_declared:
                            raise InvalidPart(f"{what} is declared gzip but is not gzip")
                    data = gunzip.feed(chunk) if gunzip else chunk
                    if size == 0 and not carry and data.startswith(BOM):
                        data = data[3:]
                    data, carry = _lf_line_ends(carry + data)
                    take(data, out)
            except BodyEndedEarly as exc:
                raise InvalidPart(f"{what}: {exc.message}; {again}") from None
            if first:  # a body shorter than three bytes
                if head.startswith(GZIP_MAGIC) or (gzip_declared and not head):
                    raise InvalidPart(f"{what}: the gzip data ends early; {again}")
                if gzip_declared:
                    raise InvalidPart(f"{what} is declared gzip but is not gzip")
                data, carry = _lf_line_ends(head)
                take(data + carry, out)
                carry = b""
            if gunzip:
                gunzip.finish()
            if carry:
                take(carry, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, size


def _lf_line_ends(data: bytes) -> tuple[bytes, bytes]:
    """CRLF becomes LF (so one file may mix both); a final CR is held back for the next chunk."""
    if data.endswith(b"\r"):
        return data[:-1].replace(b"\r\n", b"\n"), b"\r"
    return data.replace(b"\r\n", b"\n"), b""
