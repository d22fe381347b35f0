"""DuckLake: one table per DataSet, one snapshot per commit (a Domo data version).

This is the only module that attaches the lake for writing. Loads run on a trusted connection (files allowed,
internal SQL only); user SQL never reaches it.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from domolite.errors import Busy, DomoError, InvalidField, ShuttingDown
from domolite.models.records import Column, DomoType
from domolite.server.cancel import Cancel, Cancelled
from domolite.server.memo import Memo
from domolite.storage import duck
from domolite.storage.s3 import LakeBucket
from domolite.storage.sqltext import SQL_TYPES, ident, is_wide_decimal, literal, text_sql
from domolite.storage.tables import INTERNAL_PREFIX, LoadFailed, LoadResult, Snapshot

LAKE = "lake"

# A hidden column on every DataSet table: the partition tag (Domo's dataTag) of each row, NULL when untagged.
# Reads select the schema's columns by name, so it never shows.
PARTITION_COLUMN = INTERNAL_PREFIX + "_partition"


T = TypeVar("T")

log = logging.getLogger("domolite.lake")

# Waits before trying a load or an attach again when another process wrote the lake at the same time.
_BUSY_WAITS_S = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 2.0, 2.0)


def _load_collided(exc: duckdb.Error) -> bool:
    """A load that failed only because another process wrote the lake at the same time, so that nothing was
    committed and the whole load can run again: the SQLite metadata was locked, or DuckLake refused the commit
    as a conflict (two REPLACEs of one DataSet from two processes delete the same rows)."""
    text = str(exc)
    return "database is locked" in text or (
        isinstance(exc, duckdb.TransactionException) and "Transaction conflict" in text
    )


def _attach_collided(exc: duckdb.Error) -> bool:
    """The first attach of a new lake creates DuckLake's tables; another process doing it at the same time
    makes ours fail (SQLite: locked; PostgreSQL: the tables or types already exist)."""
    text = str(exc)
    return "database is locked" in text or "already exists" in text


def lake_busy(exc: duckdb.Error) -> bool:
    """A statement that failed because the lake's metadata could not be had in time (a lock, a connection),
    not because of what it asked: worth sending again."""
    text = str(exc)
    return any(sign in text for sign in ("database is locked", "too many clients", "remaining connection slots"))


def _retrying(attempt: Callable[[], T], collided: Callable[[duckdb.Error], bool], undo: Callable[[], None]) -> T:
    """Run `attempt`; when it fails because another process wrote the lake at the same time, `undo` what is
    left of it and run it again (up to ten times, waiting 50 ms growing to 2 s, with jitter to spread out the
    processes that collided).

    Raises:
        Busy: it collided every time.
    """
    for wait_s in (*_BUSY_WAITS_S, None):
        try:
            return attempt()
        except duckdb.Error as exc:
            if not collided(exc):
                raise
            if wait_s is None:
                raise Busy("other server processes kept writing the lake; nothing was changed", 2) from exc
            undo()
            time.sleep(wait_s * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


# DuckLake (1.5.5) keeps, in each DuckDB instance, the whole catalog of every schema version the instance has read,
# and never lets one go: every DataSet made, removed or given a new schema adds one, so memory grows with the
# columns of all DataSets times the schema changes (a process that made 1,000 DataSets of 3 columns held
# ~1.9 GiB; DuckDB and DuckLake alone, 1,000 tables: 1.85 GiB; ~1 kB per column and version). So the writer's
# instance is replaced by a fresh one once the schema versions it has seen, times the lake's columns, pass
# this (~100 MB; for 1,000 such DataSets, every 20 schema changes). See Lake._renew_if_stale.
RENEW_AFTER_COLUMN_VERSIONS = 100_000
_FILE_LISTS = 1024  # tables' file lists kept per data version (see Lake.files_at)
_FILE_COLUMNS = 16384  # Parquet files whose columns are kept (files never change)
_FileListKey = tuple[str, int, tuple[tuple[str, DomoType], ...]]  # table, version, schema (names and types)


# A schedule time older than anything DuckLake schedules itself, and the cleanup cut-off just after it.
_LONG_AGO = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
_AFTER_LONG_AGO = "TIMESTAMPTZ '1970-01-02 00:00:00+00'"


def _metadata(lake: str) -> str:
    """The name DuckLake attaches a lake's metadata database under."""
    return ident(f"__ducklake_metadata_{lake}")


def _timestamp(moment: datetime.datetime) -> str:
    """A naive UTC datetime as a DuckDB TIMESTAMPTZ literal."""
    return f"TIMESTAMPTZ {literal(moment.strftime('%Y-%m-%d %H:%M:%S.%f') + '+00')}"


def lake_source(catalog_url: str, lake_dir: Path) -> tuple[str, list[str]]:
    """The DuckLake ATTACH target for a catalog URL, and the metadata extension it needs."""
    if catalog_url.startswith("postgresql"):
        return "ducklake:postgres:" + libpq_conninfo(catalog_url), ["postgres"]
    return f"ducklake:sqlite:{metadata_file(lake_dir)}", ["sqlite"]


def libpq_conninfo(catalog_url: str, *, with_password: bool = True) -> str:
    """A PostgreSQL catalog URL as a libpq connection string: its user, password, host, port and database, and
    its query parameters (`?host=/run/postgresql` for a socket folder, `sslmode`, ...), as libpq takes them."""
    from sqlalchemy.engine import make_url

    url = make_url(catalog_url)
    params: dict[str, str] = {}
    for key, given in url.query.items():
        params[key] = given if isinstance(given, str) else given[-1]
    parts: dict[str, str | int | None] = {
        "dbname": url.database,
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password if with_password else None,
    }
    params.update({key: str(value) for key, value in parts.items() if value})
    return " ".join(f"{k}={_conninfo_value(v)}" for k, v in params.items())


def metadata_file(lake_dir: Path) -> Path:
    """The lake's metadata when the catalog is SQLite: a SQLite file of its own next to the data."""
    return lake_dir / "metadata.sqlite"


