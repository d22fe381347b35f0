"""In-memory copies of the DataSets queried most, kept in the query sandbox.

A query over a DataSet's Parquet files reads and decodes them every time: a 100-row filter of a 1,000,000-row
DataSet reads the row groups its range touches (~7 ms on 2 cores), where the same filter over the rows in
memory takes ~1.5 ms. A DataSet queried at least twice at a data version that has stood 10 s since its load is
copied into memory in the background; queries read the copy from then on. A copy is of one data version
and schema (the catalog names the version, every load moves it), so it holds exactly the rows the files hold,
and a load or a schema change is read from the files until the new version is copied in turn.

Copies share a budget (`query_copy_mb`): the least recently read go first when a new one does not fit. A
DataSet is copied only when its values (rows x columns) could fit in the budget at 16 bytes a value. Copies
are not compressed: DuckDB's compressed in-memory tables take a sixth of the memory but cost a GROUP BY over
1,000,000 rows ~2.5 ms more (15 ms against 12.5 ms), and compressing one took over a second while queries ran.
A copy is never removed while a query reads it.

One thread makes and removes the copies, one at a time, so that the memory each takes is measured alone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from domolite.server.memo import Memo

log = logging.getLogger(__name__)

# Bytes a value takes in a copy, about (1,000,000 rows of 8 columns: 134 MB).
VALUE_BYTES = 16
# A DataSet is copied once it has been read this many times at one data version, and that version has stood
# this many seconds since its load: a version that the next commit soon replaces (a DataSet loaded again and
# again) is not worth a copy.
READS_BEFORE_COPY = 2
STEADY_S = 10.0
_RECENT = 1024  # DataSets whose reads are counted (least recently read go first)
_NEVER = -1  # the count of a DataSet whose copy failed: it is read from its files

# A DataSet at a data version and schema: its table first.
CopyKey = tuple[Hashable, ...]


@dataclass
class _Copy:
    name: str  # the in-memory database that holds it
    size: int = 0  # bytes, measured once made
    readers: int = 0
    retired: bool = False


class Copies:
    def __init__(self, con: duckdb.DuckDBPyConnection, budget_bytes: int) -> None:
        """Copies in `con`'s DuckDB instance (the sandbox), at most `budget_bytes` of them (0: none)."""
        self._con = con
        self.budget_bytes = budget_bytes
        self._lock = threading.Lock()
        self._ready: OrderedDict[CopyKey, _Copy] = OrderedDict()
        self._reads: Memo[CopyKey, int] = Memo(_RECENT)
        self.steady_s = STEADY_S
        self._building: CopyKey | None = None
        self._jobs: queue.SimpleQueue[Callable[[duckdb.DuckDBPyConnection], None] | None] = queue.SimpleQueue()
        self._next = 0
        self._closed = False
        self._worker: threading.Thread | None = None
        self._cur: duckdb.DuckDBPyConnection | None = None

    # -- reading ----------------------------------------------------------------------------------------------
    @contextmanager
    def reading(self, key: CopyKey, files_sql: str, values: int, age_s: float) -> Iterator[str | None]:
        """The FROM item of the copy of `key` (a DataSet at a data version and schema) while the block runs, or
        None when there is none yet: this read is counted, and the copy made from `files_sql` (the FROM item of
        its files) in the background once it has been read often enough, its version is `steady_s` old (`age_s`:
        seconds since its load) and its `values` fit."""
        with self._lock:
            copy = self._ready.get(key)
            if copy is not None and not copy.retired:
                copy.readers += 1
                self._ready.move_to_end(key)
                due = False
            else:
                copy = None
                due = self._count_read(key, values, age_s)
        if copy is None:
            if due:
                self._submit(lambda cur: self._make(cur, key, files_sql))
            yield None
            return
        try:
            yield f"{copy.name}.main.t"
        finally:
            with self._lock:
                copy.readers -= 1
                gone = copy.retired and copy.readers == 0
            if gone:
                self._submit(lambda cur: self._detach(cur, copy))

    def _count_read(self, key: CopyKey, values: int, age_s: float) -> bool:
        """Count one read of `key` (under the lock); whether its copy is to be made now."""
        if self._closed or not self.budget_bytes or values * VALUE_BYTES > self.budget_bytes:
            return False
        reads = self._reads.peek(key) or 0
        reads = reads if reads == _NEVER else reads + 1
        self._reads.put(key, reads)
        if reads >= READS_BEFORE_COPY and age_s >= self.steady_s and self._building is None:
            self._building = key
            return True
        return False

    @property
    def names(self) -> list[str]:
        """The databases of the copies ready to read."""
        with self._lock:
            return [c.name for c in self._ready.values() if not c.retired]

    @property
    def size(self) -> int:
        with self._lock:
            return sum(c.size for c in self._ready.values())

    # -- the worker -------------------------------------------------------------------------------------------
    def _submit(self, job: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        with self._lock:
            if self._closed:
                return
            if self._worker is None:
                self._cur = self._con.cursor()
                self._worker = threading.Thread(target=self._work, name="query-copies", daemon=True)
                self._worker.start()
        self._jobs.put(job)

    def _work(self) -> None:
        cur = self._cur
        assert cur is not None
        while (job := self._jobs.get()) is not None:
            try:
                job(cur)
            except duckdb.Error:
                if not self._closed:
                    log.warning("an in-memory copy of a DataSet could not be made or removed", exc_info=True)

    def _make(self, cur: duckdb.DuckDBPyConnection, key: CopyKey, files_sql: str) -> None:
        if self._closed:
            return
        name = f"domolite_copy_{self._next}"
        self._next += 1
        made = _Copy(name)
        failed = True
        try:
            before = _table_memory(cur)
            cur.execute(f"ATTACH ':memory:' AS {name}")
            try:
                cur.execute(f"CREATE TABLE {name}.main.t AS SELECT * FROM {files_sql}")
            except BaseException:
                cur.execute(f"DETACH DATABASE IF EXISTS {name}")
                raise
            made.size = max(0, _table_memory(cur) - before)
            failed = False
        finally:
            with self._lock:
                self._building = None
                if failed:
                    self._reads.put(key, _NEVER)
        with self._lock:
            if self._closed:
                made.retired = True
            else:
                for other_key, other in self._ready.items():  # the same DataSet at another version: stale
                    if other_key[0] == key[0]:
                        other.retired = True
                self._ready[key] = made
                self._reads.discard(key)
                total = sum(c.size for c in self._ready.values() if not c.retired)
                for old in self._ready.values():
                    if total <= self.budget_bytes:
                        break
                    if not old.retired:
                        old.retired = True
                        total -= old.size
            done = [(k, c) for k, c in self._ready.items() if c.retired]
            for k, _retired in done:
                del self._ready[k]
            idle = [c for _, c in done if c.readers == 0]
        for copy in idle:
            self._detach(cur, copy)

    @staticmethod
    def _detach(cur: duckdb.DuckDBPyConnection, copy: _Copy) -> None:
        cur.execute(f"DETACH DATABASE IF EXISTS {copy.name}")

    def close(self, wait_s: float = 5.0) -> None:
        """Stop making copies and remove them all (a copy being made is stopped)."""
        with self._lock:
            self._closed = True
            worker, cur = self._worker, self._cur
            for copy in self._ready.values():
                copy.retired = True
        if worker is None or cur is None:
            return
        try:
            cur.interrupt()
        except duckdb.Error:
            pass
        self._jobs.put(None)
        worker.join(wait_s)
        try:
            cur.close()
        except duckdb.Error:
            pass


def _table_memory(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.execute("SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'").fetchone()
    return int(row[0]) if row else 0
