"""The SQL sandbox's first wall: user SQL is parsed and refused (InvalidSql, naming why) unless it is one SELECT
over the DataSet, and what passes reads only the door's SELECT. The same hostile strings go through a server
in tests/e2e/test_sandbox.py, where the locked-down DuckDB connection is the second wall."""

from __future__ import annotations

import pytest

from domolite.errors import InvalidSql
from domolite.query.sql import paged, rewrite
from tests.e2e.hostile_sql import HOSTILE_SQL

pytestmark = pytest.mark.unit

DATASET_ID = "5e7b1c2a-0000-4000-8000-000000000001"
SOURCE = 'SELECT "n", "s" FROM lake.main."ds_mine" WHERE ("s" <> \'hidden\')'
REASONS = ("not allowed", "unknown table", "only", "empty", "does not parse", "table functions")


@pytest.mark.parametrize("sql", HOSTILE_SQL)
def test_hostile_sql_is_refused_naming_the_reason(sql: str) -> None:
    # Another DataSet is named by its id or its lake table (a single name that is neither means this DataSet).
    text = sql.format(
        parquet="/srv/data/lake/**/*.parquet",
        other_table="ds_" + "0123456789abcdef" * 2,
        other_id="5e7b1c2a-0000-4000-8000-000000000002",
    )
    with pytest.raises(InvalidSql) as refused:
        rewrite(text, DATASET_ID, SOURCE)
    assert any(reason in refused.value.message for reason in REASONS), refused.value.message


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT n, s FROM table WHERE n > 1 ORDER BY n",
        f"SELECT count(*) AS c FROM `{DATASET_ID}`",
        "WITH t2 AS (SELECT n FROM table) SELECT sum(n) FROM t2",
        "SELECT a.n FROM table a JOIN table b ON a.n = b.n",
    ],
)
def test_a_select_over_the_dataset_reads_only_the_doors_select(sql: str) -> None:
    out = rewrite(sql, DATASET_ID, SOURCE)
    assert out.count("lake.main") == out.count('"ds_mine"') >= 1
    assert out.count("'hidden'") == out.count("lake.main"), "every read of the DataSet keeps the row filter"


def test_a_clients_page_clause_applies_to_the_whole_result() -> None:
    assert (
        paged("SELECT n FROM table LIMIT 5", 2, 1)
        == "SELECT * FROM (SELECT n FROM table LIMIT 5) AS _page LIMIT 2 OFFSET 1"
    )
