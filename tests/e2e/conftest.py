"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.pg import Postgres
from tests.serverproc import Server


@pytest.fixture()
def server_postgres(server: Server, request: pytest.FixtureRequest) -> Postgres | None:
    """The PostgreSQL server of the shared server's catalog when it runs on PostgreSQL; None on SQLite."""
    return request.getfixturevalue("postgres") if "DOMOLITE_CATALOG_URL" in server.env else None
