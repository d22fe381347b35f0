"""The one door for rows. Queries, CSV exports and (later) S3 exports all read through `Door.source_sql`,
which applies read permission and row policies (PDP) for the caller.

User SQL runs in a separate, locked-down DuckDB instance: the lake attached read-only, external access off,
configuration locked, a time limit and a row cap.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from domolite.auth import permissions
from domolite.errors import BadRequest, DomoError, InvalidSql, QueryTimeout
from domolite.models import DataSet, DomoType, Principal
from domolite.query.fifo import read_through_fifo
from domolite.query.sql import rewrite
from domolite.storage import duck
from domolite.storage.lake import LAKE, Lake
from domolite.storage.sqltext import ident, literal

log = logging.getLogger("domolite.query")

PdpFilter = Callable[[DataSet, Principal], str | None]


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[DomoType]
    rows: list[list[Any]]


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
        pdp_filter: PdpFilter | None = None,
        memory_limit: str = "1GB",
        threads: int | None = None,
    ) -> None:
        self.lake = lake
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.scratch_dir = scratch_dir
        self.pdp_filter = pdp_filter
        scratch_dir.mkdir(parents=True, exist_ok=True)
        self._sandbox = duck.connect(
            ["ducklake", *lake.meta_extensions], lake.extension_dir, threads=threads, memory_limit=memory_limit
        )
        self._sandbox.execute(
            f"ATTACH {literal(lake.source)} AS {LAKE} (DATA_PATH {literal(lake.data_path)}, READ_ONLY)"
        )
        allowed = literal(str(lake.lake_dir) + "/")
        self._sandbox.execute(f"SET allowed_directories = [{allowed}]")
        self._sandbox.execute("SET enable_external_access = false")
        self._sandbox.execute("SET lock_configuration = true")

    def close(self) -> None:
        self._sandbox.close()

    # -- the door ---------------------------------------------------------------------------------------------
    def source_sql(self, dataset: DataSet, principal: Principal, version: int | None = None) -> str:
        """SELECT of the rows of `dataset` that `principal` may read, in schema order.

        Raises:
            Forbidden: the principal may not read the DataSet.
        """
        return self._source(dataset, principal, version)[0]

    def _row_filter(self, dataset: DataSet, principal: Principal) -> str | None:
        row_filter = self.pdp_filter(dataset, principal) if self.pdp_filter else None
        if row_filter is None and dataset.pdp_enabled and not permissions.bypasses_pdp(principal, dataset):
            row_filter = "FALSE"  # PDP is on but no policy hook is plugged in: fail closed
        return row_filter

    def _source(self, dataset: DataSet, principal: Principal, version: int | None) -> tuple[str, bool]:
        permissions.require_read(principal, dataset)
        cols = ", ".join(ident(c.name) for c in dataset.columns) or "NULL AS _empty"
        sql = f"SELECT {cols} FROM {self.lake.qualified(dataset.table, version)}"
        row_filter = self._row_filter(dataset, principal)
        if row_filter is not None:
            sql += f" WHERE {row_filter}"
        return sql, row_filter is not None

    def filters_rows(self, dataset: DataSet, principal: Principal) -> bool:
        """Whether row policies leave the principal fewer than all of the DataSet's rows (maybe)."""
        return self._row_filter(dataset, principal) not in (None, "TRUE")

    def row_count(self, dataset: DataSet, principal: Principal) -> int:
        """How many rows of the DataSet the principal may read: the cached count when no row policy filters the
        principal, else a count of the rows the policies leave them (what a PDP-filtered user sees as the row
        count, see docs/choices.md)."""
        permissions.require_read(principal, dataset)
        if not self.filters_rows(dataset, principal):
            return dataset.row_count
        return int(self.query(dataset, principal, "SELECT COUNT(*) FROM table").rows[0][0])

    # -- user SQL ---------------------------------------------------------------------------------------------
    def query(self, dataset: DataSet, principal: Principal, user_sql: str, version: int | None = None) -> QueryResult:
        """Run one user SELECT over the DataSet, in the sandbox.

        Raises:
            InvalidSql: refused or failing SQL. QueryTimeout: past the time limit. BadRequest: past the row cap.
        """
        source, filtered = self._source(dataset, principal, version)
        sql = rewrite(user_sql, dataset.id, source)
        cur = self._sandbox.cursor()
        timer = threading.Timer(self.timeout_s, cur.interrupt)
        timer.start()
        started = time.monotonic()
        try:
            cur.execute(sql)
            rows = cur.fetchmany(self.max_rows + 1)
            description = cur.description or []
        except duckdb.InterruptException:
            raise QueryTimeout(f"the query ran longer than the {self.timeout_s:g} s limit and was stopped") from None
        except duckdb.Error as exc:
            if time.monotonic() - started >= self.timeout_s:
                raise QueryTimeout(
                    f"the query ran longer than the {self.timeout_s:g} s limit and was stopped"
                ) from None
            raise InvalidSql(_duck_message(exc, redact_values=filtered)) from None
        finally:
            timer.cancel()
            cur.close()
        if len(rows) > self.max_rows:
            raise BadRequest(f"the query returns more than {self.max_rows} rows; add a LIMIT or a WHERE to narrow it")
        return QueryResult(
            columns=[d[0] for d in description],
            types=[domo_type(d[1]) for d in description],
            rows=[[_json_value(v) for v in row] for row in rows],
        )

    # -- CSV export -------------------------------------------------------------------------------------------
    def csv_stream(self, select_sql: str, *, header: bool) -> Iterator[bytes]:
        """Stream the rows of a trusted SELECT as Domo CSV, produced by DuckDB into a FIFO as they are read."""
        chunks = read_through_fifo(
            lambda dest: self.lake.copy_csv(select_sql, dest, header=header), self.scratch_dir, name="csv-export"
        )
        return _ending_quietly(chunks)


def _ending_quietly(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A download's body: the status and headers are sent before the first chunk, so a failure can only end it
    early (and be logged)."""
    try:
        yield from chunks
    except DomoError:
        log.exception("CSV export failed")


def _duck_message(exc: Exception, *, redact_values: bool = False) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.replace(f"{LAKE}.", "")
    text = re.sub(r"\bds_[0-9a-f]{32}\b", "table", text)  # never name lake tables
    if redact_values:
        # The engine may evaluate a user's expression on a row before the row filter drops it; a value quoted
        # in an error (a failed cast, say) could come from a row the caller may not see.
        text = re.sub(r"'(?:[^']|'')*'", "'…'", text)
    return text[:500]
