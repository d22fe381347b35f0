"""The Alembic migrations build exactly the tables the code declares (catalog/schema.py), as one history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import domolite.catalog
from domolite.catalog import open_catalog
from domolite.catalog import schema as t
from domolite.catalog.database import HEAD_REVISION
from domolite.models.records import UpdateMethod


def drift(catalog_url: str) -> list[Any]:
    """What differs between a catalog migrated from empty and the declared tables (empty: nothing)."""
    catalog = open_catalog(catalog_url)
    try:
        with catalog.engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), t.metadata))
    finally:
        catalog.close()


def test_the_migrations_have_one_head_the_one_the_catalog_names() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(domolite.catalog.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == ["0013_execution_parts"] == [HEAD_REVISION]


def test_a_catalog_behind_is_migrated_and_one_at_the_head_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    upgrade(url, "0009_audit_log")
    catalog = open_catalog(url)
    try:
        assert catalog.at_head()
    finally:
        catalog.close()
    assert run(url, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]
    probe = "import sys; from domolite.catalog import open_catalog; open_catalog(sys.argv[1]).close(); "
    probe += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'boto3')))"
    out = subprocess.run([sys.executable, "-c", probe, url], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_a_sqlite_catalog_migrated_from_empty_matches_the_declared_tables(tmp_path: Path) -> None:
    assert drift(f"sqlite:///{tmp_path / 'catalog.sqlite'}") == []


def upgrade(catalog_url: str, revision: str) -> None:
    engine = sqlalchemy.create_engine(catalog_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(Path(domolite.catalog.__file__).parent / "migrations"))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def run(catalog_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sqlalchemy.create_engine(catalog_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sqlalchemy.text(sql))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def check_ids_never_reused_after_migrating(catalog_url: str) -> None:
    """A catalog at 0007 with rows that earlier deletes left behind: 0008 removes those, keeps the rest, and
    from then on the largest id of a deleted row is never given again."""
    upgrade(catalog_url, "0007_processes")
    now = "'2024-01-01 00:00:00'"
    run(
        catalog_url,
        "INSERT INTO datasets (id, name, description, owner_id, columns, table_name, pdp_enabled, row_count, "
        "data_provider_type, tags, properties, created_at, updated_at) VALUES "
        f"('kept', 'kept', '', 1, '[]', 'ds_kept', false, 0, 'api', '[]', '{{}}', {now}, {now})",
    )
    for sid, ds in ((1, "kept"), (2, "deleted before")):
        run(
            catalog_url,
            "INSERT INTO streams (id, dataset_id, update_method, key_columns, created_at, modified_at) "
            f"VALUES ({sid}, '{ds}', 'REPLACE', '[]', {now}, {now})",
        )
        run(
            catalog_url,
            "INSERT INTO executions (id, stream_id, state, update_method, created_at, modified_at, rows, bytes) "
            f"VALUES ({sid}, {sid}, 'SUCCESS', 'REPLACE', {now}, {now}, 0, 0)",
        )
        run(
            catalog_url,
            "INSERT INTO uploads (execution_id, dataset_id, stream_id, created_at) "
            f"VALUES ({sid}, '{ds}', {sid}, {now})",
        )
    upgrade(catalog_url, "head")
    if catalog_url.startswith("postgresql"):  # the rows above were given their ids; move the sequences past them
        for table in ("streams", "executions"):
            run(catalog_url, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    assert run(catalog_url, "SELECT id FROM streams") == [(1,)]
    assert run(catalog_url, "SELECT id FROM executions") == [(1,)]
    assert run(catalog_url, "SELECT execution_id FROM uploads") == [(1,)]
    for table, columns, row in (
        (
            "executions",
            "stream_id, state, update_method, created_at, modified_at, rows, bytes",
            "1, 'ACTIVE', 'REPLACE'",
        ),
        ("users", "email, name, role, created_at", "'{n}@x', 'a', 'Admin'"),
        ("groups", "name, description, active, creator_id, created_at", "'{n}', '', true, 1"),
    ):
        extra = f", {now}, {now}, 0, 0" if table == "executions" else f", {now}"
        insert = f"INSERT INTO {table} ({columns}) VALUES ({{}}{extra})"
        run(catalog_url, insert.format(row.format(n="first")))
        (largest,) = run(catalog_url, f"SELECT max(id) FROM {table}")[0]
        run(catalog_url, f"DELETE FROM {table} WHERE id = {largest}")
        run(catalog_url, insert.format(row.format(n="second")))
        (again,) = run(catalog_url, f"SELECT max(id) FROM {table}")[0]
        assert again > largest, f"{table} gave id {largest} again"


def test_a_sqlite_catalog_migrated_to_0008_never_gives_an_id_twice(tmp_path: Path) -> None:
    check_ids_never_reused_after_migrating(f"sqlite:///{tmp_path / 'catalog.sqlite'}")


def check_executions_are_numbered_per_stream_after_migrating(catalog_url: str) -> None:
    """A catalog at 0009 with executions of two streams interleaved: 0010 numbers each stream's executions 1, 2, …
    in the order they were made, and the next execution of a stream takes the number after its last."""
    upgrade(catalog_url, "0009_audit_log")
    now = "'2024-01-01 00:00:00'"
    for sid in (1, 2):
        run(
            catalog_url,
            "INSERT INTO streams (id, dataset_id, update_method, key_columns, created_at, modified_at) "
            f"VALUES ({sid}, 'ds{sid}', 'REPLACE', '[]', {now}, {now})",
        )
    for eid, sid in ((1, 1), (2, 2), (3, 1), (4, 1), (5, 2)):
        run(
            catalog_url,
            "INSERT INTO executions (id, stream_id, state, update_method, created_at, modified_at, rows, bytes) "
            f"VALUES ({eid}, {sid}, 'SUCCESS', 'REPLACE', {now}, {now}, 0, 0)",
        )
    upgrade(catalog_url, "head")
    numbered = run(catalog_url, "SELECT id, stream_id, number FROM executions ORDER BY id")
    assert numbered == [(1, 1, 1), (2, 2, 1), (3, 1, 2), (4, 1, 3), (5, 2, 2)]
    assert run(catalog_url, "SELECT id, last_execution_number FROM streams ORDER BY id") == [(1, 3), (2, 2)]
    if catalog_url.startswith("postgresql"):
        for table in ("streams", "executions"):
            run(catalog_url, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    catalog = open_catalog(catalog_url)
    try:
        assert catalog.streams.create_execution(2, UpdateMethod.APPEND).number == 3
        assert catalog.streams.create_execution(1, UpdateMethod.APPEND).number == 4
    finally:
        catalog.close()


def test_a_sqlite_catalog_migrated_to_0010_numbers_executions_per_stream(tmp_path: Path) -> None:
    check_executions_are_numbered_per_stream_after_migrating(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
