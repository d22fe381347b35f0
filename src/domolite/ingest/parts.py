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


class _TooLong(Exception):
    """A record longer than the limit starts at byte `start` of the (decompressed) body."""

    def __init__(self, start: int) -> None:
        super().__init__(start)
        self.start = start


class _Records:
    """Follows the records of Domo CSV as the decompressed body streams by (a record ends at a line feed outside
    quotes; `""` inside quotes is an escaped quote, so the parity of the quotes tells inside from outside) and
    raises _TooLong for one longer than `limit` bytes. A chunk no record can pass the limit in costs one count of
    its quotes and a look back from its end; only a chunk that a record near the limit touches is walked line by
    line. Line numbers are counted only for the error, from the body as written."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.quoted = False  # inside a quoted field at the end of what was fed
        self.offset = 0  # bytes fed before the current chunk
        self.start = 0  # where the record not yet ended starts

    def feed(self, data: bytes) -> None:
        end = self.offset + len(data)
        if end - self.start > self.limit:
            self._walk(data)
        else:
            quotes = data.count(b'"')
            self._last_end(data, self.quoted ^ bool(quotes & 1))
            self.quoted ^= bool(quotes & 1)
        self.offset = end

    def _last_end(self, data: bytes, inside: bool) -> None:
        """Move the start to just after the last record end in `data` (`inside`: the state at its end)."""
        pos, end = data.rfind(b"\n"), len(data)
        while pos >= 0:
            inside ^= bool(data.count(b'"', pos, end) & 1)  # the state just before this line feed
            if not inside:
                self.start = self.offset + pos + 1
                return
            end = pos
            pos = data.rfind(b"\n", 0, pos)

    def _walk(self, data: bytes) -> None:
        """Every record end in the chunk, in order, each checked against the limit."""
        inside, last = self.quoted, 0
        pos = data.find(b"\n")
        while pos >= 0:
            inside ^= bool(data.count(b'"', last, pos) & 1)
            last = pos
            if not inside:
                if self.offset + pos - self.start > self.limit:
                    raise _TooLong(self.start)
                self.start = self.offset + pos + 1
            pos = data.find(b"\n", pos + 1)
        self.quoted = inside ^ bool(data.count(b'"', last) & 1)
        if self.offset + len(data) - self.start > self.limit:
            raise _TooLong(self.start)


def _line_at(path: Path, offset: int) -> int:
    """The line number of byte `offset` of a file."""
    feeds = 0
    with path.open("rb") as fh:
        left = offset
        while left > 0 and (block := fh.read(min(left, 1 << 20))):
            feeds += block.count(b"\n")
            left -= len(block)
    return feeds + 1


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
    records = _Records(max_record_bytes)
    first = True
    head = b""
    carry = b""  # a trailing CR held back until we see whether LF follows

    def take(data: bytes, out: BinaryIO) -> None:
        nonlocal size
        size += len(data)
        if size > max_bytes:
            raise PayloadTooLarge(f"{what} is larger than {max_bytes} bytes")
        out.write(data)
        try:
            records.feed(data)
        except _TooLong as exc:
            out.flush()
            raise InvalidPart(
                f"{what}, line {_line_at(tmp, exc.start)}: the record is longer than {max_record_bytes} bytes, "
                "the limit (the max_record_bytes setting)"
            ) from None

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
    """CRLF becomes LF (so one file may mix both); a final CR is held back for the next chunk. Data without a CR
    (most bodies) is passed on as it is: looking for one costs a sixtieth of the search `replace` makes."""
    if b"\r" not in data:
        return data, b""
    if data.endswith(b"\r"):
        return data[:-1].replace(b"\r\n", b"\n"), b"\r"
    return data.replace(b"\r\n", b"\n"), b""
