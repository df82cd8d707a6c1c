"""The slot search's body (CONTRACT 7, `POST /slots/find`), validated whole before any storage
read or Graph call: who is interviewed in which sessions, the window, the working hours, the days
off and holidays, the room filters. Pure: no storage, no Graph (the holiday calendar is loaded
from the `holidays` package)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NoReturn

from shared.domain import slots as rules
from shared.domain.event_input import bounded_int, email_address, zone
from shared.errors import ValidationFailed

DURATIONS = (30, 45, 60, 90, 120)
MAX_INTERVIEWERS = 20
MAX_DAYS = 30  # HERP's window grows to 30 days at most
MAX_AHEAD = 366  # how far ahead `from` may be (Exchange's booking windows are shorter still)
DEFAULT_DAYS, DEFAULT_MIN_SLOTS, DEFAULT_LIMIT, MAX_LIMIT = 7, 10, 20, 100
SESSIONS = range(2, 7)
MAX_GAP, MAX_PER_DAY, MAX_CAPACITY, MAX_TEXT = 240, 50, 100_000, 255
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _fail(code: str, message: str) -> NoReturn:
    raise ValidationFailed(message, code=code)


@dataclass(frozen=True)
class Who:
    """An interviewer as given: a HERP account id and/or an e-mail, and their own hours."""

    herp_account_id: str | None
    email: str | None
    hours: tuple[time, time]

    @property
    def key(self) -> str:
        return f"herp:{self.herp_account_id}" if self.herp_account_id else f"email:{(self.email or '').lower()}"

    def to_json(self) -> dict:
        out: dict = {}
        if self.herp_account_id:
            out["herp_account_id"] = self.herp_account_id
        if self.email:
            out["email"] = self.email
        return out


@dataclass(frozen=True)
class RoomNeeds:
    min_capacity: int | None = None
    building: str | None = None
    floor: str | None = None
    room_list: str | None = None
    wheelchair_accessible: bool | None = None


@dataclass(frozen=True)
class SessionIn:
    who: tuple[Who, ...]
    minutes: int
    room: RoomNeeds | None


@dataclass(frozen=True)
class SlotSearch:
    tenant_id: str
    link_id: str
    sessions: tuple[SessionIn, ...]  # one for a single interview
    loop: bool
    time_zone: str
    first: date
    days: int
    min_slots: int
    holidays: Callable[[date], bool]
    days_off: frozenset[date]
    max_per_day: int | None
    gap: timedelta
    limit: int

    @property
    def people(self) -> list[Who]:
        seen: dict[str, Who] = {}
        for s in self.sessions:
            for w in s.who:
                seen.setdefault(w.key, w)
        return list(seen.values())


def _clock(value, what: str) -> time:
    if not isinstance(value, str) or not _CLOCK.match(value):
        _fail("invalid_hours", f"{what} must be a time like 08:00 (00:00-24:00).")
    return time.max if value == "24:00" else time.fromisoformat(value)


def _hours(value, default: tuple[time, time], what: str) -> tuple[time, time]:
    if value is None:
        return default
    if not isinstance(value, dict):
        _fail("invalid_hours", f"{what} must be an object {{start, end}}.")
    start, end = _clock(value.get("start"), f"{what}.start"), _clock(value.get("end"), f"{what}.end")
    if not start < end:
        _fail("invalid_hours", f"{what}: end must be after start.")
    return start, end


def _date(value, code: str, what: str) -> date:
    if not isinstance(value, str) or not _DATE.match(value):
        _fail(code, f"{what} must be a date like 2027-01-12.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(code, f"{what} is not a valid date.")


def _text(value, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        _fail("invalid_room", f"{what} must be a non-empty string of at most {MAX_TEXT} characters.")
    return value.strip()


def _room(value) -> RoomNeeds | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        _fail("invalid_room", "room must be an object of filters.")
    accessible = value.get("wheelchair_accessible")
    if accessible is not None and not isinstance(accessible, bool):
        _fail("invalid_room", "room.wheelchair_accessible must be true or false.")
    return RoomNeeds(
        bounded_int(value, "min_capacity", 1, MAX_CAPACITY, None, "invalid_room"),
        _text(value.get("building"), "room.building"),
        _text(value.get("floor"), "room.floor"),
        _text(value.get("room_list"), "room.room_list"),
        accessible,
    )


def _who(value, hours: tuple[time, time]) -> Who:
    if not isinstance(value, dict):
        _fail("invalid_interviewers", "each interviewer must be an object with herp_account_id or email.")
    herp, email = value.get("herp_account_id"), value.get("email")
    if herp is not None and (not isinstance(herp, str) or not herp.strip() or len(herp) > MAX_TEXT):
        _fail("invalid_interviewers", "herp_account_id must be a non-empty string.")
    if herp is None and email is None:
        _fail("invalid_interviewers", "each interviewer needs herp_account_id or email.")
    return Who(
        herp.strip() if herp else None,
        email_address(email, "An interviewer's email") if email is not None else None,
        _hours(value.get("hours"), hours, "interviewer hours"),
    )


def _interviewers(value, hours: tuple[time, time]) -> tuple[Who, ...]:
    if not isinstance(value, list) or not value:
        _fail("invalid_interviewers", "interviewers must be a list of 1 to 20 interviewers.")
    if len(value) > MAX_INTERVIEWERS:
        _fail("too_many_interviewers", f"At most {MAX_INTERVIEWERS} interviewers.")
    return tuple(_who(v, hours) for v in value)


def _duration(value) -> int:
    if value not in DURATIONS or isinstance(value, bool):
        _fail("invalid_duration", "duration_minutes must be 30, 45, 60, 90 or 120.")
    return int(value)


def parse(body: dict, today: date | None = None) -> SlotSearch:
    """Validate a search body completely (no Graph call; the holiday calendar is loaded)."""
    tenant_id, link_id = body.get("tenant_id"), body.get("link_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        _fail("invalid_tenant_id", "tenant_id is required.")
    if not isinstance(link_id, str) or not link_id:
        _fail("invalid_link_id", "link_id is required.")
    tz_name = body.get("time_zone", "Asia/Tokyo")
    tz = zone(tz_name)
    hours = _hours(body.get("hours"), rules.DEFAULT_HOURS, "hours")
    room = _room(body.get("room"))
    raw_sessions = body.get("sessions")
    if raw_sessions is None:
        sessions: tuple[SessionIn, ...] = (
            SessionIn(_interviewers(body.get("interviewers"), hours), _duration(body.get("duration_minutes")), room),
        )
    else:
        if not isinstance(raw_sessions, list) or len(raw_sessions) not in SESSIONS:
            _fail("invalid_sessions", "sessions must be a list of 2 to 6 sessions.")
        if body.get("interviewers") is not None or body.get("duration_minutes") is not None:
            _fail("invalid_sessions", "With sessions, interviewers and duration_minutes go in each session.")
        if not all(isinstance(s, dict) for s in raw_sessions):
            _fail("invalid_sessions", "Each session must be an object.")
        sessions = tuple(
            SessionIn(
                _interviewers(s.get("interviewers"), hours),
                _duration(s.get("duration_minutes")),
                _room(s["room"]) if s.get("room") is not None else room,
            )
            for s in raw_sessions
        )
        if len({w.key for s in sessions for w in s.who}) > MAX_INTERVIEWERS:
            _fail("too_many_interviewers", f"At most {MAX_INTERVIEWERS} interviewers in all.")
    today = today or datetime.now(tz).date()
    first = _date(body["from"], "invalid_window", "from") if body.get("from") is not None else today + timedelta(1)
    if first < today:
        _fail("invalid_window", "from must not be in the past.")
    if first > today + timedelta(days=MAX_AHEAD):
        _fail("invalid_window", f"from must be within {MAX_AHEAD} days from today.")
    days = bounded_int(body, "days", 1, MAX_DAYS, DEFAULT_DAYS, "invalid_window")
    raw_off = body.get("days_off") or []
    if not isinstance(raw_off, list) or len(raw_off) > 366:
        _fail("invalid_days_off", "days_off must be a list of dates.")
    days_off = frozenset(_date(d, "invalid_days_off", "each of days_off") for d in raw_off)
    code = body.get("holidays", "JP")
    try:
        is_holiday = rules.holiday_calendar(code)
    except rules.UnknownHolidayCalendar:
        _fail("unknown_holiday_calendar", "holidays must be a country code of the holidays calendar (e.g. JP) or null.")
    assert days is not None
    return SlotSearch(
        tenant_id=tenant_id,
        link_id=link_id,
        sessions=sessions,
        loop=raw_sessions is not None,
        time_zone=tz_name,
        first=first,
        days=days,
        min_slots=bounded_int(body, "min_slots", 1, 1000, DEFAULT_MIN_SLOTS, "invalid_min_slots") or DEFAULT_MIN_SLOTS,
        holidays=is_holiday,
        days_off=days_off,
        max_per_day=bounded_int(body, "max_per_day", 1, MAX_PER_DAY, None, "invalid_max_per_day"),
        gap=timedelta(minutes=bounded_int(body, "gap_minutes", 0, MAX_GAP, 0, "invalid_gap_minutes") or 0),
        limit=bounded_int(body, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT, "invalid_limit") or DEFAULT_LIMIT,
    )
