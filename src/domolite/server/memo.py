"""A bounded memory of computed values, shared by threads: the least recently used go first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most `size` values by key. A value is computed outside the lock (two threads may compute the same one
    at once; both get an equal value), so a slow computation never holds up readers of other keys."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value remembered for `key`, or `compute()` remembered now (an exception is never remembered)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def discard(self, key: K) -> None:
        """Forget the value of `key`, if one is remembered."""
        with self._lock:
            self._values.pop(key, None)

    def forget(self, which: Callable[[K], bool]) -> None:
        """Forget every value whose key `which` picks."""
        with self._lock:
            for key in [k for k in self._values if which(k)]:
                del self._values[key]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._values

    def peek(self, key: K) -> V | None:
        """The value remembered for `key` (None when there is none), without making it recent."""
        with self._lock:
            return self._values.get(key)

    def recent(self, key: K) -> V | None:
        """The value remembered for `key` (None when there is none), made the most recent."""
        with self._lock:
            if key not in self._values:
                return None
            self._values.move_to_end(key)
            return self._values[key]


class StampedMemo(Generic[K, V]):
    """At most `size` values by key, each with the stamp it was computed at (a count of changes that moves
    whenever what the value is computed from changes): a value is given back only while the stamp asked with is
    the one it was computed at, else computed again and remembered at the new stamp. Read the stamp before
    computing: a change made meanwhile moves it past the stamp the value is remembered at."""

    def __init__(self, size: int) -> None:
        self._memo: Memo[K, tuple[int, V]] = Memo(size)

    def get(self, key: K, stamp: int, compute: Callable[[], V]) -> V:
        held = self._memo.recent(key)
        if held is not None and held[0] == stamp:
            return held[1]
        value = compute()
        self._memo.put(key, (stamp, value))
        return value
