"""The PostgreSQL catalog: with DOMOLITE_CATALOG_URL naming a PostgreSQL database, the metadata catalog and
DuckLake's metadata both live there (no SQLite file is made), and several server processes share it."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from pydomo import Domo

from tests.e2e.people import make_person, share
from tests.export.conftest import parse_csv, read_object
from tests.export.writeback import history, make_account, make_connector
from tests.pg import Postgres
from tests.postgres.test_migrations import (
    check_executions_are_numbered_per_stream_after_migrating,
    check_ids_never_reused_after_migrating,
    drift,
)
from tests.serverproc import Server

SCHEMA = {"columns": [{"type": "LONG", "name": "id"}, {"type": "STRING", "name": "name"}]}
FAST = {
    "DOMOLITE_SCHEDULER_MINUTE_S": "1",
    "DOMOLITE_SCHEDULER_TICK_S": "0.1",
    "DOMOLITE_PROCESS_HEARTBEAT_S": "0.2",
}


@pytest.fixture
def catalog_url(postgres: Postgres) -> str:
    return postgres.new_database()


def sorted_rows(api: httpx.Client, dataset_id: str) -> list[str]:
    r = api.get(f"/v1/datasets/{dataset_id}/data", params={"includeHeader": "false"})
    assert r.status_code == 200, r.text
    return sorted(r.text.splitlines())


def rows_at(api: httpx.Client, dataset_id: str, version: int) -> list[str]:
    """Time travel: the rows of one data version."""
    r = api.get(f"/api/data/v2/datasources/{dataset_id}/dataversions/latest", params={"dataVersion": version})
    assert r.status_code == 200, r.text
    return sorted(r.text.splitlines())


def commit_stream(api: httpx.Client, stream_id: int, parts: list[bytes]) -> dict[str, Any]:
    execution = api.post(f"/v1/streams/{stream_id}/executions", json={}).json()["id"]
    for n, part in enumerate(parts, start=1):
        r = api.put(f"/v1/streams/{stream_id}/executions/{execution}/part/{n}", content=part)
        assert r.status_code == 200, r.text
    done = api.put(f"/v1/streams/{stream_id}/executions/{execution}/commit", json={})
    assert done.status_code == 200, done.text
    return dict(done.json())


def test_a_server_keeps_datasets_streams_and_versions_in_postgresql(
    tmp_path: Path, postgres: Postgres, catalog_url: str
) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir=data_dir, env={"DOMOLITE_CATALOG_URL": catalog_url}).start()
    try:
        domo = Domo(
            server.client_id, server.client_secret, api_host=server.host, use_https=False, log_level=logging.ERROR
        )
        frame = pd.DataFrame({"id": [1, 2], "name": ["Ann", "Bob, Jr."]})
        pydomo_ds = domo.ds_create(frame, "made by pydomo on postgresql")
        assert domo.ds_get(pydomo_ds)["name"].tolist() == ["Ann", "Bob, Jr."]

        with server.client() as api:
            stream = api.post(
                "/v1/streams", json={"dataSet": {"name": "streamed", "schema": SCHEMA}, "updateMethod": "APPEND"}
            ).json()
            ds = stream["dataSet"]["id"]
            assert commit_stream(api, stream["id"], [b"1,one\n", b"2,two\n"])["currentState"] == "SUCCESS"
            assert commit_stream(api, stream["id"], [b"3,three\n"])["currentState"] == "SUCCESS"
            total = api.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT SUM(id) AS s FROM table"})
            assert total.json()["rows"] == [[6]]
            versions = api.get(f"/api/data/v3/datasources/{ds}/dataversions/details").json()
            assert [v["rowCount"] for v in versions] == [3, 2]
            first_version = versions[1]["dataId"]
            assert rows_at(api, ds, first_version) == ["1,one", "2,two"]

        server.stop()
        server.start()  # everything is read back from PostgreSQL and the Parquet files
        with server.client() as api:
            assert sorted_rows(api, ds) == ["1,one", "2,two", "3,three"]
            assert rows_at(api, ds, first_version) == ["1,one", "2,two"]
            assert api.get(f"/v1/datasets/{pydomo_ds}").json()["rows"] == 2
            for sort in ("owner", "-columnCount"):  # the Data Center's sorts, in PostgreSQL's SQL
                listed = api.get("/v1/datasets", params={"sort": sort})
                assert listed.status_code == 200, listed.text
                assert [d["name"] for d in listed.json()] == ["made by pydomo on postgresql", "streamed"]
            # Small commits are inlined in the metadata database; an index request writes them out as Parquet.
            indexed = api.post(f"/api/data/v3/datasources/{ds}/indexes", json={})
            assert indexed.status_code == 200, indexed.text
            assert sorted_rows(api, ds) == ["1,one", "2,two", "3,three"]
    finally:
        server.stop()

    # Nothing of the catalog is in a SQLite file; DuckLake's snapshots are PostgreSQL rows.
    assert not list(data_dir.rglob("*.sqlite*"))
    assert list((data_dir / "lake").rglob("*.parquet"))
    (datasets,) = postgres.query(catalog_url, "SELECT count(*) FROM datasets")[0]
    assert datasets == 2
    (snapshots,) = postgres.query(catalog_url, "SELECT count(*) FROM ducklake_snapshot")[0]
    assert snapshots >= 3  # one per commit, and the tables' creation
    (head,) = postgres.query(catalog_url, "SELECT version_num FROM alembic_version")[0]
    assert head == "0013_execution_parts"


@pytest.fixture
def pair(tmp_path: Path, catalog_url: str) -> Iterator[tuple[Server, Server]]:
    """Two server processes on one PostgreSQL catalog and one lake folder."""
    env = {"DOMOLITE_CATALOG_URL": catalog_url, **FAST}
    first = Server(data_dir=tmp_path / "data", env=env).start()
    second = first.sibling().start()
    yield first, second
    second.stop()
    first.stop()


def test_two_servers_share_one_postgresql_catalog(pair: tuple[Server, Server]) -> None:
    first, second = pair
    token = first.token()  # a token issued by one process is good at the other
    with first.client(token) as a, second.client(token) as b:
        streams = [
            a.post(
                "/v1/streams", json={"dataSet": {"name": f"shared {i}", "schema": SCHEMA}, "updateMethod": "APPEND"}
            ).json()
            for i in range(2)
        ]
        # Both processes commit at the same time, each to its own DataSet, three times.
        failures: list[BaseException] = []

        def commits(api: httpx.Client, stream_id: int, base: int) -> None:
            try:
                for k in range(3):
                    commit_stream(api, stream_id, [f"{base + k},row {base + k}\n".encode()])
            except BaseException as exc:
                failures.append(exc)

        threads = [
            threading.Thread(target=commits, args=(a, streams[0]["id"], 100)),
            threading.Thread(target=commits, args=(b, streams[1]["id"], 200)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures
        # Each process reads what the other wrote.
        assert sorted_rows(b, streams[0]["dataSet"]["id"]) == ["100,row 100", "101,row 101", "102,row 102"]
        assert sorted_rows(a, streams[1]["dataSet"]["id"]) == ["200,row 200", "201,row 201", "202,row 202"]
        assert b.get(f"/v1/datasets/{streams[0]['dataSet']['id']}").json()["rows"] == 3


def test_two_servers_on_postgresql_run_each_due_job_exactly_once(
    pair: tuple[Server, Server], s3_url: str, s3: Any, bucket: str
) -> None:
    first, second = pair
    with first.client() as a, second.client() as b:
        created = a.post(
            "/v1/datasets",
            json={"name": "input", "schema": {"columns": [{"name": "Region", "type": "STRING"}]}},
        ).json()["id"]
        assert b.put(f"/v1/datasets/{created}/data", content=b"West\nEast\n").status_code == 204
        account = make_account(a, s3_url, bucket, first.client_id, first.client_secret)
        fire_at = datetime.now(UTC) + timedelta(seconds=4)
        schedule = {"type": "DAY", "interval": 1, "timezone": "UTC", "time": fire_at.strftime("%H:%M:%S")}
        streams = [make_connector(a, account, created, path=f"pg/{i}", schedule=schedule)[0] for i in range(4)]

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = [history(a, s) for s in streams]
            if all(r and r[0]["currentState"] in ("SUCCESS", "ERROR") for r in runs):
                break
            time.sleep(0.2)
        time.sleep(2)  # room for a second run, if one process were to start one again
        for stream_id in streams:
            runs = history(b, stream_id)
            assert len(runs) == 1, runs
            assert runs[0]["currentState"] == "SUCCESS", runs[0]["errors"]
            assert runs[0]["runType"] == "AUTOMATED"
        # Each run exported the input once: one object per stream, with both rows.
        for i in range(4):
            found = s3.list_objects_v2(Bucket=bucket, Prefix=f"pg/{i}/").get("Contents", [])
            data = [o["Key"] for o in found if o["Key"].endswith("data.csv")]
            assert len(data) == 1, found
            assert parse_csv(read_object(s3, f"s3://{bucket}/{data[0]}"))[1] == [["West"], ["East"]]


def test_a_postgresql_catalog_migrated_from_empty_matches_the_declared_tables(catalog_url: str) -> None:
    assert drift(catalog_url) == []


def test_a_postgresql_catalog_migrated_to_0008_never_gives_an_id_twice(catalog_url: str) -> None:
    check_ids_never_reused_after_migrating(catalog_url)


def test_a_postgresql_catalog_migrated_to_0010_numbers_executions_per_stream(catalog_url: str) -> None:
    check_executions_are_numbered_per_stream_after_migrating(catalog_url)


def test_a_change_to_access_made_at_one_server_holds_at_the_other_on_its_next_request(
    pair: tuple[Server, Server],
) -> None:
    """Each server remembers the principal of a credential it has checked; what another process changes (a
    membership, a share, a role, a revocation) still holds from that process's next request on."""
    first, second = pair
    with first.client() as admin:
        person = make_person(first, admin, "Participant", "remembered")
        ds = admin.post("/v1/datasets", json={"name": "shared through a group", "schema": SCHEMA}).json()["id"]
        group = admin.post("/v1/groups", json={"name": f"readers-{uuid.uuid4().hex[:6]}"}).json()["id"]
        assert share(admin, ds, "GROUP", group, "READ").status_code == 200
        at_second = httpx.Client(base_url=second.url, headers={"X-DOMO-Developer-Token": person.token}, timeout=60)
        with person.http, at_second:
            assert at_second.get(f"/v1/datasets/{ds}").status_code == 403  # not a member yet
            assert admin.put(f"/v1/groups/{group}/users/{person.id}", json={}).status_code == 204
            assert at_second.get(f"/v1/datasets/{ds}").json()["name"] == "shared through a group"
            assert at_second.get(f"/v1/datasets/{ds}").status_code == 200  # remembered now
            assert admin.delete(f"/v1/groups/{group}/users/{person.id}").status_code == 204
            assert at_second.get(f"/v1/datasets/{ds}").status_code == 403
            assert at_second.get("/v1/users").status_code == 200
            assert admin.put(f"/v1/users/{person.id}", json={"role": "Admin"}).status_code == 200
            assert at_second.get(f"/v1/datasets/{ds}").status_code == 200  # an Admin reads every DataSet
            (mine,) = [t for t in person.http.get("/api/data/v1/accesstokens").json() if t["ownerId"] == person.id]
            assert person.http.delete(f"/api/data/v1/accesstokens/{mine['id']}").status_code == 204
            r = at_second.get("/v1/users")
            assert r.status_code == 401 and "revoked" in r.json()["message"]


