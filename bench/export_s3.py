"""Benchmark: Export to S3 of a 1,000,000-row DataSet against boto3 `upload_file` of the same CSV bytes.

Both go to the same local S3 server (moto in server mode, its own process). Prints both times, the ratio
(boto3 time / domolite time: 1.0 means as fast, the target is at least 0.8) and the server's peak RSS.

    .venv/bin/python -m bench.export_s3 [--rows 1000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import httpx
import psutil
from boto3.s3.transfer import TransferConfig
from tests.serverproc import Server, free_port

from bench.gen_csv import SCHEMA, write_csv

KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("moto did not start")


class PeakRss:
    """Samples the RSS of a process tree every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    moto, s3_url = start_moto()
    server = Server(data_dir=work / "data").start()
    try:
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", **KEYS)
        s3.create_bucket(Bucket="bench")
        source = work / "rows.csv"
        size = write_csv(source, args.rows)
        print(f"generated {args.rows} rows, {size / 1e6:.1f} MB")
        with server.client() as api:
            columns = [{"name": n, "type": t} for n, t in SCHEMA]
            ds = api.post("/v1/datasets", json={"name": "bench", "schema": {"columns": columns}}).json()["id"]
            with source.open("rb") as f:
                r = api.put(f"/v1/datasets/{ds}/data", content=f, headers={"Content-Type": "text/csv"})
            r.raise_for_status()

            def export_once() -> tuple[float, str, int]:
                payload = {
                    "awsAccessKey": KEYS["aws_access_key_id"],
                    "awsAccessSecret": KEYS["aws_secret_access_key"],
                    "bucket": "bench",
                    "region": "us-east-1",
                    "path": f"run-{uuid.uuid4().hex[:8]}",
                    "endpointUrl": s3_url,
                    "queryRequest": {"includeBOM": False, "query": {}},
                }
                t0 = time.perf_counter()
                job = api.post(f"/api/query/v1/export/{ds}", json=payload).json()
                while job["exportStatus"] not in ("success", "error"):
                    time.sleep(0.02)
                    job = api.get(f"/api/query/v1/export/{ds}/{job['exportId']}").json()
                elapsed = time.perf_counter() - t0
                if job["exportStatus"] != "success":
                    raise RuntimeError(f"export failed: {job['errorCode']} {job['message']}")
                ((url, rows),) = job["urlRowCountMap"].items()
                return elapsed, url, rows

            exported = work / "exported.csv"
            ours: list[float] = []
            theirs: list[float] = []
            assert server.proc is not None
            with PeakRss(server.proc.pid) as rss:
                for _ in range(args.rounds):
                    elapsed, url, rows = export_once()
                    ours.append(elapsed)
            key = url.split("/", 3)[3]
            s3.download_file("bench", key, str(exported))
            nbytes = exported.stat().st_size
            for i in range(args.rounds):
                t0 = time.perf_counter()
                s3.upload_file(str(exported), "bench", f"boto3/{i}/data.csv", Config=TransferConfig())
                theirs.append(time.perf_counter() - t0)
        best_ours, best_theirs = min(ours), min(theirs)
        print(f"exported rows: {rows}, CSV bytes: {nbytes / 1e6:.1f} MB")
        print(f"domolite export (POST to success): best {best_ours:.2f} s  runs {[round(t, 2) for t in ours]}")
        print(f"boto3 upload_file, same bytes:     best {best_theirs:.2f} s  runs {[round(t, 2) for t in theirs]}")
        print(f"ratio (boto3 / domolite): {best_theirs / best_ours:.2f}  (target >= 0.8)")
        print(f"server peak RSS during exports: {rss.peak / 2**20:.0f} MiB  (target < 1024 MiB)")
    finally:
        server.stop()
        moto.terminate()
        moto.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
