"""Export to S3 over HTTP, against a real S3-protocol server (moto in server mode). Every export is read back
from S3 and compared with the DataSet."""

from __future__ import annotations

import gzip
import io
import json
import uuid
from collections import defaultdict
from typing import Any

import duckdb
import httpx
import pytest
import zstandard

from tests.export.conftest import KEYS, body, keys_under, parse_csv, read_object
from tests.helpers import make_dataset, oauth_client, wait_export
from tests.serverproc import Server

REGIONS = ["West", "East", "Central", "South"]
PRODUCTS = ["Paper", "Binders", "Chairs, office", 'Tape "wide"', "Labels"]
COLUMNS = [
    ("Region", "STRING"),
    ("Product", "STRING"),
    ("Amount", "DOUBLE"),
    ("Qty", "LONG"),
    ("Day", "DATE"),
    ("Note", "STRING"),
]


def _rows(n: int) -> list[tuple[str, str, float, int, str, str | None]]:
    out = []
    for i in range(n):
        note = None if i % 7 == 0 else ("two\nlines" if i % 11 == 0 else f"note {i}")
        out.append(
            (
                REGIONS[i % 4],
                PRODUCTS[i % 5],
                round(i * 1.25, 2),
                i % 13,
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                note,
            )
        )
    return out


def _csv(rows: list[tuple[Any, ...]]) -> str:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


ROWS = _rows(400)


@pytest.fixture(scope="module")
def sales(api: httpx.Client) -> str:
    return make_dataset(api, COLUMNS, "export sales", csv=_csv(ROWS))["id"]


def dataset_rows(api: httpx.Client, dataset_id: str) -> tuple[list[str], list[list[str]]]:
    r = api.get(f"/v1/datasets/{dataset_id}/data", params={"includeHeader": "true"})
    assert r.status_code == 200
    return parse_csv(r.content)


def start(api: httpx.Client, dataset_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    r = api.post(f"/api/query/v1/export/{dataset_id}", json=payload)
    assert r.status_code == 200, r.text
    job: dict[str, Any] = r.json()
    return job


def run(api: httpx.Client, dataset_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    job = start(api, dataset_id, payload)
    done = wait_export(api, dataset_id, job["exportId"])
    assert done["exportStatus"] == "success", done
    return done


ALL_COLUMNS = [{"column": name, "exprType": "COLUMN"} for name, _ in COLUMNS]


def test_plain_export_writes_every_row_under_path_and_export_id(
    api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str
) -> None:
    payload = body(bucket, s3_url, {"columns": ALL_COLUMNS, "groupByColumns": [], "orderByColumns": []}, path="team/q3")
    first = start(api, sales, payload)
    assert set(first) == set(
        "bucket compression errorCode exportFormat exportId exportStatus finished message started "
        "tempUrlRowCountMap urlRowCountMap".split()
    )
    assert first["exportStatus"] in ("none", "exporting", "success")
    assert first["bucket"] == bucket and first["exportFormat"] == "csv" and first["compression"] == "none"
    job = wait_export(api, sales, first["exportId"])
    assert job["exportStatus"] == "success" and job["errorCode"] is None and job["finished"]
    data_url = f"s3://{bucket}/team/q3/{job['exportId']}/export/data.csv"
    assert job["urlRowCountMap"] == {data_url: len(ROWS)}
    assert job["rowsWritten"] == len(ROWS) and job["bytesWritten"] > 0
    header, rows = parse_csv(read_object(s3, data_url))
    assert (header, rows) == dataset_rows(api, sales)
    assert rows[0] == ["West", "Paper", "0.0", "0", "2024-01-01", ""]
    # the manifest is written last and lists every object
    assert keys_under(s3, bucket) == [
        f"team/q3/{job['exportId']}/export/data.csv",
        f"team/q3/{job['exportId']}/export/manifest.json",
    ]
    manifest = json.loads(read_object(s3, job["manifestUrl"]))
    assert manifest["rowCount"] == len(ROWS)
    assert manifest["entries"] == [
        {
            "url": data_url,
            "mandatory": True,
            "meta": {"content_length": job["bytesWritten"], "record_count": len(ROWS)},
        }
    ]
    # the status list shows it, in Domo's shape, and never the credentials
    listed = api.get(f"/api/query/v1/export/{sales}")
    assert listed.status_code == 200
    mine = [j for j in listed.json() if j["exportId"] == job["exportId"]]
    assert (
        len(mine) == 1 and mine[0]["exportStatus"] == "success" and mine[0]["urlRowCountMap"] == {data_url: len(ROWS)}
    )
    assert KEYS["awsAccessSecret"] not in listed.text and KEYS["awsAccessKey"] not in listed.text


def test_an_export_is_an_audit_event_naming_where_the_rows_went(
    server: Server, api: httpx.Client, s3_url: str, bucket: str, sales: str
) -> None:
    job = run(api, sales, body(bucket, s3_url, path="audited/exports"))
    with httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}) as admin:
        found = admin.get("/v1/audit", params={"actionType": "EXPORTED", "objectId": sales}).json()
    mine = [e for e in found if job["exportId"] in e["additionalComment"]]
    assert len(mine) == 1, found
    assert f"s3://{bucket}/audited/exports" in mine[0]["additionalComment"]
    assert mine[0]["objectType"] == "DATA_SOURCE" and mine[0]["objectName"] == "export sales"
    assert (
        mine[0]["userName"] == "Admin" and mine[0]["authentication"] == "oauth" and mine[0]["ipAddress"] == "127.0.0.1"
    )
    assert KEYS["awsAccessSecret"] not in str(found) and KEYS["awsAccessKey"] not in str(found)


