"""Every error is Domo's body {status, statusReason, message, toe}; 401s carry WWW-Authenticate."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.helpers import assert_domo_error, make_dataset, stream_of
from tests.serverproc import Server


def test_unknown_route_is_404(api: httpx.Client) -> None:
    assert_domo_error(api.get("/v1/nothing-here"), 404, "No such endpoint: GET /v1/nothing-here")


def test_wrong_method_is_405(api: httpx.Client) -> None:
    assert_domo_error(api.patch("/v1/datasets"), 405, "Method PATCH is not allowed on /v1/datasets")


def test_trailing_slash_is_served_not_redirected(api: httpx.Client) -> None:
    plain = api.get("/v1/datasets", params={"limit": 1})
    slashed = api.get("/v1/datasets/", params={"limit": 1})
    assert plain.status_code == slashed.status_code == 200
    assert plain.json() == slashed.json()


def test_bad_json_is_400(api: httpx.Client) -> None:
    r = api.post("/v1/datasets", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_domo_error(r, 400, "not valid JSON")


def test_a_request_wrong_in_body_and_path_is_told_of_its_body_first(api: httpx.Client) -> None:
    """The body is read before the path's and query's values are checked (docs/choices.md): a request wrong in
    both gets the body's 400; with a good body, the path's; with both good, the stream is looked up."""
    bad_json = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
    assert_domo_error(api.patch("/v1/streams/x", **bad_json), 400, "not valid JSON")
    good = {"json": {"updateMethod": "APPEND"}}
    assert_domo_error(api.patch("/v1/streams/x", **good), 400, "stream_id: Input should be a valid integer")
    assert_domo_error(api.patch("/v1/streams/999999", **bad_json), 400, "not valid JSON")
    assert_domo_error(api.patch("/v1/streams/999999", **good), 404, "Stream 999999 not found")


def test_missing_field_is_400_naming_it(api: httpx.Client) -> None:
    assert_domo_error(api.post("/v1/datasets", json={"name": "x"}), 400, "schema: Field required")


def test_unknown_column_type_is_400_naming_the_column(api: httpx.Client) -> None:
    r = api.post("/v1/datasets", json={"name": "x", "schema": {"columns": [{"type": "BLOB", "name": "a"}]}})
    assert_domo_error(r, 400, "schema.columns[0].type", "BLOB")


def test_an_item_of_a_list_is_named_by_its_index(api: httpx.Client) -> None:
    r = api.post(
        "/v1/datasets", json={"name": "x", "schema": {"columns": [{"type": "LONG", "name": "a"}, {"type": 1}]}}
    )
    assert_domo_error(r, 400, "schema.columns[1].")
    assert ".1." not in r.json()["message"]


def test_duplicate_column_names_are_400(api: httpx.Client) -> None:
    cols = [{"type": "LONG", "name": "a"}, {"type": "STRING", "name": "A"}]
    assert_domo_error(api.post("/v1/datasets", json={"name": "x", "schema": {"columns": cols}}), 400, "duplicate")


def test_missing_token_is_401_with_www_authenticate(server: Server) -> None:
    r = httpx.get(server.url + "/v1/datasets")
    assert_domo_error(r, 401, "authentication is required")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_forged_token_is_401(server: Server) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "1", "exp": 9999999999}).encode()).rstrip(b"=").decode()
    r = httpx.get(server.url + "/v1/datasets", headers={"Authorization": f"Bearer {header}.{payload}.bad"})
    body = assert_domo_error(r, 401, "not valid")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "Traceback" not in body["message"]


def test_bad_developer_token_is_401(server: Server) -> None:
    r = httpx.get(server.url + "/v1/datasets", headers={"X-DOMO-Developer-Token": "DDCI0000000000000000nope"})
    assert_domo_error(r, 401, "developer token is not valid")


@pytest.mark.parametrize("route", ["/v1/datasets/query/execute/{}", "/api/query/v1/execute/{}"])
def test_a_query_is_told_of_its_caller_before_its_body(server: Server, api: httpx.Client, route: str) -> None:
    """Both SQL query routes authenticate on the worker thread that runs the query, after the body was read: a
    request without a valid token is still a 401 whatever its body, and with one, the body's 400 or 413."""
    ds = make_dataset(api, [("n", "LONG")], "caller first", csv="1\n2\n3\n")
    url = server.url + route.format(ds["id"])
    json_type = {"Content-Type": "application/json"}
    bad_json, too_big = b"{not json", b'{"sql": "' + b"x" * (16 * 2**20) + b'"}'
    no_sql = b'{"query": "SELECT 1"}'
    forged = {**json_type, "X-DOMO-Developer-Token": "DDCI0000000000000000nope"}
    for body in (bad_json, too_big, no_sql):
        assert_domo_error(httpx.post(url, content=body, headers=json_type), 401, "authentication is required")
        assert_domo_error(httpx.post(url, content=body, headers=forged), 401, "developer token is not valid")
    assert_domo_error(api.post(url, content=bad_json, headers=json_type), 400, "not valid JSON")
    assert_domo_error(api.post(url, content=too_big, headers=json_type), 413, "larger than")
    assert_domo_error(api.post(url, content=no_sql, headers=json_type), 400, "sql: Field required")
    got = api.post(url, json={"sql": "SELECT n FROM table ORDER BY n DESC"})
    assert got.status_code == 200, got.text
    assert got.json()["rows"] == [[3], [2], [1]]


