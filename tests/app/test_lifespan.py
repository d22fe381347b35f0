"""The process's own threads (the heartbeat, the scheduler) start when the app is served and stop with it:
building the app with `create_app` starts none."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from domolite.app import create_app
from domolite.settings import Settings
from tests.helpers import until

OURS = ("liveness", "scheduler", "export", "connector")


def ours() -> set[str]:
    return {t.name for t in threading.enumerate() if t.is_alive() and t.name.startswith(OURS)}


def test_threads_start_with_the_served_app_and_stop_with_it(tmp_path: Path) -> None:
    assert ours() == set()
    app = create_app(Settings(data_dir=tmp_path / "data"))
    assert ours() == set(), "create_app started threads"
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert {"liveness", "scheduler"} <= ours()
    until(lambda: ours() == set(), 20, "the threads ending with the app")
