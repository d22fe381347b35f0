"""Cut a stream of CSV bytes into objects at row ends, counting rows, each object with its own BOM and header.

Rows are counted by their line ends outside quotes, so quoted fields with embedded newlines count once. The
quote state is carried across chunks. An object is closed at the first row end after it holds
`max_object_bytes` of CSV (before compression).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from domolite.export.codecs import Compressor, compressor
from domolite.models.exports import Compression

NL = ord("\n")
QUOTE = ord('"')


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...

    def finish(self) -> int:
        """End the object (it may go on being completed after this returns); its size in bytes."""
        ...


def count_row_ends(buf: bytes, start: int, end: int, in_quotes: bool) -> tuple[int, bool]:
    """Line ends outside quotes in buf[start:end], and the quote state after it.

    Vectorised: numpy finds every quote and every line end; a line end is outside quotes when the quotes
    before it in the span, plus one if the span starts inside quotes, are even in number. A doubled quote
    (an escaped one) flips the state twice, so it changes nothing.
    """
    if end <= start:
        return 0, in_quotes
    view = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
    line_ends = np.flatnonzero(view == NL)
    quotes = np.flatnonzero(view == QUOTE)
    if quotes.size == 0:
        return (0 if in_quotes else int(line_ends.size)), in_quotes
    after_quote = in_quotes != bool(quotes.size & 1)
    if line_ends.size == 0:
        return 0, after_quote
    before = np.searchsorted(quotes, line_ends)  # how many quotes come before each line end
    if in_quotes:
        before += 1
    return int(line_ends.size) - int(np.count_nonzero(before & 1)), after_quote


def find_row_end(buf: bytes, start: int, in_quotes: bool) -> int:
    """Index of the first line end outside quotes at or after `start`, or -1."""
    i = start
    while True:
        if in_quotes:
            j = buf.find(b'"', i)
            if j < 0:
                return -1
            in_quotes = False
            i = j + 1
        else:
            nl = buf.find(b"\n", i)
            if nl < 0:
                return -1
            quote = buf.find(b'"', i, nl)
            if quote < 0:
                return nl
            in_quotes = True
            i = quote + 1


class CsvSplitter:
    def __init__(
        self,
        open_object: Callable[[int], Sink],
        on_object: Callable[[int, int, int], None],
        *,
        max_object_bytes: int,
        compression: Compression,
        bom: bool,
    ) -> None:
        self._open_object = open_object
        self._on_object = on_object
        self._max = max_object_bytes
        self._compression = compression
        self._prefix = b"\xef\xbb\xbf" if bom else b""
        self._header: bytes | None = None
        self._head_buf = bytearray()
        self._quoted = False
        self._index = 0
        self._sink: Sink | None = None
        self._codec: Compressor | None = None
        self._raw = 0
        self._rows = 0
        self._at_row_end = True
        self._has_data = False
        self._cut_pending = False
        self.rows_total = 0

    # -- objects ---------------------------------------------------------------------------------------------
    def _open(self) -> None:
        self._sink = self._open_object(self._index)
        self._codec = compressor(self._compression)
        self._raw = 0
        self._rows = 0
        self._at_row_end = True
        self._has_data = False
        self._cut_pending = False
        start = self._prefix + (self._header or b"")
        if start:
            self._sink.write(self._codec.compress(start))
            self._raw += len(start)

    def _close(self) -> None:
        assert self._sink is not None and self._codec is not None
        if self._has_data and not self._at_row_end:  # a last row without a line end
            self._rows += 1
            self.rows_total += 1
        tail = self._codec.flush()
        if tail:
            self._sink.write(tail)
        size = self._sink.finish()
        self._on_object(self._index, self._rows, size)
        self._index += 1
        self._sink = None
        self._codec = None

    def _write(self, buf: bytes, start: int, end: int) -> None:
        assert self._sink is not None and self._codec is not None
        if end <= start:
            return
        rows, self._quoted = count_row_ends(buf, start, end, self._quoted)
        self._rows += rows
        self.rows_total += rows
        self._raw += end - start
        self._has_data = True
        self._at_row_end = buf[end - 1] == NL and not self._quoted
        data = self._codec.compress(buf[start:end])
        if data:
            self._sink.write(data)

    # -- the stream ------------------------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        if self._header is None:
            self._head_buf += chunk
            end = find_row_end(bytes(self._head_buf), 0, False)
            if end < 0:
                return
            buf = bytes(self._head_buf)
            self._header = buf[: end + 1]
            self._head_buf.clear()
            chunk = buf[end + 1 :]
        pos, n = 0, len(chunk)
        while pos < n:
            if self._sink is None:
                self._open()
            if self._cut_pending:
                if self._has_data and self._at_row_end:
                    self._close()
                    continue
                end = find_row_end(chunk, pos, self._quoted)
                if end < 0:
                    self._write(chunk, pos, n)
                    return
                self._write(chunk, pos, end + 1)
                pos = end + 1
                self._close()
                continue
            take = min(n - pos, max(self._max - self._raw, 0))
            self._write(chunk, pos, pos + take)
            pos += take
            if self._raw >= self._max:
                self._cut_pending = True

    def finish(self) -> None:
        """Close the last object; an empty result still makes one object with the header."""
        if self._header is None and self._head_buf:
            self._header = bytes(self._head_buf)  # a header without a line end
            self._head_buf.clear()
        if self._sink is None and self._index == 0:
            self._open()
        if self._sink is not None:
            self._close()
