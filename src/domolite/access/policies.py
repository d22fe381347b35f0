"""PDP policies of a DataSet: create, read, change, delete, the PDP switch, and the filter for a caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from domolite.access import permissions
from domolite.access.rowfilter import row_filter, typed_literal
from domolite.audit.log import AuditLog
from domolite.catalog import Catalog
from domolite.errors import BadRequest, InvalidField
from domolite.models.access import OPEN_POLICY_NAME, OPERATOR_ARITY, FilterOperator, Policy, PolicyFilter, PolicyType
from domolite.models.audit import Action, ObjectType
from domolite.models.records import DataSet, Principal

MAX_VALUES_CHARS = 255  # Domo: a policy's value list, with one delimiter per value, must stay under 255


@dataclass(frozen=True)
class FilterSpec:
    """A filter as it arrives, before it is checked against the schema."""

    column: str
    operator: str
    values: tuple[str, ...]
    negate: bool = False
    ignore_case: bool = False


@dataclass(frozen=True)
class PolicyFields:
    """How the request names a policy's parts, for the errors that name one (the public API's words by default)."""

    filters: str = "filters"
    column: str = "column"
    users: str = "users"
    groups: str = "groups"


@dataclass(frozen=True)
class PolicySpec:
    name: str | None = None
    type: str | None = None
    filters: tuple[FilterSpec, ...] | None = None
    user_ids: tuple[int, ...] | None = None
    group_ids: tuple[int, ...] | None = None
    fields: PolicyFields = PolicyFields()


class Policies:
    def __init__(self, catalog: Catalog, audit: AuditLog) -> None:
        self.catalog = catalog
        self.audit = audit

    def _record(self, principal: Principal, dataset: DataSet, comment: str) -> None:
        self.audit.record(
            self.audit.event(
                principal, Action.POLICY_CHANGED, ObjectType.DATA_SOURCE, dataset.id, dataset.name, comment
            )
        )

    def _dataset_to_manage(self, principal: Principal, dataset_id: str) -> DataSet:
        dataset = self.catalog.datasets.get(dataset_id)
        permissions.require_manage(principal, dataset)
        return dataset

    def list(self, principal: Principal, dataset_id: str) -> list[Policy]:
        """Every policy, the open "All Rows" one first."""
        dataset = self._dataset_to_manage(principal, dataset_id)
        self.catalog.access.ensure_open_policy(dataset.id, OPEN_POLICY_NAME)
        policies = self.catalog.access.list_policies(dataset.id)
        return sorted(policies, key=lambda p: (not p.is_open, p.id))

    def get(self, principal: Principal, dataset_id: str, policy_id: int) -> Policy:
        dataset = self._dataset_to_manage(principal, dataset_id)
        self.catalog.access.ensure_open_policy(dataset.id, OPEN_POLICY_NAME)
        return self.catalog.access.get_policy(dataset.id, policy_id)

    def create(self, principal: Principal, dataset_id: str, spec: PolicySpec) -> Policy:
        dataset = self._dataset_to_manage(principal, dataset_id)
        self.catalog.access.ensure_open_policy(dataset.id, OPEN_POLICY_NAME)
        if not spec.name or not spec.name.strip():
            raise InvalidField("name", "a policy needs a name")
        if spec.type is not None and spec.type.lower() not in (PolicyType.USER.value, "system"):
            raise InvalidField(
                "type",
                f"only 'user' policies can be created (the open policy always exists), not {spec.type!r}",
            )
        filters = self._check_filters(dataset, spec.filters or (), spec.fields)
        users, groups = self._check_members(spec.user_ids or (), spec.group_ids or (), spec.fields)
        policy = self.catalog.access.insert_policy(
            dataset.id, spec.name.strip(), PolicyType.USER, filters, users, groups
        )
        self._record(principal, dataset, f"created policy {policy.id} {policy.name!r}")
        return policy

    def update(self, principal: Principal, dataset_id: str, policy_id: int, spec: PolicySpec) -> Policy:
        """Partial: fields left out keep their value."""
        dataset = self._dataset_to_manage(principal, dataset_id)
        self.catalog.access.ensure_open_policy(dataset.id, OPEN_POLICY_NAME)
        policy = self.catalog.access.get_policy(dataset.id, policy_id)
        changed = policy
        if spec.name is not None:
            if not spec.name.strip():
                raise InvalidField("name", "a policy needs a name")
            changed = replace(changed, name=spec.name.strip())
        if spec.filters is not None:
            if policy.is_open and spec.filters:
                raise InvalidField(spec.fields.filters, "the open policy (All Rows) has no filters")
            changed = replace(changed, filters=tuple(self._check_filters(dataset, spec.filters, spec.fields)))
        if spec.user_ids is not None or spec.group_ids is not None:
            users, groups = self._check_members(
                spec.user_ids if spec.user_ids is not None else policy.user_ids,
                spec.group_ids if spec.group_ids is not None else policy.group_ids,
                spec.fields,
            )
            changed = replace(changed, user_ids=tuple(users), group_ids=tuple(groups))
        replaced = self.catalog.access.replace_policy(changed)
        self._record(principal, dataset, f"changed policy {policy.id} {replaced.name!r}")
        return replaced

    def delete(self, principal: Principal, dataset_id: str, policy_id: int) -> None:
        dataset = self._dataset_to_manage(principal, dataset_id)
        policy = self.catalog.access.get_policy(dataset.id, policy_id)
        if policy.is_open:
            raise BadRequest("the open policy (All Rows) cannot be deleted; remove its users and groups instead")
        self.catalog.access.delete_policy(dataset.id, policy_id)
        self._record(principal, dataset, f"deleted policy {policy.id} {policy.name!r}")

    def set_enabled(self, principal: Principal, dataset_id: str, enabled: bool) -> DataSet:
        dataset = self._dataset_to_manage(principal, dataset_id)
        if dataset.pdp_enabled == enabled:
            return dataset
        updated = self.catalog.datasets.update(dataset.id, pdp_enabled=enabled)
        self._record(principal, updated, f"PDP {'on' if enabled else 'off'}")
        return updated

    def enabled(self, principal: Principal, dataset_id: str) -> bool:
        return self._dataset_to_manage(principal, dataset_id).pdp_enabled

    # -- the filter every read applies -----------------------------------------------------------------------
    def row_filter(self, dataset: DataSet, principal: Principal) -> str | None:
        """WHERE clause for the caller's reads of the DataSet, or None for every row."""
        if not dataset.pdp_enabled or permissions.bypasses_pdp(principal, dataset):
            return None
        policies = self.catalog.access.list_policies(dataset.id)
        return row_filter(dataset.columns, policies, principal.user.id, principal.group_ids)

    # -- checks ----------------------------------------------------------------------------------------------
    def _check_filters(
        self, dataset: DataSet, specs: Sequence[FilterSpec], fields: PolicyFields
    ) -> Sequence[PolicyFilter]:
        by_name = {c.name.lower(): c for c in dataset.columns}
        out: list[PolicyFilter] = []
        chars = 0
        for i, spec in enumerate(specs):
            where = f"{fields.filters}[{i}]"
            column = by_name.get(spec.column.lower())
            if column is None:
                raise InvalidField(
                    f"{where}.{fields.column}", f"{spec.column!r} is not a column of DataSet {dataset.id}"
                )
            operator = FilterOperator.parse(spec.operator, f"{where}.operator")
            arity = OPERATOR_ARITY[operator]
            if not spec.values:
                raise InvalidField(f"{where}.values", "a filter needs at least one value")
            if arity is not None and len(spec.values) != arity:
                raise InvalidField(f"{where}.values", f"{operator.value} takes exactly {arity} value(s)")
            if operator in (FilterOperator.EQUALS, FilterOperator.BETWEEN) or arity == 1:
                for value in spec.values:
                    typed_literal(column, value, f"{where}.values")
            chars += sum(len(v) + 1 for v in spec.values)
            out.append(PolicyFilter(column.name, operator, tuple(spec.values), spec.negate, spec.ignore_case))
        if chars >= MAX_VALUES_CHARS:
            raise InvalidField(fields.filters, f"the values of a policy must stay under {MAX_VALUES_CHARS} characters")
        return out

    def _check_members(
        self, users: Sequence[int], groups: Sequence[int], fields: PolicyFields
    ) -> tuple[Sequence[int], Sequence[int]]:
        missing_users = set(users) - self.catalog.access.existing_user_ids(users)
        if missing_users:
            raise InvalidField(fields.users, f"no such user(s): {', '.join(map(str, sorted(missing_users)))}")
        missing_groups = set(groups) - self.catalog.access.existing_group_ids(groups)
        if missing_groups:
            raise InvalidField(fields.groups, f"no such group(s): {', '.join(map(str, sorted(missing_groups)))}")
        return sorted(set(users)), sorted(set(groups))
