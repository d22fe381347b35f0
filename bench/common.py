"""Shared benchmark plumbing: a real server process, its peak memory, and the DuckDB baseline connection."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx

from bench.gen_csv import SCHEMA

SQL_TYPES = {
    "STRING": "VARCHAR",
    "LONG": "BIGINT",
    "DOUBLE": "DOUBLE",
    "DECIMAL": "DECIMAL(18,2)",  # the benchmark's values have 2 decimals: DuckDB's fastest exact reading of them
    "DATE": "DATE",
    "DATETIME": "TIMESTAMP",
}


@dataclass
class LiveServer:
    url: str
    token: str
    proc: subprocess.Popen[bytes]

    def peak_rss_mib(self) -> float:
        """VmHWM of the server process: its peak resident memory so far."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-DOMO-Developer-Token": self.token}, timeout=600)


@contextmanager
def live_server(workdir: Path, port: int | None = None) -> Iterator[LiveServer]:
    """A fresh server on `port` (default: a free one, so that benchmarks running at once never meet)."""
    if port is None:
        from tests.serverproc import free_port

        port = free_port()
    data = workdir / "server-data"
    shutil.rmtree(data, ignore_errors=True)
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "domolite",
            "serve",
            "--data-dir",
            str(data),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "DOMOLITE_ADMIN_PASSWORD": "bench"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(url + "/ping", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        text = (workdir / "server.log").read_text()
        token = re.search(r"developer token\s+(\S+)", text)
        assert token, text
        yield LiveServer(url=url, token=token.group(1), proc=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def schema_json() -> dict[str, object]:
    return {"columns": [{"type": t, "name": n} for n, t in SCHEMA]}


def duckdb_columns() -> str:
    return "{" + ", ".join(f"'{n}': '{SQL_TYPES[t]}'" for n, t in SCHEMA) + "}"


def baseline_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def workdir() -> Path:
    root = Path(os.environ.get("DOMOLITE_BENCH_DIR", tempfile.gettempdir())) / "domolite-bench"
    root.mkdir(parents=True, exist_ok=True)
    return root
