"""`domolite upload`: a CSV (plain or gzip) or Parquet file into a DataSet through the Stream API.

The file is first cut into gzip CSV parts (DuckDB reads it, detects the schema of a new DataSet, and writes the
parts) in a work folder under the user's cache dir, with a state file naming the stream and execution. The parts
go in parallel, each retried; each one the server took is written to the state's log. `--resume` finds the work
folder of the same file and target, sends the parts not yet taken (a part sent again replaces itself, so a part
taken but not logged before a crash loads once), and commits."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import platformdirs

from domolite.client.connection import Api
from domolite.client.errors import ClientError
from domolite.client.progress import Reporter

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}

# DuckDB's detected types as Domo column types (Domo has no BOOLEAN or TIME: those are STRING).
_TYPES = {
    "BIGINT": "LONG",
    "INTEGER": "LONG",
    "SMALLINT": "LONG",
    "TINYINT": "LONG",
    "UBIGINT": "LONG",
    "UINTEGER": "LONG",
    "USMALLINT": "LONG",
    "UTINYINT": "LONG",
    "HUGEINT": "LONG",
    "DOUBLE": "DOUBLE",
    "FLOAT": "DOUBLE",
    "DATE": "DATE",
    "TIMESTAMP": "DATETIME",
    "TIMESTAMP WITH TIME ZONE": "DATETIME",
    "TIMESTAMP_NS": "DATETIME",
    "TIMESTAMP_MS": "DATETIME",
    "TIMESTAMP_S": "DATETIME",
}


def domo_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return "DOUBLE"
    return _TYPES.get(duckdb_type, "STRING")


def sql_text(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def source_sql(path: Path, as_text: bool) -> str:
    """A SELECT over the file: Parquet by its magic bytes, else CSV with a header (gzip by its name or bytes)."""
    with path.open("rb") as f:
        head = f.read(4)
    if head == b"PAR1":
        return f"SELECT * FROM read_parquet({sql_text(str(path))})"
    options = "header = true, all_varchar = true" if as_text else "header = true"
    if head[:2] == b"\x1f\x8b":
        options += ", compression = 'gzip'"
    return f"SELECT * FROM read_csv({sql_text(str(path))}, {options})"


def detect_schema(path: Path) -> list[dict[str, str]]:
    """The columns of a new DataSet for the file: names from its header, types as DuckDB detects them."""
    with duckdb.connect() as con:
        try:
            rows = con.execute(f"DESCRIBE {source_sql(path, as_text=False)}").fetchall()
        except duckdb.Error as exc:
            raise ClientError(f"cannot read {path}: {exc}") from None
    return [{"type": domo_type(str(row[1])), "name": str(row[0])} for row in rows]


def cut_parts(path: Path, folder: Path, part_bytes: int, as_text: bool) -> list[Path]:
    """The file's rows as header-less gzip CSV parts of about `part_bytes` each (compressed), in order."""
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        try:
            con.execute(
                f"COPY ({source_sql(path, as_text)}) TO {sql_text(str(folder))} (FORMAT csv, HEADER false, "
                f"COMPRESSION gzip, FILE_SIZE_BYTES {int(part_bytes)}, FILENAME_PATTERN 'part_{{i}}', "
                "DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%f')"
            )
        except duckdb.Error as exc:
            raise ClientError(f"cannot read {path}: {exc}") from None
    parts = sorted(folder.glob("part_*.csv.gz"), key=lambda p: int(p.name.split("_")[1].split(".")[0]))
    return [p for p in parts if p.stat().st_size > 0]


@dataclass
class Target:
    dataset_id: str | None
    name: str | None
    method: str


