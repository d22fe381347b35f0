"""A commit or an import that waits for the lake's write turn while a schema change (or a delete) holds it loads
into the DataSet as it is once its turn comes: parts that no longer fit are a 400 naming the part and the line
(the execution ends ERROR, as for any part that does not fit), a DataSet deleted meanwhile is a 404, and the data
is untouched. Before, the commit used the DataSet it read before waiting, and failed on an internal error.

A delete that finds the lake busy leaves the DataSet's table there; the next start removes it with its files."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from domolite.app import create_app
from domolite.auth.bootstrap import create_user
from domolite.errors import Busy, DataSetNotFound, InvalidCsv, InvalidSql
from domolite.models.audit import AuditQuery
from domolite.models.records import Column, DomoType, ExecutionState, Principal, UpdateMethod
from domolite.services import Services, build_services, remove_orphans
from domolite.settings import Settings

TWO = [Column("n", DomoType.LONG), Column("city", DomoType.STRING)]
ONE = [Column("n", DomoType.LONG)]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(Settings(data_dir=tmp_path / "data"))
    try:
        yield built
    finally:
        built.door.close()
        built.lake.close()
        built.catalog.close()


def admin_of(services: Services) -> Principal:
    user = create_user(services.catalog, "a@example.com", "A", "Admin", None)
    return Principal(user=user, scopes=frozenset({"data", "user"}))


def while_the_turn_is_held(services: Services, load: Callable[[], Any], change: Callable[[], Any]) -> Any:
    """Run `load` on a thread while this thread holds the lake's write turn; once `load` waits for the turn,
    make `change` (which takes the turn again, inside), then let `load` go. Returns what `load` returned or
    raised."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = load()
        except Exception as exc:
            outcome["value"] = exc

    with services.lake.writing():
        loader = threading.Thread(target=run)
        loader.start()
        time.sleep(0.5)  # the load has read the DataSet and waits for the turn
        assert loader.is_alive()
        change()
    loader.join(timeout=60)
    assert not loader.is_alive()
    return outcome["value"]


def lake_rows(services: Services, dataset_id: str) -> int:
    return services.lake.row_count(services.catalog.datasets.get(dataset_id).table)


def test_a_commit_waiting_out_a_schema_change_is_checked_against_the_new_schema(services: Services) -> None:
    admin = admin_of(services)
    dataset, stream = services.datasets.create(admin, name="moving", description="", columns=TWO)
    execution = services.ingest.open_execution(stream, dataset, None)
    services.ingest.stage_part(stream.id, execution.id, 1, b"1,Oslo\n")

    def drop_city() -> None:
        services.datasets.update(admin, dataset.id, columns=ONE)

    refused = while_the_turn_is_held(
        services, lambda: services.ingest.commit(dataset, stream, execution.id, by=admin), drop_city
    )
    assert isinstance(refused, InvalidCsv), refused
    assert "part 1, line 1" in refused.message and "expected 1 columns, found 2" in refused.message
    assert services.catalog.streams.get_execution(stream.id, execution.id).state is ExecutionState.ERROR
    assert services.catalog.datasets.get(dataset.id).row_count == 0 and lake_rows(services, dataset.id) == 0


def test_a_commit_waiting_out_a_delete_is_a_not_found(services: Services) -> None:
    admin = admin_of(services)
    dataset, stream = services.datasets.create(admin, name="going", description="", columns=ONE)
    execution = services.ingest.open_execution(stream, dataset, None)
    services.ingest.stage_part(stream.id, execution.id, 1, b"1\n")
    gone = while_the_turn_is_held(
        services,
        lambda: services.ingest.commit(dataset, stream, execution.id, by=admin),
        lambda: services.datasets.delete(admin, dataset.id),
    )
    assert isinstance(gone, DataSetNotFound), gone


def test_an_import_received_before_a_schema_change_is_loaded_into_the_new_schema(services: Services) -> None:
    admin = admin_of(services)
    dataset, _stream = services.datasets.create(admin, name="imported", description="", columns=TWO)

    async def body() -> Any:
        yield b"1,Oslo\n"

    path = anyio.run(lambda: services.ingest.receive_import(dataset, body(), gzip=False))
    refused = while_the_turn_is_held(
        services,
        lambda: services.ingest.apply_import(dataset, path, UpdateMethod.REPLACE, admin),
        lambda: services.datasets.update(admin, dataset.id, columns=ONE),
    )
    assert isinstance(refused, InvalidCsv), refused
    assert "expected 1 columns, found 2" in refused.message
    assert services.catalog.datasets.get(dataset.id).columns == tuple(ONE)
    assert lake_rows(services, dataset.id) == 0