def test_bad_client_credentials_are_401(server: Server) -> None:
    r = httpx.post(server.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x"))
    assert_domo_error(r, 401, "Bad credentials")


def test_unknown_dataset_is_404(api: httpx.Client) -> None:
    assert_domo_error(api.get("/v1/datasets/00000000-0000-0000-0000-000000000000"), 404, "DataSet 00000000")


def test_unknown_stream_and_execution_are_404(api: httpx.Client) -> None:
    assert_domo_error(api.get("/v1/streams/999999"), 404, "Stream 999999 not found")
    ds = make_dataset(api, [("a", "LONG")])
    sid = stream_of(api, ds["id"])
    assert_domo_error(api.get(f"/v1/streams/{sid}/executions/999999"), 404, "Execution 999999")


def test_committing_twice_is_409(api: httpx.Client) -> None:
    ds = make_dataset(api, [("a", "LONG")])
    sid = stream_of(api, ds["id"])
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    api.put(f"/v1/streams/{sid}/executions/{eid}/part/0", content=b"1\n")
    assert api.put(f"/v1/streams/{sid}/executions/{eid}/commit").status_code == 200
    assert_domo_error(api.put(f"/v1/streams/{sid}/executions/{eid}/commit"), 409, "is SUCCESS, not ACTIVE")
    assert_domo_error(api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=b"2\n"), 409, "not ACTIVE")


def test_bad_import_is_400_naming_line_and_column(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG"), ("d", "DATE")])
    r = api.put(f"/v1/datasets/{ds['id']}/data", content=b"1,2024-01-01\n2,2024-13-45\n")
    assert_domo_error(r, 400, "line 2, column 'd'", "'2024-13-45'")
    r = api.put(f"/v1/datasets/{ds['id']}/data", content=b"1,2024-01-01\n2\n")
    assert_domo_error(r, 400, "line 2: expected 2 columns, found 1")


def test_declared_gzip_that_is_not_gzip_is_400(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG")])
    r = api.put(f"/v1/datasets/{ds['id']}/data", content=b"1\n2\n", headers={"Content-Encoding": "gzip"})
    assert_domo_error(r, 400, "not gzip")


def test_bad_sql_is_400(api: httpx.Client) -> None:
    ds = make_dataset(api, [("n", "LONG")])
    url = f"/v1/datasets/query/execute/{ds['id']}"
    assert_domo_error(api.post(url, json={"sql": "SELEC nonsense"}), 400)
    assert_domo_error(api.post(url, json={"sql": "SELECT missing FROM table"}), 400, "missing")
    assert_domo_error(api.post(url, json={"sql": "DELETE FROM table"}), 400, "DELETE is not allowed")
    assert_domo_error(
        api.post(url, json={"sql": "SELECT * FROM table JOIN other ON true"}), 400, "unknown table 'other'"
    )
    assert_domo_error(api.post(url, json={"sql": "SELECT 1; SELECT 2"}), 400, "one statement")
