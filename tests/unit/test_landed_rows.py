"""The rows that commits of a span of time wrote (S3 Unload Writeback's Specific Day without a date column), on a
real lake: DuckLake's snapshot of each row, kept through later commits, deletes and compaction."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domolite.models.records import Column, DomoType, Principal, Role, User
from domolite.query.door import Door
from tests.helpers import lake_in
from tests.unit import records

ADMIN = Principal(user=User(id=1, email="admin@example.com", name="Admin", role=Role.ADMIN), scopes=frozenset({"data"}))
COLUMNS = (Column("n", DomoType.LONG),)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_the_rows_a_span_of_commits_wrote(tmp_path: Path) -> None:
    lake = lake_in(tmp_path)
    door = Door(lake, timeout_s=10.0, max_rows=100, scratch_dir=tmp_path / "scratch")
    try:
        lake.create_table("numbers", list(COLUMNS))
        lake.load("numbers", "SELECT range AS n FROM range(3)", replace=False, commit_info={"test": 1})
        time.sleep(0.05)
        start = utcnow()
        time.sleep(0.05)
        lake.load("numbers", "SELECT 10 + range AS n FROM range(2)", replace=False, commit_info={"test": 2})
        lake.load("numbers", "SELECT 20 AS n", replace=False, commit_info={"test": 3})
        time.sleep(0.05)
        end = utcnow()
        time.sleep(0.05)
        lake.load("numbers", "SELECT 30 AS n", replace=False, commit_info={"test": 4})
        lake.compact("numbers")
        now = utcnow()
        ds = records.dataset(pdp=False, columns=COLUMNS, table="numbers", row_count=7)

        def landed(a: datetime, b: datetime) -> list[int]:
            sql = door.source_sql(ds, ADMIN, landed=(a, b))
            with lake.cursor() as cur:
                return sorted(int(r[0]) for r in cur.execute(sql).fetchall())

        assert landed(start, end) == [10, 11, 20]
        assert landed(end, now + timedelta(seconds=1)) == [30]
        assert landed(start - timedelta(days=1), start) == [0, 1, 2]
        assert landed(now + timedelta(seconds=1), now + timedelta(days=1)) == []
        assert len(landed(start - timedelta(days=1), now + timedelta(days=1))) == 7
    finally:
        door.close()
        lake.close()
