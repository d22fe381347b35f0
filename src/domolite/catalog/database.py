"""The catalog's database: the one SQLAlchemy engine (SQLite by default, PostgreSQL by URL), its migrations, and a
store per noun on it. The only package that talks SQLAlchemy is `catalog/`."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from domolite.catalog.access import AccessStore
from domolite.catalog.accounts import AccountStore
from domolite.catalog.audit import AuditStore
from domolite.catalog.changes import MIGRATING, count_changes
from domolite.catalog.datasets import DataSetStore
from domolite.catalog.exports import ExportStore
from domolite.catalog.processes import ProcessStore
from domolite.catalog.product import ProductStore
from domolite.catalog.schedules import ScheduleStore
from domolite.catalog.streams import StreamStore
from domolite.catalog.users import UserStore

MIGRATION_LOCK = 0x646F6D6F  # a PostgreSQL advisory lock key of our own ("domo")


# Called by migration 0008 with the token signing key earlier versions kept in the catalog, before it is dropped.
LegacyKeySink = Callable[[str], None]


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def open_catalog(url: str, *, legacy_signing_key_sink: LegacyKeySink | None = None) -> Catalog:
    """Connect to the catalog at `url` and bring its tables up to the newest migration (a token signing key
    found in an older catalog goes to `legacy_signing_key_sink`, or is dropped when there is none)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # A stale connection is a server-side matter (PostgreSQL); a SQLite file has none, and the ping would cost a
    # round trip on every transaction.
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # SQLite's own lower() folds only A-Z: `nameLike=Épée` would miss "Épée". PostgreSQL's folds every
            # letter, as Python's does (which the other side of each comparison uses).
            dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)

    catalog = Catalog(engine)
    catalog.migrate(legacy_signing_key_sink)
    return catalog


# The newest migration (tests/postgres/test_migrations.py checks that it is alembic's head). A catalog already
# there is not migrated at all, and alembic is not even imported (~0.2 s of every start and every CLI command).
HEAD_REVISION = "0013_execution_parts"


class Catalog:
    """The catalog: one engine, a store per noun on it. A change that spans nouns runs in one `tx()`, each
    store adding its part through the connection it is given (or a `CatalogWrite`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if not event.contains(engine, "after_execute", count_changes):
            event.listen(engine, "after_execute", count_changes)
        self.users = UserStore(engine)
        self.datasets = DataSetStore(engine)
        self.streams = StreamStore(engine)
        self.access = AccessStore(engine)
        self.accounts = AccountStore(engine)
        self.audit = AuditStore(engine)
        self.exports = ExportStore(engine)
        self.processes = ProcessStore(engine)
        self.product = ProductStore(engine)
        self.schedules = ScheduleStore(engine)

    # -- plumbing ---------------------------------------------------------------------------------------------
    def migrate(self, legacy_signing_key_sink: LegacyKeySink | None = None) -> None:
        """Bring the tables up to the newest migration. Servers starting together on one catalog migrate one
        after the other: under an advisory lock on PostgreSQL, under a lock file next to a SQLite file. When a
        migration deleted a secret, a SQLite write-ahead log is then folded into the file, so it is gone from both."""
        if self.at_head():
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        cfg.attributes["legacy_signing_key_sink"] = legacy_signing_key_sink
        with self._sqlite_file_lock():
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                cfg.attributes["connection"] = conn.execution_options(**{MIGRATING: True})
                command.upgrade(cfg, "head")
            if self.engine.dialect.name == "sqlite" and cfg.attributes.get("deleted_secrets"):
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def at_head(self) -> bool:
        """Whether the catalog is at the newest migration already (a missing version table: not yet)."""
        try:
            with self.engine.connect() as conn:
                versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
        except DBAPIError:
            return False
        return versions == [HEAD_REVISION]

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        """Ask the database a trivial query: raises when it does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def close(self) -> None:
        self.access.close()
        self.datasets.close()
        self.engine.dispose()
