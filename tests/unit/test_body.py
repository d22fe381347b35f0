"""Receiving a body: whole or refused (gzip that ends early, is damaged or is followed by other data; a body
shorter than its Content-Length; a record over the limit), and a refused body leaves no file behind."""

from __future__ import annotations

import asyncio
import gzip
import random
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from domolite.errors import BodyEndedEarly, InvalidPart
from domolite.ingest.parts import receive_body

ROWS = b"".join(b"%d,city%d\n" % (i, i) for i in range(20_000))


def receive(tmp_path: Path, chunks: Iterable[bytes], *, gzip_declared: bool = False, record: int = 4096) -> bytes:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def run() -> bytes:
        path, size = await receive_body(
            body(),
            tmp_path / "incoming",
            gzip_declared=gzip_declared,
            max_bytes=2**30,
            max_record_bytes=record,
            what="part 3",
            again="send the part again",
        )
        data = path.read_bytes()
        assert len(data) == size
        return data

    return asyncio.run(run())


def refused(tmp_path: Path, chunks: Iterable[bytes], **kwargs: object) -> str:
    with pytest.raises(InvalidPart) as caught:
        receive(tmp_path, chunks, **kwargs)  # type: ignore[arg-type]
    assert not list((tmp_path / "incoming").iterdir()), "a refused body left a file"
    return caught.value.message


def in_pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_a_whole_gzip_body_is_taken_in_any_chunking(tmp_path: Path) -> None:
    packed = gzip.compress(ROWS)
    for size in (1, 7, 4096, len(packed)):
        assert receive(tmp_path, in_pieces(packed, size)) == ROWS


def test_several_gzip_members_are_one_body(tmp_path: Path) -> None:
    half = len(ROWS) // 2
    packed = gzip.compress(ROWS[:half]) + gzip.compress(ROWS[half:])
    assert receive(tmp_path, in_pieces(packed, 1000), gzip_declared=True) == ROWS
    assert receive(tmp_path, in_pieces(packed, 1), gzip_declared=True) == ROWS


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.77, 0.9, 0.999])
def test_gzip_cut_short_is_refused(tmp_path: Path, cut: float) -> None:
    packed = gzip.compress(ROWS)
    message = refused(tmp_path, in_pieces(packed[: int(len(packed) * cut)], 4096))
    assert message == "part 3: the gzip data ends early; send the part again"


def test_gzip_without_its_trailer_or_with_part_of_it_is_refused(tmp_path: Path) -> None:
    packed = gzip.compress(ROWS)
    for cut in (8, 4, 1):
        assert refused(tmp_path, [packed[:-cut]]) == "part 3: the gzip data ends early; send the part again"
    assert refused(tmp_path, [packed[:10]]) == "part 3: the gzip data ends early; send the part again"
    assert refused(tmp_path, [b""], gzip_declared=True) == "part 3: the gzip data ends early; send the part again"


def test_a_damaged_checksum_or_length_is_refused(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(ROWS))
    for at in (-8, -1):  # the CRC-32, the length
        bad = bytearray(packed)
        bad[at] ^= 0x55
        message = refused(tmp_path, in_pieces(bytes(bad), 999))
        assert message.startswith("part 3: the gzip data is damaged (") and message.endswith("; send the part again")


@pytest.mark.parametrize("garbage", [b"x", b"\x1f", b"\x00\x00\x00\x00", b"trailing text\n"])
def test_data_after_the_gzip_end_is_refused(tmp_path: Path, garbage: bytes) -> None:
    packed = gzip.compress(ROWS)
    message = refused(tmp_path, [packed, garbage])
    assert message in (
        "part 3: data follows the end of the gzip data; send the part again",
        "part 3: the gzip data ends early; send the part again",  # b"\x1f" may start a member that never came
    )
    assert refused(tmp_path, [packed + garbage]) == message


def test_a_body_shorter_than_its_content_length_is_refused(tmp_path: Path) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield ROWS[:100]
        raise BodyEndedEarly(100, 5000)

    async def run() -> None:
        await receive_body(
            body(),
            tmp_path / "incoming",
            gzip_declared=False,
            max_bytes=2**30,
            max_record_bytes=4096,
            what="part 3",
            again="send the part again",
        )

    with pytest.raises(InvalidPart) as caught:
        asyncio.run(run())
    assert caught.value.message == (
        "part 3: the body ends early: 100 bytes arrived of the 5000 bytes its Content-Length announced; "
        "send the part again"
    )
    assert not list((tmp_path / "incoming").iterdir())


def test_a_record_over_the_limit_is_refused_naming_its_line(tmp_path: Path) -> None:
    body = b"1,a\n2,b\n3," + b"x" * 5000 + b"\n4,d\n"
    for size in (1, 64, 1000, len(body)):
        message = refused(tmp_path, in_pieces(body, size))
        assert message == (
            "part 3, line 3: the record is longer than 4096 bytes, the limit (the max_record_bytes setting)"
        )


def test_a_record_of_quoted_lines_counts_whole_and_starts_where_it_starts(tmp_path: Path) -> None:
    field = b'"' + b'line\n""quoted""\n' * 300 + b'"'  # 5,100 bytes over 601 lines
    body = b"1,a\n" + b"2," + field + b"\n3,c\n"
    assert refused(tmp_path, in_pieces(body, 100)) == (
        "part 3, line 2: the record is longer than 4096 bytes, the limit (the max_record_bytes setting)"
    )
    ok = b"1,a\n" + b'2,"' + b"line\n" * 800 + b'"\n3,c\n'  # 4,003 bytes: under the limit, over 801 lines
    assert receive(tmp_path, in_pieces(ok, 100)) == ok


def test_records_at_the_limit_are_taken_in_any_chunking(tmp_path: Path) -> None:
    rng = random.Random(7)
    rows = [b"%d," % i + b'"' + b"y\n" * rng.randint(0, 2046) + b'"' for i in range(40)]
    rows.append(b"x" * 4096)  # exactly the limit
    body = b"\n".join(rows) + b"\n"
    for size in (1, 333, 4096, 65536):
        assert receive(tmp_path, in_pieces(body, size)) == body


def test_a_long_record_inside_gzip_is_refused_too(tmp_path: Path) -> None:
    packed = gzip.compress(b"1,a\n" * 10 + b"2," + b"z" * 10_000 + b"\n")
    assert refused(tmp_path, in_pieces(packed, 50)) == (
        "part 3, line 11: the record is longer than 4096 bytes, the limit (the max_record_bytes setting)"
    )


def test_crlf_line_ends_become_lf_in_any_chunking_and_a_lone_cr_stays(tmp_path: Path) -> None:
    """CRLF and LF may be mixed in one body; a CR whose LF comes in the next chunk is held back for it, and a
    CR that no LF follows (inside a value, or the body's last byte) is kept as it is."""
    body = b'a,1\r\nb,"x\ry"\nc,3\r\n' * 50 + b"d,4\r"
    wanted = b'a,1\nb,"x\ry"\nc,3\n' * 50 + b"d,4\r"
    for size in (1, 2, 3, 5, 16, 4096):
        assert receive(tmp_path, in_pieces(body, size)) == wanted, size
    assert receive(tmp_path, in_pieces(gzip.compress(body), 7)) == wanted
    assert receive(tmp_path, [ROWS, b"x,1\r", b"\ny,2\n"]) == ROWS + b"x,1\ny,2\n"  # a chunk without a CR
