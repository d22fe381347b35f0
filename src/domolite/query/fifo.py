"""Bytes a writer (DuckDB's COPY) puts into a FIFO, read as they come: the one way CSV leaves DuckDB for a
download or an export, with no copy of the whole result on disk or in memory.

Neither side can be left waiting on the other. The read end is opened before the writer starts, so the
writer's open() never waits for a reader that may never come (a client that hung up before the body). The
writer's thread holds a write end of its own until it ends, so the reader sees the end of the data only once
the writer is done, never before DuckDB has opened the FIFO. `close()` interrupts the writer through its
Cancel, lets go of the read end (so a blocked write fails at once) and, until the writer's thread is gone,
keeps opening the FIFO for a moment (so an open() that came after the read end went does not wait forever).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from domolite.errors import DomoError
from domolite.server.cancel import Cancel
from domolite.server.scratch import private_dir

log = logging.getLogger("domolite.query")

CHUNK_BYTES = 1 << 20
F_SETPIPE_SZ = 1031
PIPE_KIND = "pipe"
# How long a closed pipe keeps trying to end a writer that does not stop (it always has, in tests, within ms).
_REAP_S = 30.0

Writer = Callable[[str, Cancel], None]


class FifoReader(Iterator[bytes]):
    """The chunks `write(fifo_path, cancel)` puts into a FIFO, CHUNK_BYTES each (the last one shorter), read as
    they come; `write` runs on a thread of its own. The FIFO lives in a private folder under `scratch_dir`,
    removed once both sides are done.

    Raises (from the iterator, after the last chunk):
        DomoError: the writer failed; what was read so far is not the whole result.
    """

    def __init__(self, write: Writer, scratch_dir: Path, *, name: str, owner: str, stop_with: Cancel) -> None:
        """`stop_with` closes the reader when cancelled (the server is stopping)."""
        self.cancel = Cancel()
        self._workdir = private_dir(scratch_dir, PIPE_KIND, owner)
        self._fifo = self._workdir / "rows.csv"
        os.mkfifo(self._fifo)
        self._fd = os.open(self._fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(self._fd, True)
        try:
            fcntl.fcntl(self._fd, F_SETPIPE_SZ, CHUNK_BYTES)
        except OSError:
            pass
        self._hold = os.open(self._fifo, os.O_WRONLY | os.O_NONBLOCK)  # closed by the writer's thread at its end
        self._lock = threading.Lock()
        self._reading = False
        self._closed = False
        self._fd_released = False
        self._removed = False
        self._failure: BaseException | None = None
        self._writer_done = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(write,), name=name, daemon=True)
        self._thread.start()
        self._unhook = stop_with.add_hook(self.close)

    # -- the writer's side -----------------------------------------------------------------------------------
    def _produce(self, write: Writer) -> None:
        try:
            write(str(self._fifo), self.cancel)
        except BaseException as exc:
            self._failure = exc
        finally:
            os.close(self._hold)
            self._writer_done.set()
            self._remove_when_done()

    # -- the reader's side -----------------------------------------------------------------------------------
    def __next__(self) -> bytes:
        with self._lock:
            if self._closed:
                raise StopIteration
            self._reading = True
        try:
            chunk = _read_full(self._fd)
        finally:
            with self._lock:
                self._reading = False
                closed = self._closed
            if closed:
                self._release_fd()  # close() came while this read ran
        if closed:
            raise StopIteration
        if chunk:
            return chunk
        self._thread.join()  # the end of the data: the writer has let go of the FIFO, its thread is ending
        with self._lock:
            self._closed = True
        self._release_fd()
        self._unhook()
        if self._failure is not None:
            failure = self._failure
            raise failure if isinstance(failure, DomoError) else DomoError("export failed: the query stopped")
        raise StopIteration

    def close(self) -> None:
        """Stop early (the client hung up, the export stopped): never blocks. The writer is interrupted, the
        read end let go of, and the folder removed once the writer's thread has ended."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            reading = self._reading
        self.cancel.cancel("the reader stopped")
        if not reading:
            self._release_fd()
        if not self._writer_done.is_set():
            threading.Thread(target=self._reap, name="pipe-reaper", daemon=True).start()
        self._unhook()

    def _reap(self) -> None:
        """Until the writer's thread ends: give an open() of the FIFO that waits for a reader one, for a moment
        (its first write then fails, the reader being gone), and repeat the interrupt (one that came before
        DuckDB started its statement is forgotten when the statement starts)."""
        deadline = time.monotonic() + _REAP_S
        while not self._writer_done.wait(0.01):
            if time.monotonic() > deadline:
                log.warning("a CSV writer did not stop within %.0f s of its reader", _REAP_S)
                return
            try:
                os.close(os.open(self._fifo, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                pass
            self.cancel.poke()

    def _release_fd(self) -> None:
        with self._lock:
            if self._fd_released:
                return
            self._fd_released = True
        os.close(self._fd)
        self._remove_when_done()

    def _remove_when_done(self) -> None:
        with self._lock:
            if self._removed or not (self._fd_released and self._writer_done.is_set()):
                return
            self._removed = True
        shutil.rmtree(self._workdir, ignore_errors=True)


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
