"""Each recipe of docs/clients.md, run as written against a real server: pydomo, domolibrary and DuckDB in a
Python process each, domo-sdk in Node.js with the npm package (installed here when Node.js and npm are there)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverproc import Server

DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
ROWS = 3


def recipes() -> dict[str, tuple[str, str]]:
    """name -> (language, code) for each `<!-- recipe: name -->` block."""
    found = re.findall(r"<!-- recipe: (\S+) -->\n```(\w+)\n(.*?)```", DOC.read_text(), re.DOTALL)
    return {name: (language, code) for name, language, code in found}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    srv = Server(data_dir=tmp_path_factory.mktemp("recipes") / "data").start()
    try:
        with srv.client() as api:
            columns = [{"type": "STRING", "name": "city"}, {"type": "LONG", "name": "n"}]
            ds = api.post("/v1/datasets", json={"name": "recipes", "schema": {"columns": columns}}).json()["id"]
            r = api.put(
                f"/v1/datasets/{ds}/data", content="Oslo,1\nLima,2\nRome,3\n", headers={"Content-Type": "text/csv"}
            )
            assert r.status_code == 204, r.text
        env = {
            **os.environ,
            "DOMOLITE_HOST": srv.host,
            "DOMOLITE_CLIENT_ID": srv.client_id,
            "DOMOLITE_CLIENT_SECRET": srv.client_secret,
            "DOMOLITE_TOKEN": srv.dev_token,
            "DOMOLITE_DATASET_ID": ds,
            "DOMOLITE_DATA_DIR": str(srv.data_dir),
        }
        yield srv, env
    finally:
        srv.stop()


def test_the_doc_has_the_four_recipes() -> None:
    assert set(recipes()) == {"pydomo", "domo-sdk", "domolibrary", "duckdb"}


@pytest.mark.parametrize("name", ["pydomo", "domolibrary", "duckdb"])
def test_python_recipe(served: tuple[Server, dict[str, str]], tmp_path: Path, name: str) -> None:
    _srv, env = served
    language, code = recipes()[name]
    assert language == "python"
    script = tmp_path / f"recipe_{name.replace('-', '_')}.py"  # not named like the module it imports
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"{name} rows: {ROWS}" in done.stdout, done.stdout + done.stderr


def test_domo_sdk_recipe_in_node(served: tuple[Server, dict[str, str]], tmp_path: Path) -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("Node.js and npm are not installed: the domo-sdk recipe needs them")
    _srv, env = served
    language, code = recipes()["domo-sdk"]
    assert language == "js"
    installed = subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "domo-sdk@2.0.1"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    (tmp_path / "recipe.js").write_text(code)
    done = subprocess.run([node, "recipe.js"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"domo-sdk rows: {ROWS}" in done.stdout, done.stdout + done.stderr