def test_a_deleted_datasets_table_left_in_a_busy_lake_is_removed_at_the_next_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", lake_write_wait_s=0.3)
    services = build_services(settings)
    try:
        admin = admin_of(services)
        dataset, stream = services.datasets.create(admin, name="left behind", description="", columns=ONE)
        execution = services.ingest.open_execution(stream, dataset, None)
        services.ingest.stage_part(stream.id, execution.id, 1, b"1\n2\n")
        services.ingest.commit(dataset, stream, execution.id, by=admin)
        folder = tmp_path / "data" / "lake" / "data"
        assert any(folder.rglob("*.parquet"))

        held, release = threading.Event(), threading.Event()

        def hold_the_lake() -> None:
            with services.lake.writing():
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold_the_lake)
        holder.start()
        held.wait(10)
        services.datasets.delete(admin, dataset.id)  # the catalog forgets it; the lake is busy, its table stays
        release.set()
        holder.join()
        assert dataset.table in services.lake.tables_made_before(None)
        # a table made after another live process started may be a DataSet that process is making: kept
        an_hour_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
        assert services.datasets.remove_lost_tables(an_hour_ago) == 0
        assert dataset.table in services.lake.tables_made_before(None)
    finally:
        services.door.close()
        services.lake.close()
        services.catalog.close()

    restarted = build_services(settings)
    try:
        remove_orphans(restarted)  # what a start does
        assert dataset.table not in restarted.lake.tables_made_before(None)
        assert not any(folder.rglob("*.parquet"))
    finally:
        restarted.door.close()
        restarted.lake.close()
        restarted.catalog.close()


def test_a_read_between_the_two_steps_of_a_schema_change_is_asked_again_not_blamed(services: Services) -> None:
    # A schema change changes the lake, then the catalog: a query or a download planned from the catalog's
    # record in between names a column the lake no longer has. That is a 503 to send again, not the SQL's fault.
    admin = admin_of(services)
    dataset, stream = services.datasets.create(admin, name="between", description="", columns=TWO)
    execution = services.ingest.open_execution(stream, dataset, None)
    services.ingest.stage_part(stream.id, execution.id, 1, b"1,Oslo\n2,Rome\n")
    services.ingest.commit(dataset, stream, execution.id, by=admin)
    services.lake.evolve(dataset.table, TWO, ONE)  # the first step alone: the catalog still lists city

    with pytest.raises(Busy, match="schema changed"):
        services.queries.select(admin, dataset.id, "SELECT n, city FROM table")
    with pytest.raises(Busy, match="schema changed"):
        list(services.queries.csv(admin, dataset.id, header=False))

    services.datasets.update(admin, dataset.id, columns=ONE)  # both steps done (the lake is there already)
    with pytest.raises(InvalidSql, match="city"):  # now the SQL's fault, and said so
        services.queries.select(admin, dataset.id, "SELECT n, city FROM table")
    _, result = services.queries.select(admin, dataset.id, "SELECT n FROM table ORDER BY n")
    assert result.row_count == 2
    assert b"".join(services.queries.csv(admin, dataset.id, header=False)) == b"1\n2\n"


def test_a_schema_change_that_reached_only_the_lake_is_settled_at_the_next_start(tmp_path: Path) -> None:
    # What a process killed between the two steps of a schema change leaves: the lake's new schema, the
    # catalog's old one. The next start records the lake's; and making the same change again is no error.
    settings = Settings(data_dir=tmp_path / "data")
    services = build_services(settings)
    try:
        admin = admin_of(services)
        added = [*TWO, Column("extra", DomoType.DECIMAL)]
        dataset, stream = services.datasets.create(admin, name="killed", description="", columns=TWO)
        other, _ = services.datasets.create(admin, name="redone", description="", columns=TWO)
        execution = services.ingest.open_execution(stream, dataset, None)
        services.ingest.stage_part(stream.id, execution.id, 1, b"1,Oslo\n")
        services.ingest.commit(dataset, stream, execution.id, by=admin)
        services.lake.evolve(dataset.table, TWO, added)  # the first step alone, for both
        services.lake.evolve(other.table, TWO, added)
        services.datasets.update(admin, other.id, columns=added)  # sent again: the lake has it already
        assert services.catalog.datasets.get(other.id).columns == tuple(added)
        assert services.catalog.datasets.get(dataset.id).columns == tuple(TWO)
    finally:
        services.door.close()
        services.lake.close()
        services.catalog.close()

    app = create_app(settings)  # a start
    restarted: Services = app.state.services
    try:
        assert restarted.catalog.datasets.get(dataset.id).columns == tuple(added)
        _, result = restarted.queries.select(admin, dataset.id, "SELECT n, city, extra FROM table")
        assert result.row_count == 1
        assert b"".join(restarted.queries.csv(admin, dataset.id, header=False)) == b"1,Oslo,\n"
        events = restarted.catalog.audit.page(AuditQuery(object_id=dataset.id), limit=50, offset=0)
        assert any("added extra; settled after its server stopped" in e.comment for e in events), events
    finally:
        restarted.door.close()
        restarted.lake.close()
        restarted.catalog.close()
