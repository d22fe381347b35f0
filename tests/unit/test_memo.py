"""The bounded memory of computed values: the least recently used go first, failures are never remembered."""

from __future__ import annotations

import pytest

from domolite.server.memo import Memo, StampedMemo


def test_the_least_recently_used_value_goes_first() -> None:
    memo: Memo[str, int] = Memo(2)
    computed: list[str] = []

    def value(key: str) -> int:
        computed.append(key)
        return len(key)

    assert memo.get("a", lambda: value("a")) == 1
    assert memo.get("bb", lambda: value("bb")) == 2
    assert memo.get("a", lambda: value("a")) == 1  # remembered, and now the most recent
    assert memo.get("ccc", lambda: value("ccc")) == 3  # "bb" goes
    assert "bb" not in memo and "a" in memo and "ccc" in memo
    assert computed == ["a", "bb", "ccc"]


def test_a_failure_is_not_remembered_and_forget_picks_keys() -> None:
    memo: Memo[tuple[str, int], str] = Memo(10)

    def fail() -> str:
        raise ValueError("not now")

    with pytest.raises(ValueError):
        memo.get(("t", 1), fail)
    assert ("t", 1) not in memo
    memo.put(("t", 1), "one")
    memo.put(("t", 2), "two")
    memo.put(("u", 1), "other")
    memo.forget(lambda key: key[0] == "t")
    assert ("t", 1) not in memo and ("t", 2) not in memo and memo.peek(("u", 1)) == "other"


def test_discard_forgets_one_key_and_leaves_the_others() -> None:
    memo: Memo[str, int] = Memo(4)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.discard("a")
    memo.discard("never there")
    assert "a" not in memo and memo.peek("b") == 2
    assert memo.get("a", lambda: 10) == 10  # computed again


def test_a_stamped_value_is_given_back_only_at_the_stamp_it_was_computed_at() -> None:
    memo: StampedMemo[str, list[int]] = StampedMemo(2)
    first = memo.get("a", 7, lambda: [7])
    assert memo.get("a", 7, lambda: [0]) is first  # the stamp stands: remembered
    assert memo.get("a", 8, lambda: [8]) == [8]  # the stamp moved: computed again
    assert memo.get("a", 8, lambda: [0]) == [8]
    assert memo.get("b", 8, lambda: [1]) == [1]
    assert memo.get("a", 8, lambda: [0]) == [8]  # a hit makes "a" the most recent ...
    memo.get("c", 8, lambda: [2])  # ... so "b" goes
    assert memo.get("a", 8, lambda: [0]) == [8] and memo.get("b", 8, lambda: [3]) == [3]
    with pytest.raises(ValueError):
        memo.get("d", 8, lambda: (_ for _ in ()).throw(ValueError("not now")))
    assert memo.get("d", 8, lambda: [4]) == [4]  # a failure is never remembered
