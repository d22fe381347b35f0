"""`domolite backup DIR` while the server runs and takes commits, then a wiped data dir (and, on PostgreSQL, a
wiped database), `domolite restore DIR`, and a server on it: the same rows, data versions, users and tokens. On
each catalog: the embedded SQLite one, and PostgreSQL (dumped with its own pg_dump, found on PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.pg import Postgres
from tests.serverproc import Server

COLUMNS = [{"type": "STRING", "name": "city"}, {"type": "LONG", "name": "n"}]


def admin(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "domolite", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def state_of(api: httpx.Client, ds: str) -> dict[str, object]:
    rows = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT city, n FROM table ORDER BY n"})
    versions = api.get(f"/api/data/v3/datasources/{ds}/dataversions/details").json()
    users = api.get("/v1/users", params={"limit": 500}).json()
    return {
        "rows": rows.json()["rows"],
        "versions": [(v["dataVersionId"], v["updateMethod"], v["numRows"], v["rowCount"]) for v in versions],
        "users": sorted((u["id"], u["email"], u["role"]) for u in users),
        "v1": api.get(f"/v1/datasets/{ds}/data", params={"dataVersion": 1 + versions[-1]["dataVersionId"]}).text,
    }


@pytest.mark.parametrize("catalog", ["sqlite", "postgresql"])
def test_backup_while_running_then_wipe_and_restore_gives_the_same_state(
    catalog: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    env: dict[str, str] = {}
    postgres: Postgres | None = None
    if catalog == "postgresql":
        postgres = request.getfixturevalue("postgres")
        env = {"DOMOLITE_CATALOG_URL": postgres.new_database(), "PATH": f"{postgres.bin_dir}:{os.environ['PATH']}"}
    srv = Server(data_dir=data, env=env).start()
    try:
        user = srv.cli("users", "create", "--email", "kept@example.com", "--name", "Kept", "--json")
        assert '"id"' in user
        token = srv.cli("tokens", "create", "--user", "kept@example.com", "--json").split('"token": "')[1].split('"')[0]
        with srv.client() as api:
            ds = api.post("/v1/datasets", json={"name": "kept", "schema": {"columns": COLUMNS}}).json()["id"]
            sid = api.post("/v1/streams", json={"dataSet": {"name": "busy", "schema": {"columns": COLUMNS}},
                                                "updateMethod": "APPEND"}).json()["id"]  # fmt: skip
            for n, method in ((1, "REPLACE"), (2, "APPEND"), (3, "APPEND")):
                body = "".join(f"c{n},{n * 100 + i}\n" for i in range(50))
                r = api.put(f"/v1/datasets/{ds}/data", params={"updateMethod": method}, content=body,
                            headers={"Content-Type": "text/csv"})  # fmt: skip
                assert r.status_code == 204, r.text
            rule = {"column": "city", "values": ["c1"], "operator": "EQUALS"}
            policy = {"name": "p", "type": "user", "users": [], "filters": [rule]}
            assert api.post(f"/v1/datasets/{ds}/policies", json=policy).is_success
            before = state_of(api, ds)
            stop = threading.Event()
            commits: list[int] = []

            def keep_committing() -> None:  # another DataSet takes commits all through the backup
                with srv.client() as busy:
                    while not stop.is_set():
                        opened = busy.post(f"/v1/streams/{sid}/executions")
                        if opened.status_code != 200:  # a bounded wait for the lake that ran out: a 503
                            assert opened.status_code == 503, opened.text
                            continue
                        eid = opened.json()["id"]
                        busy.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content="x,1\n",
                                 headers={"Content-Type": "text/csv"})  # fmt: skip
                        if busy.put(f"/v1/streams/{sid}/executions/{eid}/commit").status_code == 200:
                            commits.append(eid)

            writer = threading.Thread(target=keep_committing)
            writer.start()
            try:
                made = admin(data, "backup", str(tmp_path / "backup"), "--json", env=env)
            finally:
                stop.set()
                writer.join(timeout=120)
            assert made.returncode == 0, made.stderr
            assert commits, "commits went on while the backup ran"
            busy_ds = api.get(f"/v1/streams/{sid}").json()["dataSet"]["id"]
        srv.stop()
        assert oct((tmp_path / "backup" / "signing.keys").stat().st_mode)[-3:] == "600"
        again = admin(data, "backup", str(tmp_path / "backup"), env=env)
        assert again.returncode == 2 and "not empty" in again.stderr

        shutil.rmtree(data)  # the wipe
        if postgres is not None:
            postgres.wipe(env["DOMOLITE_CATALOG_URL"])
        restored = admin(data, "restore", str(tmp_path / "backup"), env=env)
        assert restored.returncode == 0, restored.stderr
        refused = admin(data, "restore", str(tmp_path / "backup"), env=env)
        assert refused.returncode == 2
        assert ("not empty" if postgres else "already holds") in refused.stderr, refused.stderr

        srv.start()
        with srv.client() as api:
            assert state_of(api, ds) == before
            busy = api.post(f"/v1/datasets/query/execute/{busy_ds}", json={"sql": "SELECT COUNT(*) FROM table"})
            count = busy.json()["rows"][0][0]
            versions = api.get(f"/api/data/v3/datasources/{busy_ds}/dataversions/details").json()
            assert versions[0]["rowCount"] == count, "the catalog and the lake were copied at one moment"
            assert "p" in [p["name"] for p in api.get(f"/v1/datasets/{ds}/policies").json()]
        kept = httpx.get(srv.url + "/v1/users", params={"limit": 5}, headers={"X-DOMO-Developer-Token": token})
        assert kept.status_code == 200, "a developer token made before the backup still works"
        assert httpx.post(srv.url + "/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(srv.client_id, srv.client_secret)).status_code == 200  # fmt: skip
    finally:
        srv.stop()
