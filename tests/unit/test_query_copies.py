"""A DataSet queried twice at one data version is copied into memory in the background, and queries read the
copy from then on: the same rows in the same order, row policies applied the same way. A load moves the data
version: the files are read again until the new version is copied, and the old copy goes. Copies share a
budget (the least recently read go first), a DataSet too big for it is never copied, and a copy is never
removed while a query reads it.

Queries over a data version's files run as prepared statements on connections kept between queries; a
connection that saw an error is closed, and an interrupt made for one query never reaches the next."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb
import pytest

from domolite.catalog.clock import utcnow
from domolite.errors import InvalidSql
from domolite.models.records import Column, DataSet, DomoType, Principal, Role, User
from domolite.query.copies import VALUE_BYTES, Copies
from domolite.query.door import Door, _duck_message
from domolite.query.prepared import ConnectionPool
from domolite.storage.lake import Lake
from domolite.storage.sqltext import literal
from tests.helpers import lake_in
from tests.unit import records

ADMIN = Principal(user=User(id=1, email="admin@example.com", name="Admin", role=Role.ADMIN), scopes=frozenset({"data"}))
COLUMNS = (Column("n", DomoType.LONG), Column("label", DomoType.STRING), Column("price", DomoType.DECIMAL))
ROWS = "SELECT range AS n, 'row ' || range AS label, range * 1.25 AS price FROM range({start}, {stop})"
T = TypeVar("T")


def eventually(what: Callable[[], T], timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while not (found := what()):
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)
    return found


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    lake = lake_in(tmp_path)
    for table in ("t", "u"):
        lake.create_table(table, list(COLUMNS))
    yield lake
    lake.close()


def load(lake: Lake, start: int, stop: int, table: str = "t") -> int:
    return lake.load(table, ROWS.format(start=start, stop=stop), replace=True, commit_info={}).snapshot_id


def dataset(table: str, version: int, rows: int, pdp: bool = False) -> DataSet:
    return dataclasses.replace(
        records.dataset(pdp=pdp, columns=COLUMNS, table=table, row_count=rows), data_version=version
    )


class OddRowsOnly:
    """Row policies as access/policies.py gives them: this one leaves every principal the odd rows."""

    def row_filter(self, dataset: DataSet, principal: Principal) -> str | None:
        return '"n" % 2 = 1'


def door_over(lake: Lake, tmp_path: Path, budget: int = 64 * 2**20, steady_s: float = 0.0, **how: object) -> Door:
    door = Door(
        lake, timeout_s=10.0, max_rows=100_000, scratch_dir=tmp_path / "scratch", copy_budget_bytes=budget, **how
    )  # type: ignore[arg-type]
    door.copies.steady_s = steady_s
    return door


def test_a_dataset_read_twice_is_copied_and_the_copy_gives_the_same_rows_in_order(lake: Lake, tmp_path: Path) -> None:
    version = load(lake, 0, 5000)
    door = door_over(lake, tmp_path)
    try:
        ds = dataset("t", version, 5000)
        sql = "SELECT n, label, price FROM table WHERE n >= 10 AND n < 20"
        from_files = door.query(ds, ADMIN, sql).rows
        assert door.copies.names == []  # one read: not yet
        assert door.query(ds, ADMIN, sql).rows == from_files
        [name] = eventually(lambda: door.copies.names)
        assert door.copies.size > 0
        with door.lake.cursor(con=door._sandbox) as cur:  # the copy holds the version's rows, in the files' order
            assert cur.execute(f"SELECT n FROM {name}.main.t").fetchall() == [(i,) for i in range(5000)]
        from_copy = door.query(ds, ADMIN, sql).rows
        assert from_copy == from_files and [r[0] for r in from_copy] == list(range(10, 20))
        assert from_copy[3] == [13, "row 13", 16.25]
        everything = door.query(ds, ADMIN, "SELECT n FROM table").rows
        assert [r[0] for r in everything] == list(range(5000))
        # A load moves the data version: the new rows are read from the files, then copied; the old copy goes.
        newer = load(lake, 7000, 7003)
        moved = dataset("t", newer, 3)
        assert door.query(moved, ADMIN, "SELECT n FROM table").rows == [[7000], [7001], [7002]]
        assert door.copies.names == [name]
        assert door.query(moved, ADMIN, "SELECT n FROM table").rows == [[7000], [7001], [7002]]
        [newer_name] = eventually(lambda: [n for n in door.copies.names if n != name])
        assert door.copies.names == [newer_name]
        assert door.query(moved, ADMIN, "SELECT sum(n) AS s FROM table").rows == [[21003]]
    finally:
        door.close()


def test_a_version_is_copied_only_once_it_has_stood_a_while(lake: Lake, tmp_path: Path) -> None:
    version = load(lake, 0, 100)
    door = door_over(lake, tmp_path, steady_s=1.5)
    try:
        just_loaded = dataclasses.replace(dataset("t", version, 100), data_updated_at=utcnow())
        for _ in range(3):  # read again and again just after its load (as while it is loaded again and again)
            assert door.query(just_loaded, ADMIN, "SELECT count(*) AS c FROM table").rows == [[100]]
        time.sleep(0.3)
        assert door.copies.names == []
        time.sleep(1.3)
        assert door.query(just_loaded, ADMIN, "SELECT count(*) AS c FROM table").rows == [[100]]
        eventually(lambda: door.copies.names)
    finally:
        door.close()


def test_row_policies_apply_to_a_copy_as_to_the_files(lake: Lake, tmp_path: Path) -> None:
    version = load(lake, 0, 100)
    door = door_over(lake, tmp_path, policies=OddRowsOnly())
    try:
        ds = dataset("t", version, 100, pdp=True)
        sql = "SELECT n FROM table WHERE n < 10"
        assert door.query(ds, ADMIN, sql).rows == [[1], [3], [5], [7], [9]]
        door.query(ds, ADMIN, sql)
        eventually(lambda: door.copies.names)
        assert door.query(ds, ADMIN, sql).rows == [[1], [3], [5], [7], [9]]
        assert door.query(ds, ADMIN, "SELECT count(*) AS c FROM table").rows == [[50]]
    finally:
        door.close()


@pytest.mark.parametrize("budget", [1000 * len(COLUMNS) * VALUE_BYTES - 1, 0], ids=["too big for it", "copies off"])
def test_a_dataset_too_big_for_the_budget_is_never_copied(lake: Lake, tmp_path: Path, budget: int) -> None:
    version = load(lake, 0, 1000)
    door = door_over(lake, tmp_path, budget=budget)
    try:
        ds = dataset("t", version, 1000)
        for _ in range(4):
            assert door.query(ds, ADMIN, "SELECT count(*) AS c FROM table").rows == [[1000]]
        time.sleep(0.3)
        assert door.copies.names == []
    finally:
        door.close()


@pytest.fixture
def copies(lake: Lake) -> Iterator[Copies]:
    con = lake.instance(None, "1GB")
    con.execute(f"SET allowed_directories = [{literal(lake.readable_root)}]")
    copies = Copies(con, 64 * 2**20)
    copies.steady_s = 0.0
    yield copies
    copies.close()
    con.close()


def read_twice(copies: Copies, key: tuple[object, ...], files: str) -> None:
    for _ in range(2):
        with copies.reading(key, files, 1, 60.0) as found:
            assert found is None


def test_past_the_budget_the_least_recently_read_copy_goes(lake: Lake, copies: Copies) -> None:
    t_files = lake.files_at("t", load(lake, 0, 20_000), list(COLUMNS))
    u_files = lake.files_at("u", load(lake, 0, 20_000, table="u"), list(COLUMNS))
    assert t_files is not None and u_files is not None
    read_twice(copies, ("t", 1), t_files)
    [first] = eventually(lambda: copies.names)
    copies.budget_bytes = copies.size + 1  # room for this one copy only
    read_twice(copies, ("u", 1), u_files)
    [second] = eventually(lambda: [n for n in copies.names if n != first])
    assert copies.names == [second]
    with copies.reading(("t", 1), t_files, 1, 60.0) as found:
        assert found is None  # read from its files again
    with copies.reading(("u", 1), u_files, 1, 60.0) as found:
        assert found == f"{second}.main.t"


def test_a_copy_being_read_is_removed_only_when_its_reader_is_done(lake: Lake, copies: Copies) -> None:
    version = load(lake, 0, 50)
    files = lake.files_at("t", version, list(COLUMNS))
    assert files is not None
    read_twice(copies, ("t", version), files)
    eventually(lambda: copies.names)
    con = copies._con
    with copies.reading(("t", version), files, 1, 60.0) as table:
        assert table is not None
        read_twice(copies, ("t", version + 1), files)  # the same DataSet at another version: this one is stale
        eventually(lambda: copies.names and table.split(".")[0] not in copies.names)
        # Retired, but still read: it stays until this reader is done.
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(50,)]
    gone = table.split(".")[0]

    def attached() -> list[str]:
        return [r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()]

    eventually(lambda: gone not in attached())


def test_an_error_never_names_a_copy() -> None:
    said = _duck_message(Exception('Binder Error: Table "domolite_copy_12.main.t" does not have a column "x"'))
    assert "domolite_copy" not in said and 'Table "table"' in said


def test_a_query_over_files_runs_prepared_on_a_kept_connection(tmp_path: Path) -> None:
    db = duckdb.connect()
    pool = ConnectionPool(db.cursor, keep=2)
    try:
        with pool.connection() as held:
            assert held.execute("SELECT 41 + 1").fetchall() == [(42,)]
            assert held.execute("SELECT 41 + 1").fetchall() == [(42,)]
            assert held.prepared == 1
            for n in range(3):
                held.execute(f"SELECT {n}")
            assert held.prepared == 2  # the least recently run went
            first = held
        with pool.connection() as again:
            assert again is first and pool.idle == 0
        assert pool.idle == 1
        # An interrupt made for that query does nothing to the next one on the same connection.
        with pool.connection() as held:
            late = held.interrupter()
        with pool.connection() as held:
            timer = threading.Timer(0.05, late)
            timer.start()
            try:
                assert held.execute("SELECT sum(range) FROM range(300000000)").fetchall() == [(44999999850000000,)]
            finally:
                timer.join()
        # A connection that saw an error is not kept.
        with pytest.raises(duckdb.Error), pool.connection() as broken:
            broken.execute("SELECT * FROM no_such_table")
        assert pool.idle == 0
        with pool.connection() as fresh:
            assert fresh is not broken and fresh.prepared == 0
    finally:
        pool.close()
        db.close()


def test_a_dataset_the_catalog_says_is_empty_is_answered_without_reading_the_lake(lake: Lake, tmp_path: Path) -> None:
    """An empty DataSet is answered as no rows of its schema's types, never through DuckLake (each DuckLake read at
    a new schema version keeps one more copy of the catalog in the sandbox): here its table is not even in the
    lake, and only a DataSet said to hold rows goes to look for it."""
    door = door_over(lake, tmp_path, policies=OddRowsOnly())
    try:
        empty = dataclasses.replace(dataset("not_in_the_lake", 0, 0), data_version=None)
        answer = door.query(empty, ADMIN, "SELECT n, label, price, count(*) OVER () AS c FROM table")
        assert (answer.columns, answer.rows, answer.row_count) == (["n", "label", "price", "c"], [], 0)
        assert [t.value for t in answer.types] == ["LONG", "STRING", "DECIMAL", "LONG"]
        assert door.query(empty, ADMIN, "SELECT count(*) AS n, sum(price) AS p FROM table").rows == [[0, None]]
        with pytest.raises(InvalidSql):
            door.query(dataclasses.replace(empty, row_count=5), ADMIN, "SELECT n FROM table")
    finally:
        door.close()
