"""Runs of connector streams: manual ones, and the scheduler that starts due ones exactly once.

Every run first takes its stream's lease in the catalog (see catalog/schedules.py), so two processes never run
the same stream at once and a due firing is taken by one of them only. While it runs, the job renews the lease;
when it ends, one statement frees the lease and records the next firing and any retry.

A failed run is retried `scheduleRetryCount` times, after 1, 2, 4, ... schedule minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from domolite.catalog import Catalog
from domolite.catalog.clock import utcnow
from domolite.catalog.product import ProductStore
from domolite.catalog.schedules import StreamSchedule
from domolite.connectors.schedule import Schedule
from domolite.connectors.schedule import parse as parse_schedule
from domolite.connectors.writeback import DateParse, RunResult, UnloadRunner, metrics_csv
from domolite.errors import Conflict, DomoError, NotFound, ShuttingDown
from domolite.ingest.executions import Ingest
from domolite.models.records import (
    EXECUTION_TRANSITIONS,
    Column,
    Connector,
    DomoType,
    Execution,
    ExecutionState,
    RunInfo,
    Stream,
)
from domolite.server import metrics
from domolite.settings import Settings

log = logging.getLogger("domolite.scheduler")

MANUAL = "MANUAL"
# How long a manual run waits for a run whose execution has ended to free its stream's lease (normally a few ms).
FINISHING_S = 5.0
AUTOMATED = "AUTOMATED"


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def account_id(connector: Connector) -> int | None:
    raw = (connector.account or {}).get("id")
    try:
        return None if raw is None else int(raw)
    except (TypeError, ValueError):
        return None


class ConnectorRuns:
    def __init__(
        self,
        catalog: Catalog,
        product: ProductStore,
        ingest: Ingest,
        unload: UnloadRunner,
        settings: Settings,
        *,
        process_id: str,
    ) -> None:
        self.catalog = catalog
        self.product = product
        self.schedules = catalog.schedules
        self.ingest = ingest
        self.unload = unload
        self.settings = settings
        self.owner = process_id  # the lease holder's name: this server process
        self._pool = ThreadPoolExecutor(max_workers=settings.scheduler_workers, thread_name_prefix="connector")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.scheduler_enabled and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Start no more runs; running ones stop at their next look (they end ERROR, saying why)."""
        self._stop.set()

    def close(self, timeout_s: float = 20.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        waiter = threading.Thread(target=self._pool.shutdown, kwargs={"wait": True, "cancel_futures": True})
        waiter.start()
        waiter.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.scheduler_tick_s):
            try:
                self.tick()
            except Exception:
                log.exception("the scheduler's look for due streams failed")

    # -- the schedule --------------------------------------------------------------------------------------
    def set_schedule(self, stream_id: int, schedule: Schedule, retry_count: int) -> None:
        """A stream's schedule was set or changed: its next firing counts from now."""
        first = schedule.first_run(datetime.now(UTC), self.settings.scheduler_minute_s)
        self.schedules.put(stream_id, retry_count=retry_count, next_run_at=naive(first) if first else None)

    def schedule_of(self, stream_id: int) -> StreamSchedule | None:
        return self.schedules.get(stream_id)

    def runs(self, stream_id: int) -> dict[int, RunInfo]:
        return self.schedules.runs(stream_id)

    def tick(self) -> list[Execution]:
        """Start every due stream this process can take the lease of; the runs it started."""
        started = []
        self.settle_orphans()
        now = utcnow()
        for stream_id in self.schedules.due(now):
            if self._stop.is_set():
                break
            if not self.schedules.claim(stream_id, self.owner, now, self._lease_end(), due_only=True):
                continue  # another process took it
            try:
                started.append(self._launch(stream_id, AUTOMATED, None))
            except NotFound:
                self.schedules.delete(stream_id)  # the stream or its DataSet is gone
            except Exception:
                log.exception("starting a scheduled run of stream %s failed", stream_id)
        return started

    # -- runs ----------------------------------------------------------------------------------------------
    def run_now(self, stream: Stream, started_by: int) -> Execution:
        """A manual run. Raises Conflict while the stream is running: while the execution of its latest run has
        not ended. A run frees its stream's lease a moment after its execution ends; a manual run asked for in
        that moment waits for it (up to FINISHING_S) instead of being refused."""
        if self.schedules.get(stream.id) is None:
            self.schedules.put(stream.id, retry_count=0, next_run_at=None)
        deadline = time.monotonic() + FINISHING_S
        while not self.schedules.claim(stream.id, self.owner, utcnow(), self._lease_end(), due_only=False):
            if not self._latest_run_ended(stream.id) or time.monotonic() >= deadline:
                raise Conflict(f"stream {stream.id} is already running; wait for its execution to end")
            time.sleep(0.05)
        return self._launch(stream.id, MANUAL, started_by)

    def _latest_run_ended(self, stream_id: int) -> bool:
        runs = self.schedules.runs(stream_id)
        if not runs:
            return False
        try:
            state = self.catalog.streams.get_execution(stream_id, max(runs)).state
        except NotFound:
            return False
        return not EXECUTION_TRANSITIONS[state]  # SUCCESS, ERROR, ABORTED: no way on

    def _lease_end(self) -> datetime:
        return utcnow() + timedelta(seconds=self.settings.scheduler_lease_s)

    def _launch(self, stream_id: int, run_type: str, started_by: int | None) -> Execution:
        """With the lease held: open the execution and hand the run to a worker. Frees the lease on failure."""
        try:
            stream = self.catalog.streams.get(stream_id)
            dataset = self.catalog.datasets.get(stream.dataset_id)
            held = self.schedules.get(stream_id)
            now = utcnow()
            assert held is not None
            retry = run_type == AUTOMATED and held.retry_at is not None and held.retry_at <= now
            attempt = held.attempt if retry else 0
            execution = self.ingest.open_execution(stream, dataset, None)
            self.schedules.record_run(RunInfo(execution.id, stream_id, run_type, attempt, started_by, None))
        except BaseException:
            self._release_unchanged(stream_id)
            raise
        self._pool.submit(self._run, stream, execution, run_type, attempt)
        return execution

    def _release_unchanged(self, stream_id: int) -> None:
        held = self.schedules.get(stream_id)
        if held is not None:
            self.schedules.release(
                stream_id, self.owner, next_run_at=held.next_run_at, retry_at=held.retry_at, attempt=held.attempt
            )

    def settle_orphans(self) -> None:
        """Runs left going by a process that stopped (their lease is free, so nobody runs them) end ERROR. A run
        caught mid-commit whose row reached the lake is left to the commit recovery (`Ingest.recover`), which
        settles it once its process is known to be gone."""
        for stream_id, execution_id in self.schedules.orphaned_runs(utcnow()):
            execution = self.catalog.streams.get_execution(stream_id, execution_id)
            if execution.state is ExecutionState.COMMITTING and self.ingest.lake.committed("execution", execution_id):
                continue  # Ingest.recover settles it
            try:
                self.catalog.streams.advance_execution(
                    execution, ExecutionState.ERROR, message="the run was interrupted: the server running it stopped"
                )
            except Conflict:
                pass

    def _run(self, stream: Stream, execution: Execution, run_type: str, attempt: int) -> None:
        failed = True
        last_renew = [time.monotonic()]

        def tick() -> None:
            if self._stop.is_set():
                raise ShuttingDown("the run was stopped: the server is shutting down")
            if time.monotonic() - last_renew[0] >= self.settings.scheduler_lease_s / 3:
                last_renew[0] = time.monotonic()
                self.schedules.renew(stream.id, self.owner, self._lease_end())

        try:
            started = utcnow()
            dataset = self.catalog.datasets.get(stream.dataset_id)
            connector = self.product.get_connector(stream.id)
            if connector is None:
                result = RunResult(None, f"stream {stream.id} has no connector")
                schedule = parse_schedule(None)
            else:
                schedule = _schedule_or_manual(connector.schedule)
                result = self.unload.run(
                    dataset,
                    connector.configuration,
                    account_id(connector),
                    schedule,
                    on_export=lambda export_id: self.schedules.set_export(execution.id, export_id),
                    tick=tick,
                )
            date_parse = DateParse.DATETIME if _started_type(dataset.columns) is DomoType.DATETIME else DateParse.AS_IS
            row = metrics_csv(result, date_parse, started, utcnow())
            self.ingest.stage_part(stream.id, execution.id, 1, row)
            job = result.job
            reported = (job.rows_written, job.bytes_written) if job else (0, 0)
            done, _ = self.ingest.commit_version(dataset, stream, execution.id, reported=reported, failure=result.error)
            failed = done.state is not ExecutionState.SUCCESS
            log.info("run %s of stream %s ended %s", execution.id, stream.id, done.state.value)
        except DomoError as exc:
            self._fail(stream.id, execution.id, exc.message)
        except BaseException as exc:
            log.exception("run %s of stream %s failed unexpectedly (%s)", execution.id, stream.id, type(exc).__name__)
            self._fail(stream.id, execution.id, "the run failed on the server")
            if not isinstance(exc, Exception):
                raise
        finally:
            metrics.scheduler_run_ended(failed)
            self._finish(stream.id, run_type, attempt, failed)

    def _fail(self, stream_id: int, execution_id: int, message: str) -> None:
        try:
            execution = self.catalog.streams.get_execution(stream_id, execution_id)
            if execution.state is ExecutionState.ACTIVE:
                self.catalog.streams.advance_execution(execution, ExecutionState.ERROR, message=message)
        except DomoError:
            pass

    def _finish(self, stream_id: int, run_type: str, attempt: int, failed: bool) -> None:
        """Free the lease; record the next firing (if this run was it) and a retry (if it failed)."""
        held = self.schedules.get(stream_id)
        if held is None:
            return
        now = datetime.now(UTC)
        next_run_at = held.next_run_at
        connector = self.product.get_connector(stream_id)
        schedule = _schedule_or_manual(connector.schedule if connector else None)
        if run_type == AUTOMATED and next_run_at is not None and aware(next_run_at) <= now:
            following = schedule.next_run(aware(next_run_at), now, self.settings.scheduler_minute_s)
            next_run_at = naive(following) if following else None
        retry_at: datetime | None = None
        next_attempt = 0
        if failed and attempt < held.retry_count:
            next_attempt = attempt + 1
            backoff = self.settings.scheduler_minute_s * 2 ** (next_attempt - 1)
            retry_at = naive(now + timedelta(seconds=backoff))
        self.schedules.release(stream_id, self.owner, next_run_at=next_run_at, retry_at=retry_at, attempt=next_attempt)


def _schedule_or_manual(text: str | None) -> Schedule:
    try:
        return parse_schedule(text)
    except DomoError:
        return parse_schedule(None)


def _started_type(columns: tuple[Column, ...]) -> DomoType | None:
    return next((c.type for c in columns if c.name == "started"), None)
