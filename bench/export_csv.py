"""Benchmark (b): GET /v1/datasets/{id}/data, against DuckDB writing the same rows to CSV. Target >= 0.6x."""

from __future__ import annotations

import time

from bench.common import baseline_connection, live_server, schema_json, workdir
from bench.ingest import ROWS, make_parts


def main() -> dict[str, float]:
    root = workdir()
    whole, _parts, _gz = make_parts(root)
    con = baseline_connection()
    from bench.common import duckdb_columns

    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{whole}', header=false, columns={duckdb_columns()})")
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        con.execute(
            f"COPY t TO '{root / 'baseline-export.csv'}' (FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S')"
        )
        timings.append(time.perf_counter() - started)
    base_s = min(timings)
    con.close()
    print(f"(b) export: {ROWS:,} rows")
    print(f"    baseline DuckDB COPY -> CSV: {base_s:.2f} s, {ROWS / base_s:,.0f} rows/s")
    with live_server(root) as server, server.client() as api:
        ds = api.post("/v1/datasets", json={"name": "export bench", "schema": schema_json()}).json()["id"]
        assert api.put(f"/v1/datasets/{ds}/data", content=whole.read_bytes()).status_code == 204
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            size = 0
            with api.stream("GET", f"/v1/datasets/{ds}/data", params={"includeHeader": "true"}) as r:
                assert r.status_code == 200
                for chunk in r.iter_raw(1 << 20):
                    size += len(chunk)
            best = min(best, time.perf_counter() - started)
        ratio = base_s / best
        rss = server.peak_rss_mib()
    print(f"    GET .../data: {best:.2f} s, {ROWS / best:,.0f} rows/s, {size / 1e6:.1f} MB, {ratio:.2f}x baseline")
    print(f"    server peak RSS: {rss:.0f} MiB")
    return {"export": ratio, "peak_rss_mib": rss}


if __name__ == "__main__":
    main()
