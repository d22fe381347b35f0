"""`domolite upload|export|query|datasets|versions|login` against a real server, over its public HTTP APIs only."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import pty
import re
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

from tests.client.conftest import Cli
from tests.client.holding_proxy import HoldingProxy
from tests.serverproc import Server, free_port

ANSI = re.compile(r"\x1b\[")


def write_csv(path: Path, rows: int, start: int = 0) -> Path:
    lines = ["id,city,amount,day"] + [
        f'{i},"City, {i % 7}",{i / 4},2024-03-{i % 28 + 1:02d}' for i in range(start, start + rows)
    ]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def sql(srv: Server, dataset_id: str, text: str) -> list[list[object]]:
    with srv.client() as api:
        r = api.post(f"/v1/datasets/query/execute/{dataset_id}", json={"sql": text})
        assert r.status_code == 200, r.text
        return list(r.json()["rows"])


def dataset_id_of(out: str) -> str:
    found = re.search(r"into DataSet ([0-9a-f-]{36})", out)
    assert found, out
    return found.group(1)


def test_upload_detects_the_schema_sends_parts_and_prints_plain_lines_when_piped(cli: Cli, tmp_path: Path) -> None:
    done = cli.run("upload", str(write_csv(tmp_path / "sales.csv", 20000)), "--name", "sales", "--part-size", "8192")
    ds = dataset_id_of(done.stdout)
    assert "loaded 20000 rows" in done.stdout
    assert not ANSI.search(done.stderr + done.stdout), "no terminal codes when piped"
    sent = re.findall(r"^part (\d+) of (\d+) sent$", done.stderr, re.MULTILINE)
    parts = int(sent[0][1])
    assert parts > 1 and sorted(int(n) for n, _ in sent) == list(range(1, parts + 1))
    with cli.server.client() as api:
        meta = api.get(f"/v1/datasets/{ds}").json()
    assert meta["name"] == "sales" and meta["rows"] == 20000
    assert [(c["name"], c["type"]) for c in meta["schema"]["columns"]] == [
        ("id", "LONG"), ("city", "STRING"), ("amount", "DOUBLE"), ("day", "DATE"),
    ]  # fmt: skip
    assert sql(cli.server, ds, "SELECT COUNT(DISTINCT id), SUM(id), MIN(city), MAX(day) FROM table") == [
        [20000, sum(range(20000)), "City, 0", "2024-03-28"]
    ]


def test_append_a_gzip_csv_then_replace_with_parquet_and_list_versions(cli: Cli, tmp_path: Path) -> None:
    first = cli.run("upload", str(write_csv(tmp_path / "a.csv", 100)), "--name", "grows")
    ds = dataset_id_of(first.stdout)
    cli.run("upload", str(write_csv(tmp_path / "b.csv.gz", 50, start=100)), "--dataset-id", ds, "--method", "APPEND")
    assert sql(cli.server, ds, "SELECT COUNT(*), MAX(id) FROM table") == [[150, 149]]
    parquet = tmp_path / "c.parquet"
    duckdb.execute(f"COPY (SELECT i AS id, 'x' AS city, 1.5 AS amount, DATE '2024-01-01' AS day FROM range(7) t(i)) "
                   f"TO '{parquet}' (FORMAT parquet)")  # fmt: skip
    cli.run("upload", str(parquet), "--dataset-id", ds, "--method", "REPLACE")
    assert sql(cli.server, ds, "SELECT COUNT(*), MIN(city) FROM table") == [[7, "x"]]
    versions = json.loads(cli.run("versions", ds, "--json").stdout)
    assert [(v["updateMethod"], v["numRows"], v["rowCount"]) for v in versions] == [
        ("REPLACE", 7, 7), ("APPEND", 50, 150), ("REPLACE", 100, 100),
    ]  # fmt: skip
    table = cli.run("versions", ds).stdout.splitlines()
    assert table[0].split("\t") == ["version", "recorded", "method", "rows loaded", "rows after"]
    assert table[1].split("\t")[2:] == ["REPLACE", "7", "7"]


def test_progress_is_a_bar_on_a_terminal(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tty.csv", 20000)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        cli.command("upload", str(path), "--name", "tty", "--part-size", "16384"),
        stdin=terminal, stdout=terminal, stderr=terminal, env=cli.env(), close_fds=True,
    )  # fmt: skip
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(controller)
    assert proc.wait(timeout=30) == 0, output.decode(errors="replace")
    text = output.decode(errors="replace")
    assert ANSI.search(text), "a terminal gets rich's drawing"
    assert "━" in text and "100%" in text and "uploading tty.csv" in text
    assert not re.search(r"^part \d+ of \d+ sent", text, re.MULTILINE), "no plain part lines on a terminal"
    assert "loaded 20000 rows" in text


def test_resume_after_the_upload_is_killed_midway_loads_every_row_once(cli: Cli, tmp_path: Path) -> None:
    rows = 60000
    path = write_csv(tmp_path / "big.csv", rows)
    args = ("upload", str(path), "--name", "resumed", "--part-size", "16384", "--parallel", "1")
    uploads = tmp_path / "cache" / "domolite" / "uploads"
    # Parts go one at a time; the proxy holds part 4, so the kill comes after parts 1 to 3 were taken.
    with HoldingProxy(cli.server.url, hold=r"/part/4$").running() as proxy:
        env = cli.env(DOMOLITE_SERVER=proxy.url)
        proc = subprocess.Popen(cli.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            assert proxy.held.wait(120), "the upload reached part 4"
        finally:
            proc.send_signal(signal.SIGKILL)
            _, stderr = proc.communicate(timeout=30)
        proxy.drop()
        assert proc.returncode == -signal.SIGKILL, stderr.decode(errors="replace")
        state = json.loads(next(uploads.glob("*/state.json")).read_text())
        assert next(uploads.glob("*/sent.log")).read_text().split() == ["1", "2", "3"]
        assert len(state["parts"]) > 4, state["parts"]
        ds = state["dataset"]
        with cli.server.client() as api:
            assert api.get(f"/v1/datasets/{ds}").json()["rows"] == 0, "nothing is committed by a killed upload"
        done = cli.run(*args, "--resume", DOMOLITE_SERVER=proxy.url)
        assert f"resuming: 3 of {len(state['parts'])} parts were sent before" in done.stderr
        assert dataset_id_of(done.stdout) == ds
        assert sql(cli.server, ds, "SELECT COUNT(*), COUNT(DISTINCT id), SUM(id) FROM table") == [
            [rows, rows, sum(range(rows))]
        ]
        assert not list(uploads.glob("*")), "a finished upload leaves no work folder"
        nothing = cli.run(*args, "--resume", ok=False, DOMOLITE_SERVER=proxy.url)
        assert nothing.returncode == 1 and "nothing to resume" in nothing.stderr


def test_export_query_show_ls_and_rm(cli: Cli, tmp_path: Path) -> None:
    ds = dataset_id_of(cli.run("upload", str(write_csv(tmp_path / "q.csv", 30)), "--name", "qds").stdout)
    out = tmp_path / "out.csv"
    cli.run("export", ds, "-o", str(out))
    exported = list(csv.reader(io.StringIO(out.read_text())))
    assert exported[0] == ["id", "city", "amount", "day"] and len(exported) == 31
    assert exported[3] == ["2", "City, 2", "0.5", "2024-03-03"]
    assert cli.run("export", ds).stdout.splitlines()[1] == '0,"City, 0",0.0,2024-03-01'
    parquet = tmp_path / "out.parquet"
    cli.run("export", ds, "-o", str(parquet))
    assert duckdb.execute(f"SELECT COUNT(*), SUM(id), typeof(MAX(day)) FROM '{parquet}'").fetchall() == [
        (30, sum(range(30)), "DATE")
    ]
    query = "SELECT city, COUNT(*) AS n FROM table WHERE id < 3 GROUP BY city ORDER BY city"
    as_csv = cli.run("query", ds, query, "--format", "csv").stdout
    assert list(csv.reader(io.StringIO(as_csv))) == [
        ["city", "n"],
        ["City, 0", "1"],
        ["City, 1", "1"],
        ["City, 2", "1"],
    ]
    assert json.loads(cli.run("query", ds, query, "--format", "json").stdout)[0] == {"city": "City, 0", "n": 1}
    assert cli.run("query", ds, query).stdout.splitlines()[:2] == ["city\tn", "City, 0\t1"]
    twice = cli.run("query", ds, "SELECT id AS a, id * 10 AS a FROM table WHERE id = 1", "--format", "json")
    assert json.loads(twice.stdout) == [{"a": 1, "a (2)": 10}]  # both columns, told apart
    for where in (tmp_path / "no-such-folder" / "x.csv", tmp_path / "no-such-folder" / "x.parquet"):
        failed = cli.run("export", ds, "-o", str(where), ok=False)
        assert failed.returncode == 1 and "Traceback" not in failed.stderr
        assert failed.stderr.strip() == f"error: cannot write {where}: the folder {where.parent} does not exist"
    bad = cli.run("query", ds, "DROP TABLE table", ok=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: running the query failed: 400")
    listed = json.loads(cli.run("datasets", "ls", "--name-like", "qds", "--json").stdout)
    assert [d["id"] for d in listed] == [ds]
    assert json.loads(cli.run("datasets", "show", ds).stdout)["rows"] == 30
    refused = cli.run("datasets", "rm", ds, ok=False)  # no --yes, no terminal to say yes
    assert refused.returncode == 1
    assert cli.run("datasets", "rm", ds, "--yes").stdout.strip() == f"deleted DataSet {ds}"
    gone = cli.run("datasets", "show", ds, ok=False)
    assert gone.returncode == 1 and "404" in gone.stderr


def test_a_wrong_token_or_secret_gets_a_clear_message(cli: Cli) -> None:
    wrong = cli.run("datasets", "ls", ok=False, DOMOLITE_TOKEN="not-a-token")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith(f"error: the server at {cli.server.url} refused the developer token (401")
    assert "DOMOLITE_TOKEN" in wrong.stderr and "Traceback" not in wrong.stderr
    secret = cli.run("datasets", "ls", ok=False, DOMOLITE_TOKEN="", DOMOLITE_CLIENT_ID=cli.server.client_id,
                     DOMOLITE_CLIENT_SECRET="wrong")  # fmt: skip
    assert secret.returncode == 1 and f"refused the OAuth client {cli.server.client_id!r}" in secret.stderr
    none = cli.run("datasets", "ls", ok=False, DOMOLITE_TOKEN="", DOMOLITE_SERVER="")
    assert none.returncode == 1 and "no server: give --server URL" in none.stderr


def test_a_server_that_answers_with_no_json_gets_a_one_line_message(cli: Cli, tmp_path: Path) -> None:
    # what a proxy's sign-in page looks like to the CLI: a 200 of HTML, and a 404 of HTML
    page = tmp_path / "site"
    (page / "v1").mkdir(parents=True)
    (page / "v1" / "datasets").write_text("<html><body><h1>Sign in</h1>\n<p>to the proxy</p></body></html>")
    port = free_port()
    site = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(page)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        listed = cli.run("datasets", "ls", ok=False, DOMOLITE_SERVER=url)
        assert listed.returncode == 1 and "Traceback" not in listed.stderr and len(listed.stderr.splitlines()) == 1
        assert "not JSON" in listed.stderr
        shown = cli.run("datasets", "show", "nope", ok=False, DOMOLITE_SERVER=url)
        assert shown.returncode == 1 and len(shown.stderr.splitlines()) == 1 and "404" in shown.stderr
    finally:
        site.terminate()
        site.wait(timeout=10)


def test_oauth_client_from_the_environment_and_a_login_profile(cli: Cli) -> None:
    oauth = {"DOMOLITE_TOKEN": "", "DOMOLITE_CLIENT_ID": cli.server.client_id,
             "DOMOLITE_CLIENT_SECRET": cli.server.client_secret}  # fmt: skip
    assert cli.run("datasets", "ls", **oauth).stdout.startswith("id\tname")
    bad = cli.run("login", "--server", cli.server.url, "--token", "nope", ok=False, DOMOLITE_TOKEN="")
    assert bad.returncode == 1 and not (cli.home / "config" / "domolite" / "profiles.json").exists()
    cli.run("login", "--server", cli.server.url, "--token", cli.server.dev_token, "--profile", "local")
    path = cli.home / "config" / "domolite" / "profiles.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["profiles"]["local"] == {
        "server": cli.server.url,
        "token": cli.server.dev_token,
    }
    no_env = {"DOMOLITE_TOKEN": "", "DOMOLITE_SERVER": ""}
    listed = cli.run("datasets", "ls", "--profile", "local", **no_env)
    assert listed.stdout.startswith("id\tname")
    missing = cli.run("datasets", "ls", ok=False, **no_env)  # no default profile yet
    assert missing.returncode == 1 and "no server" in missing.stderr
    cli.run("login", "--server", cli.server.url, "--client-id", cli.server.client_id,
            "--client-secret", cli.server.client_secret, **no_env)  # fmt: skip
    assert cli.run("datasets", "ls", **no_env).stdout.startswith("id\tname")
    flags_win = cli.run("datasets", "ls", "--token", "flagged-wrong", ok=False, **no_env)
    assert "refused the developer token" in flags_win.stderr
    assert httpx.get(cli.server.url + "/health").status_code == 200
