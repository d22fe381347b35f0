"""Connector accounts in the catalog. The secret fields arrive and leave already encrypted."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update

from domolite.catalog import schema as t
from domolite.catalog.clock import utcnow
from domolite.catalog.engine import Store
from domolite.errors import AccountNotFound, Conflict
from domolite.models.records import Account


def _account(row: Any) -> Account:
    return Account(
        id=int(row.id),
        owner_id=int(row.owner_id),
        name=row.name,
        display_name=row.display_name,
        provider_key=row.data_provider_type,
        configuration=dict(json.loads(row.configuration)),
        valid=bool(row.valid),
        created_at=row.created_at,
        modified_at=row.modified_at,
        modified_by=int(row.modified_by),
        secrets_encrypted=row.secrets_encrypted,
    )


class AccountStore(Store):
    def insert(
        self,
        *,
        owner_id: int,
        name: str,
        display_name: str,
        provider_key: str,
        configuration: dict[str, Any],
        secrets_encrypted: str,
        valid: bool,
    ) -> Account:
        now = utcnow()
        with self.tx() as c:
            key = c.execute(
                insert(t.accounts).values(
                    owner_id=owner_id,
                    name=name,
                    display_name=display_name,
                    data_provider_type=provider_key,
                    configuration=json.dumps(configuration, sort_keys=True),
                    secrets_encrypted=secrets_encrypted,
                    valid=valid,
                    created_at=now,
                    modified_at=now,
                    modified_by=owner_id,
                )
            ).inserted_primary_key
        assert key is not None
        return self.get(int(key[0]))

    def get(self, account_id: int) -> Account:
        with self.tx() as c:
            row = c.execute(select(t.accounts).where(t.accounts.c.id == account_id)).first()
        if row is None:
            raise AccountNotFound(account_id)
        return _account(row)

    def list_accounts(self, owner_id: int | None, *, limit: int, offset: int) -> list[Account]:
        """Accounts in id order: one user's, or everyone's when `owner_id` is None."""
        q = select(t.accounts).order_by(t.accounts.c.id).limit(limit).offset(offset)
        if owner_id is not None:
            q = q.where(t.accounts.c.owner_id == owner_id)
        with self.tx() as c:
            return [_account(r) for r in c.execute(q)]

    def encrypted_secrets(self) -> list[tuple[int, str]]:
        """Every account's id and secrets token."""
        with self.tx() as c:
            rows = c.execute(select(t.accounts.c.id, t.accounts.c.secrets_encrypted).order_by(t.accounts.c.id))
            return [(int(i), str(token)) for i, token in rows]

    def replace(
        self,
        before: Account,
        *,
        name: str,
        display_name: str,
        configuration: dict[str, Any],
        secrets_encrypted: str,
        valid: bool,
        modified_by: int,
    ) -> Account:
        """Write the account's new state, compare-and-set on the token read before (every write makes a new one).

        Raises:
            Conflict: another writer changed the account since `before` was read.
            AccountNotFound: it was deleted meanwhile.
        """
        with self.tx() as c:
            n = c.execute(
                update(t.accounts)
                .where(t.accounts.c.id == before.id, t.accounts.c.secrets_encrypted == before.secrets_encrypted)
                .values(
                    name=name,
                    display_name=display_name,
                    configuration=json.dumps(configuration, sort_keys=True),
                    secrets_encrypted=secrets_encrypted,
                    valid=valid,
                    modified_at=utcnow(),
                    modified_by=modified_by,
                )
            ).rowcount
        if n == 0:
            self.get(before.id)
            raise Conflict(f"account {before.id} was changed by someone else; read it again and retry")
        return self.get(before.id)

    def delete(self, account_id: int) -> None:
        with self.tx() as c:
            if c.execute(delete(t.accounts).where(t.accounts.c.id == account_id)).rowcount == 0:
                raise AccountNotFound(account_id)
