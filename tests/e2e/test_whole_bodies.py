"""No byte lost: a body (an import, a stream part, an upload part) is loaded whole or refused with a 400 that
names it, and a refused body changes nothing."""

from __future__ import annotations

import gzip
import socket
from typing import Any

import httpx

from tests.helpers import Snapshot, assert_exact_error, catalog_rows, execution_key, make_dataset, stream_of, until
from tests.serverproc import Server

ROWS = b"".join(b"city%d,%d\n" % (i, i) for i in range(100_000))
COLUMNS = [("city", "STRING"), ("n", "LONG")]
ENDS_EARLY = "the gzip data ends early"


def loaded(api: httpx.Client, name: str = "whole") -> dict[str, Any]:
    ds = make_dataset(api, COLUMNS, name)
    assert api.put(f"/v1/datasets/{ds['id']}/data", content=b"kept,1\nkept too,2\n").status_code == 204
    return ds


def put_data(api: httpx.Client, dataset_id: str, body: bytes, method: str = "REPLACE") -> httpx.Response:
    return api.put(
        f"/v1/datasets/{dataset_id}/data",
        params={"updateMethod": method},
        content=body,
        headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"},
    )


def test_an_import_of_cut_gzip_is_refused_and_the_dataset_keeps_its_rows(api: httpx.Client) -> None:
    ds = loaded(api)
    before = Snapshot(api, ds["id"])
    packed = gzip.compress(ROWS)
    for cut in (0.3, 0.5, 0.77, 0.9):
        r = put_data(api, ds["id"], packed[: int(len(packed) * cut)])
        assert_exact_error(r, 400, f"the body: {ENDS_EARLY}; send it again")
        before.assert_unchanged()
    # 10 bytes of gzip (a header and nothing) no longer empties the DataSet.
    assert_exact_error(put_data(api, ds["id"], packed[:10]), 400, f"the body: {ENDS_EARLY}; send it again")
    before.assert_unchanged()
    assert put_data(api, ds["id"], packed).status_code == 204  # the whole body loads
    assert api.get(f"/v1/datasets/{ds['id']}").json()["rows"] == 100_000


def test_gzip_without_its_trailer_damaged_or_followed_by_other_data_is_refused(api: httpx.Client) -> None:
    ds = loaded(api)
    before = Snapshot(api, ds["id"])
    packed = gzip.compress(ROWS)
    assert_exact_error(put_data(api, ds["id"], packed[:-8]), 400, f"the body: {ENDS_EARLY}; send it again")
    damaged = bytearray(packed)
    damaged[-7] ^= 0xFF
    r = put_data(api, ds["id"], bytes(damaged))
    assert_exact_error(r, 400, "the body: the gzip data is damaged (Error -6 Incorrect checksum found); send it again")
    r = put_data(api, ds["id"], packed + b"garbage")
    assert_exact_error(r, 400, "the body: data follows the end of the gzip data; send it again")
    before.assert_unchanged()
    # Several gzip members are one body.
    half = len(ROWS) // 2
    assert put_data(api, ds["id"], gzip.compress(ROWS[:half]) + gzip.compress(ROWS[half:])).status_code == 204
    assert api.get(f"/v1/datasets/{ds['id']}").json()["rows"] == 100_000


