"""What an operator runs against: /health, /ready (catalog and lake reachable), Prometheus /metrics, and JSON logs
with the user, route, status, duration and toe of each request."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers import metric
from tests.pg import Postgres
from tests.serverproc import Server


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path_factory.mktemp("ops") / "data", env={"DOMOLITE_LOG_FORMAT": "json"}).start()
    yield srv
    srv.stop()


def test_health_and_ready_answer_without_credentials(json_server: Server) -> None:
    health = httpx.get(json_server.url + "/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = httpx.get(json_server.url + "/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"catalog": "ok", "lake": "ok"}}


def test_metrics_count_requests_by_route_commits_and_rows(json_server: Server) -> None:
    with json_server.client() as api:
        before = httpx.get(json_server.url + "/metrics").text
        columns = [{"type": "STRING", "name": "city"}, {"type": "LONG", "name": "n"}]
        ds = api.post("/v1/datasets", json={"name": "m", "schema": {"columns": columns}}).json()["id"]
        for body in ("Oslo,1\nLima,2\nRome,3\n", "Kyiv,4\n"):
            r = api.put(f"/v1/datasets/{ds}/data", content=body, headers={"Content-Type": "text/csv"})
            assert r.status_code == 204, r.text
        assert api.get(f"/v1/datasets/{ds}").status_code == 200
        assert api.get("/v1/datasets/no-such-id").status_code == 404
    response = httpx.get(json_server.url + "/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    route = "/v1/datasets/{dataset_id}/data"
    requests = "domolite_http_requests_total"
    assert metric(after, requests, method="PUT", route=route, status="204") == 2 + metric(
        before, requests, method="PUT", route=route, status="204"
    )
    assert metric(after, requests, method="GET", route="/v1/datasets/{dataset_id}", status="404") >= 1
    assert metric(after, "domolite_http_request_duration_seconds_count", method="PUT", route=route) >= 2
    assert metric(after, "domolite_commits_total") == metric(before, "domolite_commits_total") + 2
    assert metric(after, "domolite_rows_ingested_total") == metric(before, "domolite_rows_ingested_total") + 4
    for family in ("domolite_exports_total", "domolite_scheduler_runs_total"):
        assert f"# TYPE {family} counter" in after
    assert "/v1/datasets/" + ds not in after, "series are by route template, never by path"


def test_json_logs_name_user_route_status_duration_and_toe(json_server: Server) -> None:
    with json_server.client() as api:
        me = api.get("/v1/users", params={"limit": 1}).json()[0]["id"]
        r = api.get("/v1/datasets/also-missing")
    assert r.status_code == 404
    toe = r.headers["x-domo-toe"]
    deadline = time.monotonic() + 10
    while toe not in json_server.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    records = [json.loads(line) for line in json_server.log_text().splitlines() if line.startswith("{")]
    access = next(rec for rec in records if rec.get("toe") == toe)
    assert access["route"] == "/v1/datasets/{dataset_id}" and access["path"] == "/v1/datasets/also-missing"
    assert access["status"] == 404 and access["method"] == "GET"
    assert access["user"] == me and isinstance(access["duration_ms"], float)
    assert access["logger"] == "domolite.access" and access["level"] == "INFO" and "time" in access
    anonymous = next(rec for rec in records if rec.get("route") == "/health")
    assert anonymous["user"] is None


def test_ready_is_503_while_the_catalog_is_unreachable(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.new_database()
    database = url.split("/")[3].split("?")[0]
    srv = Server(data_dir=tmp_path / "data", env={"DOMOLITE_CATALOG_URL": url}).start()
    admin = f"host={postgres.socket_dir} user=postgres dbname=postgres"

    def allow(yes: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(yes).lower()}')  # type: ignore[arg-type]
            if not yes:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [database])

    try:
        assert httpx.get(srv.url + "/ready").status_code == 200
        allow(False)
        down = httpx.get(srv.url + "/ready", timeout=30)
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable" and down.json()["checks"]["catalog"] != "ok"
        assert httpx.get(srv.url + "/health").status_code == 200, "alive, if not ready"
        allow(True)
        deadline = time.monotonic() + 20
        while httpx.get(srv.url + "/ready", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, httpx.get(srv.url + "/ready", timeout=30).text
            time.sleep(0.5)
    finally:
        allow(True)
        srv.stop()
