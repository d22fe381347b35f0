"""Private folders under the staging area (a download's pipe, an export's Parquet files, an import's body),
named after the server process that made them, so that a process removes the leftovers of gone processes, at
its start and while it runs, and never a folder that a live process still uses."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def private_dir(parent: Path, kind: str, owner: str) -> Path:
    """A new empty folder `<kind>-<owner>-<random>` under `parent`."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{owner}-", dir=parent))


def remove_gone(parent: Path, kind: str, is_gone: Callable[[str | None], bool]) -> int:
    """Remove the `kind` folders under `parent` whose owner is gone (a folder named without an owner counts
    as gone); returns how many were removed."""
    removed = 0
    for path in parent.glob(f"{kind}-*"):
        owner, sep, _rest = path.name.removeprefix(f"{kind}-").rpartition("-")
        if is_gone(owner if sep and owner else None):
            _remove(path)
            removed += 1
    return removed


def remove_strays(parent: Path, kinds: tuple[str, ...]) -> int:
    """Remove what lies under `parent` (a folder that holds only private folders of `kinds`) and is not a
    private folder of those kinds: what an older version left there. Returns how many were removed."""
    removed = 0
    for path in parent.glob("*"):
        kind, sep, rest = path.name.partition("-")
        if not (kind in kinds and sep and "-" in rest):
            _remove(path)
            removed += 1
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
