"""Bytes a writer (DuckDB's COPY) puts into a FIFO, read as they come: the one way CSV leaves DuckDB for a
download or an export, with no copy of the whole result on disk or in memory."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from domolite.errors import DomoError

CHUNK_BYTES = 1 << 20
F_SETPIPE_SZ = 1031


def read_through_fifo(write: Callable[[str], None], scratch_dir: Path, *, name: str) -> Iterator[bytes]:
    """Run `write(fifo_path)` on a thread of its own and yield what it writes, in chunks of CHUNK_BYTES (the
    last one shorter). The FIFO lives in a private folder under `scratch_dir`, removed at the end.

    Raises (from the iterator, after the last chunk):
        DomoError: the writer failed; what was read so far is not the whole result.
    """
    scratch_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=scratch_dir))
    fifo = workdir / "rows.csv"
    os.mkfifo(fifo)
    failures: list[BaseException] = []
    reader_done = threading.Event()

    def produce() -> None:
        try:
            write(str(fifo))
        except BaseException as exc:
            failures.append(exc)
            _unblock_reader(fifo, reader_done)

    thread = threading.Thread(target=produce, name=name, daemon=True)
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
            fcntl.fcntl(fd, F_SETPIPE_SZ, CHUNK_BYTES)
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
    uploading, sending) to one pass per chunk instead of one per piece."""
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


def _unblock_reader(fifo: Path, reader_done: threading.Event) -> None:
    """Open and close the write end so that a reader still waiting in open() sees end-of-file."""
    deadline = time.monotonic() + 30
    while not reader_done.is_set() and time.monotonic() < deadline:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            return
        except OSError as exc:
            if exc.errno not in (errno.ENXIO, errno.EAGAIN):
                return
            time.sleep(0.01)