def test_path_defaults_to_the_dataset_id(api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str) -> None:
    job = run(api, sales, body(bucket, s3_url))
    assert list(job["urlRowCountMap"]) == [f"s3://{bucket}/{sales}/{job['exportId']}/export/data.csv"]


def test_seed_filter_region_west_with_bom(api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str) -> None:
    query = {
        "columns": [{"column": "Product", "exprType": "COLUMN"}, {"column": "Region", "exprType": "COLUMN"}],
        "groupByColumns": [],
        "orderByColumns": [],
        "where": {
            "exprType": "EQUALS",
            "leftExpr": {"column": "Region", "exprType": "COLUMN"},
            "rightExpr": {"value": "West", "exprType": "STRING_VALUE"},
        },
    }
    payload = body(bucket, s3_url, query)
    payload["queryRequest"]["includeBOM"] = True
    job = run(api, sales, payload)
    ((url, count),) = job["urlRowCountMap"].items()
    raw = read_object(s3, url)
    assert raw.startswith(b"\xef\xbb\xbfProduct,Region\n")
    header, rows = parse_csv(raw[3:])
    expected = [[r[1], r[0]] for r in ROWS if r[0] == "West"]
    assert header == ["Product", "Region"] and rows == expected and count == len(expected) == 100


def test_grouped_aggregates_ordered(api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str) -> None:
    query = {
        "columns": [
            {"column": "Region", "exprType": "COLUMN"},
            {"column": "Amount", "exprType": "SUM"},
            {"column": "Qty", "exprType": "COUNT"},
            {"column": "Amount", "exprType": "AVG"},
            {"column": "Qty", "exprType": "MIN"},
            {"column": "Qty", "exprType": "MAX"},
            {"column": "Product", "exprType": "COUNT_DISTINCT"},
        ],
        "groupByColumns": [{"column": "Region", "exprType": "COLUMN"}],
        "orderByColumns": [{"column": "Amount", "exprType": "SUM", "order": "DESCENDING"}],
    }
    job = run(api, sales, body(bucket, s3_url, query))
    ((url, count),) = job["urlRowCountMap"].items()
    header, rows = parse_csv(read_object(s3, url))
    assert header == ["Region", "SUM(Amount)", "COUNT(Qty)", "AVG(Amount)", "MIN(Qty)", "MAX(Qty)"] + [
        "COUNT(DISTINCT Product)"
    ]
    groups: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in ROWS:
        groups[r[0]].append(r)
    expected = sorted(
        (
            [
                region,
                sum(r[2] for r in rs),
                len(rs),
                sum(r[2] for r in rs) / len(rs),
                min(r[3] for r in rs),
                max(r[3] for r in rs),
                len({r[1] for r in rs}),
            ]
            for region, rs in groups.items()
        ),
        key=lambda e: -e[1],
    )
    assert count == 4 and [r[0] for r in rows] == [e[0] for e in expected]
    for got, want in zip(rows, expected, strict=True):
        assert float(got[1]) == pytest.approx(want[1]) and float(got[3]) == pytest.approx(want[3])
        assert [int(got[2]), int(got[4]), int(got[5]), int(got[6])] == [want[2], want[4], want[5], want[6]]


