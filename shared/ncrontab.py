"""Timer schedules as the Functions timer trigger accepts them (shared by the app, for the
room cache's staleness, and by devtools.host, which runs timers).

* NCRONTAB ``{second} {minute} {hour} {day} {month} {day-of-week}`` (6 fields); the timer
  extension also takes the 5-field form without seconds (seconds = 0).
  Each field: ``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``, ``a/n`` (a..max every n), lists
  ``x,y``; month and day-of-week also by name (``Jan``, ``Mon``). Day-of-week is 0-6
  (0 = Sunday). As in NCrontab, day-of-month and day-of-week must both match.
* TimeSpan ``[d.]hh:mm:ss``: every interval, counted from the previous run.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = [  # (name, min, max, names)
    ("second", 0, 59, None),
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
]


class ScheduleError(ValueError):
    """Not a schedule the Functions timer trigger accepts."""


_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")


def parse_timespan(text: str) -> float:
    """``[d.]hh:mm:ss[.fffffff]`` (.NET TimeSpan) -> seconds."""
    m = _TIMESPAN.match(str(text).strip())
    if not m:
        raise ScheduleError(f"not a TimeSpan (expected hh:mm:ss): {text!r}")
    days, hours, minutes, seconds, fraction = m.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise ScheduleError(f"TimeSpan component out of range: {text!r}")
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float("0." + fraction) if fraction else 0.0)


_FULL_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
]


def _value(text: str, lo: int, names, field: str) -> int:
    """A number, or (month, day-of-week) a 3-letter or full English name."""
    if text.isdigit():
        return int(text)
    key = text[:3].lower()
    if names and key in names and (len(text) == 3 or text.lower() in _FULL_NAMES):
        return names.index(key) + lo
    raise ScheduleError(f"invalid {field} value {text!r}")


def parse_field(text: str, lo: int, hi: int, names=None, field: str = "field") -> frozenset:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ScheduleError(f"empty item in {field} {text!r}")
        step = 1
        if "/" in item:
            item, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0 or not item:
                raise ScheduleError(f"invalid step in {field} {text!r}")
            step = int(step_text)
        if item == "*":
            first, last = lo, hi
        elif "-" in item:
            a, b = item.split("-", 1)
            first, last = _value(a, lo, names, field), _value(b, lo, names, field)
        else:
            first = _value(item, lo, names, field)
            last = hi if step > 1 else first
        if not (lo <= first <= hi and lo <= last <= hi) or first > last:
            raise ScheduleError(f"{field} {text!r} is outside {lo}-{hi}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


class CronSchedule:
    def __init__(self, expression: str):
        self.expression = expression
        fields = expression.split()
        if len(fields) == 5:
            fields = ["0"] + fields
        if len(fields) != 6:
            raise ScheduleError(
                f"'{expression}' is not a valid NCRONTAB expression (expected 6 fields: "
                "{second} {minute} {hour} {day} {month} {day-of-week})"
            )
        (self.seconds, self.minutes, self.hours, self.days, self.months, self.weekdays) = (
            parse_field(f, lo, hi, names, name) for f, (name, lo, hi, names) in zip(fields, _FIELDS, strict=False)
        )

    def _day_ok(self, d: datetime) -> bool:
        # Python: Monday=0; NCRONTAB: Sunday=0
        return d.day in self.days and (d.weekday() + 1) % 7 in self.weekdays

    def next_after(self, after: datetime) -> datetime:
        """First occurrence strictly after ``after`` (same tz-awareness as the input)."""
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        limit = after + timedelta(days=366 * 8)
        while t <= limit:
            if t.month not in self.months:
                y, m = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = t.replace(year=y, month=m, day=1, hour=0, minute=0, second=0)
                continue
            if not self._day_ok(t):
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            if t.second not in self.seconds:
                t += timedelta(seconds=1)
                continue
            return t
        raise ScheduleError(f"'{self.expression}' never occurs")

    def __str__(self):
        return self.expression


class IntervalSchedule:
    def __init__(self, expression: str):
        self.expression = expression
        self.interval = timedelta(seconds=parse_timespan(expression))
        if self.interval <= timedelta(0):
            raise ScheduleError(f"TimeSpan schedule must be positive: {expression!r}")

    def next_after(self, after: datetime) -> datetime:
        return after + self.interval

    def __str__(self):
        return self.expression


def parse_schedule(expression: str):
    """NCRONTAB or TimeSpan (anything containing ':') -> schedule with ``next_after(dt)``."""
    text = (expression or "").strip()
    if not text:
        raise ScheduleError("empty timer schedule")
    if ":" in text:
        return IntervalSchedule(text)
    sched = CronSchedule(text)
    sched.next_after(datetime(2000, 1, 1))  # rejects schedules that never fire, e.g. 30 Feb
    return sched


def next_occurrences(expression: str, after: datetime, count: int) -> list[datetime]:
    sched, out = parse_schedule(expression), []
    for _ in range(count):
        after = sched.next_after(after)
        out.append(after)
    return out


def interval_seconds(expression: str, samples: int = 24) -> float:
    """The longest gap between consecutive runs (over the next `samples` runs from now)."""
    sched = parse_schedule(expression)
    if isinstance(sched, IntervalSchedule):
        return sched.interval.total_seconds()
    runs = next_occurrences(expression, datetime.now().replace(microsecond=0), samples + 1)
    return max((b - a).total_seconds() for a, b in zip(runs, runs[1:], strict=False))
