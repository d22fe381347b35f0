"""The account key file and the box: one key for processes that start together, private, and a wrong key is a
domain error, never cryptography's."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from domolite.auth.secretbox import SecretBox, load_or_create_key, open_box
from domolite.errors import SecretUnreadable


def _key_of(path: str) -> str:
    return load_or_create_key(Path(path))


def test_processes_starting_together_end_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "data" / "account.key"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        keys = pool.map(_key_of, [str(path)] * 32)
    assert len(set(keys)) == 1
    assert keys[0] == path.read_text().strip()
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["account.key"]  # no temporary file left behind
    SecretBox(keys[0])  # a valid Fernet key


def test_the_configured_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    key = SecretBox.new_key()
    box = open_box(key, tmp_path / "account.key")
    assert not (tmp_path / "account.key").exists()
    assert SecretBox(key).decrypt(box.encrypt(b"x")) == b"x"


def test_round_trip_and_a_wrong_key(tmp_path: Path) -> None:
    box = open_box(None, tmp_path / "account.key")
    token = box.encrypt_json({"secretKey": "s3cr3t"})
    assert "s3cr3t" not in token
    assert open_box(None, tmp_path / "account.key").decrypt_json(token) == {"secretKey": "s3cr3t"}
    with pytest.raises(SecretUnreadable, match="account key"):
        SecretBox(SecretBox.new_key()).decrypt_json(token)
    with pytest.raises(SecretUnreadable):
        box.decrypt(token[:-4] + "AAAA")  # tampered


def test_a_key_that_is_not_a_fernet_key_stops_the_server(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a Fernet key"):
        open_box("too-short", tmp_path / "account.key")
    (tmp_path / "account.key").write_text("garbage\n")
    with pytest.raises(ValueError, match="account.key does not hold a Fernet key"):
        open_box(None, tmp_path / "account.key")
