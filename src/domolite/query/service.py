"""SQL queries of the instance API: client paging and time travel on top of the one door."""

from __future__ import annotations

from domolite.datasets.service import DataSets
from domolite.datasets.versions import Versions
from domolite.models.records import DataSet, Principal
from domolite.query.door import Door, QueryResult
from domolite.query.sql import paged
from domolite.server.cancel import Cancel


class Queries:
    def __init__(self, door: Door, datasets: DataSets, versions: Versions) -> None:
        self.door = door
        self.datasets = datasets
        self.versions = versions

    def run(
        self,
        principal: Principal,
        dataset_id: str,
        sql: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
        version: int | None = None,
        cancel: Cancel | None = None,
    ) -> tuple[DataSet, QueryResult]:
        """One page of the SQL's result over the DataSet, as it is now or as it was at data version `version`.

        A trailing `limit N offset M` (what clients append to page) applies to the result of the SQL
        before it,
        so SQL with its own LIMIT pages correctly; without one, `limit`/`offset` apply the same way.
        """
        dataset = self.datasets.get(principal, dataset_id)
        at = self.versions.check_version(dataset, version)
        return dataset, self.door.query(dataset, principal, paged(sql, limit, offset), at, cancel)

    def export_sql(self, principal: Principal, dataset_id: str, version: int | None) -> str:
        """The trusted SELECT of a CSV export, at data version `version` when given."""
        dataset = self.datasets.get(principal, dataset_id)
        return self.door.source_sql(dataset, principal, self.versions.check_version(dataset, version))
