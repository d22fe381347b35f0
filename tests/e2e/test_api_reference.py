"""The API reference: /openapi.json declares every operation's body, answers, tags and auth, the declared answers
are what the server sends, and Swagger UI at /docs renders from this server alone (a real Chromium, offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from playwright.sync_api import Request, sync_playwright

from tests.browser import launch_chromium
from tests.serverproc import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server (the spec does not depend on the catalog backend)."""
    srv = Server(data_dir=tmp_path_factory.mktemp("reference") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def spec_of(server: Server) -> dict[str, Any]:
    return dict(httpx.get(server.url + "/openapi.json").json())


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, methods in spec["paths"].items() for method, op in methods.items()]


def test_every_post_put_and_patch_declares_its_request_body(server: Server) -> None:
    ops = operations(spec_of(server))
    writes = [(p, m, o) for p, m, o in ops if m in ("post", "put", "patch")]
    assert len(writes) >= 40
    for path, method, operation in writes:
        body = operation.get("requestBody")
        assert body and body["content"], f"{method.upper()} {path} declares no request body"
        for media in body["content"].values():
            assert media.get("schema"), (method, path)


def test_every_operation_has_tags_auth_a_success_status_and_a_response(server: Server) -> None:
    spec = spec_of(server)
    ops = operations(spec)
    assert len(ops) >= 100
    for path, method, operation in ops:
        assert operation["tags"] and operation["security"], (method, path)
        success = [s for s in operation["responses"] if s.startswith("2")]
        assert len(success) == 1, (method, path, success)
        if success[0] != "204":
            assert operation["responses"][success[0]].get("content"), (method, path)
    assert spec["paths"]["/v1/datasets"]["post"]["responses"].keys() >= {"201", "400", "401", "403"}
    assert spec["paths"]["/v1/datasets/{dataset_id}"]["delete"]["responses"].keys() >= {"204", "404"}
    assert spec["paths"]["/health"]["get"]["security"] == [{}]
    assert spec["paths"]["/v1/streams"]["post"]["tags"] == ["Stream API"]


def check(spec: dict[str, Any], response: httpx.Response, method: str, path: str) -> None:
    """The response's body validates against the schema the spec declares for its status."""
    declared = spec["paths"][path][method]["responses"][str(response.status_code)]
    schema = declared["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), {**schema, "components": spec["components"]})


def test_the_declared_answers_are_what_the_server_sends(server: Server, api: httpx.Client) -> None:
    spec = spec_of(server)
    columns = [{"type": "STRING", "name": "city"}, {"type": "LONG", "name": "n"}]
    created = api.post("/v1/datasets", json={"name": "ref", "schema": {"columns": columns}})
    check(spec, created, "post", "/v1/datasets")
    ds = created.json()["id"]
    assert api.put(f"/v1/datasets/{ds}/data", content="Oslo,1\n", headers={"Content-Type": "text/csv"}).is_success
    check(spec, api.get("/v1/datasets", params={"limit": 5}), "get", "/v1/datasets")
    check(spec, api.get(f"/v1/datasets/{ds}"), "get", "/v1/datasets/{dataset_id}")
    query = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table"})
    check(spec, query, "post", "/v1/datasets/query/execute/{dataset_id}")
    stream = api.post("/v1/streams", json={"dataSet": {"name": "ref-s", "schema": {"columns": columns}},
                                           "updateMethod": "APPEND"})  # fmt: skip
    check(spec, stream, "post", "/v1/streams")
    sid = stream.json()["id"]
    execution = api.post(f"/v1/streams/{sid}/executions")
    check(spec, execution, "post", "/v1/streams/{stream_id}/executions")
    eid = execution.json()["id"]
    part = api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content="Lima,2\n",
                   headers={"Content-Type": "text/csv"})  # fmt: skip
    check(spec, part, "put", "/v1/streams/{stream_id}/executions/{execution_id}/part/{part_no}")
    check(spec, api.put(f"/v1/streams/{sid}/executions/{eid}/commit"), "put",
          "/v1/streams/{stream_id}/executions/{execution_id}/commit")  # fmt: skip
    check(spec, api.get("/v1/users", params={"limit": 5}), "get", "/v1/users")
    check(spec, api.get("/v1/groups", params={"limit": 5}), "get", "/v1/groups")
    versions = api.get(f"/api/data/v3/datasources/{ds}/dataversions/details")
    check(spec, versions, "get", "/api/data/v3/datasources/{dataset_id}/dataversions/details")
    token = httpx.post(server.url + "/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(server.client_id, server.client_secret))  # fmt: skip
    check(spec, token, "post", "/oauth/token")
    try:
        check(spec, httpx.Response(200, json={"id": "x"}), "get", "/v1/datasets/{dataset_id}")
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a DataSet without its fields must not validate")


def test_docs_render_offline_in_chromium(server: Server, tmp_path: Path) -> None:
    outside: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2000})

            def seen(request: Request) -> None:
                if not request.url.startswith((server.url, "data:", "blob:")):
                    outside.append(request.url)

            page.on("request", seen)
            assets = []
            page.on("response", lambda r: assets.append((r.url, r.status)))
            page.goto(server.url + "/docs")
            page.wait_for_selector(".opblock", timeout=60_000)
            blocks = page.locator(".opblock").count()
            title = page.locator(".information-container .title").inner_text()
            page.locator(".opblock-summary-path", has_text="/v1/datasets/query/execute/{dataset_id}").first.click()
            page.wait_for_selector("text=QueryIn", timeout=30_000)
            shot = tmp_path / "docs.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert outside == [], f"the page asked for things outside the server: {outside}"
    assert blocks >= 100 and title.startswith("domolite")
    loaded = {url.removeprefix(server.url): status for url, status in assets}
    assert loaded["/docs/assets/swagger-ui-bundle.js"] == 200 and loaded["/docs/assets/swagger-ui.css"] == 200
    assert loaded["/openapi.json"] == 200
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
