"""Shared fixtures: a real `domolite serve` process for the session, on each catalog backend in turn (the
embedded SQLite catalog, then a PostgreSQL one), and the PostgreSQL server itself."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _pytest.mark.expression import Expression

from tests.helpers import close_kept_clients
from tests.pg import Postgres, running_postgres
from tests.serverproc import Server

# The tiers (run one with `./dev test -m NAME`): a test file is in the tier of its folder.
TIER_OF_FOLDER = {
    "unit": "unit",
    "app": "api",
    "e2e": "api",
    "client": "clients",
    "export": "export",
    "crash": "crash",
    "postgres": "postgres",
    "web": "browser",
}
SERVER_FOLDERS = {"e2e", "client", "export", "crash", "postgres", "web"}


def marks_of_file(path: Path) -> set[str]:
    """The markers every test of the file at `path` gets: its tier, and `e2e` when it drives a server."""
    marks = {TIER_OF_FOLDER[path.parent.name]}
    if path.parent.name in SERVER_FOLDERS:
        marks.add("e2e")
    return marks


TIER_MARKS = set(TIER_OF_FOLDER.values()) | {"e2e"}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With `-m` naming only tiers (`-m unit`, `-m "api or clients"`), a test file of another tier is not even
    imported: the unit tier then starts without loading the browser, fuzzing and client libraries."""
    expression = config.option.markexpr
    if not expression:
        return None
    names = set(re.findall(r"[\w:+\-.\[\]\\/]+", expression)) - {"and", "or", "not"}  # the markers it names
    if not names <= TIER_MARKS:
        return None  # a marker a test may set itself: collect and let -m decide
    if collection_path.is_dir() and collection_path.name in TIER_OF_FOLDER:
        files = list(collection_path.glob("test_*.py"))  # a folder none of whose files is wanted: not even its conftest
    elif collection_path.name.startswith("test_") and collection_path.suffix == ".py":
        files = [collection_path]
    else:
        return None
    wanted = Expression.compile(expression)
    return None if any(wanted.evaluate(lambda name, f=f, **_: name in marks_of_file(f)) for f in files) else True


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (what `./dev test` passes): a worker per core, but none for the unit tier alone, which runs
    faster in one process than it takes to start and feed two."""
    if config.option.markexpr.strip() == "unit":
        return 0
    return os.cpu_count() or 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for mark in marks_of_file(Path(item.path)):
            item.add_marker(mark)


@pytest.fixture(scope="module", autouse=True)
def _clients_closed_with_their_module() -> Iterator[None]:
    yield
    close_kept_clients()


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
