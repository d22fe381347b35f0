"""The API reference: /openapi.json declares every operation's body, answer, description, tags and auth, the
declared answers are what the server sends, and Swagger UI at /docs renders from this server alone (a real
Chromium, offline).

The answers are checked by driving the server through each API's flows: every operation that answers with a body
is called and its answer checked against the schema it declares (JSON) or its media type (CSV, Prometheus text).
The public API's flow checks the operations tagged with Domo's public DataSet, Stream, user and OAuth APIs; the
other flow checks all the others (the instance API, groups, accounts, the activity log, Export to S3 against a
local S3, and the operator's endpoints). Each fails if an operation of its half is left out; none is. The
operations that answer 204 have no body to check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from playwright.sync_api import Request, sync_playwright

from tests.browser import launch_chromium
from tests.e2e.people import make_person, share
from tests.export.conftest import KEYS, body
from tests.helpers import wait_export
from tests.serverproc import ADMIN_PASSWORD, Server

ADMIN_EMAIL = "admin@domolite.local"
WRITEBACK = "amazon-s3-unload-writeback"
# The tags of the operations the public API's flow checks (the other flow checks the rest).
PUBLIC_TAGS = {"OAuth", "DataSet API", "DataSet API: query", "DataSet API: PDP policies", "Stream API", "Users"}


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


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[httpx.Client]:
    """The bootstrap admin by developer token (every scope: accounts and the audit log too)."""
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}, timeout=60) as c:
        yield c


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


def vague_objects(spec: dict[str, Any], schema: Any, where: str = "", seen: set[str] | None = None) -> list[str]:
    """Where `schema` (and what it refers to) says "an object" and nothing of its members: no properties, no
    type for additional ones, not even that it is empty."""
    seen = set() if seen is None else seen
    if isinstance(schema, list):
        return [v for i, s in enumerate(schema) for v in vague_objects(spec, s, f"{where}[{i}]", seen)]
    if not isinstance(schema, dict):
        return []
    found = []
    if "$ref" in schema and schema["$ref"] not in seen:
        seen.add(schema["$ref"])
        name = schema["$ref"].rsplit("/", 1)[1]
        found += vague_objects(spec, spec["components"]["schemas"][name], name, seen)
    kinds = schema.get("type", [])
    if "object" in (kinds if isinstance(kinds, list) else [kinds]):
        if not ({"properties", "additionalProperties", "maxProperties"} & schema.keys()):
            found.append(where or "the answer")
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            found += [v for k, s in value.items() for v in vague_objects(spec, s, f"{where}.{k}", seen)]
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
            found += vague_objects(spec, value, f"{where}.{key}", seen)
    return found


def test_every_operation_has_a_description_tags_auth_a_success_status_and_its_answer(server: Server) -> None:
    spec = spec_of(server)
    ops = operations(spec)
    assert len(ops) >= 100
    for path, method, operation in ops:
        assert operation["tags"] and operation["security"], (method, path)
        assert operation.get("description", "").strip(), f"{method.upper()} {path} has no description"
        success = [s for s in operation["responses"] if s.startswith("2")]
        assert len(success) == 1, (method, path, success)
        if success[0] != "204":
            content = operation["responses"][success[0]].get("content")
            assert content, (method, path)
            for media, declared in content.items():
                assert declared.get("schema"), f"{method.upper()} {path} answers {media} without a schema"
                vague = vague_objects(spec, declared["schema"])
                assert not vague, f"{method.upper()} {path} answers objects of nothing in particular: {vague}"
    for schema in spec["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)  # each component is a well-formed JSON schema
    assert spec["paths"]["/v1/datasets"]["post"]["responses"].keys() >= {"201", "400", "401", "403"}
    assert spec["paths"]["/v1/datasets/{dataset_id}"]["delete"]["responses"].keys() >= {"204", "404"}
    assert spec["paths"]["/health"]["get"]["security"] == [{}]
    assert spec["paths"]["/v1/streams"]["post"]["tags"] == ["Stream API"]


def success_of(operation: dict[str, Any]) -> str:
    return str(next(status for status in operation["responses"] if status.startswith("2")))


def check(spec: dict[str, Any], response: httpx.Response, method: str, path: str) -> None:
    """The response's body validates against the schema the spec declares for its status."""
    declared = spec["paths"][path][method]["responses"][str(response.status_code)]
    schema = declared["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), {**schema, "components": spec["components"]})


class Answers:
    """Checks answers against the spec: each one has the operation's success status and validates against the
    schema declared for it. Remembers the operations it checked."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.checked: set[tuple[str, str]] = set()

    def check(self, response: httpx.Response, method: str, path: str) -> Any:
        """The answer's body, once checked."""
        ok = success_of(self.spec["paths"][path][method])
        assert str(response.status_code) == ok, f"{method.upper()} {path}: {response.status_code} {response.text}"
        check(self.spec, response, method, path)
        self.checked.add((method, path))
        return response.json()

    def check_text(self, response: httpx.Response, method: str, path: str) -> str:
        """The text of an answer that is not JSON (CSV, Prometheus), once its status and media type are the ones
        declared, with a string schema."""
        ok = success_of(self.spec["paths"][path][method])
        assert str(response.status_code) == ok, f"{method.upper()} {path}: {response.status_code} {response.text}"
        responses = self.spec["paths"][path][method]["responses"]
        media = response.headers["content-type"].split(";")[0].strip()
        declared = {m.split(";")[0].strip(): c for m, c in responses[ok]["content"].items()}
        assert list(declared) == [media], f"{method.upper()} {path} answers {media}, declares {list(declared)}"
        assert declared[media]["schema"]["type"] == "string"
        self.checked.add((method, path))
        return response.text

    def answering(self) -> set[tuple[str, str]]:
        """The operations that answer with a body (their success status is not 204)."""
        return {(method, path) for path, method, op in operations(self.spec) if success_of(op) != "204"}


def test_the_public_api_answers_what_it_declares(server: Server, api: httpx.Client) -> None:
    a = Answers(spec_of(server))
    client = (server.client_id, server.client_secret)
    token = httpx.post(server.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=client)
    assert a.check(token, "post", "/oauth/token")["token_type"] == "bearer"
    by_query = httpx.get(server.url + "/oauth/token", params={"grant_type": "client_credentials", "scope": "data"},
                         auth=client)  # fmt: skip
    assert a.check(by_query, "get", "/oauth/token")["scope"] == "data"

    columns = [{"type": "STRING", "name": "city"}, {"type": "LONG", "name": "n"}]
    created = a.check(api.post("/v1/datasets", json={"name": "ref", "schema": {"columns": columns}}),
                      "post", "/v1/datasets")  # fmt: skip
    ds = created["id"]
    assert api.put(f"/v1/datasets/{ds}/data", content="Oslo,1\n", headers={"Content-Type": "text/csv"}).is_success
    assert ds in [d["id"] for d in a.check(api.get("/v1/datasets", params={"limit": 50}), "get", "/v1/datasets")]
    assert a.check(api.get(f"/v1/datasets/{ds}"), "get", "/v1/datasets/{dataset_id}")["rows"] == 1
    renamed = api.put(f"/v1/datasets/{ds}", json={"name": "ref renamed", "description": "checked"})
    assert a.check(renamed, "put", "/v1/datasets/{dataset_id}")["description"] == "checked"
    csv = api.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "true"})
    assert a.check_text(csv, "get", "/v1/datasets/{dataset_id}/data") == "city,n\nOslo,1\n"
    query = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT * FROM table"})
    assert a.check(query, "post", "/v1/datasets/query/execute/{dataset_id}")["rows"] == [["Oslo", 1]]

    stream = a.check(api.post("/v1/streams", json={"dataSet": {"name": "ref-s", "schema": {"columns": columns}},
                                                   "updateMethod": "APPEND"}), "post", "/v1/streams")  # fmt: skip
    sid, stream_ds = stream["id"], stream["dataSet"]["id"]
    assert sid in [s["id"] for s in a.check(api.get("/v1/streams", params={"limit": 500}), "get", "/v1/streams")]
    found = api.get("/v1/streams/search", params={"q": f"dataSource.id:{stream_ds}"})
    assert [s["id"] for s in a.check(found, "get", "/v1/streams/search")] == [sid]
    assert a.check(api.get(f"/v1/streams/{sid}"), "get", "/v1/streams/{stream_id}")["dataSet"]["id"] == stream_ds
    keyed = api.patch(f"/v1/streams/{sid}", json={"updateMethod": "UPSERT", "keyColumnNames": ["city"]})
    assert a.check(keyed, "patch", "/v1/streams/{stream_id}")["keyColumnNames"] == ["city"]
    executions = "/v1/streams/{stream_id}/executions"
    execution = a.check(api.post(f"/v1/streams/{sid}/executions"), "post", executions)
    eid = execution["id"]
    part = api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content="Lima,2\n",
                   headers={"Content-Type": "text/csv"})  # fmt: skip
    assert a.check(part, "put", executions + "/{execution_id}/part/{part_no}")["currentState"] == "ACTIVE"
    committed = a.check(api.put(f"/v1/streams/{sid}/executions/{eid}/commit"), "put",
                        executions + "/{execution_id}/commit")  # fmt: skip
    assert committed["currentState"] == "SUCCESS"
    second = a.check(api.post(f"/v1/streams/{sid}/executions"), "post", executions)["id"]
    aborted = api.put(f"/v1/streams/{sid}/executions/{second}/abort")
    assert a.check(aborted, "put", executions + "/{execution_id}/abort")["currentState"] == "ABORTED"
    assert a.check(api.get(f"/v1/streams/{sid}/executions/{eid}"), "get", executions + "/{execution_id}")["id"] == eid
    assert {e["id"] for e in a.check(api.get(f"/v1/streams/{sid}/executions"), "get", executions)} == {eid, second}

    email = f"reference-{uuid.uuid4().hex[:8]}@example.com"
    user = a.check(api.post("/v1/users", json={"name": "Reference", "email": email, "role": "Participant"}),
                   "post", "/v1/users")  # fmt: skip
    uid = user["id"]
    assert uid in [u["id"] for u in a.check(api.get("/v1/users", params={"limit": 500}), "get", "/v1/users")]
    assert a.check(api.get(f"/v1/users/{uid}"), "get", "/v1/users/{user_id}")["email"] == email
    assert a.check(api.put(f"/v1/users/{uid}", json={"role": "Privileged"}), "put", "/v1/users/{user_id}")["role"] == (
        "Privileged"
    )

    policies = "/v1/datasets/{dataset_id}/policies"
    rule = {"name": "Oslo", "filters": [{"column": "city", "values": ["Oslo"], "operator": "EQUALS"}], "users": [uid]}
    policy = a.check(api.post(f"/v1/datasets/{ds}/policies", json=rule), "post", policies)
    assert {p["type"] for p in a.check(api.get(f"/v1/datasets/{ds}/policies"), "get", policies)} == {"open", "user"}
    got = a.check(api.get(f"/v1/datasets/{ds}/policies/{policy['id']}"), "get", policies + "/{policy_id}")
    assert got["users"] == [uid]
    widened = api.put(f"/v1/datasets/{ds}/policies/{policy['id']}", json={"filters": [
        {"column": "city", "values": ["Oslo", "Lima"], "operator": "EQUALS", "not": True}]})  # fmt: skip
    assert a.check(widened, "put", policies + "/{policy_id}")["filters"][0]["not"] is True

    tags = {(m, p): op["tags"][0] for p, m, op in operations(a.spec)}
    left = {op for op in a.answering() - a.checked if tags[op] in PUBLIC_TAGS}
    assert left == set(), f"answers never checked against the server: {sorted(left)}"
    with pytest.raises(jsonschema.ValidationError):  # a DataSet without its fields
        check(a.spec, httpx.Response(200, json={"id": "x"}), "get", "/v1/datasets/{dataset_id}")


