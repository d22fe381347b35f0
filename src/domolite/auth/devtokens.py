"""Developer tokens as a resource: one's own (all of them for an Admin), created and revoked over the API."""

from __future__ import annotations

from typing import Any

from domolite.access import permissions
from domolite.audit.log import AuditLog
from domolite.auth.tokens import KNOWN_SCOPES, TokenService
from domolite.catalog import Catalog
from domolite.errors import Forbidden, NotFound
from domolite.models.audit import Action, ObjectType
from domolite.models.records import Principal


class AccessTokens:
    def __init__(self, catalog: Catalog, tokens: TokenService, audit: AuditLog) -> None:
        self.catalog = catalog
        self.tokens = tokens
        self.audit = audit

    def _record(self, principal: Principal, action: Action, row: dict[str, Any]) -> None:
        comment = f"developer token of user {row['user_id']}"
        self.audit.record(self.audit.event(principal, action, ObjectType.ACCESS_TOKEN, row["id"], row["name"], comment))

    @staticmethod
    def _require_every_scope(principal: Principal) -> None:
        """A developer token carries every scope of its user, so a credential limited to some scopes (an OAuth
        client's) may not list, create or revoke them."""
        permissions.require_every_scope(principal, KNOWN_SCOPES, "developer tokens carry every scope")

    def list(self, principal: Principal) -> list[dict[str, Any]]:
        self._require_every_scope(principal)
        return self.catalog.access.list_dev_tokens(None if principal.is_admin else principal.user.id)

    def create(self, principal: Principal, name: str, owner_id: int | None) -> tuple[dict[str, Any], str]:
        self._require_every_scope(principal)
        owner = owner_id if owner_id is not None else principal.user.id
        if owner != principal.user.id and not principal.is_admin:
            raise Forbidden("only an Admin may create a developer token for another user")
        self.catalog.users.get(owner)
        token = self.tokens.create_dev_token(owner, name)
        token_id = self.tokens.dev_token_id(token)
        row = next(r for r in self.catalog.access.list_dev_tokens(owner) if r["id"] == token_id)
        self._record(principal, Action.CREATED, row)
        return row, token

    def revoke(self, principal: Principal, token_id: str) -> None:
        self._require_every_scope(principal)
        rows = [r for r in self.catalog.access.list_dev_tokens(None) if r["id"] == token_id]
        if not rows:
            raise NotFound("no such access token")
        permissions.require_token_admin(principal, int(rows[0]["user_id"]))
        if rows[0]["revoked_at"] is not None:  # revoked before: nothing changes, and nothing is recorded
            return
        self.tokens.revoke_dev_token(token_id=token_id)
        self._record(principal, Action.REVOKED, rows[0])
