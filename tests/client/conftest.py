"""The user CLI against a real server: `domolite` run as a process, its config and cache dirs private."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serverproc import Server


@dataclass
class Cli:
    server: Server
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOMOLITE_")}
        env.update(
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            DOMOLITE_SERVER=self.server.url,
            DOMOLITE_TOKEN=self.server.dev_token,
            COLUMNS="100",
        )
        env.update(extra)
        return {k: v for k, v in env.items() if v != ""}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "domolite", *args]

    def run(self, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env(**env), timeout=300)
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path_factory.mktemp("cli") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture()
def cli(cli_server: Server, tmp_path: Path) -> Cli:
    return Cli(cli_server, tmp_path)
