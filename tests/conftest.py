"""Shared fixtures: a real `domolite serve` process for the session, on each catalog backend in turn (the
embedded SQLite catalog, then a PostgreSQL one), and the PostgreSQL server itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pg import Postgres, running_postgres
from tests.serverproc import Server

# The tiers (run one with `./dev test -m NAME`): each test file is in exactly one. Every file not named here is
# in the tier of its folder: tests/unit/ is `unit`, tests/e2e/ `api`, tests/export/ `export`, tests/postgres/
# `postgres`, tests/web/ `browser`, tests/client/ (the user CLI) `clients`. Files in tests/ itself are `unit`
# unless named.
TIER_OF_FILE = {
    "test_internal_errors.py": "api",
    "test_lifespan.py": "api",
    "test_migrations.py": "postgres",
    "test_pydomo.py": "clients",
    "test_domolibrary.py": "clients",
    "test_crash.py": "crash",
    "test_stopping.py": "crash",
    "test_concurrency.py": "crash",
    "test_load.py": "crash",
    "test_processes.py": "crash",
}
TIER_OF_FOLDER = {
    "unit": "unit",
    "e2e": "api",
    "export": "export",
    "postgres": "postgres",
    "web": "browser",
    "client": "clients",
    "tests": "unit",
}
SERVER_FOLDERS = {"e2e", "export", "postgres", "web", "client"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        tier = TIER_OF_FILE.get(path.name) or TIER_OF_FOLDER[path.parent.name]
        item.add_marker(tier)
        if tier == "unit":
            item.add_marker(pytest.mark.filterwarnings("error"))  # the unit tier treats every warning as an error
        if path.parent.name in SERVER_FOLDERS:
            item.add_marker("e2e")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    with running_postgres(tmp_path_factory.mktemp("pg")) as pg:
        yield pg


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {}
    if request.param == "postgresql":
        env["DOMOLITE_CATALOG_URL"] = request.getfixturevalue("postgres").new_database()
    srv = Server(data_dir=tmp_path_factory.mktemp("server") / "data", env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def api(server: Server) -> Iterator[httpx.Client]:
    """HTTP client authenticated as the bootstrap admin (OAuth bearer token)."""
    with server.client() as client:
        yield client
