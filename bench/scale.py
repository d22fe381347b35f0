"""Benchmark: growth from 1,000,000 to 10,000,000 rows (the bench schema: about 81 and 810 MB of CSV).

For each size, on one fresh server: ingest through the Stream API (parts of 1,000,000 rows, 4 in parallel,
plain), a GROUP BY over every row, a filter that returns 100 rows, `GET .../data` read to the end, and an
Export to S3 to a local S3 server (moto), each timed; then the growth of each time from 1M to 10M (10.0x means
linear) and the server's peak RSS (target < 1 GiB throughout). Long-running: about 10 minutes on 2 cores.

    .venv/bin/python -m bench.scale [--sizes 1000000 10000000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import LiveServer, live_server, schema_json, workdir
from bench.export_s3 import KEYS, export_request, start_moto
from bench.gen_csv import SCHEMA_TAG, write_csv

PART_ROWS = 1_000_000
WORKERS = 4


def parts_for(root: Path, rows: int) -> list[Path]:
    paths = []
    for n in range(rows // PART_ROWS):
        path = root / f"scale-part-{n}-{SCHEMA_TAG}.csv"
        if not path.exists():
            write_csv(path, PART_ROWS, start=n * PART_ROWS)
        paths.append(path)
    return paths


def ingest(api: httpx.Client, parts: list[Path]) -> tuple[str, float]:
    stream = api.post(
        "/v1/streams", json={"dataSet": {"name": "scale", "schema": schema_json()}, "updateMethod": "REPLACE"}
    ).json()
    sid = stream["id"]
    started = time.perf_counter()
    eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]

    def send(n: int) -> int:
        return api.put(f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=parts[n].read_bytes()).status_code

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        assert list(pool.map(send, range(len(parts)))) == [200] * len(parts)
    done = api.put(f"/v1/streams/{sid}/executions/{eid}/commit")
    assert done.status_code == 200, done.text
    return str(stream["dataSet"]["id"]), time.perf_counter() - started


def query_s(api: httpx.Client, ds: str, sql: str, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds + 1):  # the first is the warm-up
        started = time.perf_counter()
        r = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": sql})
        assert r.status_code == 200, r.text
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def download_s(api: httpx.Client, ds: str) -> float:
    started = time.perf_counter()
    with api.stream("GET", f"/v1/datasets/{ds}/data", params={"includeHeader": "true"}) as r:
        assert r.status_code == 200
        for _chunk in r.iter_raw(1 << 20):
            pass
    return time.perf_counter() - started


def export_s(api: httpx.Client, ds: str, s3_url: str) -> float:
    started = time.perf_counter()
    job = api.post(f"/api/query/v1/export/{ds}", json=export_request(s3_url, "scale")).json()
    while job["exportStatus"] not in ("success", "error"):
        time.sleep(0.1)
        job = api.get(f"/api/query/v1/export/{ds}/{job['exportId']}").json()
    assert job["exportStatus"] == "success", job
    return time.perf_counter() - started


def measure(server: LiveServer, parts: list[Path], s3_url: str) -> dict[str, float]:
    with server.client() as api:
        ds, ingest_s = ingest(api, parts)
        rows = len(parts) * PART_ROWS
        middle = rows // 2
        return {
            "ingest": ingest_s,
            "GROUP BY": query_s(api, ds, "SELECT day, count(*) AS n, sum(qty) AS q FROM table GROUP BY day"),
            "100-row filter": query_s(api, ds, f"SELECT * FROM table WHERE id >= {middle} AND id < {middle + 100}"),
            "GET .../data": download_s(api, ds),
            "Export to S3": export_s(api, ds, s3_url),
            "peak RSS MiB": server.peak_rss_mib(),
        }


def main(argv: list[str] | None = None) -> dict[int, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args(argv)
    root = workdir()
    moto, s3_url = start_moto()
    import boto3

    boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", **KEYS).create_bucket(Bucket="scale")
    results: dict[int, dict[str, float]] = {}
    try:
        for rows in args.sizes:
            parts = parts_for(root, rows)
            size_mb = sum(p.stat().st_size for p in parts) / 1e6
            with live_server(root) as server:
                results[rows] = found = measure(server, parts, s3_url)
            print(f"scale: {rows:,} rows ({size_mb:.0f} MB of CSV)")
            for what, value in found.items():
                unit = "MiB" if "RSS" in what else "s"
                extra = f", {rows / value:,.0f} rows/s" if what == "ingest" else ""
                print(f"    {what:15s}: {value:8.2f} {unit}{extra}")
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    if len(args.sizes) >= 2:
        low, high = args.sizes[0], args.sizes[-1]
        print(f"    growth from {low:,} to {high:,} rows ({high / low:.0f}x the rows):")
        for what in results[low]:
            print(f"    {what:15s}: {results[high][what] / results[low][what]:.2f}x")
        peak = max(r["peak RSS MiB"] for r in results.values())
        print(f"    server peak RSS, every size: {peak:.0f} MiB (target < 1024)")
    return results


if __name__ == "__main__":
    main()
