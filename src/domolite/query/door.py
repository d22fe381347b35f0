"""The one door for rows. Queries, CSV downloads and S3 exports (CSV and Parquet) all read through
`Door.source_sql`, which applies read permission and row policies (PDP) for the caller; an export's rows then
leave through `unload_csv` or `parquet_files`, so that nothing outside query/ and storage/ holds the lake.

User SQL runs in a separate, locked-down DuckDB instance: the lake attached read-only, external access off,
configuration locked, a time limit and a row cap.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import os
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

from domolite.access import permissions
from domolite.errors import BadRequest, Busy, InvalidField, InvalidSql, QueryTimeout
from domolite.models.records import DataSet, DomoType, Principal
from domolite.query.copies import Copies
from domolite.query.fifo import PIPE_KIND, FifoReader
from domolite.query.jsonrows import chunks_of, chunks_of_rows, json_sql, rows_of
from domolite.query.mistakes import missing_column
from domolite.query.prepared import ConnectionPool
from domolite.query.sql import NESTED_TOO_DEEPLY, rewrite
from domolite.query.unload import ParquetFiles, csv_chunks
from domolite.server.alarms import ALARMS
from domolite.server.cancel import Cancel, Cancelled
from domolite.server.memo import Memo
from domolite.server.scratch import remove_gone, remove_strays
from domolite.storage.lake import LAKE, Lake, lake_busy
from domolite.storage.sqltext import ident, literal, null_columns


class _FilesGone(Exception):
    """A query reading a DataSet's Parquet files straight could not read one (see `Door._table_sql`)."""


class RowPolicies(Protocol):
    """PDP as the door asks it (access/policies.py's `Policies`)."""

    def row_filter(self, dataset: DataSet, principal: Principal) -> str | None:
        """The WHERE clause of the rows of `dataset` the principal may read, or None for every row."""
        ...


_TIME_UP = "the query's time limit passed"


@dataclass(frozen=True)
class QueryResult:
    """A query's answer: its columns and their types, and its rows as JSON (see `query.jsonrows`): chunks of
    JSON arrays joined by commas, each chunk joined to the next by a comma, no brackets around them all."""

    columns: list[str]
    types: list[DomoType]
    row_count: int
    rows_json: list[bytes]

    @property
    def rows(self) -> list[list[Any]]:
        """The rows as Python lists (for the few answers the server reads itself)."""
        return rows_of(self.rows_json)


@dataclass(frozen=True)
class _Plan:
    """What a rewritten query gives, known before it runs: its columns, their types and its JSON form."""

    columns: list[str]
    types: list[DomoType]
    json_sql: str | None


# A user's SQL rewritten for the caller's source (see `query.sql.rewrite`): the same inputs give the same text,
# and SQL that is refused raises again every time (exceptions are never cached).
_rewrite = functools.lru_cache(maxsize=1024)(rewrite)

_PLANS = 1024  # rewritten queries whose plan is kept (least recently used go first)
_COUNTS = 4096  # PDP-filtered row counts kept (see Door.row_count)


def domo_type(duck_type: Any) -> DomoType:
    name = str(duck_type).upper()
    if name in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return DomoType.LONG
    if name in ("DOUBLE", "FLOAT", "REAL"):
        return DomoType.DOUBLE
    if name.startswith("DECIMAL"):
        return DomoType.DECIMAL
    if name == "DATE":
        return DomoType.DATE
    if name.startswith("TIMESTAMP"):
        return DomoType.DATETIME
    return DomoType.STRING


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds" if not value.microsecond else "milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return value


