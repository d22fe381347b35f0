"""Two processes' loads into one DataSet on a PostgreSQL lake: when the other process commits while a load runs,
DuckLake lands the load after it instead of failing, and the row count the load reports (the DataSet's `rows`)
and the data version's row count are those of the snapshot it landed as, not of the one it read."""

from __future__ import annotations

import threading
from pathlib import Path

from domolite.models.records import Column, DomoType
from domolite.storage.lake import Lake
from domolite.storage.tables import LoadResult
from tests.helpers import lake_in
from tests.pg import Postgres


def test_a_load_landing_after_another_process_commit_counts_the_rows_it_landed_with(
    postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.new_database()
    first, second = lake_in(tmp_path, catalog_url=url), lake_in(tmp_path, catalog_url=url)
    try:
        first.create_table("t", [Column("n", DomoType.LONG)])
        first.load("t", "SELECT range AS n FROM range(10)", replace=False, commit_info={})
        results: dict[str, LoadResult] = {}
        started = threading.Event()

        def slow_append() -> None:
            # Long enough to read its snapshot, and still be writing when the other process commits.
            source = "SELECT n FROM (SELECT range AS n, hash(range) AS h FROM range(3000000) ORDER BY h)"
            started.set()
            results["slow"] = first.load("t", source, replace=False, commit_info={"who": "slow"})

        slow = threading.Thread(target=slow_append)
        slow.start()
        assert started.wait(10)
        results["quick"] = second.load("t", "SELECT -1 AS n", replace=False, commit_info={"who": "quick"})
        slow.join(120)

        quick, late = results["quick"], results["slow"]
        assert late.snapshot_id == quick.snapshot_id + 1  # the slow load read the lake before the quick one landed
        assert quick.row_count == 11
        assert late.row_count == 10 + 1 + 3_000_000 == first.row_count("t", late.snapshot_id)
        assert late.rows_loaded == 3_000_000
        versions = {s.snapshot_id: s.info for s in second.snapshots("t")}
        assert versions[quick.snapshot_id]["rowCount"] == 11
        assert versions[late.snapshot_id]["rowCount"] == 3_000_011
        assert versions[late.snapshot_id]["base"] < quick.snapshot_id  # it did land after the other commit
    finally:
        first.close()
        second.close()


def test_every_load_of_two_processes_appending_at_once_reports_its_own_snapshot(
    postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.new_database()
    lakes = [lake_in(tmp_path, catalog_url=url), lake_in(tmp_path, catalog_url=url)]
    try:
        lakes[0].create_table("t", [Column("n", DomoType.LONG)])
        results: list[LoadResult] = []

        def appends(lake: Lake, who: int) -> None:
            for k in range(20):
                results.append(lake.load("t", f"SELECT {who * 100 + k} AS n", replace=False, commit_info={}))

        threads = [threading.Thread(target=appends, args=(lake, who)) for who, lake in enumerate(lakes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len({r.snapshot_id for r in results}) == 40  # no load reports another's snapshot
        for r in results:
            assert r.row_count == lakes[1].row_count("t", r.snapshot_id), r
        assert sorted(r.row_count for r in results) == list(range(1, 41))
        rows = [s.info["rowCount"] for s in lakes[1].snapshots("t")]
        assert rows == list(range(1, 41))
    finally:
        for lake in lakes:
            lake.close()
