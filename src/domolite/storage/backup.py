"""`domolite backup DIR` and `domolite restore DIR`: the catalog, the lake (its metadata and Parquet files) and the
keys of an embedded data dir, copied consistently while the server runs.

Consistency: the backup takes the write lock of the lake's metadata and then of the catalog (SQLite's BEGIN
IMMEDIATE; readers go on, writers wait, each within its bounded wait), copies both databases with SQLite's
online backup, and links (or, across file systems, copies) every Parquet file while the locks are held: no
commit, schema change or deletion can land between the copies, and a Parquet file is never rewritten once
written, so a link is a copy. Then the locks are released. A restore puts the copies into an empty data dir;
the first start settles what the backed-up processes had running, as after any stop.

A PostgreSQL catalog (and the lake metadata in it) is backed up with PostgreSQL's own tools; see docs/deploy.md.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from domolite.settings import Settings
from domolite.storage.lake import metadata_file

FORMAT = 1
MANIFEST = "domolite-backup.json"
LOCK_WAIT_S = 60.0


class BackupError(Exception):
    """What stops a backup or restore, said so that the user can act on it."""


def _catalog_file(settings: Settings) -> Path:
    url = settings.resolved_catalog_url
    if not url.startswith("sqlite:///"):
        raise BackupError(
            "the catalog is not the embedded SQLite one: back up PostgreSQL with pg_dump and the lake folder "
            "with a file copy (see docs/deploy.md)"
        )
    return Path(url.removeprefix("sqlite:///"))


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
    catalog = _catalog_file(settings)
    lake_dir = settings.lake_dir
    lake_meta = metadata_file(lake_dir)
    if not catalog.exists() or not lake_meta.exists():
        raise BackupError(f"{settings.data_dir} holds no catalog and lake to back up")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    files = 0
    with ExitStack() as locks:
        locks.enter_context(_write_locked(lake_meta))
        locks.enter_context(_write_locked(catalog))
        (dest / "lake").mkdir()
        _copy_database(lake_meta, dest / "lake" / lake_meta.name)
        _copy_database(catalog, dest / "catalog.sqlite")
        for path in sorted(lake_dir.rglob("*")):
            if path.is_file() and path.suffix == ".parquet":
                _link_or_copy(path, dest / "lake" / path.relative_to(lake_dir))
                files += 1
    for key in (settings.signing_key_file, settings.account_key_file):
        if key.exists():
            shutil.copy2(key, dest / key.name)
            os.chmod(dest / key.name, 0o600)
    manifest: dict[str, object] = {
        "format": FORMAT,
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "parquetFiles": files,
        "keys": sorted(p.name for p in dest.iterdir() if p.suffix in (".keys", ".key")),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(settings: Settings, source: Path) -> dict[str, object]:
    """Put the backup in `source` into the data dir of `settings`, which must hold no catalog or lake."""
    _refuse_lake_in_s3(settings)
    manifest_file = source / MANIFEST
    if not manifest_file.exists():
        raise BackupError(f"{source} is not a domolite backup (no {MANIFEST})")
    manifest = dict(json.loads(manifest_file.read_text()))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')}, not {FORMAT}")
    catalog = _catalog_file(settings)
    lake_dir = settings.lake_dir
    if catalog.exists() or (lake_dir.exists() and any(lake_dir.iterdir())):
        raise BackupError(f"{settings.data_dir} already holds a catalog or a lake: restore into an empty data dir")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    staged = settings.data_dir / ".restoring"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(source / "lake", staged / "lake")
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
    os.replace(staged / "catalog.sqlite", catalog)
    shutil.rmtree(staged, ignore_errors=True)
    return manifest
