"""Alarms: a function called once a delay has passed, unless it is called off first. One thread keeps every alarm
of the process, where `threading.Timer` starts a thread for each (a query's time limit would start one per
query, and wake it again to call it off)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("domolite")


class Alarm:
    def __init__(self, when: float, action: Callable[[], None]) -> None:
        self.when = when
        self.action: Callable[[], None] | None = action

    def cancel(self) -> None:
        """Call it off (a no-op once it has rung)."""
        self.action = None


class Alarms:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def set(self, delay_s: float, action: Callable[[], None]) -> Alarm:
        """`action` runs on the alarms' thread after `delay_s` seconds (it must not block)."""
        alarm = Alarm(time.monotonic() + delay_s, action)
        with self._wake:
            soonest = not self._heap or alarm.when < self._heap[0][0]
            heapq.heappush(self._heap, (alarm.when, next(self._order), alarm))
            if self._thread is None:
                self._thread = threading.Thread(target=self._ring, name="domolite-alarms", daemon=True)
                self._thread.start()
            elif soonest:
                self._wake.notify()
        return alarm

    def _ring(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].action is None:
                    heapq.heappop(self._heap)  # called off
                if not self._heap:
                    self._wake.wait()
                    continue
                wait_s = self._heap[0][0] - time.monotonic()
                if wait_s > 0:
                    self._wake.wait(timeout=wait_s)
                    continue
                _when, _n, alarm = heapq.heappop(self._heap)
                action, alarm.action = alarm.action, None
            if action is not None:
                try:
                    action()
                except Exception:  # an alarm's failure is its own; the others still ring
                    log.exception("an alarm failed")


ALARMS = Alarms()
