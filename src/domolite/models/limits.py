"""The sizes domolite accepts (each a setting, see docs/configuration.md), and the checks that refuse what is
larger with an error naming the field and the setting."""

from __future__ import annotations

from dataclasses import dataclass

from domolite.errors import InvalidField, PayloadTooLarge
from domolite.settings import Settings


@dataclass(frozen=True)
class Limits:
    part_bytes: int = 2 * 2**30
    record_bytes: int = 4 * 2**20
    name_chars: int = 255
    description_chars: int = 65_536
    sql_chars: int = 262_144
    columns: int = 1500
    json_bytes: int = 16 * 2**20

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            part_bytes=settings.max_part_bytes,
            record_bytes=settings.max_record_bytes,
            name_chars=settings.max_name_chars,
            description_chars=settings.max_description_chars,
            sql_chars=settings.max_sql_chars,
            columns=settings.max_columns,
            json_bytes=settings.max_json_bytes,
        )

    def name(self, value: str, field: str) -> str:
        return _at_most(value, field, self.too_long(value, "name"))

    def description(self, value: str, field: str) -> str:
        return _at_most(value, field, self.too_long(value, "description"))

    def sql(self, value: str, field: str) -> str:
        return _at_most(value, field, self.too_long(value, "sql"))

    def too_long(self, value: str, kind: str) -> str | None:
        """Why `value` is too long for a field of this kind (name, description, sql, or a fixed width such as
        email), or None."""
        if kind in FIXED_WIDTHS:
            limit, setting = FIXED_WIDTHS[kind], None
        else:
            limit, setting = getattr(self, f"{kind}_chars"), f"max_{kind}_chars"
        if len(value) <= limit:
            return None
        why = f"the {setting} setting" if setting else "the catalog's width"
        return f"is {len(value)} characters long, more than {limit}, the limit ({why})"

    def column_count(self, count: int, field: str) -> None:
        if count > self.columns:
            raise InvalidField(
                field, f"{count} columns is more than {self.columns}, the limit (the max_columns setting)"
            )

    def json_size(self, size: int) -> None:
        if size > self.json_bytes:
            raise PayloadTooLarge(
                f"the JSON body is larger than {self.json_bytes} bytes, the limit (the max_json_bytes setting)"
            )


# Text fields whose catalog column has a fixed width.
FIXED_WIDTHS = {"email": 320, "provider": 200, "tag": 1000}


def _at_most(value: str, field: str, problem: str | None) -> str:
    if problem is not None:
        raise InvalidField(field, problem)
    return value
