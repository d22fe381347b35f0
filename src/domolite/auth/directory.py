"""Users and groups: who exists, their roles, and group membership."""

from __future__ import annotations

from datetime import datetime

from domolite.access import permissions
from domolite.audit.log import AuditLog
from domolite.auth.secrets import hash_secret
from domolite.catalog import Catalog
from domolite.errors import Conflict, Forbidden, InvalidField
from domolite.models.access import Group
from domolite.models.audit import Action, ObjectType
from domolite.models.records import Principal, Role, User


def check_email(email: str, where: str = "email") -> str:
    text = email.strip()
    if "@" not in text or text.startswith("@") or text.endswith("@") or any(ch.isspace() for ch in text):
        raise InvalidField(where, f"{email!r} is not an e-mail address")
    return text


class Directory:
    def __init__(self, catalog: Catalog, audit: AuditLog) -> None:
        self.catalog = catalog
        self.audit = audit

    # -- users -----------------------------------------------------------------------------------------------
    def create_user(
        self, principal: Principal, *, email: str, name: str, role: Role, password: str | None = None
    ) -> tuple[User, datetime]:
        permissions.require_user_admin(principal)
        if not name.strip():
            raise InvalidField("name", "a user needs a name")
        user = self.catalog.users.create(
            check_email(email), name.strip(), role, hash_secret(password) if password else None
        )
        self.audit.record(
            self.audit.event(principal, Action.CREATED, ObjectType.USER, user.id, user.email, f"role {role.value}")
        )
        return user, self.catalog.access.user_created_at(user.id)

    def get_user(self, principal: Principal, user_id: int) -> tuple[User, datetime]:
        permissions.require_directory_read(principal)
        return self.catalog.users.get(user_id), self.catalog.access.user_created_at(user_id)

    def list_users(self, principal: Principal, *, limit: int, offset: int) -> list[tuple[User, datetime]]:
        permissions.require_directory_read(principal)
        return self.catalog.access.list_users(limit=limit, offset=offset)

    def update_user(
        self, principal: Principal, user_id: int, *, email: str | None, name: str | None, role: Role | None
    ) -> tuple[User, datetime]:
        permissions.require_user_admin(principal)
        before = self.catalog.users.get(user_id)
        if user_id == principal.user.id and role is not None and role is not Role.ADMIN:
            raise Conflict("an Admin cannot take away their own Admin role")
        if name is not None and not name.strip():
            raise InvalidField("name", "a user needs a name")
        self.catalog.access.update_user(
            user_id,
            email=check_email(email) if email is not None else None,
            name=name.strip() if name is not None else None,
            role=role,
        )
        after = self.catalog.users.get(user_id)
        changed = [
            f"{what} {old!r} -> {new!r}"
            for what, old, new in (
                ("role", before.role.value, after.role.value),
                ("e-mail", before.email, after.email),
                ("name", before.name, after.name),
            )
            if old != new
        ]
        if changed:
            self._record(principal, Action.CHANGED, ObjectType.USER, after.id, after.email, "; ".join(changed))
        return self.get_user(principal, user_id)

    def _record(
        self, principal: Principal, action: Action, kind: ObjectType, object_id: int, name: str, comment: str = ""
    ) -> None:
        self.audit.record(self.audit.event(principal, action, kind, object_id, name, comment))

    def delete_user(self, principal: Principal, user_id: int) -> None:
        permissions.require_user_admin(principal)
        if user_id == principal.user.id:
            raise Conflict("you cannot delete yourself")
        user = self.catalog.users.get(user_id)
        self.catalog.access.delete_user(user_id)
        self.audit.record(self.audit.event(principal, Action.DELETED, ObjectType.USER, user.id, user.email))

    # -- groups ----------------------------------------------------------------------------------------------
    def create_group(
        self, principal: Principal, *, name: str, description: str, active: bool, member_ids: list[int]
    ) -> Group:
        permissions.require_group_admin(principal)
        if not name.strip():
            raise InvalidField("name", "a group needs a name")
        self._require_users(member_ids, "users")
        group = self.catalog.access.create_group(name.strip(), description, active, principal.user.id)
        for user_id in member_ids:
            self.catalog.access.add_member(group.id, user_id)
        members = f"members {', '.join(map(str, member_ids))}" if member_ids else "no members"
        self._record(principal, Action.CREATED, ObjectType.GROUP, group.id, group.name, members)
        return self.catalog.access.get_group(group.id)

    def get_group(self, principal: Principal, group_id: int) -> Group:
        permissions.require_directory_read(principal)
        return self.catalog.access.get_group(group_id)

    def list_groups(self, principal: Principal, *, limit: int, offset: int) -> list[Group]:
        permissions.require_directory_read(principal)
        return self.catalog.access.list_groups(limit=limit, offset=offset)

    def update_group(
        self,
        principal: Principal,
        group_id: int,
        *,
        name: str | None,
        description: str | None,
        active: bool | None,
    ) -> Group:
        permissions.require_group_admin(principal)
        if name is not None and not name.strip():
            raise InvalidField("name", "a group needs a name")
        updated = self.catalog.access.update_group(
            group_id, name=name.strip() if name is not None else None, description=description, active=active
        )
        said = [
            f"{k} {v!r}" for k, v in (("name", name), ("description", description), ("active", active)) if v is not None
        ]
        if said:
            self._record(principal, Action.CHANGED, ObjectType.GROUP, updated.id, updated.name, "; ".join(said))
        return updated

    def delete_group(self, principal: Principal, group_id: int) -> None:
        permissions.require_group_admin(principal)
        group = self.catalog.access.get_group(group_id)
        self.catalog.access.delete_group(group_id)
        self._record(principal, Action.DELETED, ObjectType.GROUP, group.id, group.name)

    def members(self, principal: Principal, group_id: int, *, limit: int, offset: int) -> list[int]:
        permissions.require_directory_read(principal)
        self.catalog.access.get_group(group_id)
        return self.catalog.access.list_members(group_id, limit=limit, offset=offset)

    def add_member(self, principal: Principal, group_id: int, user_id: int) -> None:
        """Add a user to a group. A member gets what is shared with the group, so one who is not an Admin may add
        members only to a group given no more on any DataSet than they have themselves (as one may share at most
        one's own level)."""
        permissions.require_group_admin(principal)
        self.catalog.access.get_group(group_id)
        self.catalog.users.get(user_id)
        if not principal.is_admin:
            for dataset_id, level in self.catalog.access.group_shares(group_id):
                mine = permissions.access_level(principal, self.catalog.datasets.get(dataset_id))
                if mine is None or mine.rank < level.rank:
                    raise Forbidden(
                        f"group {group_id} has {level.value} on DataSet {dataset_id}, more than you have; "
                        "only an Admin may add members to it"
                    )
        group = self.catalog.access.get_group(group_id)
        self.catalog.access.add_member(group_id, user_id)
        self._record(principal, Action.CHANGED, ObjectType.GROUP, group.id, group.name, f"added user {user_id}")

    def remove_member(self, principal: Principal, group_id: int, user_id: int) -> None:
        permissions.require_group_admin(principal)
        group = self.catalog.access.get_group(group_id)
        self.catalog.access.remove_member(group_id, user_id)
        self._record(principal, Action.CHANGED, ObjectType.GROUP, group.id, group.name, f"removed user {user_id}")

    def _require_users(self, ids: list[int], where: str) -> None:
        missing = set(ids) - self.catalog.access.existing_user_ids(ids)
        if missing:
            raise InvalidField(where, f"no such user(s): {', '.join(map(str, sorted(missing)))}")
