"""A real `domolite serve` process for tests: started on a free loopback port, with the bootstrap credentials."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ADMIN_PASSWORD = "admin-password-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    client_id: str = ""
    client_secret: str = ""
    dev_token: str = ""
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def catalog_url(self) -> str:
        """The server's catalog: the PostgreSQL URL it was given, or its embedded SQLite file."""
        return self.env.get("DOMOLITE_CATALOG_URL") or f"sqlite:///{self.data_dir.resolve() / 'catalog.sqlite'}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Server:
        chosen = not self.port  # a port picked here may be taken by another process before the server binds it
        self.port = self.port or free_port()
        env = {**os.environ, "DOMOLITE_ADMIN_PASSWORD": ADMIN_PASSWORD, **self.env}
        self.log_path = self.log_path or self.data_dir.parent / f"{self.data_dir.name}-server.log"
        deadline = time.monotonic() + timeout
        while True:
            logged = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._launch(env)
            if self._wait_until_serving(deadline):
                break
            taken = b"address already in use" in self.log_path.read_bytes()[logged:]
            if not (chosen and taken and time.monotonic() < deadline):
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            self.port = free_port()
        text = self.log_path.read_text()
        if not self.client_id:
            self.client_id = re.search(r"client id\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            self.client_secret = re.search(r"client secret\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            self.dev_token = re.search(r"developer token\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        return self

    def _launch(self, env: dict[str, str]) -> None:
        assert self.log_path is not None
        with self.log_path.open("ab") as log:  # the server writes to its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "domolite", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)],
                stdout=log,
                stderr=log,
                env=env,
            )

    def _wait_until_serving(self, deadline: float) -> bool:
        """Wait until this process answers on its port (True) or exits (False). An answer counts only once the
        port's listening socket is this process's own: another server may hold the port this one failed to bind."""
        assert self.proc is not None and self.log_path is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._holds_port():
                try:
                    httpx.get(self.url + "/health-probe", timeout=5)  # a starved machine may answer slowly
                    return True
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        self.kill9()  # leave no process behind
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()}")

    def _holds_port(self) -> bool:
        assert self.proc is not None
        try:
            sockets = psutil.Process(self.proc.pid).net_connections(kind="tcp")
        except psutil.Error:
            return False
        return any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in sockets)

    def sibling(self) -> Server:
        """Another server process on this one's data dir and catalog (with its bootstrap credentials); not started."""
        return Server(
            data_dir=self.data_dir,
            env=dict(self.env),
            client_id=self.client_id,
            client_secret=self.client_secret,
            dev_token=self.dev_token,
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def token(self) -> str:
        """An OAuth access token for the bootstrap client."""
        r = httpx.post(
            self.url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client carrying a bearer token (the bootstrap client's unless given)."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"bearer {token or self.token()}"}, timeout=120
        )

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "domolite", *args, "--data-dir", str(self.data_dir)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},  # the same catalog as the server's
        )
        return out.stdout
