"""Catalog: the only module that talks SQLAlchemy. SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from domolite.catalog import schema as t
from domolite.catalog.access import AccessStore
from domolite.catalog.clock import utcnow
from domolite.errors import (
    Conflict,
    DataSetNotFound,
    ExecutionNotActive,
    ExecutionNotFound,
    StreamNotFound,
    UserNotFound,
)
from domolite.models.exports import ACTIVE_STATES, ErrorCode, ExportState, check_export_transition
from domolite.models.records import (
    Column,
    DataSet,
    DomoType,
    Execution,
    ExecutionState,
    Role,
    Stream,
    UpdateMethod,
    User,
    check_transition,
)

# A write another catalog module prepares, to run inside a transaction of this one (one commit for both).
CatalogWrite = Callable[[Connection], None]


def end_exports(c: Connection, dataset_id: str, message: str) -> None:
    """The DataSet's queued or running exports end `error` with `message` (its deletion); the job running one
    sees that and stops, writing no manifest and aborting its uploads."""
    for state in ACTIVE_STATES:
        check_export_transition(state, ExportState.ERROR)
    x = t.exports.c
    c.execute(
        update(t.exports)
        .where(x.dataset_id == dataset_id, x.state.in_([s.value for s in ACTIVE_STATES]))
        .values(
            state=ExportState.ERROR.value,
            error_code=ErrorCode.DATASET_DELETED.value,
            message=message,
            finished_at=utcnow(),
            active_dataset_id=None,
        )
    )


MIGRATION_LOCK = 0x646F6D6F  # a PostgreSQL advisory lock key of our own ("domo")


# Called by migration 0008 with the token signing key earlier versions kept in the catalog, before it is dropped.
LegacyKeySink = Callable[[str], None]


def open_catalog(url: str, *, legacy_signing_key_sink: LegacyKeySink | None = None) -> Catalog:
    """Connect to the catalog at `url` and bring its tables up to the newest migration (a token signing key
    found in an older catalog goes to `legacy_signing_key_sink`, or is dropped when there is none)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    catalog = Catalog(engine)
    catalog.migrate(legacy_signing_key_sink)
    return catalog


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.access = AccessStore(engine)

    # -- plumbing ---------------------------------------------------------------------------------------------
    def migrate(self, legacy_signing_key_sink: LegacyKeySink | None = None) -> None:
        """Bring the tables up to the newest migration. Servers starting together on one catalog migrate one
        after the other: under an advisory lock on PostgreSQL, under a lock file next to a SQLite file. When a
        migration deleted a secret, a SQLite write-ahead log is then folded into the file, so it is gone from both."""
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        cfg.attributes["legacy_signing_key_sink"] = legacy_signing_key_sink
        with self._sqlite_file_lock():
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            if self.engine.dialect.name == "sqlite" and cfg.attributes.get("deleted_secrets"):
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- users ------------------------------------------------------------------------------------------------
    @staticmethod
    def _user(row: Any) -> User:
        return User(id=int(row.id), email=row.email, name=row.name, role=Role(row.role))

    def create_user(self, email: str, name: str, role: Role, password_hash: str | None) -> User:
        try:
            with self.tx() as c:
                uid = c.execute(
                    insert(t.users).values(
                        email=email, name=name, role=role.value, password_hash=password_hash, created_at=utcnow()
                    )
                ).inserted_primary_key
        except IntegrityError:
            raise Conflict(f"a user with email {email} already exists") from None
        assert uid is not None
        return User(id=int(uid[0]), email=email, name=name, role=role)

    def count_users(self) -> int:
        with self.tx() as c:
            return int(c.execute(select(func.count()).select_from(t.users)).scalar_one())

    def get_user(self, user_id: int) -> User:
        with self.tx() as c:
            row = c.execute(select(t.users).where(t.users.c.id == user_id)).first()
        if row is None:
            raise UserNotFound(user_id)
        return self._user(row)

    def find_user_by_email(self, email: str) -> tuple[User, str | None]:
        with self.tx() as c:
            row = c.execute(select(t.users).where(func.lower(t.users.c.email) == email.lower())).first()
        if row is None:
            raise UserNotFound(email)
        return self._user(row), row.password_hash

    # -- clients and developer tokens -------------------------------------------------------------------------
    def create_client(self, client_id: str, secret_hash: str, name: str, user_id: int, scopes: Sequence[str]) -> None:
        with self.tx() as c:
            c.execute(
                insert(t.clients).values(
                    client_id=client_id,
                    secret_hash=secret_hash,
                    name=name,
                    user_id=user_id,
                    scopes=" ".join(scopes),
                    created_at=utcnow(),
                )
            )

    def get_client(self, client_id: str) -> tuple[str, int, frozenset[str]] | None:
        """Return (secret_hash, user_id, scopes) of a client, or None."""
        with self.tx() as c:
            row = c.execute(select(t.clients).where(t.clients.c.client_id == client_id)).first()
        if row is None:
            return None
        return row.secret_hash, int(row.user_id), frozenset(row.scopes.split())

    def create_dev_token(self, token_id: str, token_hash: str, user_id: int, name: str) -> None:
        with self.tx() as c:
            c.execute(
                insert(t.dev_tokens).values(
                    id=token_id, token_hash=token_hash, user_id=user_id, name=name, created_at=utcnow()
                )
            )

    def get_dev_token(self, token_id: str) -> tuple[str, int, bool] | None:
        """Return (token_hash, user_id, revoked) of a developer token, or None."""
        with self.tx() as c:
            row = c.execute(select(t.dev_tokens).where(t.dev_tokens.c.id == token_id)).first()
        if row is None:
            return None
        return row.token_hash, int(row.user_id), row.revoked_at is not None

    # -- datasets ---------------------------------------------------------------------------------------------
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

    def insert_dataset(self, conn: Connection, dataset: DataSet) -> None:
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

    def get_dataset(self, dataset_id: str) -> DataSet:
        with self.tx() as c:
            row = c.execute(select(t.datasets).where(t.datasets.c.id == dataset_id)).first()
        if row is None:
            raise DataSetNotFound(dataset_id)
        return self._dataset(row)

    def list_datasets(
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

    def all_dataset_ids(self) -> list[str]:
        with self.tx() as c:
            return [r[0] for r in c.execute(select(t.datasets.c.id))]

    def update_dataset(self, dataset_id: str, **changes: Any) -> DataSet:
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
        return self.get_dataset(dataset_id)

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

    def delete_dataset(self, dataset_id: str) -> list[int]:
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
            removed = self._forget_streams(c, stream_ids)
            for table in (t.uploads, t.partitions, t.index_requests):
                c.execute(delete(table).where(table.c.dataset_id == dataset_id))
            AccessStore.forget_dataset(c, dataset_id)
            end_exports(c, dataset_id, "the DataSet was deleted")
            return removed

    @staticmethod
    def _forget_streams(c: Connection, stream_ids: Sequence[int]) -> list[int]:
        """Remove streams and what hangs on them (executions, parts, uploads, connector, schedule, runs)."""
        if not stream_ids:
            return []
        ids = list(stream_ids)
        e = t.executions.c
        execution_ids = [int(r[0]) for r in c.execute(select(e.id).where(e.stream_id.in_(ids)))]
        if execution_ids:
            c.execute(delete(t.parts).where(t.parts.c.execution_id.in_(execution_ids)))
        c.execute(delete(t.uploads).where(t.uploads.c.stream_id.in_(ids)))
        c.execute(delete(t.executions).where(e.stream_id.in_(ids)))
        for table in (t.stream_connectors, t.stream_schedules, t.connector_runs):
            c.execute(delete(table).where(table.c.stream_id.in_(ids)))
        c.execute(delete(t.streams).where(t.streams.c.id.in_(ids)))
        return execution_ids

    # -- streams ----------------------------------------------------------------------------------------------
    @staticmethod
    def _stream(row: Any) -> Stream:
        return Stream(
            id=int(row.id),
            dataset_id=row.dataset_id,
            update_method=UpdateMethod(row.update_method),
            key_columns=tuple(json.loads(row.key_columns)),
            created_at=row.created_at,
            modified_at=row.modified_at,
        )

    def insert_stream(self, conn: Connection, dataset_id: str, method: UpdateMethod, key_columns: Sequence[str]) -> int:
        now = utcnow()
        key = conn.execute(
            insert(t.streams).values(
                dataset_id=dataset_id,
                update_method=method.value,
                key_columns=json.dumps(list(key_columns)),
                created_at=now,
                modified_at=now,
            )
        ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def get_stream(self, stream_id: int) -> Stream:
        with self.tx() as c:
            row = c.execute(select(t.streams).where(t.streams.c.id == stream_id)).first()
        if row is None:
            raise StreamNotFound(stream_id)
        return self._stream(row)

    def list_streams(self, *, limit: int, offset: int, dataset_ids: Sequence[str] | None = None) -> list[Stream]:
        q = select(t.streams).order_by(t.streams.c.id)
        if dataset_ids is not None:
            q = q.where(t.streams.c.dataset_id.in_(list(dataset_ids)))
        with self.tx() as c:
            return [self._stream(r) for r in c.execute(q.limit(limit).offset(offset))]

    def update_stream(self, stream_id: int, method: UpdateMethod | None, key_columns: Sequence[str] | None) -> Stream:
        values: dict[str, Any] = {"modified_at": utcnow()}
        if method is not None:
            values["update_method"] = method.value
        if key_columns is not None:
            values["key_columns"] = json.dumps(list(key_columns))
        with self.tx() as c:
            if c.execute(update(t.streams).where(t.streams.c.id == stream_id).values(**values)).rowcount == 0:
                raise StreamNotFound(stream_id)
        return self.get_stream(stream_id)

    def delete_stream(self, stream_id: int) -> list[int]:
        """Remove a stream with its executions (and their parts and uploads), connector, schedule and runs, in
        one transaction. Returns the ids of the executions removed.

        Raises:
            StreamNotFound: no such stream.
        """
        with self.tx() as c:
            if c.execute(select(t.streams.c.id).where(t.streams.c.id == stream_id)).first() is None:
                raise StreamNotFound(stream_id)
            return self._forget_streams(c, [stream_id])

    # -- executions -------------------------------------------------------------------------------------------
    def _execution(self, conn: Connection, row: Any) -> Execution:
        nparts = conn.execute(
            select(func.count()).select_from(t.parts).where(t.parts.c.execution_id == row.id)
        ).scalar_one()
        return Execution(
            id=int(row.id),
            stream_id=int(row.stream_id),
            state=ExecutionState(row.state),
            update_method=UpdateMethod(row.update_method),
            created_at=row.created_at,
            modified_at=row.modified_at,
            ended_at=row.ended_at,
            rows=int(row.rows),
            bytes=int(row.bytes),
            message=row.message,
            parts=int(nparts),
            number=int(row.number),
        )

    def create_execution(self, stream_id: int, method: UpdateMethod) -> Execution:
        now = utcnow()
        s = t.streams.c
        with self.tx() as c:
            number = c.execute(
                update(t.streams)
                .where(s.id == stream_id)
                .values(last_execution_number=s.last_execution_number + 1)
                .returning(s.last_execution_number)
            ).scalar()
            if number is None:
                raise StreamNotFound(stream_id)
            key = c.execute(
                insert(t.executions).values(
                    number=int(number),
                    stream_id=stream_id,
                    state=ExecutionState.ACTIVE.value,
                    update_method=method.value,
                    created_at=now,
                    modified_at=now,
                    rows=0,
                    bytes=0,
                )
            ).inserted_primary_key
            assert key is not None
            row = c.execute(select(t.executions).where(t.executions.c.id == key[0])).one()
            return self._execution(c, row)

    def execution_key(self, stream_id: int, number: int) -> int:
        """The catalog's key of the stream's execution `number` (the execution id a client sends).

        Raises:
            ExecutionNotFound: the stream has no such execution.
        """
        e = t.executions.c
        with self.tx() as c:
            key = c.execute(select(e.id).where(e.stream_id == stream_id, e.number == number)).scalar()
        if key is None:
            raise ExecutionNotFound(stream_id, number)
        return int(key)

    def get_execution(self, stream_id: int, execution_id: int) -> Execution:
        with self.tx() as c:
            row = c.execute(
                select(t.executions).where(t.executions.c.id == execution_id, t.executions.c.stream_id == stream_id)
            ).first()
            if row is None:
                raise ExecutionNotFound(stream_id, execution_id)
            return self._execution(c, row)

    def execution_state(self, execution_id: int) -> ExecutionState | None:
        """The state of an execution of any stream, or None when there is no such execution."""
        with self.tx() as c:
            state = c.execute(select(t.executions.c.state).where(t.executions.c.id == execution_id)).scalar()
        return None if state is None else ExecutionState(state)

    def list_executions(self, stream_id: int, *, limit: int, offset: int) -> list[Execution]:
        q = (
            select(t.executions)
            .where(t.executions.c.stream_id == stream_id)
            .order_by(t.executions.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.tx() as c:
            return [self._execution(c, r) for r in c.execute(q).all()]

    def committing_executions(self) -> list[tuple[Execution, str | None]]:
        """Executions being committed, each with the process committing it (None: not recorded)."""
        with self.tx() as c:
            rows = c.execute(select(t.executions).where(t.executions.c.state == ExecutionState.COMMITTING.value)).all()
            return [(self._execution(c, r), r.owner) for r in rows]

    def advance_execution(
        self,
        execution: Execution,
        new: ExecutionState,
        *,
        message: str | None = None,
        rows: int | None = None,
        size: int | None = None,
        owner: str | None = None,
        also: Sequence[CatalogWrite] = (),
        method: UpdateMethod | None = None,
    ) -> Execution:
        """Move an execution to `new` if the state machine allows it, with compare-and-set on the old state.
        `owner` names the process that takes it on (the one committing it); `also` are writes that belong to
        the same change (a partition's entry), made in the same transaction; `method` is the update method the
        commit used, when it chose one."""
        check_transition(execution.state, new)
        now = utcnow()
        values: dict[str, Any] = {"state": new.value, "modified_at": now}
        if owner is not None:
            values["owner"] = owner
        if new in (ExecutionState.SUCCESS, ExecutionState.ERROR, ExecutionState.ABORTED):
            values["ended_at"] = now
        if message is not None:
            values["message"] = message
        if rows is not None:
            values["rows"] = rows
        if size is not None:
            values["bytes"] = size
        if method is not None:
            values["update_method"] = method.value
        with self.tx() as c:
            n = c.execute(
                update(t.executions)
                .where(t.executions.c.id == execution.id, t.executions.c.state == execution.state.value)
                .values(**values)
            ).rowcount
            if n == 0:
                current = c.execute(select(t.executions.c.state).where(t.executions.c.id == execution.id)).scalar()
                raise ExecutionNotActive(execution.stream_id, execution.number, str(current))
            for write in also:
                write(c)
            row = c.execute(select(t.executions).where(t.executions.c.id == execution.id)).one()
            return self._execution(c, row)

    # -- parts ------------------------------------------------------------------------------------------------
    def record_part(
        self, stream_id: int, execution_id: int, part_no: int, size: int, place: Callable[[], None]
    ) -> None:
        """Record a part of an ACTIVE execution; `place` puts its file where the commit reads it. The execution's
        row is taken first (as a commit or an abort takes it to change its state), so the part is recorded and
        placed before a commit reads the parts, or refused.

        Raises:
            ExecutionNotActive: the execution is committing or ended; `place` was not called.
        """
        e = t.executions.c
        with self.tx() as c:
            taken = c.execute(
                update(t.executions)
                .where(e.id == execution_id, e.stream_id == stream_id, e.state == ExecutionState.ACTIVE.value)
                .values(modified_at=utcnow())
            ).rowcount
            if taken == 0:
                found = c.execute(select(e.state, e.number).where(e.id == execution_id)).first()
                state, number = (found[0], found[1]) if found is not None else (None, execution_id)
                if state is None:
                    raise ExecutionNotFound(stream_id, execution_id)
                raise ExecutionNotActive(stream_id, int(number), str(state))
            place()
            c.execute(delete(t.parts).where(t.parts.c.execution_id == execution_id, t.parts.c.part_no == part_no))
            c.execute(
                insert(t.parts).values(execution_id=execution_id, part_no=part_no, bytes=size, received_at=utcnow())
            )

    def part_numbers(self, execution_id: int) -> list[tuple[int, int]]:
        """(part_no, bytes) of an execution's parts, in numeric order."""
        with self.tx() as c:
            rows = c.execute(
                select(t.parts.c.part_no, t.parts.c.bytes)
                .where(t.parts.c.execution_id == execution_id)
                .order_by(t.parts.c.part_no)
            ).all()
        return [(int(r[0]), int(r[1])) for r in rows]

    def delete_parts(self, execution_id: int) -> None:
        with self.tx() as c:
            c.execute(delete(t.parts).where(t.parts.c.execution_id == execution_id))
