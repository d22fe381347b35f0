"""Rows of a trusted SELECT (built on the door's SELECT) written out for an export: CSV as a stream of
chunks read from a FIFO while DuckDB writes it, Parquet as files on local disk. Both fail loudly: a failed
query is an error, never a short result.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from domolite.query.fifo import read_through_fifo
from domolite.storage.lake import Lake


def csv_chunks(lake: Lake, select_sql: str, scratch_dir: Path) -> Iterator[bytes]:
    """The rows of `select_sql` as CSV with a header, in chunks of 1 MiB (the last one shorter).

    Raises (from the iterator, after the last chunk):
        DomoError: DuckDB failed; what was read so far is not the whole result.
    """
    return read_through_fifo(lambda dest: lake.unload_csv(select_sql, dest), scratch_dir, name="unload-csv")


class ParquetFiles:
    """Parquet files of one export in a private scratch folder, removed by `close()`."""

    def __init__(self, scratch_dir: Path) -> None:
        scratch_dir.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="unload-", dir=scratch_dir))

    def write(
        self, lake: Lake, select_sql: str, *, compression: str, file_size_bytes: int
    ) -> list[tuple[Path, int, int]]:
        files = lake.copy_parquet(
            select_sql, str(self.workdir / "out"), compression=compression, file_size_bytes=file_size_bytes
        )
        return [(Path(p), rows, size) for p, rows, size in files]

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
