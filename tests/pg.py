"""A real PostgreSQL server for the tests of the PostgreSQL catalog: the `pgserver` package's binaries, started
once per session on a Unix socket in a temporary folder; each user gets a database of its own."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


@dataclass(frozen=True)
class Postgres:
    socket_dir: str

    def _conninfo(self, database: str) -> str:
        return f"host={self.socket_dir} user=postgres dbname={database}"

    def new_database(self) -> str:
        """A new empty database; its SQLAlchemy URL, as DOMOLITE_CATALOG_URL takes it."""
        name = f"domolite_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return f"postgresql+psycopg://postgres@/{name}?host={self.socket_dir}"

    @property
    def bin_dir(self) -> str:
        """The folder of the PostgreSQL programs (pg_dump, pg_restore) of the same version as this server."""
        import pgserver

        return str(Path(pgserver.__file__).parent / "pginstall" / "bin")

    def wipe(self, catalog_url: str) -> None:
        """Drop the database of `catalog_url` and make it again, empty."""
        database = catalog_url.split("/")[3].split("?")[0]
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]

    def query(self, catalog_url: str, sql: str) -> list[tuple[Any, ...]]:
        database = catalog_url.split("/")[3].split("?")[0]
        with psycopg.connect(self._conninfo(database)) as conn:
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


@contextmanager
def running_postgres(pgdata: Path) -> Iterator[Postgres]:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # type: ignore[import-untyped]

    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
    try:
        yield Postgres(socket_dir=str(pgdata))
    finally:
        server.cleanup()
