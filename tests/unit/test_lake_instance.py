"""The writer's DuckDB instance is renewed once the lake's schema version has moved far enough past the one it
began at (DuckLake keeps every schema version's catalog an instance has read): a read already running finishes on
the old instance, which is closed after it, and nothing of the lake changes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from domolite.models.records import Column, DomoType
from domolite.storage import lake as lake_module
from domolite.storage.lake import Lake
from tests.helpers import lake_in


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """A lake whose writer's instance is renewed after a few schema changes of tables of one column."""
    monkeypatch.setattr(lake_module, "RENEW_AFTER_COLUMN_VERSIONS", 3 * 2 * 6)
    lake = lake_in(tmp_path)
    try:
        yield lake
    finally:
        lake.close()


def test_the_writer_instance_is_renewed_after_schema_changes_and_a_running_read_finishes_on_the_old_one(
    lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    lake.create_table("t0", [Column("n", DomoType.LONG)])
    loaded = lake.load("t0", "SELECT range AS n FROM range(5)", replace=True, commit_info={})
    first = lake._con
    with caplog.at_level(logging.INFO, logger="domolite.lake"), lake.cursor() as held:
        old = held.execute("SELECT count(*) FROM lake.t0").fetchone()
        for i in range(1, 6):  # five schema changes: past the three that renew the instance
            lake.create_table(f"t{i}", [Column("n", DomoType.LONG)])
        assert any("renewed" in r.getMessage() for r in caplog.records), "the writer's instance was kept"
        assert lake._con is not first
        # The read that was open goes on, on the instance it began on, which stays open for it.
        assert old == (5,)
        assert held.execute("SELECT sum(n) FROM lake.t0").fetchone() == (10,)
        assert first.execute("SELECT 1").fetchone() == (1,)
    # Once that read ended, the old instance was closed.
    with pytest.raises(duckdb.ConnectionException):
        first.execute("SELECT 1")
    # The lake is unchanged for the fresh instance: every table, the rows and the snapshot history.
    with lake.cursor() as cur:
        assert cur.execute("SELECT sum(n) FROM lake.t0").fetchone() == (10,)
        names = {r[0] for r in cur.execute("SHOW TABLES FROM lake").fetchall()}
    assert {f"t{i}" for i in range(6)} <= names
    again = lake.load("t0", "SELECT range AS n FROM range(7)", replace=True, commit_info={})
    assert (again.row_count, again.rows_loaded) == (7, 7) and again.snapshot_id > loaded.snapshot_id
    assert [s.info["rowCount"] for s in lake.snapshots("t0")] == [5, 7]


def test_without_schema_changes_the_writer_instance_is_kept(lake: Lake, caplog: pytest.LogCaptureFixture) -> None:
    lake.create_table("t", [Column("n", DomoType.LONG)])
    with caplog.at_level(logging.INFO, logger="domolite.lake"):
        for i in range(6):  # loads make data versions, not schema versions
            lake.load("t", f"SELECT range AS n FROM range({i + 1})", replace=True, commit_info={})
    assert not any("renewed" in r.getMessage() for r in caplog.records)
    assert lake.row_count("t") == 6


def test_the_export_writer_instance_is_renewed_the_same_way_and_exports_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(lake_module, "RENEW_AFTER_COLUMN_VERSIONS", 3 * 2 * 6)
    lake = lake_in(tmp_path, unload_threads=1)  # exports in an instance of their own
    try:
        lake.create_table("t0", [Column("n", DomoType.LONG)])
        lake.load("t0", "SELECT range AS n FROM range(3)", replace=True, commit_info={})
        source = f"SELECT n FROM {lake.qualified('t0')} ORDER BY n"
        lake.unload_csv(source, str(tmp_path / "first.csv"))
        first = lake._unload_con
        for i in range(1, 6):
            lake.create_table(f"t{i}", [Column("n", DomoType.LONG)])
        with caplog.at_level(logging.INFO, logger="domolite.lake"):
            lake.unload_csv(source, str(tmp_path / "second.csv"))
        assert any("export writer instance was renewed" in r.getMessage() for r in caplog.records)
        assert lake._unload_con is not first
        with pytest.raises(duckdb.ConnectionException):  # nothing used it any more: closed at once
            first.execute("SELECT 1")  # type: ignore[union-attr]
        for name in ("first.csv", "second.csv"):
            assert (tmp_path / name).read_text().splitlines() == ["n", "0", "1", "2"]
    finally:
        lake.close()
