"""Interview event input: validation (before any Graph call) and the mapping to and from Graph.

The HERP input uses local date-times plus an IANA time zone. Graph takes Windows zone names and
only a fixed list of IANA names (resources/datetimetimezone.md), so `dateTimeTimeZone` objects
carry the zone's Windows name (CLDR, `shared.windows_zones`). Answers are asked in UTC
(`Prefer: outlook.timezone="UTC"`) and rendered in the caller's IANA zone with the tz database,
which stays exact across DST changes (a Windows name would make the repeated hour ambiguous).
Rooms are `resource` attendees and `locations` entries.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ValidationFailed
from shared.windows_zones import GOLDEN, IANA_TO_WINDOWS

MAX_RECIPIENTS = 500        # people and rooms together (resources/event.md: at most 500 attendees)
MAX_ROOMS = 20
MAX_SUBJECT = 255
MAX_BODY = 64 * 1024         # characters of the invitation body
MAX_STORED = 200_000         # characters of the whole normalised input (Table entity <= 1 MiB)
MAX_ID = 200
YEARS = range(1970, 3000)
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
RESPONSES = {"none": "none", "notResponded": "none", "organizer": "accepted", "accepted": "accepted",
             "declined": "declined", "tentativelyAccepted": "tentative"}
PATCHABLE = ("subject", "body", "start", "end", "time_zone", "attendees", "rooms", "online_meeting", "location")


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

    def fingerprint(self) -> str:
        """Hash of the whole input: the same schedule with the same body is a retry."""
        return hashlib.sha256(self.to_json_text().encode()).hexdigest()

    def to_json(self) -> dict:
        data = asdict(self)
        data["attendees"] = [asdict(a) for a in self.attendees]
        data["rooms"] = list(self.rooms)
        return data

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json_text(cls, text: str) -> "EventInput":
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: dict) -> "EventInput":
        return cls(**{**data, "attendees": tuple(Attendee(**a) for a in data["attendees"]),
                      "rooms": tuple(data["rooms"])})


def _fail(code: str, message: str):
    raise ValidationFailed(message, code=code)


def _text(body: dict, name: str, *, required: bool, limit: int, code: str | None = None) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        _fail(code or f"invalid_{name}", f"{name} must be a non-empty string of at most {limit} characters.")
    return value.strip()


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


PREFER_UTC = {"Prefer": 'outlook.timezone="UTC"'}


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


def _instant(local: str, tz: ZoneInfo, name: str) -> datetime:
    """A local wall-clock time as an aware instant. A time skipped by a DST change (02:30 on the
    spring-forward night) does not exist: 422. A repeated one (the fall-back hour) is its first
    occurrence, as Outlook reads it."""
    moment = datetime.fromisoformat(local).replace(tzinfo=tz)
    if moment.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        _fail("invalid_datetime", f"{name} does not exist in this time zone (skipped by a daylight saving change).")
    return moment


def _body_field(value) -> dict | None:
    if value is None:
        return None
    if (not isinstance(value, dict) or value.get("content_type") not in ("text", "html")
            or not isinstance(value.get("content"), str) or len(value["content"]) > MAX_BODY):
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


def check_times(event: EventInput) -> None:
    tz = zone(event.time_zone)
    if _instant(event.end, tz, "end") <= _instant(event.start, tz, "start"):
        _fail("invalid_time_range", "end must be after start.")


def parse_create(body: dict) -> EventInput:
    """Validate a create body completely (no I/O)."""
    online = body.get("online_meeting", False)
    if not isinstance(online, bool):
        _fail("invalid_online_meeting", "online_meeting must be true or false.")
    calendar_id = _text(body, "calendar_id", required=False, limit=512)
    event = EventInput(
        schedule_id=_text(body, "schedule_id", required=True, limit=MAX_ID),
        link_id=_text(body, "link_id", required=True, limit=MAX_ID),
        calendar_id=calendar_id,
        subject=_text(body, "subject", required=True, limit=MAX_SUBJECT),
        body=_body_field(body.get("body")),
        start=local_datetime(body.get("start"), "start"),
        end=local_datetime(body.get("end"), "end"),
        time_zone=body.get("time_zone"),
        attendees=_attendees(body.get("attendees")),
        rooms=_rooms(body.get("rooms")),
        online_meeting=online,
        location=_text(body, "location", required=False, limit=255),
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
    return parse_create({**merged, "schedule_id": current.schedule_id, "link_id": current.link_id,
                         "calendar_id": current.calendar_id})


# ---- to Graph


def _when(local: str, tz: str) -> dict:
    return {"dateTime": local, "timeZone": graph_zone(tz)}


def _graph_attendees(event: EventInput, room_names: dict[str, str]) -> list[dict]:
    people = [{"emailAddress": {"address": a.email, **({"name": a.name} if a.name else {})}, "type": a.type}
              for a in event.attendees]
    rooms = [{"emailAddress": {"address": r, "name": room_names.get(r.lower(), r)}, "type": "resource"}
             for r in event.rooms]
    return people + rooms


def _graph_locations(event: EventInput, room_names: dict[str, str]) -> dict:
    locations = [{"displayName": room_names.get(r.lower(), r), "locationEmailAddress": r,
                  "locationType": "conferenceRoom"} for r in event.rooms]
    if event.location:
        locations.append({"displayName": event.location, "locationType": "default"})
    shown = "; ".join(l["displayName"] for l in locations)
    return {"location": {"displayName": shown}, "locations": locations}


def to_graph(event: EventInput, room_names: dict[str, str], transaction_id: str) -> dict:
    body = {
        "subject": event.subject,
        "start": _when(event.start, event.time_zone),
        "end": _when(event.end, event.time_zone),
        "attendees": _graph_attendees(event, room_names),
        "transactionId": transaction_id,
        **_graph_locations(event, room_names),
    }
    if event.body:
        body["body"] = {"contentType": event.body["content_type"], "content": event.body["content"]}
    if event.online_meeting:
        body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    return body


_BLOB_RULE = re.compile(r"_{30,}")   # the separator line that opens Outlook's Teams join block
_BLOB_WRAPPER = re.compile(r'<div\b[^>]*\bclass="[^"]*\bme-email-text\b', re.I)


def body_keeping_meeting(current: dict, body: dict | None) -> dict:
    """The Graph `body` for an edit of an online meeting's body. event-update.md: "when updating
    the body of an online meeting, first get the body, change the content, and keep the meeting
    blob"; a body without it disables the meeting online. The blob is the block Outlook appended
    holding the join link: from the last separator rule before `onlineMeeting.joinUrl` (or the
    `me-email-text` wrapper just around it) to the end of the body. `current` is the event as
    GET with `$select=body,onlineMeeting` returned it."""
    old_html = ((current.get("body") or {}).get("content")) or ""
    join_url = ((current.get("onlineMeeting") or {}).get("joinUrl")) or ""
    content = ""
    if body:
        content = body["content"] if body["content_type"] == "html" else \
            html.escape(body["content"]).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    at = max(old_html.find(join_url), old_html.find(html.escape(join_url))) if join_url else -1
    rules = list(_BLOB_RULE.finditer(old_html, 0, at)) if at >= 0 else []
    if not rules:  # no join block left to keep (removed in Outlook already)
        return {"contentType": "html", "content": content}
    start = old_html.rfind("<", 0, rules[-1].start())
    wrappers = [w for w in _BLOB_WRAPPER.finditer(old_html, 0, rules[-1].start()) if rules[-1].start() - w.start() < 1000]
    if wrappers:
        start = wrappers[-1].start()
    end = old_html.lower().rfind("</body>")
    blob = old_html[max(start, 0):end if end > start else len(old_html)]
    return {"contentType": "html", "content": f"<html><body>{content}{blob}</body></html>"}


def graph_patch(old: EventInput, new: EventInput, room_names: dict[str, str]) -> dict:
    """Only what changed: a time change does not resend the body; a room change updates both
    attendees and locations, keeping the people."""
    patch: dict = {}
    if new.subject != old.subject:
        patch["subject"] = new.subject
    if new.body != old.body:
        patch["body"] = ({"contentType": new.body["content_type"], "content": new.body["content"]}
                         if new.body else {"contentType": "text", "content": ""})
    if (new.start, new.end, new.time_zone) != (old.start, old.end, old.time_zone):
        patch["start"], patch["end"] = _when(new.start, new.time_zone), _when(new.end, new.time_zone)
    if (new.attendees, new.rooms) != (old.attendees, old.rooms):
        patch["attendees"] = _graph_attendees(new, room_names)
    if (new.rooms, new.location) != (old.rooms, old.location):
        patch.update(_graph_locations(new, room_names))
    if new.online_meeting != old.online_meeting:
        patch["isOnlineMeeting"] = new.online_meeting
        if new.online_meeting:
            patch["onlineMeetingProvider"] = "teamsForBusiness"
    return patch


# ---- from Graph


def _answer_zone(name: str):
    """The zone of a dateTimeTimeZone in an answer: UTC as asked; a Windows name (its CLDR
    representative zone) or an IANA name should Graph ignore the Prefer header."""
    if name.upper() in ("UTC", "ETC/UTC"):
        return timezone.utc
    try:
        return ZoneInfo(GOLDEN.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def local_time(when: dict | None, tz: str) -> str | None:
    """Graph's dateTimeTimeZone (7 fractional digits) -> local time in the IANA zone `tz`."""
    if not when or not when.get("dateTime"):
        return None
    text = when["dateTime"].split(".")[0]
    src = _answer_zone(when.get("timeZone") or "UTC")
    return datetime.fromisoformat(text).replace(tzinfo=src).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M:%S")


