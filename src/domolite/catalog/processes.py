"""The server processes sharing this catalog, each with the time it last said it was alive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from domolite.catalog import schema as t
from domolite.catalog.engine import Store


@dataclass(frozen=True)
class ProcessRow:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime


class ProcessStore(Store):
    def register(self, row: ProcessRow) -> None:
        with self.tx() as c:
            c.execute(
                insert(t.server_processes).values(
                    id=row.id, host=row.host, pid=row.pid, started_at=row.started_at, heartbeat_at=row.heartbeat_at
                )
            )

    def beat(self, process_id: str, now: datetime) -> bool:
        """Renew a process's heartbeat; False when its row is gone (others took it for dead)."""
        with self.tx() as c:
            n = c.execute(
                update(t.server_processes).where(t.server_processes.c.id == process_id).values(heartbeat_at=now)
            ).rowcount
        return bool(n)

    def remove(self, process_ids: list[str]) -> None:
        if process_ids:
            with self.tx() as c:
                c.execute(delete(t.server_processes).where(t.server_processes.c.id.in_(process_ids)))

    def all(self) -> list[ProcessRow]:
        with self.tx() as c:
            rows = c.execute(select(t.server_processes)).all()
        return [ProcessRow(r.id, r.host, int(r.pid), r.started_at, r.heartbeat_at) for r in rows]
