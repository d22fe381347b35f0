"""Catalog rows for access: users (list, change, delete), groups and members, DataSet shares, PDP policies and
developer-token metadata. Reached as `Catalog.access`; SQLAlchemy stays inside `catalog/`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from domolite.catalog import schema as t
from domolite.catalog.changes import ChangeCount
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import Store
from domolite.catalog.users import email_taken
from domolite.errors import Conflict, GroupNotFound, PolicyNotFound, UserNotFound
from domolite.models.access import (
    AccessLevel,
    FilterOperator,
    GranteeType,
    Group,
    Policy,
    PolicyFilter,
    PolicyType,
    Share,
)
from domolite.models.records import Role, User

# What every request's caller is built from, built once: a statement object keeps its compiled form in
# SQLAlchemy's cache, where building the same query afresh costs more than running it (see bench/README.md).
_gm, _p = t.group_members.c, t.dataset_permissions.c
_ACTIVE_GROUPS_OF = (
    select(_gm.group_id)
    .join(t.groups, t.groups.c.id == _gm.group_id)
    .where(_gm.user_id == bindparam("user_id"), t.groups.c.active.is_(True))
)
_GRANTS_TO = select(_p.dataset_id, _p.access_level).where(
    or_(
        and_(_p.grantee_type == GranteeType.USER.value, _p.grantee_id == bindparam("user_id")),
        and_(_p.grantee_type == GranteeType.GROUP.value, _p.grantee_id.in_(bindparam("group_ids", expanding=True))),
    )
)


def _user(row: Any) -> User:
    return User(id=int(row.id), email=row.email, name=row.name, role=Role(row.role))


class AccessStore(Store):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._changes = ChangeCount(engine, t.access_changes)

    def close(self) -> None:
        self._changes.close()

    # -- users -----------------------------------------------------------------------------------------------
    def list_users(self, *, limit: int, offset: int) -> list[tuple[User, datetime]]:
        q = select(t.users).order_by(t.users.c.id).limit(limit).offset(offset)
        with self.tx() as c:
            return [(_user(r), r.created_at) for r in c.execute(q)]

    def user_created_at(self, user_id: int) -> datetime:
        with self.tx() as c:
            value = c.execute(select(t.users.c.created_at).where(t.users.c.id == user_id)).scalar()
        if value is None:
            raise UserNotFound(user_id)
        return value  # type: ignore[no-any-return]

    def existing_user_ids(self, ids: Iterable[int]) -> set[int]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        with self.tx() as c:
            return {int(r[0]) for r in c.execute(select(t.users.c.id).where(t.users.c.id.in_(wanted)))}

    def update_user(self, user_id: int, *, email: str | None, name: str | None, role: Role | None) -> None:
        values: dict[str, Any] = {}
        if email is not None:
            values["email"] = email
        if name is not None:
            values["name"] = name
        if role is not None:
            values["role"] = role.value
        if not values:
            return
        try:
            with self.tx() as c:
                if email is not None and email_taken(c, email, but=user_id):
                    raise Conflict(f"a user with email {email} already exists")
                if c.execute(update(t.users).where(t.users.c.id == user_id).values(**values)).rowcount == 0:
                    raise UserNotFound(user_id)
        except IntegrityError:
            raise Conflict(f"a user with email {email} already exists") from None

    def delete_user(self, user_id: int) -> None:
        """The user and everything that names them, in one transaction (ids may be reused by SQLite)."""
        with self.tx() as c:
            if c.execute(delete(t.users).where(t.users.c.id == user_id)).rowcount == 0:
                raise UserNotFound(user_id)
            c.execute(delete(t.clients).where(t.clients.c.user_id == user_id))
            c.execute(delete(t.dev_tokens).where(t.dev_tokens.c.user_id == user_id))
            c.execute(delete(t.accounts).where(t.accounts.c.owner_id == user_id))
            c.execute(delete(t.group_members).where(t.group_members.c.user_id == user_id))
            c.execute(
                delete(t.dataset_permissions).where(
                    t.dataset_permissions.c.grantee_type == GranteeType.USER.value,
                    t.dataset_permissions.c.grantee_id == user_id,
                )
            )
            self._forget_in_policies(c, "user_ids", user_id)

    @staticmethod
    def _forget_in_policies(c: Connection, column: str, principal_id: int) -> None:
        col = t.pdp_policies.c[column]
        for row in c.execute(select(t.pdp_policies.c.id, col)).all():
            ids = [int(i) for i in json.loads(row[1])]
            if principal_id in ids:
                ids = [i for i in ids if i != principal_id]
                c.execute(update(t.pdp_policies).where(t.pdp_policies.c.id == row[0]).values({column: json.dumps(ids)}))

    # -- groups ----------------------------------------------------------------------------------------------
    @staticmethod
    def _group(c: Connection, row: Any) -> Group:
        count = c.execute(
            select(func.count()).select_from(t.group_members).where(t.group_members.c.group_id == row.id)
        ).scalar_one()
        return Group(
            id=int(row.id),
            name=row.name,
            description=row.description,
            active=bool(row.active),
            creator_id=int(row.creator_id),
            member_count=int(count),
            created_at=row.created_at,
        )

    def create_group(self, name: str, description: str, active: bool, creator_id: int) -> Group:
        try:
            with self.tx() as c:
                key = c.execute(
                    insert(t.groups).values(
                        name=name,
                        description=description,
                        active=active,
                        creator_id=creator_id,
                        created_at=utcnow(),
                    )
                ).inserted_primary_key
                assert key is not None
                return self._group(c, c.execute(select(t.groups).where(t.groups.c.id == key[0])).one())
        except IntegrityError:
            raise Conflict(f"a group named {name!r} already exists") from None

    def get_group(self, group_id: int) -> Group:
        with self.tx() as c:
            row = c.execute(select(t.groups).where(t.groups.c.id == group_id)).first()
            if row is None:
                raise GroupNotFound(group_id)
            return self._group(c, row)

    def existing_group_ids(self, ids: Iterable[int]) -> set[int]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        with self.tx() as c:
            return {int(r[0]) for r in c.execute(select(t.groups.c.id).where(t.groups.c.id.in_(wanted)))}

    def list_groups(self, *, limit: int, offset: int) -> list[Group]:
        q = select(t.groups).order_by(t.groups.c.id).limit(limit).offset(offset)
        with self.tx() as c:
            return [self._group(c, r) for r in c.execute(q).all()]

    def update_group(self, group_id: int, *, name: str | None, description: str | None, active: bool | None) -> Group:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if description is not None:
            values["description"] = description
        if active is not None:
            values["active"] = active
        try:
            with self.tx() as c:
                if values:
                    if c.execute(update(t.groups).where(t.groups.c.id == group_id).values(**values)).rowcount == 0:
                        raise GroupNotFound(group_id)
        except IntegrityError:
            raise Conflict(f"a group named {name!r} already exists") from None
        return self.get_group(group_id)

    def delete_group(self, group_id: int) -> None:
        with self.tx() as c:
            if c.execute(delete(t.groups).where(t.groups.c.id == group_id)).rowcount == 0:
                raise GroupNotFound(group_id)
            c.execute(delete(t.group_members).where(t.group_members.c.group_id == group_id))
            c.execute(
                delete(t.dataset_permissions).where(
                    t.dataset_permissions.c.grantee_type == GranteeType.GROUP.value,
                    t.dataset_permissions.c.grantee_id == group_id,
                )
            )
            self._forget_in_policies(c, "group_ids", group_id)

    def group_shares(self, group_id: int) -> list[tuple[str, AccessLevel]]:
        """The DataSets shared with the group, and at what level."""
        p = t.dataset_permissions.c
        q = select(p.dataset_id, p.access_level).where(
            p.grantee_type == GranteeType.GROUP.value, p.grantee_id == group_id
        )
        with self.tx() as c:
            return [(str(r.dataset_id), AccessLevel(r.access_level)) for r in c.execute(q)]

    def add_member(self, group_id: int, user_id: int) -> None:
        with self.tx() as c:
            exists = c.execute(
                select(t.group_members.c.user_id).where(
                    t.group_members.c.group_id == group_id, t.group_members.c.user_id == user_id
                )
            ).first()
            if exists is None:
                c.execute(insert(t.group_members).values(group_id=group_id, user_id=user_id))

    def remove_member(self, group_id: int, user_id: int) -> None:
        with self.tx() as c:
            c.execute(
                delete(t.group_members).where(
                    t.group_members.c.group_id == group_id, t.group_members.c.user_id == user_id
                )
            )

    def list_members(self, group_id: int, *, limit: int, offset: int) -> list[int]:
        q = (
            select(t.group_members.c.user_id)
            .where(t.group_members.c.group_id == group_id)
            .order_by(t.group_members.c.user_id)
            .limit(limit)
            .offset(offset)
        )
        with self.tx() as c:
            return [int(r[0]) for r in c.execute(q)]

    # -- shares ----------------------------------------------------------------------------------------------
    def changes(self) -> int:
        """How many writes have changed what callers' access is built from (catalog/changes.py counts them)."""
        return self._changes.read()

    def memberships(self, user_id: int) -> tuple[frozenset[int], dict[str, AccessLevel]]:
        """The user's active groups, and DataSet id -> the best level shared with the user directly or through
        one of them, read in one transaction (what every request's caller is built from)."""
        with self.tx() as c:
            group_ids = frozenset(int(r[0]) for r in c.execute(_ACTIVE_GROUPS_OF, {"user_id": user_id}))
            return group_ids, self._grants(c, user_id, group_ids)

    def _grants(self, c: Connection, user_id: int, group_ids: frozenset[int]) -> dict[str, AccessLevel]:
        best: dict[str, AccessLevel] = {}
        for dataset_id, level_text in c.execute(_GRANTS_TO, {"user_id": user_id, "group_ids": list(group_ids)}):
            level = AccessLevel(level_text)
            if dataset_id not in best or level.rank > best[dataset_id].rank:
                best[dataset_id] = level
        return best

    def list_shares(self, dataset_id: str) -> list[Share]:
        p = t.dataset_permissions.c
        q = (
            select(t.dataset_permissions)
            .where(p.dataset_id == dataset_id)
            .order_by(p.grantee_type.desc(), p.grantee_id)
        )
        with self.tx() as c:
            return [
                Share(dataset_id, GranteeType(r.grantee_type), int(r.grantee_id), AccessLevel(r.access_level))
                for r in c.execute(q)
            ]

    def put_shares(self, shares: Sequence[Share], granted_by: int) -> None:
        """Set each grantee's level (insert or replace), all in one transaction."""
        p = t.dataset_permissions.c
        with self.tx() as c:
            for share in shares:
                where = (
                    p.dataset_id == share.dataset_id,
                    p.grantee_type == share.grantee_type.value,
                    p.grantee_id == share.grantee_id,
                )
                c.execute(delete(t.dataset_permissions).where(*where))
                c.execute(
                    insert(t.dataset_permissions).values(
                        dataset_id=share.dataset_id,
                        grantee_type=share.grantee_type.value,
                        grantee_id=share.grantee_id,
                        access_level=share.level.value,
                        granted_by=granted_by,
                        granted_at=utcnow(),
                    )
                )

    def delete_shares(self, dataset_id: str, grantees: Sequence[tuple[GranteeType, int]]) -> int:
        p = t.dataset_permissions.c
        removed = 0
        with self.tx() as c:
            for kind, grantee_id in grantees:
                removed += c.execute(
                    delete(t.dataset_permissions).where(
                        p.dataset_id == dataset_id, p.grantee_type == kind.value, p.grantee_id == grantee_id
                    )
                ).rowcount
        return removed

    @staticmethod
    def forget_dataset(c: Connection, dataset_id: str) -> None:
        """Called inside the DataSet's delete transaction."""
        c.execute(delete(t.dataset_permissions).where(t.dataset_permissions.c.dataset_id == dataset_id))
        c.execute(delete(t.pdp_policies).where(t.pdp_policies.c.dataset_id == dataset_id))

    # -- PDP policies ----------------------------------------------------------------------------------------
    @staticmethod
    def _policy(row: Any) -> Policy:
        filters = tuple(
            PolicyFilter(
                column=f["column"],
                operator=FilterOperator(f["operator"]),
                values=tuple(f["values"]),
                negate=bool(f.get("not", False)),
                ignore_case=bool(f.get("ignoreCase", False)),
            )
            for f in json.loads(row.filters)
        )
        return Policy(
            id=int(row.id),
            dataset_id=row.dataset_id,
            name=row.name,
            type=PolicyType(row.type),
            filters=filters,
            user_ids=tuple(int(i) for i in json.loads(row.user_ids)),
            group_ids=tuple(int(i) for i in json.loads(row.group_ids)),
        )

    @staticmethod
    def _policy_values(
        name: str,
        kind: PolicyType,
        filters: Sequence[PolicyFilter],
        users: Sequence[int],
        groups: Sequence[int],
    ) -> dict[str, Any]:
        return {
            "name": name,
            "type": kind.value,
            "filters": json.dumps(
                [
                    {
                        "column": f.column,
                        "operator": f.operator.value,
                        "values": list(f.values),
                        "not": f.negate,
                        "ignoreCase": f.ignore_case,
                    }
                    for f in filters
                ]
            ),
            "user_ids": json.dumps(sorted(set(users))),
            "group_ids": json.dumps(sorted(set(groups))),
        }

    def list_policies(self, dataset_id: str) -> list[Policy]:
        q = select(t.pdp_policies).where(t.pdp_policies.c.dataset_id == dataset_id).order_by(t.pdp_policies.c.id)
        with self.tx() as c:
            return [self._policy(r) for r in c.execute(q)]

    def ensure_open_policy(self, dataset_id: str, name: str) -> None:
        """The open policy exists once per DataSet; made on first use, with no members."""
        p = t.pdp_policies.c
        with self.tx() as c:
            found = c.execute(
                select(p.id).where(p.dataset_id == dataset_id, p.type == PolicyType.OPEN.value).limit(1)
            ).first()
            if found is None:
                values = self._policy_values(name, PolicyType.OPEN, (), (), ())
                c.execute(insert(t.pdp_policies).values(dataset_id=dataset_id, created_at=utcnow(), **values))

    def get_policy(self, dataset_id: str, policy_id: int) -> Policy:
        p = t.pdp_policies.c
        with self.tx() as c:
            row = c.execute(select(t.pdp_policies).where(p.dataset_id == dataset_id, p.id == policy_id)).first()
        if row is None:
            raise PolicyNotFound(dataset_id, policy_id)
        return self._policy(row)

    def insert_policy(
        self,
        dataset_id: str,
        name: str,
        kind: PolicyType,
        filters: Sequence[PolicyFilter],
        users: Sequence[int],
        groups: Sequence[int],
    ) -> Policy:
        values = self._policy_values(name, kind, filters, users, groups)
        with self.tx() as c:
            key = c.execute(
                insert(t.pdp_policies).values(dataset_id=dataset_id, created_at=utcnow(), **values)
            ).inserted_primary_key
        assert key is not None
        return self.get_policy(dataset_id, int(key[0]))

    def replace_policy(self, policy: Policy) -> Policy:
        values = self._policy_values(policy.name, policy.type, policy.filters, policy.user_ids, policy.group_ids)
        p = t.pdp_policies.c
        with self.tx() as c:
            n = c.execute(
                update(t.pdp_policies).where(p.dataset_id == policy.dataset_id, p.id == policy.id).values(**values)
            ).rowcount
        if n == 0:
            raise PolicyNotFound(policy.dataset_id, policy.id)
        return self.get_policy(policy.dataset_id, policy.id)

    def delete_policy(self, dataset_id: str, policy_id: int) -> None:
        p = t.pdp_policies.c
        with self.tx() as c:
            if c.execute(delete(t.pdp_policies).where(p.dataset_id == dataset_id, p.id == policy_id)).rowcount == 0:
                raise PolicyNotFound(dataset_id, policy_id)

    # -- developer tokens ------------------------------------------------------------------------------------
    def list_dev_tokens(self, user_id: int | None) -> list[dict[str, Any]]:
        """Metadata only (never the hash): id, name, user_id, created_at, revoked_at."""
        q = select(
            t.dev_tokens.c.id,
            t.dev_tokens.c.name,
            t.dev_tokens.c.user_id,
            t.dev_tokens.c.created_at,
            t.dev_tokens.c.revoked_at,
        ).order_by(t.dev_tokens.c.created_at, t.dev_tokens.c.id)
        if user_id is not None:
            q = q.where(t.dev_tokens.c.user_id == user_id)
        with self.tx() as c:
            return [dict(r._mapping) for r in c.execute(q)]

    def revoke_dev_token(self, token_id: str) -> bool:
        """Mark the token revoked; False if there is no such token. Revoking twice is fine."""
        d = t.dev_tokens.c
        with self.tx() as c:
            if c.execute(select(d.id).where(d.id == token_id)).first() is None:
                return False
            c.execute(update(t.dev_tokens).where(d.id == token_id, d.revoked_at.is_(None)).values(revoked_at=utcnow()))
        return True
