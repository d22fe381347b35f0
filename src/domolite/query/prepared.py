"""Sandbox connections kept from one query to the next, each with the statements it has prepared.

DuckDB parses, binds and optimises a statement's text every time it is run from that text; for a small
query that is most of the work (a 100-row filter of a 1,000,000-row DataSet copied in memory, as JSON:
~3.4 ms run from its text, ~1.5 ms prepared, on 2 cores). A query over a DataSet's files (or their copy,
`query.copies`) names them in its text, and the files of a data version never change, so the same text is
the same statement for as long as it is kept. Queries through DuckLake (time travel, a file gone) name a
table whose contents move with every commit: they run from their text.

A connection serves one query at a time (the door's query slots bound how many are out at once). One that
saw an error is closed, not kept: an interrupted or failed statement leaves nothing behind for the next query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb

# Statements each connection keeps prepared (least recently used go first).
KEEP = 64


class PreparedConnection:
    """One sandbox connection and the statements it has prepared, by their text."""

    def __init__(self, con: duckdb.DuckDBPyConnection, keep: int = KEEP) -> None:
        self.con = con
        self.keep = keep
        self._names: OrderedDict[str, str] = OrderedDict()
        self._next = 0
        self._lock = threading.Lock()
        self._turn = 0  # which query holds the connection: an interrupt meant for one never reaches the next

    def execute(self, sql: str) -> duckdb.DuckDBPyConnection:
        """Run `sql` as its prepared statement, preparing it the first time (DuckDB's errors are raised as is)."""
        name = self._names.get(sql)
        if name is None:
            name = f"domolite_q{self._next}"
            self._next += 1
            self.con.execute(f"PREPARE {name} AS {sql}")
            self._names[sql] = name
            while len(self._names) > self.keep:
                _text, gone = self._names.popitem(last=False)
                self.con.execute(f"DEALLOCATE {gone}")
        else:
            self._names.move_to_end(sql)
        return self.con.execute(f"EXECUTE {name}")

    @property
    def prepared(self) -> int:
        """How many statements are kept prepared."""
        return len(self._names)

    def interrupter(self) -> Callable[[], None]:
        """An interrupt of the query that holds the connection now: harmless once that query has handed it back
        (a cancel's hooks may run late) and once the connection is closed."""
        with self._lock:
            turn = self._turn

        def interrupt() -> None:
            with self._lock:
                if self._turn != turn:
                    return
                try:
                    self.con.interrupt()
                except duckdb.Error:
                    pass

        return interrupt

    def hand_back(self) -> None:
        """The query is over: interrupts made for it do nothing from now on."""
        with self._lock:
            self._turn += 1

    def close(self) -> None:
        self.hand_back()
        try:
            self.con.close()
        except duckdb.Error:
            pass


class ConnectionPool:
    """Connections of one DuckDB instance (made by `make`), kept between queries."""

    def __init__(self, make: Callable[[], duckdb.DuckDBPyConnection], keep: int = KEEP) -> None:
        self._make = make
        self._keep = keep
        self._idle: list[PreparedConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[PreparedConnection]:
        """A connection for one query: kept for the next when the block ends without an error, else closed."""
        with self._lock:
            held = self._idle.pop() if self._idle else None
        if held is None:
            held = PreparedConnection(self._make(), self._keep)
        try:
            yield held
        except BaseException:
            held.close()
            raise
        held.hand_back()
        with self._lock:
            if not self._closed:
                self._idle.append(held)
                return
        held.close()

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when their query hands them back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for held in idle:
            held.close()
