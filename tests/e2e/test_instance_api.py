"""The instance product API (/api/...), endpoint by endpoint, each with the documented example request."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.helpers import JSON_HEADERS, assert_domo_error
from tests.serverproc import ADMIN_PASSWORD, Server


@pytest.fixture(scope="module")
def inst(server: Server) -> Iterator[httpx.Client]:
    """The instance API as the bootstrap admin, with the developer token (header name in lower case)."""
    with httpx.Client(base_url=server.url, headers={"x-domo-developer-token": server.dev_token}, timeout=60) as c:
        yield c


def create(inst: httpx.Client, name: str, columns: list[dict[str, str]]) -> str:
    r = inst.post(
        "/api/data/v2/datasources",
        headers=JSON_HEADERS,
        json={"userDefinedType": "api", "dataSourceName": name, "schema": {"columns": columns}},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["dataSource"]["dataSourceId"])


def upload(
    inst: httpx.Client, ds: str, parts: list[str], *, action: str = "APPEND", tag: str | None = None
) -> httpx.Response:
    """The three stages; returns the commit's response."""
    params = {"dataTag": tag} if tag else None
    body = {"action": None, "appendId": "latest" if tag else None}
    opened = inst.post(f"/api/data/v3/datasources/{ds}/uploads", params=params, headers=JSON_HEADERS, json=body)
    assert opened.status_code == 200, opened.text
    upload_id = opened.json()["uploadId"]
    for n, text in enumerate(parts, start=1):
        r = inst.put(
            f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/parts/{n}",
            headers={"Content-Type": "text/csv", "Accept": "application/json"},
            content=text.encode(),
        )
        assert r.status_code == 200, r.text
    commit: dict[str, Any] = {"index": True, "action": action}
    if tag:
        commit.update({"action": "APPEND", "dataTag": tag, "appendId": "latest"})
    return inst.put(f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/commit", headers=JSON_HEADERS, json=commit)


def rows(inst: httpx.Client, ds: str, sql: str = "SELECT * FROM table", **params: Any) -> list[list[Any]]:
    r = inst.post(f"/api/query/v1/execute/{ds}", params=params, headers=JSON_HEADERS, json={"sql": sql})
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def people(inst: httpx.Client, name: str) -> str:
    return create(inst, name, [{"type": "STRING", "name": "Friend"}, {"type": "LONG", "name": "Age"}])


# -- auth ----------------------------------------------------------------------------------------------------


def test_session_login_gives_a_token_that_authenticates(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post(
            "/api/content/v2/authentication",
            headers=JSON_HEADERS,
            json={"method": "password", "emailAddress": "admin@domolite.local", "password": ADMIN_PASSWORD},
        )
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert body["success"] is True and body["sessionToken"]
        me = c.get("/api/content/v2/users/me", headers={"x-domo-authentication": body["sessionToken"]})
        assert me.status_code == 200
        assert me.json()["id"] == body["userId"]
        assert me.json()["emailAddress"] == "admin@domolite.local"


def test_bad_credentials_are_a_200_with_a_reason(server: Server) -> None:
    r = httpx.post(
        server.url + "/api/content/v2/authentication",
        json={"method": "password", "emailAddress": "admin@domolite.local", "password": "wrong"},
    )
    assert r.status_code == 200
    assert r.json() == {"success": False, "reason": "INVALID_CREDENTIALS"}


def test_a_forged_session_token_is_refused(server: Server) -> None:
    r = httpx.get(server.url + "/api/content/v2/users/me", headers={"x-domo-authentication": "not-a-token"})
    assert r.status_code == 401
    assert r.reason_phrase == "Unauthorized"
    assert r.headers["content-type"].startswith("application/json")


def test_developer_token_works_and_both_slash_forms_are_served(inst: httpx.Client) -> None:
    a = inst.get("/api/content/v2/users/me")
    b = inst.get("/api/content/v2/users/me/")
    assert a.status_code == b.status_code == 200
    assert a.json()["id"] == b.json()["id"]


# -- create, metadata, delete --------------------------------------------------------------------------------


def test_create_then_metadata_has_domo_field_types(inst: httpx.Client) -> None:
    # the documented example body, verbatim
    r = inst.post(
        "/api/data/v2/datasources",
        headers=JSON_HEADERS,
        json={
            "userDefinedType": "api",
            "dataSourceName": "hello world",
            "schema": {"columns": [{"type": "STRING", "name": "Friend"}, {"type": "STRING", "name": "Attending"}]},
        },
    )
    assert r.status_code == 200
    ds = r.json()["dataSource"]["dataSourceId"]
    meta = inst.get(f"/api/data/v3/datasources/{ds}", params={"part": "core,permission"})
    assert meta.status_code == 200
    m = meta.json()
    assert m["id"] == ds and m["name"] == "hello world"
    assert m["rowCount"] == 0 and m["columnCount"] == 2
    for key in ("created", "lastTouched", "lastUpdated"):
        assert isinstance(m[key], int) and m[key] > 1_600_000_000_000  # epoch milliseconds
    assert json.loads(m["tags"]) == []
    assert m["owner"]["type"] == "USER" and m["owner"]["name"] == "Admin"
    assert m["permissions"] == "READ_WRITE_DELETE_SHARE_ADMIN"
    assert m["status"] == m["state"] == "SUCCESS"
    assert m["dataProviderType"] == "api"
    stream = inst.get(f"/api/data/v1/streams/{m['streamId']}")
    assert stream.status_code == 200 and stream.json()["dataSource"]["id"] == ds


def test_delete_hard_then_not_found(inst: httpx.Client) -> None:
    ds = people(inst, "to delete")
    r = inst.delete(f"/api/data/v3/datasources/{ds}", params={"deleteMethod": "hard"}, headers=JSON_HEADERS)
    assert r.status_code == 200 and r.json()["deleted"] is True
    gone = inst.get(f"/api/data/v3/datasources/{ds}")
    assert gone.status_code == 404 and gone.reason_phrase == "Not Found"


# -- query ---------------------------------------------------------------------------------------------------


def test_query_returns_columns_and_rows(inst: httpx.Client) -> None:
    ds = people(inst, "query me")
    assert upload(inst, ds, ["Ann,31\nBob,42\n"], action="REPLACE").status_code == 200
    r = inst.post(
        f"/api/query/v1/execute/{ds}",
        headers=JSON_HEADERS,
        json={"sql": "SELECT * FROM your_table WHERE Friend = 'Bob'".replace("your_table", "table")},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["columns"] == ["Friend", "Age"]
    assert body["rows"] == [["Bob", 42]]
    assert body["numRows"] == 1 and body["metadata"][1]["type"] == "LONG"


def test_query_paging_with_the_sqls_own_limit(inst: httpx.Client) -> None:
    ds = create(inst, "paging", [{"type": "LONG", "name": "n"}])
    assert upload(inst, ds, ["\n".join(str(i) for i in range(250)) + "\n"]).status_code == 200
    pages = []
    offset = 0
    while True:  # the client's loop: SQL + ' limit N offset M', until an empty page
        page = rows(inst, ds, f"SELECT n FROM table ORDER BY n limit 100 offset {offset}", offset=offset, limit=100)
        if not page:
            break
        pages.append(page)
        offset += 100
        assert offset < 1000, "paging never ended"
    assert [len(p) for p in pages] == [100, 100, 50]
    assert [r[0] for p in pages for r in p] == list(range(250))
    # SQL that ends in its own LIMIT, followed by the client's page clause
    assert rows(inst, ds, "SELECT n FROM table ORDER BY n LIMIT 1 limit 100 offset 0") == [[0]]
    assert rows(inst, ds, "SELECT n FROM table ORDER BY n LIMIT 1 limit 100 offset 100") == []
    assert rows(inst, ds, "SELECT n FROM table ORDER BY n LIMIT 5 limit 2 offset 2") == [[2], [3]]


def test_query_errors_are_domo_style(inst: httpx.Client) -> None:
    ds = people(inst, "bad sql")
    bad = inst.post(f"/api/query/v1/execute/{ds}", headers=JSON_HEADERS, json={"sql": "SELECT * FROM table WHERE ("})
    assert bad.status_code == 400 and bad.reason_phrase == "Bad Request"
    assert bad.json()["statusReason"] == "Bad Request" and "parse" in bad.json()["message"]
    missing = inst.post("/api/query/v1/execute/no-such-id", headers=JSON_HEADERS, json={"sql": "SELECT 1"})
    assert missing.status_code == 404


# -- schema --------------------------------------------------------------------------------------------------


def test_schema_get_in_domo_shape(inst: httpx.Client) -> None:
    ds = people(inst, "schema get")
    r = inst.get(
        f"/api/query/v1/datasources/{ds}/schema/indexed",
        params={"includeHidden": "false"},
        headers=JSON_HEADERS,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "schema" and body["dataSourceId"] == ds
    cols = body["tables"][0]["columns"]
    assert [(c["name"], c["id"], c["type"], c["visible"]) for c in cols] == [
        ("Friend", "Friend", "STRING", True),
        ("Age", "Age", "LONG", True),
    ]


def test_schema_alter_keeps_the_data(inst: httpx.Client) -> None:
    ds = create(
        inst,
        "schema alter",
        [
            {"type": "STRING", "name": "name"},
            {"type": "STRING", "name": "id"},
            {"type": "STRING", "name": "gone"},
        ],
    )
    assert upload(inst, ds, ["alpha,1,x\nbeta,2,y\n,3,z\n"]).status_code == 200
    before = rows(inst, ds, "SELECT name, id FROM table ORDER BY id")
    # the documented example: retype id to LONG, add alertId, drop gone
    r = inst.post(
        f"/api/data/v2/datasources/{ds}/schemas",
        headers=JSON_HEADERS,
        json={
            "columns": [
                {"name": "name", "id": "name", "type": "STRING", "visible": True, "order": 0},
                {"name": "id", "id": "id", "type": "LONG", "visible": True, "order": 0},
                {"name": "alertId", "id": "alertId", "type": "LONG", "visible": True, "order": 0},
            ],
            "objects": [],
            "views": [],
        },
    )
    assert r.status_code == 200 and isinstance(r.json()["schemaId"], int)
    after = rows(inst, ds, "SELECT name, id, alertId FROM table ORDER BY id")
    assert [[n, str(i)] for n, i, _ in after] == before
    assert [a for _, _, a in after] == [None, None, None]
    assert all(isinstance(i, int) for _, i, _ in after)
    meta = inst.get(f"/api/data/v3/datasources/{ds}").json()
    assert meta["columnCount"] == 3 and meta["rowCount"] == 3
    # a rename: id names the column it was
    r = inst.post(
        f"/api/data/v2/datasources/{ds}/schemas",
        json={"columns": [{"name": "title", "id": "name", "type": "STRING"}, {"name": "id", "type": "LONG"}]},
    )
    assert r.status_code == 200
    assert rows(inst, ds, "SELECT title, id FROM table ORDER BY id") == [["alpha", 1], ["beta", 2], [None, 3]]


def test_schema_retype_the_data_cannot_take_is_a_400_naming_column_and_value(inst: httpx.Client) -> None:
    ds = people(inst, "bad retype")
    assert upload(inst, ds, ["Ann,31\n"]).status_code == 200
    r = inst.post(
        f"/api/data/v2/datasources/{ds}/schemas",
        json={"columns": [{"name": "Friend", "type": "LONG"}, {"name": "Age", "type": "LONG"}]},
    )
    assert r.status_code == 400
    assert "Friend" in r.json()["message"] and "Ann" in r.json()["message"]
    assert rows(inst, ds) == [["Ann", 31]]


# -- uploads and partitions ----------------------------------------------------------------------------------


def test_upload_stage_one_as_documented(inst: httpx.Client) -> None:
    ds = people(inst, "stage one")
    r = inst.post(
        f"/api/data/v3/datasources/{ds}/uploads",
        headers=JSON_HEADERS,
        json={"action": None, "appendId": None},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["dataSourceId"] == ds and body["uploadId"] > 0 and body["requestedAsOf"] > 1_600_000_000_000
    empty = inst.post(f"/api/data/v3/datasources/{ds}/uploads", headers={"Content-Type": "application/json"})
    assert empty.status_code == 200 and empty.json()["uploadId"] != body["uploadId"]


def test_append_replace_gzip_empty_and_parallel_parts(inst: httpx.Client) -> None:
    ds = people(inst, "append replace")
    assert upload(inst, ds, ["Ann,31\n"], action="REPLACE").status_code == 200
    assert upload(inst, ds, ["Bob,42\n", ""], action="APPEND").status_code == 200
    assert sorted(rows(inst, ds)) == [["Ann", 31], ["Bob", 42]]
    # parallel parts, in any order; one gzip, one empty
    opened = inst.post(f"/api/data/v3/datasources/{ds}/uploads", json={"action": None, "appendId": None}).json()
    u = opened["uploadId"]
    bodies = {1: b"Cy,1\n", 2: gzip.compress(b"Di,2\n"), 3: b"", 4: b"Ed,3\n"}

    def send(n: int) -> int:
        return inst.put(
            f"/api/data/v3/datasources/{ds}/uploads/{u}/parts/{n}",
            content=bodies[n],
            headers={"Content-Type": "text/csv"},
        ).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(send, [4, 2, 3, 1])) == [200] * 4
    commit = {"action": "REPLACE", "index": "true"}
    r = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{u}/commit", json=commit)
    assert r.status_code == 200 and r.json()["numRows"] == 3
    assert rows(inst, ds, "SELECT * FROM table ORDER BY Age") == [["Cy", 1], ["Di", 2], ["Ed", 3]]
    again = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{u}/commit", json=commit)
    assert again.status_code == 200 and again.json()["uploadStatus"] == "SUCCESS"
    assert rows(inst, ds, "SELECT * FROM table ORDER BY Age") == [["Cy", 1], ["Di", 2], ["Ed", 3]]  # still 3 rows
    # a second commit that asks for something else is answered as the first one was, and changes nothing
    other = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{u}/commit", json={"action": "APPEND", "dataTag": "zzz"})
    assert other.status_code == 200 and (other.json()["action"], other.json()["dataTag"]) == ("REPLACE", None)
    assert inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={}).json() == []

    tagged = inst.post(f"/api/data/v3/datasources/{ds}/uploads", json={"action": None, "appendId": None}).json()
    t = tagged["uploadId"]
    assert inst.put(f"/api/data/v3/datasources/{ds}/uploads/{t}/parts/1", content=b"Fy,4\n").status_code == 200
    first = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{t}/commit", json={"action": "APPEND", "dataTag": "p9"})
    again = inst.put(f"/api/data/v3/datasources/{ds}/uploads/{t}/commit", json={"action": "REPLACE"})
    assert (again.json()["action"], again.json()["dataTag"]) == (first.json()["action"], first.json()["dataTag"])
    assert first.json()["dataTag"] == "p9"


def test_partition_tag_replaces_only_its_rows(inst: httpx.Client) -> None:
    ds = people(inst, "partitions")
    assert upload(inst, ds, ["Ann,1\nBob,2\n"], tag="2024-01-01").status_code == 200
    assert upload(inst, ds, ["Cy,3\n"], tag="2024-01-02").status_code == 200
    assert upload(inst, ds, ["Bea,10\n"], tag="2024-01-01").status_code == 200  # restates 2024-01-01
    assert sorted(rows(inst, ds)) == [["Bea", 10], ["Cy", 3]]
    # the documented form: ?restateDataTag= at stage 1 and restateDataTag in the commit body
    u = inst.post(
        f"/api/data/v3/datasources/{ds}/uploads/",
        params={"restateDataTag": "2024-01-02"},
        json={"action": None, "appendId": None},
    ).json()["uploadId"]
    inst.put(
        f"/api/data/v3/datasources/{ds}/uploads/{u}/parts/1",
        content=b"Cyd,4\n",
        headers={"Content-Type": "text/csv"},
    )
    r = inst.put(
        f"/api/data/v3/datasources/{ds}/uploads/{u}/commit",
        json={"action": "APPEND", "restateDataTag": "2024-01-02", "index": True},
    )
    assert r.status_code == 200 and r.json()["dataTag"] == "2024-01-02"
    assert sorted(rows(inst, ds)) == [["Bea", 10], ["Cyd", 4]]
    listed = inst.post(
        f"/api/query/v1/datasources/{ds}/partition/list",
        headers=JSON_HEADERS,
        json={
            "paginationFields": [
                {
                    "fieldName": "datecompleted",
                    "sortOrder": "DESC",
                    "filterValues": {"MIN": None, "MAX": None},
                }
            ],
            "limit": 100,
            "offset": 0,
        },
    )
    assert listed.status_code == 200
    entries = listed.json()
    assert [e["partitionId"] for e in entries] == ["2024-01-02", "2024-01-01"]
    assert [e["rowCount"] for e in entries] == [1, 1]
    assert all(isinstance(e["dataId"], int) and e["dateCompleted"].endswith("+00:00") for e in entries)
    page2 = inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={"limit": 1, "offset": 1}).json()
    assert [e["partitionId"] for e in page2] == ["2024-01-02"]  # default order: oldest first
    assert inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={"limit": 100, "offset": 2}).json() == []
    for past_the_years in (253402300800000, 10**20, -(10**20), 1e300, "0001-01-01T00:00:00+05:00"):
        field = {"fieldName": "datecompleted", "filterValues": {"MIN": past_the_years, "MAX": None}}
        r = inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={"paginationFields": [field]})
        assert r.status_code == 400 and "filterValues.MIN" in r.json()["message"], r.text  # was a 500
    plain = inst.get(f"/api/query/v1/datasources/{ds}/partition")
    assert sorted(p["partitionId"] for p in plain.json()) == ["2024-01-01", "2024-01-02"]


