"""A PostgreSQL catalog held at one moment: a REPEATABLE READ transaction whose snapshot is exported, so that
`pg_dump --snapshot` writes exactly what this transaction reads (the backup of a PostgreSQL catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.pool import NullPool


@dataclass(frozen=True)
class HeldSnapshot:
    snapshot_id: str
    _conn: Connection

    def lake_file_names(self) -> set[str]:
        """The names of every Parquet file the lake's metadata lists at this moment: the data files and the
        deletion files of every table and of every version still kept (time travel reads them)."""
        rows = self._conn.execute(
            text("SELECT path FROM ducklake_data_file UNION ALL SELECT path FROM ducklake_delete_file")
        )
        return {str(path).rsplit("/", 1)[-1] for (path,) in rows}


@contextmanager
def held_snapshot(catalog_url: str) -> Iterator[HeldSnapshot]:
    """The catalog as it is now, held until the block ends (other sessions commit meanwhile, unhindered)."""
    engine = create_engine(catalog_url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            yield HeldSnapshot(str(snapshot_id), conn)
    finally:
        engine.dispose()


def is_empty(catalog_url: str) -> bool:
    """Whether the database of `catalog_url` holds no table (where a restore may go)."""
    engine = create_engine(catalog_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names()
    finally:
        engine.dispose()
