"""Shared fixtures: one real `domolite serve` process per test session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.serverproc import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path_factory.mktemp("server") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def api(server: Server) -> Iterator[httpx.Client]:
    """HTTP client authenticated as the bootstrap admin (OAuth bearer token)."""
    with server.client() as client:
        yield client