class Door:
    def __init__(
        self,
        lake: Lake,
        *,
        timeout_s: float,
        max_rows: int,
        scratch_dir: Path,
        policies: RowPolicies | None = None,
        memory_limit: str = "1GB",
        threads: int | None = None,
        owner: str = "",
        slots: int | None = None,
        copy_budget_bytes: int = 0,
    ) -> None:
        """`slots` queries run at once (default: the core count); the others wait for a free one, within their
        time limit, so that queries never take all the cores that commits need. `copy_budget_bytes` is the memory
        of the in-memory copies of the DataSets queried most (`query.copies`; 0: none)."""
        self.lake = lake
        self.owner = owner
        self.slots = slots or os.cpu_count() or 2
        self._slots = threading.BoundedSemaphore(self.slots)
        self._stopping = Cancel()
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.scratch_dir = scratch_dir
        self.policies = policies
        scratch_dir.mkdir(parents=True, exist_ok=True)
        self._sandbox = lake.instance(threads, memory_limit)
        self._sandbox.execute(
            f"ATTACH {literal(lake.source)} AS {LAKE} (DATA_PATH {literal(lake.data_path)}, READ_ONLY)"
        )
        allowed = literal(lake.readable_root)
        self._sandbox.execute(f"SET allowed_directories = [{allowed}]")
        self._sandbox.execute("SET parquet_metadata_cache = true")  # the lake's files never change
        self._sandbox.execute("SET enable_external_access = false")
        self._sandbox.execute("SET lock_configuration = true")
        self._plans: Memo[Hashable, _Plan] = Memo(_PLANS)
        self._counts: Memo[Hashable, int] = Memo(_COUNTS)
        self._connections = ConnectionPool(self._sandbox.cursor)
        self.copies = Copies(self._sandbox, copy_budget_bytes)

    def stop(self) -> None:
        """Close every download still running (their DuckDB work stops)."""
        self._stopping.cancel("the server is stopping")

    def close(self) -> None:
        self.stop()
        self.copies.close()
        self._connections.close()
        self._sandbox.close()

    def recover(self, is_gone: Callable[[str | None], bool]) -> None:
        """Remove the download pipes that gone server processes (or older versions) left behind."""
        remove_gone(self.scratch_dir, PIPE_KIND, is_gone)
        remove_strays(self.scratch_dir, (PIPE_KIND,))

    # -- the door ---------------------------------------------------------------------------------------------
    def unload_csv(self, select_sql: str, scratch_dir: Path, *, owner: str, stop_with: Cancel) -> FifoReader:
        """The rows of a SELECT built on `source_sql` (an export's), as CSV chunks (see `unload.csv_chunks`)."""
        return csv_chunks(self.lake, select_sql, scratch_dir, owner=owner, stop_with=stop_with)

    def parquet_files(self, scratch_dir: Path, owner: str) -> ParquetFiles:
        """A private folder for the Parquet files of a SELECT built on `source_sql` (an export's)."""
        return ParquetFiles(self.lake, scratch_dir, owner)

    def source_sql(
        self,
        dataset: DataSet,
        principal: Principal,
        version: int | None = None,
        landed: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> str:
        """SELECT of the rows of `dataset` that `principal` may read, in schema order; with `landed` (naive UTC
        start and end), only the rows that commits of that span wrote (S3 Unload Writeback's day without a date
        column).

        Raises:
            Forbidden: the principal may not read the DataSet.
        """
        permissions.require_read(principal, dataset)
        span = None if landed is None else self.lake.landed_between(*landed)
        # Through DuckLake: a download or an export may run long after its SQL was made, past a file's removal.
        return self._source(dataset, principal, version, also=span)[0]

    def check_select(self, select_sql: str, where: str) -> None:
        """Bind a SELECT made on `source_sql` (an export's), which runs nothing: one DuckDB cannot bind (a value
        compared with a column of another type, an ORDER BY of a column not grouped) is refused before any job
        starts.

        Raises:
            InvalidField: `where`, with DuckDB's reason (no lake names in it).
        """
        try:
            with self.lake.cursor() as cur:
                cur.sql(select_sql).types  # noqa: B018 -- binding is the check
        except (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException) as exc:
            raise InvalidField(where, _duck_message(exc, root=self.lake.readable_root)) from None

    def _row_filter(self, dataset: DataSet, principal: Principal) -> str | None:
        row_filter = self.policies.row_filter(dataset, principal) if self.policies else None
        if row_filter is None and dataset.pdp_enabled and not permissions.bypasses_pdp(principal, dataset):
            row_filter = "FALSE"  # PDP is on but no policies are plugged in: fail closed
        return row_filter

    def _source(
        self,
        dataset: DataSet,
        principal: Principal,
        version: int | None,
        preview: str | None = None,
        also: str | None = None,
        table_sql: str | None = None,
    ) -> tuple[str, bool, bool]:
        """The SELECT (of a DataSet the caller has checked the principal may read), whether a row filter applies
        and whether it reads Parquet files (or their copy) straight: from `table_sql` (see `_reading`), or from
        the DuckLake table when None. `also` is one more condition of the door's own (which rows landed when),
        not the caller's."""
        if version is None:
            cols = ", ".join(ident(c.name) for c in dataset.columns) or "NULL AS _empty"
        else:  # the rows of then, in today's schema (the one PDP's policies and the caller's SQL name)
            cols = ", ".join(self.lake.columns_at(dataset.table, version, dataset.columns)) or "NULL AS _empty"
        sql = f"SELECT {cols} FROM {table_sql or self.lake.qualified(dataset.table, version)}"
        row_filter = self._row_filter(dataset, principal) if preview is None else preview
        conditions = [f"({c})" for c in (row_filter, also) if c is not None]
        if conditions:
            sql += f" WHERE {' AND '.join(conditions)}"
        return sql, row_filter is not None, table_sql is not None

    def _table_sql(self, dataset: DataSet, version: int | None, files: bool, cancel: Cancel | None) -> str | None:
        """The Parquet files of the data version the catalog names for the DataSet (`Lake.files_at`: the same
        rows, without DuckLake's metadata reads at every query), or None to read the DuckLake table (at
        `version` for time travel, and whenever the files cannot give the same rows)."""
        if files and version is None and dataset.data_version is not None:
            return self.lake.files_at(dataset.table, dataset.data_version, dataset.columns, cancel)
        return None

    def filters_rows(self, dataset: DataSet, principal: Principal) -> bool:
        """Whether row policies leave the principal fewer than all of the DataSet's rows (maybe)."""
        return self._row_filter(dataset, principal) not in (None, "TRUE")

    def row_count(self, dataset: DataSet, principal: Principal) -> int:
        """How many rows of the DataSet the principal may read: the cached count when no row policy filters the
        principal, else a count of the rows the policies leave them (what a PDP-filtered user sees as the row
        count, see docs/choices.md).

        A filtered count is counted once per data version, schema and row filter, and then remembered: every
        page of a PDP-filtered user shows it, and counting is a scan of the whole DataSet. The catalog's record
        of the DataSet names its data version (every load moves it), so a load, a schema change or a change of
        the user's policies is counted afresh."""
        permissions.require_read(principal, dataset)
        row_filter = self._row_filter(dataset, principal)
        if row_filter in (None, "TRUE"):
            return dataset.row_count
        schema = tuple((c.name, c.type) for c in dataset.columns)
        key: Hashable = (
            dataset.id,
            dataset.data_version,
            dataset.row_count,
            dataset.data_updated_at,
            schema,
            row_filter,
        )
        return self._counts.get(
            key, lambda: int(self.query(dataset, principal, "SELECT COUNT(*) FROM table").rows[0][0])
        )

    # -- user SQL ---------------------------------------------------------------------------------------------
    def query(
        self,
        dataset: DataSet,
        principal: Principal,
        user_sql: str,
        version: int | None = None,
        cancel: Cancel | None = None,
        preview: str | None = None,
    ) -> QueryResult:
        """Run one user SELECT over the DataSet, in the sandbox. `preview` is the row filter of the policies a
        policy manager previews, in place of their own (see `Queries.run`). The time limit counts from `cancel`'s
        deadline when it has one (the request's arrival plus the limit), so time spent waiting for the server counts.

        Raises:
            InvalidSql: refused or failing SQL. QueryTimeout: past the time limit. BadRequest: past the row cap.
            Busy: the time went on waiting for the server, or the lake's metadata was locked.
            Cancelled: `cancel` was cancelled (the client hung up). ShuttingDown: the server is stopping.
        """
        cancel = cancel or Cancel(deadline=time.monotonic() + self.timeout_s)
        with self._slot(cancel):
            try:
                try:
                    return self._run_on(dataset, principal, user_sql, version, preview, cancel, files=True)
                except _FilesGone:  # a remembered file went (its DataSet was removed, say): ask DuckLake
                    self.lake.forget_files(dataset.table)
                    return self._run_on(dataset, principal, user_sql, version, preview, cancel, files=False)
            except InvalidSql as exc:
                if version is None and "Binder Error" in (exc.detail or "") and self._schema_moved(dataset):
                    raise Busy("the DataSet's schema changed while the query was planned; send it again", 1) from None
                said = missing_column(exc.detail, user_sql, [c.name for c in dataset.columns])
                if said is None:
                    raise
                raise InvalidSql(said) from None

    def _schema_moved(self, dataset: DataSet) -> bool:
        """Whether the lake's columns of the DataSet's table are no longer those the catalog's record lists: a
        schema change between its two steps (the lake first, then the catalog), which a query that names a
        column of either can fail on without being wrong."""
        try:
            now = self.lake.columns_now(dataset.table)
        except duckdb.Error:
            return False
        return {c.name.lower() for c in now} != {c.name.lower() for c in dataset.columns}

    def _run_on(
        self,
        dataset: DataSet,
        principal: Principal,
        user_sql: str,
        version: int | None,
        preview: str | None,
        cancel: Cancel,
        *,
        files: bool,
    ) -> QueryResult:
        permissions.require_read(principal, dataset)
        with self._reading(dataset, version, files, cancel) as table_sql:
            source, filtered, from_files = self._source(dataset, principal, version, preview, table_sql=table_sql)
            sql = _rewrite(user_sql, dataset.id, source)
            # The plan of the same text is the same while the DataSet's schema is (the source names the version).
            plan_key = (sql, tuple((c.name, c.type) for c in dataset.columns))
            return self._run(sql, plan_key, filtered, cancel, files=from_files)

    @contextmanager
    def _reading(self, dataset: DataSet, version: int | None, files: bool, cancel: Cancel) -> Iterator[str | None]:
        """The FROM item a query reads the DataSet from while the block runs: its in-memory copy (kept until
        then, see `query.copies`), its Parquet files, or None to read the DuckLake table.

        A DataSet that the catalog says holds no rows is read as no rows of its schema's types, without
        DuckLake: each read through DuckLake at a new schema version makes the sandbox keep one more copy of
        the whole catalog (see RENEW_AFTER_COLUMN_VERSIONS in storage/lake.py), and DataSets are looked at
        while still empty (one made, then shown)."""
        if version is None and dataset.row_count == 0:
            yield _no_rows(dataset)
            return
        files_sql = self._table_sql(dataset, version, files, cancel)
        if files_sql is None:
            yield None
            return
        key = (dataset.table, dataset.data_version, tuple((c.name, c.type) for c in dataset.columns))
        values = dataset.row_count * max(1, len(dataset.columns))
        loaded = dataset.data_updated_at or dataset.created_at  # naive UTC, as the catalog keeps times
        age_s = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - loaded).total_seconds()
        with self.copies.reading(key, files_sql, values, age_s) as copy_sql:
            yield copy_sql or files_sql

    @contextmanager
    def _slot(self, cancel: Cancel) -> Iterator[None]:
        """One of the query slots, waited for within the query's time limit.

        Raises:
            Busy: no slot came free in time. Cancelled: the client hung up while it waited.
        """
        while not self._slots.acquire(timeout=0.05):
            cancel.raise_if_cancelled()
            remaining = cancel.remaining_s()
            if remaining is not None and remaining <= 0:
                raise Busy(
                    f"the server's {self.slots} query slots stayed busy for the query's whole {self.timeout_s:g} s"
                    " limit",
                    2,
                )
        try:
            yield
        finally:
            self._slots.release()

    def _plan(self, cur: duckdb.DuckDBPyConnection, sql: str, key: Hashable) -> _Plan:
        """The plan of `sql`: remembered, or bound now (DuckDB binds a relation without running it)."""

        def bind() -> _Plan:
            relation = cur.sql(sql)
            duck_types = [str(t) for t in relation.types]
            return _Plan(
                columns=list(relation.columns),
                types=[domo_type(t) for t in duck_types],
                json_sql=json_sql(sql, duck_types, self.max_rows + 1),
            )

        return self._plans.get(key, bind)

    def _run(self, sql: str, plan_key: Hashable, filtered: bool, cancel: Cancel, *, files: bool = False) -> QueryResult:
        """Raises _FilesGone when `files` (the source reads Parquet files straight) and a file could not be read."""
        remaining = cancel.remaining_s()
        limit_s = self.timeout_s if remaining is None else min(self.timeout_s, remaining)
        waited_s = self.timeout_s - limit_s
        if limit_s <= 0:
            raise Busy(f"the server was too busy to start the query within its {self.timeout_s:g} s limit", 2)
        timed = Cancel(parent=cancel)
        alarm = ALARMS.set(limit_s, lambda: timed.cancel(_TIME_UP))
        try:
            with self._connections.connection() as held, self.lake.running(held.interrupter(), timed):
                # Over a data version's files, the same text is the same statement: run it prepared.
                execute = held.execute if files else held.con.execute
                try:
                    plan = self._plan(held.con, sql, plan_key)
                    if plan.json_sql is not None:
                        found = execute(plan.json_sql).fetchnumpy()["j"]
                        count = len(found)
                        chunks = chunks_of(found.tolist()) if count <= self.max_rows else []
                        del found
                    else:
                        cur = execute(sql)
                        rows = cur.fetchmany(self.max_rows + 1)
                        count = len(rows)
                        chunks = (
                            chunks_of_rows([[_json_value(v) for v in row] for row in rows])
                            if count <= self.max_rows
                            else []
                        )
                        del rows
                except duckdb.Error:
                    self._plans.discard(plan_key)  # the next try binds the SQL again
                    raise
                if count > self.max_rows:  # raised here, the connection (and any rows left unread) is let go
                    raise BadRequest(
                        f"the query returns more than {self.max_rows} rows; add a LIMIT or a WHERE to narrow it"
                    )
        except Cancelled as exc:
            if exc.reason != _TIME_UP:
                raise
            if waited_s >= self.timeout_s / 2:
                raise Busy(
                    f"the query waited {waited_s:.0f} s for the server and then ran out of its "
                    f"{self.timeout_s:g} s limit",
                    2,
                ) from None
            raise QueryTimeout(f"the query ran longer than the {self.timeout_s:g} s limit and was stopped") from None
        except duckdb.Error as exc:
            if files and isinstance(exc, duckdb.IOException):
                raise _FilesGone() from None
            if lake_busy(exc):
                raise Busy("the lake's metadata was locked by a change in progress", 1) from None
            if "max expression depth" in str(exc).lower():
                raise InvalidSql(NESTED_TOO_DEEPLY) from None
            said = _duck_message(exc, redact_values=filtered, root=self.lake.readable_root)
            raise InvalidSql(said, detail=str(exc)) from None
        finally:
            alarm.cancel()
            timed.close()
        return QueryResult(columns=plan.columns, types=plan.types, row_count=count, rows_json=chunks)

    # -- CSV export -------------------------------------------------------------------------------------------
    def csv_stream(self, select_sql: str, *, header: bool) -> FifoReader:
        """The rows of a trusted SELECT as Domo CSV, produced by DuckDB into a FIFO as they are read. Close it
        when the request ends, however it ends: that stops DuckDB."""

        def write(dest: str, stop: Cancel) -> None:
            self.lake.copy_csv(select_sql, dest, header=header, cancel=stop)

        return FifoReader(write, self.scratch_dir, name="csv-export", owner=self.owner, stop_with=self._stopping)