def use_wal(path: Path) -> None:
    """Put a SQLite metadata file in WAL mode (making the file when it is new), before DuckDB attaches it.

    In SQLite's default rollback-journal mode a reader blocks a commit: DuckLake's COMMIT waits for every
    reader's shared lock, a reader's next metadata statement waits behind the COMMIT's pending lock, both give
    up with "database is locked", and the failed COMMIT leaves its connection holding the pending lock, so
    every later read and commit of every connection fails (see docs/choices.md, "Many people at once"). In WAL
    mode readers work on a snapshot and neither blocks nor is blocked by a commit. The mode is stored in the
    file, so a lake made before this switch is switched at the next start.
    """
    with closing(sqlite3.connect(path, timeout=30)) as con:
        row = con.execute("PRAGMA journal_mode=WAL").fetchone()
    mode = str(row[0]).lower() if row else ""
    if mode != "wal":
        raise RuntimeError(f"the lake's metadata file {path} cannot be put in WAL mode (it stays {mode!r})")


def _conninfo_value(value: str) -> str:
    """A libpq keyword value: quoted when empty or holding spaces or quotes, with \\ and ' escaped."""
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Lake:
    def __init__(
        self,
        *,
        catalog_url: str,
        lake_dir: Path,
        extension_dir: Path,
        threads: int | None,
        memory_limit: str,
        unload_threads: int | None = None,
        write_wait_s: float = 60.0,
        alone: Callable[[], bool] | None = None,
        bucket: LakeBucket | None = None,
    ) -> None:
        """`alone` says whether this is the only process using the lake (then a failed load's files, which no
        one else can be writing alongside, are removed at once). With `bucket`, the Parquet files live in S3
        under `<prefix>/lake/` (DuckDB's httpfs, with a secret made on every instance that reads the lake);
        `lake_dir` then holds only the SQLite metadata file, when the catalog is SQLite."""
        self._alone = alone
        lake_dir.mkdir(parents=True, exist_ok=True)
        self.lake_dir = lake_dir
        self.extension_dir = extension_dir
        self.bucket = bucket
        self.source, self.meta_extensions = lake_source(catalog_url, lake_dir)
        if self.meta_extensions == ["sqlite"]:
            use_wal(metadata_file(lake_dir))
        if bucket is None:
            (lake_dir / "data").mkdir(exist_ok=True)
            self.data_path = str(lake_dir / "data") + "/"
            # What user SQL's instance may read: the lake's folder.
            self.readable_root = str(lake_dir) + "/"
        else:
            self.data_path = self.readable_root = bucket.url_of("lake") + "/"
        self._threads = threads
        self._memory_limit = memory_limit
        self._con = self.instance(threads, memory_limit)
        self._attach(self._con)
        # The writer's instance and those it replaced that cursors still use (see _renew_if_stale, _retire).
        self._instances_lock = threading.Lock()
        self._cursors: dict[int, int] = {}  # id of an instance -> cursors of it open now
        self._retired: dict[int, duckdb.DuckDBPyConnection] = {}
        self._schema_version: int | None = None  # the lake's schema version when the writer's instance began
        self._write_lock = threading.RLock()
        self._write_depth = 0  # how deep the holder of the write turn is in nested writing() blocks
        self.write_wait_s = write_wait_s
        self._closing = Cancel()  # cancelled by close(): interrupts every statement still running
        self._unload_threads = unload_threads
        self._unload_con: duckdb.DuckDBPyConnection | None = None
        self._unload_version: int | None = None  # the lake's schema version when that instance began
        self._unload_lock = threading.Lock()
        self._file_lists: Memo[_FileListKey, str | None] = Memo(_FILE_LISTS)
        self._file_columns: Memo[str, dict[int, tuple[str, str]]] = Memo(_FILE_COLUMNS)

    def instance(self, threads: int | None, memory_limit: str) -> duckdb.DuckDBPyConnection:
        """A new DuckDB instance that can attach this lake: DuckLake and the metadata's extension loaded and,
        for a lake in S3, httpfs with the secret of the lake's bucket (its credentials resolved now, from the
        settings or the AWS chain)."""
        extensions = ["ducklake", *self.meta_extensions, *(["httpfs"] if self.bucket else [])]
        con = duck.connect(extensions, self.extension_dir, threads=threads, memory_limit=memory_limit)
        if self.bucket is not None:
            try:
                con.execute(self.bucket.with_credentials().duckdb_secret_sql("lake_bucket"))
            except BaseException:
                con.close()
                raise
        return con

    def _attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Attach the lake. The first attach of a new lake creates its metadata tables; when several processes
        start together on one, the others' attach fails while that happens (SQLite: locked; PostgreSQL: the
        tables or types already exist) and is tried again, finding the lake made.

        Data inlining is off: DuckLake would keep small commits in a metadata table as wide as the DataSet, and
        such a table fails past 2000 columns on SQLite, past 1600 on PostgreSQL, and on PostgreSQL for any row
        over 8 kB (600 long strings, 1000 decimals). Every commit is a Parquet file instead."""
        options = f"DATA_PATH {literal(self.data_path)}, DATA_INLINING_ROW_LIMIT 0"
        sql = f"ATTACH {literal(self.source)} AS {LAKE} ({options})"

        def detach() -> None:
            try:
                con.execute(f"DETACH {LAKE}")
            except duckdb.Error:
                pass

        _retrying(lambda: con.execute(sql), _attach_collided, detach)

    def stop(self) -> None:
        """Interrupt every statement still running, in every DuckDB instance that reads the lake through
        `cursor()`, and refuse new ones (ShuttingDown). A commit interrupted so is left for recovery."""
        self._closing.cancel("the server is stopping")

    def close(self) -> None:
        self.stop()
        with self._unload_lock, self._instances_lock:
            instances = [
                self._con,
                *([self._unload_con] if self._unload_con is not None else []),
                *self._retired.values(),
            ]
            self._unload_con = None
            self._retired.clear()
        for instance in instances:
            instance.close()

    @property
    def closing(self) -> bool:
        return self._closing.cancelled

    @contextmanager
    def cursor(
        self, cancel: Cancel | None = None, con: duckdb.DuckDBPyConnection | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the writer's instance (or of `con`), interrupted when `cancel` is cancelled or the lake
        closes.

        Raises:
            ShuttingDown: the lake is closing. Cancelled: `cancel` was cancelled (before or while it ran).
        """
        with self._cursor(lambda: con or self._con, cancel) as cur:
            yield cur

    @contextmanager
    def _cursor(
        self, pick: Callable[[], duckdb.DuckDBPyConnection], cancel: Cancel | None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the instance `pick` names (under the instances' lock), counted as using it until the
        block ends: an instance renewed meanwhile (see _retire) is closed after the last block using it."""
        if self._closing.cancelled:
            raise ShuttingDown("the server is stopping")
        with self._instances_lock:
            owner = pick()
            self._cursors[id(owner)] = self._cursors.get(id(owner), 0) + 1
        try:
            cur = owner.cursor()
            try:
                with self.running(_interrupter(cur), cancel):
                    yield cur
            finally:
                cur.close()
        finally:
            with self._instances_lock:
                left = self._cursors[id(owner)] - 1
                if left:
                    self._cursors[id(owner)] = left
                else:
                    del self._cursors[id(owner)]
                gone = self._retired.pop(id(owner)) if not left and id(owner) in self._retired else None
            if gone is not None:
                gone.close()

    @contextmanager
    def running(self, interrupt: Callable[[], None], cancel: Cancel | None = None) -> Iterator[None]:
        """DuckDB work on a connection of the caller's, stopped by `interrupt` when `cancel` is cancelled or the
        lake closes; its errors then become ShuttingDown or Cancelled.

        Raises:
            ShuttingDown: the lake is closing. Cancelled: `cancel` was cancelled (before or while it ran).
        """
        if self._closing.cancelled:
            raise ShuttingDown("the server is stopping")
        try:
            with self._closing.hooked(interrupt), (cancel or Cancel()).hooked(interrupt):
                try:
                    yield
                except duckdb.Error:
                    if self._closing.cancelled:
                        raise ShuttingDown("the server is stopping") from None
                    if cancel is not None and cancel.reason is not None:
                        raise Cancelled(cancel.reason) from None
                    raise
        except Cancelled:
            if self._closing.cancelled:
                raise ShuttingDown("the server is stopping") from None
            raise

    @contextmanager
    def writing(self) -> Iterator[None]:
        """This process's one turn at writing the lake (changes of one process go one at a time), waited for
        at most `write_wait_s`; the turn may be taken again inside it.

        Raises:
            Busy: other changes held the lake for all that time; nothing was changed.
        """
        if not self._write_lock.acquire(timeout=self.write_wait_s):
            raise Busy(f"the lake was busy with other changes for {self.write_wait_s:g} s; nothing was changed", 5)
        self._write_depth += 1
        try:
            yield
        finally:
            self._write_depth -= 1
            try:
                if self._write_depth == 0:
                    self._renew_if_stale()
            finally:
                self._write_lock.release()

    def _renew_if_stale(self) -> None:
        """At the end of a turn at writing: when the schema versions since the writer's instance began (this
        process's changes or other processes'), times the lake's columns, pass RENEW_AFTER_COLUMN_VERSIONS, a
        fresh instance takes its place. Cursors already open finish on the old one, which is closed after the
        last. Nothing is lost: the instance holds no state of its own beyond the lake it attaches (loads,
        schema changes and reads each run in a cursor's own transaction)."""
        self._schema_version, renew_at = self._schema_check(self._schema_version)
        if renew_at is None:
            return
        try:
            fresh = self._fresh(self._threads, read_only=False)
        except Exception:
            log.warning("the lake's writer instance could not be renewed; it is kept", exc_info=True)
            return
        with self._instances_lock:
            old, self._con = self._con, fresh
            self._schema_version = renew_at
        self._retire(old)
        log.info("the lake's writer instance was renewed at schema version %d", renew_at)

    def _fresh(self, threads: int | None, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A new instance with the lake attached (read-only: an export writer's)."""
        con = self.instance(threads, self._memory_limit)
        try:
            if read_only:
                con.execute(f"ATTACH {literal(self.source)} AS {LAKE} (DATA_PATH {literal(self.data_path)}, READ_ONLY)")
            else:
                self._attach(con)
        except BaseException:
            con.close()
            raise
        return con

    def _schema_check(self, began: int | None) -> tuple[int | None, int | None]:
        """For an instance that began at schema version `began` (None: not known yet): the version to remember
        as its beginning, and the lake's schema version now when the instance is due for renewal (see
        RENEW_AFTER_COLUMN_VERSIONS), else None. Metadata that cannot be read now changes nothing."""
        if self._closing.cancelled:
            return began, None
        meta = _metadata(LAKE)
        try:
            with self.cursor() as cur:
                row = cur.execute(f"SELECT max(schema_version) FROM {meta}.ducklake_snapshot").fetchone()
                version = int(row[0]) if row and row[0] is not None else 0
                if began is None or version < began:
                    return version, None
                if version == began:
                    return began, None
                row = cur.execute(f"SELECT count(*) FROM {meta}.ducklake_column WHERE end_snapshot IS NULL").fetchone()
                columns = int(row[0]) if row else 0
        except (duckdb.Error, ShuttingDown):
            return began, None
        return began, version if (version - began) * max(1, columns) >= RENEW_AFTER_COLUMN_VERSIONS else None

    def _retire(self, old: duckdb.DuckDBPyConnection) -> None:
        """Close an instance that was replaced: now, or after the last block still using it."""
        with self._instances_lock:
            idle = id(old) not in self._cursors
            if not idle:
                self._retired[id(old)] = old
        if idle:
            old.close()

    # -- tables -----------------------------------------------------------------------------------------------
    def create_table(self, table: str, columns: Sequence[Column]) -> None:
        cols = ", ".join(
            [*(f"{ident(c.name)} {SQL_TYPES[c.type]}" for c in columns), f"{ident(PARTITION_COLUMN)} VARCHAR"]
        )
        with self.writing(), self.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {LAKE}.{ident(table)} ({cols})")

    def drop_table(self, table: str) -> None:
        with self.writing(), self.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {LAKE}.{ident(table)}")

    def remove_table(self, table: str) -> int:
        """Drop a table and delete its files (every version of it) from the lake; returns how many files.

        DuckLake's own expiry frees a file only when no snapshot in its lifetime remains, and every other
        table's data versions are snapshots in that lifetime: expiring them would end their time travel. So
        this does what expiry does, for this table's files alone (they leave its data file lists and join
        DuckLake's deletion schedule), then lets DuckLake's cleanup delete them. The table is gone, so no read
        of any other table needs them.
        """
        meta = _metadata(LAKE)
        with self.writing(), self.cursor() as cur:
            ids = [
                int(r[0])
                for r in cur.execute(
                    f"SELECT DISTINCT table_id FROM {meta}.ducklake_table WHERE table_name = {literal(table)}"
                ).fetchall()
            ]
            cur.execute(f"DROP TABLE IF EXISTS {LAKE}.{ident(table)}")
            if not ids:
                return 0
            id_list = ", ".join(str(i) for i in ids)
            path = (
                "CASE WHEN NOT CAST(f.path_is_relative AS BOOLEAN) THEN f.path "
                "WHEN NOT CAST(tb.path_is_relative AS BOOLEAN) THEN tb.path || f.path "
                "WHEN NOT CAST(sc.path_is_relative AS BOOLEAN) THEN sc.path || tb.path || f.path "
                f"ELSE {literal(self.data_path)} || sc.path || tb.path || f.path END"
            )
            located = (
                f"JOIN (SELECT table_id, arg_max(schema_id, begin_snapshot) AS schema_id, "
                f"arg_max(path, begin_snapshot) AS path, arg_max(path_is_relative, begin_snapshot) AS path_is_relative "
                f"FROM {meta}.ducklake_table WHERE table_id IN ({id_list}) GROUP BY table_id) tb "
                f"ON tb.table_id = f.table_id "
                f"JOIN (SELECT schema_id, arg_max(path, begin_snapshot) AS path, "
                f"arg_max(path_is_relative, begin_snapshot) AS path_is_relative "
                f"FROM {meta}.ducklake_schema GROUP BY schema_id) sc ON sc.schema_id = tb.schema_id"
            )
            folders = cur.execute(
                f"SELECT DISTINCT sc.path || tb.path FROM (SELECT DISTINCT table_id FROM {meta}.ducklake_table "
                f"WHERE table_id IN ({id_list})) f {located}"
            ).fetchall()
            try:
                cur.execute("BEGIN TRANSACTION")
                n = 0
                for files, file_id in (
                    ("ducklake_data_file", "data_file_id"),
                    ("ducklake_delete_file", "delete_file_id"),
                ):
                    row = cur.execute(
                        f"INSERT INTO {meta}.ducklake_files_scheduled_for_deletion "
                        f"SELECT f.{file_id}, {path}, false, {_LONG_AGO} FROM {meta}.{files} f {located} "
                        f"WHERE f.table_id IN ({id_list})"
                    ).fetchone()
                    n += int(row[0]) if row else 0
                # Files DuckLake itself scheduled for this table (a compaction's merged files) go now too.
                for (folder,) in folders:
                    cur.execute(
                        f"UPDATE {meta}.ducklake_files_scheduled_for_deletion SET schedule_start = {_LONG_AGO} "
                        f"WHERE starts_with(path, {literal(folder)}) "
                        f"OR starts_with(path, {literal(self.data_path + folder)})"
                    )
                for listing in (
                    "ducklake_file_column_stats",
                    "ducklake_file_variant_stats",
                    "ducklake_file_partition_value",
                    "ducklake_delete_file",
                    "ducklake_data_file",
                ):
                    cur.execute(f"DELETE FROM {meta}.{listing} WHERE table_id IN ({id_list})")
                cur.execute("COMMIT")
            except BaseException:
                _rollback(cur)
                raise
            # Only what was scheduled above is that old: files other work scheduled keep their grace time.
            cur.execute(
                f"SELECT count(*) FROM ducklake_cleanup_old_files({literal(LAKE)}, older_than => {_AFTER_LONG_AGO})"
            )
        return n

    def columns_now(self, table: str) -> list[Column]:
        """The table's columns as the lake has them now, in its order (domolite's hidden ones left out)."""
        with self.cursor() as cur:
            return _user_columns(cur, self.qualified(table))

    def tables_made_before(self, before: datetime.datetime | None) -> list[str]:
        """The names of the lake's tables (as they are now) made before `before` (naive UTC), or all with None."""
        meta = _metadata(LAKE)
        # the metadata keeps the time as text in SQLite, as a timestamp in PostgreSQL
        made = "" if before is None else f" AND CAST(s.snapshot_time AS TIMESTAMPTZ) < {_timestamp(before)}"
        with self.cursor() as cur:
            rows = cur.execute(
                f"SELECT t.table_name FROM {meta}.ducklake_table t "
                f"JOIN {meta}.ducklake_snapshot s ON s.snapshot_id = t.begin_snapshot "
                f"WHERE t.end_snapshot IS NULL{made} ORDER BY t.table_name"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def remove_orphans(self, older_than: datetime.datetime | None) -> int:
        """Delete Parquet files in the lake's folder that no DuckLake listing knows (a load that failed or
        was interrupted wrote them): those last written before `older_than`, or all with None."""
        when = "cleanup_all => true" if older_than is None else f"older_than => {_timestamp(older_than)}"
        with self.writing(), self.cursor() as cur:
            row = cur.execute(
                f"SELECT count(*) FROM ducklake_delete_orphaned_files({literal(LAKE)}, {when})"
            ).fetchone()
        return int(row[0]) if row else 0

    def columns_at(self, table: str, version: int, columns: Sequence[Column]) -> list[str]:
        """SELECT expressions that read today's `columns` from the table as it was at snapshot `version`, each
        named as today: a column renamed since is read under its name then (DuckLake keeps its id through a
        rename), one retyped since is cast to today's type (NULL where a value does not convert), and one added
        since is NULL."""
        meta = _metadata(LAKE)
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT c.column_id, c.column_name, c.end_snapshot IS NULL, "
                f"c.begin_snapshot <= {int(version)} AND (c.end_snapshot IS NULL OR c.end_snapshot > {int(version)}) "
                f"FROM {meta}.ducklake_column c JOIN {meta}.ducklake_table tb ON tb.table_id = c.table_id "
                f"WHERE tb.table_name = {literal(table)} AND tb.end_snapshot IS NULL AND c.parent_column IS NULL"
            ).fetchall()
        id_now = {str(name): int(cid) for cid, name, now, _ in rows if now}
        name_then = {int(cid): str(name) for cid, name, _, then in rows if then}
        names_then = set(name_then.values())
        out = []
        for col in columns:
            name, sql_type = ident(col.name), SQL_TYPES[col.type]
            then = name_then.get(id_now.get(col.name, -1))
            if then is not None:
                out.append(name if then == col.name else f"{ident(then)} AS {name}")
            elif col.name in names_then:
                out.append(f"TRY_CAST({name} AS {sql_type}) AS {name}")
            else:
                out.append(f"CAST(NULL AS {sql_type}) AS {name}")
        return out

    def files_at(self, table: str, version: int, columns: Sequence[Column], cancel: Cancel | None = None) -> str | None:
        """A FROM item that reads the table's rows at snapshot `version` straight from its Parquet files, with
        `columns` as they are named and typed today; None when that cannot give the same rows as DuckLake's
        own read of the table: a file with deleted rows, a file that also holds rows of later snapshots (a
        compaction merges the files of several commits into one), a column renamed, retyped or added since a
        file was written (matched by DuckLake's column ids, which its files carry as Parquet field ids), no
        file at all. `cancel` (the query's) stops the listing.

        DuckLake reads its metadata (the snapshot, the table, its file list) at every transaction: about half
        the time of a small query. A snapshot's files never change, so the list is read once per table,
        version and schema and then remembered (a bounded number of them); the server names the version from
        its catalog's record of the DataSet, which every load moves."""
        key: _FileListKey = (table, int(version), tuple((c.name, c.type) for c in columns))
        try:
            return self._file_lists.get(key, lambda: self._files_source(table, int(version), columns, cancel))
        except duckdb.Error:  # the metadata or a file could not be read now: DuckLake's own read decides
            log.warning("listing the files of %s at %s failed; reading through DuckLake", table, version, exc_info=True)
            return None

    def forget_files(self, table: str) -> None:
        """Forget the table's remembered file lists (a file of one could not be read)."""
        self._file_lists.forget(lambda key: key[0] == table)

    def _files_source(self, table: str, version: int, columns: Sequence[Column], cancel: Cancel | None) -> str | None:
        meta = _metadata(LAKE)
        with self.cursor(cancel) as cur:
            listed = cur.execute(
                f"SELECT data_file, delete_file FROM ducklake_list_files({literal(LAKE)}, {literal(table)}, "
                f"snapshot_version => {int(version)})"
            ).fetchall()
            if not listed or any(delete is not None for _, delete in listed):
                return None
            mixed = cur.execute(
                f"SELECT count(*) FROM {meta}.ducklake_data_file f "
                f"JOIN {meta}.ducklake_table tb ON tb.table_id = f.table_id AND tb.end_snapshot IS NULL "
                f"WHERE tb.table_name = {literal(table)} AND f.begin_snapshot <= {int(version)} "
                f"AND (f.end_snapshot IS NULL OR f.end_snapshot > {int(version)}) "
                f"AND (f.partial_max > {int(version)} OR f.mapping_id IS NOT NULL)"
            ).fetchone()
            if mixed is None or int(mixed[0]):  # rows of later snapshots (or renamed fields): DuckLake sorts them out
                return None
            ids = {
                str(name): int(cid)
                for cid, name in cur.execute(
                    f"SELECT c.column_id, c.column_name FROM {meta}.ducklake_column c "
                    f"JOIN {meta}.ducklake_table tb ON tb.table_id = c.table_id WHERE tb.table_name = {literal(table)} "
                    "AND tb.end_snapshot IS NULL AND c.end_snapshot IS NULL AND c.parent_column IS NULL"
                ).fetchall()
            }
            files = [str(data) for data, _ in listed]
            layouts = [self._columns_of(cur, f) for f in files]
        for layout in layouts:
            for col in columns:
                if layout.get(ids.get(col.name, -1)) != (col.name, SQL_TYPES[col.type]):
                    return None
        same = all(layout == layouts[0] for layout in layouts)
        return f"read_parquet([{', '.join(literal(f) for f in files)}]{'' if same else ', union_by_name = true'})"

    def _columns_of(self, cur: duckdb.DuckDBPyConnection, path: str) -> dict[int, tuple[str, str]]:
        """A Parquet file's top-level columns: field id -> (name, DuckDB type)."""

        def read() -> dict[int, tuple[str, str]]:
            ids = dict(
                cur.execute(
                    f"SELECT name, field_id FROM parquet_schema({literal(path)}) WHERE field_id IS NOT NULL"
                ).fetchall()
            )
            described = cur.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(path)})").fetchall()
            return {int(ids[name]): (str(name), str(kind)) for name, kind, *_ in described if name in ids}

        return self._file_columns.get(path, read)

    def qualified(self, table: str, version: int | None = None) -> str:
        at = f" AT (VERSION => {int(version)})" if version is not None else ""
        return f"{LAKE}.{ident(table)}{at}"

    def row_count(self, table: str, version: int | None = None) -> int:
        """Rows of the table now, or at snapshot `version`."""
        with self.cursor() as cur:
            return self._count(cur, self.qualified(table, version))

    def evolve(
        self,
        table: str,
        old: Sequence[Column],
        new: Sequence[Column],
        renamed_from: Mapping[str, str] | None = None,
    ) -> None:
        """Change the table to the `new` schema in one snapshot, keeping rows; columns are matched by name,
        or through `renamed_from` (new name -> old name) for a renamed column.

        A table that has the `new` schema already is left as it is: the change reached the lake and not the
        catalog (its process stopped in between), and is being made again.

        Raises:
            InvalidField: a kept column's values cannot take its new type (names the column and a value).
        """
        target = self.qualified(table)
        renames = {k.lower(): v.lower() for k, v in (renamed_from or {}).items()}
        old_by_name = {c.name.lower(): c for c in old}
        new_by_name = {renames.get(c.name.lower(), c.name.lower()): c for c in new}
        with self.writing(), self.cursor() as cur:
            wanted = {(c.name.lower(), c.type) for c in new}
            if {(c.name.lower(), c.type) for c in _user_columns(cur, target)} == wanted:
                return  # made already (see above)
            for key, col in new_by_name.items():
                before = old_by_name.get(key)
                if before is None or before.type is col.type:
                    continue
                bad = cur.execute(
                    f"SELECT CAST({ident(before.name)} AS VARCHAR) FROM {target} "
                    f"WHERE {ident(before.name)} IS NOT NULL AND "
                    f"TRY_CAST({ident(before.name)} AS {SQL_TYPES[col.type]}) IS NULL LIMIT 1"
                ).fetchone()
                if bad is not None:
                    raise InvalidField(
                        f"schema.columns[{col.name}]",
                        f"column {col.name!r} cannot become {col.type.value}: the value {bad[0]!r} does not convert",
                    )
            try:
                cur.execute("BEGIN TRANSACTION")
                for key, col in old_by_name.items():
                    if key not in new_by_name:
                        cur.execute(f"ALTER TABLE {target} DROP COLUMN {ident(col.name)}")
                for key, col in new_by_name.items():
                    before = old_by_name.get(key)
                    if before is not None and before.type is not col.type and before.name != col.name:
                        # retype and rename: rename first, then retype under the new name
                        cur.execute(f"ALTER TABLE {target} RENAME COLUMN {ident(before.name)} TO {ident(col.name)}")
                        before = Column(name=col.name, type=before.type)
                    if before is None:
                        cur.execute(f"ALTER TABLE {target} ADD COLUMN {ident(col.name)} {SQL_TYPES[col.type]}")
                    elif before.type is not col.type:
                        tmp = ident(f"{INTERNAL_PREFIX}_retype_{col.name}")
                        cur.execute(f"ALTER TABLE {target} ADD COLUMN {tmp} {SQL_TYPES[col.type]}")
                        cur.execute(f"UPDATE {target} SET {tmp} = CAST({ident(before.name)} AS {SQL_TYPES[col.type]})")
                        cur.execute(f"ALTER TABLE {target} DROP COLUMN {ident(before.name)}")
                        cur.execute(f"ALTER TABLE {target} RENAME COLUMN {tmp} TO {ident(col.name)}")
                    elif before.name != col.name:
                        cur.execute(f"ALTER TABLE {target} RENAME COLUMN {ident(before.name)} TO {ident(col.name)}")
                cur.execute("COMMIT")
            except BaseException:
                _rollback(cur)
                raise
            finally:
                self.forget_files(table)  # the lists of this schema's names and types may now be wrong

    # -- loads ------------------------------------------------------------------------------------------------
    def load(
        self,
        table: str,
        source_sql: str,
        *,
        replace: bool,
        key_columns: Sequence[str] = (),
        delete_where: str | None = None,
        partition: str | None = None,
        commit_info: dict[str, Any],
    ) -> LoadResult:
        """Apply one load as one DuckLake snapshot: old rows out (REPLACE, UPSERT keys, a partition), new rows in.

        With `partition`, the partition's old rows go and the new rows carry its tag. The snapshot's commit
        info is `commit_info` plus the table, the rows loaded and the row count after.

        Raises:
            LoadFailed: the source SQL failed on the data; nothing was committed.
        """
        target = self.qualified(table)
        if partition is not None:
            delete_where = f"{ident(PARTITION_COLUMN)} = {literal(partition)}"
            source_sql = f"SELECT *, {literal(partition)} AS {ident(PARTITION_COLUMN)} FROM ({source_sql})"

        def attempt() -> LoadResult:
            with self.writing(), self.cursor() as cur:
                try:
                    return self._load_once(
                        cur, table, target, source_sql, replace, key_columns, delete_where, commit_info
                    )
                except LoadFailed:
                    self._remove_failed_load_files(cur)
                    raise

        return _retrying(attempt, _load_collided, lambda: None)  # a failed load has rolled itself back

    def _load_once(
        self,
        cur: duckdb.DuckDBPyConnection,
        table: str,
        target: str,
        source_sql: str,
        replace: bool,
        key_columns: Sequence[str],
        delete_where: str | None,
        commit_info: dict[str, Any],
    ) -> LoadResult:
        cur.execute(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {ident(PARTITION_COLUMN)} VARCHAR")
        try:
            cur.execute("BEGIN TRANSACTION")
            # The snapshot this transaction reads. When another process commits first, DuckLake's COMMIT does not
            # fail but lands this snapshot after that one, so the count below may miss that one's rows.
            base = self._newest_snapshot(cur)
            if key_columns:
                cur.execute(f"CREATE TEMP TABLE staged AS {source_sql}")
                match = " AND ".join(f"s.{ident(k)} IS NOT DISTINCT FROM {target}.{ident(k)}" for k in key_columns)
                cur.execute(f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM staged s WHERE {match})")
                source_sql = "SELECT * FROM staged"
            elif replace:
                cur.execute(f"DELETE FROM {target}")
            elif delete_where:
                cur.execute(f"DELETE FROM {target} WHERE {delete_where}")
            inserted = cur.execute(f"INSERT INTO {target} BY NAME {source_sql}").fetchone()
            count = cur.execute(f"SELECT count(*) FROM {target}").fetchone()
            info = json.dumps(
                {
                    **commit_info,
                    "table": table,
                    "rows": int(inserted[0]) if inserted else 0,
                    "rowCount": int(count[0]) if count else 0,
                    "base": base,
                    "load": uuid.uuid4().hex,  # finds this commit's snapshot among those of other processes
                }
            )
            cur.execute(f"CALL {LAKE}.set_commit_message('domolite', {literal(info)}, extra_info => {literal(info)})")
            cur.execute("COMMIT")
        except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException) as exc:
            _rollback(cur)
            raise LoadFailed(str(exc)) from exc
        except BaseException:
            _rollback(cur)
            raise
        finally:
            try:
                cur.execute("DROP TABLE IF EXISTS staged")
            except duckdb.Error:
                pass
        snap = cur.execute(
            f"SELECT snapshot_id FROM {LAKE}.snapshots() WHERE snapshot_id > {int(base)} "
            f"AND commit_extra_info = {literal(info)}"
        ).fetchone()
        row_count = int(count[0]) if count else 0
        if snap is None:  # it changed nothing (no rows in, none out), so DuckLake made no snapshot of it
            return LoadResult(row_count=row_count, rows_loaded=0, snapshot_id=base)
        snapshot_id = int(snap[0])
        if snapshot_id != base + 1:  # landed after another process's commit: count the rows at this snapshot
            row_count = self._count(cur, self.qualified(table, snapshot_id))
        return LoadResult(row_count=row_count, rows_loaded=int(inserted[0]) if inserted else 0, snapshot_id=snapshot_id)

    @staticmethod
    def _newest_snapshot(cur: duckdb.DuckDBPyConnection) -> int:
        row = cur.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @staticmethod
    def _count(cur: duckdb.DuckDBPyConnection, qualified: str) -> int:
        """Rows of a table named as `qualified` gives it (now, or at a snapshot)."""
        row = cur.execute(f"SELECT count(*) FROM {qualified}").fetchone()
        return int(row[0]) if row else 0

    def _remove_failed_load_files(self, cur: duckdb.DuckDBPyConnection) -> None:
        """A load that failed part way may have written Parquet files DuckLake never listed. Under the write
        lock no other load of this process is writing; when no other process uses the lake, remove them now
        (otherwise the next start does, see `remove_orphans`)."""
        try:
            if self._alone is not None and self._alone():
                cur.execute(
                    f"SELECT count(*) FROM ducklake_delete_orphaned_files({literal(LAKE)}, cleanup_all => true)"
                )
        except Exception:
            log.exception("removing the files of a failed load failed")

    def committed(self, marker_key: str, marker_value: Any) -> bool:
        """Whether a snapshot carries commit info {marker_key: marker_value} (crash recovery)."""
        return self.committed_snapshot(marker_key, marker_value) is not None

    def committed_snapshot(self, marker_key: str, marker_value: Any) -> Snapshot | None:
        """The snapshot whose commit info holds {marker_key: marker_value}, or None (crash recovery)."""
        return next((s for s in self._loads() if s.info.get(marker_key) == marker_value), None)

    def marked_snapshots(self, marker_key: str) -> list[Snapshot]:
        """The loads, of any table, whose commit info holds `marker_key`, oldest first (crash recovery)."""
        return [s for s in self._loads() if marker_key in s.info]

    def landed_between(self, start: datetime.datetime, end: datetime.datetime) -> str:
        """SQL boolean over a table's rows: the row landed (was written by a commit) in [start, end), naive UTC.
        DuckLake keeps each row's inserting snapshot as the virtual column `snapshot_id`, through compaction;
        snapshot ids grow with time, so the commits of a span are one range of ids."""
        with self.cursor() as cur:
            row = cur.execute(
                f"SELECT coalesce(max(snapshot_id) FILTER (WHERE epoch_ms(snapshot_time) < {_ms(start)}), -1), "
                f"coalesce(max(snapshot_id) FILTER (WHERE epoch_ms(snapshot_time) < {_ms(end)}), -1) "
                f"FROM {LAKE}.snapshots()"
            ).fetchone()
        low, high = (int(row[0]), int(row[1])) if row else (-1, -1)
        return f"(snapshot_id > {low} AND snapshot_id <= {high})" if high > low else "FALSE"

    def _loads(self) -> list[Snapshot]:
        """Every snapshot committed by a load (one with commit info), oldest first."""
        with self.cursor() as cur:
            rows = cur.execute(
                f"SELECT snapshot_id, epoch_ms(snapshot_time), commit_extra_info FROM {LAKE}.snapshots() "
                "WHERE commit_extra_info IS NOT NULL ORDER BY snapshot_id"
            ).fetchall()
        out = []
        for snapshot_id, recorded_ms, extra in rows:
            try:
                info = json.loads(extra)
            except ValueError:
                continue
            if isinstance(info, dict):
                out.append(Snapshot(int(snapshot_id), int(recorded_ms), info))
        return out

    def partition_rows(self, table: str, tag: str) -> int:
        """Rows of the table that carry the partition tag, now."""
        with self.cursor() as cur:
            row = cur.execute(
                f"SELECT count(*) FROM {self.qualified(table)} WHERE {ident(PARTITION_COLUMN)} = {literal(tag)}"
            ).fetchone()
        return int(row[0]) if row else 0

    def snapshots(self, table: str) -> list[Snapshot]:
        """The loads committed to `table`, oldest first (schema changes and compactions are not loads)."""
        out = [s for s in self._loads() if s.info.get("table") == table]
        rebased = [s for s in out if isinstance(s.info.get("base"), int) and s.snapshot_id != s.info["base"] + 1]
        if rebased:  # its commit info counted the rows it read, not the rows of the snapshot it landed as
            with self.cursor() as cur:
                for s in rebased:
                    s.info["rowCount"] = self._count(cur, self.qualified(table, s.snapshot_id))
        return out

    def newest_loads(self) -> dict[str, int]:
        """Table -> the snapshot of its newest load (crash recovery)."""
        newest: dict[str, int] = {}
        for s in self._loads():
            table = s.info.get("table")
            if isinstance(table, str):
                newest[table] = max(newest.get(table, 0), s.snapshot_id)
        return newest

    def latest_snapshot(self) -> int:
        with self.cursor() as cur:
            return self._newest_snapshot(cur)

    def compact(self, table: str) -> int:
        """Merge the table's small data files (DuckLake compaction); returns how many files were merged."""
        with self.writing(), self.cursor() as cur:
            try:
                cur.execute(f"CALL ducklake_flush_inlined_data({literal(LAKE)}, table_name => {literal(table)})")
                rows = cur.execute(f"CALL ducklake_merge_adjacent_files({literal(LAKE)}, {literal(table)})").fetchall()
            except duckdb.Error as exc:
                raise DomoError(f"compaction failed: {type(exc).__name__}") from exc
        return sum(int(r[2]) for r in rows if len(r) > 2 and r[2] is not None)

    # -- reads ------------------------------------------------------------------------------------------------
    def copy_csv(self, select_sql: str, dest: str, *, header: bool, cancel: Cancel | None = None) -> None:
        """Write the rows of `select_sql` as Domo CSV to `dest` (a file or a FIFO); `cancel` interrupts it."""
        self._export(lambda cur: _csv_copy_sql(cur, select_sql, dest, header=header), cancel)

    def unload_csv(self, select_sql: str, dest: str, cancel: Cancel | None = None) -> None:
        """Write the rows of `select_sql` as Domo CSV with a header to `dest` (a FIFO), for an Export to S3.

        When the lake was opened with `unload_threads`, this runs in a DuckDB instance of its own with that
        many threads (a read-only attachment of the lake, made on first use): DuckDB's thread count is per
        instance, and writing CSV in order with more threads than the reader can take costs CPU that the
        upload needs (issue 5: on 2 cores, 2 threads spent ~0.25 s more CPU per 1M rows and were slower).
        """
        unload = self._unload_threads is not None
        if unload:
            self._unload_connection()  # made at the first export, renewed like the writer's (see _renew_if_stale)
        self._export(lambda cur: _csv_copy_sql(cur, select_sql, dest, header=True), cancel, unload=unload)

    def _export(
        self,
        sql: str | Callable[[duckdb.DuckDBPyConnection], str],
        cancel: Cancel | None,
        *,
        unload: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Run one COPY of rows out of the lake (its SQL given, or made on the cursor) and return its rows.

        Raises:
            DomoError: DuckDB failed. Cancelled, ShuttingDown: stopped on purpose.
        """
        try:
            with self._cursor(self._current_unload if unload else lambda: self._con, cancel) as cur:
                return cur.execute(sql if isinstance(sql, str) else sql(cur)).fetchall()
        except duckdb.Error as exc:
            raise _export_failed(exc) from exc

    def _unload_connection(self) -> None:
        """Make the export writer's instance, at the first export; replace it by a fresh one when it is due
        (the schema versions it may have read, as for the writer's: see _renew_if_stale)."""
        with self._unload_lock:
            if self._closing.cancelled:
                raise ShuttingDown("the server is stopping")
            if self._unload_con is None:
                at, _ = self._schema_check(None)  # the version the new instance begins at
            else:
                self._unload_version, at = self._schema_check(self._unload_version)
                if at is None:
                    return
            con = self._fresh(self._unload_threads, read_only=True)
            with self._instances_lock:
                old, self._unload_con = self._unload_con, con
            self._unload_version = at
            if old is not None:
                self._retire(old)
                log.info("the lake's export writer instance was renewed at schema version %d", at)

    def _current_unload(self) -> duckdb.DuckDBPyConnection:
        """The export writer's instance now (called under the instances' lock)."""
        if self._unload_con is None:
            raise ShuttingDown("the server is stopping")
        return self._unload_con

    def copy_parquet(
        self, select_sql: str, dest_dir: str, *, compression: str, file_size_bytes: int, cancel: Cancel | None = None
    ) -> list[tuple[str, int, int]]:
        """Write the rows of `select_sql` as Parquet files in `dest_dir`, a new file past `file_size_bytes`.

        Returns (path, rows, bytes) of each file, in order. Raises DomoError when DuckDB fails.
        """
        options = (
            f"FORMAT parquet, COMPRESSION {literal(compression)}, FILE_SIZE_BYTES {int(file_size_bytes)}, RETURN_STATS"
        )
        rows = self._export(f"COPY ({select_sql}) TO {literal(dest_dir)} ({options})", cancel)
        if sum(1 for r in rows if int(r[1]) > 0) > 1 and self._threads != 1:
            # DuckDB writing with several threads numbers the files it cuts out of the rows' order (and may add
            # an empty one): the rows are written again by an instance of one thread, which keeps their order.
            for row in rows:
                Path(str(row[0])).unlink(missing_ok=True)
            in_order = dest_dir.rstrip("/") + "_in_order"
            rows = self._export_alone(f"COPY ({select_sql}) TO {literal(in_order)} ({options})", cancel)
        files = sorted(((str(r[0]), int(r[1]), int(r[2])) for r in rows), key=lambda f: (len(f[0]), f[0]))
        return [f for f in files if f[1] > 0] or files[:1]  # an empty answer is still one file

    def _export_alone(self, sql: str, cancel: Cancel | None) -> list[tuple[Any, ...]]:
        """Run one COPY of rows out of the lake in an instance of its own with one thread, closed after."""
        con = self._fresh(1, read_only=True)
        try:
            with self._cursor(lambda: con, cancel) as cur:
                return cur.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise _export_failed(exc) from exc
        finally:
            con.close()


def _user_columns(cur: duckdb.DuckDBPyConnection, target: str) -> list[Column]:
    """The table's columns, in its order (domolite's hidden ones left out)."""
    return [
        Column(str(name), _DOMO_TYPES[str(kind).upper().replace(" ", "")])
        for name, kind, *_ in cur.execute(f"DESCRIBE {target}").fetchall()
        if not str(name).lower().startswith(INTERNAL_PREFIX)
    ]


_DOMO_TYPES = {sql: domo for domo, sql in SQL_TYPES.items()}


def _export_failed(exc: duckdb.Error) -> DomoError:
    """What a failed COPY of a server-made SELECT (a download, an export) is. Such a SELECT names the columns
    the catalog lists: one DuckDB cannot bind means the lake's schema moved on before the catalog's (a schema
    change between its two steps), and the same request a moment later reads the new schema."""
    if isinstance(exc, duckdb.BinderException):
        log.warning("a read of the lake met a schema the catalog did not list yet: %s", str(exc).splitlines()[0])
        return Busy("the DataSet's schema changed while its rows were being read; ask again", 1)
    return DomoError(f"export failed: {type(exc).__name__}")


def _csv_copy_sql(cur: duckdb.DuckDBPyConnection, select_sql: str, dest: str, *, header: bool) -> str:
    """The COPY of `select_sql` as Domo CSV; wide DECIMAL columns are written as text made the fast way (the
    same text, see `sqltext.text_sql`), found by binding the SELECT (which runs nothing)."""
    relation = cur.sql(select_sql)
    types = [str(t) for t in relation.types]
    if any(is_wide_decimal(t) for t in types):
        columns = ", ".join(
            (text_sql(ident(name), t) if is_wide_decimal(t) else ident(name)) + f" AS {ident(name)}"
            for name, t in zip(relation.columns, types, strict=True)
        )
        select_sql = f"SELECT {columns} FROM ({select_sql})"
    options = (
        f"FORMAT csv, HEADER {'true' if header else 'false'}, DATEFORMAT '%Y-%m-%d', "
        "TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S'"
    )
    return f"COPY ({select_sql}) TO {literal(dest)} ({options})"


def _interrupter(cur: duckdb.DuckDBPyConnection) -> Callable[[], None]:
    """`cur.interrupt`, harmless once the cursor is closed (a cancel's hooks may run late)."""

    def interrupt() -> None:
        try:
            cur.interrupt()
        except duckdb.Error:
            pass

    return interrupt


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _ms(moment: datetime.datetime) -> int:
    """Epoch milliseconds of a naive UTC datetime."""
    return int(moment.replace(tzinfo=datetime.UTC).timestamp() * 1000)
