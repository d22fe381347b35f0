"""A wheel of the project, installed into a fresh environment, gives a working `domolite serve` with only the
server's dependencies (no test tools)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.serverproc import ADMIN_PASSWORD, free_port

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"


def test_the_wheel_installs_a_working_domolite_serve(tmp_path: Path) -> None:
    assert UV.exists(), "./dev installs uv into .tools/ first"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([str(UV), "build", "--wheel", "--out-dir", str(tmp_path / "dist"), "-q", str(ROOT)],
                   check=True, env=env, cwd=ROOT)  # fmt: skip
    wheel = next((tmp_path / "dist").glob("domolite-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "-q", "--python", "python3", str(venv)], check=True, env=env)
    subprocess.run([str(UV), "pip", "install", "-q", str(wheel)], check=True, env={**env, "VIRTUAL_ENV": str(venv)})
    python = venv / "bin" / "python"
    for tool in ("pytest", "moto", "pydomo", "playwright"):
        found = subprocess.run([str(python), "-c", f"import {tool}"], capture_output=True)
        assert found.returncode != 0, f"{tool} is a test tool, not a server dependency"
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(venv / "bin" / "domolite"), "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
        stdout=log, stderr=log, env={**os.environ, "DOMOLITE_ADMIN_PASSWORD": ADMIN_PASSWORD}, cwd=tmp_path,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert httpx.get(url + "/ready").json()["status"] == "ready"
        assert httpx.get(url + "/docs/assets/swagger-ui-bundle.js").status_code == 200
        assert "developer token" in (tmp_path / "serve.log").read_text()
        users = subprocess.run([str(venv / "bin" / "domolite"), "users", "--help"], capture_output=True, text=True)
        assert users.returncode == 0 and "create" in users.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