def test_where_tree_with_every_operator(api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str) -> None:
    col = lambda name: {"column": name, "exprType": "COLUMN"}  # noqa: E731
    num = lambda v: {"value": v, "exprType": "NUMERIC_VALUE"}  # noqa: E731
    text = lambda v: {"value": v, "exprType": "STRING_VALUE"}  # noqa: E731
    where = {
        "exprType": "AND",
        "leftExpr": {
            "exprType": "OR",
            "leftExpr": {
                "exprType": "IN",
                "leftExpr": col("Region"),
                "rightExpr": [text("West"), text("East")],
            },
            "rightExpr": {"exprType": "LIKE", "leftExpr": col("Product"), "rightExpr": text("Chairs%")},
        },
        "rightExpr": {
            "exprType": "AND",
            "expressions": [
                {"exprType": "BETWEEN", "leftExpr": col("Qty"), "rightExpr": [num(2), num(9)]},
                {
                    "exprType": "NOT",
                    "expr": {"exprType": "CONTAINS", "leftExpr": col("Product"), "rightExpr": text("wide")},
                },
                {
                    "exprType": "NOT_IN",
                    "leftExpr": col("Qty"),
                    "rightExpr": {"exprType": "NUMERIC_VALUE", "value": [5, 6]},
                },
                {"exprType": "IS_NOT_NULL", "leftExpr": col("Note")},
                {
                    "exprType": "GREATER_THAN_EQUAL",
                    "leftExpr": col("Day"),
                    "rightExpr": {"exprType": "DATE_VALUE", "value": "2024-03-01"},
                },
                {"exprType": "NOT_EQUALS", "leftExpr": col("Amount"), "rightExpr": num(10)},
                {"exprType": "LESS_THAN", "leftExpr": col("Amount"), "rightExpr": num(400)},
            ],
        },
    }
    query = {
        "columns": [col("Region"), col("Product"), col("Qty")],
        "where": where,
        "orderByColumns": [{"column": "Qty", "exprType": "COLUMN", "order": "ASCENDING"}],
    }
    job = run(api, sales, body(bucket, s3_url, query))
    ((url, count),) = job["urlRowCountMap"].items()
    _header, rows = parse_csv(read_object(s3, url))
    expected = [
        r for r in ROWS
        if (r[0] in ("West", "East") or r[1].startswith("Chairs"))
        and 2 <= r[3] <= 9 and "wide" not in r[1] and r[3] not in (5, 6) and r[5] is not None
        and r[4] >= "2024-03-01" and r[2] != 10 and r[2] < 400
    ]  # fmt: skip
    assert count == len(expected) > 0
    assert sorted(rows) == sorted([[r[0], r[1], str(r[3])] for r in expected])
    assert [int(r[2]) for r in rows] == sorted(int(r[2]) for r in rows)


def test_gzip_zstd_and_parquet(api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str) -> None:
    header, expected = dataset_rows(api, sales)
    gz = run(api, sales, body(bucket, s3_url, compression="gzip"))
    ((url, _),) = gz["urlRowCountMap"].items()
    assert url.endswith("/export/data.csv.gz") and gz["compression"] == "gzip"
    assert parse_csv(gzip.decompress(read_object(s3, url))) == (header, expected)

    zst = run(api, sales, body(bucket, s3_url, compression="zstd"))
    ((url, _),) = zst["urlRowCountMap"].items()
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(read_object(s3, url))
    assert url.endswith(".csv.zst") and parse_csv(raw) == (header, expected)

    pq = run(api, sales, body(bucket, s3_url, exportFormat="parquet", compression="zstd"))
    ((url, count),) = pq["urlRowCountMap"].items()
    assert url.endswith("/export/data.parquet") and pq["exportFormat"] == "parquet" and count == len(ROWS)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [_tmp_file(read_object(s3, url))])
    got = con.execute('SELECT "Region", "Product", "Amount", "Qty", CAST("Day" AS VARCHAR), "Note" FROM t').fetchall()
    assert [tuple(r) for r in got] == [tuple(r) for r in ROWS]


def _tmp_file(data: bytes) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".parquet", delete=False) as f:
        f.write(data)
        return f.name


