"""The end of a piece of work, which whatever runs on its behalf can hook: a request whose client hung up or ran
out of time, a server that is stopping. DuckDB work hooks its cursor's interrupt, a pipe its unblocking.

A Cancel may have a parent (the server's own, say): cancelling the parent cancels it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Cancelled(Exception):
    """Work stopped because its Cancel was cancelled; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancel:
    def __init__(self, parent: Cancel | None = None, *, deadline: float | None = None) -> None:
        """`deadline` (time.monotonic()) is when the work runs out of time; it is for the work to read
        (`remaining_s`), not a timer."""
        self._lock = threading.Lock()
        self._hooks: dict[int, Callable[[], None]] = {}
        self._next = 0
        self.reason: str | None = None
        self.deadline = deadline
        self._unhook_parent: Callable[[], None] | None = None
        if parent is not None:
            self._unhook_parent = parent.add_hook(lambda: self.cancel(parent.reason or "cancelled"))

    @property
    def cancelled(self) -> bool:
        return self.reason is not None

    def remaining_s(self) -> float | None:
        """Seconds left before the deadline (may be negative), or None without one."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def cancel(self, reason: str) -> None:
        """Cancel the work: run every hook (they must not block), now and for hooks added later. Cancelling
        again keeps the first reason and runs the hooks again (see `poke`)."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
        self.poke()

    def poke(self) -> None:
        """Run the hooks again if the work is cancelled: an interrupt that came before DuckDB started its
        statement is forgotten when the statement starts, so whoever waits for the work to end repeats it."""
        with self._lock:
            hooks = list(self._hooks.values()) if self.reason is not None else []
        for hook in hooks:
            hook()

    def add_hook(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Have `hook` run when the work is cancelled (at once if it already is); returns its removal."""
        with self._lock:
            key = self._next
            self._next += 1
            self._hooks[key] = hook
            cancelled = self.reason is not None
        if cancelled:
            hook()
        return lambda: self._remove(key)

    def _remove(self, key: int) -> None:
        with self._lock:
            self._hooks.pop(key, None)

    @contextmanager
    def hooked(self, hook: Callable[[], None]) -> Iterator[None]:
        """`hook` runs if the work is cancelled while the block runs. Raises Cancelled at the start when the
        work is cancelled already."""
        self.raise_if_cancelled()
        remove = self.add_hook(hook)
        try:
            yield
        finally:
            remove()

    def raise_if_cancelled(self) -> None:
        if self.reason is not None:
            raise Cancelled(self.reason)

    def close(self) -> None:
        """Detach from the parent (the work is over; the parent need not cancel it any more)."""
        if self._unhook_parent is not None:
            self._unhook_parent()
            self._unhook_parent = None