def test_a_tag_with_slashes_and_spaces_is_emptied_and_removed_by_its_encoded_name(inst: httpx.Client) -> None:
    ds = people(inst, "slashed partition")
    assert upload(inst, ds, ["Ann,1\n"], tag="2024/01/01").status_code == 200
    assert upload(inst, ds, ["Bob,2\n"], tag="a b/c").status_code == 200
    r = inst.delete(f"/api/query/v1/datasources/{ds}/tag/2024%2F01%2F01/data")
    assert r.status_code == 200 and r.json()["partitionId"] == "2024/01/01" and r.json()["deleted"] is True
    assert rows(inst, ds) == [["Bob", 2]]
    assert inst.delete(f"/api/query/v1/datasources/{ds}/partition/2024%2F01%2F01").status_code == 200
    assert inst.delete(f"/api/query/v1/datasources/{ds}/tag/a%20b%2Fc/data").json()["partitionId"] == "a b/c"
    assert inst.delete(f"/api/query/v1/datasources/{ds}/partition/a%20b%2Fc").json()["partitionId"] == "a b/c"
    assert inst.get(f"/api/query/v1/datasources/{ds}/partition").json() == []


def test_an_ended_upload_is_told_in_upload_words_and_tags_must_agree(inst: httpx.Client) -> None:
    ds = people(inst, "ended upload")
    base = f"/api/data/v3/datasources/{ds}/uploads"
    csv = {"Content-Type": "text/csv"}
    opened = inst.post(base, json={"action": None}, headers=JSON_HEADERS)
    assert opened.status_code == 200, opened.text
    failed = opened.json()["uploadId"]
    assert inst.put(f"{base}/{failed}/parts/1", content=b"Ann,x\n", headers=csv).status_code == 200
    assert inst.put(f"{base}/{failed}/commit", json={"action": "APPEND"}).status_code == 400
    for again in (
        inst.put(f"{base}/{failed}/parts/1", content=b"Ann,1\n", headers=csv),
        inst.put(f"{base}/{failed}/commit", json={"action": "APPEND"}),
    ):
        assert_domo_error(again, 409, f"upload {failed} has ended (ERROR)", "open a new upload")
        assert "stream" not in again.json()["message"] and "Execution" not in again.json()["message"]
    done = inst.post(base, json={"action": None}, headers=JSON_HEADERS).json()["uploadId"]
    assert inst.put(f"{base}/{done}/parts/1", content=b"Ann,1\n", headers=csv).status_code == 200
    assert inst.put(f"{base}/{done}/commit", json={"action": "APPEND"}).status_code == 200
    late = inst.put(f"{base}/{done}/parts/2", content=b"Bob,2\n", headers=csv)
    assert_domo_error(late, 409, f"upload {done} has ended (SUCCESS)")
    # A partition named two ways must be named alike: nothing is opened or committed otherwise.
    clash = inst.post(base, params={"dataTag": "T1", "restateDataTag": "T2"}, json={})
    assert_domo_error(clash, 400, "restateDataTag")
    tagged = inst.post(base, params={"dataTag": "T2"}, json={}).json()["uploadId"]
    assert inst.put(f"{base}/{tagged}/parts/1", content=b"Cy,3\n", headers=csv).status_code == 200
    assert_domo_error(inst.put(f"{base}/{tagged}/commit", json={"action": "APPEND", "dataTag": "T3"}), 400, "dataTag")
    both = {"action": "APPEND", "dataTag": "T2", "restateDataTag": "T9"}
    assert_domo_error(inst.put(f"{base}/{tagged}/commit", json=both), 400, "restateDataTag")
    assert rows(inst, ds) == [["Ann", 1]]
    same = inst.put(f"{base}/{tagged}/commit", json={"action": "APPEND", "dataTag": "T2", "restateDataTag": "T2"})
    assert same.status_code == 200 and same.json()["dataTag"] == "T2"
    assert sorted(rows(inst, ds)) == [["Ann", 1], ["Cy", 3]]


