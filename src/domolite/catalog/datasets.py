"""DataSets: their records, cached row counts, and the one transactional delete of a DataSet with everything
the catalog keeps about it."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Engine, bindparam, cast, delete, func, insert, or_, select, update

from domolite.catalog import schema as t
from domolite.catalog.access import AccessStore
from domolite.catalog.changes import ChangeCount
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import Store
from domolite.catalog.exports import end_exports
from domolite.catalog.streams import forget_streams
from domolite.errors import DataSetNotFound
from domolite.models.records import Column, DataSet, DomoType

# Every request naming a DataSet reads this: built once (see _ACTIVE_GROUPS_OF in catalog/access.py).
_BY_ID = select(t.datasets).where(t.datasets.c.id == bindparam("dataset_id"))


class DataSetStore(Store):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._changes = ChangeCount(engine, t.dataset_changes)

    def close(self) -> None:
        self._changes.close()

    def changes(self) -> int:
        """How many writes have changed the DataSets' records (catalog/changes.py counts them)."""
        return self._changes.read()

    @staticmethod
    def _dataset(row: Any) -> DataSet:
        cols = tuple(
            Column(name=c["name"], type=DomoType(c["type"]), visible=bool(c.get("visible", True)))
            for c in json.loads(row.columns)
        )
        return DataSet(
            id=row.id,
            name=row.name,
            description=row.description,
            owner_id=int(row.owner_id),
            columns=cols,
            table=row.table_name,
            pdp_enabled=bool(row.pdp_enabled),
            row_count=int(row.row_count),
            created_at=row.created_at,
            updated_at=row.updated_at,
            data_updated_at=row.data_updated_at,
            data_provider_type=row.data_provider_type,
            tags=tuple(json.loads(row.tags)),
            properties=json.loads(row.properties),
            data_version=None if row.data_version is None else int(row.data_version),
        )

    @staticmethod
    def _columns_json(columns: Sequence[Column]) -> str:
        return json.dumps(
            [{"name": c.name, "type": c.type.value, **({} if c.visible else {"visible": False})} for c in columns]
        )

    def insert(self, conn: Connection, dataset: DataSet) -> None:
        conn.execute(
            insert(t.datasets).values(
                id=dataset.id,
                name=dataset.name,
                description=dataset.description,
                owner_id=dataset.owner_id,
                columns=self._columns_json(dataset.columns),
                table_name=dataset.table,
                pdp_enabled=dataset.pdp_enabled,
                row_count=0,
                data_provider_type=dataset.data_provider_type,
                tags=json.dumps(list(dataset.tags)),
                properties=json.dumps(dataset.properties),
                created_at=dataset.created_at,
                updated_at=dataset.updated_at,
                data_updated_at=None,
            )
        )

    def get(self, dataset_id: str) -> DataSet:
        return self._dataset(self.first_or(_BY_ID, DataSetNotFound(dataset_id), {"dataset_id": dataset_id}))

    def find(
        self,
        *,
        limit: int,
        offset: int,
        name_like: str = "",
        sort: str | None = None,
        owner_id: int | None = None,
        visible_to: tuple[int, Collection[str]] | None = None,
    ) -> list[DataSet]:
        """`visible_to=(user_id, shared_ids)` keeps only the DataSets the user owns or that are shared. `sort` is a
        key below, with a `-` before it for descending; `owner` sorts by the owner's name, `columncount` by the
        number of columns."""
        q = select(t.datasets)
        if visible_to is not None:
            q = q.where(or_(t.datasets.c.owner_id == visible_to[0], t.datasets.c.id.in_(list(visible_to[1]))))
        if name_like:
            q = q.where(func.lower(t.datasets.c.name).contains(name_like.lower(), autoescape=True))
        if owner_id is not None:
            q = q.where(t.datasets.c.owner_id == owner_id)
        key = (sort or "").lstrip("-+").lower()
        descending = (sort or "").startswith("-")
        column: Any = {
            "name": t.datasets.c.name,
            "lastupdated": t.datasets.c.updated_at,
            "lasttouched": t.datasets.c.updated_at,
            "created": t.datasets.c.created_at,
            "rowcount": t.datasets.c.row_count,
            "id": t.datasets.c.id,
        }.get(key)
        if key == "owner":
            q = q.select_from(t.datasets.outerjoin(t.users, t.users.c.id == t.datasets.c.owner_id))
            column = func.lower(t.users.c.name)
        elif key == "columncount":
            column = self._column_count()
        if column is not None:
            q = q.order_by(column.desc() if descending else column.asc(), t.datasets.c.created_at, t.datasets.c.id)
        else:
            q = q.order_by(t.datasets.c.created_at, t.datasets.c.id)
        q = q.limit(limit).offset(offset)
        with self.tx() as c:
            return [self._dataset(r) for r in c.execute(q)]

    def _column_count(self) -> Any:
        """The number of columns of a DataSet, from its columns' JSON array (PostgreSQL needs it typed as JSON)."""
        columns: Any = t.datasets.c.columns
        if self.engine.dialect.name == "postgresql":
            columns = cast(columns, JSON)
        return func.json_array_length(columns)

    def all_ids(self) -> list[str]:
        with self.tx() as c:
            return [r[0] for r in c.execute(select(t.datasets.c.id))]

    def update(self, dataset_id: str, **changes: Any) -> DataSet:
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "columns":
                values["columns"] = self._columns_json(value)
            elif key in ("tags",):
                values[key] = json.dumps(list(value))
            elif key == "properties":
                values[key] = json.dumps(value)
            else:
                values[key] = value
        values.setdefault("updated_at", utcnow())
        with self.tx() as c:
            n = c.execute(update(t.datasets).where(t.datasets.c.id == dataset_id).values(**values)).rowcount
        if n == 0:
            raise DataSetNotFound(dataset_id)
        return self.get(dataset_id)

    def record_data_change(
        self, dataset_id: str, row_count: int, version: int, conn: Connection | None = None, *, touch: bool = True
    ) -> None:
        """Cache the DataSet's row count as counted at lake snapshot `version`, unless a newer one is cached
        already (commits of several processes reach the catalog in any order). `touch` marks the data updated."""
        now = utcnow()
        values: dict[str, Any] = {"row_count": row_count, "data_version": version}
        if touch:
            values.update(updated_at=now, data_updated_at=now)
        d = t.datasets.c
        stmt = (
            update(t.datasets)
            .where(d.id == dataset_id, or_(d.data_version.is_(None), d.data_version < version))
            .values(**values)
        )
        if conn is not None:
            conn.execute(stmt)
        else:
            with self.tx() as c:
                c.execute(stmt)

    def delete(self, dataset_id: str) -> list[int]:
        """Remove a DataSet and everything the catalog keeps about it, in one transaction: its streams with
        their executions, parts, uploads, connector, schedule and runs; its partitions, index requests,
        shares and PDP policies. Its queued or running exports end `error` ("the DataSet was deleted"); their
        records stay. The DataSet's row goes first, so a transaction adding to it waits or fails.

        Returns the ids of the executions removed (their staging folders can go once this is committed).

        Raises:
            DataSetNotFound: no such DataSet.
        """
        with self.tx() as c:
            if c.execute(delete(t.datasets).where(t.datasets.c.id == dataset_id)).rowcount == 0:
                raise DataSetNotFound(dataset_id)
            stream_ids = [r[0] for r in c.execute(select(t.streams.c.id).where(t.streams.c.dataset_id == dataset_id))]
            removed = forget_streams(c, stream_ids)
            for table in (t.uploads, t.partitions, t.index_requests):
                c.execute(delete(table).where(table.c.dataset_id == dataset_id))
            AccessStore.forget_dataset(c, dataset_id)
            end_exports(c, dataset_id, "the DataSet was deleted")
            return removed