def test_large_export_is_split_into_objects_with_their_own_header(
    api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str
) -> None:
    job = run(api, sales, body(bucket, s3_url, maxFileSize=2048, queryRequest={"includeBOM": True, "query": {}}))
    urls = list(job["urlRowCountMap"])
    assert len(urls) > 5
    assert urls[0].endswith("/export/data.csv") and urls[1].endswith("/export/data_1.csv")
    header, expected = dataset_rows(api, sales)
    rows: list[list[str]] = []
    for url in urls:
        raw = read_object(s3, url)
        assert raw.startswith(b"\xef\xbb\xbf")
        part_header, part_rows = parse_csv(raw[3:])
        assert part_header == header and len(part_rows) == job["urlRowCountMap"][url]
        rows += part_rows
    assert rows == expected
    manifest = json.loads(read_object(s3, job["manifestUrl"]))
    assert [e["url"] for e in manifest["entries"]] == urls and manifest["rowCount"] == len(ROWS)


def test_large_parquet_export_is_split_into_files_in_row_order(
    api: httpx.Client, s3: Any, s3_url: str, bucket: str
) -> None:
    # DuckDB cuts Parquet files at row groups (122,880 rows): 250,000 rows past a 1 KiB size make three files
    lines = "".join(f"{i},row {i}\n" for i in range(250_000))
    ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")], "parquet in files", csv=lines)["id"]
    job = run(api, ds, body(bucket, s3_url, exportFormat="parquet", maxFileSize=1024))
    assert job["exportStatus"] == "success", job["message"]
    urls = list(job["urlRowCountMap"])
    assert [u.rsplit("/", 1)[1] for u in urls] == ["data.parquet", "data_1.parquet", "data_2.parquet"]
    con = duckdb.connect()
    got: list[tuple[Any, ...]] = []
    for url in urls:
        rows = con.execute("SELECT n, s FROM read_parquet(?)", [_tmp_file(read_object(s3, url))]).fetchall()
        assert len(rows) == job["urlRowCountMap"][url]
        got += rows
    assert got == [(i, f"row {i}") for i in range(250_000)]
    manifest = json.loads(read_object(s3, job["manifestUrl"]))
    assert [e["url"] for e in manifest["entries"]] == urls and manifest["rowCount"] == 250_000
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_identical_request_reuses_the_last_export_until_the_data_changes(
    api: httpx.Client, s3: Any, s3_url: str, bucket: str
) -> None:
    ds = make_dataset(api, [("n", "LONG")], "reuse", csv="1\n2\n")["id"]
    first = run(api, ds, body(bucket, s3_url))
    objects = keys_under(s3, bucket)
    again = start(api, ds, body(bucket, s3_url))
    assert again["exportId"] == first["exportId"] and again["exportStatus"] == "success"
    assert keys_under(s3, bucket) == objects  # nothing uploaded
    other_query = start(api, ds, body(bucket, s3_url, compression="gzip"))
    assert other_query["exportId"] != first["exportId"]
    wait_export(api, ds, other_query["exportId"])
    assert api.put(f"/v1/datasets/{ds}/data", content=b"3\n", params={"updateMethod": "APPEND"},
                   headers={"Content-Type": "text/csv"}).status_code == 204  # fmt: skip
    changed = run(api, ds, body(bucket, s3_url))
    assert changed["exportId"] != first["exportId"]
    assert list(changed["urlRowCountMap"].values()) == [3]


def test_bad_requests_name_the_field(api: httpx.Client, s3_url: str, bucket: str, sales: str) -> None:
    url = f"/api/query/v1/export/{sales}"
    bad_type = body(bucket, s3_url, {"columns": [{"column": "Amount", "exprType": "MEDIAN"}]})
    r = api.post(url, json=bad_type)
    assert r.status_code == 400 and "queryRequest.query.columns[0].exprType" in r.json()["message"]
    assert "MEDIAN" in r.json()["message"]
    bad_where = body(
        bucket,
        s3_url,
        {"where": {"exprType": "FUZZY", "leftExpr": {"column": "Region", "exprType": "COLUMN"}}},
    )
    r = api.post(url, json=bad_where)
    assert r.status_code == 400 and "where.exprType" in r.json()["message"] and "FUZZY" in r.json()["message"]
    r = api.post(url, json=body(bucket, s3_url, {"columns": [{"column": "Nope", "exprType": "COLUMN"}]}))
    assert r.status_code == 400 and "columns[0].column" in r.json()["message"] and "'Nope'" in r.json()["message"]
    no_bucket = body(bucket, s3_url)
    del no_bucket["bucket"]
    r = api.post(url, json=no_bucket)
    assert r.status_code == 400 and r.json()["message"].startswith("bucket:")
    r = api.post(url, json=body(bucket, s3_url, exportFormat="xml"))
    assert r.status_code == 400 and "exportFormat" in r.json()["message"]
    for past_the_years in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"):
        late = {"exprType": "DATE_VALUE", "value": past_the_years}
        where = {
            "where": {"exprType": "EQUALS", "leftExpr": {"column": "Region", "exprType": "COLUMN"}, "rightExpr": late}
        }
        r = api.post(url, json=body(bucket, s3_url, where))
        assert r.status_code == 400 and "where.rightExpr.value" in r.json()["message"], r.text  # was a 500
    assert set(r.json()) == {"status", "statusReason", "message", "toe"}
    assert not [j for j in api.get(url).json() if j["bucket"] == bucket]  # nothing was started


