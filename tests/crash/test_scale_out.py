"""Beyond one machine: three `domolite serve` processes, each on its own empty data dir, sharing only a PostgreSQL
catalog and a lake in S3 (moto in server mode). Whatever one process receives, another can commit and a third
read; a process killed mid-commit is settled by the others; scheduled connector runs happen once.

The processes renew their heartbeat every 0.2 s and count a schedule minute as one second."""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pandas as pd
import pytest
from pydomo import Domo

from tests.export.conftest import KEYS, parse_csv, read_object
from tests.export.writeback import history, make_account, make_connector
from tests.helpers import execution_key, until
from tests.pg import Postgres
from tests.serverproc import Server

PREFIX = "domolite"


@dataclass
class Trio:
    servers: list[Server]
    bucket: str
    s3: Any

    def client(self, n: int, token: str) -> httpx.Client:
        return self.servers[n].client(token)

    def instance(self, n: int) -> httpx.Client:
        """The instance API on process `n`, with the developer token."""
        server = self.servers[n]
        return httpx.Client(base_url=server.url, headers={"x-domo-developer-token": server.dev_token}, timeout=60)

    def keys(self, under: str) -> list[str]:
        found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{PREFIX}/{under}").get("Contents", [])
        return sorted(o["Key"] for o in found)


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, s3_url: str, s3: Any) -> Iterator[Trio]:
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    env = {
        "DOMOLITE_CATALOG_URL": postgres.new_database(),
        "DOMOLITE_LAKE_URL": f"s3://{bucket}/{PREFIX}",
        "DOMOLITE_LAKE_S3_ENDPOINT_URL": s3_url,
        "DOMOLITE_LAKE_S3_URL_STYLE": "path",
        "DOMOLITE_LAKE_S3_ACCESS_KEY": KEYS["awsAccessKey"],
        "DOMOLITE_LAKE_S3_SECRET_KEY": KEYS["awsAccessSecret"],
        "DOMOLITE_SIGNING_KEYS": secrets.token_hex(32),
        "DOMOLITE_ACCOUNT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DOMOLITE_PROCESS_HEARTBEAT_S": "0.2",
        "DOMOLITE_PROCESS_DEAD_AFTER_S": "2",
        "DOMOLITE_SCHEDULER_MINUTE_S": "1",
        "DOMOLITE_SCHEDULER_TICK_S": "0.1",
        "DOMOLITE_SCHEDULER_LEASE_S": "15",
    }
    # All three start at once on the empty catalog; one of them makes the first admin and prints its credentials.
    servers = [Server(data_dir=tmp_path_factory.mktemp(n) / "data", env=env, client_id="-") for n in ("a", "b", "c")]
    starters = [threading.Thread(target=s.start, kwargs={"timeout": 300}) for s in servers]
    for t in starters:
        t.start()
    for t in starters:
        t.join(320)
    try:
        banner = next(s.log_text() for s in servers if "first start; these credentials" in s.log_text())
        for s in servers:
            s.client_id = re.search(r"client id\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
            s.client_secret = re.search(r"client secret\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
            s.dev_token = re.search(r"developer token\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        assert all(s.proc is not None and s.proc.poll() is None for s in servers)
        yield Trio(servers, bucket, s3)
    finally:
        for s in servers:
            s.stop()


@pytest.fixture(scope="module")
def token(trio: Trio) -> str:
    return trio.servers[0].token()


def count(api: httpx.Client, ds: str) -> int:
    r = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT COUNT(*) FROM table"})
    assert r.status_code == 200, r.text
    return int(r.json()["rows"][0][0])


def new_stream(api: httpx.Client, name: str, method: str = "APPEND") -> tuple[int, str]:
    schema = {"columns": [{"type": "LONG", "name": "n"}, {"type": "STRING", "name": "s"}]}
    r = api.post("/v1/streams", json={"dataSet": {"name": name, "schema": schema}, "updateMethod": method})
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), str(r.json()["dataSet"]["id"])


def test_processes_keep_nothing_of_their_own_on_disk(trio: Trio) -> None:
    """Each started on an empty data dir and serves; keys came from the settings, data went to the bucket."""
    for server in trio.servers:
        assert not (server.data_dir / "signing.keys").exists()
        assert not (server.data_dir / "account.key").exists()
        assert not (server.data_dir / "lake" / "data").exists()
        assert httpx.get(server.url + "/ready").json()["checks"] == {"catalog": "ok", "lake": "ok"}


def test_pydomo_creates_through_one_process_and_reads_through_another(trio: Trio) -> None:
    one, two = (
        Domo(s.client_id, s.client_secret, api_host=s.host, use_https=False, log_level=logging.ERROR)
        for s in trio.servers[:2]
    )
    df = pd.DataFrame({"name": ["Ann", "Bob", "Cy"], "n": [1, 2, 3]})
    ds = one.ds_create(df, "made on one, read on two", "pydomo across processes")
    back = two.ds_get(ds)
    assert back.sort_values("n").reset_index(drop=True).to_dict("list") == df.to_dict("list")
    assert trio.keys("lake/"), "the DataSet's Parquet files are in the bucket"


def test_stream_parts_sent_round_robin_are_committed_on_another_process(trio: Trio, token: str) -> None:
    clients = [trio.client(n, token) for n in range(3)]
    try:
        sid, ds = new_stream(clients[0], "parts from everywhere")
        eid = clients[1].post(f"/v1/streams/{sid}/executions").json()["id"]
        for part in range(6):
            body = "".join(f"{part * 100 + i},part {part}\n" for i in range(100)).encode()
            r = clients[part % 3].put(f"/v1/streams/{sid}/executions/{eid}/part/{part}", content=body)
            assert r.status_code == 200, r.text
        key = execution_key(trio.servers[0].catalog_url, sid, eid)
        staged = trio.keys(f"staging/execution-{key}/")
        assert len(staged) == 6, staged  # every part in the bucket, whichever process received it
        for server in trio.servers:
            assert not list((server.data_dir / "staging").glob("execution-*"))
        done = clients[2].put(f"/v1/streams/{sid}/executions/{eid}/commit")
        assert done.status_code == 200 and done.json()["currentState"] == "SUCCESS", done.text
        assert count(clients[0], ds) == 600
        data = clients[1].get(f"/v1/datasets/{ds}/data", params={"includeHeader": "false"}).text.splitlines()
        assert sorted(data, key=lambda line: int(line.split(",")[0])) == [f"{n},part {n // 100}" for n in range(600)]
        assert trio.keys(f"staging/execution-{key}/") == []  # the commit removed its parts
        assert trio.keys("staging/incoming/") == []
    finally:
        for c in clients:
            c.close()


def test_upload_parts_sent_to_two_processes_are_committed_into_a_partition_by_a_third(trio: Trio) -> None:
    inst = [trio.instance(n) for n in range(3)]
    try:
        ds = new_stream(inst[0], "uploads from everywhere")[1]
        for tag, first in (("2026-11", 0), ("2026-12", 10)):
            opened = inst[0].post(f"/api/data/v3/datasources/{ds}/uploads", params={"dataTag": tag}, json={})
            assert opened.status_code == 200, opened.text
            upload_id = opened.json()["uploadId"]
            for n in (1, 2):
                r = inst[n].put(
                    f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/parts/{n}",
                    headers={"Content-Type": "text/csv"},
                    content=f"{first + n},{tag} part {n}\n".encode(),
                )
                assert r.status_code == 200, r.text
            commit = {"index": True, "action": "APPEND", "dataTag": tag, "appendId": "latest"}
            done = inst[2].put(f"/api/data/v3/datasources/{ds}/uploads/{upload_id}/commit", json=commit)
            assert done.status_code == 200, done.text
        found = inst[1].post(f"/api/query/v1/execute/{ds}", json={"sql": "SELECT * FROM table ORDER BY n"})
        assert found.json()["rows"] == [
            [1, "2026-11 part 1"],
            [2, "2026-11 part 2"],
            [11, "2026-12 part 1"],
            [12, "2026-12 part 2"],
        ]
        listed = inst[0].post(f"/api/query/v1/datasources/{ds}/partition/list", json={"limit": 100, "offset": 0})
        partitions = listed.json()
        assert sorted((p["partitionId"], p["rowCount"]) for p in partitions) == [("2026-11", 2), ("2026-12", 2)]
    finally:
        for c in inst:
            c.close()


def test_a_bad_part_received_elsewhere_is_named_by_the_committing_process(trio: Trio, token: str) -> None:
    with trio.client(0, token) as a, trio.client(1, token) as b:
        sid, ds = new_stream(a, "one bad value")
        eid = a.post(f"/v1/streams/{sid}/executions").json()["id"]
        assert a.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=b"1,fine\n").status_code == 200
        assert a.put(f"/v1/streams/{sid}/executions/{eid}/part/2", content=b"2,ok\nthree,bad\n").status_code == 200
        failed = b.put(f"/v1/streams/{sid}/executions/{eid}/commit")
        assert failed.status_code == 400, failed.text
        assert "part 2, line 2, column 'n': 'three' is not a whole number" in failed.json()["message"]
        assert count(b, ds) == 0


def test_time_travel_reads_old_versions_on_the_s3_lake(trio: Trio) -> None:
    before = set(trio.keys("lake/"))
    with trio.instance(0) as a, trio.instance(1) as b, trio.instance(2) as c:
        sid, ds = new_stream(a, "versions in the bucket", method="REPLACE")
        for n, api in enumerate((a, b)):
            eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
            api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=f"{n},version {n}\n".encode())
            assert api.put(f"/v1/streams/{sid}/executions/{eid}/commit").json()["currentState"] == "SUCCESS"
        versions = c.get(f"/api/data/v3/datasources/{ds}/dataversions/details").json()
        assert [v["rowCount"] for v in versions] == [1, 1]
        old, new = versions[1]["dataId"], versions[0]["dataId"]

        def rows(**params: Any) -> list[list[Any]]:
            r = c.post(f"/api/query/v1/execute/{ds}", params=params, json={"sql": "SELECT * FROM table"})
            assert r.status_code == 200, r.text
            return list(r.json()["rows"])

        assert rows(dataVersion=old) == [[0, "version 0"]]
        assert rows(dataVersion=new) == rows() == [[1, "version 1"]]
        assert len(set(trio.keys("lake/")) - before) >= 2  # a Parquet file for each version, at least
        assert b.delete(f"/v1/datasets/{ds}").status_code == 204
        assert set(trio.keys("lake/")) - before == set()  # every version's file left the bucket with it


