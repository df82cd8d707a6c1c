"""Interview event input from HERP: validation, complete before any Graph call (availability
uses the same checks). `event_to_graph` maps it to Graph, `event_view` renders Outlook's answer.

The HERP input uses local date-times plus an IANA time zone. Graph takes Windows zone names and
only a fixed list of IANA names (resources/datetimetimezone.md), so only zones with a Windows
equivalent (CLDR, `shared.windows_zones`) are accepted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import NoReturn, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ValidationFailed
from shared.windows_zones import IANA_TO_WINDOWS

MAX_RECIPIENTS = 500  # people and rooms together (resources/event.md: at most 500 attendees)
MAX_ROOMS = 20
MAX_SUBJECT = 255
MAX_BODY = 64 * 1024  # characters of the invitation body
MAX_STORED = 200_000  # characters of the whole normalised input (Table entity <= 1 MiB)
MAX_ID = 200
YEARS = range(1970, 3000)
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
PATCHABLE = (
    "subject",
    "body",
    "start",
    "end",
    "time_zone",
    "attendees",
    "rooms",
    "online_meeting",
    "location",
    "room_fallback",
)
# Fields added after rows were stored: left out of the fingerprint while at their default, so
# the stored input_hash of an older row still matches a repeated create of the same body.
ADDED_LATER = {"room_fallback": False}


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str | None = None
    type: str = "required"


@dataclass(frozen=True)
class EventInput:
    schedule_id: str
    link_id: str
    calendar_id: str | None
    subject: str
    body: dict | None
    start: str
    end: str
    time_zone: str
    attendees: tuple[Attendee, ...] = field(default_factory=tuple)
    rooms: tuple[str, ...] = field(default_factory=tuple)
    online_meeting: bool = False
    location: str | None = None
    room_fallback: bool = False  # book the best free room instead when a room declines

    def fingerprint(self) -> str:
        """Hash of the whole input: the same schedule with the same body is a retry."""
        data = {k: v for k, v in self.to_json().items() if k not in ADDED_LATER or v != ADDED_LATER[k]}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict:
        data = asdict(self)
        data["attendees"] = [asdict(a) for a in self.attendees]
        data["rooms"] = list(self.rooms)
        return data

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json_text(cls, text: str) -> EventInput:
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: dict) -> EventInput:
        return cls(
            **{**data, "attendees": tuple(Attendee(**a) for a in data["attendees"]), "rooms": tuple(data["rooms"])}
        )


def _fail(code: str, message: str) -> NoReturn:
    raise ValidationFailed(message, code=code)


def bounded_int(body: dict, name: str, low: int, high: int, default: int | None, code: str) -> int | None:
    """`body[name]` as a whole number from `low` to `high` (a bool is no number); `default` when
    absent or null; else 422 `code`."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        _fail(code, f"{name} must be an integer from {low} to {high}.")
    return value


def _text(body: dict, name: str, *, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        _fail(f"invalid_{name}", f"{name} must be a non-empty string of at most {limit} characters.")
    return value.strip()


def _optional_text(body: dict, name: str, *, limit: int) -> str | None:
    return None if body.get(name) is None else _text(body, name, limit=limit)


def email_address(value, what: str) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value.strip()):
        _fail("invalid_email", f"{what} is not a valid e-mail address.")
    return value.strip()


def local_datetime(value, name: str) -> str:
    if not isinstance(value, str) or not _LOCAL_DATETIME.match(value):
        _fail("invalid_datetime", f"{name} must be a local date-time like 2026-12-01T10:00:00 (no offset).")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail("invalid_datetime", f"{name} is not a valid date-time.")
    if parsed.year not in YEARS:
        _fail("invalid_datetime", f"{name} must be between {YEARS.start} and {YEARS.stop - 1}.")
    return parsed.isoformat(timespec="seconds")


def zone(name) -> ZoneInfo:
    """An IANA zone that has a Windows equivalent (so Graph can take it). tzdata's `posix/`,
    `right/` and `Factory` entries load in Python but have none: 422 invalid_time_zone."""
    if not isinstance(name, str) or name not in IANA_TO_WINDOWS:
        _fail("invalid_time_zone", "time_zone must be an IANA time zone with a Windows equivalent, e.g. Asia/Tokyo.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        _fail("invalid_time_zone", "time_zone is not in this server's time zone database.")


def graph_zone(name: str) -> str:
    """The Windows name Graph takes for a validated IANA zone."""
    return IANA_TO_WINDOWS[name]


def instant_of(local: str, time_zone: str) -> datetime:
    """A stored (validated) local time as an aware instant."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(time_zone))


def utc_local(local: str, time_zone: str) -> str:
    """A stored (validated) local time as the same instant's UTC wall clock, "YYYY-MM-DDTHH:MM:SS"."""
    return instant_of(local, time_zone).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _instant(local: str, tz: ZoneInfo, name: str) -> datetime:
    """A local wall-clock time as an aware instant. A time skipped by a DST change (02:30 on the
    spring-forward night) does not exist: 422. A repeated one (the fall-back hour) is its first
    occurrence, as Outlook reads it."""
    moment = datetime.fromisoformat(local).replace(tzinfo=tz)
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        _fail("invalid_datetime", f"{name} does not exist in this time zone (skipped by a daylight saving change).")
    return moment


def _body_field(value) -> dict | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or value.get("content_type") not in ("text", "html")
        or not isinstance(value.get("content"), str)
        or len(value["content"]) > MAX_BODY
    ):
        _fail("invalid_body", 'body must be {"content_type": "text"|"html", "content": string}.')
    return {"content_type": value["content_type"], "content": value["content"]}


