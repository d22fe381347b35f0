"""The instance's DataSet management (Domo's Data Center): schema changes with renames, tags, properties,
deletion with everything attached, the caller's access level, and search."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from domolite.access import permissions
from domolite.catalog import Catalog
from domolite.catalog.product import ProductCatalog
from domolite.datasets.service import DataSets, check_columns, schema_change
from domolite.errors import Forbidden, InvalidField
from domolite.models.audit import Action
from domolite.models.records import Column, DataSet, Principal, Stream, shape
from domolite.storage.tables import Tables


@dataclass(frozen=True)
class SchemaColumn:
    """A column of a schema change: `source` is the column it was (Domo's `id`), when that differs."""

    column: Column
    source: str | None


@dataclass(frozen=True)
class SearchFilter:
    field: str
    kind: str  # wildcard | term
    value: str
    negate: bool = False


class DataCenter:
    def __init__(self, catalog: Catalog, product: ProductCatalog, lake: Tables, datasets: DataSets) -> None:
        self.catalog = catalog
        self.product = product
        self.lake = lake
        self.datasets = datasets

    def create(
        self, principal: Principal, *, name: str, description: str, columns: Sequence[Column], provider: str
    ) -> tuple[DataSet, Stream]:
        """A new DataSet of the given provider type, with its (REPLACE) upload stream."""
        return self.datasets.create(
            principal,
            name=name,
            description=description,
            columns=columns,
            data_provider_type=provider or "api",
        )

    # -- schema ----------------------------------------------------------------------------------------------
    def alter_schema(self, principal: Principal, dataset_id: str, columns: Sequence[SchemaColumn]) -> int:
        """Make `columns` the schema, keeping the rows of kept columns (added columns are NULL). Returns the
        schema id (the lake snapshot of the change).

        Raises:
            InvalidField: a bad schema, or a retype the data cannot take
                (names the column and a failing value).
        """
        dataset = self.datasets.get_for_edit(principal, dataset_id)
        new = tuple(c.column for c in columns)
        check_columns(new, self.datasets.limits, "columns")
        old_names = {c.name.lower() for c in dataset.columns}
        new_names = {c.name.lower() for c in new}
        renamed: dict[str, str] = {}
        for i, c in enumerate(columns):
            if c.source is None or c.source.lower() == c.column.name.lower():
                continue
            if c.source.lower() in old_names and c.column.name.lower() not in old_names:
                if c.source.lower() in new_names:
                    raise InvalidField(f"columns[{i}].id", f"{c.source!r} is renamed and also kept")
                renamed[c.column.name] = c.source
        if new != dataset.columns:
            if shape(new) != shape(dataset.columns) or renamed:
                self.lake.evolve(dataset.table, dataset.columns, new, renamed)
            updated = self.catalog.update_dataset(dataset.id, columns=new)
            change = schema_change(dataset.columns, new)
            if renamed:
                change += "; renamed " + ", ".join(f"{old} to {name}" for name, old in renamed.items())
            self.datasets.record(principal, Action.SCHEMA_CHANGED, updated, change)
        return self.lake.latest_snapshot()

    # -- metadata --------------------------------------------------------------------------------------------
    def set_tags(self, principal: Principal, dataset_id: str, tags: Sequence[str]) -> DataSet:
        self.datasets.get_for_edit(principal, dataset_id)
        unique = list(dict.fromkeys(str(t) for t in tags))
        return self.catalog.update_dataset(dataset_id, tags=unique)

    def set_properties(self, principal: Principal, dataset_id: str, properties: dict[str, Any]) -> DataSet:
        """`dataProviderType` changes the provider type; other keys are kept in the DataSet's properties."""
        dataset = self.datasets.get_for_edit(principal, dataset_id)
        changes: dict[str, Any] = {}
        provider = properties.get("dataProviderType")
        if provider is not None:
            if not str(provider).strip():
                raise InvalidField("dataProviderType", "must not be empty")
            problem = self.datasets.limits.too_long(str(provider), "provider")
            if problem is not None:
                raise InvalidField("dataProviderType", problem)
            changes["data_provider_type"] = str(provider)
        rest = {k: v for k, v in properties.items() if k != "dataProviderType"}
        if rest:
            changes["properties"] = {**dataset.properties, **rest}
        if not changes:
            return dataset
        return self.catalog.update_dataset(dataset_id, **changes)

    # -- search ----------------------------------------------------------------------------------------------
    def search(
        self, principal: Principal, *, text: str, filters: Sequence[SearchFilter], count: int, offset: int
    ) -> tuple[list[DataSet], int]:
        """DataSets the caller may read that match every filter, by name; one page and the total."""
        permissions.require_scope(principal, "data")
        checks = [_filter_check(f) for f in filters]
        words = text.strip().lower() if text.strip() not in ("", "*") else ""
        found: list[DataSet] = []
        start = 0
        while batch := self.catalog.list_datasets(limit=500, offset=start, sort="name"):
            start += len(batch)
            for dataset in batch:
                if words and words not in dataset.name.lower():
                    continue
                if not all(check(dataset) for check in checks):
                    continue
                try:
                    permissions.require_read(principal, dataset)
                except Forbidden:
                    continue
                found.append(dataset)
        return found[offset : offset + count], len(found)


_FIELDS: dict[str, Callable[[DataSet], str | list[str]]] = {
    "name_sort": lambda d: d.name,
    "name": lambda d: d.name,
    "dataprovidername_facet": lambda d: d.data_provider_type,
    "dataprovidertype": lambda d: d.data_provider_type,
    "ownedbyid": lambda d: str(d.owner_id),
    "owned_by_id": lambda d: str(d.owner_id),
    "databaseid": lambda d: d.id,
    "tags": lambda d: list(d.tags),
}


def _filter_check(f: SearchFilter) -> Callable[[DataSet], bool]:
    getter = _FIELDS.get(f.field.lower())
    if getter is None:
        raise InvalidField("filters.field", f"unsupported field {f.field!r}; use {', '.join(sorted(_FIELDS))}")
    if f.kind not in ("wildcard", "term"):
        raise InvalidField("filters.filterType", f"unsupported filterType {f.kind!r}; use wildcard or term")

    def matches(value: str) -> bool:
        if f.kind == "wildcard":
            return fnmatch.fnmatchcase(value.lower(), f.value.lower())
        return value.lower() == f.value.lower()

    def check(dataset: DataSet) -> bool:
        got = getter(dataset)
        hit = any(matches(v) for v in got) if isinstance(got, list) else matches(got)
        return hit != f.negate

    return check