def test_auth_errors_and_unknown_dataset(
    server: Server, api: httpx.Client, s3_url: str, bucket: str, sales: str
) -> None:
    r = httpx.post(f"{server.url}/api/query/v1/export/{sales}", json=body(bucket, s3_url),
                   headers={"X-DOMO-Developer-Token": "DDCI-not-a-token"})  # fmt: skip
    assert r.status_code == 401
    r = httpx.get(f"{server.url}/api/query/v1/export/{sales}", headers={"X-DOMO-Developer-Token": server.dev_token})
    assert r.status_code == 200
    r = api.post("/api/query/v1/export/00000000-0000-0000-0000-000000000000", json=body(bucket, s3_url))
    assert r.status_code == 404
    with oauth_client(server, "user", "no data") as no_data:
        r = no_data.post(f"/api/query/v1/export/{sales}", json=body(bucket, s3_url))
    assert r.status_code == 403
    assert r.json()["message"].startswith("To access this endpoint you must have READ rights on the dataset")


def test_region_mismatch_is_refused_clearly(api: httpx.Client, s3: Any, s3_url: str, sales: str) -> None:
    paris = f"exports-in-paris-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=paris, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    r = api.post(f"/api/query/v1/export/{sales}", json=body(paris, s3_url))
    assert r.status_code == 400
    assert f"bucket {paris} is in eu-west-3, the request says us-east-1" in r.json()["message"]
    ok = run(api, sales, body(paris, s3_url, region="eu-west-3"))
    assert list(ok["urlRowCountMap"].values()) == [len(ROWS)]


def test_missing_bucket_is_refused(api: httpx.Client, s3_url: str, sales: str) -> None:
    r = api.post(f"/api/query/v1/export/{sales}", json=body("no-such-bucket-here", s3_url))
    assert r.status_code == 400 and r.json()["message"] == "bucket no-such-bucket-here does not exist"


def test_kms_key_is_applied(api: httpx.Client, s3: Any, s3_url: str, bucket: str, sales: str) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    job = run(api, sales, body(bucket, s3_url, awsKmsKey=key))
    ((url, _),) = job["urlRowCountMap"].items()
    head = s3.head_object(Bucket=bucket, Key=url.split("/", 3)[3])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key


def test_the_widest_schema_accepted_exports_as_csv_and_parquet(
    api: httpx.Client, s3: Any, s3_url: str, bucket: str
) -> None:
    width = 1500  # the default max_columns
    types = ["STRING", "LONG", "DOUBLE", "DECIMAL", "DATE", "DATETIME"]
    values = ["text", "7", "1.5", "2.25", "2024-01-31", "2024-01-31T10:11:12"]
    columns = [(f"wide column {i:04d}", types[i % 6]) for i in range(width)]
    row = ",".join(values[i % 6] for i in range(width)) + "\n"
    ds = make_dataset(api, columns, "widest export", csv=row * 2)["id"]
    csv_job = run(api, ds, body(bucket, s3_url, path="wide/csv"))
    header, rows = parse_csv(read_object(s3, next(iter(csv_job["urlRowCountMap"]))))
    assert len(header) == width and len(rows) == 2 and rows[0][1] == "7"
    pq = run(api, ds, body(bucket, s3_url, path="wide/parquet", exportFormat="parquet"))
    url = next(iter(pq["urlRowCountMap"]))
    assert url.endswith(".parquet") and pq["urlRowCountMap"][url] == 2
