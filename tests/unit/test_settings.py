"""Settings: CLI flags beat DOMOLITE_* variables, which beat defaults; every setting is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from domolite.auth.bootstrap import check_shared_keys
from domolite.cli import _settings, main
from domolite.settings import Settings
from domolite.storage import duck
from domolite.storage.s3 import LakeBucket

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_flags_beat_environment_which_beats_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().port == 8000 and Settings().host == "127.0.0.1"
    assert Settings().data_dir == Path("./domolite-data")
    monkeypatch.setenv("DOMOLITE_PORT", "9001")
    monkeypatch.setenv("DOMOLITE_DATA_DIR", "/srv/domolite")
    assert _settings(port=None).port == 9001
    assert _settings(port=9002).port == 9002
    assert _settings(data_dir=None).data_dir == Path("/srv/domolite")


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    for name in Settings.model_fields:
        assert f"DOMOLITE_{name.upper()}" in text, f"docs/configuration.md does not describe {name}"


def test_the_lake_url_is_an_s3_url() -> None:
    assert Settings().lake_url is None and not Settings().lake_in_s3
    assert Settings(lake_url="s3://acme-lake/prod/").lake_url == "s3://acme-lake/prod"
    for wrong in ("/var/lib/lake", "https://acme-lake/prod", "s3:///prod"):
        with pytest.raises(ValidationError, match="lake_url must be s3://bucket/prefix"):
            Settings(lake_url=wrong)


def test_processes_sharing_a_lake_in_s3_and_a_postgresql_catalog_are_given_their_keys() -> None:
    shared = {"lake_url": "s3://acme-lake/prod", "catalog_url": "postgresql+psycopg://u@db/domolite"}
    with pytest.raises(ValueError, match="set DOMOLITE_SIGNING_KEYS and DOMOLITE_ACCOUNT_KEY"):
        check_shared_keys(Settings(**shared))
    with pytest.raises(ValueError, match="set DOMOLITE_ACCOUNT_KEY to the same value"):
        check_shared_keys(Settings(**shared, signing_keys="k" * 32))
    check_shared_keys(Settings(**shared, signing_keys="k" * 32, account_key="a" * 44))
    check_shared_keys(Settings(lake_url="s3://acme-lake/prod"))  # the embedded catalog: one machine, one data dir


def test_serve_refuses_to_start_on_a_shared_lake_without_keys(tmp_path: Path) -> None:
    env = {"DOMOLITE_LAKE_URL": "s3://acme-lake/prod", "DOMOLITE_CATALOG_URL": "postgresql+psycopg://u@db/x"}
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "data")], env=env)
    assert result.exit_code == 1
    assert "share no data dir: set DOMOLITE_SIGNING_KEYS and DOMOLITE_ACCOUNT_KEY" in result.output
    assert not (tmp_path / "data").exists()


def test_duckdb_gets_a_secret_scoped_to_the_lake_bucket(tmp_path: Path) -> None:
    bucket = LakeBucket("s3://acme-lake/prod", "eu-west-3", "http://127.0.0.1:9000", True, "AKIAKEY", "its-secret")
    con = duck.connect(["httpfs"], tmp_path, threads=1, memory_limit="256MB")
    try:
        con.execute(bucket.duckdb_secret_sql("lake_bucket"))
        ((scope, text),) = con.execute("SELECT scope, secret_string FROM duckdb_secrets()").fetchall()
    finally:
        con.close()
    assert scope == ["s3://acme-lake/prod"]
    fields = dict(part.split("=", 1) for part in text.split(";"))
    assert fields["endpoint"] == "127.0.0.1:9000" and fields["use_ssl"] == "false"
    assert fields["url_style"] == "path" and fields["region"] == "eu-west-3" and fields["key_id"] == "AKIAKEY"
    assert bucket.url_of("lake") == "s3://acme-lake/prod/lake" and bucket.key("staging", "x") == "prod/staging/x"


def test_backup_and_restore_refuse_a_lake_in_s3(tmp_path: Path) -> None:
    env = {"DOMOLITE_LAKE_URL": "s3://acme-lake/prod"}
    for args in (["backup", str(tmp_path / "b")], ["restore", str(tmp_path)]):
        result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path / "data")], env=env)
        assert result.exit_code != 0
        assert "the lake is in S3 (DOMOLITE_LAKE_URL): back up its bucket" in result.output
