"""A query reads a DataSet's Parquet files straight, at the data version the catalog names, whenever that gives
exactly the rows DuckLake's own read gives (same values, same order, today's names and types), and through
DuckLake otherwise: deleted rows, a column renamed, retyped or added since a file was written, a file gone."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from domolite.models.records import Column, DataSet, DomoType, Principal, Role, User
from domolite.query.door import Door
from domolite.storage.lake import Lake
from tests.helpers import lake_in
from tests.unit import records

ADMIN = Principal(user=User(id=1, email="admin@example.com", name="Admin", role=Role.ADMIN), scopes=frozenset({"data"}))
COLUMNS = [Column("n", DomoType.LONG), Column("label", DomoType.STRING), Column("price", DomoType.DECIMAL)]
ROWS = "SELECT range AS n, 'row ' || range AS label, range * 1.25 AS price FROM range({start}, {stop})"


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    lake = lake_in(tmp_path)
    lake.create_table("t", COLUMNS)
    yield lake
    lake.close()


def load(lake: Lake, start: int, stop: int, **how: object) -> int:
    how.setdefault("replace", False)
    return lake.load("t", ROWS.format(start=start, stop=stop), commit_info={}, **how).snapshot_id  # type: ignore[arg-type]


def through_ducklake(lake: Lake, version: int, columns: list[Column] = COLUMNS) -> list[tuple[object, ...]]:
    names = ", ".join(f'"{c.name}"' for c in columns)
    with lake.cursor() as cur:
        return cur.execute(f"SELECT {names} FROM {lake.qualified('t', version)}").fetchall()


def straight(lake: Lake, source: str, columns: list[Column] = COLUMNS) -> list[tuple[object, ...]]:
    names = ", ".join(f'"{c.name}"' for c in columns)
    with lake.cursor() as cur:
        return cur.execute(f"SELECT {names} FROM {source}").fetchall()


def test_appended_files_are_read_straight_in_the_tables_order(lake: Lake) -> None:
    load(lake, 0, 3)
    load(lake, 3, 5)
    version = load(lake, 5, 9)
    source = lake.files_at("t", version, COLUMNS)
    assert source is not None and source.startswith("read_parquet([") and source.count(".parquet'") == 3
    rows = straight(lake, source)
    assert rows == through_ducklake(lake, version)
    assert [r[0] for r in rows] == list(range(9)) and str(rows[8][2]) == "10.000000000"


def test_a_replace_is_read_straight_and_an_older_version_reads_its_own_files(lake: Lake) -> None:
    old = load(lake, 0, 4)
    new = load(lake, 100, 102, replace=True)
    now = lake.files_at("t", new, COLUMNS)
    then = lake.files_at("t", old, COLUMNS)
    assert now is not None and then is not None
    assert [r[0] for r in straight(lake, now)] == [100, 101]
    assert [r[0] for r in straight(lake, then)] == [0, 1, 2, 3]


def test_deleted_rows_are_read_through_ducklake(lake: Lake) -> None:
    load(lake, 0, 4)
    version = lake.load("t", ROWS.format(start=2, stop=3), replace=False, key_columns=["n"], commit_info={}).snapshot_id
    assert lake.files_at("t", version, COLUMNS) is None
    assert [r[0] for r in through_ducklake(lake, version)] == [0, 1, 3, 2]


def test_a_schema_change_since_a_file_was_written_reads_through_ducklake(lake: Lake) -> None:
    version = load(lake, 0, 3)
    renamed = [Column("number", DomoType.LONG), *COLUMNS[1:]]
    lake.evolve("t", COLUMNS, renamed, renamed_from={"number": "n"})
    assert lake.files_at("t", version, renamed) is None  # the file calls it n
    again = lake.load(
        "t", ROWS.format(start=7, stop=8).replace("AS n,", "AS number,"), replace=True, commit_info={}
    ).snapshot_id
    source = lake.files_at("t", again, renamed)
    assert source is not None and straight(lake, source, renamed) == [(7, "row 7", lake_decimal("8.75"))]

    retyped = [renamed[0], renamed[1], Column("price", DomoType.DOUBLE)]
    lake.evolve("t", renamed, retyped)
    assert lake.files_at("t", again, retyped) is None  # the file holds a DECIMAL
    added = [*renamed, Column("extra", DomoType.STRING)]
    assert lake.files_at("t", again, added) is None  # no such column in the file


def test_a_remembered_list_is_forgotten_when_the_schema_changes(lake: Lake) -> None:
    version = load(lake, 0, 3)
    assert lake.files_at("t", version, COLUMNS) is not None  # remembered
    lake.evolve("t", COLUMNS, [COLUMNS[0], COLUMNS[2]])
    lake.evolve("t", [COLUMNS[0], COLUMNS[2]], COLUMNS)  # label again: a new column, with no values in the file
    assert lake.files_at("t", version, COLUMNS) is None
    assert [r[1] for r in through_ducklake(lake, lake.latest_snapshot())] == [None, None, None]


def test_a_compacted_file_holding_later_rows_is_read_through_ducklake_at_an_earlier_version(lake: Lake) -> None:
    first = load(lake, 0, 3)
    second = load(lake, 3, 5)
    assert lake.compact("t") == 2
    assert lake.files_at("t", first, COLUMNS) is None  # the merged file also holds the second load's rows
    assert [r[0] for r in through_ducklake(lake, first)] == [0, 1, 2]
    source = lake.files_at("t", second, COLUMNS)
    assert source is not None and straight(lake, source) == through_ducklake(lake, second)
    assert [r[0] for r in straight(lake, source)] == [0, 1, 2, 3, 4]


def test_a_dropped_column_leaves_the_files_readable_straight(lake: Lake) -> None:
    version = load(lake, 0, 3)
    fewer = COLUMNS[:2]
    lake.evolve("t", COLUMNS, fewer)
    source = lake.files_at("t", version, fewer)
    assert source is not None and straight(lake, source, fewer) == [(0, "row 0"), (1, "row 1"), (2, "row 2")]


def lake_decimal(text: str) -> object:
    import decimal

    return decimal.Decimal(text).quantize(decimal.Decimal("1.000000000"))


def dataset_at(version: int) -> DataSet:
    return dataclasses.replace(
        records.dataset(pdp=False, columns=tuple(COLUMNS), table="t", row_count=4), data_version=version
    )


def test_the_door_reads_straight_and_falls_back_when_a_file_is_gone(lake: Lake, tmp_path: Path) -> None:
    version = load(lake, 0, 4)
    door = Door(lake, timeout_s=10.0, max_rows=100, scratch_dir=tmp_path / "scratch")
    try:
        ds = dataset_at(version)
        key = ("t", version, tuple((c.name, c.type) for c in COLUMNS))
        # Downloads and exports (their SQL may run long after it was made) and time travel read through DuckLake.
        assert "read_parquet(" not in door.source_sql(ds, ADMIN)
        assert "read_parquet(" not in door.source_sql(ds, ADMIN, version=version)
        assert door.query(ds, ADMIN, "SELECT sum(n) AS s FROM table", version=version).rows == [[6]]
        assert key not in lake._file_lists
        assert door.query(ds, ADMIN, "SELECT sum(n) AS s FROM table").rows == [[6]]  # a query reads straight
        assert "read_parquet([" in str(lake._file_lists.peek(key))
        # A remembered list whose file cannot be read (as if it went): the query asks DuckLake, and the list goes.
        lake._file_lists.put(key, f"read_parquet(['{tmp_path / 'lake' / 'data' / 'gone.parquet'}'])")
        assert door.query(ds, ADMIN, "SELECT sum(n) AS s FROM table").rows == [[6]]
        assert key not in lake._file_lists
        assert door.query(ds, ADMIN, "SELECT sum(n) AS s FROM table").rows == [[6]]
        assert key in lake._file_lists and "gone.parquet" not in str(lake._file_lists.peek(key))
    finally:
        door.close()


def test_an_error_never_names_the_lakes_files() -> None:
    from domolite.query.door import _duck_message

    spaced = _duck_message(
        Exception("IO Error: Cannot open file '/srv/my lake/data/main/t/x.parquet'"), root="/srv/my lake/"
    )
    assert "my lake" not in spaced and "/srv" not in spaced
    said = _duck_message(
        Exception(
            'IO Error: Cannot open file "/srv/data/lake/data/main/ds_0123456789abcdef0123456789abcdef/x.parquet"'
            " in read_parquet(['/srv/data/lake/data/a.parquet', '/srv/b.parquet'], union_by_name = true)"
        )
    )
    assert ".parquet" not in said and "/srv" not in said and "read_parquet" not in said
    assert said.startswith("IO Error: Cannot open file")
