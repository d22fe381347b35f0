"""Records for the unit tier: a DataSet, a principal, a policy, as the services would build them."""

from __future__ import annotations

from datetime import datetime

from domolite.models.access import AccessLevel, FilterOperator, Policy, PolicyFilter, PolicyType
from domolite.models.records import Column, DataSet, DomoType, Principal, Role, User

OWNER_ID = 1
COLUMNS = (
    Column("region", DomoType.STRING),
    Column("amount", DomoType.LONG),
    Column("day", DomoType.DATE),
)


def dataset(
    *,
    pdp: bool = True,
    owner_id: int = OWNER_ID,
    columns: tuple[Column, ...] = COLUMNS,
    table: str = "ds_1",
    row_count: int = 0,
) -> DataSet:
    now = datetime(2026, 1, 1)
    return DataSet(
        id="ds-1",
        name="sales",
        description="",
        owner_id=owner_id,
        columns=columns,
        table=table,
        pdp_enabled=pdp,
        row_count=row_count,
        created_at=now,
        updated_at=now,
        data_updated_at=None,
    )


def principal(
    user_id: int = 2,
    role: Role = Role.PRIVILEGED,
    *,
    scopes: frozenset[str] = frozenset({"data", "user"}),
    grants: dict[str, AccessLevel] | None = None,
    group_ids: frozenset[int] = frozenset(),
) -> Principal:
    user = User(id=user_id, email=f"u{user_id}@example.com", name=f"User {user_id}", role=role)
    return Principal(user=user, scopes=scopes, group_ids=group_ids, grants=grants or {})


def policy(
    policy_id: int,
    *filters: PolicyFilter,
    users: tuple[int, ...] = (),
    groups: tuple[int, ...] = (),
    open_: bool = False,
) -> Policy:
    kind = PolicyType.OPEN if open_ else PolicyType.USER
    return Policy(policy_id, "ds-1", f"policy {policy_id}", kind, tuple(filters), users, groups)


def where(
    column: str, operator: FilterOperator, *values: str, negate: bool = False, ignore_case: bool = False
) -> PolicyFilter:
    return PolicyFilter(column, operator, tuple(values), negate=negate, ignore_case=ignore_case)
