"""Secrets at rest: Fernet tokens made with the server's account key. The only module that imports `cryptography`.

The key comes from the `account_key` setting or, when that is unset, from `<data dir>/account.key`, which the first
start creates (mode 0600). The key never goes into the catalog, so a copy of the catalog alone reveals no secret.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from domolite.errors import SecretUnreadable

log = logging.getLogger("domolite")

KEY_HELP = "a Fernet key: 32 random bytes in url-safe base64 (44 characters)"


class SecretBox:
    """Encrypts and decrypts with one Fernet key (AES-128-CBC with an HMAC-SHA256 over the whole token)."""

    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key.strip())
        except (ValueError, TypeError):
            raise ValueError(f"the account key is not {KEY_HELP}") from None

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        """The bytes encrypted in `token`. Raises SecretUnreadable when the key is not the one that encrypted it."""
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SecretUnreadable(
                "stored secrets cannot be decrypted with this server's account key "
                "(was DOMOLITE_ACCOUNT_KEY or the account.key file changed?)"
            ) from None

    def encrypt_json(self, values: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(values, sort_keys=True).encode())

    def decrypt_json(self, token: str) -> dict[str, Any]:
        values = json.loads(self.decrypt(token))
        if not isinstance(values, dict):
            raise SecretUnreadable("stored secrets are not a JSON object")
        return values


def _private_temp(path: Path, content: str) -> Path:
    """A new file (mode 0600) next to `path` holding `content`, flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    return tmp


def create_private_file(path: Path, content: str) -> bool:
    """Make `path` (mode 0600) holding `content`, unless it exists; True if this call made it.

    The content goes to a private temporary file that is then hard-linked to `path`. The link either creates
    `path` whole or fails because it exists, so processes starting together all end with the one file that won, and
    none ever reads a half-written file.
    """
    tmp = _private_temp(path, content)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False  # another process made it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)


def replace_private_file(path: Path, content: str) -> None:
    """Make `content` the whole of `path` (mode 0600) in one step: readers see the old file or the new one."""
    tmp = _private_temp(path, content)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def warn_if_readable(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        log.warning("%s can be read by other users; it should be mode 0600", path)


def load_or_create_key(path: Path) -> str:
    """The key in `path`, made first (mode 0600) if the file does not exist."""
    if not path.exists() and create_private_file(path, SecretBox.new_key() + "\n"):
        log.info("made a new account key in %s; keep it with the catalog's backups", path)
    warn_if_readable(path)
    return path.read_text().strip()


def open_box(configured_key: str | None, key_file: Path) -> SecretBox:
    """The server's box: the configured key if there is one, else the key file (made on first use)."""
    if configured_key:
        return SecretBox(configured_key)
    try:
        return SecretBox(load_or_create_key(key_file))
    except ValueError:
        raise ValueError(f"{key_file} does not hold {KEY_HELP}") from None
