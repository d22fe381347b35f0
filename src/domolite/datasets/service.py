"""DataSet lifecycle: create (with its REPLACE stream), read, change metadata and schema, delete."""

from __future__ import annotations

import builtins
import datetime
import fnmatch
import logging
import unicodedata
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from domolite.access import permissions
from domolite.audit.log import AuditLog
from domolite.catalog import Catalog
from domolite.catalog.clock import utcnow
from domolite.catalog.product import ProductStore
from domolite.errors import Forbidden, InvalidField, UserNotFound
from domolite.models.audit import Action, AuditEvent, ObjectType
from domolite.models.limits import Limits
from domolite.models.records import Column, DataSet, Principal, Stream, UpdateMethod, User, keep_hidden, shape
from domolite.server.memo import StampedMemo
from domolite.storage.tables import INTERNAL_PREFIX, Tables

log = logging.getLogger("domolite.datasets")

# What else goes when executions are removed with their DataSet or stream (their staging folders).
ExecutionsRemoved = Callable[[Sequence[int]], None]


def check_columns(columns: Sequence[Column], limits: Limits, where: str = "schema.columns") -> None:
    """A schema domolite can hold at every step: one column or more, at most the column limit, each named
    (not blank, no control characters, not in domolite's own `__domolite` namespace, within the name
    limit) and no two names equal ignoring case."""
    if not columns:
        raise InvalidField(where, "a schema needs at least one column")
    limits.column_count(len(columns), where)
    seen: set[str] = set()
    for i, col in enumerate(columns):
        field = f"{where}[{i}].name"
        if not col.name.strip():
            raise InvalidField(field, "a column needs a name")
        limits.name(col.name, field)
        control = next((ch for ch in col.name if unicodedata.category(ch) == "Cc"), None)
        if control is not None:
            raise InvalidField(field, f"a column name may not hold a control character (U+{ord(control):04X})")
        if col.name.lower().startswith(INTERNAL_PREFIX):
            raise InvalidField(field, f"{col.name!r} is reserved: names starting with {INTERNAL_PREFIX} are domolite's")
        key = col.name.lower()
        if key in seen:
            raise InvalidField(field, f"duplicate column name {col.name!r} (names ignore case)")
        seen.add(key)


def check_upsert_keys(keys: Sequence[str], columns: Sequence[Column]) -> None:
    """UPSERT matches rows on its key columns: one or more, each a column of the schema (as it is now: a
    schema change may have dropped or renamed one since the stream was made).

    Raises:
        InvalidField: `keyColumnNames`, naming what is missing.
    """
    if not keys:
        raise InvalidField("keyColumnNames", "UPSERT needs at least one key column")
    names = {c.name.lower() for c in columns}
    for key in keys:
        if key.lower() not in names:
            raise InvalidField("keyColumnNames", f"the key column {key!r} is not a column of the schema")


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


class RowView(Protocol):
    """What the door says about the rows a principal may read (row policies applied)."""

    def row_count(self, dataset: DataSet, principal: Principal) -> int: ...

    def filters_rows(self, dataset: DataSet, principal: Principal) -> bool: ...


@dataclass(frozen=True)
class Owned:
    """A DataSet as a caller sees it (the count of the rows they may read, under PDP) and its owner (None when
    that user was deleted): what the public API shows of a DataSet."""

    dataset: DataSet
    owner: User | None


@dataclass(frozen=True)
class DataSource(Owned):
    """What the instance API shows of a DataSet: `Owned`, its stream, whether a connector feeds it, and the
    caller's access level in Domo's words."""

    stream_id: int | None
    connector: bool
    permissions: str


def access_level(principal: Principal, dataset: DataSet) -> str:
    """Domo's permissions string for the caller on the DataSet."""
    for check, level in (
        (permissions.require_delete, "READ_WRITE_DELETE_SHARE_ADMIN"),
        (permissions.require_edit, "READ_WRITE_SHARE"),
        (permissions.require_read, "READ"),
    ):
        try:
            check(principal, dataset)
        except Forbidden:
            continue
        return level
    return "NONE"


_RECORDS = 4096  # DataSet records a process remembers (the least recently used go first)