def test_failing_upload_to_a_partition_keeps_its_old_rows(inst: httpx.Client) -> None:
    ds = people(inst, "failing partition")
    assert upload(inst, ds, ["Ann,1\n"], tag="p1").status_code == 200
    r = upload(inst, ds, ["Bob,2\nCy,not-a-number\n"], tag="p1")
    assert r.status_code == 400
    message = r.json()["message"]
    assert "line 2" in message and "'Age'" in message and "not-a-number" in message
    assert rows(inst, ds) == [["Ann", 1]]
    listed = inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={}).json()
    assert [(e["partitionId"], e["rowCount"]) for e in listed] == [("p1", 1)]


def test_delete_partition_data_then_the_tag(inst: httpx.Client) -> None:
    ds = people(inst, "partition delete")
    assert upload(inst, ds, ["Ann,1\n"], tag="keep").status_code == 200
    assert upload(inst, ds, ["Bob,2\nBo,3\n"], tag="drop").status_code == 200
    r = inst.delete(f"/api/query/v1/datasources/{ds}/tag/drop/data")
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert rows(inst, ds) == [["Ann", 1]]
    assert inst.get(f"/api/data/v3/datasources/{ds}").json()["rowCount"] == 1
    # the tag stays, marked deleted: GET /partition shows it, the list of live partitions does not
    assert sorted(p["partitionId"] for p in inst.get(f"/api/query/v1/datasources/{ds}/partition").json()) == [
        "drop",
        "keep",
    ]
    assert [e["partitionId"] for e in inst.post(f"/api/query/v1/datasources/{ds}/partition/list", json={}).json()] == [
        "keep"
    ]
    assert inst.delete(f"/api/query/v1/datasources/{ds}/partition/drop").status_code == 200
    assert [p["partitionId"] for p in inst.get(f"/api/query/v1/datasources/{ds}/partition").json()] == ["keep"]
    assert inst.delete(f"/api/query/v1/datasources/{ds}/partition/drop").status_code == 404


