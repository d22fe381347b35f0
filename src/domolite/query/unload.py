"""Rows of a trusted SELECT (built on the door's SELECT) written out for an export: CSV as a stream of
chunks read from a FIFO while DuckDB writes it, Parquet as files on local disk. Both fail loudly: a failed
query is an error, never a short result.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from domolite.query.fifo import PIPE_KIND, FifoReader
from domolite.server.cancel import Cancel
from domolite.server.scratch import private_dir, remove_gone, remove_strays
from domolite.storage.lake import Lake

PARQUET_KIND = "parquet"


def csv_chunks(lake: Lake, select_sql: str, scratch_dir: Path, *, owner: str, stop_with: Cancel) -> FifoReader:
    """The rows of `select_sql` as CSV with a header, in chunks of 1 MiB (the last one shorter); closing the
    reader, or cancelling `stop_with`, stops DuckDB.

    Raises (from the iterator, after the last chunk):
        DomoError: DuckDB failed; what was read so far is not the whole result.
    """

    def write(dest: str, stop: Cancel) -> None:
        lake.unload_csv(select_sql, dest, stop)

    return FifoReader(write, scratch_dir, name="unload-csv", owner=owner, stop_with=stop_with)


def remove_leftovers(scratch_dir: Path, is_gone: Callable[[str | None], bool]) -> None:
    """Remove the pipes and Parquet folders that gone server processes (or older versions) left behind."""
    remove_gone(scratch_dir, PIPE_KIND, is_gone)
    remove_gone(scratch_dir, PARQUET_KIND, is_gone)
    remove_strays(scratch_dir, (PIPE_KIND, PARQUET_KIND))


class ParquetFiles:
    """Parquet files of one export in a private scratch folder, removed by `close()`."""

    def __init__(self, lake: Lake, scratch_dir: Path, owner: str) -> None:
        self.lake = lake
        self.workdir = private_dir(scratch_dir, PARQUET_KIND, owner)

    def write(
        self, select_sql: str, *, compression: str, file_size_bytes: int, cancel: Cancel
    ) -> list[tuple[Path, int, int]]:
        files = self.lake.copy_parquet(
            select_sql,
            str(self.workdir / "out"),
            compression=compression,
            file_size_bytes=file_size_bytes,
            cancel=cancel,
        )
        return [(Path(p), rows, size) for p, rows, size in files]

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
