"""Sharing a DataSet with users and groups at Domo's access levels, listing and revoking access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domolite.access import permissions
from domolite.audit.log import AuditLog
from domolite.catalog import Catalog
from domolite.errors import BadRequest, Forbidden, InvalidField
from domolite.models.access import AccessLevel, GranteeType, Share
from domolite.models.audit import Action, ObjectType
from domolite.models.records import DataSet, Principal


@dataclass(frozen=True)
class AccessEntry:
    """One line of a DataSet's access list: the owner or a share, with the grantee's display name."""

    grantee_type: GranteeType
    grantee_id: int
    level: AccessLevel
    name: str


class Sharing:
    def __init__(self, catalog: Catalog, audit: AuditLog) -> None:
        self.catalog = catalog
        self.audit = audit

    def _record(self, principal: Principal, action: Action, dataset: DataSet, comment: str) -> None:
        self.audit.record(
            self.audit.event(principal, action, ObjectType.DATA_SOURCE, dataset.id, dataset.name, comment)
        )

    def access_list(self, principal: Principal, dataset_id: str) -> list[AccessEntry]:
        dataset = self.catalog.datasets.get(dataset_id)
        permissions.require_read(principal, dataset)
        entries = [
            AccessEntry(
                GranteeType.USER,
                dataset.owner_id,
                AccessLevel.OWNER,
                self._name(GranteeType.USER, dataset.owner_id),
            )
        ]
        for share in self.catalog.access.list_shares(dataset.id):
            if share.grantee_type is GranteeType.USER and share.grantee_id == dataset.owner_id:
                continue
            entries.append(
                AccessEntry(
                    share.grantee_type,
                    share.grantee_id,
                    share.level,
                    self._name(share.grantee_type, share.grantee_id),
                )
            )
        return entries

    def share(
        self, principal: Principal, dataset_id: str, grants: Sequence[tuple[GranteeType, int, AccessLevel]]
    ) -> None:
        """Give each grantee its level (replacing an earlier share). One may grant at most one's own level, and
        may not change the share of one who has more (lowering it would get round the rule of `revoke`)."""
        dataset = self.catalog.datasets.get(dataset_id)
        permissions.require_share(principal, dataset)
        ceiling = self._ceiling(principal, dataset)
        current = {(s.grantee_type, s.grantee_id): s.level for s in self.catalog.access.list_shares(dataset.id)}
        shares: list[Share] = []
        for i, (kind, grantee_id, level) in enumerate(grants):
            where = f"permissions[{i}]"
            if level is AccessLevel.OWNER:
                raise InvalidField(f"{where}.accessLevel", "OWNER cannot be shared; change the DataSet's owner instead")
            if level.rank > ceiling.rank:
                raise Forbidden(f"{where}: you can share at most {ceiling.value} on DataSet {dataset.id}")
            held = current.get((kind, grantee_id))
            if held is not None and held.rank > ceiling.rank:
                raise Forbidden(
                    f"{where}: you cannot change the share of {kind.value} {grantee_id}, who has {held.value}"
                )
            self._require_grantee(kind, grantee_id, f"{where}.id")
            if kind is GranteeType.USER and grantee_id == dataset.owner_id:
                continue  # the owner already has every right
            shares.append(Share(dataset.id, kind, grantee_id, level))
        self.catalog.access.put_shares(shares, principal.user.id)
        if shares:
            given = ", ".join(f"{s.grantee_type.value} {s.grantee_id} {s.level.value}" for s in shares)
            self._record(principal, Action.SHARED, dataset, given)

    def revoke(self, principal: Principal, dataset_id: str, grantees: Sequence[tuple[GranteeType, int]]) -> int:
        """Remove the shares of the grantees; returns how many were removed. The owner cannot be removed."""
        dataset = self.catalog.datasets.get(dataset_id)
        permissions.require_share(principal, dataset)
        ceiling = self._ceiling(principal, dataset)
        current = {(s.grantee_type, s.grantee_id): s.level for s in self.catalog.access.list_shares(dataset.id)}
        for kind, grantee_id in grantees:
            if kind is GranteeType.USER and grantee_id == dataset.owner_id:
                raise BadRequest(f"user {grantee_id} owns DataSet {dataset.id}; change the owner before removing them")
            level = current.get((kind, grantee_id))
            if level is not None and level.rank > ceiling.rank:
                raise Forbidden(f"you cannot remove {kind.value} {grantee_id}, who has {level.value} access")
        removed = self.catalog.access.delete_shares(dataset.id, grantees)
        if removed:
            taken = ", ".join(f"{kind.value} {grantee_id}" for kind, grantee_id in grantees)
            self._record(principal, Action.UNSHARED, dataset, taken)
        return removed

    @staticmethod
    def _ceiling(principal: Principal, dataset: DataSet) -> AccessLevel:
        if principal.is_admin:
            return AccessLevel.OWNER
        return permissions.access_level(principal, dataset) or AccessLevel.READ

    def _require_grantee(self, kind: GranteeType, grantee_id: int, where: str) -> None:
        if kind is GranteeType.USER:
            if not self.catalog.access.existing_user_ids([grantee_id]):
                raise InvalidField(where, f"no such user {grantee_id}")
        elif not self.catalog.access.existing_group_ids([grantee_id]):
            raise InvalidField(where, f"no such group {grantee_id}")

    def _name(self, kind: GranteeType, grantee_id: int) -> str:
        from domolite.errors import NotFound

        try:
            if kind is GranteeType.USER:
                return self.catalog.users.get(grantee_id).name
            return self.catalog.access.get_group(grantee_id).name
        except NotFound:
            return ""
