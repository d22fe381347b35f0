"""On a PostgreSQL lake, the schema changes of another process count too: this process's writer instance is
renewed at its next turn at writing, and its loads go on as before."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from domolite.models.records import Column, DomoType
from domolite.storage import lake as lake_module
from tests.helpers import lake_in
from tests.pg import Postgres


def test_another_process_schema_changes_renew_this_process_writer_instance(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(lake_module, "RENEW_AFTER_COLUMN_VERSIONS", 3 * 2 * 6)
    url = postgres.new_database()
    ours, theirs = lake_in(tmp_path, catalog_url=url), lake_in(tmp_path, catalog_url=url)
    try:
        ours.create_table("mine", [Column("n", DomoType.LONG)])
        ours.load("mine", "SELECT range AS n FROM range(3)", replace=True, commit_info={})
        first = ours._con
        for i in range(5):
            theirs.create_table(f"theirs{i}", [Column("n", DomoType.LONG)])
        with caplog.at_level(logging.INFO, logger="domolite.lake"):
            again = ours.load("mine", "SELECT range AS n FROM range(4)", replace=True, commit_info={})
        assert any("renewed" in r.getMessage() for r in caplog.records), "the writer's instance was kept"
        assert ours._con is not first
        assert (again.row_count, again.rows_loaded) == (4, 4)
        assert ours.row_count("mine") == 4 and theirs.row_count("mine") == 4
        assert [s.info["rowCount"] for s in ours.snapshots("mine")] == [3, 4]
    finally:
        ours.close()
        theirs.close()
