"""Wire shapes for users, groups, sharing, PDP policies and developer tokens (camelCase lives here).

Leniency the clients need: ids as ints or numeric strings, `"active": "true"` as a string, filter values as
numbers or strings, extra fields ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import Field, field_validator

from domolite.access.policies import FilterSpec, PolicyFields, PolicySpec
from domolite.api.public.schemas import Description, Email, Int64, Name, WireModel, iso
from domolite.models.access import Group, Policy
from domolite.models.records import User

T = TypeVar("T")


# -- users and groups ---------------------------------------------------------------------------------------
class UserIn(WireModel):
    name: Name
    email: Email
    role: str = "Participant"


class UserUpdateIn(WireModel):
    name: Name | None = None
    email: Email | None = None
    role: str | None = None


def user_out(user: User, created_at: datetime) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "createdAt": iso(created_at),
        "updatedAt": iso(created_at),
    }


class GroupIn(WireModel):
    name: Name
    description: Description = ""
    active: bool = True
    users: list[Int64] = []

    @field_validator("users", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        # pydomo's groups_create sends users=-1 for "none"; accept one id or [{id}] too.
        if value is None or value == -1 or value == "-1":
            return []
        if isinstance(value, int | str):
            return [value]
        if isinstance(value, list):
            return [v.get("id") if isinstance(v, dict) else v for v in value]
        return value


class GroupUpdateIn(WireModel):
    name: Name | None = None
    description: Description | None = None
    active: bool | None = None


def group_out(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "active": group.active,
        "creatorId": group.creator_id,
        "default": False,
        "memberCount": group.member_count,
        "createdAt": iso(group.created_at),
    }


# -- sharing ------------------------------------------------------------------------------------------------
class PermissionIn(WireModel):
    type: str = "USER"
    id: Int64
    access_level: str = "READ"


class ShareIn(WireModel):
    permissions: list[PermissionIn]
    send_email: bool = False


class GranteeIn(WireModel):
    id: Int64
    type: str = "USER"


# -- PDP ----------------------------------------------------------------------------------------------------
def _as_text_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str | int | float | bool):
        value = [value]
    if isinstance(value, list):
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
    return value


class PolicyFilterIn(WireModel):
    column: str
    values: list[str] = []
    operator: str = "EQUALS"
    not_: bool = Field(default=False, alias="not")
    ignore_case: bool = False

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        return _as_text_list(value)

    def spec(self) -> FilterSpec:
        return FilterSpec(self.column, self.operator, tuple(self.values), self.not_, self.ignore_case)


def _maybe_tuple(values: Iterable[T] | None) -> tuple[T, ...] | None:
    """A partial update's list: None (not sent) stays None."""
    return tuple(values) if values is not None else None


class PolicyIn(WireModel):
    """The public API's policy {id, type, name, filters, users, groups}; all optional (PUT is partial)."""

    name: Name | None = None
    type: str | None = None
    filters: list[PolicyFilterIn] | None = None
    users: list[Int64] | None = None
    groups: list[Int64] | None = None

    def spec(self) -> PolicySpec:
        return PolicySpec(
            name=self.name,
            type=self.type,
            filters=_maybe_tuple(f.spec() for f in self.filters) if self.filters is not None else None,
            user_ids=_maybe_tuple(self.users),
            group_ids=_maybe_tuple(self.groups),
        )


def policy_out(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "type": policy.type.value,
        "name": policy.name,
        "filters": [
            {"column": f.column, "values": list(f.values), "operator": f.operator.value, "not": f.negate}
            for f in policy.filters
        ],
        "users": list(policy.user_ids),
        "virtualUsers": [],
        "groups": list(policy.group_ids),
    }


class ParameterIn(WireModel):
    name: str
    type: str = "COLUMN"
    values: list[str] = []
    value: str | None = None
    operator: str = "EQUALS"
    not_: bool = Field(default=False, alias="not")
    ignore_case: bool = False

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        return _as_text_list(value)

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: Any) -> Any:
        return None if value is None else str(value)

    def spec(self) -> FilterSpec:
        values = self.values or ([self.value] if self.value is not None else [])
        return FilterSpec(self.name, self.operator, tuple(values), self.not_, self.ignore_case)


class FilterGroupIn(WireModel):
    """The product API's policy ("filter group")."""

    name: Name | None = None
    type: str | None = None
    user_ids: list[Int64] | None = None
    group_ids: list[Int64] | None = None
    parameters: list[ParameterIn] | None = None

    def spec(self) -> PolicySpec:
        return PolicySpec(
            name=self.name,
            type=self.type,
            filters=_maybe_tuple(p.spec() for p in self.parameters) if self.parameters is not None else None,
            user_ids=_maybe_tuple(self.user_ids),
            group_ids=_maybe_tuple(self.group_ids),
            fields=PolicyFields(filters="parameters", column="name", users="userIds", groups="groupIds"),
        )


def filter_group_out(policy: Policy, order: int) -> dict[str, Any]:
    return {
        "name": policy.name,
        "filterGroupId": policy.id,
        "dataSourceId": policy.dataset_id,
        "type": policy.type.value,
        "userIds": list(policy.user_ids),
        "groupIds": list(policy.group_ids),
        "virtualUserIds": [],
        "dataSourcePermissions": False,
        "resources": {"USER": [str(i) for i in policy.user_ids], "GROUP": [str(i) for i in policy.group_ids]},
        "parameters": [
            {
                "name": f.column,
                "value": f.values[0] if f.values else None,
                "values": list(f.values),
                "type": "COLUMN",
                "operator": f.operator.value,
                "not": f.negate,
                "ignoreCase": f.ignore_case,
            }
            for f in policy.filters
        ],
        "order": order,
    }


class PdpSwitchIn(WireModel):
    enabled: bool
    external: bool = False


def pdp_switch_out(enabled: bool) -> dict[str, Any]:
    return {"enabled": enabled, "secured": False, "external": False, "enabledColumn": False}


# -- developer tokens ---------------------------------------------------------------------------------------
class AccessTokenIn(WireModel):
    name: Name = "developer token"
    owner_id: Int64 | None = None


def access_token_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "ownerId": int(row["user_id"]),
        "createdAt": iso(row["created_at"]),
        "revoked": row["revoked_at"] is not None,
        "revokedAt": iso(row["revoked_at"]),
    }
