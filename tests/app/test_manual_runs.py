"""A manual run of a writeback stream is refused (409) while the stream is running, that is while the execution of
its latest run has not ended. A run frees its stream's lease a moment after its execution ends: a manual run asked
for in that moment (a client that starts the next run as soon as it reads the last one's SUCCESS) waits for the
lease instead of being refused."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from domolite.auth.bootstrap import create_user
from domolite.catalog.clock import utcnow
from domolite.connectors.scheduler import FINISHING_S
from domolite.errors import Conflict
from domolite.models.records import Column, DomoType, ExecutionState, Principal, RunInfo
from domolite.services import build_services
from domolite.settings import Settings

OTHER = "another server process"


def test_a_manual_run_waits_for_a_finished_run_to_free_its_lease_and_is_refused_while_one_runs(
    tmp_path: Path,
) -> None:
    services = build_services(Settings(data_dir=tmp_path / "data"))
    schedules, streams = services.catalog.schedules, services.catalog.streams
    try:
        admin = Principal(
            user=create_user(services.catalog, "a@example.com", "A", "Admin", None), scopes=frozenset({"data"})
        )
        dataset, stream = services.datasets.create(
            admin, name="written back", description="", columns=[Column("n", DomoType.LONG)]
        )
        schedules.put(stream.id, retry_count=0, next_run_at=None)

        def a_run_of_the_other_process(state: ExecutionState) -> int:
            assert schedules.claim(stream.id, OTHER, utcnow(), utcnow() + timedelta(minutes=5), due_only=False)
            execution = services.ingest.open_execution(stream, dataset, None)
            schedules.record_run(RunInfo(execution.id, stream.id, "MANUAL", 0, admin.user.id, None))
            if state is not ExecutionState.ACTIVE:
                streams.advance_execution(execution, state, message="the last run ended")
            return execution.id

        # The last run's execution has ended; its lease is freed half a second later.
        ended = a_run_of_the_other_process(ExecutionState.ERROR)
        release = threading.Timer(
            0.5, lambda: schedules.release(stream.id, OTHER, next_run_at=None, retry_at=None, attempt=0)
        )
        release.start()
        asked = time.monotonic()
        execution = services.runs.run_now(stream, admin.user.id)
        waited = time.monotonic() - asked
        release.join()
        assert execution.id != ended and execution.state is ExecutionState.ACTIVE
        assert 0.4 <= waited < FINISHING_S
        deadline = time.monotonic() + 30
        while (held := schedules.get(stream.id)) is not None and held.lease_owner is not None:
            assert time.monotonic() < deadline, "the new run did not end"
            time.sleep(0.05)
        assert streams.get_execution(stream.id, execution.id).state is ExecutionState.ERROR  # it has no connector

        # A run whose execution is still going: refused at once, as before.
        running = a_run_of_the_other_process(ExecutionState.ACTIVE)
        asked = time.monotonic()
        with pytest.raises(Conflict, match="already running"):
            services.runs.run_now(stream, admin.user.id)
        assert time.monotonic() - asked < 0.5
        assert max(schedules.runs(stream.id)) == running
    finally:
        services.runs.close()
        services.door.close()
        services.lake.close()
        services.catalog.close()
