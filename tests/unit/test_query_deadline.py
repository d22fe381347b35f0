"""A query's time limit counts from the request's arrival: time that went on waiting for the server is a 503
(Busy, retryable), SQL that ran too long a 400 (QueryTimeout), a client that hung up stops it at once. On a
real lake and sandbox (DuckDB, DuckLake), with the request's Cancel made by hand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from domolite.errors import Busy, QueryTimeout
from domolite.models.records import Column, DataSet, DomoType, Principal, Role, User
from domolite.query.door import Door
from domolite.server.cancel import Cancel, Cancelled
from tests.helpers import lake_in
from tests.unit import records

SLOW_SQL = "SELECT count(*) FROM table a, table b, table c, table d WHERE a.n + b.n + c.n + d.n = -1"
ADMIN = Principal(user=User(id=1, email="admin@example.com", name="Admin", role=Role.ADMIN), scopes=frozenset({"data"}))


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    root = tmp_path_factory.mktemp("lake")
    lake = lake_in(root, threads=2)
    door = Door(lake, timeout_s=2.0, max_rows=100, scratch_dir=root / "scratch")
    lake.create_table("numbers", [Column("n", DomoType.LONG)])
    lake.load("numbers", "SELECT range AS n FROM range(2000)", replace=True, commit_info={"test": 1})
    yield door
    door.close()
    lake.close()


def dataset() -> DataSet:
    return records.dataset(pdp=False, columns=(Column("n", DomoType.LONG),), table="numbers", row_count=2000)


def test_a_query_with_its_time_left_runs(door: Door) -> None:
    cancel = Cancel(deadline=time.monotonic() + 2.0)
    assert door.query(dataset(), ADMIN, "SELECT count(*) FROM table", cancel=cancel).rows == [[2000]]


def test_a_query_whose_whole_limit_went_on_waiting_is_busy_without_running(door: Door) -> None:
    with pytest.raises(Busy, match="too busy to start the query within its 2 s limit") as caught:
        door.query(dataset(), ADMIN, "SELECT count(*) FROM table", cancel=Cancel(deadline=time.monotonic()))
    assert caught.value.status == 503 and caught.value.retry_after_s >= 1


def test_a_query_that_waited_most_of_its_limit_and_then_ran_out_is_busy(door: Door) -> None:
    started = time.monotonic()
    with pytest.raises(Busy, match="waited 2 s for the server"):
        door.query(dataset(), ADMIN, SLOW_SQL, cancel=Cancel(deadline=started + 0.3))
    assert time.monotonic() - started < 1.5  # stopped at the deadline, not at a full limit from now


def test_sql_that_runs_past_the_limit_is_a_query_timeout(door: Door) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="longer than the 2 s limit"):
        door.query(dataset(), ADMIN, SLOW_SQL, cancel=Cancel(deadline=started + 2.0))
    assert 1.9 < time.monotonic() - started < 4


def test_a_query_whose_client_hung_up_stops_at_once(door: Door) -> None:
    cancel = Cancel(deadline=time.monotonic() + 2.0)
    threading.Timer(0.2, cancel.cancel, args=("the client hung up",)).start()
    started = time.monotonic()
    with pytest.raises(Cancelled, match="the client hung up"):
        door.query(dataset(), ADMIN, SLOW_SQL, cancel=cancel)
    assert time.monotonic() - started < 1.0


def test_a_query_that_finds_no_free_slot_within_its_limit_is_busy(door: Door) -> None:
    """With every slot taken by SQL that runs long, another query waits for one only within its limit."""
    held = [Cancel(deadline=time.monotonic() + 2.0) for _ in range(door.slots)]
    runners = [threading.Thread(target=_ignoring_errors, args=(door, c)) for c in held]
    for runner in runners:
        runner.start()
    time.sleep(0.3)  # the slow queries have their slots
    started = time.monotonic()
    with pytest.raises(Busy, match="query slots stayed busy"):
        door.query(dataset(), ADMIN, "SELECT count(*) FROM table", cancel=Cancel(deadline=started + 0.5))
    assert 0.4 < time.monotonic() - started < 1.0
    for cancel in held:
        cancel.cancel("done")
    for runner in runners:
        runner.join()
    assert door.query(dataset(), ADMIN, "SELECT count(*) FROM table").rows == [[2000]]


def _ignoring_errors(door: Door, cancel: Cancel) -> None:
    try:
        door.query(dataset(), ADMIN, SLOW_SQL, cancel=cancel)
    except Cancelled:
        pass
