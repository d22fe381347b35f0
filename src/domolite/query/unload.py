"""Rows of a trusted SELECT (built on the door's SELECT) written out for an export: CSV as a stream of
chunks read from a FIFO while DuckDB writes it, Parquet as files on local disk. Both fail loudly: a failed
query is an error, never a short result.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from domolite.errors import DomoError
from domolite.query.engine import _unblock_reader
from domolite.storage.lake import Lake

CHUNK_BYTES = 1 << 20


def csv_chunks(lake: Lake, select_sql: str, scratch_dir: Path) -> Iterator[bytes]:
    """The rows of `select_sql` as CSV with a header, in chunks of 1 MiB (the last one shorter).

    Raises (from the iterator, after the last chunk):
        DomoError: DuckDB failed; what was read so far is not the whole result.
    """
    scratch_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="unload-", dir=scratch_dir))
    fifo = workdir / "rows.csv"
    os.mkfifo(fifo)
    failures: list[BaseException] = []
    reader_done = threading.Event()

    def produce() -> None:
        try:
            lake.unload_csv(select_sql, str(fifo))
        except BaseException as exc:
            failures.append(exc)
            _unblock_reader(fifo, reader_done)

    thread = threading.Thread(target=produce, name="unload-csv", daemon=True)
    thread.start()
    return _read(fifo, workdir, thread, reader_done, failures)


def _read(
    fifo: Path,
    workdir: Path,
    thread: threading.Thread,
    reader_done: threading.Event,
    failures: list[BaseException],
) -> Iterator[bytes]:
    fd = -1
    try:
        fd = os.open(fifo, os.O_RDONLY)
        try:
            fcntl.fcntl(fd, 1031, CHUNK_BYTES)  # F_SETPIPE_SZ
        except OSError:
            pass
        while chunk := _read_full(fd):
            yield chunk
        thread.join()
        if failures:
            failure = failures[0]
            raise failure if isinstance(failure, DomoError) else DomoError("export failed: the query stopped")
    finally:
        reader_done.set()
        if fd >= 0:
            os.close(fd)
        thread.join(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def _read_full(fd: int) -> bytes:
    """The next CHUNK_BYTES of the pipe, fewer only at its end. A pipe read returns what the writer has put in
    so far, often a small piece; gathering whole chunks keeps the per-chunk work (row counting, splitting,
    uploading) to one pass per chunk instead of one per piece."""
    chunk = os.read(fd, CHUNK_BYTES)
    if not chunk or len(chunk) == CHUNK_BYTES:
        return chunk
    pieces = [chunk]
    size = len(chunk)
    while size < CHUNK_BYTES:
        more = os.read(fd, CHUNK_BYTES - size)
        if not more:
            break
        pieces.append(more)
        size += len(more)
    return b"".join(pieces)


class ParquetFiles:
    """Parquet files of one export in a private scratch folder, removed by `close()`."""

    def __init__(self, scratch_dir: Path) -> None:
        scratch_dir.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="unload-", dir=scratch_dir))

    def write(
        self, lake: Lake, select_sql: str, *, compression: str, file_size_bytes: int
    ) -> list[tuple[Path, int, int]]:
        files = lake.copy_parquet(
            select_sql, str(self.workdir / "out"), compression=compression, file_size_bytes=file_size_bytes
        )
        return [(Path(p), rows, size) for p, rows, size in files]

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
