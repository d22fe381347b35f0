"""The lake as the services that change DataSets see it: tables, loads and data versions, and no way to read
rows (every row a user reads goes through the door, `query/door.py`). `Lake` (storage/lake.py) is the one
implementation; the service container hands it to those services typed as `Tables`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from domolite.models.records import Column

# Names that start with this are domolite's own (a schema may not use them; see datasets/service.py, check_columns).
INTERNAL_PREFIX = "__domolite"


class LoadFailed(Exception):
    """A load's SQL failed on the data (a bad value or a malformed line). The DataSet is unchanged."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class LoadResult:
    row_count: int
    rows_loaded: int
    snapshot_id: int


@dataclass(frozen=True)
class Snapshot:
    """One committed load of a table (a Domo data version), with the commit info it was tagged with."""

    snapshot_id: int
    recorded_ms: int
    info: dict[str, Any]


class Tables(Protocol):
    """Creating, changing and loading DataSet tables, and their data versions (snapshots)."""

    @property
    def closing(self) -> bool: ...

    def writing(self) -> AbstractContextManager[None]:
        """The lake's write turn (Busy after a bounded wait)."""
        ...

    def create_table(self, table: str, columns: Sequence[Column]) -> None: ...

    def drop_table(self, table: str) -> None: ...

    def remove_table(self, table: str) -> int: ...

    def tables_made_before(self, before: datetime.datetime | None) -> list[str]: ...

    def columns_now(self, table: str) -> list[Column]: ...

    def row_count(self, table: str, version: int | None = None) -> int: ...

    def evolve(
        self,
        table: str,
        old: Sequence[Column],
        new: Sequence[Column],
        renamed_from: Mapping[str, str] | None = None,
    ) -> None: ...

    def load(
        self,
        table: str,
        source_sql: str,
        *,
        replace: bool,
        key_columns: Sequence[str] = (),
        delete_where: str | None = None,
        partition: str | None = None,
        commit_info: dict[str, Any],
    ) -> LoadResult: ...

    def committed(self, marker_key: str, marker_value: Any) -> bool: ...

    def committed_snapshot(self, marker_key: str, marker_value: Any) -> Snapshot | None: ...

    def marked_snapshots(self, marker_key: str) -> list[Snapshot]: ...

    def partition_rows(self, table: str, tag: str) -> int: ...

    def snapshots(self, table: str) -> list[Snapshot]: ...

    def newest_loads(self) -> dict[str, int]:
        """Table -> the snapshot of its newest load."""
        ...

    def latest_snapshot(self) -> int: ...

    def compact(self, table: str) -> int: ...
