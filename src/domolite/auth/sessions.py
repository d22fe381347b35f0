"""Session login (POST /api/content/v2/authentication): e-mail and password for a signed session token that
clients send back as `x-domo-authentication`."""

from __future__ import annotations

import time
import uuid
from typing import Any

from domolite.auth.secrets import verify_secret_or_none
from domolite.auth.signing import BadToken
from domolite.auth.tokens import KNOWN_SCOPES, SESSION_TYPE, TokenService
from domolite.catalog import Catalog
from domolite.errors import TokenExpired, Unauthorized, UserNotFound
from domolite.models.records import Principal, User


class SessionService:
    """Sessions are JWTs signed with the server's signing keys (as OAuth tokens are), marked as sessions. A
    session's principal is built as every other way in builds it: the user with its groups and shares."""

    def __init__(self, catalog: Catalog, tokens: TokenService, lifetime_s: int) -> None:
        self.catalog = catalog
        self.tokens = tokens
        self.lifetime_s = lifetime_s

    def login(self, email: str, password: str) -> tuple[User, str] | None:
        """The user and a new session token, or None when the e-mail or the password is wrong."""
        try:
            user, password_hash = self.catalog.users.find_by_email(email.strip())
        except UserNotFound:
            verify_secret_or_none(None, password)  # as long as a wrong password takes
            return None
        if not verify_secret_or_none(password_hash, password):
            return None
        return user, self.issue(user, self.lifetime_s)

    def issue(self, user: User, lifetime_s: int) -> str:
        """A new session token for the user (the Data Center gives its pages' scripts short ones)."""
        now = int(time.time())
        payload = {
            "iat": now,
            "exp": now + lifetime_s,
            "jti": str(uuid.uuid4()),
            "sub": str(user.id),
            "typ": SESSION_TYPE,
        }
        return self.tokens.keys.sign(payload)

    def verify(self, token: str) -> Principal:
        try:
            payload = self.tokens.keys.verify(token)
        except BadToken as exc:
            if exc.expired:
                raise TokenExpired("The session has expired; log in again") from None
            raise Unauthorized("The session token is not valid") from None
        if payload.get("typ") != SESSION_TYPE:
            raise Unauthorized("The session token is not valid")
        return self.tokens.remembered(token, lambda: self._principal(payload))

    def _principal(self, payload: dict[str, Any]) -> Principal:
        try:
            user = self.catalog.users.get(int(payload["sub"]))
        except (UserNotFound, ValueError):
            raise Unauthorized("The session's user no longer exists") from None
        return self.tokens.principal(user, KNOWN_SCOPES, None, via="session")
