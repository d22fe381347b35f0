"""Benchmark (a): upload a CSV through the Stream API as parallel parts, against DuckDB's read_csv -> Parquet.

The rows have a DECIMAL column (values like `12345.67`), which the baseline reads as DECIMAL(18,2).

Targets (same run): gzip parts >= 0.45x and plain parts >= 0.6x the baseline's rows/s; server peak RSS < 1 GiB.
"""

from __future__ import annotations

import gzip
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import LiveServer, baseline_connection, duckdb_columns, live_server, schema_json, workdir
from bench.gen_csv import SCHEMA_TAG, write_csv

ROWS = 1_000_000
PARTS = 8
WORKERS = 4


def make_parts(root: Path) -> tuple[Path, list[Path], list[bytes]]:
    per = ROWS // PARTS
    parts = []
    for n in range(PARTS):
        path = root / f"part-{n}-{SCHEMA_TAG}.csv"
        if not path.exists():
            write_csv(path, per, start=n * per)
        parts.append(path)
    whole = root / f"whole-{SCHEMA_TAG}.csv"
    if not whole.exists():
        with whole.open("wb") as out:
            for p in parts:
                out.write(p.read_bytes())
    gz = [gzip.compress(p.read_bytes(), compresslevel=6) for p in parts]
    return whole, parts, gz


def baseline(whole: Path, out: Path) -> float:
    con = baseline_connection()
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{whole}', header=false, columns={duckdb_columns()})) "
        f"TO '{out}' (FORMAT parquet)"
    )
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def upload(server: LiveServer, bodies: list[bytes], gzipped: bool) -> float:
    with server.client() as api:
        ds = api.post(
            "/v1/streams",
            json={"dataSet": {"name": "bench", "schema": schema_json()}, "updateMethod": "REPLACE"},
        ).json()
        sid = ds["id"]
        headers = {"Content-Type": "text/csv", **({"Content-Encoding": "gzip"} if gzipped else {})}
        started = time.perf_counter()
        eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]

        def send(n: int) -> int:
            return api.put(
                f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=bodies[n], headers=headers
            ).status_code

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            codes = list(pool.map(send, range(len(bodies))))
        assert codes == [200] * len(bodies), codes
        done = api.put(f"/v1/streams/{sid}/executions/{eid}/commit")
        seconds = time.perf_counter() - started
        assert done.status_code == 200 and done.json()["rows"] == ROWS, done.text
        return seconds


def main() -> dict[str, float]:
    root = workdir()
    whole, parts, gz = make_parts(root)
    plain = [p.read_bytes() for p in parts]
    size_mb = whole.stat().st_size / 1e6
    print(f"(a) ingest: {ROWS:,} rows, {size_mb:.1f} MB CSV, {PARTS} parts, {WORKERS} in parallel")
    base_s = min(baseline(whole, root / "baseline.parquet") for _ in range(2))
    base_rps = ROWS / base_s
    print(f"    baseline DuckDB read_csv -> Parquet: {base_s:.2f} s, {base_rps:,.0f} rows/s")
    results: dict[str, float] = {}
    with live_server(root) as server:
        for label, bodies, gzipped in (("gzip parts", gz, True), ("plain parts", plain, False)):
            seconds = min(upload(server, bodies, gzipped) for _ in range(2))
            ratio = (ROWS / seconds) / base_rps
            results[label] = ratio
            print(f"    {label:12s}: {seconds:.2f} s, {ROWS / seconds:,.0f} rows/s, {ratio:.2f}x baseline")
        rss = server.peak_rss_mib()
        results["peak_rss_mib"] = rss
        print(f"    server peak RSS: {rss:.0f} MiB")
    return results


if __name__ == "__main__":
    main()