def test_partition_limit_is_a_clear_400(tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = Server(data_dir=tmp_path_factory.mktemp("limit") / "data", env={"DOMOLITE_PARTITION_LIMIT": "2"}).start()
    try:
        with httpx.Client(base_url=srv.url, headers={"x-domo-developer-token": srv.dev_token}, timeout=60) as c:
            ds = people(c, "limited")
            assert upload(c, ds, ["A,1\n"], tag="a").status_code == 200
            assert upload(c, ds, ["B,2\n"], tag="b").status_code == 200
            assert upload(c, ds, ["A,3\n"], tag="a").status_code == 200  # restating an existing tag is fine
            r = c.post(f"/api/data/v3/datasources/{ds}/uploads", params={"dataTag": "c"}, json={})
            assert r.status_code == 400
            assert "2 partitions" in r.json()["message"] and "limit" in r.json()["message"]
            assert sorted(rows(c, ds)) == [["A", 3], ["B", 2]]
    finally:
        srv.stop()


# -- data versions, hydrate, time travel, index --------------------------------------------------------------


def test_data_versions_are_snapshots_and_time_travel_reads_them(inst: httpx.Client) -> None:
    ds = people(inst, "versions")
    assert upload(inst, ds, ["Ann,1\n"], action="REPLACE").status_code == 200
    assert upload(inst, ds, ["Bob,2\nCy,3\n"], action="APPEND").status_code == 200
    r = inst.get(f"/api/data/v3/datasources/{ds}/dataversions/details")
    assert r.status_code == 200
    versions = r.json()
    assert [v["numRows"] for v in versions] == [2, 1]  # newest first
    assert [v["rowCount"] for v in versions] == [3, 1]
    assert all(v["uploadStatus"] == "SUCCESS" and v["numBytes"] > 0 for v in versions)
    assert versions[0]["dataId"] > versions[1]["dataId"]
    assert isinstance(versions[0]["recordedDate"], int)
    first = versions[1]["dataId"]
    assert rows(inst, ds, dataVersion=first) == [["Ann", 1]]
    assert len(rows(inst, ds)) == 3
    csv = inst.get(
        f"/api/data/v2/datasources/{ds}/dataversions/latest",
        params={"includeHeader": "true", "dataVersion": first},
    )
    assert csv.status_code == 200 and csv.text == "Friend,Age\nAnn,1\n"
    unknown = inst.post(
        f"/api/query/v1/execute/{ds}", params={"dataVersion": 999999}, json={"sql": "SELECT * FROM table"}
    )
    assert unknown.status_code == 404 and "Data version 999999" in unknown.json()["message"]
    # hydrate: the documented request, then a narrower window
    body = {
        "id": "",
        "type": "LoadFromVault",
        "dataSourceId": ds,
        "versionWindow": {"type": "EXPRESSION", "expression": "1=1"},
    }
    h = inst.post("/api/dataprocessing/v2/dataflows/data-version-hydrate?engine=MAGIC&limit=500&offset=0", json=body)
    assert h.status_code == 200 and sorted(v["dataId"] for v in h.json()) == sorted(v["dataId"] for v in versions)
    body["versionWindow"]["expression"] = f"dataVersionId > {first}"
    narrow = inst.post("/api/dataprocessing/v2/dataflows/data-version-hydrate", json=body).json()
    assert [v["dataId"] for v in narrow] == [versions[0]["dataId"]]
    body["versionWindow"]["expression"] = "nosuchfield = 1"
    assert inst.post("/api/dataprocessing/v2/dataflows/data-version-hydrate", json=body).status_code == 400
    # Refused whatever the versions are: a part that AND or OR would never reach is checked all the same.
    empty = people(inst, "no versions")
    for expression in (
        "dataId > 0 and (select 1) = 1",
        f"dataId in (select {first})",
        "1 = 0 and nosuchfield = 1",
        "1 = 1 or upper(dataTag) = 'X'",
        "dataTag is true",
    ):
        for on in (ds, empty):
            body = {"dataSourceId": on, "versionWindow": {"type": "EXPRESSION", "expression": expression}}
            r = inst.post("/api/dataprocessing/v2/dataflows/data-version-hydrate", json=body)
            assert_domo_error(r, 400, "versionWindow.expression")
    body = {
        "dataSourceId": ds,
        "versionWindow": {"type": "EXPRESSION", "expression": "dataTag IS NULL AND NOT dataId IN (1)"},
    }
    assert len(inst.post("/api/dataprocessing/v2/dataflows/data-version-hydrate", json=body).json()) == 2


def test_time_travel_reads_a_version_from_before_a_schema_change_in_todays_schema(inst: httpx.Client) -> None:
    """A data version from before a rename, a retype, a drop and an add reads in the DataSet's schema of today:
    the renamed column under its new name, the retyped one cast, the added one empty, the dropped one gone."""
    columns = [{"type": "STRING", "name": "Friend"}, {"type": "LONG", "name": "Age"}, {"type": "LONG", "name": "Gone"}]
    ds = create(inst, "renamed since", columns)
    assert upload(inst, ds, ["Ann,1,9\n"], action="REPLACE").status_code == 200
    before = inst.get(f"/api/data/v3/datasources/{ds}/dataversions/details").json()[0]["dataId"]
    changed = inst.post(
        f"/api/data/v2/datasources/{ds}/schemas",
        json={"columns": [{"id": "Friend", "name": "Name", "type": "STRING"}, {"name": "Age", "type": "DOUBLE"},
                          {"name": "City", "type": "STRING"}]},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert upload(inst, ds, ["Bob,2.5,Oslo\n"], action="REPLACE").status_code == 200

    assert rows(inst, ds, dataVersion=before) == [["Ann", 1.0, None]]
    assert rows(inst, ds, "SELECT Name, City FROM table", dataVersion=before) == [["Ann", None]]
    old_name = inst.post(
        f"/api/query/v1/execute/{ds}", params={"dataVersion": before}, json={"sql": "SELECT Friend FROM table"}
    )
    assert old_name.status_code == 400 and "no column 'Friend'" in old_name.json()["message"]
    csv = inst.get(
        f"/api/data/v2/datasources/{ds}/dataversions/latest", params={"includeHeader": "true", "dataVersion": before}
    )
    assert csv.status_code == 200 and csv.text.splitlines()[0] == "Name,Age,City"
    assert csv.text.splitlines()[1].startswith("Ann,1")
    assert rows(inst, ds) == [["Bob", 2.5, "Oslo"]]


def test_index_compacts_and_reports_its_status(inst: httpx.Client) -> None:
    ds = people(inst, "index")
    for i in range(3):
        assert upload(inst, ds, [f"P{i},{i}\n"]).status_code == 200
    r = inst.post(f"/api/data/v3/datasources/{ds}/indexes", headers=JSON_HEADERS, json={"dataIds": []})
    assert r.status_code == 200
    index = r.json()
    assert index["status"] == "SUCCESS" and index["indexId"] > 0
    s = inst.get(f"/api/data/v3/datasources/{ds}/indexes/{index['indexId']}/statuses")
    assert s.status_code == 200 and s.json()["status"] == "SUCCESS" and s.json()["indexId"] == index["indexId"]
    assert inst.get(f"/api/data/v3/datasources/{ds}/indexes/999999/statuses").status_code == 404
    again = inst.post(f"/api/query/v1/datasources/{ds}", headers={"Content-Type": "application/json"})
    assert again.status_code == 200 and again.json()["status"] == "SUCCESS"
    assert sorted(rows(inst, ds)) == [["P0", 0], ["P1", 1], ["P2", 2]]


# -- tags, properties, cards ---------------------------------------------------------------------------------


def test_tags_replace_and_read_back_as_a_json_string(inst: httpx.Client) -> None:
    ds = people(inst, "tags")
    r = inst.post(f"/api/data/ui/v3/datasources/{ds}/tags", headers=JSON_HEADERS, json=["tag1", "tag2"])
    assert r.status_code == 200
    assert json.loads(inst.get(f"/api/data/v3/datasources/{ds}").json()["tags"]) == ["tag1", "tag2"]
    inst.post(f"/api/data/ui/v3/datasources/{ds}/tags", json=["only"])
    assert inst.get(f"/api/data/v3/datasources/{ds}").json()["tags"] == '["only"]'
    assert inst.post(f"/api/data/ui/v3/datasources/{ds}/tags", json={"not": "a list"}).status_code == 400


def test_properties_change_the_provider_type(inst: httpx.Client) -> None:
    ds = people(inst, "properties")
    r = inst.put(
        f"/api/data/v3/datasources/{ds}/properties",
        headers=JSON_HEADERS,
        json={"dataProviderType": "domo-jupyterdata"},
    )
    assert r.status_code == 200 and r.json()["dataProviderType"] == "domo-jupyterdata"
    assert inst.get(f"/api/data/v3/datasources/{ds}").json()["dataProviderType"] == "domo-jupyterdata"


def test_cards_are_an_empty_list(inst: httpx.Client) -> None:
    ds = people(inst, "cards")
    r = inst.get(f"/api/content/v1/datasources/{ds}/cards", params={"drill": "true"})
    assert r.status_code == 200 and r.json() == []
    assert r.headers["content-type"].startswith("application/json")


# -- streams -------------------------------------------------------------------------------------------------

STREAM_BODY: dict[str, Any] = {
    "transport": {"type": "CONNECTOR", "description": "com.domo.connector.snowflakeunloadv2", "version": "1"},
    "configuration": [{"name": "query", "value": "SELECT * FROM table", "type": "string", "category": "METADATA"}],
    "account": {"id": 3},
    "updateMethod": "APPEND",
    "dataProvider": {"key": "snowflake-unload-v2"},
    "dataSource": {"name": "hello world", "description": "config works?"},
    "advancedScheduleJson": '{"type": "MANUAL", "timezone": "UTC"}',
}


def test_connector_stream_create_get_update_run_history(inst: httpx.Client) -> None:
    r = inst.post("/api/data/v1/streams", headers=JSON_HEADERS, json=STREAM_BODY)
    assert r.status_code == 200
    s = r.json()
    sid = s["id"]
    assert s["transport"] == STREAM_BODY["transport"]
    assert s["dataProvider"]["key"] == "snowflake-unload-v2" and s["dataProvider"]["name"] == "Snowflake Unload V2"
    assert s["updateMethod"] == "APPEND" and s["account"] == {"id": 3}
    assert s["configuration"] == [
        {
            "streamId": sid,
            "category": "METADATA",
            "type": "string",
            "name": "query",
            "value": "SELECT * FROM table",
        }
    ]
    assert s["advancedScheduleJson"] == STREAM_BODY["advancedScheduleJson"]
    ds = s["dataSource"]["id"]
    meta = inst.get(f"/api/data/v3/datasources/{ds}").json()
    assert meta["streamId"] == sid and meta["name"] == "hello world" and meta["transportType"] == "CONNECTOR"
    # update with the documented PUT body
    put_body = {
        **STREAM_BODY,
        "transport": {
            "type": "CONNECTOR",
            "description": "com.domo.connector.postgresql.partition",
            "version": "0",
        },
        "configuration": [{"name": "fetch_size", "value": "None", "type": "string", "category": "METADATA"}],
        "account": {"id": 1},
        "dataProvider": {"key": "postgresql-partition"},
    }
    u = inst.put(f"/api/data/v1/streams/{sid}", headers=JSON_HEADERS, json=put_body)
    assert u.status_code == 200
    got = inst.get(f"/api/data/v1/streams/{sid}").json()
    assert got["dataProvider"]["key"] == "postgresql-partition" and got["account"] == {"id": 1}
    assert [c["name"] for c in got["configuration"]] == ["fetch_size"]
    # a run: the documented body, then the library's empty body
    run = inst.post(f"/api/data/v1/streams/{sid}/executions", headers=JSON_HEADERS, json={"action": "MANUAL"})
    assert run.status_code == 200
    e = run.json()
    assert e["currentState"] == "ERROR" and e["runType"] == "MANUAL" and e["streamId"] == sid
    assert "no connector" in e["errors"][0]["message"] and "postgresql-partition" in e["errors"][0]["message"]
    empty = inst.post(f"/api/data/v1/streams/{sid}/executions", headers={"Content-Type": "application/json"})
    assert empty.status_code == 200 and empty.json()["executionId"] != e["executionId"]
    history = inst.get(f"/api/data/v1/streams/{sid}/history/aggregate").json()
    assert [h["executionId"] for h in history] == [empty.json()["executionId"], e["executionId"]]
    assert all(h["currentState"] == "ERROR" and h["rowsInserted"] == 0 for h in history)


def test_stream_list_pages_with_offset_and_the_offet_spelling(inst: httpx.Client) -> None:
    for i in range(2):
        inst.post("/api/data/v1/streams", json={**STREAM_BODY, "dataSource": {"name": f"listed {i}"}})
    seen: list[int] = []
    skip = 0
    while page := inst.get("/api/data/v1/streams/", params={"limit": 3, "offet": skip}).json():
        seen.extend(s["id"] for s in page)
        skip += 3
        assert skip < 1000, "the list never ended"
    assert len(seen) == len(set(seen)) >= 2
    assert [s["id"] for s in inst.get("/api/data/v1/streams", params={"limit": 2, "offset": 1}).json()] == seen[1:3]
    # an explicit offset=0 wins over offet
    both = inst.get("/api/data/v1/streams", params={"limit": 2, "offset": 0, "offet": 1}).json()
    assert [s["id"] for s in both] == seen[0:2]


def test_negative_limits_and_offsets_are_refused_naming_them(inst: httpx.Client) -> None:
    ds = people(inst, "paged lists")
    stream = inst.post("/api/data/v1/streams", json={**STREAM_BODY, "dataSource": {"name": "paged runs"}}).json()
    pages = [
        f"/api/data/v1/streams/{stream['id']}/executions",
        f"/api/data/v3/datasources/{ds}/dataversions/details",
        "/api/data/v1/streams",
    ]
    for url in pages:
        for name in ("limit", "offset"):
            r = inst.get(url, params={name: -1})
            assert r.status_code == 400 and r.json()["message"].startswith(f"{name}:"), (url, r.text)
    for name in ("limit", "offset"):
        r = inst.post(f"/api/query/v1/execute/{ds}", params={name: -1}, json={"sql": "SELECT * FROM table"})
        assert r.status_code == 400 and r.json()["message"].startswith(f"{name}: must not be negative"), r.text


# -- search --------------------------------------------------------------------------------------------------


def test_search_finds_datasets_by_name_and_pages(inst: httpx.Client) -> None:
    names = [f"searchable {i} {time.time_ns()}" for i in range(3)]
    ids = [people(inst, n) for n in names]
    body = {
        "entities": ["DATASET"],
        "filters": [{"field": "name_sort", "filterType": "wildcard", "query": names[0]}],
        "combineResults": False,
        "query": "*",
        "count": 100,
        "offset": 0,
    }
    r = inst.post("/api/search/v1/query", headers=JSON_HEADERS, json=body)
    assert r.status_code == 200
    hits = r.json()["searchObjects"]
    assert [h["databaseId"] for h in hits] == [ids[0]]
    assert hits[0]["name"] == names[0] and hits[0]["entityType"] == "dataset"
    body["filters"] = [{"field": "name_sort", "filterType": "wildcard", "query": "*SEARCHABLE*"}]
    found: list[str] = []
    body["count"] = 2
    while page := inst.post("/api/search/v1/query", json=body).json()["searchObjects"]:
        found.extend(h["databaseId"] for h in page)
        body["offset"] = int(body["offset"]) + 2
        assert int(body["offset"]) < 1000
    assert set(ids) <= set(found)
    body["filters"] = [{"field": "nonsense", "filterType": "term", "value": "x"}]
    assert inst.post("/api/search/v1/query", json=body).status_code == 400
