"""The Stream API: streams, search, executions, parts, commit and abort."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.helpers import assert_domo_error, export_csv, make_dataset
from tests.serverproc import Server

SCHEMA = {"columns": [{"type": "LONG", "name": "id"}, {"type": "STRING", "name": "name"}]}


def create_stream(api: httpx.Client, method: str = "APPEND", **extra: object) -> dict:
    r = api.post(
        "/v1/streams/",
        json={"dataSet": {"name": "stream ds", "schema": SCHEMA}, "updateMethod": method, **extra},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def run_execution(api: httpx.Client, sid: int, parts: dict[int, bytes], body: object = None) -> dict:
    eid = api.post(f"/v1/streams/{sid}/executions", json=body).json()["id"]
    for n, data in parts.items():
        assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=data).status_code == 200
    r = api.put(f"/v1/streams/{sid}/executions/{eid}/commit", json={})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_stream_create_get_list_patch_delete(api: httpx.Client) -> None:
    stream = create_stream(api)
    assert isinstance(stream["id"], int) and stream["updateMethod"] == "APPEND"
    assert stream["dataSet"]["schema"] == SCHEMA and stream["dataSet"]["rows"] == 0
    sid = stream["id"]
    assert api.get(f"/v1/streams/{sid}").json()["dataSet"]["id"] == stream["dataSet"]["id"]
    assert sid in [s["id"] for s in api.get("/v1/streams/", params={"limit": 500, "offset": 0, "fields": "all"}).json()]
    patched = api.patch(f"/v1/streams/{sid}", json={"updateMethod": "REPLACE"})
    assert patched.status_code == 200 and patched.json()["updateMethod"] == "REPLACE"
    assert api.delete(f"/v1/streams/{sid}").status_code == 204
    assert_domo_error(api.get(f"/v1/streams/{sid}"), 404)
    # Deleting a stream keeps its DataSet.
    assert api.get(f"/v1/datasets/{stream['dataSet']['id']}").status_code == 200


def test_the_update_method_may_come_as_a_query_parameter(api: httpx.Client) -> None:
    sid = create_stream(api)["id"]
    patched = api.patch(f"/v1/streams/{sid}", params={"updateMethod": "REPLACE"})
    assert patched.status_code == 200 and patched.json()["updateMethod"] == "REPLACE"
    assert api.get(f"/v1/streams/{sid}").json()["updateMethod"] == "REPLACE"
    both = api.patch(f"/v1/streams/{sid}", params={"updateMethod": "APPEND"}, json={"updateMethod": "APPEND"})
    assert both.status_code == 200 and both.json()["updateMethod"] == "APPEND"
    clash = api.patch(f"/v1/streams/{sid}", params={"updateMethod": "REPLACE"}, json={"updateMethod": "APPEND"})
    assert_domo_error(clash, 400, "updateMethod")
    assert_domo_error(api.patch(f"/v1/streams/{sid}", params={"updateMethod": "SIDEWAYS"}), 400, "updateMethod")
    assert api.get(f"/v1/streams/{sid}").json()["updateMethod"] == "APPEND"


def test_stream_search_by_id_name_and_owner(api: httpx.Client) -> None:
    r = api.post(
        "/v1/streams",
        json={"dataSet": {"name": "needle, with comma", "schema": SCHEMA}, "updateMethod": "APPEND"},
    )
    stream = r.json()
    ds = stream["dataSet"]
    by_id = api.get("/v1/streams/search", params={"q": f"dataSource.id:{ds['id']}"}).json()
    assert [s["id"] for s in by_id] == [stream["id"]]
    by_name = api.get("/v1/streams/search", params={"q": "dataSource.name:needle, with comma", "fields": "all"}).json()
    assert stream["id"] in [s["id"] for s in by_name]
    both = api.get(
        "/v1/streams/search",
        params={"q": f"dataSource.name:needle, with comma,dataSource.owner.id:{ds['owner']['id']}"},
    ).json()
    assert stream["id"] in [s["id"] for s in both]
    assert api.get("/v1/streams/search", params={"q": "dataSource.owner.id:424242"}).json() == []
    assert_domo_error(api.get("/v1/streams/search", params={"q": "color:blue"}), 400, "unsupported search term")


def test_every_dataset_made_with_the_dataset_api_has_a_replace_stream(api: httpx.Client) -> None:
    ds = make_dataset(api, [("a", "LONG")])
    found = api.get("/v1/streams/search", params={"q": f"dataSource.id:{ds['id']}"}).json()
    assert len(found) == 1 and found[0]["updateMethod"] == "REPLACE"


def test_execution_body_may_be_empty_or_null_update_method(api: httpx.Client) -> None:
    sid = create_stream(api)["id"]
    empty = api.post(f"/v1/streams/{sid}/executions", content=b"")
    null = api.post(f"/v1/streams/{sid}/executions", json={"updateMethod": None})
    override = api.post(f"/v1/streams/{sid}/executions", json={"updateMethod": "REPLACE"})
    assert empty.status_code == null.status_code == override.status_code == 200  # as the document's sample
    assert empty.json()["currentState"] == "ACTIVE" and empty.json()["updateMethod"] == "APPEND"
    assert null.json()["updateMethod"] == "APPEND" and override.json()["updateMethod"] == "REPLACE"
    listed = api.get(f"/v1/streams/{sid}/executions", params={"limit": 10, "offset": 0}).json()
    assert [e["id"] for e in listed] == [empty.json()["id"], null.json()["id"], override.json()["id"]]
    assert api.get(f"/v1/streams/{sid}/executions/{null.json()['id']}").json()["currentState"] == "ACTIVE"


def test_append_replace_and_upsert(api: httpx.Client) -> None:
    stream = create_stream(api, "APPEND")
    sid, ds = stream["id"], stream["dataSet"]["id"]
    run_execution(api, sid, {0: b"1,a\n2,b\n"})
    run_execution(api, sid, {0: b"3,c\n"})
    assert sorted(export_csv(api, ds).splitlines()) == ["1,a", "2,b", "3,c"]
    done = run_execution(api, sid, {0: b"9,z\n"}, {"updateMethod": "REPLACE"})
    assert done["currentState"] == "SUCCESS" and done["rows"] == 1
    assert export_csv(api, ds) == "9,z\n"

    upsert = create_stream(api, "UPSERT", keyColumnNames=["id"])
    assert upsert["keyColumnNames"] == ["id"]
    run_execution(api, upsert["id"], {0: b"1,a\n2,b\n"})
    run_execution(api, upsert["id"], {0: b"2,B\n3,C\n"})
    assert sorted(export_csv(api, upsert["dataSet"]["id"]).splitlines()) == ["1,a", "2,B", "3,C"]


def test_upsert_needs_key_columns_of_the_schema(api: httpx.Client) -> None:
    r = api.post("/v1/streams", json={"dataSet": {"name": "x", "schema": SCHEMA}, "updateMethod": "UPSERT"})
    assert_domo_error(r, 400, "keyColumnNames")
    r = api.post(
        "/v1/streams",
        json={
            "dataSet": {"name": "x", "schema": SCHEMA},
            "updateMethod": "UPSERT",
            "keyColumnNames": ["nope"],
        },
    )
    assert_domo_error(r, 400, "'nope' is not a column")


def test_an_upsert_is_refused_while_its_keys_are_not_columns_and_the_execution_waits(api: httpx.Client) -> None:
    upsert = create_stream(api, "UPSERT", keyColumnNames=["id"])
    sid, ds = upsert["id"], upsert["dataSet"]["id"]
    run_execution(api, sid, {0: b"1,a\n"})
    eid = api.post(f"/v1/streams/{sid}/executions", json={}).json()["id"]
    assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/0", content=b"a,1\n").status_code == 200
    # the key column is renamed by a schema change after the execution was opened
    renamed = {"columns": [{"type": "STRING", "name": "name"}, {"type": "LONG", "name": "key"}]}
    assert api.put(f"/v1/datasets/{ds}", json={"schema": renamed}).status_code == 200
    r = api.put(f"/v1/streams/{sid}/executions/{eid}/commit", json={})
    assert_domo_error(r, 400, "keyColumnNames")
    assert "'id'" in r.json()["message"]
    # nothing changed, and the execution waits for the stream to be put right
    assert api.get(f"/v1/streams/{sid}/executions/{eid}").json()["currentState"] == "ACTIVE"
    assert export_csv(api, ds) == "a,\n"  # the kept column; the new one is NULL
    assert api.patch(f"/v1/streams/{sid}", json={"keyColumnNames": ["key"]}).status_code == 200
    r = api.put(f"/v1/streams/{sid}/executions/{eid}/commit", json={})
    assert r.status_code == 200 and r.json()["currentState"] == "SUCCESS"
    run_execution(api, sid, {0: b"b,1\n"})  # the same key: upserted on the new key column
    assert sorted(export_csv(api, ds).splitlines()) == ["a,", "b,1"]

    # an execution asking for UPSERT on a stream without keys, or with keys that are not columns
    append = create_stream(api, "APPEND")
    r = api.post(f"/v1/streams/{append['id']}/executions", json={"updateMethod": "UPSERT"})
    assert_domo_error(r, 400, "UPSERT needs at least one key column")
    assert api.get(f"/v1/streams/{append['id']}/executions").json() == []
    stray = api.post(
        "/v1/streams",
        json={"dataSet": {"name": "x", "schema": SCHEMA}, "updateMethod": "APPEND", "keyColumnNames": ["zzz"]},
    )
    assert_domo_error(stray, 400, "'zzz' is not a column")


def test_append_with_key_columns_is_the_documents_upsert(api: httpx.Client) -> None:
    stream = create_stream(api, "APPEND", keyColumnNames=["id"])
    assert stream["updateMethod"] == "UPSERT" and stream["keyColumnNames"] == ["id"]
    run_execution(api, stream["id"], {1: b"1,a\n2,b\n"})
    run_execution(api, stream["id"], {1: b"2,B\n3,C\n"})
    assert sorted(export_csv(api, stream["dataSet"]["id"]).splitlines()) == ["1,a", "2,B", "3,C"]
    # Keys given later to an APPEND stream, alone or with APPEND: an upsert from then on.
    later = create_stream(api, "APPEND")
    patched = api.patch(f"/v1/streams/{later['id']}", json={"keyColumnNames": ["id"]})
    assert patched.status_code == 200 and patched.json()["updateMethod"] == "UPSERT"
    run_execution(api, later["id"], {1: b"1,a\n"})
    run_execution(api, later["id"], {1: b"1,b\n"})
    assert export_csv(api, later["dataSet"]["id"]) == "1,b\n"
    # An execution may still ask to append: the rows are added, keys or not.
    run_execution(api, later["id"], {1: b"1,c\n"}, {"updateMethod": "APPEND"})
    assert sorted(export_csv(api, later["dataSet"]["id"]).splitlines()) == ["1,b", "1,c"]
    # REPLACE keeps its meaning with keys set.
    replaced = api.patch(f"/v1/streams/{later['id']}", json={"updateMethod": "REPLACE", "keyColumnNames": ["id"]})
    assert replaced.json()["updateMethod"] == "REPLACE"


def test_an_import_is_replace_or_append_never_upsert(api: httpx.Client) -> None:
    upsert = create_stream(api, "UPSERT", keyColumnNames=["id"])
    ds = upsert["dataSet"]["id"]
    assert api.put(f"/v1/datasets/{ds}/data", content=b"1,a\n", headers={"Content-Type": "text/csv"}).status_code == 204
    r = api.put(
        f"/v1/datasets/{ds}/data",
        params={"updateMethod": "UPSERT"},
        content=b"1,b\n",
        headers={"Content-Type": "text/csv"},
    )
    assert_domo_error(r, 400, "updateMethod")
    assert export_csv(api, ds) == "1,a\n"  # before, this appended "1,b"


def test_parts_sparse_out_of_order_replaced_parallel_and_in_three_encodings(api: httpx.Client) -> None:
    stream = create_stream(api, "REPLACE")
    sid, ds = stream["id"], stream["dataSet"]["id"]
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    url = f"/v1/streams/{sid}/executions/{eid}/part"
    bodies = {
        82000: (b"5,e\n", {"Content-Type": "text/csv"}),
        0: (gzip.compress(b"1,a\n"), {"Content-Type": "text/csv", "Content-Encoding": "gzip"}),
        41000: (gzip.compress(b"3,c\n"), {"Content-Type": "application/gzip"}),
        7: (b"wrong,will be replaced\n", {"Content-Type": "text/csv"}),
    }

    def send(item: tuple[int, tuple[bytes, dict[str, str]]]) -> int:
        n, (data, headers) = item
        return api.put(f"{url}/{n}", content=data, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(send, bodies.items())) == [200] * 4

    def chunked() -> object:
        yield b"2,"
        yield b"b\n"

    assert api.put(f"{url}/7", content=chunked()).status_code == 200  # re-upload replaces part 7
    r = api.put(f"/v1/streams/{sid}/executions/{eid}/commit")
    assert r.json()["currentState"] == "SUCCESS" and r.json()["uploadedParts"] == 4
    assert sorted(export_csv(api, ds).splitlines()) == ["1,a", "2,b", "3,c", "5,e"]
    # The ended execution still says how many parts it had, read alone or in the list.
    assert api.get(f"/v1/streams/{sid}/executions/{eid}").json()["uploadedParts"] == 4
    listed = api.get(f"/v1/streams/{sid}/executions").json()
    assert [e["uploadedParts"] for e in listed if e["id"] == eid] == [4]
    aborted = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    assert api.put(f"/v1/streams/{sid}/executions/{aborted}/part/1", content=b"9,z\n").status_code == 200
    assert api.put(f"/v1/streams/{sid}/executions/{aborted}/abort").status_code == 200
    assert api.get(f"/v1/streams/{sid}/executions/{aborted}").json()["uploadedParts"] == 1


def test_abort_one_and_abort_all_active(api: httpx.Client) -> None:
    stream = create_stream(api, "APPEND")
    sid, ds = stream["id"], stream["dataSet"]["id"]
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    api.put(f"/v1/streams/{sid}/executions/{eid}/part/0", content=b"1,a\n")
    aborted = api.put(f"/v1/streams/{sid}/executions/{eid}/abort", json={})
    assert aborted.status_code == 200 and aborted.json()["currentState"] == "ABORTED"
    assert_domo_error(api.put(f"/v1/streams/{sid}/executions/{eid}/commit"), 409)

    a = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    b = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    api.put(f"/v1/streams/{sid}/executions/{b}/part/0", content=b"2,b\n")
    assert api.put(f"/v1/streams/{sid}/executions/abort", json={}).status_code == 204
    states = {e["id"]: e["currentState"] for e in api.get(f"/v1/streams/{sid}/executions").json()}
    assert states[a] == states[b] == "ABORTED"
    assert api.put(f"/v1/streams/{sid}/executions/abort").status_code == 204  # nothing active: still 204
    assert export_csv(api, ds) == ""
    assert api.get(f"/v1/datasets/{ds}").json()["rows"] == 0


def test_parts_of_aborted_and_failed_executions_are_deleted(api: httpx.Client, server: Server) -> None:
    stream = create_stream(api, "APPEND")
    sid = stream["id"]
    staging = server.data_dir / "staging"

    def folders() -> set[str]:  # named by the catalog's key of the execution, not by the stream's number
        return {p.name for p in staging.glob("execution-*")}

    before = folders()
    aborted = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    api.put(f"/v1/streams/{sid}/executions/{aborted}/part/0", content=b"1,a\n")
    kept = folders() - before
    assert len(kept) == 1
    api.put(f"/v1/streams/{sid}/executions/{aborted}/abort")
    failed = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    api.put(f"/v1/streams/{sid}/executions/{failed}/part/0", content=b"x,a\n")
    assert len(folders() - before - kept) == 1
    assert_domo_error(api.put(f"/v1/streams/{sid}/executions/{failed}/commit"), 400, "part 0, line 1, column 'id'")
    assert api.get(f"/v1/streams/{sid}/executions/{failed}").json()["currentState"] == "ERROR"
    assert not folders() - before


def test_decimal_edge_values_load_exactly_through_stream_parts(api: httpx.Client) -> None:
    from tests.unit.test_csvformat import DECIMAL_EDGES, exact

    sid = api.post(
        "/v1/streams/",
        json={
            "dataSet": {"name": "decimals", "schema": {"columns": [{"type": "LONG", "name": "n"},
                                                                   {"type": "DECIMAL", "name": "v"}]}},
            "updateMethod": "REPLACE",
        },
    ).json()["id"]  # fmt: skip
    rows = [f'{n},"{v}"\n' for n, v in enumerate(DECIMAL_EDGES)] + ["99,\n", "100,\\N\n"]
    half = len(rows) // 2
    run_execution(api, sid, {1: "".join(rows[:half]).encode(), 2: gzip.compress("".join(rows[half:]).encode())})
    ds = api.get(f"/v1/streams/{sid}").json()["dataSet"]["id"]
    text = export_csv(api, ds)
    loaded = dict(line.split(",") for line in text.splitlines())
    assert loaded == {str(n): exact(v) for n, v in enumerate(DECIMAL_EDGES)} | {"99": "", "100": ""}
    bad = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    api.put(f"/v1/streams/{sid}/executions/{bad}/part/1", content=b"1,12345678901234567890123456789012\n")
    r = api.put(f"/v1/streams/{sid}/executions/{bad}/commit")
    assert_domo_error(r, 400, "part 1, line 1, column 'v'")
    assert export_csv(api, ds) == text


def test_what_is_written_to_is_found_before_the_body_s_encoding_is_judged(api: httpx.Client) -> None:
    """An unknown stream or DataSet is answered as such before a Content-Encoding domolite cannot read is
    refused; once the target is found, that encoding is refused (415), for parts, upload parts and imports."""
    brotli = {"Content-Encoding": "br"}
    missing = "00000000-0000-0000-0000-000000000000"
    r = api.put("/v1/streams/999999999/executions/1/part/1", content=b"1,a\n", headers=brotli)
    assert_domo_error(r, 404, "Stream 999999999 not found")
    r = api.put(f"/api/data/v3/datasources/{missing}/uploads/1/parts/1", content=b"1,a\n", headers=brotli)
    assert_domo_error(r, 404, f"DataSet {missing} not found")
    assert_domo_error(api.put(f"/v1/datasets/{missing}/data", content=b"1,a\n", headers=brotli), 404, missing)
    stream = create_stream(api)
    sid, dataset_id = stream["id"], stream["dataSet"]["id"]
    eid = api.post(f"/v1/streams/{sid}/executions", json={}).json()["id"]
    r = api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=b"1,a\n", headers=brotli)
    assert_domo_error(r, 415, "Content-Encoding br")
    assert_domo_error(api.put(f"/v1/datasets/{dataset_id}/data", content=b"1,a\n", headers=brotli), 415, "br")


TYPED = {
    "columns": [
        {"type": "LONG", "name": "id"},
        {"type": "STRING", "name": "name"},
        {"type": "DOUBLE", "name": "d"},
        {"type": "DECIMAL", "name": "m"},
        {"type": "DATETIME", "name": "t"},
    ]
}
CR = "a carriage return (CR) outside quotes"
# A body DuckDB refuses, and the line (and column) the answer must name: the first bad line as DuckDB reads it.
REFUSED_BODIES = [
    (b"1,x,1,1,2024-01-02\r2,y,1,1,2024-01-02\r", f"line 1: {CR}"),  # lone CRs as line ends
    (b"1,x,1,1,2024-01-02\n2,y,1,1,2024-01-02\r", f"line 2: {CR}"),  # a last line ending in a lone CR
    (b"1,a\rb,1,1,\n2,c,1,1,\n", f"line 1: {CR}"),  # a CR inside an unquoted value
    (b"1,x,1,1,\n\n2,y,1,1,\nq,z,1,1,\n", "line 4, column 'id': 'q'"),  # a blank line is skipped, not the error
    ("１２,x,1,1,\n".encode(), "line 1, column 'id': '１２' is not a whole number"),  # fullwidth digits
    ("1,x,١٢,1,\n".encode(), "line 1, column 'd': '١٢' is not a number"),  # Arabic-Indic digits
    ("1,x,1,١٢,\n".encode(), "line 1, column 'm': '١٢' is not a decimal number"),
    (b"1,x,1,1,2024-01-02T03:04:05 +01:00\n", "line 1, column 't': '2024-01-02T03:04:05 +01:00' is not a DATETIME"),
    (b"5,x,1,1,\n6,y,1,1,,z\n", "line 2: expected 5 columns, found 6"),
    # values DuckDB's casts take, which Domo's date-time format cannot show
    (b"1,x,1,1,2024-01-01\n2,y,1,1,infinity\n", "line 2, column 't': 'infinity' is not a DATETIME"),
    (b"1,x,1,1,0000-01-01T00:00:00\n", "line 1, column 't': '0000-01-01T00:00:00' is not a valid DATETIME"),
    (b"1,x,1,1,10000-01-01T00:00:00\n", "line 1, column 't': '10000-01-01T00:00:00' is not a DATETIME"),
]


def test_a_date_domo_cannot_show_is_refused_naming_it(api: httpx.Client) -> None:
    ds = make_dataset(api, [("d", "DATE")], "dates")["id"]
    for value, said in [
        ("infinity", "'infinity' is not a DATE"),
        ("-infinity", "'-infinity' is not a DATE"),
        ("0000-01-01", "'0000-01-01' is not a valid DATE"),
        ("2024-01-01 (BC)", "'2024-01-01 (BC)' is not a DATE"),
        ("10000-01-01", "'10000-01-01' is not a DATE"),
    ]:
        body = f"2024-05-06\n{value}\n".encode()
        r = api.put(f"/v1/datasets/{ds}/data", content=body, headers={"Content-Type": "text/csv"})
        assert_domo_error(r, 400, f"the body, line 2, column 'd': {said}")
    assert export_csv(api, ds) == ""
    ok = api.put(f"/v1/datasets/{ds}/data", content=b"0001-01-01\n9999-12-31\n", headers={"Content-Type": "text/csv"})
    assert ok.status_code == 204 and export_csv(api, ds) == "0001-01-01\n9999-12-31\n"


def test_a_refused_import_names_the_body_and_the_line_duckdb_failed_on(api: httpx.Client) -> None:
    ds = make_dataset(api, [(c["name"], c["type"]) for c in TYPED["columns"]], "diagnosed")["id"]
    for body, said in REFUSED_BODIES:
        r = api.put(f"/v1/datasets/{ds}/data", content=body, headers={"Content-Type": "text/csv"})
        assert_domo_error(r, 400, f"the body, {said}")
    assert export_csv(api, ds) == ""


def test_a_refused_commit_names_the_part_and_the_line(api: httpx.Client) -> None:
    stream = api.post("/v1/streams", json={"dataSet": {"name": "diagnosed", "schema": TYPED}, "updateMethod": "APPEND"})
    sid = stream.json()["id"]
    for body, said in REFUSED_BODIES:
        eid = api.post(f"/v1/streams/{sid}/executions", json={}).json()["id"]
        assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=b"7,ok,1,1,\n").status_code == 200
        assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/2", content=body).status_code == 200
        assert_domo_error(api.put(f"/v1/streams/{sid}/executions/{eid}/commit"), 400, f"part 2, {said}")
    assert export_csv(api, stream.json()["dataSet"]["id"]) == ""
