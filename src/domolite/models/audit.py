"""Audit events as data: what happened (an action on an object), who did it, how they came in, and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Action(StrEnum):
    """Domo's `actionType` of an activity log entry."""

    CREATED = "CREATED"
    CHANGED = "CHANGED"
    DATA_COMMITTED = "DATA_COMMITTED"
    SCHEMA_CHANGED = "SCHEMA_CHANGED"
    SHARED = "SHARED"
    UNSHARED = "UNSHARED"
    POLICY_CHANGED = "POLICY_CHANGED"
    EXPORTED = "EXPORTED"
    DELETED = "DELETED"
    REVOKED = "REVOKED"
    ROTATED = "ROTATED"
    LOGIN_FAILED = "LOGIN_FAILED"


class ObjectType(StrEnum):
    """Domo's `objectType`: what an event is about."""

    DATA_SOURCE = "DATA_SOURCE"
    STREAM = "STREAM"
    ACCESS_TOKEN = "ACCESS_TOKEN"
    CLIENT = "CLIENT"
    USER = "USER"
    GROUP = "GROUP"
    ACCOUNT = "ACCOUNT"
    SIGNING_KEY = "SIGNING_KEY"
    SESSION = "SESSION"
    TOKEN = "TOKEN"  # a bearer or session token that did not verify (no id to name)


EVENT_TEXT: dict[tuple[Action, ObjectType], str] = {
    (Action.CREATED, ObjectType.DATA_SOURCE): "Created DataSet",
    (Action.DATA_COMMITTED, ObjectType.DATA_SOURCE): "Updated DataSet data",
    (Action.SCHEMA_CHANGED, ObjectType.DATA_SOURCE): "Changed DataSet schema",
    (Action.SHARED, ObjectType.DATA_SOURCE): "Shared DataSet",
    (Action.UNSHARED, ObjectType.DATA_SOURCE): "Revoked DataSet access",
    (Action.POLICY_CHANGED, ObjectType.DATA_SOURCE): "Changed DataSet PDP",
    (Action.EXPORTED, ObjectType.DATA_SOURCE): "Exported DataSet to S3",
    (Action.DELETED, ObjectType.DATA_SOURCE): "Deleted DataSet",
    (Action.DELETED, ObjectType.STREAM): "Deleted stream",
    (Action.CREATED, ObjectType.ACCESS_TOKEN): "Created access token",
    (Action.REVOKED, ObjectType.ACCESS_TOKEN): "Revoked access token",
    (Action.CREATED, ObjectType.CLIENT): "Created OAuth client",
    (Action.CREATED, ObjectType.USER): "Created user",
    (Action.CHANGED, ObjectType.USER): "Changed user",
    (Action.DELETED, ObjectType.USER): "Deleted user",
    (Action.CREATED, ObjectType.GROUP): "Created group",
    (Action.CHANGED, ObjectType.GROUP): "Changed group",
    (Action.DELETED, ObjectType.GROUP): "Deleted group",
    (Action.DELETED, ObjectType.ACCOUNT): "Deleted account",
    (Action.ROTATED, ObjectType.SIGNING_KEY): "Rotated token signing key",
}


def event_text(action: Action, object_type: ObjectType) -> str:
    if action is Action.LOGIN_FAILED:
        return "Failed login"
    return EVENT_TEXT.get((action, object_type), f"{action.value.replace('_', ' ').capitalize()} {object_type.value}")


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the remote address and the client's User-Agent."""

    ip_address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    action: Action
    object_type: ObjectType
    object_id: str | None
    object_name: str | None
    user_id: int | None
    user_name: str | None
    via: str
    credential_id: str | None
    ip_address: str | None
    user_agent: str | None
    comment: str


@dataclass(frozen=True)
class AuditQuery:
    """Filters of a read of the log; None or empty means any."""

    start: datetime | None = None
    end: datetime | None = None
    user_id: int | None = None
    actions: frozenset[Action] = frozenset()
    object_types: frozenset[ObjectType] = frozenset()
    object_id: str | None = None
