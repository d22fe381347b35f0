"""The Alembic migrations build exactly the tables the code declares (catalog/schema.py), as one history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import domolite.catalog
from domolite.catalog import open_catalog
from domolite.catalog import schema as t


def drift(catalog_url: str) -> list[Any]:
    """What differs between a catalog migrated from empty and the declared tables (empty: nothing)."""
    catalog = open_catalog(catalog_url)
    try:
        with catalog.engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), t.metadata))
    finally:
        catalog.close()


def test_the_migrations_have_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(domolite.catalog.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == ["0008_audit_log"]


def test_a_sqlite_catalog_migrated_from_empty_matches_the_declared_tables(tmp_path: Path) -> None:
    assert drift(f"sqlite:///{tmp_path / 'catalog.sqlite'}") == []
