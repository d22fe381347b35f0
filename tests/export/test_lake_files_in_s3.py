"""A lake in S3 (moto in server mode): the door reads a DataSet's Parquet files straight from the bucket, with
the same rows as DuckLake's own read."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from domolite.query.door import Door
from domolite.storage.lake import Lake
from domolite.storage.s3 import LakeBucket
from tests.export.conftest import KEYS
from tests.unit import records
from tests.unit.test_lake_files import ADMIN, COLUMNS, ROWS


def test_the_files_of_a_lake_in_s3_are_read_straight(tmp_path: Path, s3: Any, bucket: str, s3_url: str) -> None:
    lake = Lake(
        catalog_url=f"sqlite:///{tmp_path / 'catalog.sqlite'}",
        lake_dir=tmp_path / "lake",
        extension_dir=tmp_path / "extensions",
        threads=1,
        memory_limit="500MB",
        bucket=LakeBucket(
            url=f"s3://{bucket}/team",
            region="us-east-1",
            endpoint_url=s3_url,
            path_style=True,
            access_key=KEYS["awsAccessKey"],
            secret_key=KEYS["awsAccessSecret"],
        ),
    )
    door = Door(lake, timeout_s=30.0, max_rows=100, scratch_dir=tmp_path / "scratch")
    try:
        lake.create_table("t", COLUMNS)
        lake.load("t", ROWS.format(start=0, stop=3), replace=False, commit_info={})
        version = lake.load("t", ROWS.format(start=3, stop=5), replace=False, commit_info={}).snapshot_id
        source = lake.files_at("t", version, COLUMNS)
        assert source is not None and source.count(f"'s3://{bucket}/team/lake/") == 2
        ds = dataclasses.replace(
            records.dataset(pdp=False, columns=tuple(COLUMNS), table="t", row_count=5), data_version=version
        )
        found = door.query(ds, ADMIN, "SELECT n, label FROM table ORDER BY n DESC LIMIT 2").rows
        assert lake._file_lists.peek(("t", version, tuple((c.name, c.type) for c in COLUMNS))) == source
        assert found == [[4, "row 4"], [3, "row 3"]]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="team/lake/")["Contents"]]
        assert sum(k.endswith(".parquet") for k in keys) == 2
    finally:
        door.close()
        lake.close()
