"""Progress of a long command: a rich progress bar on a terminal, plain lines (one per step) otherwise."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Reporter:
    """Progress in bytes (or any unit) of one task; `step` lines say what happened (a part sent, a retry)."""

    def __init__(self, what: str, total: float | None, stream: TextIO | None = None, unit: str = "bytes") -> None:
        self.stream = stream or sys.stderr
        self.what = what
        self.total = total
        self.unit = unit
        self.done = 0.0
        self.lock = threading.Lock()
        self.tty = self.stream.isatty()
        self.bar: Progress | None = None
        if self.tty:
            columns = [TextColumn("{task.description}"), BarColumn(), TaskProgressColumn()]
            if unit == "bytes":
                columns += [DownloadColumn(), TransferSpeedColumn()]
            self.bar = Progress(*columns, TimeRemainingColumn(), console=Console(file=self.stream), transient=False)
            self.task = self.bar.add_task(what, total=total)

    def __enter__(self) -> Reporter:
        if self.bar is not None:
            self.bar.start()
        else:
            size = f" ({self.total:.0f} {self.unit})" if self.total is not None else ""
            self._line(f"{self.what}: started{size}")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()
        elif kind is None:
            self._line(f"{self.what}: done ({self.done:.0f} {self.unit})")

    def advance(self, amount: float, step: str | None = None) -> None:
        with self.lock:
            self.done += amount
            if self.bar is not None:
                self.bar.update(self.task, advance=amount)
            if step is not None:
                self.step(step)

    def set(self, done: float, total: float | None = None, step: str | None = None) -> None:
        with self.lock:
            self.done = done
            if total is not None:
                self.total = total
            if self.bar is not None:
                self.bar.update(self.task, completed=done, total=self.total)
            if step is not None:
                self.step(step)

    def step(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, highlight=False, markup=False)
        else:
            self._line(text)

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
