"""`domolite backup DIR` and `domolite restore DIR`: the catalog, the lake (its metadata and Parquet files) and the
keys of an embedded data dir, copied consistently while the server runs.

Consistency: the backup takes the write lock of the lake's metadata and then of the catalog (SQLite's BEGIN
IMMEDIATE; readers go on, writers wait, each within its bounded wait), copies both databases with SQLite's
online backup, and links (or, across file systems, copies) every Parquet file while the locks are held: no
commit, schema change or deletion can land between the copies, and a Parquet file is never rewritten once
written, so a link is a copy. Then the locks are released. A restore puts the copies into an empty data dir;
the first start settles what the backed-up processes had running, as after any stop.

A PostgreSQL catalog (which holds the lake's metadata too) is dumped by PostgreSQL's own `pg_dump` (found on
PATH) from a snapshot this module holds open: it exports a REPEATABLE READ snapshot, `pg_dump --snapshot` writes
exactly that moment, and while the snapshot is held every Parquet file is linked or copied. Commits go on
meanwhile; a file they add after the snapshot is copied too and removed as an orphan by the first start after a
restore. The backup then checks that every file the dumped metadata names was copied (a DataSet deleted during
the backup can remove files; the backup then fails and says to run it again). `pg_restore` puts the dump into
an empty database in one transaction.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from domolite.catalog.snapshot import held_snapshot, is_empty
from domolite.settings import Settings
from domolite.storage.lake import libpq_conninfo, metadata_file

FORMAT = 1
MANIFEST = "domolite-backup.json"
LOCK_WAIT_S = 60.0
PG_TOOL_WAIT_S = 6 * 3600.0  # pg_dump or pg_restore of a catalog
PG_DUMP = "catalog.pgdump"


class BackupError(Exception):
    """What stops a backup or restore, said so that the user can act on it."""


def _on_postgres(settings: Settings) -> bool:
    return settings.resolved_catalog_url.startswith("postgresql")


def _catalog_file(settings: Settings) -> Path:
    url = settings.resolved_catalog_url
    if not url.startswith("sqlite:///"):
        raise BackupError(f"the catalog URL {url.split(':', 1)[0]}:... is neither SQLite nor PostgreSQL")
    return Path(url.removeprefix("sqlite:///"))


def _pg_tool(name: str, settings: Settings, *args: str) -> None:
    """Run PostgreSQL's `name` (pg_dump, pg_restore) from PATH against the catalog; its password goes by the
    environment, never on the command line."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found on PATH: install PostgreSQL's client tools, of the server's major version or newer"
        )
    from sqlalchemy.engine import make_url

    env = dict(os.environ)
    password = make_url(settings.resolved_catalog_url).password
    if password:
        env["PGPASSWORD"] = str(password)
    conninfo = libpq_conninfo(settings.resolved_catalog_url, with_password=False)
    try:
        done = subprocess.run(
            [found, *args, f"--dbname={conninfo}"], env=env, capture_output=True, text=True, timeout=PG_TOOL_WAIT_S
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{name} did not finish within {PG_TOOL_WAIT_S:.0f} s") from None
    if done.returncode != 0:
        raise BackupError(f"{name} failed: {done.stderr.strip()[-2000:]}")


def _copy_parquet_files(lake_dir: Path, dest: Path) -> set[str]:
    """Link or copy every Parquet file of the lake into `dest`; the names copied."""
    names = set()
    for path in sorted(lake_dir.rglob("*.parquet")):
        if path.is_file():
            _link_or_copy(path, dest / path.relative_to(lake_dir))
            names.add(path.name)
    return names


def _copy_keys(settings: Settings, dest: Path) -> None:
    for key in (settings.signing_key_file, settings.account_key_file):
        if key.exists():
            shutil.copy2(key, dest / key.name)
            os.chmod(dest / key.name, 0o600)


def _manifest(dest: Path, catalog: str, files: int) -> dict[str, object]:
    manifest: dict[str, object] = {
        "format": FORMAT,
        "catalog": catalog,
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "parquetFiles": files,
        "keys": sorted(p.name for p in dest.iterdir() if p.suffix in (".keys", ".key")),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _new_folder(dest: Path) -> None:
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)


def _backup_postgres(settings: Settings, dest: Path) -> dict[str, object]:
    _new_folder(dest)
    (dest / "lake").mkdir()
    with held_snapshot(settings.resolved_catalog_url) as held:
        _pg_tool(
            "pg_dump", settings, "--format=custom", "--no-owner", f"--snapshot={held.snapshot_id}",
            f"--file={dest / PG_DUMP}",
        )  # fmt: skip
        copied = _copy_parquet_files(settings.lake_dir, dest / "lake") if settings.lake_dir.exists() else set()
        missing = sorted(held.lake_file_names() - copied)
    if missing:
        raise BackupError(
            f"{len(missing)} Parquet file(s) the catalog names were removed while the backup ran (for example "
            f"{missing[0]}, of a DataSet deleted meanwhile): run the backup again"
        )
    _copy_keys(settings, dest)
    return _manifest(dest, "postgresql", len(copied))


@contextmanager
def _write_locked(path: Path) -> Iterator[None]:
    """A connection holding the write lock of the SQLite file at `path` until the block ends."""
    with closing(sqlite3.connect(path, timeout=LOCK_WAIT_S, isolation_level=None)) as con:
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise BackupError(f"{path.name} stayed locked for {LOCK_WAIT_S:.0f} s: {exc}") from None
        try:
            yield
        finally:
            con.execute("ROLLBACK")


def _copy_database(source: Path, dest: Path) -> None:
    """SQLite's online backup, read by a connection of its own (the locking one only holds the write lock:
    readers go on beside it, in WAL and rollback-journal mode alike)."""
    with closing(sqlite3.connect(source, timeout=LOCK_WAIT_S)) as con, closing(sqlite3.connect(dest)) as out:
        con.backup(out)


def _link_or_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _refuse_lake_in_s3(settings: Settings) -> None:
    if settings.lake_url is not None:
        raise BackupError(
            "the lake is in S3 (DOMOLITE_LAKE_URL): back up its bucket and the catalog's database instead "
            "(docs/deploy.md)"
        )


def backup(settings: Settings, dest: Path) -> dict[str, object]:
    """Write a backup of the data dir of `settings` into `dest` (new or empty). Returns its manifest."""
    _refuse_lake_in_s3(settings)
    if _on_postgres(settings):
        return _backup_postgres(settings, dest)
    catalog = _catalog_file(settings)
    lake_dir = settings.lake_dir
    lake_meta = metadata_file(lake_dir)
    if not catalog.exists() or not lake_meta.exists():
        raise BackupError(f"{settings.data_dir} holds no catalog and lake to back up")
    _new_folder(dest)
    with ExitStack() as locks:
        locks.enter_context(_write_locked(lake_meta))
        locks.enter_context(_write_locked(catalog))
        (dest / "lake").mkdir()
        _copy_database(lake_meta, dest / "lake" / lake_meta.name)
        _copy_database(catalog, dest / "catalog.sqlite")
        files = len(_copy_parquet_files(lake_dir, dest / "lake"))
    _copy_keys(settings, dest)
    return _manifest(dest, "sqlite", files)


def restore(settings: Settings, source: Path) -> dict[str, object]:
    """Put the backup in `source` into the data dir of `settings`, which must hold no catalog or lake."""
    _refuse_lake_in_s3(settings)
    manifest_file = source / MANIFEST
    if not manifest_file.exists():
        raise BackupError(f"{source} is not a domolite backup (no {MANIFEST})")
    manifest = dict(json.loads(manifest_file.read_text()))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')}, not {FORMAT}")
    made_on = str(manifest.get("catalog", "sqlite"))
    target = "postgresql" if _on_postgres(settings) else "sqlite"
    if made_on != target:
        raise BackupError(f"{source} is a backup of a {made_on} catalog; the catalog URL here is {target}")
    lake_dir = settings.lake_dir
    if target == "postgresql":
        if not is_empty(settings.resolved_catalog_url):
            raise BackupError("the PostgreSQL database of the catalog URL is not empty: restore into a new database")
        catalog = None
    else:
        catalog = _catalog_file(settings)
        if catalog.exists():
            raise BackupError(f"{settings.data_dir} already holds a catalog: restore into an empty data dir")
    if lake_dir.exists() and any(lake_dir.iterdir()):
        raise BackupError(f"{settings.data_dir} already holds a lake: restore into an empty data dir")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    staged = settings.data_dir / ".restoring"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(source / "lake", staged / "lake")
    if catalog is not None:
        shutil.copy2(source / "catalog.sqlite", staged / "catalog.sqlite")
    for name in manifest.get("keys", []):
        shutil.copy2(source / str(name), staged / str(name))
        os.chmod(staged / str(name), 0o600)
    # The lake first, the catalog last: a restore cut short leaves no catalog, so it can be run again.
    if lake_dir.exists():
        lake_dir.rmdir()
    os.replace(staged / "lake", lake_dir)
    for name in manifest.get("keys", []):
        os.replace(staged / str(name), settings.data_dir / str(name))
    if catalog is None:  # one transaction: the database is left empty or whole
        _pg_tool("pg_restore", settings, "--no-owner", "--exit-on-error", "--single-transaction", str(source / PG_DUMP))
    else:
        os.replace(staged / "catalog.sqlite", catalog)
    shutil.rmtree(staged, ignore_errors=True)
    return manifest
