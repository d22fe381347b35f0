"""The audit log for Admins: GET /v1/audit (Domo's Activity Log API) and its instance form
/api/audit/v1/user-audits, one handler. Paged by limit and offset, newest first; filtered by time (ms), user,
action type, object type and object id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from domolite.api.body import optional_count, optional_int
from domolite.api.deps import AuditDep, PrincipalDep
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.errors import InvalidField
from domolite.models.audit import Action, AuditEvent, AuditQuery, ObjectType, event_text
from domolite.models.enums import parse_member

router = Router()
MAX_LIMIT = 1000


def _time(value: str | None, name: str) -> datetime | None:
    ms = optional_int(value, name)
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise InvalidField(name, f"{value!r} is not a time in milliseconds since 1970") from None


E = TypeVar("E", Action, ObjectType)


def _members(kind: type[E], value: str | None, name: str, noun: str) -> frozenset[E]:
    return frozenset(parse_member(kind, v.strip(), name, noun) for v in (value or "").split(",") if v.strip())


def event_out(e: AuditEvent) -> dict[str, Any]:
    """Domo's activity log entry, with the way the user came in (`authentication`) and the event's id."""
    return {
        "id": e.id,
        "time": int(e.at.replace(tzinfo=UTC).timestamp() * 1000),
        "userId": None if e.user_id is None else str(e.user_id),
        "userName": e.user_name,
        "userType": "USER" if e.user_id is not None else "SYSTEM" if e.via in ("server", "cli") else "ANONYMOUS",
        "actionType": e.action.value,
        "objectType": e.object_type.value,
        "objectId": e.object_id,
        "objectName": e.object_name,
        "eventText": event_text(e.action, e.object_type),
        "additionalComment": e.comment,
        "ipAddress": e.ip_address,
        "browserDetails": e.user_agent,
        "device": "API" if e.via not in ("server", "cli") else e.via.upper(),
        "authentication": e.via,
        "credentialId": e.credential_id,
    }


@router.get("/v1/audit")
@router.get("/api/audit/v1/user-audits")
def activity_log(
    principal: PrincipalDep,
    audit: AuditDep,
    user: str | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: str | None = None,
    offset: str | None = None,
    actionType: str | None = None,
    objectType: str | None = None,
    objectId: str | None = None,
) -> JSON:
    """The activity log for Admins, newest first, a page at a time (limit up to 1000, offset): who changed,
    shared, deleted or exported what, when, how they came in and from where. Filtered by time (start, end in
    milliseconds), user, actionType, objectType and objectId."""
    size = optional_int(limit, "limit")
    if size is not None and not 1 <= size <= MAX_LIMIT:
        raise InvalidField("limit", f"must be between 1 and {MAX_LIMIT}")
    skip = optional_count(offset, "offset") or 0
    query = AuditQuery(
        start=_time(start, "start"),
        end=_time(end, "end"),
        user_id=optional_int(user, "user"),
        actions=_members(Action, actionType, "actionType", "action type"),
        object_types=_members(ObjectType, objectType, "objectType", "object type"),
        object_id=objectId or None,
    )
    events = audit.read(principal, query, limit=size or 50, offset=skip)
    return JSON([event_out(e) for e in events])
