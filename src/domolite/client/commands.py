"""The user commands, added to the `domolite` group by `register`. Each one builds an `Api` from the connection
options and speaks only the public HTTP APIs."""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from domolite.client.errors import ClientError

if TYPE_CHECKING:  # the commands import httpx, DuckDB and rich when they run: `domolite --help` stays quick
    from domolite.client.connection import Api

F = TypeVar("F", bound=Callable[..., Any])

# Domo column types as DuckDB types, to write a Parquet export with the DataSet's types.
_DUCKDB_TYPES = {"LONG": "BIGINT", "DOUBLE": "DOUBLE", "DECIMAL": "DOUBLE", "DATE": "DATE", "DATETIME": "TIMESTAMP"}


def connection_options(command: F) -> F:
    """--server, --token, --client-id, --client-secret, --profile (each also from its DOMOLITE_ variable)."""
    options = [
        click.option("--server", envvar="DOMOLITE_SERVER", help="Server URL [env DOMOLITE_SERVER]."),
        click.option("--token", envvar="DOMOLITE_TOKEN", help="Developer token [env DOMOLITE_TOKEN]."),
        click.option("--client-id", envvar="DOMOLITE_CLIENT_ID", help="OAuth client id [env DOMOLITE_CLIENT_ID]."),
        click.option(
            "--client-secret", envvar="DOMOLITE_CLIENT_SECRET", help="OAuth client secret [env DOMOLITE_CLIENT_SECRET]."
        ),
        click.option("--profile", envvar="DOMOLITE_PROFILE", help="Profile from `domolite login` [default: default]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def with_api(command: Callable[..., None]) -> Callable[..., None]:
    """Turns the connection options into an `Api`; a ClientError is printed as `error: ...` with exit status 1."""

    @functools.wraps(command)
    def run(
        server: str | None,
        token: str | None,
        client_id: str | None,
        client_secret: str | None,
        profile: str | None,
        **kwargs: Any,
    ) -> None:
        from domolite.client.connection import Api, resolve

        try:
            api = Api(resolve(server, token, client_id, client_secret, profile))
            try:
                command(api, **kwargs)
            finally:
                api.close()
        except ClientError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return run


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _table(headers: list[str], rows: list[list[Any]]) -> None:
    """A table: drawn by rich on a terminal, tab-separated lines otherwise."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console().print(table)
        return
    click.echo("\t".join(headers))
    for row in rows:
        click.echo("\t".join("" if v is None else str(v) for v in row))


def register(main: click.Group) -> None:
    for command in (login, upload_command, export, query, datasets, versions, s3_export):
        main.add_command(command)


@click.command()
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def login(
    server: str | None,
    token: str | None,
    client_id: str | None,
    client_secret: str | None,
    profile: str | None,
    as_json: bool,
) -> None:
    """Check credentials against a server and save them as a profile (mode 0600, under the user's config dir)."""
    from domolite.client.connection import Api, Credentials, save_profile

    try:
        if not server:
            raise ClientError("give --server URL (or DOMOLITE_SERVER)")
        if not token and not (client_id and client_secret):
            raise ClientError("give --token, or --client-id and --client-secret")
        creds = Credentials(server.rstrip("/"), token, None if token else client_id, None if token else client_secret)
        api = Api(creds)
        try:
            api.json("GET", "/v1/datasets", "checking the credentials", params={"limit": 1})
        finally:
            api.close()
        path = save_profile(profile or "default", creds)
    except ClientError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    name = profile or "default"
    if as_json:
        _print_json({"profile": name, "server": creds.server, "file": str(path)})
    else:
        click.echo(f"signed in to {creds.server}; saved as profile {name!r} in {path}")


@click.command("upload")
@connection_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dataset-id", default=None, help="Upload into this DataSet (it needs a stream).")
@click.option("--name", default=None, help="Name of a new DataSet (default: the file's name).")
@click.option("--method", type=click.Choice(["REPLACE", "APPEND"], case_sensitive=False), default="REPLACE")
@click.option("--resume", is_flag=True, help="Continue an interrupted upload of this file to this target.")
@click.option("--part-size", default=16 * 2**20, show_default=True, help="Gzip bytes per part.")
@click.option("--parallel", default=4, show_default=True, help="Parts sent at once.")
@click.option("--retries", default=4, show_default=True, help="Retries of each part.")
@click.option("--json", "as_json", is_flag=True, help="Print the committed execution as JSON.")
@with_api
def upload_command(
    api: Api,
    file: Path,
    dataset_id: str | None,
    name: str | None,
    method: str,
    resume: bool,
    part_size: int,
    parallel: int,
    retries: int,
    as_json: bool,
) -> None:
    """Upload a CSV (plain or gzip, with a header) or Parquet FILE into a new DataSet or --dataset-id."""
    from domolite.client.upload import Target, upload

    if dataset_id and name:
        raise ClientError("give --dataset-id or --name, not both")
    target = Target(dataset_id, name, method.upper())
    done = upload(api, file, target, resume=resume, part_bytes=part_size, parallel=parallel, retries=retries)
    if as_json:
        _print_json(done)
    else:
        click.echo(f"loaded {done.get('rows')} rows into DataSet {done['dataSetId']} ({target.method})")


@click.command()
@connection_options
@click.argument("dataset_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="FILE.csv or FILE.parquet [default: CSV to standard output].",
)
@with_api
def export(api: Api, dataset_id: str, output: Path | None) -> None:
    """Download a DataSet's rows (those you may read) as CSV with a header, or as Parquet."""
    from domolite.client.progress import Reporter

    dataset = api.json("GET", f"/v1/datasets/{dataset_id}", "reading the DataSet")
    parquet = output is not None and output.suffix.lower() == ".parquet"
    if output is not None and not output.parent.is_dir():
        raise ClientError(f"cannot write {output}: the folder {output.parent} does not exist")
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "rows.csv" if parquet else output
        try:
            out = csv_path.open("wb") if csv_path else sys.stdout.buffer
        except OSError as exc:
            raise ClientError(f"cannot write {csv_path}: {exc.strerror}") from None
        try:
            with (
                api.stream(
                    f"/v1/datasets/{dataset_id}/data", "exporting the DataSet", params={"includeHeader": "true"}
                ) as response,
                Reporter(f"exporting {dataset.get('name', dataset_id)}", None) as progress,
            ):
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    progress.advance(len(chunk))
        finally:
            if csv_path:
                out.close()
        if parquet:
            assert output is not None and csv_path is not None
            _csv_to_parquet(csv_path, output, dataset["schema"]["columns"])
    if output is not None:
        click.echo(f"wrote {dataset.get('rows')} rows to {output}", err=True)


def _csv_to_parquet(source: Path, dest: Path, columns: list[dict[str, str]]) -> None:
    """The downloaded CSV as Parquet with the DataSet's column types."""
    import duckdb

    from domolite.client.upload import sql_text

    types = ", ".join(f"{sql_text(c['name'])}: '{_DUCKDB_TYPES.get(c['type'], 'VARCHAR')}'" for c in columns)
    with duckdb.connect() as con:
        try:
            con.execute(
                f"COPY (SELECT * FROM read_csv({sql_text(str(source))}, header = true, columns = {{{types}}})) "
                f"TO {sql_text(str(dest))} (FORMAT parquet)"
            )
        except duckdb.IOException as exc:
            raise ClientError(f"cannot write {dest}: {str(exc).splitlines()[0]}") from None


def _told_apart(names: list[str]) -> list[str]:
    """The names, each one that came before given a number: ["a", "a"] -> ["a", "a (2)"]."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


@click.command()
@connection_options
@click.argument("dataset_id")
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@with_api
def query(api: Api, dataset_id: str, sql: str, fmt: str) -> None:
    """Run SQL over one DataSet (`SELECT ... FROM table`)."""
    result = api.json("POST", f"/v1/datasets/query/execute/{dataset_id}", "running the query", json={"sql": sql})
    columns, rows = list(result["columns"]), list(result["rows"])
    if fmt == "json":  # an object per row; columns that share a name are told apart: a, a (2), ...
        keys = _told_apart(columns)
        _print_json([dict(zip(keys, row, strict=True)) for row in rows])
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        _table(columns, rows)


@click.group()
def datasets() -> None:
    """List, show and delete DataSets."""


@datasets.command("ls")
@connection_options
@click.option("--name-like", default="", help="Only DataSets whose name holds this.")
@click.option("--json", "as_json", is_flag=True)
@with_api
def datasets_ls(api: Api, name_like: str, as_json: bool) -> None:
    """The DataSets you may read."""
    found: list[dict[str, Any]] = []
    while True:
        page = api.json(
            "GET", "/v1/datasets", "listing DataSets", params={"limit": 50, "offset": len(found), "nameLike": name_like}
        )
        found += page
        if len(page) < 50:
            break
    if as_json:
        _print_json(found)
        return
    rows = [[d["id"], d["name"], d.get("rows"), d.get("columns"), d.get("updatedAt")] for d in found]
    _table(["id", "name", "rows", "columns", "updated"], rows)


@datasets.command("show")
@connection_options
@click.argument("dataset_id")
@with_api
def datasets_show(api: Api, dataset_id: str) -> None:
    """One DataSet's metadata and schema, as JSON."""
    _print_json(api.json("GET", f"/v1/datasets/{dataset_id}", "reading the DataSet"))


@datasets.command("rm")
@connection_options
@click.argument("dataset_id")
@click.option("--yes", is_flag=True, help="Do not ask.")
@with_api
def datasets_rm(api: Api, dataset_id: str, yes: bool) -> None:
    """Delete a DataSet and its data."""
    dataset = api.json("GET", f"/v1/datasets/{dataset_id}", "reading the DataSet")
    if not yes and not click.confirm(f"delete DataSet {dataset_id} ({dataset['name']}, {dataset.get('rows')} rows)?"):
        raise ClientError("not deleted")
    api.request("DELETE", f"/v1/datasets/{dataset_id}", "deleting the DataSet")
    click.echo(f"deleted DataSet {dataset_id}")


@click.command()
@connection_options
@click.argument("dataset_id")
@click.option("--json", "as_json", is_flag=True)
@with_api
def versions(api: Api, dataset_id: str, as_json: bool) -> None:
    """A DataSet's data versions, newest first (each one readable with ?dataVersion=N)."""
    found = api.json("GET", f"/api/data/v3/datasources/{dataset_id}/dataversions/details", "listing versions")
    if as_json:
        _print_json(found)
        return
    rows = [
        [
            v["dataVersionId"],
            _when(v.get("datetimeRecorded")),
            v.get("updateMethod"),
            v.get("numRows"),
            v.get("rowCount"),
        ]
        for v in found
    ]
    _table(["version", "recorded", "method", "rows loaded", "rows after"], rows)


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


@click.command("s3-export")
@connection_options
@click.argument("dataset_id")
@click.option("--bucket", required=True)
@click.option("--region", required=True)
@click.option("--path", "prefix", default=None, help="Key prefix in the bucket.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@click.option("--access-key", envvar="AWS_ACCESS_KEY_ID", required=True, help="[env AWS_ACCESS_KEY_ID]")
@click.option("--secret-key", envvar="AWS_SECRET_ACCESS_KEY", required=True, help="[env AWS_SECRET_ACCESS_KEY]")
@click.option("--endpoint-url", default=None, help="An S3-compatible endpoint instead of AWS.")
@click.option("--wait", is_flag=True, help="Follow the job to its end, with its progress.")
@click.option("--json", "as_json", is_flag=True)
@with_api
def s3_export(
    api: Api,
    dataset_id: str,
    bucket: str,
    region: str,
    prefix: str | None,
    fmt: str,
    access_key: str,
    secret_key: str,
    endpoint_url: str | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Export a DataSet to an S3 bucket (Export to S3); with --wait, until the job ends."""
    from domolite.client.progress import Reporter

    body: dict[str, Any] = {
        "awsAccessKey": access_key,
        "awsAccessSecret": secret_key,
        "bucket": bucket,
        "region": region,
        "exportFormat": fmt,
    }
    if prefix:
        body["path"] = prefix
    if endpoint_url:
        body["endpointUrl"] = endpoint_url
    job = api.json("POST", f"/api/query/v1/export/{dataset_id}", "starting the export", json=body)
    url = f"/api/query/v1/export/{dataset_id}/{job['exportId']}"
    if wait:
        dataset = api.json("GET", f"/v1/datasets/{dataset_id}", "reading the DataSet")
        with Reporter(f"export {job['exportId']}", dataset.get("rows") or None, unit="rows") as progress:
            while job["exportStatus"] not in ("success", "error"):
                time.sleep(0.5)
                job = api.json("GET", url, "following the export")
                progress.set(
                    job.get("rowsWritten") or 0,
                    step=None if progress.tty else f"{job['exportStatus']}: {job.get('rowsWritten') or 0} rows written",
                )
        job = api.json("GET", url, "reading the export")
    if as_json:
        _print_json(job)
    else:
        click.echo(f"export {job['exportId']}: {job['exportStatus']}")
        for key, rows in (job.get("urlRowCountMap") or {}).items():
            click.echo(f"  {key} ({rows} rows)")
    if job["exportStatus"] == "error":
        raise ClientError(f"the export failed: {job.get('message')}")