# -- the instance API, accounts, the activity log and the operator's endpoints ---------------------------------

DS = "/api/data/v3/datasources/{dataset_id}"
QUERY_DS = "/api/query/v1/datasources/{dataset_id}"
UPLOADS = DS + "/uploads"
PDP = "/api/query/v1/data-control/{dataset_id}"
ACCOUNTS = "/api/data/v1/accounts"
STREAMS = "/api/data/v1/streams"
# A connector stream as domolibrary creates one (its provider has no connector here, so a run ends in ERROR).
CONNECTOR_STREAM: dict[str, Any] = {
    "transport": {"type": "CONNECTOR", "description": "com.domo.connector.snowflakeunloadv2", "version": "1"},
    "configuration": [{"name": "query", "value": "SELECT * FROM table", "type": "string", "category": "METADATA"}],
    "updateMethod": "APPEND",
    "dataProvider": {"key": "snowflake-unload-v2"},
    "dataSource": {"name": "reference connector", "description": "config works?"},
    "advancedScheduleJson": '{"type": "MANUAL", "timezone": "UTC"}',
}


def account_configuration(s3_url: str) -> dict[str, str]:
    return {
        "domoClientId": "reference-client",
        "domoClientSecret": f"domo-secret-{uuid.uuid4().hex}",
        "accessKey": KEYS["awsAccessKey"],
        "secretKey": KEYS["awsAccessSecret"],
        "bucket": "reference-bucket",
        "region": "us-east-1",
        "endpointUrl": s3_url,
    }


