"""The keys that sign OAuth access tokens and session tokens (HS256 JWTs). The only module that imports `jwt`.

The keys never go into the catalog, so a copy of the catalog cannot mint a token. They come from the
`signing_keys` setting (comma-separated secrets: the first signs, every one verifies) or, when that is unset,
from `<data dir>/signing.keys`, a JSON file of mode 0600 that the first start makes.

Every token names the key that signed it (the `kid` header). `rotate` puts a new key first in the file: from then
on it signs, while the keys before it still verify what they signed, until those tokens expire. A retired key
verifies no token that outlives its retirement by more than the longest token lifetime (`keep_for_s`), and the
next rotation after that drops it from the file. Running servers see a rotation at the next token they sign or
check: the file is read again whenever it changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jwt

from domolite.auth.secretbox import create_private_file, replace_private_file, warn_if_readable

log = logging.getLogger("domolite")

ALGORITHM = "HS256"
MIN_SECRET_CHARS = 32
# The key earlier versions kept in the catalog (server_keys.jwt_signing_key), as migration 0008 moves it out. Its
# tokens carry no `kid`.
LEGACY_KID = "catalog"


class BadToken(Exception):
    """A token that does not verify; `expired` when only its time is up."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: str
    created_at: int
    retired_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kid": self.kid, "secret": self.secret, "createdAt": self.created_at, "retiredAt": self.retired_at}


def new_key(now: int) -> SigningKey:
    return SigningKey(kid=secrets.token_hex(8), secret=secrets.token_hex(32), created_at=now)


def _parse(text: str, where: Path) -> tuple[SigningKey, ...]:
    try:
        keys = tuple(
            SigningKey(
                kid=str(k["kid"]),
                secret=str(k["secret"]),
                created_at=int(k["createdAt"]),
                retired_at=None if k.get("retiredAt") is None else int(k["retiredAt"]),
            )
            for k in json.loads(text)["keys"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where} is not a signing key file ({exc})") from None
    if not keys or keys[0].retired_at is not None:
        raise ValueError(f"{where} has no current signing key")
    return keys


def _dump(keys: tuple[SigningKey, ...]) -> str:
    return json.dumps({"keys": [k.to_json() for k in keys]}, indent=1) + "\n"


def configured_keys(value: str) -> tuple[SigningKey, ...]:
    """The keys of the `signing_keys` setting; each key's id is a digest of it (the id reveals nothing)."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("DOMOLITE_SIGNING_KEYS holds no key")
    for i, part in enumerate(parts):
        if len(part) < MIN_SECRET_CHARS:
            raise ValueError(f"DOMOLITE_SIGNING_KEYS: key {i + 1} is shorter than {MIN_SECRET_CHARS} characters")
    return tuple(
        SigningKey(kid=hashlib.sha256(p.encode()).hexdigest()[:16], secret=p, created_at=0, retired_at=None)
        for p in parts
    )


class SigningKeys:
    """Signs with the current key, verifies with any key that may still have live tokens."""

    def __init__(self, configured: str | None, key_file: Path, keep_for_s: int) -> None:
        self.key_file = key_file
        self.keep_for_s = keep_for_s
        self._configured = configured_keys(configured) if configured else None
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._keys: tuple[SigningKey, ...] = ()

    @property
    def from_setting(self) -> bool:
        return self._configured is not None

    # -- the file --------------------------------------------------------------------------------------------
    def keys(self) -> tuple[SigningKey, ...]:
        """The keys, current first: the setting's, or the file's as it is now (made first if missing)."""
        if self._configured is not None:
            return self._configured
        with self._lock:
            try:
                st = os.stat(self.key_file)
            except FileNotFoundError:
                if create_private_file(self.key_file, _dump((new_key(int(time.time())),))):
                    log.info("made a new token signing key in %s", self.key_file)
                st = os.stat(self.key_file)
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen != self._seen:
                warn_if_readable(self.key_file)
                self._keys = _parse(self.key_file.read_text(), self.key_file)
                self._seen = seen
            return self._keys

    @contextmanager
    def _changing(self) -> Iterator[tuple[SigningKey, ...]]:
        """The file's keys, under a lock that other rotations (of any process) wait for."""
        self.keys()  # made first if missing
        lock_path = self.key_file.with_name(self.key_file.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield _parse(self.key_file.read_text(), self.key_file)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _require_file(self, what: str) -> None:
        if self._configured is not None:
            raise ValueError(
                f"the signing keys come from DOMOLITE_SIGNING_KEYS; {what} by changing that setting "
                "(a new key first, the old ones after it until their tokens expire)"
            )

    def rotate(self) -> SigningKey:
        """A new current key; the old one verifies until its tokens expire. Keys retired longer ago than
        `keep_for_s` are dropped. Returns the new key."""
        self._require_file("rotate them")
        now = int(time.time())
        with self._changing() as keys:
            kept = tuple(
                replace(k, retired_at=now) if k.retired_at is None else k
                for k in keys
                if k.retired_at is None or now - k.retired_at <= self.keep_for_s
            )
            fresh = new_key(now)
            replace_private_file(self.key_file, _dump((fresh, *kept)))
        log.info("rotated the token signing key: %s signs from now on", fresh.kid)
        return fresh

    def adopt_legacy(self, secret: str) -> None:
        """Keep the key an earlier version held in the catalog as a retired key, so that the tokens it signed
        stay valid until they expire (migration 0008 calls this before it drops the key from the catalog)."""
        if self._configured is not None:
            log.warning(
                "the token signing key in the catalog was dropped; tokens issued before this upgrade must be renewed"
            )
            return
        now = int(time.time())
        with self._changing() as keys:
            if any(k.kid == LEGACY_KID for k in keys):
                return
            legacy = SigningKey(kid=LEGACY_KID, secret=secret, created_at=now, retired_at=now)
            replace_private_file(self.key_file, _dump((*keys, legacy)))
        log.info("moved the token signing key out of the catalog into %s", self.key_file)

    # -- tokens ----------------------------------------------------------------------------------------------
    def sign(self, payload: dict[str, Any]) -> str:
        key = self.keys()[0]
        return jwt.encode(payload, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token signed by one of the keys, not expired (`exp` and `sub` are required).

        Raises:
            BadToken: a wrong signature, an unknown key, a malformed token, or (`expired`) its time is up.
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid", LEGACY_KID)
        except jwt.PyJWTError:
            raise BadToken() from None
        key = next((k for k in self.keys() if k.kid == kid), None)
        if key is None:
            raise BadToken()
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError:
            raise BadToken(expired=True) from None
        except jwt.PyJWTError:
            raise BadToken() from None
        if key.retired_at is not None:
            # A retired key's tokens were signed before it retired and end within the longest lifetime after.
            if int(claims.get("iat", 0)) > key.retired_at or int(claims["exp"]) > key.retired_at + self.keep_for_s:
                raise BadToken()
        return claims
