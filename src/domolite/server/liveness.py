"""Which server processes sharing the catalog are alive, so that one process settles another's work (a running
export, a commit) only once that process is gone, and never while it still works on it.

Each process has a row in the catalog and renews its heartbeat every `heartbeat_s`. Another process is gone
when its row is removed (it stopped cleanly, or was found gone before), when its heartbeat is older than
`dead_after_s`, or at once when it ran on this host, in this pid namespace, and its pid no longer runs (or is
our own pid: a former run of a restarted container). Work recorded without an owner predates owners and
counts as orphaned.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from domolite.catalog.clock import utcnow
from domolite.catalog.processes import ProcessRow, ProcessStore

log = logging.getLogger("domolite.liveness")

IsGone = Callable[[str | None], bool]


def this_host() -> str:
    """Where pids mean the same thing: the host name, with the boot id (a rebooted host is another host) and
    the pid namespace (two containers on one kernel, even with one host name, do not see each other's pids)
    where the system has them."""
    parts = [socket.gethostname()[:150]]
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:36])
    except OSError:
        pass
    try:
        parts.append(os.readlink("/proc/self/ns/pid")[:40])
    except OSError:
        pass
    return "/".join(parts)


def pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Survey:
    """The processes as one read of the catalog saw them."""

    me: str
    host: str
    pid: int
    rows: dict[str, ProcessRow]
    now: datetime
    dead_after: timedelta

    def is_gone(self, owner: str | None) -> bool:
        if owner is None:
            return True
        if owner == self.me:
            return False
        row = self.rows.get(owner)
        if row is None:
            return True
        if row.host == self.host and (row.pid == self.pid or not pid_runs(row.pid)):
            return True
        return self.now - row.heartbeat_at > self.dead_after

    def gone(self) -> list[str]:
        return [pid for pid in self.rows if self.is_gone(pid)]

    def others_started(self) -> datetime | None:
        """When the earliest-started other live process started, or None when this one is alone."""
        starts = [r.started_at for i, r in self.rows.items() if i != self.me and not self.is_gone(i)]
        return min(starts) if starts else None


class Liveness:
    def __init__(self, processes: ProcessStore, *, heartbeat_s: float, dead_after_s: float) -> None:
        self.processes = processes
        self.id = uuid.uuid4().hex
        self.host = this_host()
        self.pid = os.getpid()
        self.heartbeat_s = heartbeat_s
        self.dead_after = timedelta(seconds=dead_after_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _row(self) -> ProcessRow:
        now = utcnow()
        return ProcessRow(self.id, self.host, self.pid, now, now)

    def register(self) -> None:
        self.processes.register(self._row())

    def survey(self) -> Survey:
        rows = {r.id: r for r in self.processes.all()}
        return Survey(self.id, self.host, self.pid, rows, utcnow(), self.dead_after)

    def settle(self, recover: Callable[[IsGone], None]) -> None:
        """Hand the work of gone processes to `recover`, then forget those processes."""
        survey = self.survey()
        recover(survey.is_gone)
        self.processes.remove(survey.gone())

    def start(self, recover: Callable[[IsGone], None]) -> None:
        """Renew this process's heartbeat, and settle gone processes' work, every `heartbeat_s`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, args=(recover,), name="liveness", daemon=True)
            self._thread.start()

    def _loop(self, recover: Callable[[IsGone], None]) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                if not self.processes.beat(self.id, utcnow()):
                    log.warning("this process was taken for gone by another one; registering again")
                    self.register()
                self.settle(recover)
            except Exception:
                log.exception("the heartbeat or the settling of gone processes' work failed")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the heartbeat and remove this process's row (its work has ended by now)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        try:
            self.processes.remove([self.id])
        except Exception:
            log.exception("removing this process from the catalog failed")
