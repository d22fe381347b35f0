"""A 500 reveals nothing internal: the body is Domo's, with a toe to find the traceback in the log."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from domolite.app import create_app
from domolite.settings import Settings
from tests.helpers import assert_domo_error


def test_an_unexpected_exception_is_a_bare_500(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: /etc/shadow password=hunter2")

    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_domo_error(client.get("/boom"), 500, "An internal error occurred")
    assert "secret" not in body["message"] and "hunter2" not in body["message"]
