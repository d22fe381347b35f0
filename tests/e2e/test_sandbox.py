"""The SQL sandbox: hostile SQL is refused with a 400 naming the reason, nothing leaks, the server stays
healthy; the time limit and the row cap give clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.hostile_sql import HOSTILE_SQL
from tests.e2e.people import query_rows
from tests.helpers import make_dataset
from tests.serverproc import Server

COLUMNS = [("n", "LONG"), ("s", "STRING")]
SLOW_SQL = "SELECT count(*) FROM table a, table b, table c, table d WHERE a.n + b.n + c.n + d.n = -1"


@pytest.fixture(scope="module")
def datasets(api: httpx.Client) -> tuple[str, str]:
    mine = make_dataset(api, COLUMNS, "sandboxed", csv="1,one\n2,two\n")["id"]
    other = make_dataset(api, COLUMNS, "other", csv="7,TOPSECRET\n")["id"]
    return mine, other


def test_at_least_thirty_hostile_strings() -> None:
    assert len(HOSTILE_SQL) >= 30
    assert len(set(HOSTILE_SQL)) == len(HOSTILE_SQL)


@pytest.mark.parametrize("sql", HOSTILE_SQL)
def test_hostile_sql_is_refused(server: Server, api: httpx.Client, datasets: tuple[str, str], sql: str) -> None:
    mine, other = datasets
    text = sql.format(
        parquet=server.data_dir / "lake" / "**" / "*.parquet",
        other_table="ds_" + other.replace("-", ""),
        other_id=other,
    )
    r = api.post(f"/v1/datasets/query/execute/{mine}", json={"sql": text})
    assert r.status_code == 400, (text, r.text)
    body = r.json()
    assert body["statusReason"] == "Bad Request" and body["message"]
    assert any(
        word in body["message"]
        for word in ("not allowed", "unknown table", "only", "empty", "does not parse", "table functions")
    ), body["message"]
    for secret in ("TOPSECRET", "root:", str(server.data_dir), "argon2", "ducklake_data_file"):
        if secret not in text:  # the reply may quote the caller's own SQL, nothing else
            assert secret not in r.text


def test_server_is_healthy_after_the_hostile_sql(api: httpx.Client, datasets: tuple[str, str]) -> None:
    mine, _ = datasets
    assert query_rows(api, mine, "SELECT n, s FROM table ORDER BY n") == [[1, "one"], [2, "two"]]
    assert not Path("/tmp/leak.csv").exists() and not Path("/tmp/x.db").exists()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        data_dir=tmp_path_factory.mktemp("strict") / "data",
        env={"DOMOLITE_QUERY_TIMEOUT_S": "1", "DOMOLITE_QUERY_MAX_ROWS": "5"},
    ).start()
    yield srv
    srv.stop()


def test_row_cap_and_time_limit_give_clear_errors(strict_server: Server) -> None:
    with strict_server.client() as http:
        ds = make_dataset(http, COLUMNS, "big", csv="".join(f"{i},x{i}\n" for i in range(2000)))["id"]
        assert len(query_rows(http, ds, "SELECT * FROM table LIMIT 5")) == 5
        capped = http.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table"})
        assert capped.status_code == 400
        assert "more than 5 rows" in capped.json()["message"]
        slow = http.post(
            f"/v1/datasets/query/execute/{ds}",
            json={"sql": SLOW_SQL},
        )
        assert slow.status_code == 400
        assert "1 s limit" in slow.json()["message"]
        assert query_rows(http, ds, "SELECT count(*) FROM table") == [[2000]]  # still healthy
