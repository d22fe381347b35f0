"""Benchmark: many people at once. 8 uploaders (an execution of 4 parts of 20,000 rows, a commit, again) and 8
query clients (a GROUP BY over the DataSets being written and others) for 5 minutes on one server, against the
same commits with nothing else running and the same queries with nothing else running, in the same run.

Targets: 0 errors; query p99 under load <= 3x its idle p99; commit p99 under load <= 3x its idle p99; server
peak RSS < 1.5 GiB.

Uploads REPLACE their DataSet, so that every phase queries DataSets of the same size (80,000 rows each).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bench.common import LiveServer, live_server, schema_json, workdir
from bench.gen_csv import SCHEMA_TAG, write_csv

PART_ROWS = 20_000
PARTS = 4
READ_ONLY = 4
QUERY = "SELECT day, COUNT(*) AS n, SUM(amount) AS total FROM table GROUP BY day"


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    commits: list[float] = field(default_factory=list)  # seconds of each commit request
    executions: list[float] = field(default_factory=list)  # seconds of each whole execution (parts and commit)
    queries: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def make_parts() -> list[bytes]:
    root = workdir()
    parts = []
    for n in range(PARTS):
        path = root / f"load-part-{n}-{SCHEMA_TAG}.csv"
        if not path.exists():
            write_csv(path, PART_ROWS, start=n * PART_ROWS)
        parts.append(path.read_bytes())
    return parts


def new_dataset(api: httpx.Client, name: str) -> tuple[int, str]:
    r = api.post("/v1/streams", json={"dataSet": {"name": name, "schema": schema_json()}, "updateMethod": "REPLACE"})
    r.raise_for_status()
    return int(r.json()["id"]), str(r.json()["dataSet"]["id"])


def run_execution(api: httpx.Client, stream_id: int, parts: list[bytes], phase: Phase) -> None:
    started = time.perf_counter()
    r = api.post(f"/v1/streams/{stream_id}/executions")
    if r.status_code != 200:
        raise RuntimeError(f"execution: {r.status_code} {r.text[:200]}")
    eid = r.json()["id"]
    for n, part in enumerate(parts, start=1):
        put = api.put(f"/v1/streams/{stream_id}/executions/{eid}/part/{n}", content=part)
        if put.status_code != 200:
            raise RuntimeError(f"part: {put.status_code} {put.text[:200]}")
    commit_started = time.perf_counter()
    done = api.put(f"/v1/streams/{stream_id}/executions/{eid}/commit")
    ended = time.perf_counter()
    if done.status_code != 200 or done.json().get("currentState") != "SUCCESS":
        raise RuntimeError(f"commit: {done.status_code} {done.text[:200]}")
    phase.commits.append(ended - commit_started)
    phase.executions.append(ended - started)


def run_query(api: httpx.Client, dataset_id: str, phase: Phase) -> None:
    started = time.perf_counter()
    r = api.post(f"/v1/datasets/query/execute/{dataset_id}", json={"sql": QUERY})
    took = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"query: {r.status_code} {r.text[:200]}")
    phase.queries.append(took)


Step = Callable[[httpx.Client, int], None]  # one request (or execution) of a client; the int counts them


def run_phase(phase: Phase, seconds: float, clients: list[Step], server: LiveServer) -> None:
    ends_at = time.monotonic() + seconds

    def loop(step: Step) -> None:
        with server.client() as api:
            for i in itertools.count():
                if time.monotonic() >= ends_at:
                    return
                try:
                    step(api, i)
                except Exception as exc:
                    phase.errors.append(f"{type(exc).__name__}: {exc}"[:300])

    threads = [threading.Thread(target=loop, args=(step,)) for step in clients]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started


def report(phase: Phase) -> None:
    line = f"    {phase.name:18s} {phase.seconds:6.0f} s  errors {len(phase.errors)}"
    if phase.commits:
        line += (
            f"  commits {len(phase.commits)} ({len(phase.commits) / phase.seconds:.2f}/s)"
            f" p50 {percentile(phase.commits, 50):.3f} s p99 {percentile(phase.commits, 99):.3f} s"
            f" (whole execution p50 {percentile(phase.executions, 50):.3f} s)"
        )
    if phase.queries:
        line += (
            f"  queries {len(phase.queries)} ({len(phase.queries) / phase.seconds:.1f}/s)"
            f" p50 {percentile(phase.queries, 50) * 1000:.0f} ms p99 {percentile(phase.queries, 99) * 1000:.0f} ms"
        )
    print(line, flush=True)
    for error in phase.errors[:5]:
        print(f"      {error}")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--load-s", type=float, default=300, help="length of the phase with everything at once")
    parser.add_argument("--idle-s", type=float, default=60, help="length of each phase with one kind alone")
    parser.add_argument("--uploaders", type=int, default=8)
    parser.add_argument("--queriers", type=int, default=8)
    args = parser.parse_args(argv)
    parts = make_parts()
    print(
        f"load: {args.uploaders} uploaders ({PARTS} parts of {PART_ROWS:,} rows, then a commit) and "
        f"{args.queriers} query clients ({QUERY!r}); {args.idle_s:.0f} s of each alone, then {args.load_s:.0f} s "
        "of both",
        flush=True,
    )
    with live_server(workdir()) as server:
        with server.client() as api:
            written = [new_dataset(api, f"written {k}") for k in range(args.uploaders)]
            others = [new_dataset(api, f"read only {k}") for k in range(READ_ONLY)]
            for stream_id, _ in written + others:
                run_execution(api, stream_id, parts, Phase("fill"))
        targets = [ds for _, ds in written + others]

        def uploader(k: int, phase: Phase) -> Step:
            return lambda api, _i: run_execution(api, written[k][0], parts, phase)

        def querier(k: int, phase: Phase) -> Step:
            return lambda api, i: run_query(api, targets[(k + i) % len(targets)], phase)

        commits_alone, queries_alone, together = Phase("commits alone"), Phase("queries alone"), Phase("both at once")
        run_phase(commits_alone, args.idle_s, [uploader(k, commits_alone) for k in range(args.uploaders)], server)
        report(commits_alone)
        run_phase(queries_alone, args.idle_s, [querier(k, queries_alone) for k in range(args.queriers)], server)
        report(queries_alone)
        clients = [uploader(k, together) for k in range(args.uploaders)]
        clients += [querier(k, together) for k in range(args.queriers)]
        run_phase(together, args.load_s, clients, server)
        report(together)
        rss = server.peak_rss_mib()

    commit_ratio = percentile(together.commits, 99) / percentile(commits_alone.commits, 99)
    query_ratio = percentile(together.queries, 99) / percentile(queries_alone.queries, 99)
    errors = len(commits_alone.errors) + len(queries_alone.errors) + len(together.errors)
    print(f"    commit p99 under load / alone: {commit_ratio:.2f}x (target <= 3x)")
    print(f"    query p99 under load / alone:  {query_ratio:.2f}x (target <= 3x)")
    print(f"    errors: {errors} (target 0); server peak RSS: {rss:.0f} MiB (target < 1536 MiB)")
    return {"commit_p99_ratio": commit_ratio, "query_p99_ratio": query_ratio, "errors": errors, "peak_rss_mib": rss}


if __name__ == "__main__":
    main()
