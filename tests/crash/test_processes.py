"""Several server processes on one catalog: a process settles another's work (a running export, an import it is
receiving) only once that process is gone, and then without being restarted itself.

The servers here renew their heartbeat every 0.2 s; S3 is reached through a TCP proxy that holds the upload."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.export.conftest import body, parse_csv, read_object
from tests.export.tcpproxy import TcpProxy
from tests.helpers import execution_key, make_dataset, wait_export
from tests.serverproc import Server

FAST_HEARTBEAT = {"DOMOLITE_PROCESS_HEARTBEAT_S": "0.2", "DOMOLITE_PROCESS_DEAD_AFTER_S": "2"}


@pytest.fixture
def proxy(s3_url: str) -> Iterator[TcpProxy]:
    p = TcpProxy(int(s3_url.rsplit(":", 1)[1])).start()
    yield p
    p.released.set()
    p.stop()


@pytest.fixture
def first(tmp_path: Path) -> Iterator[Server]:
    server = Server(data_dir=tmp_path / "data", env=FAST_HEARTBEAT).start()
    yield server
    server.stop()


def status(api: httpx.Client, ds: str, export_id: str) -> dict[str, Any]:
    job: dict[str, Any] = api.get(f"/api/query/v1/export/{ds}/{export_id}").json()
    return job


def test_a_starting_server_leaves_a_running_export_of_another_alone(
    first: Server, proxy: TcpProxy, s3: Any, bucket: str
) -> None:
    with first.client() as api:
        ds = make_dataset(api, [("n", "LONG")], "exported while another starts", csv="1\n2\n3\n")["id"]
        proxy.hold_prefix = b"POST "  # the upload waits at S3's door
        started = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url)).json()
        wait_export(api, ds, started["exportId"], "exporting")

        second = first.sibling().start()
        try:
            with second.client() as other:
                time.sleep(1.0)  # five of the second process's heartbeats, each one settling gone processes' work
                seen = status(other, ds, started["exportId"])
                assert seen["exportStatus"] == "exporting", seen
        finally:
            second.stop()

        proxy.released.set()
        done = wait_export(api, ds, started["exportId"])
        assert done["exportStatus"] == "success", done
        ((url, rows),) = done["urlRowCountMap"].items()
        assert rows == 3
        assert parse_csv(read_object(s3, url)) == (["n"], [["1"], ["2"], ["3"]])


def test_the_export_of_a_killed_server_is_settled_by_a_running_one(first: Server, proxy: TcpProxy, bucket: str) -> None:
    second = first.sibling().start()
    try:
        with first.client() as api:
            ds = make_dataset(api, [("n", "LONG")], "its server dies", csv="1\n")["id"]
            proxy.hold_prefix = b"POST "
            started = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url)).json()
            wait_export(api, ds, started["exportId"], "exporting")
        first.kill9()
        with second.client() as other:
            # No restart: the second process sees the first one's pid gone at its next heartbeat.
            job = wait_export(other, ds, started["exportId"], "error", timeout=10)
            assert job["errorCode"] == "INTERRUPTED"
            assert job["message"] == "interrupted: the server process running it stopped"
            proxy.released.set()
            again = other.post(f"/api/query/v1/export/{ds}", json=body(bucket, proxy.url)).json()
            assert again["exportId"] != started["exportId"]  # the DataSet is free for a new export
            assert wait_export(other, ds, again["exportId"])["exportStatus"] == "success"
    finally:
        second.stop()


def test_an_import_in_flight_survives_another_server_starting(first: Server) -> None:
    rows = [f"{i},name {i}\n".encode() for i in range(2000)]
    sent_half = threading.Event()
    go_on = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b"".join(rows[:1000])
        sent_half.set()
        go_on.wait(30)
        yield b"".join(rows[1000:])

    with first.client() as api:
        ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")], "slow import", csv="")["id"]
        result: dict[str, httpx.Response] = {}

        def send() -> None:
            result["reply"] = api.put(
                f"/v1/datasets/{ds}/data", content=slow_body(), headers={"Content-Type": "text/csv"}
            )

        sender = threading.Thread(target=send)
        sender.start()
        assert sent_half.wait(30)
        second = first.sibling().start()  # its start settles gone processes' imports, not this one
        try:
            time.sleep(0.6)
        finally:
            go_on.set()
            sender.join(60)
            second.stop()
        assert result["reply"].status_code == 204, result["reply"].text
        data = api.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "false"}).text
        assert sorted(data.splitlines(), key=lambda line: int(line.split(",")[0])) == [
            f"{i},name {i}" for i in range(2000)
        ]


def test_a_commit_caught_by_its_servers_death_is_settled_by_a_running_one(first: Server) -> None:
    rows = 400_000
    second = first.sibling().start()
    try:
        with first.client() as api:
            ds = make_dataset(api, [("n", "LONG"), ("s", "STRING")], "killed mid-commit", csv="-1,old\n-2,old\n")["id"]
            sid = api.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()[0]["id"]
            api.patch(f"/v1/streams/{sid}", json={"updateMethod": "APPEND"})
            eid = api.post(f"/v1/streams/{sid}/executions").json()["id"]
            key = execution_key(first.catalog_url, sid, eid)
            for n in range(3):
                part = "".join(f"{n * rows + i},row of a large commit\n" for i in range(rows)).encode()
                assert api.put(f"/v1/streams/{sid}/executions/{eid}/part/{n}", content=part).status_code == 200
            committer = threading.Thread(target=lambda: _quietly(api.put, f"/v1/streams/{sid}/executions/{eid}/commit"))
            committer.start()
            deadline = time.monotonic() + 30
            state = "ACTIVE"
            while state == "ACTIVE" and time.monotonic() < deadline:
                state = api.get(f"/v1/streams/{sid}/executions/{eid}").json()["currentState"]
            assert state == "COMMITTING"
            first.kill9()
            committer.join(10)
        with second.client() as other:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                execution = other.get(f"/v1/streams/{sid}/executions/{eid}").json()
                if execution["currentState"] != "COMMITTING":
                    break
                time.sleep(0.1)
            counted = other.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT COUNT(*) FROM table"})
            total = counted.json()["rows"][0][0]
            assert total in (2, 2 + 3 * rows), total
            # Settled without a restart: SUCCESS when the snapshot reached the lake, ERROR when it did not.
            assert execution["currentState"] == ("SUCCESS" if total > 2 else "ERROR"), execution
            assert other.get(f"/v1/datasets/{ds}").json()["rows"] == total
    finally:
        second.stop()
    assert not (first.data_dir / "staging" / f"execution-{key}").exists()


def _quietly(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except httpx.HTTPError:
        pass  # the server was killed under it


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("method", ["REPLACE", "APPEND"])
def test_two_servers_committing_to_one_dataset_at_once_both_succeed(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, method: str
) -> None:
    """A commit that collides with another process's commit to the same DataSet is tried again, whole."""
    env = dict(FAST_HEARTBEAT)
    if backend == "postgresql":
        env["DOMOLITE_CATALOG_URL"] = request.getfixturevalue("postgres").new_database()
    first = Server(data_dir=tmp_path / "data", env=env).start()
    second = first.sibling().start()
    try:
        token = first.token()
        with first.client(token) as a, second.client(token) as b:
            schema = {"columns": [{"type": "LONG", "name": "n"}, {"type": "STRING", "name": "by"}]}
            stream = a.post(
                "/v1/streams", json={"dataSet": {"name": "contended", "schema": schema}, "updateMethod": method}
            )
            sid, ds = stream.json()["id"], stream.json()["dataSet"]["id"]
            states: list[str] = []

            def commits(api: httpx.Client, who: str) -> None:
                for k in range(5):
                    eid = api.post(f"/v1/streams/{sid}/executions", json={}).json()["id"]
                    api.put(f"/v1/streams/{sid}/executions/{eid}/part/1", content=f"{k},{who}\n".encode())
                    done = api.put(f"/v1/streams/{sid}/executions/{eid}/commit", json={})
                    states.append(f"{done.status_code} {done.json().get('currentState')}")

            threads = [threading.Thread(target=commits, args=(a, "a")), threading.Thread(target=commits, args=(b, "b"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert states == ["200 SUCCESS"] * 10
            data = sorted(a.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "false"}).text.splitlines())
            if method == "APPEND":
                assert data == sorted(f"{k},{who}" for k in range(5) for who in "ab")
            else:  # the last REPLACE of either server
                assert data in (["4,a"], ["4,b"])
            assert b.get(f"/v1/datasets/{ds}").json()["rows"] == len(data)
    finally:
        second.stop()
        first.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_servers_starting_together_on_an_empty_catalog_both_come_up(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """They migrate one after the other, and one of them makes the first admin, client and token."""
    env: dict[str, str] = {}
    if backend == "postgresql":
        env["DOMOLITE_CATALOG_URL"] = request.getfixturevalue("postgres").new_database()
    # Credentials are read from whichever log shows them; "-" keeps start() from looking for them itself.
    servers = [
        Server(data_dir=tmp_path / "data", env=env, client_id="-", log_path=tmp_path / f"server-{n}.log")
        for n in range(2)
    ]
    failures: list[BaseException] = []

    def start(server: Server) -> None:
        try:
            server.start()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert not failures, failures
        banners = [s for s in servers if "first start; these credentials are shown once" in s.log_text()]
        assert len(banners) == 1, [s.log_text()[-2000:] for s in servers]
        shown = banners[0].log_text()
        client_id = shown.split("client id", 1)[1].split()[0]
        client_secret = shown.split("client secret", 1)[1].split()[0]
        for server in servers:
            r = httpx.post(
                server.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
            )
            assert r.status_code == 200, r.text
            users = httpx.get(server.url + "/v1/users", headers={"Authorization": f"bearer {r.json()['access_token']}"})
            assert [u["email"] for u in users.json()] == ["admin@domolite.local"]
    finally:
        for server in servers:
            server.stop()
