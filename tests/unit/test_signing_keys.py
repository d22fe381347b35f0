"""The token signing keys live outside the catalog: a key file of mode 0600 (or a setting), rotation, and the
move of the key an older catalog held."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import jwt
import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config

import domolite.catalog
from domolite.auth.bootstrap import open_server_catalog, signing_keys
from domolite.auth.secrets import hash_secret
from domolite.auth.signing import LEGACY_KID, SigningKeys
from domolite.auth.tokens import TokenService
from domolite.errors import TokenExpired, Unauthorized
from domolite.models.records import Role
from domolite.settings import Settings


def catalog_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("catalog.sqlite*")))


def old_catalog(data_dir: Path, key: str) -> None:
    """A catalog as revision 0007 left it, its signing key in `server_keys`."""
    data_dir.mkdir(parents=True)
    engine = sqlalchemy.create_engine(f"sqlite:///{data_dir / 'catalog.sqlite'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(domolite.catalog.__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007_processes")
        conn.execute(
            sqlalchemy.text("INSERT INTO server_keys (name, value) VALUES ('jwt_signing_key', :v)"), {"v": key}
        )
    engine.dispose()


def test_the_first_start_makes_a_private_key_file_and_the_catalog_holds_no_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    catalog = open_server_catalog(settings)
    tokens = TokenService(catalog, 60, signing_keys(settings))
    user = catalog.users.create("a@example.com", "A", Role.ADMIN, None)
    catalog.users.create_client("c1", hash_secret("s1"), "c", user.id, ("data",))
    token = tokens.grant("c1", "s1", None).access_token
    assert tokens.verify_access_token(token).user.id == user.id
    key_file = settings.signing_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    (key,) = json.loads(key_file.read_text())["keys"]
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    with catalog.engine.connect() as conn:
        assert "server_keys" not in sqlalchemy.inspect(conn).get_table_names()
    catalog.close()
    assert key["secret"].encode() not in catalog_bytes(settings.data_dir)


def test_an_older_catalogs_key_moves_out_and_its_tokens_live_until_they_expire(tmp_path: Path) -> None:
    legacy = "0123456789abcdef" * 4
    data_dir = tmp_path / "data"
    old_catalog(data_dir, legacy)
    assert legacy.encode() in catalog_bytes(data_dir)
    settings = Settings(data_dir=data_dir, token_lifetime_s=60)
    catalog = open_server_catalog(settings)  # migrates to 0008
    user = catalog.users.create("a@example.com", "A", Role.ADMIN, None)
    catalog.close()
    # The catalog, read directly and as raw bytes, no longer holds the key; the key file does, retired.
    assert legacy.encode() not in catalog_bytes(data_dir)
    keys = {k["kid"]: k for k in json.loads(settings.signing_key_file.read_text())["keys"]}
    assert keys[LEGACY_KID]["secret"] == legacy and keys[LEGACY_KID]["retiredAt"] is not None
    assert next(iter(keys.values()))["retiredAt"] is None  # a new key signs

    catalog = open_server_catalog(settings)
    tokens = TokenService(catalog, 60, signing_keys(settings))
    now = int(time.time())
    issued_before = jwt.encode({"sub": str(user.id), "iat": now - 10, "exp": now + 50}, legacy, algorithm="HS256")
    assert tokens.verify_access_token(issued_before).user.id == user.id  # no kid: the old key's token
    stale = jwt.encode({"sub": str(user.id), "iat": now - 100, "exp": now - 1}, legacy, algorithm="HS256")
    with pytest.raises(TokenExpired):
        tokens.verify_access_token(stale)
    # Someone holding the old key cannot mint new tokens with it: not after it retired, nor past its reach.
    minted_later = jwt.encode({"sub": str(user.id), "iat": now + 5, "exp": now + 50}, legacy, algorithm="HS256")
    outliving = jwt.encode({"sub": str(user.id), "iat": now - 10, "exp": now + 7 * 86400}, legacy, algorithm="HS256")
    for forged in (minted_later, outliving):
        with pytest.raises(Unauthorized, match="not valid"):
            tokens.verify_access_token(forged)
    catalog.close()


def test_rotation_signs_with_the_new_key_and_drops_keys_whose_tokens_are_all_expired(tmp_path: Path) -> None:
    keys = SigningKeys(None, tmp_path / "signing.keys", keep_for_s=2)
    before = keys.sign({"sub": "1", "iat": int(time.time()), "exp": int(time.time()) + 2})
    first = keys.keys()[0]
    fresh = keys.rotate()
    after = keys.sign({"sub": "1", "exp": int(time.time()) + 2})
    assert jwt.get_unverified_header(after)["kid"] == fresh.kid != first.kid
    assert keys.verify(before)["sub"] == "1" and keys.verify(after)["sub"] == "1"
    time.sleep(3.1)
    keys.rotate()  # the first key retired more than keep_for_s ago: gone
    assert first.kid not in {k.kid for k in keys.keys()}
    assert stat.S_IMODE((tmp_path / "signing.keys").stat().st_mode) == 0o600


def test_keys_from_the_setting_the_first_signs_every_one_verifies(tmp_path: Path) -> None:
    old, new = "o" * 40, "n" * 40
    before = SigningKeys(old, tmp_path / "unused", 60)
    token = before.sign({"sub": "7", "exp": int(time.time()) + 30})
    after = SigningKeys(f"{new},{old}", tmp_path / "unused", 60)
    assert after.verify(token)["sub"] == "7"
    assert jwt.decode(after.sign({"sub": "8", "exp": int(time.time()) + 30}), new, algorithms=["HS256"])["sub"] == "8"
    assert not (tmp_path / "unused").exists()
    with pytest.raises(ValueError, match="rotate"):
        after.rotate()
    with pytest.raises(ValueError, match="shorter"):
        SigningKeys("short", tmp_path / "unused", 60)
