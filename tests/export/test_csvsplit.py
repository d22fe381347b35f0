"""The CSV splitter: objects cut at row ends (not at quoted newlines), each with its header, rows counted."""

from __future__ import annotations

import csv
import io
import random

import pytest

from domolite.export.csvsplit import CsvSplitter
from domolite.export.model import Compression


class ListSink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def complete(self) -> int:
        return len(self.data)


def _split(data: bytes, chunk: int, max_bytes: int) -> tuple[list[bytes], list[int]]:
    sinks: list[ListSink] = []
    counts: list[int] = []

    def open_object(index: int) -> ListSink:
        assert index == len(sinks)
        sinks.append(ListSink())
        return sinks[-1]

    splitter = CsvSplitter(
        open_object, lambda i, rows, size: counts.append(rows), max_object_bytes=max_bytes,
        compression=Compression.NONE, bom=False,
    )  # fmt: skip
    for start in range(0, len(data), chunk):
        splitter.feed(data[start : start + chunk])
    splitter.finish()
    return [bytes(s.data) for s in sinks], counts


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("max_bytes", [1, 300, 10**9])
def test_split_keeps_every_row_once(chunk: int, max_bytes: int) -> None:
    rnd = random.Random(chunk * max_bytes)
    values = ["a", "b,c", "x\ny", 'say "hi"', "", 'end\n"q"']
    rows = [[str(i), rnd.choice(values)] for i in range(300)]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["n", "s"], *rows])
    objects, counts = _split(buf.getvalue().encode(), chunk, max_bytes)
    got: list[list[str]] = []
    for data, count in zip(objects, counts, strict=True):
        parsed = list(csv.reader(io.StringIO(data.decode(), newline="")))
        assert parsed[0] == ["n", "s"] and len(parsed) - 1 == count
        got += parsed[1:]
    assert got == rows
    if max_bytes == 1:
        assert counts == [1] * 300
    if max_bytes == 10**9:
        assert len(objects) == 1


def test_an_empty_result_is_one_object_with_the_header() -> None:
    objects, counts = _split(b"n,s\n", 1024, 10**9)
    assert objects == [b"n,s\n"] and counts == [0]
