"""Hashing of stored secrets. Passwords and client secrets use argon2; developer tokens (random, 256-bit) SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (Argon2Error, InvalidHashError):
        return False


_STAND_IN = hash_secret("a password no one has")  # checked when there is no hash: the answer takes as long


def verify_secret_or_none(stored_hash: str | None, secret: str) -> bool:
    """`verify_secret`, which takes as long without a hash (an unknown user) as with one: how long a wrong login
    takes does not tell whether the user exists."""
    if not stored_hash:
        verify_secret(_STAND_IN, secret)
        return False
    return verify_secret(stored_hash, secret)


def random_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(stored_hash: str, token: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_token(token))