def test_a_cut_stream_part_is_refused_naming_the_part_and_never_committed(api: httpx.Client) -> None:
    ds = loaded(api)
    before = Snapshot(api, ds["id"])
    sid = stream_of(api, ds["id"])
    eid = api.post(f"/v1/streams/{sid}/executions", json={"updateMethod": "REPLACE"}).json()["id"]
    url = f"/v1/streams/{sid}/executions/{eid}/part"
    packed = gzip.compress(ROWS)
    ok = api.put(f"{url}/1", content=gzip.compress(b"one,1\n"), headers={"Content-Encoding": "gzip"})
    assert ok.status_code == 200, ok.text
    r = api.put(f"{url}/3", content=packed[: len(packed) // 2], headers={"Content-Type": "application/gzip"})
    assert_exact_error(r, 400, f"part 3: {ENDS_EARLY}; send the part again")
    # The Stream API document's example (`gzip -c | curl -d @-`) drops the gzip data's line feeds.
    mangled = packed.replace(b"\n", b"").replace(b"\r", b"")
    r = api.put(f"{url}/4", content=mangled, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json()["message"].startswith("part 4: the gzip data"), r.text
    execution = api.get(f"/v1/streams/{sid}/executions/{eid}").json()
    assert execution["uploadedParts"] == 1  # only the whole part
    before.assert_unchanged()
    committed = api.put(f"/v1/streams/{sid}/executions/{eid}/commit").json()
    assert committed["currentState"] == "SUCCESS" and committed["rows"] == 1
    assert api.get(f"/v1/datasets/{ds['id']}").json()["rows"] == 1


def test_a_cut_upload_part_is_refused_naming_the_part(server: Server) -> None:
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}) as inst:
        ds = loaded(inst)
        before = Snapshot(inst, ds["id"])
        base = f"/api/data/v3/datasources/{ds['id']}/uploads"
        upload = inst.post(base, json={"action": "APPEND"}).json()["uploadId"]
        packed = gzip.compress(ROWS)
        r = inst.put(
            f"{base}/{upload}/parts/3", content=packed[: int(len(packed) * 0.77)], headers={"Content-Encoding": "gzip"}
        )
        assert_exact_error(r, 400, f"part 3: {ENDS_EARLY}; send the part again")
        committed = inst.put(f"{base}/{upload}/commit", json={"action": "APPEND"}).json()
        assert committed["numRows"] == 0  # nothing of the refused part was kept
        before.assert_unchanged()


def test_a_body_shorter_than_its_content_length_is_refused(server: Server, api: httpx.Client) -> None:
    ds = loaded(api)
    before = Snapshot(api, ds["id"])
    sid = stream_of(api, ds["id"])
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    body = b"short,1\n" * 100
    head = (
        f"PUT /v1/streams/{sid}/executions/{eid}/part/2 HTTP/1.1\r\nHost: {server.host}\r\n"
        f"X-DOMO-Developer-Token: {server.dev_token}\r\nContent-Type: text/csv\r\n"
        f"Content-Length: {len(body) * 2}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)  # the client stops sending half way
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert b" 500 " not in reply.split(b"\r\n", 1)[0]
    log_line = f'"PUT /v1/streams/{sid}/executions/{eid}/part/2" 400'
    until(lambda: log_line in server.log_text(), 10, "the refusal of the short part")
    assert api.get(f"/v1/streams/{sid}/executions/{eid}").json()["uploadedParts"] == 0
    key = execution_key(server.catalog_url, sid, eid)
    assert catalog_rows(server.catalog_url, "SELECT count(*) FROM parts WHERE execution_id = :e", e=key) == [(0,)]
    before.assert_unchanged()


def test_an_encoding_domolite_cannot_decode_is_refused(api: httpx.Client) -> None:
    ds = loaded(api)
    before = Snapshot(api, ds["id"])
    r = api.put(f"/v1/datasets/{ds['id']}/data", content=b"x,1\n", headers={"Content-Encoding": "br"})
    assert_exact_error(r, 415, "Content-Encoding br is not supported; send the body as it is or gzip-compressed")
    before.assert_unchanged()


def test_a_record_longer_than_the_limit_is_a_400_naming_part_and_line(api: httpx.Client) -> None:
    ds = loaded(api)
    before = Snapshot(api, ds["id"])
    limit = 4 * 2**20  # the default max_record_bytes
    long_line = b"x" * (limit + 10) + b",1\n"
    good = b"".join(b"good%d,%d\n" % (i, i) for i in range(10_000))
    for body, line in ((long_line, 1), (good + long_line, 10_001), (good[:50_000] + long_line + good, 0)):
        line = line or good[:50_000].count(b"\n") + 1
        r = api.put(f"/v1/datasets/{ds['id']}/data", content=body)
        message = (
            f"the body, line {line}: the record is longer than {limit} bytes, the limit (the max_record_bytes setting)"
        )
        assert_exact_error(r, 400, message)
        before.assert_unchanged()
    sid = stream_of(api, ds["id"])
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    r = api.put(f"/v1/streams/{sid}/executions/{eid}/part/7", content=gzip.compress(good + long_line))
    message = f"part 7, line 10001: the record is longer than {limit} bytes, the limit (the max_record_bytes setting)"
    assert_exact_error(r, 400, message)
    # A record just under the limit loads whole.
    fits = b'"' + b"y" * (limit - 5) + b'",1\n'
    assert api.put(f"/v1/datasets/{ds['id']}/data", content=fits).status_code == 204
    got = api.post(f"/v1/datasets/query/execute/{ds['id']}", json={"sql": "SELECT length(city) AS l FROM table"})
    assert got.json()["rows"] == [[limit - 5]]


def test_refused_parts_leave_no_file_in_staging(server: Server, api: httpx.Client) -> None:
    ds = loaded(api)
    sid = stream_of(api, ds["id"])
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
    key = execution_key(server.catalog_url, sid, eid)
    packed = gzip.compress(ROWS)
    for n in range(3):
        r = api.put(f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=packed[:-4])
        assert r.status_code == 400
    staging = server.data_dir / "staging"
    leftovers = [p for p in staging.rglob("*") if p.is_file() and (f"execution-{key}" in str(p) or p.suffix == ".tmp")]
    assert leftovers == []