def _attendees(value) -> tuple[Attendee, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        _fail("invalid_attendees", "attendees must be a list.")
    out, seen = [], set()
    for item in value:
        if not isinstance(item, dict):
            _fail("invalid_attendees", "each attendee must be an object with email, name and type.")
        email = email_address(item.get("email"), "an attendee's email")
        kind = item.get("type", "required")
        if kind not in ("required", "optional"):
            _fail("invalid_attendees", "an attendee's type must be required or optional.")
        name = item.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 255):
            _fail("invalid_attendees", "an attendee's name must be a string.")
        if email.lower() not in seen:
            seen.add(email.lower())
            out.append(Attendee(email, name or None, kind))
        if len(out) > MAX_RECIPIENTS:
            _fail("too_many_attendees", f"At most {MAX_RECIPIENTS} attendees and rooms together.")
    return tuple(out)


def _rooms(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ROOMS:
        _fail("invalid_rooms", f"rooms must be a list of at most {MAX_ROOMS} room e-mail addresses.")
    out: list[str] = []
    for item in value:
        email = email_address(item, "a room")
        if email.lower() not in {r.lower() for r in out}:
            out.append(email)
    return tuple(out)


def utc_slot(start, end, time_zone) -> tuple[datetime, datetime]:
    """A local start/end in an IANA zone, validated as an event's times are (422
    invalid_datetime / invalid_time_zone / invalid_time_range), as UTC instants."""
    tz = zone(time_zone)
    first = _instant(local_datetime(start, "start"), tz, "start")
    last = _instant(local_datetime(end, "end"), tz, "end")
    if last <= first:
        _fail("invalid_time_range", "end must be after start.")
    return first.astimezone(UTC), last.astimezone(UTC)


def check_times(event: EventInput) -> None:
    utc_slot(event.start, event.end, event.time_zone)


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        _fail(f"invalid_{name}", f"{name} must be true or false.")
    return value


def check_conflicts_asked(body: dict) -> bool:
    """`check_conflicts` of a create body: an option of the create call, not a field of the
    event (not stored, not in the fingerprint, not patchable)."""
    return _flag(body, "check_conflicts")


def parse_create(body: dict) -> EventInput:
    """Validate a create body completely (no I/O)."""
    online = _flag(body, "online_meeting")
    calendar_id = _optional_text(body, "calendar_id", limit=512)
    event = EventInput(
        schedule_id=_text(body, "schedule_id", limit=MAX_ID),
        link_id=_text(body, "link_id", limit=MAX_ID),
        calendar_id=calendar_id,
        subject=_text(body, "subject", limit=MAX_SUBJECT),
        body=_body_field(body.get("body")),
        start=local_datetime(body.get("start"), "start"),
        end=local_datetime(body.get("end"), "end"),
        time_zone=cast(str, body.get("time_zone")),  # checked with the times, below
        attendees=_attendees(body.get("attendees")),
        rooms=_rooms(body.get("rooms")),
        online_meeting=online,
        location=_optional_text(body, "location", limit=255),
        room_fallback=_flag(body, "room_fallback"),
    )
    check_times(event)
    if len(event.attendees) + len(event.rooms) > MAX_RECIPIENTS:
        _fail("too_many_attendees", f"At most {MAX_RECIPIENTS} attendees and rooms together.")
    if len(event.to_json_text()) > MAX_STORED:
        _fail("event_too_large", "The event is too large (body, attendees and names together).")
    return event


def parse_patch(body: dict, current: EventInput) -> EventInput:
    """The event after applying a PATCH body (only PATCHABLE fields), validated as a whole."""
    unknown = [k for k in body if k not in PATCHABLE]
    if unknown:
        _fail("field_not_patchable", f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if not body:
        _fail("empty_patch", "Give at least one field to change.")
    if current.online_meeting and body.get("online_meeting") is False:
        # resources/event.md: once isOnlineMeeting is true, Outlook ignores attempts to change it.
        _fail("online_meeting_locked", "Outlook keeps a meeting online once it is; online_meeting cannot become false.")
    merged = {**current.to_json(), **body}
    return parse_create(
        {**merged, "schedule_id": current.schedule_id, "link_id": current.link_id, "calendar_id": current.calendar_id}
    )
