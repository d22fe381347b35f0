"""Domain values: Domo's types, update methods and the execution state machine (as data)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domolite.errors import Conflict, InvalidField
from domolite.models.access import AccessLevel
from domolite.models.enums import parse_member


class DomoType(StrEnum):
    STRING = "STRING"
    LONG = "LONG"
    DOUBLE = "DOUBLE"
    DECIMAL = "DECIMAL"
    DATE = "DATE"
    DATETIME = "DATETIME"

    @classmethod
    def parse(cls, value: object, where: str) -> DomoType:
        return parse_member(cls, value, where, "type")


class UpdateMethod(StrEnum):
    REPLACE = "REPLACE"
    APPEND = "APPEND"
    UPSERT = "UPSERT"

    @classmethod
    def parse(cls, value: object, where: str = "updateMethod") -> UpdateMethod:
        text = str(value).upper()
        if text == "UPDATE":  # domo-sdk's enum has UPDATE; documented as APPEND in docs/choices.md
            return cls.APPEND
        try:
            return cls(text)
        except ValueError:
            raise InvalidField(where, f"unknown update method {value!r}; expected REPLACE, APPEND or UPSERT") from None


class Role(StrEnum):
    ADMIN = "Admin"
    PRIVILEGED = "Privileged"
    PARTICIPANT = "Participant"

    @classmethod
    def parse(cls, value: object, where: str = "role") -> Role:
        for role in cls:
            if role.value.lower() == str(value).lower():
                return role
        raise InvalidField(where, f"unknown role {value!r}; expected Admin, Privileged or Participant")


class ExecutionState(StrEnum):
    ACTIVE = "ACTIVE"
    COMMITTING = "COMMITTING"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    ABORTED = "ABORTED"


EXECUTION_TRANSITIONS: dict[ExecutionState, frozenset[ExecutionState]] = {
    ExecutionState.ACTIVE: frozenset({ExecutionState.COMMITTING, ExecutionState.ABORTED, ExecutionState.ERROR}),
    # back to ACTIVE when the lake was too busy to take the commit (nothing changed; it may be committed again)
    ExecutionState.COMMITTING: frozenset({ExecutionState.SUCCESS, ExecutionState.ERROR, ExecutionState.ACTIVE}),
    ExecutionState.SUCCESS: frozenset(),
    ExecutionState.ERROR: frozenset(),
    ExecutionState.ABORTED: frozenset(),
}


def check_transition(current: ExecutionState, new: ExecutionState) -> None:
    """Raise Conflict unless the execution state machine allows current -> new."""
    if new not in EXECUTION_TRANSITIONS[current]:
        raise Conflict(f"an execution cannot go from {current} to {new}")


@dataclass(frozen=True)
class Column:
    """A column of a DataSet. A hidden column (`visible` False, set through the instance API's schema change)
    stays in the data and out of the indexed schema unless it is asked for (see docs/choices.md)."""

    name: str
    type: DomoType
    visible: bool = True


def shape(columns: Sequence[Column]) -> tuple[tuple[str, DomoType], ...]:
    """What the lake's table holds of a schema: names and types (visibility is the catalog's alone)."""
    return tuple((c.name, c.type) for c in columns)


def keep_hidden(columns: Sequence[Column], before: Sequence[Column]) -> tuple[Column, ...]:
    """`columns` from an API that cannot say `visible` (the public DataSet API): a column hidden before stays
    hidden."""
    hidden = {c.name.lower() for c in before if not c.visible}
    return tuple(Column(c.name, c.type, False) if c.name.lower() in hidden else c for c in columns)


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: Role


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, the scopes of the credential used, the user's groups, and the DataSets shared
    with the user or those groups (DataSet id -> best access level), read when the credential is checked."""

    user: User
    scopes: frozenset[str]
    client_id: str | None = None
    group_ids: frozenset[int] = frozenset()
    grants: Mapping[str, AccessLevel] = field(default_factory=dict, hash=False, compare=False)
    # How the credential came in ("oauth", "developer token", "session"; "server" for the server's own work) and
    # its id (the OAuth client, the developer token's public id, the session's jti), for the audit log.
    via: str = "server"
    credential_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.user.role is Role.ADMIN


@dataclass(frozen=True)
class DataSet:
    id: str
    name: str
    description: str
    owner_id: int
    columns: tuple[Column, ...]
    table: str
    pdp_enabled: bool
    row_count: int
    created_at: datetime
    updated_at: datetime
    data_updated_at: datetime | None
    data_provider_type: str = "api"
    tags: tuple[str, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)
    data_version: int | None = None  # the lake snapshot `row_count` was counted at (None before the first load)


@dataclass(frozen=True)
class Stream:
    id: int
    dataset_id: str
    update_method: UpdateMethod
    key_columns: tuple[str, ...]
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class Execution:
    id: int
    stream_id: int
    state: ExecutionState
    update_method: UpdateMethod
    created_at: datetime
    modified_at: datetime
    ended_at: datetime | None
    rows: int
    bytes: int
    message: str | None
    parts: int
    number: int = 0  # its place in its stream: the execution id clients see (`id` is the catalog's key)


# -- the instance product API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A three-stage upload: an execution of the DataSet's stream, opened for a partition tag or none."""

    id: int
    dataset_id: str
    stream_id: int
    data_tag: str | None
    created_at: datetime


@dataclass(frozen=True)
class Partition:
    dataset_id: str
    tag: str
    data_id: int
    row_count: int
    completed_at: datetime
    deleted: bool


@dataclass(frozen=True)
class IndexRequest:
    id: int
    dataset_id: str
    status: str
    files_merged: int
    message: str | None
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Connector:
    """The connector form of a stream: the provider and the configuration a client sent, kept as given."""

    stream_id: int
    provider_key: str
    transport: dict[str, Any]
    configuration: list[dict[str, Any]]
    account: dict[str, Any] | None
    schedule: str | None
    created_by: int
    modified_by: int


@dataclass(frozen=True)
class Account:
    """A connector account. `configuration` holds only the non-secret fields; the secret ones exist only as the
    Fernet token `secrets_encrypted`, which only `accounts.Accounts` opens."""

    id: int
    owner_id: int
    name: str
    display_name: str
    provider_key: str
    configuration: dict[str, Any]
    valid: bool
    created_at: datetime
    modified_at: datetime
    modified_by: int
    secrets_encrypted: str = field(repr=False, compare=False)


@dataclass(frozen=True)
class RunInfo:
    """What a connector run adds to its execution: how it started, which retry it is, and its export."""

    execution_id: int
    stream_id: int
    run_type: str  # MANUAL | AUTOMATED
    attempt: int
    started_by: int | None
    export_id: str | None