def _no_rows(dataset: DataSet) -> str:
    """A FROM item of no rows with the DataSet's columns, typed as its table stores them."""
    return f"(SELECT {null_columns(dataset.columns) or 'NULL AS _empty'} WHERE false)"


def _duck_message(exc: Exception, *, redact_values: bool = False, root: str | None = None) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if root:
        text = text.replace(root, "")
    text = text.replace(f"{LAKE}.", "")
    text = re.sub(r"read_parquet\(\[[^\]]*\][^)]*\)", "table", text)  # never name the lake's files
    text = re.sub(r"\"?[^\s\"']*\.parquet\"?", "(a file of the table)", text)
    text = re.sub(r"\bds_[0-9a-f]{32}\b", "table", text)  # never name lake tables
    text = re.sub(r"\bdomolite_copy_\d+(?:\.main\.t\b)?", "table", text)  # nor a copy's (query.copies)
    if redact_values:
        # The engine may evaluate a user's expression on a row before the row filter drops it; a value quoted
        # in an error (a failed cast, say) could come from a row the caller may not see.
        text = re.sub(r"'(?:[^']|'')*'", "'…'", text)
        if not isinstance(exc, duckdb.BinderException | duckdb.ParserException | duckdb.CatalogException):
            # a value met while running (a cast, strptime, JSON) may be quoted "like this" as well; names in
            # binding and parsing errors are the SQL's own, and stay
            text = re.sub(r'"(?:[^"]|"")*"', '"…"', text)
    return text[:500]
