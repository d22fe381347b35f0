"""The server's Prometheus metrics (the only module importing prometheus_client): requests and their latency by
route, commits, rows ingested, exports and scheduler runs. Each process counts its own; /metrics shows them."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "domolite_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "domolite_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
COMMITS = Counter("domolite_commits", "Loads committed to the lake (each a data version).", registry=REGISTRY)
ROWS_INGESTED = Counter("domolite_rows_ingested", "Rows loaded into the lake by commits.", registry=REGISTRY)
EXPORTS = Counter("domolite_exports", "Export to S3 jobs ended, by their final state.", ["state"], registry=REGISTRY)
SCHEDULER_RUNS = Counter(
    "domolite_scheduler_runs", "Connector runs the scheduler ended, by outcome.", ["outcome"], registry=REGISTRY
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def request_done(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def committed(rows: int) -> None:
    COMMITS.inc()
    ROWS_INGESTED.inc(rows)


def export_ended(state: str) -> None:
    EXPORTS.labels(state).inc()


def scheduler_run_ended(failed: bool) -> None:
    SCHEDULER_RUNS.labels("failed" if failed else "succeeded").inc()


def exposition() -> bytes:
    """The text format Prometheus scrapes."""
    return generate_latest(REGISTRY)
