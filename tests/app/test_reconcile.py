"""At start, the catalog's record of each DataSet catches up with the lake: after a crash between a lake commit
and the catalog's, the DataSet's data version (which reads name) moves to its newest load, even when the load
left the row count as it was."""

from __future__ import annotations

from pathlib import Path

from domolite.auth.bootstrap import create_user
from domolite.models.records import Column, DomoType, Principal
from domolite.services import build_services
from domolite.settings import Settings


def test_a_load_the_catalog_missed_is_found_at_start_even_with_the_same_row_count(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path / "data"))
    try:
        admin = Principal(
            user=create_user(services.catalog, "a@example.com", "A", "Admin", None), scopes=frozenset({"data"})
        )
        dataset, _stream = services.datasets.create(
            admin, name="daily", description="", columns=[Column("n", DomoType.LONG)]
        )
        first = services.lake.load(dataset.table, "SELECT range AS n FROM range(2)", replace=True, commit_info={})
        services.catalog.datasets.record_data_change(dataset.id, first.row_count, first.snapshot_id)

        def numbers() -> list[list[object]]:
            return services.queries.select(admin, dataset.id, "SELECT n FROM table ORDER BY n")[1].rows

        assert numbers() == [[0], [1]]
        # The next day's REPLACE lands in the lake, with as many rows; the process dies before the catalog hears.
        second = services.lake.load(dataset.table, "SELECT 10 + range AS n FROM range(2)", replace=True, commit_info={})
        assert numbers() == [[0], [1]]  # reads name the catalog's data version
        services.datasets.reconcile_row_counts()
        assert services.catalog.datasets.get(dataset.id).data_version == services.lake.latest_snapshot()
        assert services.lake.latest_snapshot() >= second.snapshot_id
        assert numbers() == [[10], [11]]
    finally:
        services.door.close()
        services.lake.close()
        services.catalog.close()
