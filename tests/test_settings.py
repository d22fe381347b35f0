"""Settings: CLI flags beat DOMOLITE_* variables, which beat defaults; every setting is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from domolite.cli import _settings
from domolite.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


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
