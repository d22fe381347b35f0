"""The CSV splitter: objects cut at row ends (not at quoted newlines), each with its header, rows counted."""

from __future__ import annotations

import csv
import io
import random

import pytest

from domolite.export.csvsplit import CsvSplitter, count_row_ends
from domolite.models.exports import Compression


class ListSink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def finish(self) -> int:
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


def _reference_row_ends(data: bytes, in_quotes: bool) -> tuple[int, bool]:
    """One byte at a time: the obvious count the vectorised one must match."""
    count = 0
    for byte in data:
        if byte == ord('"'):
            in_quotes = not in_quotes
        elif byte == ord("\n") and not in_quotes:
            count += 1
    return count, in_quotes


@pytest.mark.parametrize(
    ("data", "in_quotes", "expected"),
    [
        (b"a,b\nc,d\n", False, (2, False)),
        (b'a,"x\ny"\nb,c\n', False, (2, False)),  # a quoted line end is not a row end
        (b'a,"say ""hi"""\nb,"2"\n', False, (2, False)),  # doubled quotes flip the state twice
        (b'x\ny"\nb\n', True, (2, False)),  # starts inside a quoted field
        (b'a,"x\n', False, (0, True)),  # ends inside a quoted field
        (b'a,"', False, (0, True)),  # a quote as the very last byte
        (b'"\nb\n', True, (2, False)),  # a quote as the very first byte closes the field
        (b"\n\n\n", True, (0, True)),  # no quote at all, inside
        (b"\n\n\n", False, (3, False)),  # no quote at all, outside
        (b'""""', False, (0, False)),
        (b"", True, (0, True)),
    ],
)
def test_count_row_ends_cases(data: bytes, in_quotes: bool, expected: tuple[int, bool]) -> None:
    assert count_row_ends(data, 0, len(data), in_quotes) == expected
    assert _reference_row_ends(data, in_quotes) == expected


@pytest.mark.parametrize("seed", range(20))
def test_count_row_ends_matches_a_byte_by_byte_count_over_any_chunking(seed: int) -> None:
    rnd = random.Random(seed)
    values = ["a", "b,c", "x\ny", 'say "hi"', '""', "", 'end\n"q"\n', "\n"]
    rows = [[str(i), rnd.choice(values), rnd.choice(values)] for i in range(rnd.randint(0, 400))]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    data = buf.getvalue().encode()
    # Cut anywhere, including right before or after a quote and inside a doubled quote.
    cuts = sorted({0, len(data), *(rnd.randint(0, len(data)) for _ in range(rnd.randint(0, 30)))})
    quote_at = data.find(b'""')
    if quote_at > 0:
        cuts = sorted({*cuts, quote_at, quote_at + 1, quote_at + 2})
    total, in_quotes = 0, False
    for start, end in zip(cuts, cuts[1:], strict=False):
        expected = _reference_row_ends(data[start:end], in_quotes)
        got = count_row_ends(data, start, end, in_quotes)
        assert got == expected, (start, end)
        total += got[0]
        in_quotes = got[1]
    assert (total, in_quotes) == (len(rows), False)