class DataSets:
    def __init__(
        self,
        catalog: Catalog,
        lake: Tables,
        limits: Limits,
        audit: AuditLog,
        rows: RowView,
        product: ProductStore,
    ) -> None:
        self.catalog = catalog
        self.product = product
        self.lake = lake
        self.limits = limits
        self.audit = audit
        self.rows = rows
        self._removed_hooks: list[ExecutionsRemoved] = []
        # DataSet id -> its record, at the catalog's count of changes to DataSet records it was read at
        self._records: StampedMemo[str, DataSet] = StampedMemo(_RECORDS)

    def on_executions_removed(self, hook: ExecutionsRemoved) -> None:
        self._removed_hooks.append(hook)

    def executions_removed(self, execution_ids: Sequence[int]) -> None:
        for hook in self._removed_hooks:
            hook(execution_ids)

    def owner(self, dataset: DataSet) -> User | None:
        """The DataSet's owner, or None when that user was deleted."""
        try:
            return self.catalog.users.get(dataset.owner_id)
        except UserNotFound:
            return None

    def seen_by(self, principal: Principal, dataset: DataSet) -> DataSet:
        """The DataSet as the principal sees it in metadata, lists and search: its row count is the count of the
        rows they may read (a PDP-filtered user sees how many rows are theirs, never the total)."""
        count = self.rows.row_count(dataset, principal)
        return dataset if count == dataset.row_count else replace(dataset, row_count=count)

    def view(self, principal: Principal, dataset: DataSet, owners: dict[int, User | None] | None = None) -> Owned:
        """The DataSet as the principal sees it, with its owner (`owners` caches owners across one list)."""
        seen = self.seen_by(principal, dataset)
        cache = owners if owners is not None else {}
        if seen.owner_id not in cache:
            cache[seen.owner_id] = self.owner(seen)
        return Owned(seen, cache[seen.owner_id])

    def views(self, principal: Principal, datasets: Sequence[DataSet]) -> builtins.list[Owned]:
        owners: dict[int, User | None] = {}
        return [self.view(principal, d, owners) for d in datasets]

    def datasource(self, principal: Principal, dataset: DataSet) -> DataSource:
        """The DataSet as the principal sees it in the instance API (see `DataSource`)."""
        seen = self.seen_by(principal, dataset)
        streams = self.catalog.streams.find(limit=1, offset=0, dataset_ids=[seen.id])
        stream_id = streams[0].id if streams else None
        connector = stream_id is not None and self.product.get_connector(stream_id) is not None
        return DataSource(seen, self.owner(seen), stream_id, connector, access_level(principal, seen))

    def counts_hidden(self, principal: Principal, dataset: DataSet | str) -> bool:
        """Whether the principal is kept from the row counts of the DataSet's loads (data versions, partitions,
        executions): they describe rows a PDP-filtered user may not see, so such a user sees none."""
        found = self.catalog.datasets.get(dataset) if isinstance(dataset, str) else dataset
        return self.rows.filters_rows(found, principal)

    def event(self, principal: Principal | None, action: Action, dataset: DataSet, comment: str = "") -> AuditEvent:
        """An audit event about a DataSet."""
        return self.audit.event(principal, action, ObjectType.DATA_SOURCE, dataset.id, dataset.name, comment)

    def record(self, principal: Principal | None, action: Action, dataset: DataSet, comment: str = "") -> None:
        self.audit.record(self.event(principal, action, dataset, comment))

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        description: str,
        columns: Sequence[Column],
        owner_id: int | None = None,
        update_method: UpdateMethod = UpdateMethod.REPLACE,
        key_columns: Sequence[str] = (),
        pdp_enabled: bool = False,
        data_provider_type: str = "api",
        schema_later: bool = False,
    ) -> tuple[DataSet, Stream]:
        """Create a DataSet, its lake table and its stream. The table is made first, then the catalog rows.

        A schema needs a column or more, except with `schema_later` (a connector's DataSet, whose schema its
        first run or a schema change sets; nothing loads into it before)."""
        permissions.require_create(principal)
        self.limits.name(name, "name")
        self.limits.description(description, "description")
        if columns or not schema_later:
            check_columns(columns, self.limits)
        if update_method is UpdateMethod.UPSERT:
            check_upsert_keys(key_columns, columns)
        if owner_id is not None:
            self.catalog.users.get(owner_id)
        now = utcnow()
        dataset_id = str(uuid.uuid4())
        dataset = DataSet(
            id=dataset_id,
            name=name,
            description=description,
            owner_id=owner_id if owner_id is not None else principal.user.id,
            columns=tuple(columns),
            table="ds_" + dataset_id.replace("-", ""),
            pdp_enabled=pdp_enabled,
            row_count=0,
            created_at=now,
            updated_at=now,
            data_updated_at=None,
            data_provider_type=data_provider_type,
        )
        self.lake.create_table(dataset.table, dataset.columns)
        try:
            with self.catalog.tx() as conn:
                self.catalog.datasets.insert(conn, dataset)
                stream_id = self.catalog.streams.insert(conn, dataset.id, update_method, key_columns)
                self.audit.write(self.event(principal, Action.CREATED, dataset, f"{len(dataset.columns)} columns"))(
                    conn
                )
        except BaseException:
            self.lake.drop_table(dataset.table)
            raise
        return dataset, self.catalog.streams.get(stream_id)

    def get(self, principal: Principal, dataset_id: str) -> DataSet:
        dataset = self.current(dataset_id)
        permissions.require_read(principal, dataset)
        return dataset

    def get_for_edit(self, principal: Principal, dataset_id: str) -> DataSet:
        dataset = self.current(dataset_id)
        permissions.require_edit(principal, dataset)
        return dataset

    def current(self, dataset_id: str) -> DataSet:
        """The DataSet's record as the catalog holds it now: the one read before while the catalog's count of
        changes to DataSet records (`Catalog.datasets.changes`, one row) still stands where it stood then, else
        read again. Every write to a DataSet's record moves the count in its own transaction, whichever process
        makes it, so a commit, a schema change or a new owner is seen by the next request, as without this
        memory. The count is read before the record: a write made meanwhile moves it past the count the record
        is remembered at. A DataSet not found is never remembered."""
        return self._records.get(
            dataset_id, self.catalog.datasets.changes(), lambda: self.catalog.datasets.get(dataset_id)
        )

    def list(self, principal: Principal, *, limit: int, offset: int, name_like: str, sort: str | None) -> list[DataSet]:
        permissions.require_scope(principal, "data")
        return self.catalog.datasets.find(
            limit=limit, offset=offset, name_like=name_like, sort=sort, visible_to=visible_to(principal)
        )

    def visible(self, principal: Principal) -> builtins.list[DataSet]:
        """Every DataSet the principal owns or has a share of (every one for an Admin)."""
        found: builtins.list[DataSet] = []
        while batch := self.catalog.datasets.find(limit=500, offset=len(found), visible_to=visible_to(principal)):
            found.extend(batch)
        return found

    def readable_ids(self, principal: Principal) -> builtins.list[str] | None:
        """The ids of the DataSets the principal may read, for filtering lists; None (no filter) for Admins."""
        return None if visible_to(principal) is None else [d.id for d in self.visible(principal)]

    def update(
        self,
        principal: Principal,
        dataset_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        columns: Sequence[Column] | None = None,
        pdp_enabled: bool | None = None,
        owner_id: int | None = None,
    ) -> DataSet:
        """Partial update. A schema change keeps the rows: columns are matched by name, new ones are NULL."""
        dataset = self.catalog.datasets.get(dataset_id)
        permissions.require_edit(principal, dataset)
        if (pdp_enabled is not None and pdp_enabled != dataset.pdp_enabled) or (
            owner_id is not None and owner_id != dataset.owner_id
        ):
            permissions.require_manage(principal, dataset)  # PDP and ownership: owner, co-owner or Admin
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = self.limits.name(name, "name")
        if description is not None:
            changes["description"] = self.limits.description(description, "description")
        if pdp_enabled is not None:
            changes["pdp_enabled"] = pdp_enabled
        if owner_id is not None:
            self.catalog.users.get(owner_id)
            changes["owner_id"] = owner_id
        if columns is not None:
            columns = keep_hidden(columns, dataset.columns)
        if columns is not None and tuple(columns) != dataset.columns:
            check_columns(columns, self.limits)
            self.lake.evolve(dataset.table, dataset.columns, columns)
            changes["columns"] = tuple(columns)
        if not changes:
            return dataset
        updated = self.catalog.datasets.update(dataset_id, **changes)
        if "columns" in changes:
            updated = self._schema_changed(updated)
            self.record(principal, Action.SCHEMA_CHANGED, updated, schema_change(dataset.columns, updated.columns))
        if "pdp_enabled" in changes and updated.pdp_enabled != dataset.pdp_enabled:
            self.record(principal, Action.POLICY_CHANGED, updated, f"PDP {'on' if updated.pdp_enabled else 'off'}")
        if "owner_id" in changes and updated.owner_id != dataset.owner_id:
            self.record(
                principal, Action.SHARED, updated, f"owner changed from user {dataset.owner_id} to {updated.owner_id}"
            )
        return updated

    def delete(self, principal: Principal, dataset_id: str) -> None:
        """The one delete of a DataSet, for every API: one catalog transaction removes it and everything
        attached (see Catalog.delete_dataset; its running exports end); once that is committed, its table and
        files leave the lake and its staged parts leave the staging area."""
        dataset = self.catalog.datasets.get(dataset_id)
        permissions.require_delete(principal, dataset)
        removed = self.catalog.datasets.delete(dataset_id)
        self.record(principal, Action.DELETED, dataset, f"{dataset.row_count} rows")
        try:
            self.lake.remove_table(dataset.table)
        except Exception:  # the catalog no longer knows it: a start removes it (remove_lost_tables)
            log.exception("removing the lake table of deleted DataSet %s failed", dataset_id)
        self.executions_removed(removed)

    # -- schema ----------------------------------------------------------------------------------------------
    def alter_schema(self, principal: Principal, dataset_id: str, columns: Sequence[SchemaColumn]) -> int:
        """Make `columns` the schema, keeping the rows of kept columns (added columns are NULL). Returns the
        schema id (the lake snapshot of the change).

        Raises:
            InvalidField: a bad schema, or a retype the data cannot take
                (names the column and a failing value).
        """
        dataset = self.get_for_edit(principal, dataset_id)
        new = tuple(c.column for c in columns)
        check_columns(new, self.limits, "columns")
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
            evolved = shape(new) != shape(dataset.columns) or bool(renamed)
            if evolved:
                self.lake.evolve(dataset.table, dataset.columns, new, renamed)
            updated = self.catalog.datasets.update(dataset.id, columns=new)
            if evolved:
                updated = self._schema_changed(updated)
            change = schema_change(dataset.columns, new)
            if renamed:
                change += "; renamed " + ", ".join(f"{old} to {name}" for name, old in renamed.items())
            self.record(principal, Action.SCHEMA_CHANGED, updated, change)
        return self.lake.latest_snapshot()

    # -- metadata --------------------------------------------------------------------------------------------
    def set_tags(self, principal: Principal, dataset_id: str, tags: Sequence[str]) -> DataSet:
        self.get_for_edit(principal, dataset_id)
        unique = list(dict.fromkeys(str(t) for t in tags))
        return self.catalog.datasets.update(dataset_id, tags=unique)

    def set_properties(self, principal: Principal, dataset_id: str, properties: dict[str, Any]) -> DataSet:
        """`dataProviderType` changes the provider type; other keys are kept in the DataSet's properties."""
        dataset = self.get_for_edit(principal, dataset_id)
        changes: dict[str, Any] = {}
        provider = properties.get("dataProviderType")
        if provider is not None:
            if not str(provider).strip():
                raise InvalidField("dataProviderType", "must not be empty")
            problem = self.limits.too_long(str(provider), "provider")
            if problem is not None:
                raise InvalidField("dataProviderType", problem)
            changes["data_provider_type"] = str(provider)
        rest = {k: v for k, v in properties.items() if k != "dataProviderType"}
        if rest:
            changes["properties"] = {**dataset.properties, **rest}
        if not changes:
            return dataset
        return self.catalog.datasets.update(dataset_id, **changes)

    # -- search ----------------------------------------------------------------------------------------------
    def search(
        self, principal: Principal, *, text: str, filters: Sequence[SearchFilter], count: int, offset: int
    ) -> tuple[builtins.list[DataSet], int]:
        """DataSets the caller may read that match every filter, by name; one page and the total."""
        permissions.require_scope(principal, "data")
        checks = [_filter_check(f) for f in filters]
        words = text.strip().lower() if text.strip() not in ("", "*") else ""
        found: builtins.list[DataSet] = []
        start = 0
        while batch := self.catalog.datasets.find(limit=500, offset=start, sort="name"):
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

    def _schema_changed(self, dataset: DataSet) -> DataSet:
        """After a schema change in the lake, the DataSet's data version moves to the lake's newest snapshot: reads
        name the version (see `Door._table_sql`), and the files of the version before carry the schema before."""
        version = self.lake.latest_snapshot()
        self.catalog.datasets.record_data_change(dataset.id, dataset.row_count, version, touch=False)
        return self.catalog.datasets.get(dataset.id)

    def remove_lost_tables(self, made_before: datetime.datetime | None) -> int:
        """Remove the DataSet tables the lake still has and the catalog does not: a delete whose removal of the
        table failed (the lake was busy) or was cut short by a crash. Only tables made before `made_before`
        (naive UTC; all with None): a DataSet another process is creating has its table before its catalog row.
        Returns how many were removed (one that fails now is tried again at the next start)."""
        known = {self.catalog.datasets.get(i).table for i in self.catalog.datasets.all_ids()}
        removed = 0
        for table in self.lake.tables_made_before(made_before):
            if not table.startswith("ds_") or table in known:
                continue
            try:
                files = self.lake.remove_table(table)
            except Exception:
                log.exception("removing lake table %s, which no DataSet has, failed", table)
                continue
            log.info("removed lake table %s (%d files), left by a deleted DataSet", table, files)
            removed += 1
        return removed

    def reconcile_schemas(self) -> None:
        """A schema change is made in the lake, then recorded in the catalog: a process that stopped in between
        (killed) left the lake's new schema with the catalog's old one. The lake's is the DataSet's schema now
        (its rows have it), so the catalog takes it, as the change would have recorded it. Run at start."""
        for dataset_id in self.catalog.datasets.all_ids():
            dataset = self.catalog.datasets.get(dataset_id)
            lake = self.lake.columns_now(dataset.table)
            if {(c.name.lower(), c.type) for c in lake} == {(c.name.lower(), c.type) for c in dataset.columns}:
                continue
            columns = keep_hidden(lake, dataset.columns)  # in the lake's order; hidden ones stay hidden
            updated = self._schema_changed(self.catalog.datasets.update(dataset_id, columns=columns))
            change = schema_change(dataset.columns, updated.columns)
            self.record(None, Action.SCHEMA_CHANGED, updated, f"{change}; settled after its server stopped")
            log.warning("DataSet %s took the lake's schema, which its catalog record did not have yet", dataset_id)

    def reconcile_row_counts(self) -> None:
        """Bring cached row counts and data versions in line with the lake (after a crash between a lake commit
        and the catalog): a DataSet whose count differs, or whose table had a load after its data version."""
        version = self.lake.latest_snapshot()
        newest = self.lake.newest_loads()
        for dataset_id in self.catalog.datasets.all_ids():
            dataset = self.catalog.datasets.get(dataset_id)
            count = self.lake.row_count(dataset.table, version)
            behind = dataset.table in newest and (dataset.data_version or 0) < newest[dataset.table]
            if count != dataset.row_count or behind:
                self.catalog.datasets.record_data_change(dataset_id, count, version, touch=False)


def schema_change(old: Sequence[Column], new: Sequence[Column]) -> str:
    """What a schema change did, for the audit log: columns added, dropped and retyped."""
    before = {c.name.lower(): c for c in old}
    after = {c.name.lower(): c for c in new}
    parts = []
    added = [c.name for k, c in after.items() if k not in before]
    dropped = [c.name for k, c in before.items() if k not in after]
    retyped = [
        f"{c.name} {before[k].type.value}->{c.type.value}"
        for k, c in after.items()
        if k in before and before[k].type != c.type
    ]
    for label, names in (("added", added), ("dropped", dropped), ("retyped", retyped)):
        if names:
            parts.append(f"{label} {', '.join(names)}")
    return "; ".join(parts) or "columns reordered or renamed"


def visible_to(principal: Principal) -> tuple[int, Collection[str]] | None:
    """The filter for lists and searches: None (everything) for Admins, else owned or shared DataSets."""
    if principal.is_admin:
        return None
    return principal.user.id, list(principal.grants)


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
