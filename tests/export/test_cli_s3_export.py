"""`domolite s3-export --wait` against a real server and a real S3 server: the job's progress, its objects, and the
exports counter of /metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.client.conftest import Cli
from tests.e2e.test_operations import metric
from tests.export.conftest import KEYS, keys_under, read_object
from tests.serverproc import Server


def test_s3_export_waits_for_the_job_and_lists_its_objects(tmp_path: Path, s3_url: str, s3: Any, bucket: str) -> None:
    srv = Server(data_dir=tmp_path / "data").start()
    try:
        cli = Cli(srv, tmp_path)
        source = tmp_path / "rows.csv"
        source.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(500)))
        loaded = cli.run("upload", str(source), "--name", "to-s3").stdout
        ds = re.search(r"into DataSet (\S+)", loaded).group(1)  # type: ignore[union-attr]
        env = {"AWS_ACCESS_KEY_ID": KEYS["awsAccessKey"], "AWS_SECRET_ACCESS_KEY": KEYS["awsAccessSecret"]}
        args = ("s3-export", ds, "--bucket", bucket, "--region", "us-east-1", "--path", "cli", "--endpoint-url", s3_url)
        done = cli.run(*args, "--wait", **env)
        assert re.search(r"^export \S+: success$", done.stdout, re.MULTILINE), done.stdout
        assert re.search(r"^(none|exporting|success): \d+ rows written$", done.stderr, re.MULTILINE), done.stderr
        urls = re.findall(r"^  (s3://\S+) \((\d+) rows\)$", done.stdout, re.MULTILINE)
        assert sum(int(rows) for _, rows in urls) == 500
        body = b"".join(read_object(s3, url) for url, _ in urls).decode()
        assert "n499" in body and body.count("\n") >= 500
        assert any(key.endswith("manifest.json") for key in keys_under(s3, bucket, "cli/"))
        assert metric(httpx.get(srv.url + "/metrics").text, "domolite_exports_total", state="success") == 1
        refused = cli.run(*args, ok=False, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
        assert refused.returncode == 2 and "--access-key" in refused.stderr
    finally:
        srv.stop()
