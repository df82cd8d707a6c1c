"""HERP's rules for a free interview slot (日程調整), with no I/O: the day grid, the half-hour
starts inside everyone's hours, which calendar items block, `max_per_day`, loops of sessions.

HERP Hire's help ("選考予定を調整する", "日程調整リンクで応募者に提示する日程候補を変更したい"):
a candidate slot is a weekday that is not a public holiday (祝日) nor a day off, inside the
interviewers' 日程調整可能な時間帯 (08:00-22:00 by default), starting on the hour or the half hour;
an item of an interviewer's calendar blocks it unless it is shown as free (予定なし), declined,
cancelled, or carries `[面接可]` in its subject, and each busy item blocks on its own (a `[面接可]`
item over another busy item leaves that one blocking).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

INTERVIEW_OK = "[面接可]"  # half-width brackets, exactly as HERP's help writes it
STEP = timedelta(minutes=30)  # starts on the hour or the half hour
DEFAULT_HOURS = (time(8, 0), time(22, 0))
SCHEDULE_BLOCKING = {"busy", "tentative", "oof", "workingelsewhere"}  # getSchedule statuses that block here


class UnknownHolidayCalendar(ValueError):
    pass


@dataclass(frozen=True)
class Interval:
    """[start, end), aware UTC datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


def parse_graph_time(value) -> datetime | None:
    """A Graph dateTimeTimeZone read with `Prefer: outlook.timezone="UTC"` as an aware UTC datetime."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    try:
        moment = datetime.fromisoformat(value["dateTime"][:19])
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)


def item_blocks(item: dict) -> bool:
    """HERP's rule for one item of an interviewer's own calendar (a calendarView item with
    subject, showAs, isCancelled, responseStatus): it blocks unless shown as free, cancelled,
    declined by the interviewer, or marked `[面接可]` in its subject."""
    if str(item.get("showAs") or "").lower() == "free" or item.get("isCancelled"):
        return False
    if str((item.get("responseStatus") or {}).get("response") or "").lower() == "declined":
        return False
    return INTERVIEW_OK not in str(item.get("subject") or "")


def busy_from_calendar(items: Iterable[dict]) -> list[Interval]:
    """The blocking intervals of calendarView items (an item whose times cannot be read blocks
    nothing it cannot be placed in; it is left out)."""
    out = []
    for item in items:
        start, end = parse_graph_time(item.get("start")), parse_graph_time(item.get("end"))
        if start is not None and end is not None and end > start and item_blocks(item):
            out.append(Interval(start, end))
    return out


def busy_from_schedule(info: dict) -> list[Interval] | None:
    """The blocking intervals of one getSchedule scheduleInformation (times in UTC): busy,
    tentative, out of office and working elsewhere block (subjects cannot be seen, so
    `[面接可]` cannot count); None when Graph answered an error for the address."""
    if info.get("error"):
        return None
    out = []
    for item in info.get("scheduleItems") or []:
        if str(item.get("status") or "").lower() not in SCHEDULE_BLOCKING | {"unknown"}:
            continue
        start, end = parse_graph_time(item.get("start")), parse_graph_time(item.get("end"))
        if start is not None and end is not None and end > start:
            out.append(Interval(start, end))
    return out


def holiday_calendar(code: str | None) -> Callable[[date], bool]:
    """Whether a date is a public holiday of the `holidays` package's calendar `code` (a
    country code, e.g. JP); `None`: no holidays. UnknownHolidayCalendar for an unknown code.
    The package is imported at first use (it costs about 330 ms)."""
    if code is None:
        return lambda _day: False
    import holidays  # noqa: PLC0415 - lazily: 330 ms to import, only slot searches need it

    if not isinstance(code, str) or code.upper() not in holidays.list_supported_countries():
        raise UnknownHolidayCalendar(code)
    calendar = holidays.country_holidays(code.upper())
    return lambda day: day in calendar


def business_days(first: date, count: int, is_holiday: Callable[[date], bool], days_off: Iterable[date]) -> list[date]:
    """The days of [first, first + count) that are weekdays, not holidays and not days off."""
    off = set(days_off)
    days = (first + timedelta(days=i) for i in range(count))
    return [d for d in days if d.weekday() < 5 and d not in off and not is_holiday(d)]


@dataclass(frozen=True)
class Person:
    """One interviewer as the rules see them: hours, busy intervals, interviews per day so far."""

    key: str
    hours: tuple[time, time] = DEFAULT_HOURS
    busy: tuple[Interval, ...] = ()
    interviews_per_day: dict[date, int] = field(default_factory=dict)

    def free(self, start: datetime, end: datetime) -> bool:
        return not any(b.overlaps(start, end) for b in self.busy)

    def in_hours(self, day: date, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
        opens, closes = _at(day, self.hours[0], tz), _at(day, self.hours[1], tz)
        return opens <= start and end <= closes

    def maxed(self, day: date, max_per_day: int | None) -> bool:
        return max_per_day is not None and self.interviews_per_day.get(day, 0) >= max_per_day


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """`clock` on `day` in `tz` as UTC; 24:00 is written time.max and means the next midnight."""
    if clock == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return datetime.combine(day, clock, tz).astimezone(UTC)


@dataclass(frozen=True)
class Session:
    """One interview of a slot: who, how long."""

    people: tuple[Person, ...]
    minutes: int


@dataclass(frozen=True)
class Placed:
    """A session placed at a time: [start, end) in UTC, with its people."""

    start: datetime
    end: datetime
    people: tuple[Person, ...]


def _round_up(moment: datetime, tz: ZoneInfo) -> datetime:
    """The first local :00 or :30 at or after `moment` (aware)."""
    local = moment.astimezone(tz)
    base = local.replace(minute=0, second=0, microsecond=0)
    while base < local:
        base += STEP
    return base


def day_candidates(
    day: date, sessions: Sequence[Session], gap: timedelta, tz: ZoneInfo, max_per_day: int | None
) -> list[list[Placed]]:
    """Every itinerary of `sessions` that starts on `day` on the hour or half hour: back to back,
    `gap` apart, each session inside its own people's hours and free for each of them (none of
    whom has reached `max_per_day` that day). One session is a loop of one."""
    if any(p.maxed(day, max_per_day) for s in sessions for p in s.people):
        return []
    earliest = min(_at(day, p.hours[0], tz) for s in sessions for p in s.people)
    latest = max(_at(day, p.hours[1], tz) for s in sessions for p in s.people)
    out = []
    start = _round_up(earliest, tz)
    while start < latest:
        placed, at, fits = [], start.astimezone(UTC), True
        for s in sessions:
            end = at + timedelta(minutes=s.minutes)
            if not all(p.in_hours(day, at, end, tz) and p.free(at, end) for p in s.people):
                fits = False
                break
            placed.append(Placed(at, end, s.people))
            at = end + gap
        if fits:
            out.append(placed)
        start = (start.astimezone(UTC) + STEP).astimezone(tz)
    return out


def slot_id(parts: Sequence[tuple[datetime, datetime, str | None]]) -> str:
    """Stable for the same starts, ends and rooms (a hash; nothing else goes in)."""
    text = "|".join(
        f"{s.astimezone(UTC).isoformat()}/{e.astimezone(UTC).isoformat()}/{(r or '').lower()}" for s, e, r in parts
    )
    return "slot_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
