"""advancedScheduleJson: what is accepted, what is refused (naming the key), and when a schedule fires."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from domolite.connectors.schedule import Every, parse
from domolite.errors import InvalidField


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_no_schedule_is_manual_and_never_fires() -> None:
    for text in (None, "", '{"type": "MANUAL", "timezone": "UTC"}'):
        schedule = parse(text)
        assert schedule.every is Every.MANUAL
        assert schedule.first_run(at("2026-11-23T10:00:00"), 60) is None


def test_minute_schedule_fires_every_interval_in_schedule_minutes() -> None:
    schedule = parse('{"type":"MINUTE","timezone":"UTC","between":null,"interval":30}')
    now = at("2026-11-23T10:00:00")
    assert schedule.first_run(now, 60) == at("2026-11-23T10:30:00")
    assert schedule.first_run(now, 0.1) == now + timedelta(seconds=3)  # a shortened clock
    assert schedule.next_run(at("2026-11-23T10:30:00"), at("2026-11-23T10:30:05"), 60) == at("2026-11-23T11:00:00")


def test_missed_firings_are_skipped_not_replayed() -> None:
    schedule = parse('{"type":"HOUR","interval":1}')
    planned = at("2026-11-23T10:00:00")
    assert schedule.next_run(planned, at("2026-11-23T13:20:00"), 60) == at("2026-11-23T14:00:00")


def test_day_schedule_fires_at_the_time_of_day_in_its_timezone() -> None:
    schedule = parse('{"type":"DAY","interval":1,"timezone":"America/Denver","time":"2:30 AM"}')
    assert schedule.at == time(2, 30)
    # 2026-11-23 02:30 in Denver (UTC-7 in November) is 09:30 UTC.
    assert schedule.first_run(at("2026-11-23T08:00:00"), 60) == at("2026-11-23T09:30:00")
    assert schedule.first_run(at("2026-11-23T10:00:00"), 60) == at("2026-11-24T09:30:00")
    assert schedule.next_run(at("2026-11-24T09:30:00"), at("2026-11-24T09:30:01"), 60) == at("2026-11-25T09:30:00")


def test_week_and_month_schedules() -> None:
    week = parse('{"type":"WEEK","interval":2,"dayOfWeek":"friday","at":"18:00"}')
    first = week.first_run(at("2026-11-23T10:00:00"), 60)  # a Monday
    assert first == at("2026-11-27T18:00:00")
    assert week.next_run(at("2026-11-27T18:00:00"), at("2026-11-27T18:00:01"), 60) == at("2026-12-11T18:00:00")
    month = parse('{"type":"MONTH","dayOfMonth":31,"time":"00:00"}')
    assert month.first_run(at("2026-11-23T10:00:00"), 60) == at("2026-11-30T00:00:00")  # November is short
    assert month.next_run(at("2026-11-30T00:00:00"), at("2026-11-30T00:00:01"), 60) == at("2026-12-31T00:00:00")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "advancedScheduleJson"),
        ("[1]", "advancedScheduleJson"),
        ('{"type":"FORTNIGHT"}', "advancedScheduleJson.type"),
        ('{"type":"MINUTE","interval":0}', "advancedScheduleJson.interval"),
        ('{"type":"MINUTE","interval":"ten"}', "advancedScheduleJson.interval"),
        ('{"type":"DAY","timezone":"Mars/Olympus"}', "advancedScheduleJson.timezone"),
        ('{"type":"DAY","time":"25:00"}', "advancedScheduleJson.time"),
        ('{"type":"DAY","time":"13:00 PM"}', "advancedScheduleJson.time"),
        ('{"type":"WEEK","dayOfWeek":"Caturday"}', "advancedScheduleJson.dayOfWeek"),
        ('{"type":"MONTH","dayOfMonth":32}', "advancedScheduleJson.dayOfMonth"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_key(text: str, field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse(text)
    assert caught.value.field == field
