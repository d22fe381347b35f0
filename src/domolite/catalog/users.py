"""Users, with their OAuth clients and developer tokens (who may call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from domolite.catalog import schema as t
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import Store
from domolite.errors import Conflict, UserNotFound
from domolite.models.records import Role, User

# Every call with a developer token reads the first, every DataSet shown its owner: built once (see
# _ACTIVE_GROUPS_OF in catalog/access.py).
_u = t.users.c
_USER_BY_ID = select(t.users).where(_u.id == bindparam("user_id"))
_DEV_TOKEN_USER = (
    select(t.dev_tokens.c.token_hash, t.dev_tokens.c.revoked_at, _u.id, _u.email, _u.name, _u.role)
    .select_from(t.dev_tokens.outerjoin(t.users, _u.id == t.dev_tokens.c.user_id))
    .where(t.dev_tokens.c.id == bindparam("token_id"))
)


class UserStore(Store):
    # -- users ------------------------------------------------------------------------------------------------
    @staticmethod
    def _user(row: Any) -> User:
        return User(id=int(row.id), email=row.email, name=row.name, role=Role(row.role))

    def create(self, email: str, name: str, role: Role, password_hash: str | None) -> User:
        """Raises Conflict when a user has the address already, in any letter case (logins ignore case)."""
        try:
            with self.tx() as c:
                if email_taken(c, email):
                    raise Conflict(f"a user with email {email} already exists")
                uid = c.execute(
                    insert(t.users).values(
                        email=email, name=name, role=role.value, password_hash=password_hash, created_at=utcnow()
                    )
                ).inserted_primary_key
        except IntegrityError:
            raise Conflict(f"a user with email {email} already exists") from None
        assert uid is not None
        return User(id=int(uid[0]), email=email, name=name, role=role)

    def count(self) -> int:
        with self.tx() as c:
            return int(c.execute(select(func.count()).select_from(t.users)).scalar_one())

    def get(self, user_id: int) -> User:
        return self._user(self.first_or(_USER_BY_ID, UserNotFound(user_id), {"user_id": user_id}))

    def find_by_email(self, email: str) -> tuple[User, str | None]:
        with self.tx() as c:
            row = c.execute(select(t.users).where(func.lower(t.users.c.email) == email.lower())).first()
        if row is None:
            raise UserNotFound(email)
        return self._user(row), row.password_hash

    # -- their OAuth clients and developer tokens -------------------------------------------------------------
    def create_client(self, client_id: str, secret_hash: str, name: str, user_id: int, scopes: Sequence[str]) -> None:
        with self.tx() as c:
            c.execute(
                insert(t.clients).values(
                    client_id=client_id,
                    secret_hash=secret_hash,
                    name=name,
                    user_id=user_id,
                    scopes=" ".join(scopes),
                    created_at=utcnow(),
                )
            )

    def get_client(self, client_id: str) -> tuple[str, int, frozenset[str]] | None:
        """Return (secret_hash, user_id, scopes) of a client, or None."""
        with self.tx() as c:
            row = c.execute(select(t.clients).where(t.clients.c.client_id == client_id)).first()
        if row is None:
            return None
        return row.secret_hash, int(row.user_id), frozenset(row.scopes.split())

    def create_dev_token(self, token_id: str, token_hash: str, user_id: int, name: str) -> None:
        with self.tx() as c:
            c.execute(
                insert(t.dev_tokens).values(
                    id=token_id, token_hash=token_hash, user_id=user_id, name=name, created_at=utcnow()
                )
            )

    def dev_token_user(self, token_id: str) -> tuple[str, User | None, bool] | None:
        """Return (token_hash, its user or None when the user is gone, revoked) of a developer token, or None;
        one query."""
        with self.tx() as c:
            row = c.execute(_DEV_TOKEN_USER, {"token_id": token_id}).first()
        if row is None:
            return None
        return row.token_hash, None if row.id is None else self._user(row), row.revoked_at is not None


def email_taken(c: Connection, email: str, but: int | None = None) -> bool:
    """Whether a user (other than `but`) has the address, ignoring letter case."""
    q = select(t.users.c.id).where(func.lower(t.users.c.email) == email.lower())
    if but is not None:
        q = q.where(t.users.c.id != but)
    return c.execute(q.limit(1)).first() is not None
