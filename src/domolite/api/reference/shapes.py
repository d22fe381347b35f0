"""The pieces the reference's JSON schemas are built of: scalar types, objects of required and optional members,
references to named components, arrays, and enums drawn from the domain's own enums (so they cannot drift)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
NULL = {"type": "null"}
NULL_STR = {"type": ["string", "null"]}
NULL_INT = {"type": ["integer", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}
EPOCH_MS = {"type": "integer", "description": "Milliseconds since 1970 (UTC)."}
NULL_EPOCH_MS = {"type": ["integer", "null"], "description": "Milliseconds since 1970 (UTC), or null."}
EPOCH_S = {"type": "integer", "description": "Seconds since 1970 (UTC)."}
NULL_EPOCH_S = {"type": ["integer", "null"], "description": "Seconds since 1970 (UTC), or null."}
EMPTY_OBJECT = {"type": "object", "maxProperties": 0, "description": "Always {}."}
EMPTY_ARRAY = {"type": "array", "maxItems": 0, "description": "Always []."}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object whose `required` members are always there and whose `optional` ones may be."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(item: str | dict[str, Any]) -> dict[str, Any]:
    """An array of the named component, or of the schema given."""
    return {"type": "array", "items": ref(item) if isinstance(item, str) else item}


def nullable(name: str) -> dict[str, Any]:
    """The named component, or null."""
    return {"anyOf": [ref(name), NULL]}


def one_of(kind: type[StrEnum] | Iterable[str]) -> dict[str, Any]:
    """A string that is one of the enum's values (or of the strings given)."""
    return {"type": "string", "enum": [str(v) for v in kind]}


def const(value: Any) -> dict[str, Any]:
    return {"const": value}
