"""The staging area: where the parts of an ACTIVE execution (stream parts, upload parts, a connector's rows) wait
for their commit. In a folder of the data dir (`FolderStaging`, the default), or as objects in the lake's bucket
(`BucketStaging`, when the lake is in S3), so that the parts of one execution may arrive at different server
processes and be committed by any of them.

A body is always received into a local file first (checked whole, see `ingest/parts.py`); `placing` then keeps it
in the staging area, and the commit reads every part where `location` says (a path, or an s3:// URL that DuckDB
reads with the lake's secret).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from domolite.storage.s3 import LakeObjects

INCOMING = "incoming"


def _part_name(part_no: int) -> str:
    return f"part-{part_no:012d}.csv"


def _execution_name(execution_id: int) -> str:
    return f"execution-{execution_id}"


def _execution_id(name: str) -> int | None:
    try:
        return int(name.removeprefix("execution-")) if name.startswith("execution-") else None
    except ValueError:
        return None


class FolderStaging:
    """Parts as files under `<root>/execution-<id>/`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def location(self, execution_id: int, part_no: int) -> str:
        return str(self.root / _execution_name(execution_id) / _part_name(part_no))

    @contextmanager
    def placing(self, received: Path, execution_id: int, part_no: int, owner: str) -> Iterator[Callable[[], None]]:
        """Yield the call that puts a received file in its place (run in the catalog transaction that records
        the part); whatever was not placed is removed at the end."""
        dest = Path(self.location(execution_id, part_no))

        def place() -> None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(received, dest)

        try:
            yield place
        finally:
            received.unlink(missing_ok=True)

    @contextmanager
    def readable(self, execution_id: int, part_no: int, scratch: Path) -> Iterator[Path]:
        """A local file holding the part, for Python to read (the diagnostics of a failed commit)."""
        yield Path(self.location(execution_id, part_no))

    def discard(self, execution_id: int) -> None:
        shutil.rmtree(self.root / _execution_name(execution_id), ignore_errors=True)

    def staged_executions(self) -> set[int]:
        """The executions that have parts here."""
        found = (_execution_id(p.name) for p in self.root.glob("execution-*"))
        return {e for e in found if e is not None}

    def remove_gone_incoming(self, is_gone: Callable[[str | None], bool]) -> None:
        """Nothing to do: received files are local, removed by their own process or its data dir's next start."""


class BucketStaging:
    """Parts as objects under `<prefix>/staging/execution-<id>/` in the lake's bucket. A received file is
    uploaded under `staging/incoming/<owner>-<random>` first, then copied into place within the bucket in the
    catalog transaction that records the part (so a part that loses the race with a commit is never read by
    it), and the incoming object removed."""

    # Gone processes' incoming objects are looked for at most this often (a LIST request): settling runs at
    # every heartbeat, and an incoming object is only ever left by a process that died mid-request.
    INCOMING_SWEEP_S = 60.0

    def __init__(self, objects: LakeObjects) -> None:
        self.objects = objects
        self.bucket = objects.bucket
        self._swept_at: float | None = None

    def _key(self, *names: str) -> str:
        return self.bucket.key("staging", *names)

    def location(self, execution_id: int, part_no: int) -> str:
        return f"s3://{self.bucket.bucket}/{self._key(_execution_name(execution_id), _part_name(part_no))}"

    @contextmanager
    def placing(self, received: Path, execution_id: int, part_no: int, owner: str) -> Iterator[Callable[[], None]]:
        incoming = self._key(INCOMING, f"{owner}-{uuid.uuid4().hex}")
        dest = self._key(_execution_name(execution_id), _part_name(part_no))
        try:
            self.objects.put_file(received, incoming)
            received.unlink(missing_ok=True)  # kept in the bucket now: the local copy is not needed
            yield lambda: self.objects.copy(incoming, dest)
        finally:
            received.unlink(missing_ok=True)
            try:
                self.objects.delete([incoming])
            except Exception:  # a leftover incoming object is removed once this process is gone
                pass

    @contextmanager
    def readable(self, execution_id: int, part_no: int, scratch: Path) -> Iterator[Path]:
        scratch.mkdir(parents=True, exist_ok=True)
        path = scratch / f"{uuid.uuid4().hex}-{_part_name(part_no)}"
        try:
            self.objects.get_file(self._key(_execution_name(execution_id), _part_name(part_no)), path)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def discard(self, execution_id: int) -> None:
        keys = list(self.objects.keys(self._key(_execution_name(execution_id)) + "/"))
        if keys:
            self.objects.delete(keys)

    def staged_executions(self) -> set[int]:
        found: set[int] = set()
        start = self._key() + "/"
        for key in self.objects.keys(start):
            execution = _execution_id(key.removeprefix(start).partition("/")[0])
            if execution is not None:
                found.add(execution)
        return found

    def remove_gone_incoming(self, is_gone: Callable[[str | None], bool]) -> None:
        """Remove the incoming objects of processes that are gone (they died between upload and placing); at
        the first call, then at most every INCOMING_SWEEP_S."""
        now = time.monotonic()
        if self._swept_at is not None and now - self._swept_at < self.INCOMING_SWEEP_S:
            return
        self._swept_at = now
        start = self._key(INCOMING) + "/"
        gone = []
        for key in self.objects.keys(start):
            owner, sep, _rest = key.removeprefix(start).rpartition("-")
            if is_gone(owner if sep and owner else None):
                gone.append(key)
        if gone:
            self.objects.delete(gone)


Staging = FolderStaging | BucketStaging
