"""Two processes' loads into one DataSet on a PostgreSQL lake: when the other process commits while a load runs,
DuckLake lands the load after it instead of failing, and the row count the load reports (the DataSet's `rows`)
and the data version's row count are those of the snapshot it landed as, not of the one it read."""

from __future__ import annotations

import threading
import time
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
        # A slow load reads its snapshot, and is still writing when the other process commits a quick one. The
        # order is the threads', so the pair is tried up to three times until the quick one lands in between.
        landed_after = False
        for _ in range(3):
            before = first.row_count("t")
            results: dict[str, LoadResult] = {}
            started = threading.Event()

            def slow_append(into: dict[str, LoadResult] = results, go: threading.Event = started) -> None:
                source = "SELECT n FROM (SELECT range AS n, hash(range) AS h FROM range(3000000) ORDER BY h)"
                go.set()
                into["slow"] = first.load("t", source, replace=False, commit_info={"who": "slow"})

            slow = threading.Thread(target=slow_append)
            slow.start()
            assert started.wait(10)
            time.sleep(0.05)  # the slow load is in its transaction by now
            results["quick"] = second.load("t", "SELECT -1 AS n", replace=False, commit_info={"who": "quick"})
            slow.join(120)

            quick, late = results["quick"], results["slow"]
            assert late.rows_loaded == 3_000_000 and quick.rows_loaded == 1
            assert first.row_count("t") == before + 3_000_001
            versions = {s.snapshot_id: s.info for s in second.snapshots("t")}
            for r in (quick, late):  # whichever landed first, each counts the rows of its own snapshot
                assert r.row_count == first.row_count("t", r.snapshot_id) == versions[r.snapshot_id]["rowCount"]
            if versions[late.snapshot_id]["base"] < quick.snapshot_id < late.snapshot_id:
                assert late.row_count == before + 3_000_001  # not the before + 3_000_000 it counted itself
                landed_after = True
                break
        assert landed_after, "the quick load never landed while the slow one ran"
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
