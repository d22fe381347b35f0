"""Alarms: each rings once its delay has passed, in the order they fall due, on one thread; one called off never
rings."""

from __future__ import annotations

import threading

import pytest

from domolite.server.alarms import Alarms

pytestmark = pytest.mark.unit


def test_alarms_ring_when_due_in_order_on_one_thread_and_not_when_called_off() -> None:
    alarms = Alarms()
    rang: list[tuple[str, str]] = []
    last = threading.Event()

    def ring(name: str) -> None:
        rang.append((name, threading.current_thread().name))
        if name == "late":
            last.set()

    alarms.set(0.30, lambda: ring("late"))
    off = alarms.set(0.05, lambda: ring("called off"))
    alarms.set(0.15, lambda: ring("middle"))
    alarms.set(0.01, lambda: ring("soon"))  # sooner than every alarm set before it
    off.cancel()
    assert last.wait(10)
    assert [name for name, _thread in rang] == ["soon", "middle", "late"]
    assert {thread for _name, thread in rang} == {"domolite-alarms"}


def test_an_alarm_that_fails_does_not_stop_the_others() -> None:
    alarms = Alarms()
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("broken")

    alarms.set(0.01, fail)
    alarms.set(0.02, done.set)
    assert done.wait(10)
