"""Benchmark: the lake in S3 against the lake on disk, and ingest through two processes against one.

Three set-ups, in one run, each on a PostgreSQL catalog of its own (pgserver) and, for the lake in S3, a local
S3 server (moto in server mode):
1. one process, the lake in its folder (the baseline);
2. one process, the lake in a bucket (`DOMOLITE_LAKE_URL`);
3. two processes, each on its own empty data dir, sharing the catalog and the bucket.

Each ingests the same parts through the Stream API (WORKERS sent at once; in set-up 3 part n goes to process
n % 2, and the commit to the first), from the execution's opening to the commit's reply, then runs a GROUP BY
over every row (median of 5 warm rounds). Printed: each time, and the ratios S3 / local and two processes / one.

    .venv/bin/python -m bench.scale_out [--rows 2000000] [--part-rows 250000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3
import httpx
from tests.pg import running_postgres
from tests.serverproc import Server

from bench.common import schema_json, workdir
from bench.export_s3 import KEYS, start_moto
from bench.gen_csv import SCHEMA_TAG, write_csv
from bench.scale import query_s

WORKERS = 4
GROUP_BY = "SELECT day, count(*) AS n, sum(qty) AS q FROM table GROUP BY day"


def parts_for(root: Path, rows: int, part_rows: int) -> list[Path]:
    paths = []
    for n in range(max(1, rows // part_rows)):
        path = root / f"scale-out-{part_rows}-{n}-{SCHEMA_TAG}.csv"
        if not path.exists():
            write_csv(path, part_rows, start=n * part_rows)
        paths.append(path)
    return paths


@contextmanager
def servers(root: Path, name: str, count: int, env: dict[str, str]) -> Iterator[list[Server]]:
    """`count` processes, each on an empty data dir of its own, started together on `env`."""
    dirs = [root / f"{name}-{n}" for n in range(count)]
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    env = {**env, "DOMOLITE_LOG_LEVEL": "warning", "DOMOLITE_SCHEDULER_ENABLED": "false"}
    started = [Server(data_dir=d / "data", env=env, client_id="-") for d in dirs]
    with ExitStack() as stack:
        for s in started:
            stack.callback(s.stop)
        threads = [threading.Thread(target=s.start) for s in started]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        text = next(s.log_text() for s in started if "developer token" in s.log_text())
        token = text.split("developer token", 1)[1].split()[0]
        for s in started:
            s.dev_token = token
        yield started


def client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-DOMO-Developer-Token": server.dev_token}, timeout=600)


def ingest(apis: list[httpx.Client], parts: list[Path]) -> tuple[str, float]:
    """Seconds from opening an execution to the commit's reply, parts spread over `apis`."""
    first = apis[0]
    stream = first.post(
        "/v1/streams", json={"dataSet": {"name": "scale-out", "schema": schema_json()}, "updateMethod": "REPLACE"}
    ).json()
    sid = stream["id"]
    bodies = [p.read_bytes() for p in parts]
    started = time.perf_counter()
    eid = first.post(f"/v1/streams/{sid}/executions").json()["id"]

    def send(n: int) -> int:
        api = apis[n % len(apis)]
        return api.put(f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=bodies[n]).status_code

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        assert list(pool.map(send, range(len(parts)))) == [200] * len(parts)
    done = first.put(f"/v1/streams/{sid}/executions/{eid}/commit")
    assert done.status_code == 200 and done.json()["currentState"] == "SUCCESS", done.text
    return str(stream["dataSet"]["id"]), time.perf_counter() - started


def measure(root: Path, name: str, count: int, env: dict[str, str], parts: list[Path], rounds: int) -> dict[str, float]:
    with servers(root, name, count, env) as procs:
        apis = [client(s) for s in procs]
        try:
            ingests, queries = [], []
            for _ in range(rounds):
                ds, took = ingest(apis, parts)
                ingests.append(took)
                queries.append(query_s(apis[-1], ds, GROUP_BY))
        finally:
            for api in apis:
                api.close()
    return {"ingest": min(ingests), "GROUP BY": min(queries)}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--part-rows", type=int, default=250_000)
    parser.add_argument("--rounds", type=int, default=2, help="ingests per set-up (best is kept)")
    args = parser.parse_args(argv)
    root = workdir() / "scale-out"
    root.mkdir(parents=True, exist_ok=True)
    parts = parts_for(root, args.rows, args.part_rows)
    rows = len(parts) * args.part_rows
    size_mb = sum(p.stat().st_size for p in parts) / 1e6
    moto, s3_url = start_moto()
    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", **KEYS).create_bucket(Bucket=bucket)
    shared = {
        "DOMOLITE_SIGNING_KEYS": secrets.token_hex(32),
        "DOMOLITE_ACCOUNT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    in_s3 = {
        "DOMOLITE_LAKE_S3_ENDPOINT_URL": s3_url,
        "DOMOLITE_LAKE_S3_URL_STYLE": "path",
        "DOMOLITE_LAKE_S3_ACCESS_KEY": KEYS["aws_access_key_id"],
        "DOMOLITE_LAKE_S3_SECRET_KEY": KEYS["aws_secret_access_key"],
    }
    results: dict[str, dict[str, float]] = {}
    try:
        with running_postgres(root / "pg") as pg:

            def env(**extra: str) -> dict[str, str]:
                return {**shared, "DOMOLITE_CATALOG_URL": pg.new_database(), **extra}

            results["local lake, 1 process"] = measure(root, "local", 1, env(), parts, args.rounds)
            s3_one = env(DOMOLITE_LAKE_URL=f"s3://{bucket}/one", **in_s3)
            results["S3 lake, 1 process"] = measure(root, "s3-one", 1, s3_one, parts, args.rounds)
            s3_two = env(DOMOLITE_LAKE_URL=f"s3://{bucket}/two", **in_s3)
            results["S3 lake, 2 processes"] = measure(root, "s3-two", 2, s3_two, parts, args.rounds)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    print(f"scale_out: {rows:,} rows ({size_mb:.0f} MB of CSV) in {len(parts)} parts, {WORKERS} sent at once")
    for setup, found in results.items():
        print(
            f"    {setup:22s}: ingest {found['ingest']:6.2f} s ({rows / found['ingest']:,.0f} rows/s), "
            f"GROUP BY {found['GROUP BY'] * 1000:7.1f} ms"
        )
    local, one, two = results.values()
    print(
        f"    S3 / local lake      : ingest {one['ingest'] / local['ingest']:.2f}x the time, "
        f"GROUP BY {one['GROUP BY'] / local['GROUP BY']:.2f}x the time"
    )
    print(
        f"    2 processes / 1      : ingest {two['ingest'] / one['ingest']:.2f}x the time "
        f"({one['ingest'] / two['ingest']:.2f}x the rows/s)"
    )
    return results


if __name__ == "__main__":
    main()
