"""PDP row filters as SQL, run on a real DuckDB table: the union of the caller's policies, fail closed, values
always literals of the column's type (a hostile value is data, never SQL)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb
import pytest

from domolite.access.rowfilter import NO_ROWS, row_filter
from domolite.errors import InvalidField
from domolite.models.access import FilterOperator as Op
from domolite.models.access import Policy, PolicyFilter
from domolite.models.records import Column, DomoType
from tests.unit.records import COLUMNS, policy, where

pytestmark = pytest.mark.unit

ROWS = [
    ("East", 10, "2026-01-01"),
    ("West", 20, "2026-02-01"),
    ("east", 30, "2026-03-01"),
    (None, 40, "2026-04-01"),
    ("x' OR '1'='1", 50, "2026-05-01"),
]


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute('CREATE TABLE t ("region" VARCHAR, "amount" BIGINT, "day" DATE)')
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    yield con
    con.close()


def seen(
    db: duckdb.DuckDBPyConnection, policies: Sequence[Policy], user: int = 2, groups: set[int] | None = None
) -> list[int]:
    """The amounts of the rows the user sees."""
    clause = row_filter(COLUMNS, policies, user, frozenset(groups or ()))
    return sorted(r[1] for r in db.execute(f"SELECT * FROM t WHERE {clause}").fetchall())


def test_named_in_no_policy_sees_no_rows(db: duckdb.DuckDBPyConnection) -> None:
    policies = [policy(1, where("region", Op.EQUALS, "East"), users=(3,))]
    assert row_filter(COLUMNS, policies, 2, frozenset()) == NO_ROWS
    assert seen(db, policies) == []


def test_an_open_policy_naming_the_caller_shows_every_row(db: duckdb.DuckDBPyConnection) -> None:
    policies = [policy(1, users=(2,), open_=True), policy(2, where("region", Op.EQUALS, "East"), users=(2,))]
    assert seen(db, policies) == [10, 20, 30, 40, 50]


def test_the_caller_sees_the_union_of_their_policies_and_their_groups(db: duckdb.DuckDBPyConnection) -> None:
    policies = [
        policy(1, where("region", Op.EQUALS, "East"), users=(2,)),
        policy(2, where("amount", Op.GREATER_THAN_EQUAL, "40"), groups=(7,)),
        policy(3, where("amount", Op.EQUALS, "20"), groups=(8,)),
    ]
    assert seen(db, policies, groups={7}) == [10, 40, 50]


def test_filters_of_one_policy_are_anded(db: duckdb.DuckDBPyConnection) -> None:
    both = policy(1, where("region", Op.EQUALS, "east", ignore_case=True), where("amount", Op.LESS_THAN, "25"))
    assert seen(db, [policy(1, *both.filters, users=(2,))]) == [10]


def test_null_never_matches_a_filter_and_so_matches_its_negation(db: duckdb.DuckDBPyConnection) -> None:
    assert seen(db, [policy(1, where("region", Op.EQUALS, "East", negate=True), users=(2,))]) == [20, 30, 40, 50]


def test_a_filter_on_a_column_that_is_gone_matches_nothing(db: duckdb.DuckDBPyConnection) -> None:
    assert seen(db, [policy(1, where("gone", Op.EQUALS, "East"), users=(2,))]) == []


def test_a_user_policy_without_filters_grants_nothing(db: duckdb.DuckDBPyConnection) -> None:
    assert seen(db, [policy(1, users=(2,))]) == []


@pytest.mark.parametrize(
    ("flt", "amounts"),
    [
        (where("region", Op.BEGINS_WITH, "Ea"), [10]),
        (where("region", Op.ENDS_WITH, "st", ignore_case=True), [10, 20, 30]),
        (where("region", Op.CONTAINS, "'1'='1"), [50]),
        (where("region", Op.LIKE, "W%"), [20]),
        (where("amount", Op.BETWEEN, "15", "35"), [20, 30]),
        (where("day", Op.GREATER_THAN, "2026-03-01"), [40, 50]),
    ],
)
def test_each_operator(db: duckdb.DuckDBPyConnection, flt: PolicyFilter, amounts: list[int]) -> None:
    assert seen(db, [policy(1, flt, users=(2,))]) == amounts


@pytest.mark.parametrize(
    "value",
    ["x' OR '1'='1", "East'); DROP TABLE t; --", "' UNION SELECT * FROM t --", '"; SELECT 1; "', "\\'"],
)
def test_a_hostile_value_is_matched_as_text(db: duckdb.DuckDBPyConnection, value: str) -> None:
    found = seen(db, [policy(1, where("region", Op.EQUALS, value), users=(2,))])
    assert found == ([50] if value == ROWS[4][0] else [])
    assert db.execute("SELECT count(*) FROM t").fetchone() == (len(ROWS),)


@pytest.mark.parametrize(("column", "value"), [("amount", "1 OR 1=1"), ("day", "2026-01-01' OR '1'='1")])
def test_a_value_not_of_the_column_type_is_refused_naming_it(column: str, value: str) -> None:
    with pytest.raises(InvalidField) as refused:
        row_filter(COLUMNS, [policy(1, where(column, Op.EQUALS, value), users=(2,))], 2, frozenset())
    assert refused.value.field == "values" and column in refused.value.message


def test_a_datetime_value_with_an_offset_matches_the_utc_time_it_names() -> None:
    # Loaded DATETIMEs with an offset are stored in UTC; a policy's value is read the same way.
    columns = (Column("t", DomoType.DATETIME),)
    con = duckdb.connect()
    con.execute("CREATE TABLE s (t TIMESTAMP, name VARCHAR)")
    con.execute(
        "INSERT INTO s VALUES ('2024-01-01 00:00:00', 'utc midnight'), ('2023-12-31 19:00:00', 'plus5 midnight')"
    )

    def names(value: str) -> list[str]:
        clause = row_filter(columns, [policy(1, where("t", Op.EQUALS, value), users=(2,))], 2, frozenset())
        return [r[0] for r in con.execute(f"SELECT name FROM s WHERE {clause}").fetchall()]

    assert names("2024-01-01T00:00:00+05:00") == ["plus5 midnight"]
    assert names("2024-01-01T00:00:00Z") == ["utc midnight"]
    assert names("2024-01-01T00:00:00") == ["utc midnight"]  # no offset: as written, as a load does
    with pytest.raises(InvalidField) as refused:  # out of range once moved to UTC
        names("0001-01-01T00:00:00+05:00")
    assert refused.value.field == "values" and "'t'" in refused.value.message
