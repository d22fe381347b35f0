"""Receiving one body (a stream part or an import): decompressed as it arrives and written to the staging area."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from isal import isal_zlib

from domolite.errors import InvalidPart, PayloadTooLarge

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"


class _Gunzip:
    """Streaming gzip decoder (isal) that also handles bodies made of several gzip members."""

    def __init__(self) -> None:
        self._d = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            try:
                out.append(self._d.decompress(data))
            except (isal_zlib.error, ValueError) as exc:  # type: ignore[misc]
                raise InvalidPart(f"the body is not valid gzip ({exc})") from None
            if self._d.eof:
                data = self._d.unused_data
                self._d = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> None:
        if not self._d.eof and self._d.unconsumed_tail:
            raise InvalidPart("the gzip body ends early")


async def receive_body(
    chunks: AsyncIterator[bytes], dest: Path, *, gzip_declared: bool, max_bytes: int, what: str
) -> int:
    """Write a body to `dest` as plain UTF-8 CSV and return its decompressed size.

    The body may be plain or gzip (declared by the caller or recognised by its magic bytes); a leading BOM is
    dropped. The file appears under `dest` only when complete, replacing any earlier one.

    Raises:
        InvalidPart: declared gzip that is not gzip.
        PayloadTooLarge: more than `max_bytes` once decompressed.
    """
    tmp = dest.with_name(dest.name + ".tmp")
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    gunzip: _Gunzip | None = None
    first = True
    head = b""
    carry = b""  # a trailing CR held back until we see whether LF follows
    try:
        with tmp.open("wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                if first:
                    head += chunk
                    if len(head) < 3:
                        continue
                    chunk, head, first = head, b"", False
                    if chunk.startswith(GZIP_MAGIC):
                        gunzip = _Gunzip()
                    elif gzip_declared:
                        raise InvalidPart(f"{what} is declared gzip but is not gzip")
                data = gunzip.feed(chunk) if gunzip else chunk
                if size == 0 and not carry and data.startswith(BOM):
                    data = data[3:]
                data, carry = _lf_line_ends(carry + data)
                size += len(data)
                if size > max_bytes:
                    raise PayloadTooLarge(f"{what} is larger than {max_bytes} bytes")
                out.write(data)
            if first and head:  # a body shorter than three bytes
                if head.startswith(GZIP_MAGIC) or gzip_declared:
                    raise InvalidPart(f"{what} is declared gzip but is not gzip")
                data, carry = _lf_line_ends(head[3:] if head.startswith(BOM) else head)
                out.write(data + carry)
                size += len(data) + len(carry)
                carry = b""
            if gunzip:
                gunzip.finish()
            if carry:
                out.write(carry)
                size += len(carry)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def _lf_line_ends(data: bytes) -> tuple[bytes, bytes]:
    """CRLF becomes LF (so one file may mix both); a final CR is held back for the next chunk."""
    if data.endswith(b"\r"):
        return data[:-1].replace(b"\r\n", b"\n"), b"\r"
    return data.replace(b"\r\n", b"\n"), b""
