"""Session login (POST /api/content/v2/authentication): e-mail and password for a signed session token that
clients send back as `x-domo-authentication`."""

from __future__ import annotations

import secrets
import time
import uuid

import jwt

from domolite.auth.secrets import verify_secret
from domolite.auth.tokens import KNOWN_SCOPES
from domolite.catalog import Catalog
from domolite.errors import Unauthorized, UserNotFound
from domolite.models import Principal, User

SESSION_TYPE = "session"


class SessionService:
    """Sessions are JWTs signed with the server key (as OAuth tokens are), marked as sessions."""

    def __init__(self, catalog: Catalog, lifetime_s: int) -> None:
        self.catalog = catalog
        self.lifetime_s = lifetime_s
        self._key = catalog.get_or_create_key("jwt_signing_key", lambda: secrets.token_hex(32))

    def login(self, email: str, password: str) -> tuple[User, str] | None:
        """The user and a new session token, or None when the e-mail or the password is wrong."""
        try:
            user, password_hash = self.catalog.find_user_by_email(email.strip())
        except UserNotFound:
            return None
        if not password_hash or not verify_secret(password_hash, password):
            return None
        now = int(time.time())
        payload = {
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": str(uuid.uuid4()),
            "sub": str(user.id),
            "typ": SESSION_TYPE,
        }
        return user, jwt.encode(payload, self._key, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        try:
            payload = jwt.decode(token, self._key, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The session has expired; log in again") from None
        except jwt.PyJWTError:
            raise Unauthorized("The session token is not valid") from None
        if payload.get("typ") != SESSION_TYPE:
            raise Unauthorized("The session token is not valid")
        try:
            user = self.catalog.get_user(int(payload["sub"]))
        except (UserNotFound, ValueError):
            raise Unauthorized("The session's user no longer exists") from None
        return Principal(user=user, scopes=KNOWN_SCOPES, client_id=None)