def test_the_writeback_connector_scheduled_on_several_processes_runs_once(
    trio: Trio, token: str, s3_url: str, bucket: str
) -> None:
    first = trio.servers[0]
    with trio.client(0, token) as a, trio.client(1, token) as b:
        input_id = new_stream(a, "unloaded by whoever is due")[1]
        assert a.put(f"/v1/datasets/{input_id}/data", content=b"1,West\n2,East\n").status_code == 204
        account = make_account(a, s3_url, bucket, first.client_id, first.client_secret)
        fire_at = datetime.now(UTC) + timedelta(seconds=4)
        schedule = {"type": "DAY", "interval": 1, "timezone": "UTC", "time": fire_at.strftime("%H:%M:%S")}
        streams = [make_connector(a, account, input_id, path=f"once/{i}", schedule=schedule)[0] for i in range(3)]

        def ended(stream_id: int) -> bool:
            runs = history(a, stream_id)
            return bool(runs) and all(r["currentState"] in ("SUCCESS", "ERROR") for r in runs)

        until(lambda: all(ended(s) for s in streams), 60, "a run of every stream")
        time.sleep(2)  # room for a second run, if a process were to start one again
        for i, stream_id in enumerate(streams):
            runs = history(b, stream_id)
            assert len(runs) == 1, runs
            assert runs[0]["currentState"] == "SUCCESS" and runs[0]["runType"] == "AUTOMATED", runs[0]
            job = a.get(f"/api/data/v1/streams/{stream_id}/executions/{runs[0]['executionId']}").json()
            _, unloaded = parse_csv(read_object(trio.s3, f"s3://{bucket}/once/{i}/{job['exportId']}/export/data.csv"))
            assert sorted(unloaded) == [["1", "West"], ["2", "East"]]