def event_json(event: EventInput, graph_event: dict, updated_at: str | None) -> dict:
    """The contract's Event: the input plus what Outlook says now (times, responses, Teams)."""
    people, rooms = [], []
    for a in graph_event.get("attendees") or []:
        address = (a.get("emailAddress") or {}).get("address") or ""
        response = RESPONSES.get(((a.get("status") or {}).get("response")) or "none", "none")
        if a.get("type") == "resource":
            rooms.append({"email": address, "response": response})
        else:
            people.append({"email": address, "name": (a.get("emailAddress") or {}).get("name"),
                           "type": a.get("type") or "required", "response": response})
    data = event.to_json()  # `body` stays as given: Outlook rewrites it into HTML
    data.update(
        subject=graph_event.get("subject", event.subject),
        start=local_time(graph_event.get("start"), event.time_zone) or event.start,
        end=local_time(graph_event.get("end"), event.time_zone) or event.end,
        attendees=people,
        rooms=rooms,
        online_meeting=bool(graph_event.get("isOnlineMeeting", event.online_meeting)),  # Outlook's word
        event_id=graph_event.get("id"),
        web_link=graph_event.get("webLink"),
        join_url=((graph_event.get("onlineMeeting") or {}).get("joinUrl")) or None,
        updated_at=updated_at,
    )
    return data
