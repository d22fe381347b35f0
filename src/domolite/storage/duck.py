"""DuckDB instances with the pinned extensions loaded from their installed PyPI packages; nothing is downloaded."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import duckdb

# The package name, and the file name DuckDB insists on when loading it.
_EXTENSIONS = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake"),
    "httpfs": ("duckdb_extension_httpfs", "httpfs"),
    "sqlite": ("duckdb_extension_sqlite", "sqlite_scanner"),
    "postgres": ("duckdb_extension_postgres", "postgres_scanner"),
}


def extension_path(name: str, cache_dir: Path) -> Path:
    """Path of a loadable copy of extension `name`, copied under its required file name when that differs."""
    package, load_name = _EXTENSIONS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the DuckDB extension package {package} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    shipped = next(root.glob(f"extensions/v{duckdb.__version__}/*.duckdb_extension"), None)
    if shipped is None:
        raise RuntimeError(f"{package} has no extension built for DuckDB {duckdb.__version__}")
    if shipped.name == f"{load_name}.duckdb_extension":
        return shipped
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{load_name}.duckdb_extension"
    if not target.exists() or target.stat().st_size != shipped.stat().st_size:
        # A copy of its own, then one rename: processes starting together on one data dir each replace the
        # file whole, and none sees a half-written one.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{load_name}-", suffix=".tmp", dir=cache_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(shipped, tmp)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


def connect(
    extensions: list[str], cache_dir: Path, *, threads: int | None, memory_limit: str
) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB instance, UTC, with the named extensions loaded offline."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": memory_limit,
    }
    if threads:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    for name in extensions:
        path = extension_path(name, cache_dir)
        con.execute(f"LOAD '{path}'")
    con.execute("SET TimeZone = 'UTC'")
    return con
