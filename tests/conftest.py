"""Shared fixtures: a real `domolite serve` process for the session, on each catalog backend in turn (the
embedded SQLite catalog, then a PostgreSQL one), and the PostgreSQL server itself."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.pg import Postgres, running_postgres
from tests.serverproc import Server


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
