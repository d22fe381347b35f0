"""Who may see what, as data: DataSet access levels and what each allows, groups, shares and PDP policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domolite.errors import InvalidField
from domolite.models.enums import parse_member


class Capability(StrEnum):
    READ = "read"
    SHARE = "share"
    EDIT = "edit"
    MANAGE = "manage"  # PDP, ownership, delete


class AccessLevel(StrEnum):
    READ = "READ"
    CAN_SHARE = "CAN_SHARE"
    CAN_EDIT = "CAN_EDIT"
    CO_OWNER = "CO_OWNER"
    OWNER = "OWNER"

    @classmethod
    def parse(cls, value: object, where: str = "accessLevel") -> AccessLevel:
        text = str(value).upper()
        if text == "CAN_VIEW":  # Domo's docs also name READ this way
            return cls.READ
        try:
            level = cls(text)
        except ValueError:
            raise InvalidField(
                where, f"unknown access level {value!r}; expected READ, CAN_SHARE, CAN_EDIT or CO_OWNER"
            ) from None
        return level

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def capabilities(self) -> frozenset[Capability]:
        return LEVEL_CAPABILITIES[self]


_RANK = {level: i for i, level in enumerate(AccessLevel)}

# What each level allows. The owner has OWNER implicitly; a share can grant up to CO_OWNER.
LEVEL_CAPABILITIES: dict[AccessLevel, frozenset[Capability]] = {
    AccessLevel.READ: frozenset({Capability.READ}),
    AccessLevel.CAN_SHARE: frozenset({Capability.READ, Capability.SHARE}),
    AccessLevel.CAN_EDIT: frozenset({Capability.READ, Capability.SHARE, Capability.EDIT}),
    AccessLevel.CO_OWNER: frozenset(Capability),
    AccessLevel.OWNER: frozenset(Capability),
}


class GranteeType(StrEnum):
    USER = "USER"
    GROUP = "GROUP"

    @classmethod
    def parse(cls, value: object, where: str = "type") -> GranteeType:
        text = str(value).upper().rstrip("S")  # USERS/GROUPS as in the revoke paths
        try:
            return cls(text)
        except ValueError:
            raise InvalidField(where, f"unknown type {value!r}; expected USER or GROUP") from None


@dataclass(frozen=True)
class Share:
    dataset_id: str
    grantee_type: GranteeType
    grantee_id: int
    level: AccessLevel


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    description: str
    active: bool
    creator_id: int
    member_count: int
    created_at: datetime


class FilterOperator(StrEnum):
    EQUALS = "EQUALS"
    LIKE = "LIKE"
    GREATER_THAN = "GREATER_THAN"
    LESS_THAN = "LESS_THAN"
    GREATER_THAN_EQUAL = "GREATER_THAN_EQUAL"
    LESS_THAN_EQUAL = "LESS_THAN_EQUAL"
    BETWEEN = "BETWEEN"
    BEGINS_WITH = "BEGINS_WITH"
    ENDS_WITH = "ENDS_WITH"
    CONTAINS = "CONTAINS"

    @classmethod
    def parse(cls, value: object, where: str) -> FilterOperator:
        return parse_member(cls, value, where, "operator")


# How many values each operator takes (None: one or more).
OPERATOR_ARITY: dict[FilterOperator, int | None] = {
    FilterOperator.EQUALS: None,
    FilterOperator.LIKE: None,
    FilterOperator.BEGINS_WITH: None,
    FilterOperator.ENDS_WITH: None,
    FilterOperator.CONTAINS: None,
    FilterOperator.GREATER_THAN: 1,
    FilterOperator.LESS_THAN: 1,
    FilterOperator.GREATER_THAN_EQUAL: 1,
    FilterOperator.LESS_THAN_EQUAL: 1,
    FilterOperator.BETWEEN: 2,
}


class PolicyType(StrEnum):
    USER = "user"
    OPEN = "open"


@dataclass(frozen=True)
class PolicyFilter:
    column: str
    operator: FilterOperator
    values: tuple[str, ...]
    negate: bool = False
    ignore_case: bool = False


@dataclass(frozen=True)
class Policy:
    id: int
    dataset_id: str
    name: str
    type: PolicyType
    filters: tuple[PolicyFilter, ...]
    user_ids: tuple[int, ...]
    group_ids: tuple[int, ...]

    @property
    def is_open(self) -> bool:
        return self.type is PolicyType.OPEN

    def names(self, user_id: int, group_ids: frozenset[int]) -> bool:
        return user_id in self.user_ids or bool(group_ids.intersection(self.group_ids))


OPEN_POLICY_NAME = "All Rows"
