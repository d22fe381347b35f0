"""Fixtures of the end-to-end tests (and the export tests' S3 server, for the API reference's export)."""

from __future__ import annotations

import pytest

from tests.export.conftest import bucket, s3, s3_url  # noqa: F401
from tests.pg import Postgres
from tests.serverproc import Server


@pytest.fixture()
def server_postgres(server: Server, request: pytest.FixtureRequest) -> Postgres | None:
    """The PostgreSQL server of the shared server's catalog when it runs on PostgreSQL; None on SQLite."""
    return request.getfixturevalue("postgres") if "DOMOLITE_CATALOG_URL" in server.env else None
