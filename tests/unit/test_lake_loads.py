"""A load on a real lake (DuckDB, DuckLake on the embedded SQLite metadata): one snapshot per load that changes
the table, and none for a load that changes nothing."""

from __future__ import annotations

from pathlib import Path

from domolite.models.records import Column, DomoType
from tests.helpers import lake_in


def test_a_load_of_no_rows_reports_the_snapshot_it_read_and_makes_no_data_version(tmp_path: Path) -> None:
    lake = lake_in(tmp_path)
    try:
        lake.create_table("t", [Column("n", DomoType.LONG)])
        first = lake.load("t", "SELECT range AS n FROM range(3)", replace=False, commit_info={"k": 1})
        assert (first.row_count, first.rows_loaded) == (3, 3)
        empty = lake.load("t", "SELECT 1 AS n WHERE false", replace=False, commit_info={"k": 2})
        assert (empty.row_count, empty.rows_loaded, empty.snapshot_id) == (3, 0, first.snapshot_id)
        assert [s.snapshot_id for s in lake.snapshots("t")] == [first.snapshot_id]
        emptied = lake.load("t", "SELECT 1 AS n WHERE false", replace=True, commit_info={"k": 3})
        assert (emptied.row_count, emptied.rows_loaded) == (0, 0) and emptied.snapshot_id > first.snapshot_id
        assert [s.info["rowCount"] for s in lake.snapshots("t")] == [3, 0]
    finally:
        lake.close()