def test_a_change_to_a_dataset_made_at_one_server_is_seen_at_the_other_on_its_next_request(
    pair: tuple[Server, Server],
) -> None:
    """Each server remembers the DataSet records it has read; what another process changes (a commit, a new name,
    a removal) is seen from that process's next request on: in the record, in a query and in a download."""
    first, second = pair
    token = first.token()
    with first.client(token) as a, second.client(token) as b:
        stream = a.post(
            "/v1/streams", json={"dataSet": {"name": "remembered", "schema": SCHEMA}, "updateMethod": "APPEND"}
        ).json()
        ds = stream["dataSet"]["id"]
        assert b.get(f"/v1/datasets/{ds}").json()["rows"] == 0
        assert b.get(f"/v1/datasets/{ds}").json()["rows"] == 0  # remembered now

        commit_stream(a, stream["id"], [b"1,one\n2,two\n"])
        assert b.get(f"/v1/datasets/{ds}").json()["rows"] == 2
        answer = b.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT id, name FROM table ORDER BY id"})
        assert answer.json()["rows"] == [[1, "one"], [2, "two"]]
        assert sorted_rows(b, ds) == ["1,one", "2,two"]

        assert a.put(f"/v1/datasets/{ds}", json={"name": "renamed at the first"}).status_code == 200
        assert b.get(f"/v1/datasets/{ds}").json()["name"] == "renamed at the first"

        assert a.delete(f"/v1/datasets/{ds}").status_code == 204
        gone = b.get(f"/v1/datasets/{ds}")
        assert gone.status_code == 404 and ds in gone.json()["message"]
