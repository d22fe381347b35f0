"""When a server process counts as gone, so that its running work may be settled by another."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from domolite.catalog import open_catalog
from domolite.catalog.processes import ProcessRow
from domolite.datasets.versions import Versions
from domolite.server.liveness import Survey

NOW = datetime(2026, 11, 23, 12, 0, 0)
HOST = "this-host/boot-1"


def survey(*rows: ProcessRow) -> Survey:
    return Survey(
        me="me", host=HOST, pid=os.getpid(), rows={r.id: r for r in rows}, now=NOW, dead_after=timedelta(seconds=30)
    )


def row(process_id: str, host: str, pid: int, beat_s_ago: float) -> ProcessRow:
    return ProcessRow(process_id, host, pid, NOW - timedelta(hours=1), NOW - timedelta(seconds=beat_s_ago))


def a_dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_this_process_is_never_gone() -> None:
    assert not survey(row("me", HOST, os.getpid(), 3600)).is_gone("me")


def test_work_with_no_owner_or_an_unknown_owner_is_orphaned() -> None:
    assert survey().is_gone(None)
    assert survey().is_gone("removed-at-a-clean-stop")


def test_a_process_on_another_host_is_gone_once_its_heartbeat_is_old() -> None:
    s = survey(row("fresh", "other-host/boot-9", 4242, 29), row("stale", "other-host/boot-9", 4242, 31))
    assert not s.is_gone("fresh")
    assert s.is_gone("stale")
    assert s.gone() == ["stale"]


def test_a_process_on_this_host_is_gone_at_once_when_its_pid_no_longer_runs() -> None:
    parent = os.getppid()  # runs, and is not this process
    s = survey(row("running", HOST, parent, 1), row("exited", HOST, a_dead_pid(), 1))
    assert not s.is_gone("running")
    assert s.is_gone("exited")


def test_a_former_run_with_this_processes_pid_is_gone() -> None:
    """A restarted container often gets the same pid: the row with it and another id is the former run."""
    assert survey(row("former", HOST, os.getpid(), 1)).is_gone("former")


def test_the_same_pid_on_a_rebooted_host_is_judged_by_its_heartbeat() -> None:
    s = survey(row("before-reboot", "this-host/boot-0", os.getpid(), 5))
    assert not s.is_gone("before-reboot")


def test_only_index_requests_of_gone_processes_are_ended(tmp_path: Path) -> None:
    catalog = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    product = catalog.product
    versions = Versions(None, product, None, process_id="me")  # type: ignore[arg-type]  # recover uses the catalog only
    running_here = product.open_index("ds-1", "me")
    running_elsewhere = product.open_index("ds-1", "alive")
    orphaned = product.open_index("ds-1", "gone")
    versions.recover(lambda owner: owner == "gone")
    assert product.get_index("ds-1", running_here).status == "RUNNING"
    assert product.get_index("ds-1", running_elsewhere).status == "RUNNING"
    ended = product.get_index("ds-1", orphaned)
    assert (ended.status, ended.message) == ("ERROR", "interrupted: the server process running it stopped")
    catalog.close()