class Work:
    """The work folder of one upload: its parts, `state.json` and `sent.log` (one taken part number a line)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parts_dir = root / "parts"
        self.state_file = root / "state.json"
        self.sent_file = root / "sent.log"

    @staticmethod
    def of(server: str, path: Path, target: Target) -> Work:
        stat = path.stat()
        key = json.dumps([server, str(path.resolve()), stat.st_size, stat.st_mtime_ns, target.dataset_id, target.name])
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return Work(Path(platformdirs.user_cache_dir("domolite")) / "uploads" / digest)

    def state(self) -> dict[str, Any] | None:
        if not self.state_file.exists():
            return None
        return dict(json.loads(self.state_file.read_text()))

    def save(self, state: dict[str, Any]) -> None:
        temp = self.state_file.with_suffix(".tmp")
        temp.write_text(json.dumps(state))
        temp.replace(self.state_file)

    def sent(self) -> set[int]:
        if not self.sent_file.exists():
            return set()
        return {int(line) for line in self.sent_file.read_text().split() if line.isdigit()}

    def mark_sent(self, number: int) -> None:
        with self.sent_file.open("a") as out:
            out.write(f"{number}\n")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def find_stream(api: Api, dataset_id: str) -> int:
    found = api.json(
        "GET", "/v1/streams/search", "finding the DataSet's stream", params={"q": f"dataSource.id:{dataset_id}"}
    )
    if not found:
        api.json("GET", f"/v1/datasets/{dataset_id}", "reading the DataSet")  # a 404 names it
        raise ClientError(f"DataSet {dataset_id} has no stream to upload through (it was not made by a stream)")
    return int(found[0]["id"])


def create_stream(api: Api, name: str, columns: list[dict[str, str]], method: str) -> tuple[int, str]:
    body = {"dataSet": {"name": name, "schema": {"columns": columns}}, "updateMethod": method}
    stream = api.json("POST", "/v1/streams", "creating the DataSet", json=body)
    return int(stream["id"]), str(stream["dataSet"]["id"])


def send_part(
    api: Api, url: str, part: Path, retries: int, on_retry: Callable[[int, str], None], sleep: float = 0.5
) -> None:
    """PUT one gzip part; transport errors and retryable statuses are tried again, up to `retries` times."""
    body = part.read_bytes()
    headers = {"Content-Type": "text/csv", "Content-Encoding": "gzip"}
    for attempt in range(retries + 1):
        try:
            response = api.http.put(url, content=body, headers=headers)
        except Exception as exc:  # a dropped connection, a timeout
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return
            if response.status_code not in RETRYABLE:
                api.check(response, f"sending {part.name}")
            problem = f"{response.status_code} {response.text[:200]}"
        if attempt < retries:
            on_retry(attempt + 1, problem)
            time.sleep(sleep * 2**attempt)
    raise ClientError(f"sending {part.name} failed after {retries + 1} tries: {problem}")


def upload(
    api: Api,
    path: Path,
    target: Target,
    *,
    resume: bool,
    part_bytes: int,
    parallel: int,
    retries: int,
) -> dict[str, Any]:
    """Upload the file; returns the committed execution with the DataSet id."""
    if not path.is_file():
        raise ClientError(f"{path} is not a file")
    work = Work.of(api.credentials.server, path, target)
    state = work.state() if resume else None
    if resume and state is None:
        raise ClientError(f"nothing to resume for {path}: no interrupted upload of this file to this target")
    if not resume:
        work.remove()
    if state is None or not work.parts_dir.exists():
        columns = None if target.dataset_id else detect_schema(path)
        parts = cut_parts(path, work.parts_dir, part_bytes, as_text=target.dataset_id is not None)
        if target.dataset_id:
            stream_id, dataset_id = find_stream(api, target.dataset_id), target.dataset_id
        else:
            assert columns is not None
            stream_id, dataset_id = create_stream(api, target.name or path.stem, columns, target.method)
        state = {"stream": stream_id, "dataset": dataset_id, "parts": [p.name for p in parts], "execution": None}
        work.save(state)
    stream_id, dataset_id = int(state["stream"]), str(state["dataset"])
    base = f"/v1/streams/{stream_id}/executions"
    execution = None
    if state["execution"] is not None:
        execution = api.json("GET", f"{base}/{state['execution']}", "reading the interrupted execution")
        if execution["currentState"] == "SUCCESS":
            work.remove()
            return {**execution, "dataSetId": dataset_id}
        if execution["currentState"] != "ACTIVE":
            execution = None  # ended meanwhile: start again, every part
            work.sent_file.unlink(missing_ok=True)
    if execution is None:
        execution = api.json("POST", base, "starting an upload", json={"updateMethod": target.method})
        state["execution"] = execution["id"]
        work.save(state)
        work.sent_file.unlink(missing_ok=True)
    exec_url = f"{base}/{execution['id']}"
    parts = [work.parts_dir / name for name in state["parts"]]
    sent = work.sent()
    todo = [(n, p) for n, p in enumerate(parts, start=1) if n not in sent]
    total = sum(p.stat().st_size for p in parts)
    done_bytes = sum(p.stat().st_size for n, p in enumerate(parts, start=1) if n in sent)
    with Reporter(f"uploading {path.name}", total) as progress:
        progress.set(done_bytes)
        if sent:
            progress.step(f"resuming: {len(sent)} of {len(parts)} parts were sent before")

        def one(number: int, part: Path) -> None:
            def retry(attempt: int, problem: str) -> None:
                progress.step(f"part {number} of {len(parts)}: try {attempt + 1} after {problem}")

            send_part(api, f"{exec_url}/part/{number}", part, retries, retry)
            work.mark_sent(number)
            progress.advance(part.stat().st_size, step=None if progress.tty else f"part {number} of {len(parts)} sent")

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            futures = [pool.submit(one, n, p) for n, p in todo]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        progress.step(f"committing {len(parts)} parts")
        committed = api.json("PUT", f"{exec_url}/commit", "committing the upload")
    if committed.get("currentState") != "SUCCESS":
        errors = committed.get("errors") or [{"message": committed.get("currentState")}]
        raise ClientError(f"the commit did not succeed: {errors[0].get('message')}")
    work.remove()
    return {**committed, "dataSetId": dataset_id}
