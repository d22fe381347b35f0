"""Catalog tables of the instance product API: uploads, partitions, index requests and stream connectors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from domolite.catalog import schema as t
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import CatalogWrite, Store
from domolite.errors import IndexNotFound, PartitionNotFound, UploadNotFound
from domolite.models.records import Connector, IndexRequest, Partition, Upload


class ProductStore(Store):
    # -- uploads ---------------------------------------------------------------------------------------------
    def add_upload(self, execution_id: int, dataset_id: str, stream_id: int, data_tag: str | None) -> Upload:
        now = utcnow()
        with self.tx() as c:
            c.execute(
                insert(t.uploads).values(
                    execution_id=execution_id,
                    dataset_id=dataset_id,
                    stream_id=stream_id,
                    data_tag=data_tag,
                    created_at=now,
                )
            )
        return Upload(execution_id, dataset_id, stream_id, data_tag, now)

    def get_upload(self, dataset_id: str, upload_id: int) -> Upload:
        with self.tx() as c:
            row = c.execute(
                select(t.uploads).where(t.uploads.c.execution_id == upload_id, t.uploads.c.dataset_id == dataset_id)
            ).first()
        if row is None:
            raise UploadNotFound(dataset_id, upload_id)
        return Upload(int(row.execution_id), row.dataset_id, int(row.stream_id), row.data_tag, row.created_at)

    # -- partitions ------------------------------------------------------------------------------------------
    @staticmethod
    def _partition(row: Any) -> Partition:
        return Partition(
            dataset_id=row.dataset_id,
            tag=row.tag,
            data_id=int(row.data_id),
            row_count=int(row.row_count),
            completed_at=row.completed_at,
            deleted=bool(row.deleted),
        )

    def put_partition(self, dataset_id: str, tag: str, data_id: int, row_count: int, *, deleted: bool = False) -> None:
        """Record a partition's newest data version (or its deletion); one catalog transaction."""
        with self.tx() as c:
            self.partition_write(dataset_id, tag, data_id, row_count, deleted=deleted)(c)

    @staticmethod
    def partition_write(
        dataset_id: str, tag: str, data_id: int, row_count: int, *, deleted: bool = False
    ) -> CatalogWrite:
        """`put_partition` as a write to run in another change's transaction (the commit that filled it)."""
        values = {"data_id": data_id, "row_count": row_count, "completed_at": utcnow(), "deleted": deleted}

        def write(c: Connection) -> None:
            n = c.execute(
                update(t.partitions)
                .where(t.partitions.c.dataset_id == dataset_id, t.partitions.c.tag == tag)
                .values(**values)
            ).rowcount
            if n == 0:
                c.execute(insert(t.partitions).values(dataset_id=dataset_id, tag=tag, **values))

        return write

    def get_partition(self, dataset_id: str, tag: str) -> Partition:
        with self.tx() as c:
            row = c.execute(
                select(t.partitions).where(t.partitions.c.dataset_id == dataset_id, t.partitions.c.tag == tag)
            ).first()
        if row is None:
            raise PartitionNotFound(dataset_id, tag)
        return self._partition(row)

    def has_partition(self, dataset_id: str, tag: str) -> bool:
        try:
            self.get_partition(dataset_id, tag)
        except PartitionNotFound:
            return False
        return True

    def count_partitions(self, dataset_id: str) -> int:
        with self.tx() as c:
            return int(
                c.execute(
                    select(func.count()).select_from(t.partitions).where(t.partitions.c.dataset_id == dataset_id)
                ).scalar_one()
            )

    def list_partitions(
        self,
        dataset_id: str,
        *,
        include_deleted: bool,
        descending: bool = False,
        completed_min: datetime | None = None,
        completed_max: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Partition]:
        p = t.partitions.c
        q = select(t.partitions).where(p.dataset_id == dataset_id)
        if not include_deleted:
            q = q.where(p.deleted.is_(False))
        if completed_min is not None:
            q = q.where(p.completed_at >= completed_min)
        if completed_max is not None:
            q = q.where(p.completed_at <= completed_max)
        order = (p.completed_at.desc(), p.tag.desc()) if descending else (p.completed_at.asc(), p.tag.asc())
        q = q.order_by(*order).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.tx() as c:
            return [self._partition(r) for r in c.execute(q)]

    def remove_partition(self, dataset_id: str, tag: str) -> None:
        with self.tx() as c:
            n = c.execute(
                delete(t.partitions).where(t.partitions.c.dataset_id == dataset_id, t.partitions.c.tag == tag)
            ).rowcount
        if n == 0:
            raise PartitionNotFound(dataset_id, tag)

    @staticmethod
    def clear_partitions_write(dataset_id: str) -> CatalogWrite:
        """Forgetting every partition of a DataSet, as a write to run in the transaction of the commit that
        replaced all its rows."""

        def write(c: Connection) -> None:
            c.execute(delete(t.partitions).where(t.partitions.c.dataset_id == dataset_id))

        return write

    # -- index requests --------------------------------------------------------------------------------------
    @staticmethod
    def _index(row: Any) -> IndexRequest:
        return IndexRequest(
            id=int(row.id),
            dataset_id=row.dataset_id,
            status=row.status,
            files_merged=int(row.files_merged),
            message=row.message,
            created_at=row.created_at,
            ended_at=row.ended_at,
        )

    def open_index(self, dataset_id: str, owner: str) -> int:
        with self.tx() as c:
            key = c.execute(
                insert(t.index_requests).values(
                    dataset_id=dataset_id, status="RUNNING", files_merged=0, created_at=utcnow(), owner=owner
                )
            ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def close_index(self, index_id: int, status: str, files_merged: int, message: str | None) -> IndexRequest:
        with self.tx() as c:
            c.execute(
                update(t.index_requests)
                .where(t.index_requests.c.id == index_id)
                .values(status=status, files_merged=files_merged, message=message, ended_at=utcnow())
            )
            return self._index(c.execute(select(t.index_requests).where(t.index_requests.c.id == index_id)).one())

    def get_index(self, dataset_id: str, index_id: int) -> IndexRequest:
        with self.tx() as c:
            row = c.execute(
                select(t.index_requests).where(
                    t.index_requests.c.id == index_id, t.index_requests.c.dataset_id == dataset_id
                )
            ).first()
        if row is None:
            raise IndexNotFound(dataset_id, index_id)
        return self._index(row)

    def running_index_owners(self) -> list[tuple[int, str | None]]:
        """(id, owning process) of every index request still RUNNING."""
        with self.tx() as c:
            rows = c.execute(
                select(t.index_requests.c.id, t.index_requests.c.owner).where(t.index_requests.c.status == "RUNNING")
            ).all()
        return [(int(r.id), r.owner) for r in rows]

    def fail_index(self, index_id: int, message: str) -> None:
        """A RUNNING index request ends ERROR (its process is gone)."""
        with self.tx() as c:
            c.execute(
                update(t.index_requests)
                .where(t.index_requests.c.id == index_id, t.index_requests.c.status == "RUNNING")
                .values(status="ERROR", message=message, ended_at=utcnow())
            )

    # -- stream connectors -----------------------------------------------------------------------------------
    @staticmethod
    def _connector(row: Any) -> Connector:
        return Connector(
            stream_id=int(row.stream_id),
            provider_key=row.provider_key,
            transport=json.loads(row.transport),
            configuration=json.loads(row.configuration),
            account=json.loads(row.account) if row.account else None,
            schedule=row.schedule,
            created_by=int(row.created_by),
            modified_by=int(row.modified_by),
        )

    def put_connector(self, conn: Connection | None, connector: Connector) -> None:
        values = {
            "provider_key": connector.provider_key,
            "transport": json.dumps(connector.transport),
            "configuration": json.dumps(connector.configuration),
            "account": json.dumps(connector.account) if connector.account is not None else None,
            "schedule": connector.schedule,
            "created_by": connector.created_by,
            "modified_by": connector.modified_by,
        }

        def run(c: Connection) -> None:
            n = c.execute(
                update(t.stream_connectors)
                .where(t.stream_connectors.c.stream_id == connector.stream_id)
                .values(**values)
            ).rowcount
            if n == 0:
                c.execute(insert(t.stream_connectors).values(stream_id=connector.stream_id, **values))

        if conn is not None:
            run(conn)
        else:
            with self.tx() as c:
                run(c)

    def get_connector(self, stream_id: int) -> Connector | None:
        with self.tx() as c:
            row = c.execute(select(t.stream_connectors).where(t.stream_connectors.c.stream_id == stream_id)).first()
        return self._connector(row) if row is not None else None