def test_a_process_killed_mid_commit_is_settled_by_another(trio: Trio, token: str) -> None:
    """Runs last: it kills the second process."""
    rows = 300_000
    victim = trio.servers[1]
    with trio.client(0, token) as a, victim.client(token) as v:
        sid, ds = new_stream(a, "killed mid-commit")
        eid = a.post(f"/v1/streams/{sid}/executions").json()["id"]
        assert a.put(f"/v1/streams/{sid}/executions/{eid}/part/0", content=b"-1,old\n-2,old\n").status_code == 200
        assert a.put(f"/v1/streams/{sid}/executions/{eid}/commit").json()["currentState"] == "SUCCESS"
        eid = a.post(f"/v1/streams/{sid}/executions").json()["id"]
        key = execution_key(trio.servers[0].catalog_url, sid, eid)
        for n, api in enumerate((a, v)):
            part = "".join(f"{n * rows + i},row of a large commit\n" for i in range(rows)).encode()
            assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=part).status_code == 200

        def commit() -> None:
            try:
                v.put(f"/v1/streams/{sid}/executions/{eid}/commit")
            except httpx.HTTPError:
                pass  # the server was killed under it

        committer = threading.Thread(target=commit)
        committer.start()
        until(
            lambda: a.get(f"/v1/streams/{sid}/executions/{eid}").json()["currentState"] != "ACTIVE",
            30,
            "the commit's start",
            every=0.02,
        )
        assert a.get(f"/v1/streams/{sid}/executions/{eid}").json()["currentState"] == "COMMITTING"
        victim.kill9()
        committer.join(10)
        until(
            lambda: a.get(f"/v1/streams/{sid}/executions/{eid}").json()["currentState"] != "COMMITTING",
            20,
            "the settling of the killed process's commit",
        )
        execution = a.get(f"/v1/streams/{sid}/executions/{eid}").json()
        with trio.client(2, token) as c:
            total = count(c, ds)
            assert total in (2, 2 + 2 * rows), total  # wholly old or wholly new
            assert execution["currentState"] == ("SUCCESS" if total > 2 else "ERROR"), execution
            assert c.get(f"/v1/datasets/{ds}").json()["rows"] == total
        assert trio.keys(f"staging/execution-{key}/") == []  # the settling removed the parts from the bucket
