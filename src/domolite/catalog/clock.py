"""The catalog's clock: naive UTC datetimes, as every catalog column holds them."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
