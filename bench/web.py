"""The Data Center's two busiest pages, timed on a real server over loopback (whole request, to the last byte):
the DataSets list with 1,000 DataSets (first page, sorted by name) and the first Data preview page of a
10,000,000-row DataSet. Baselines in the same run: the API answering the same question (GET /v1/datasets with
the same page size, and the SQL API's first 50 rows). The preview is timed twice: as the admin, and as a user whom
PDP gives a tenth of the rows (the page shows the count of their rows).

    .venv/bin/python -m bench.web [--datasets 1000] [--rows 10000000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable

import duckdb
import httpx

from bench.common import live_server, workdir

ADMIN_EMAIL = "admin@domolite.local"
TARGET_LIST_MS = 300.0
TARGET_PREVIEW_MS = 200.0


def timed(call: Callable[[], httpx.Response], rounds: int) -> tuple[float, float]:
    """Best and median milliseconds of `rounds` calls, after one warm-up."""
    call().raise_for_status()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        r = call()
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text[:300]
    return min(times), statistics.median(times)


def signed_in(url: str) -> httpx.Client:
    web = httpx.Client(base_url=url, timeout=120)
    token = re.search(r'name="csrf" value="([^"]+)"', web.get("/signin").text)
    assert token
    r = web.post("/signin", data={"csrf": token.group(1), "email": ADMIN_EMAIL, "password": "bench"})
    assert r.status_code == 303 and "domolite_session" in web.cookies, r.text
    return web


def pdp_reader(admin_web: httpx.Client, api: httpx.Client, url: str, dataset_id: str) -> httpx.Client:
    """A participant made on the Admin page, with READ on the DataSet and a policy giving them a tenth of its rows
    (amount under 25; PDP on), signed in."""
    email, password = "bench-reader@example.com", "bench-reader"
    made = admin_web.post(
        "/admin/users",
        data={"csrf": admin_web.cookies["domolite_csrf"], "name": "Reader", "email": email, "password": password},
    )
    assert made.status_code == 303, made.text
    user = next(u["id"] for u in api.get("/v1/users", params={"limit": 500}).json() if u["email"] == email)
    grant = {"permissions": [{"type": "USER", "id": user, "accessLevel": "READ"}], "sendEmail": False}
    assert api.post(f"/api/data/v3/datasources/{dataset_id}/share", json=grant).status_code == 200
    policy = {"name": "a tenth", "filters": [{"column": "amount", "values": ["25"], "operator": "LESS_THAN"}]}
    r = api.post(f"/v1/datasets/{dataset_id}/policies", json={**policy, "users": [user]})
    assert r.status_code == 201, r.text
    assert api.put(f"/v1/datasets/{dataset_id}", json={"pdpEnabled": True}).status_code == 200
    web = httpx.Client(base_url=url, timeout=120)
    web.get("/signin")
    r = web.post("/signin", data={"csrf": web.cookies["domolite_csrf"], "email": email, "password": password})
    assert r.status_code == 303 and "domolite_session" in web.cookies, r.text
    return web


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    root = workdir()
    big_csv = root / f"web-{args.rows}.csv"
    if not big_csv.exists():
        duckdb.sql(
            f"COPY (SELECT i AS id, 'customer ' || (i % 997) AS name, (i % 1000) / 4.0 AS amount "
            f"FROM range({args.rows}) t(i)) TO '{big_csv}' (FORMAT csv, HEADER false)"
        )
    with live_server(root, port=8767) as server, server.client() as api:
        columns = [{"name": "id", "type": "LONG"}, {"name": "name", "type": "STRING"}]
        columns.append({"name": "amount", "type": "DOUBLE"})
        started = time.perf_counter()
        for i in range(args.datasets - 1):
            r = api.post("/v1/datasets", json={"name": f"bench dataset {i:04d}", "schema": {"columns": columns}})
            assert r.status_code == 201, r.text
        big = api.post("/v1/datasets", json={"name": "bench big", "schema": {"columns": columns}}).json()["id"]
        made_s = time.perf_counter() - started
        started = time.perf_counter()
        with big_csv.open("rb") as f:
            r = api.put(f"/v1/datasets/{big}/data", content=f, headers={"Content-Type": "text/csv"})
        assert r.status_code == 204, r.text
        load_s = time.perf_counter() - started
        assert api.get(f"/v1/datasets/{big}").json()["rows"] == args.rows
        print(f"web: {args.datasets:,} DataSets made in {made_s:.1f} s; {args.rows:,} rows loaded in {load_s:.1f} s")

        web = signed_in(server.url)
        try:
            list_page = timed(lambda: web.get("/", params={"sort": "name"}), args.rounds)
            list_api = timed(lambda: api.get("/v1/datasets", params={"limit": 26, "sort": "name"}), args.rounds)
            preview = timed(lambda: web.get(f"/datasources/{big}/details/data"), args.rounds)
            sql = {"sql": "SELECT * FROM table LIMIT 51"}
            preview_api = timed(lambda: api.post(f"/v1/datasets/query/execute/{big}", json=sql), args.rounds)
            reader = pdp_reader(web, api, server.url, big)
            try:
                pdp_preview = timed(lambda: reader.get(f"/datasources/{big}/details/data"), args.rounds)
            finally:
                reader.close()
        finally:
            web.close()
        rss = server.peak_rss_mib()
    for label, (best, median), (b_best, b_median), target in (
        (f"DataSets list page, {args.datasets:,} DataSets", list_page, list_api, TARGET_LIST_MS),
        (f"first Data preview page, {args.rows:,} rows", preview, preview_api, TARGET_PREVIEW_MS),
        ("the same, as a PDP-filtered user (a tenth of the rows)", pdp_preview, preview_api, TARGET_PREVIEW_MS),
    ):
        verdict = "meets" if median < target else "MISSES"
        print(
            f"    {label}: best {best:.1f} ms, median {median:.1f} ms "
            f"(API baseline best {b_best:.1f} ms, median {b_median:.1f} ms); target < {target:.0f} ms: {verdict}"
        )
    print(f"    server peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
