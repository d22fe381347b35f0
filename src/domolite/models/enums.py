"""Reading Domo's enumerated words (types, operators, formats) from requests, with a 400 that names the field."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from domolite.errors import InvalidField

E = TypeVar("E", bound=StrEnum)


def parse_member(kind: type[E], value: object, where: str, noun: str, text: str | None = None) -> E:
    """The member of `kind` whose value is `text` (default: `value` upper-cased), or a 400 naming the field."""
    try:
        return kind(str(value).upper() if text is None else text)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidField(where, f"unknown {noun} {value!r}; expected one of {allowed}") from None