def drive_sessions(a: Answers, server: Server) -> None:
    path = "/api/content/v2/authentication"
    login = {"method": "password", "emailAddress": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    session = a.check(httpx.post(server.url + path, json=login), "post", path)
    assert session["success"] is True
    refused = a.check(httpx.post(server.url + path, json={**login, "password": "wrong"}), "post", path)
    assert refused == {"success": False, "reason": "INVALID_CREDENTIALS"}
    me = httpx.get(server.url + "/api/content/v2/users/me", headers={"X-DOMO-Authentication": session["sessionToken"]})
    assert a.check(me, "get", "/api/content/v2/users/me")["emailAddress"] == ADMIN_EMAIL


def drive_datasources(a: Answers, admin: httpx.Client) -> str:
    """A DataSet made, described, loaded (a plain upload, a one-row upload and a partition), queried, indexed
    and searched; returns its id."""
    name = f"reference {uuid.uuid4().hex[:8]}"
    columns = [{"type": "STRING", "name": "city"}, {"type": "LONG", "name": "n"}]
    body = {"userDefinedType": "api", "dataSourceName": name, "schema": {"columns": columns}}
    created = a.check(admin.post("/api/data/v2/datasources", json=body), "post", "/api/data/v2/datasources")
    ds = str(created["dataSource"]["dataSourceId"])
    ds_path = DS.replace("{dataset_id}", ds)
    query_path = QUERY_DS.replace("{dataset_id}", ds)
    assert a.check(admin.get(ds_path, params={"part": "core,permission"}), "get", DS)["name"] == name

    opened = a.check(admin.post(f"{ds_path}/uploads", json={"action": None, "appendId": None}), "post", UPLOADS)
    part = admin.put(f"{ds_path}/uploads/{opened['uploadId']}/parts/1", content=b"Oslo,1\nLima,2\n",
                     headers={"Content-Type": "text/csv"})  # fmt: skip
    assert a.check(part, "put", UPLOADS + "/{upload_id}/parts/{part_no}")["parts"] == 1
    commit = admin.put(f"{ds_path}/uploads/{opened['uploadId']}/commit", json={"index": True, "action": "APPEND"})
    assert a.check(commit, "put", UPLOADS + "/{upload_id}/commit")["numRows"] == 2
    one_row = {"action": "APPEND", "appendId": "latest", "values": "Quito,3"}
    assert a.check(admin.post(f"{ds_path}/uploads", json=one_row), "post", UPLOADS)["status"] == "SUCCESS"
    for tag in ("keep", "drop"):
        tagged = a.check(admin.post(f"{ds_path}/uploads", params={"dataTag": tag}, json={"appendId": "latest"}),
                         "post", UPLOADS)  # fmt: skip
        admin.put(f"{ds_path}/uploads/{tagged['uploadId']}/parts/1", content=f"{tag},9\n".encode())
        done = admin.put(f"{ds_path}/uploads/{tagged['uploadId']}/commit",
                         json={"action": "APPEND", "dataTag": tag, "appendId": "latest"})  # fmt: skip
        assert a.check(done, "put", UPLOADS + "/{upload_id}/commit")["dataTag"] == tag

    sql = admin.post(f"/api/query/v1/execute/{ds}", json={"sql": "SELECT city, n, n * 1.5 AS x FROM table"})
    assert a.check(sql, "post", "/api/query/v1/execute/{dataset_id}")["numRows"] == 5
    assert len(a.check(admin.get(f"{ds_path}/dataversions/details"), "get", DS + "/dataversions/details")) == 4
    hydrate = {"id": "", "type": "LoadFromVault", "dataSourceId": ds,
               "versionWindow": {"type": "EXPRESSION", "expression": "1=1"}}  # fmt: skip
    hydrated = admin.post("/api/dataprocessing/v2/dataflows/data-version-hydrate", json=hydrate)
    assert len(a.check(hydrated, "post", "/api/dataprocessing/v2/dataflows/data-version-hydrate")) == 4

    partitions = a.check(admin.get(f"{query_path}/partition"), "get", QUERY_DS + "/partition")
    assert sorted(p["partitionId"] for p in partitions) == ["drop", "keep"]
    listed = admin.post(f"{query_path}/partition/list", json={"paginationFields": [
        {"fieldName": "datecompleted", "sortOrder": "DESC"}], "limit": 100, "offset": 0})  # fmt: skip
    assert [p["partitionId"] for p in a.check(listed, "post", QUERY_DS + "/partition/list")] == ["drop", "keep"]
    emptied = a.check(admin.delete(f"{query_path}/tag/drop/data"), "delete", QUERY_DS + "/tag/{tag}/data")
    assert emptied["partitionId"] == "drop"
    removed = a.check(admin.delete(f"{query_path}/partition/drop"), "delete", QUERY_DS + "/partition/{tag}")
    assert removed["removed"] is True

    index = a.check(admin.post(f"{ds_path}/indexes", json={"dataIds": []}), "post", DS + "/indexes")
    status = admin.get(f"{ds_path}/indexes/{index['indexId']}/statuses")
    assert a.check(status, "get", DS + "/indexes/{index_id}/statuses")["indexId"] == index["indexId"]
    assert a.check(admin.post(query_path), "post", QUERY_DS)["status"] == "SUCCESS"

    indexed = a.check(admin.get(f"{query_path}/schema/indexed"), "get", QUERY_DS + "/schema/indexed")
    assert [c["name"] for c in indexed["tables"][0]["columns"]] == ["city", "n"]
    wider = {"columns": [*columns, {"type": "DOUBLE", "name": "x", "visible": False}]}
    altered = admin.post(f"/api/data/v2/datasources/{ds}/schemas", json=wider)
    assert isinstance(a.check(altered, "post", "/api/data/v2/datasources/{dataset_id}/schemas")["schemaId"], int)
    tags = admin.post(f"/api/data/ui/v3/datasources/{ds}/tags", json=["reference", "checked"])
    assert a.check(tags, "post", "/api/data/ui/v3/datasources/{dataset_id}/tags")["tags"] == ["reference", "checked"]
    properties = admin.put(f"{ds_path}/properties", json={"dataProviderType": "domo-jupyterdata", "note": "kept"})
    assert a.check(properties, "put", DS + "/properties")["properties"]["note"] == "kept"
    cards = admin.get(f"/api/content/v1/datasources/{ds}/cards", params={"drill": "true"})
    assert a.check(cards, "get", "/api/content/v1/datasources/{dataset_id}/cards") == []

    csv = admin.get(f"/api/data/v2/datasources/{ds}/dataversions/latest", params={"includeHeader": "true"})
    assert a.check_text(csv, "get", "/api/data/v2/datasources/{dataset_id}/dataversions/latest").startswith("city,n,x")

    search = {"entities": ["DATASET"], "filters": [{"field": "name_sort", "filterType": "wildcard", "query": name}],
              "combineResults": False, "query": "*", "count": 10, "offset": 0}  # fmt: skip
    found = a.check(admin.post("/api/search/v1/query", json=search), "post", "/api/search/v1/query")
    assert [o["databaseId"] for o in found["searchObjects"]] == [ds]
    return ds


def drive_groups_sharing_and_pdp(a: Answers, server: Server, api: httpx.Client, admin: httpx.Client, ds: str) -> None:
    reader, other = make_person(server, api, name="reader"), make_person(server, api, name="other")
    group = a.check(admin.post("/v1/groups", json={"name": f"readers {uuid.uuid4().hex[:6]}", "users": [reader.id]}),
                    "post", "/v1/groups")  # fmt: skip
    gid = group["id"]
    a.check(admin.get("/v1/groups", params={"limit": 500}), "get", "/v1/groups")
    a.check(admin.put(f"/v1/groups/{gid}", json={"description": "they read"}), "put", "/v1/groups/{group_id}")
    assert a.check(admin.get(f"/v1/groups/{gid}"), "get", "/v1/groups/{group_id}")["memberCount"] == 1
    assert a.check(admin.get(f"/v1/groups/{gid}/users"), "get", "/v1/groups/{group_id}/users") == [reader.id]

    ds_path = DS.replace("{dataset_id}", ds)
    grants = {"permissions": [{"type": "USER", "id": reader.id, "accessLevel": "READ"},
                              {"type": "USER", "id": other.id, "accessLevel": "CAN_EDIT"},
                              {"type": "GROUP", "id": gid, "accessLevel": "READ"}], "sendEmail": False}  # fmt: skip
    assert a.check(admin.post(f"{ds_path}/share", json=grants), "post", DS + "/share") == {}
    listed = a.check(admin.get(f"{ds_path}/permissions"), "get", DS + "/permissions")
    assert (listed["totalUserCount"], listed["totalGroupCount"]) == (3, 1)
    revoked = admin.delete(f"{ds_path}/permissions/USER/{other.id}")
    assert a.check(revoked, "delete", DS + "/permissions/{grantee_type}/{grantee_id}") == {}
    assert share(admin, ds, "USER", other.id, "READ").status_code == 200
    assert a.check(admin.delete(f"{ds_path}/USERS/{other.id}"), "delete", DS + "/USERS/{user_id}") == {}

    pdp_path = PDP.replace("{dataset_id}", ds)
    group_body = {"name": "Oslo only", "dataSourceId": ds, "userIds": [reader.id], "groupIds": [], "virtualUserIds": [],
                  "dataSourcePermissions": False, "parameters": [
                      {"type": "COLUMN", "name": "city", "values": ["Oslo"], "operator": "EQUALS"}]}  # fmt: skip
    made = a.check(admin.post(f"{pdp_path}/filter-groups", json=group_body), "post", PDP + "/filter-groups")
    policy = made["filterGroupId"]
    listed_groups = a.check(admin.get(f"{pdp_path}/filter-groups"), "get", PDP + "/filter-groups")
    assert {(g["name"], g["type"]) for g in listed_groups} == {("All Rows", "open"), ("Oslo only", "user")}
    got = a.check(admin.get(f"{pdp_path}/filter-groups/{policy}"), "get", PDP + "/filter-groups/{policy_id}")
    assert got["parameters"][0]["values"] == ["Oslo"]
    changed = admin.put(f"{pdp_path}/filter-groups/{policy}", json={**group_body, "groupIds": [gid]})
    assert a.check(changed, "put", PDP + "/filter-groups/{policy_id}")["groupIds"] == [gid]
    assert a.check(admin.put(pdp_path, json={"enabled": True, "external": False}), "put", PDP)["enabled"] is True
    assert a.check(admin.get(pdp_path), "get", PDP)["enabled"] is True
    filtered = a.check(reader.http.get(f"{ds_path}/dataversions/details"), "get", DS + "/dataversions/details")
    assert filtered and {(v["numRows"], v["rowCount"]) for v in filtered} == {(None, None)}  # PDP hides the counts
    dropped = admin.delete(f"{pdp_path}/filter-groups/{policy}")
    assert a.check(dropped, "delete", PDP + "/filter-groups/{policy_id}") == {}

    everyone = [{"id": str(reader.id), "type": "USER"}, {"id": gid, "type": "GROUP"}]
    assert a.check(admin.request("DELETE", f"{ds_path}/users", json=everyone), "delete", DS + "/users") == {}
    assert reader.http.get(f"/v1/datasets/{ds}").status_code == 403


def drive_tokens_accounts_and_audit(a: Answers, admin: httpx.Client, s3_url: str) -> int:
    """Developer tokens, an account in both forms and the activity log; returns the account's id."""
    tokens = "/api/data/v1/accesstokens"
    made = a.check(admin.post(tokens, json={"name": "reference token"}), "post", tokens)
    assert made["token"] and made["id"] in [t["id"] for t in a.check(admin.get(tokens), "get", tokens)]

    config = account_configuration(s3_url)
    body = {"displayName": "reference s3", "name": "reference s3", "dataProviderType": WRITEBACK,
            "configurations": config}  # fmt: skip
    account = a.check(admin.post(ACCOUNTS, json=body), "post", ACCOUNTS)
    aid = account["id"]
    assert "secretKey" not in account["configurations"]
    assert aid in [x["id"] for x in a.check(admin.get(ACCOUNTS), "get", ACCOUNTS)]
    assert a.check(admin.get(f"{ACCOUNTS}/{aid}"), "get", ACCOUNTS + "/{account_id}")["displayName"] == "reference s3"
    renamed = admin.patch(f"{ACCOUNTS}/{aid}", json={"displayName": "reference s3 renamed"})
    assert a.check(renamed, "patch", ACCOUNTS + "/{account_id}")["displayName"] == "reference s3 renamed"
    moved = admin.put(f"{ACCOUNTS}/{aid}", json={"configurations": {"bucket": "reference-other"}})
    assert a.check(moved, "put", ACCOUNTS + "/{account_id}")["configurations"]["bucket"] == "reference-other"

    public = {"name": "reference public", "type": {"id": WRITEBACK, "properties": account_configuration(s3_url)}}
    made_public = a.check(admin.post("/v1/accounts", json=public), "post", "/v1/accounts")
    pid = made_public["id"]
    assert pid in [x["id"] for x in a.check(admin.get("/v1/accounts"), "get", "/v1/accounts")]
    assert a.check(admin.get(f"/v1/accounts/{pid}"), "get", "/v1/accounts/{account_id}")["name"] == "reference public"
    valid = admin.patch(f"/v1/accounts/{pid}", json={"name": "reference public 2", "valid": True})
    assert a.check(valid, "patch", "/v1/accounts/{account_id}")["name"] == "reference public 2"

    log = a.check(admin.get("/v1/audit", params={"limit": 1000}), "get", "/v1/audit")
    assert {"CREATED", "SHARED", "UNSHARED", "POLICY_CHANGED"} <= {e["actionType"] for e in log}
    instance = admin.get("/api/audit/v1/user-audits", params={"actionType": "CREATED", "limit": 10})
    assert {e["actionType"] for e in a.check(instance, "get", "/api/audit/v1/user-audits")} == {"CREATED"}
    return int(aid)


def drive_streams(a: Answers, admin: httpx.Client, account: int) -> None:
    """A connector stream naming an account that exists, then (updated) one that does not; its runs."""
    made = a.check(admin.post(STREAMS, json={**CONNECTOR_STREAM, "account": {"id": account}}), "post", STREAMS)
    sid = made["id"]
    assert made["account"]["id"] == account and made["lastExecution"] is None
    assert sid in [s["id"] for s in a.check(admin.get(STREAMS, params={"limit": 500}), "get", STREAMS)]
    updated = admin.put(f"{STREAMS}/{sid}", json={**CONNECTOR_STREAM, "account": {"id": 987654}})
    assert a.check(updated, "put", STREAMS + "/{stream_id}")["account"] == {"id": 987654}
    run = a.check(admin.post(f"{STREAMS}/{sid}/executions", json={"action": "MANUAL"}), "post",
                  STREAMS + "/{stream_id}/executions")  # fmt: skip
    assert run["currentState"] == "ERROR" and run["errors"]
    got = a.check(admin.get(f"{STREAMS}/{sid}"), "get", STREAMS + "/{stream_id}")
    assert got["lastExecution"]["executionId"] == run["executionId"]
    runs = a.check(admin.get(f"{STREAMS}/{sid}/executions"), "get", STREAMS + "/{stream_id}/executions")
    assert [r["executionId"] for r in runs] == [run["executionId"]]
    one = admin.get(f"{STREAMS}/{sid}/executions/{run['executionId']}")
    assert a.check(one, "get", STREAMS + "/{stream_id}/executions/{execution_id}")["streamId"] == sid
    history = a.check(
        admin.get(f"{STREAMS}/{sid}/history/aggregate"), "get", STREAMS + "/{stream_id}/history/aggregate"
    )
    assert [h["currentState"] for h in history] == ["ERROR"]


def drive_export(a: Answers, admin: httpx.Client, s3_url: str, bucket: str, ds: str) -> None:
    export = "/api/query/v1/export/{dataset_id}"
    started = a.check(admin.post(f"/api/query/v1/export/{ds}", json=body(bucket, s3_url)), "post", export)
    done = wait_export(admin, ds, started["exportId"])
    assert done["exportStatus"] == "success", done
    a.check(admin.get(f"/api/query/v1/export/{ds}/{started['exportId']}"), "get", export + "/{export_id}")
    assert [j["exportId"] for j in a.check(admin.get(f"/api/query/v1/export/{ds}"), "get", export)] == [
        done["exportId"]
    ]


def test_the_instance_api_accounts_audit_and_operations_answer_what_they_declare(
    server: Server, api: httpx.Client, admin: httpx.Client, s3_url: str, bucket: str
) -> None:
    a = Answers(spec_of(server))
    drive_sessions(a, server)
    ds = drive_datasources(a, admin)
    drive_groups_sharing_and_pdp(a, server, api, admin, ds)
    account = drive_tokens_accounts_and_audit(a, admin, s3_url)
    drive_streams(a, admin, account)
    drive_export(a, admin, s3_url, bucket, ds)
    assert a.check(httpx.get(server.url + "/health"), "get", "/health") == {"status": "ok"}
    assert a.check(httpx.get(server.url + "/ready"), "get", "/ready")["status"] == "ready"
    gone = admin.delete(DS.replace("{dataset_id}", ds), params={"deleteMethod": "hard"})
    assert a.check(gone, "delete", DS) == {"dataSourceId": ds, "deleted": True}

    assert "# TYPE" in a.check_text(httpx.get(server.url + "/metrics"), "get", "/metrics")

    tags = {(m, p): op["tags"][0] for p, m, op in operations(a.spec)}
    left = {op for op in a.answering() - a.checked if tags[op] not in PUBLIC_TAGS}
    assert left == set(), f"answers never checked against the server: {sorted(left)}"

    # a wrong answer does not validate
    for wrong, method, path in (
        ({**CONNECTOR_STREAM, "id": 1}, "get", STREAMS + "/{stream_id}"),
        ([{"filterGroupId": "1", "name": "x"}], "get", PDP + "/filter-groups"),
        ({"success": True}, "post", "/api/content/v2/authentication"),
    ):
        with pytest.raises(jsonschema.ValidationError):
            check(a.spec, httpx.Response(200, json=wrong), method, path)


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
