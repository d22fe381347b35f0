"""A stream's `advancedScheduleJson`, parsed, and when it next fires.

MINUTE and HOUR repeat every `interval` units from the previous firing. DAY, WEEK and MONTH fire at a time of
day (`time`, or Domo's `at`) in the schedule's timezone, every `interval` days, weeks or months; WEEK on
`dayOfWeek` (default MONDAY), MONTH on `dayOfMonth` (default 1, the month's last day when it is shorter).
`minute_s` is how long a schedule minute lasts: 60 in production, less in tests, so a MINUTE schedule can be
seen firing without waiting minutes; DAY, WEEK and MONTH always follow the wall clock.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domolite.errors import InvalidField
from domolite.models.enums import parse_member

FIELD = "advancedScheduleJson"
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?\s*$")


class Every(StrEnum):
    MANUAL = "MANUAL"
    MINUTE = "MINUTE"
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@dataclass(frozen=True)
class Schedule:
    every: Every
    interval: int = 1
    timezone: str = "UTC"
    at: time = time(0, 0)
    day_of_week: int = 0  # Monday
    day_of_month: int = 1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        """The date in the schedule's timezone at `now` (an aware UTC datetime)."""
        return now.astimezone(self.zone).date()

    def expression(self) -> str | None:
        """The schedule as Domo's `scheduleExpression`: a Quartz cron expression (seconds first), in the
        schedule's timezone; None for MANUAL. A WEEK schedule of more than one week fires on its weekday and
        keeps its interval in `advancedScheduleJson` (cron cannot say "every other week")."""
        minute, hour, n = self.at.minute, self.at.hour, self.interval
        if self.every is Every.MANUAL:
            return None
        if self.every is Every.MINUTE:
            return f"0 0/{n} * * * ?"
        if self.every is Every.HOUR:
            return f"0 {minute} 0/{n} * * ?"
        if self.every is Every.DAY:
            return f"0 {minute} {hour} {'*' if n == 1 else f'1/{n}'} * ?"
        if self.every is Every.WEEK:
            return f"0 {minute} {hour} ? * {WEEKDAYS[self.day_of_week][:3]}"
        return f"0 {minute} {hour} {self.day_of_month} {'*' if n == 1 else f'1/{n}'} ?"

    def first_run(self, now: datetime, minute_s: float) -> datetime | None:
        """When a schedule set at `now` first fires; None for MANUAL."""
        if self.every is Every.MANUAL:
            return None
        if self.every in (Every.MINUTE, Every.HOUR):
            return now + self._step(minute_s)
        return self._calendar_after(now, anchor=None)

    def next_run(self, previous: datetime, now: datetime, minute_s: float) -> datetime | None:
        """The first firing after `now` that follows the firing planned for `previous`; missed ones are skipped."""
        if self.every is Every.MANUAL:
            return None
        if self.every in (Every.MINUTE, Every.HOUR):
            step = self._step(minute_s)
            nxt = previous + step
            if nxt <= now:
                missed = (now - previous) // step
                nxt = previous + step * (missed + 1)
            return nxt
        return self._calendar_after(now, anchor=previous)

    def _step(self, minute_s: float) -> timedelta:
        minutes = self.interval * (60 if self.every is Every.HOUR else 1)
        return timedelta(seconds=minutes * minute_s)

    def _calendar_after(self, now: datetime, anchor: datetime | None) -> datetime:
        zone = self.zone
        if anchor is not None:
            candidate, step = self._advance(anchor.astimezone(zone).date(), self.interval), self.interval
        else:
            candidate, step = self._align(now.astimezone(zone).date()), 1
        while True:
            moment = datetime.combine(candidate, self.at, tzinfo=zone).astimezone(UTC)
            if moment > now:
                return moment
            candidate = self._advance(candidate, step)

    def _align(self, day: date) -> date:
        """The first day on or after `day` that the schedule can fire on."""
        if self.every is Every.WEEK:
            return day + timedelta(days=(self.day_of_week - day.weekday()) % 7)
        if self.every is Every.MONTH:
            this_month = _month_day(day.year, day.month, self.day_of_month)
            return this_month if this_month >= day else self._advance(this_month, 1)
        return day

    def _advance(self, day: date, times: int) -> date:
        if self.every is Every.DAY:
            return day + timedelta(days=times)
        if self.every is Every.WEEK:
            return day + timedelta(weeks=times)
        month = day.month - 1 + times
        return _month_day(day.year + month // 12, month % 12 + 1, self.day_of_month)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


# The longest interval of each kind: ten years (a longer one could not be counted out in dates).
_LONGEST = {Every.MINUTE: 5_256_000, Every.HOUR: 87_600, Every.DAY: 3_660, Every.WEEK: 522, Every.MONTH: 120}


def parse(text: str | None) -> Schedule:
    """Parse `advancedScheduleJson` (a JSON text); None or empty is MANUAL. Raises InvalidField naming the key."""
    if text is None or not text.strip():
        return Schedule(Every.MANUAL)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidField(FIELD, f"is not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(raw, dict):
        raise InvalidField(FIELD, 'must be a JSON object such as {"type": "DAY", "timezone": "UTC"}')
    every = parse_member(Every, str(raw.get("type") or "MANUAL"), f"{FIELD}.type", "schedule type")
    interval = raw.get("interval")
    if interval in (None, ""):
        interval = 1
    if isinstance(interval, bool) or not isinstance(interval, (int, str)) or not str(interval).strip().isdigit():
        raise InvalidField(f"{FIELD}.interval", f"must be a whole number of {every.value.lower()}s, got {interval!r}")
    if int(interval) < 1:
        raise InvalidField(f"{FIELD}.interval", "must be at least 1")
    longest = _LONGEST.get(every)
    if longest is not None and int(interval) > longest:
        raise InvalidField(f"{FIELD}.interval", f"must be at most {longest} {every.value.lower()}s (ten years)")
    timezone = str(raw.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidField(f"{FIELD}.timezone", f"unknown timezone {timezone!r}") from None
    at = _clock(raw.get("time", raw.get("at")))
    day_of_week = raw.get("dayOfWeek", "MONDAY")
    if str(day_of_week).upper() not in WEEKDAYS:
        raise InvalidField(f"{FIELD}.dayOfWeek", f"must be one of {', '.join(WEEKDAYS)}, got {day_of_week!r}")
    day_of_month = raw.get("dayOfMonth", 1)
    if isinstance(day_of_month, bool) or not str(day_of_month).isdigit() or not 1 <= int(day_of_month) <= 31:
        raise InvalidField(f"{FIELD}.dayOfMonth", f"must be a day from 1 to 31, got {day_of_month!r}")
    return Schedule(
        every=every,
        interval=int(interval),
        timezone=timezone,
        at=at,
        day_of_week=WEEKDAYS.index(str(day_of_week).upper()),
        day_of_month=int(day_of_month),
    )


def _clock(value: object) -> time:
    if value in (None, ""):
        return time(0, 0)
    match = _CLOCK.match(str(value))
    if match is None:
        raise InvalidField(f"{FIELD}.time", f"must be a time of day such as 02:30 or 2:30 AM, got {value!r}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise InvalidField(f"{FIELD}.time", f"{value!r}: a 12-hour time takes hours 1 to 12")
        hour = hour % 12 + (12 if match[4].upper() == "PM" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidField(f"{FIELD}.time", f"{value!r} is not a time of day")
    return time(hour, minute, second)
