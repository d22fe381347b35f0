"""The one query service: SQL over a DataSet (with the instance API's client paging, time travel and PDP preview)
and the CSV of a DataSet, each through the one door."""

from __future__ import annotations

from collections.abc import Sequence

from domolite.access import permissions
from domolite.access.rowfilter import preview_filter
from domolite.datasets.service import DataSets
from domolite.datasets.versions import Versions
from domolite.errors import InvalidField, NotFound
from domolite.models.records import DataSet, Principal
from domolite.query.door import Door, QueryResult
from domolite.query.fifo import FifoReader
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
        preview_policies: Sequence[int] | None = None,
    ) -> tuple[DataSet, QueryResult]:
        """One page of the SQL's result over the DataSet, as it is now or as it was at data version `version`.

        A trailing `limit N offset M` (what clients append to page) applies to the result of the SQL
        before it,
        so SQL with its own LIMIT pages correctly; without one, `limit`/`offset` apply the same way.
        With `preview_policies` (a PDP preview: `previewPdp` and its `filterGroupIds`), the rows are those the
        policies show together, for one who may manage the DataSet's policies.

        Raises:
            Forbidden: a preview by one who may not manage the policies. InvalidField: a policy of the preview
                is not one of the DataSet's (names it).
        """
        dataset = self.datasets.get(principal, dataset_id)
        at = self.versions.check_version(dataset, version)
        preview = None if preview_policies is None else self._preview(principal, dataset, preview_policies)
        return dataset, self.door.query(dataset, principal, paged(sql, limit, offset), at, cancel, preview)

    def select(
        self, principal: Principal, dataset_id: str, sql: str, *, cancel: Cancel | None = None
    ) -> tuple[DataSet, QueryResult]:
        """The public API's query: the SQL as it is (no paging), over the DataSet as it is now."""
        dataset = self.datasets.get(principal, dataset_id)
        return dataset, self.door.query(dataset, principal, sql, cancel=cancel)

    def _preview(self, principal: Principal, dataset: DataSet, policy_ids: Sequence[int]) -> str:
        permissions.require_manage(principal, dataset)
        policies = []
        for i, policy_id in enumerate(policy_ids):
            try:
                policies.append(self.datasets.catalog.access.get_policy(dataset.id, policy_id))
            except NotFound:
                where = f"context.dataControlContext.filterGroupIds[{i}]"
                raise InvalidField(where, f"DataSet {dataset.id} has no policy (filter group) {policy_id}") from None
        return preview_filter(dataset.columns, policies)

    def csv(self, principal: Principal, dataset_id: str, *, header: bool, version: int | None = None) -> FifoReader:
        """The CSV download of the DataSet (every row the caller may read), at data version `version` when given.
        Read permission and PDP are decided here, before the first byte."""
        dataset = self.datasets.get(principal, dataset_id)
        select_sql = self.door.source_sql(dataset, principal, self.versions.check_version(dataset, version))
        return self.door.csv_stream(select_sql, header=header)
