"""OAuth access tokens (signed JWTs that carry `exp`) and developer tokens (`X-DOMO-Developer-Token`)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domolite.auth.secrets import hash_secret, hash_token, random_secret, token_matches, verify_secret
from domolite.auth.signing import BadToken, SigningKeys
from domolite.catalog import Catalog
from domolite.errors import BadRequest, NotFound, TokenExpired, Unauthorized, UserNotFound
from domolite.models.records import Principal, User
from domolite.server.memo import StampedMemo

KNOWN_SCOPES = frozenset({"data", "user", "dashboard", "account", "audit", "workflow"})
DEV_TOKEN_PREFIX = "DDCI"
SESSION_TYPE = "session"
_PRINCIPALS = 4096  # credentials whose principal a process remembers (the least recently used go first)


@dataclass(frozen=True)
class Grant:
    access_token: str
    expires_in: int
    scopes: tuple[str, ...]
    user: User
    jti: str


class TokenService:
    """Issues and checks credentials. Access tokens are signed with the server's signing keys (kept outside the
    catalog, see signing.py), so they survive restarts; the admin commands, which sign nothing, pass no keys."""

    def __init__(self, catalog: Catalog, lifetime_s: int, keys: SigningKeys | None = None) -> None:
        self.catalog = catalog
        self.lifetime_s = lifetime_s
        self._keys = keys
        # credential (its SHA-256) -> its principal, at the catalog's count of access changes it was built at
        self._principals: StampedMemo[str, Principal] = StampedMemo(_PRINCIPALS)

    @property
    def keys(self) -> SigningKeys:
        assert self._keys is not None, "this TokenService was made without signing keys"
        return self._keys

    # -- OAuth client credentials -----------------------------------------------------------------------------
    def grant(self, client_id: str, client_secret: str, requested: str | None) -> Grant:
        client = self.catalog.users.get_client(client_id)
        if client is None or not verify_secret(client[0], client_secret):
            raise Unauthorized("Bad credentials")
        secret_hash, user_id, allowed = client
        del secret_hash
        wanted = parse_scopes(requested) if requested else allowed
        scopes = tuple(sorted(wanted & allowed))
        if not scopes:
            raise BadRequest(f"invalid_scope: none of {sorted(wanted)} is allowed for this client")
        user = self.catalog.users.get(user_id)
        now = int(time.time())
        jti = str(uuid.uuid4())
        payload = {
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": jti,
            "sub": str(user.id),
            "client_id": client_id,
            "scope": " ".join(scopes),
        }
        token = self.keys.sign(payload)
        return Grant(access_token=token, expires_in=self.lifetime_s, scopes=scopes, user=user, jti=jti)

    def verify_access_token(self, token: str) -> Principal:
        try:
            payload = self.keys.verify(token)  # its signature and expiry, at every request
        except BadToken as exc:
            if exc.expired:
                raise TokenExpired("The access token has expired") from None
            raise Unauthorized("The access token is not valid") from None
        if payload.get("typ") == SESSION_TYPE:
            raise Unauthorized("The access token is not valid")  # a session token goes in x-domo-authentication
        return self.remembered(token, lambda: self._oauth_principal(payload))

    def _oauth_principal(self, payload: dict[str, Any]) -> Principal:
        try:
            user = self.catalog.users.get(int(payload["sub"]))
        except (UserNotFound, ValueError):
            raise Unauthorized("The access token's user no longer exists") from None
        if payload.get("client_id") and self.catalog.users.get_client(str(payload["client_id"])) is None:
            raise Unauthorized("The access token's client no longer exists")
        scopes = frozenset(str(payload.get("scope", "")).split())
        return self.principal(user, scopes, payload.get("client_id"), via="oauth")

    def remembered(self, credential: str, build: Callable[[], Principal]) -> Principal:
        """The principal of a checked credential: the one built for it before while the catalog's count of
        access changes (`Catalog.access.changes`, one row) still stands where it stood then, else `build()`.
        The count moves in the same transaction as every change to users, tokens, clients, groups and shares,
        whichever process makes it, so a revoked token, a removed member or a withdrawn share is seen on the
        next request, as without this memory. The count is read before building: a change made meanwhile moves
        it past the count the new principal is remembered at. A credential that fails is never remembered."""
        return self._principals.get(hash_token(credential), self.catalog.access.changes(), build)

    def principal(
        self, user: User, scopes: frozenset[str], client_id: str | None, *, via: str, credential_id: str | None = None
    ) -> Principal:
        """The caller, with its groups and the DataSets shared with it, read once per request. Every way in
        (OAuth token, developer token, session) builds its principal here, so one user has one access."""
        group_ids, grants = self.catalog.access.memberships(user.id)
        return Principal(
            user=user,
            scopes=scopes,
            client_id=client_id,
            group_ids=group_ids,
            grants=grants,
            via=via,
            credential_id=credential_id or client_id,
        )

    # -- developer tokens -------------------------------------------------------------------------------------
    def create_dev_token(self, user_id: int, name: str) -> str:
        """A random token (256 bits of secret); only its SHA-256 is stored. The id inside it is public."""
        token_id = secrets.token_hex(8)
        token = f"{DEV_TOKEN_PREFIX}{token_id}{random_secret(32)}"
        self.catalog.users.create_dev_token(token_id, hash_token(token), user_id, name)
        return token

    def verify_dev_token(self, token: str) -> Principal:
        return self.remembered(token, lambda: self._dev_token_principal(token))

    def _dev_token_principal(self, token: str) -> Principal:
        token_id = self.dev_token_id(token)
        found = self.catalog.users.dev_token_user(token_id) if token_id else None
        if found is None or not token_matches(found[0], token):
            raise Unauthorized("The developer token is not valid")
        _, user, revoked = found
        if revoked:
            raise Unauthorized("The developer token has been revoked")
        if user is None:
            raise Unauthorized("The developer token's user no longer exists")
        return self.principal(user, KNOWN_SCOPES, None, via="developer token", credential_id=token_id)

    @staticmethod
    def dev_token_id(token: str) -> str:
        """The public id inside a developer token ('' if it is not one of ours)."""
        if not token.startswith(DEV_TOKEN_PREFIX) or len(token) < len(DEV_TOKEN_PREFIX) + 16:
            return ""
        return token[len(DEV_TOKEN_PREFIX) : len(DEV_TOKEN_PREFIX) + 16]

    def revoke_dev_token(self, *, token: str | None = None, token_id: str | None = None) -> str:
        """Revoke by the token itself (checked against its hash) or by its id; returns the id.

        Raises:
            NotFound: no such token.
        """
        if token is not None:
            token_id = self.dev_token_id(token.strip())
            found = self.catalog.users.dev_token_user(token_id) if token_id else None
            if found is None or not token_matches(found[0], token.strip()):
                raise NotFound("no such developer token")
        if not token_id or not self.catalog.access.revoke_dev_token(token_id):
            raise NotFound("no such developer token")
        return token_id

    # -- clients ----------------------------------------------------------------------------------------------
    def create_client(self, user_id: int, name: str, scopes: tuple[str, ...]) -> tuple[str, str]:
        unknown = set(scopes) - KNOWN_SCOPES
        if unknown or not scopes:
            raise BadRequest(f"unknown scope(s): {', '.join(sorted(unknown)) or '(none given)'}")
        client_id = str(uuid.uuid4())
        secret = random_secret(32)
        self.catalog.users.create_client(client_id, hash_secret(secret), name, user_id, scopes)
        return client_id, secret


def parse_scopes(text: str) -> frozenset[str]:
    """Scopes arrive space-, plus- or comma-separated ('data user', 'data+user', 'account, data')."""
    return frozenset(s for s in text.replace(",", " ").replace("+", " ").split() if s)
