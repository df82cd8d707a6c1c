"""Graph -> HERP: an interview as Outlook holds it now, and its rendering as the API's Event.

Graph is asked to answer in UTC (credentials.Mailbox sends `Prefer: outlook.timezone="UTC"`);
times are rendered in the event's own IANA zone with the tz database, which stays exact across
DST changes (a Windows name would make the repeated hour ambiguous).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.event_input import EventInput
from shared.windows_zones import GOLDEN

RESPONSES = {
    "none": "none",
    "notResponded": "none",
    "organizer": "accepted",
    "accepted": "accepted",
    "declined": "declined",
    "tentativelyAccepted": "tentative",
}


def answer_zone(name: str | None):
    """The zone of a dateTimeTimeZone in an answer: UTC as asked; a Windows name (its CLDR
    representative zone) or an IANA name should Graph ignore the Prefer header."""
    if not name or name.upper() in ("UTC", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(GOLDEN.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_time(when: dict | None, tz: str) -> str | None:
    """Graph's dateTimeTimeZone (7 fractional digits) -> local time in the IANA zone `tz`."""
    if not when or not when.get("dateTime"):
        return None
    text = when["dateTime"].split(".")[0]
    src = answer_zone(when.get("timeZone"))
    return datetime.fromisoformat(text).replace(tzinfo=src).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Response:
    """An attendee's or a room's answer, as Outlook has it."""

    email: str
    response: str
    name: str | None = None
    type: str = "required"


@dataclass(frozen=True)
class OutlookEvent:
    """The stored input plus what Outlook says now: times, subject, responses, Teams, ids."""

    input: EventInput
    subject: str
    start: str
    end: str
    attendees: tuple[Response, ...]
    rooms: tuple[Response, ...]
    online_meeting: bool
    event_id: str | None
    web_link: str | None
    join_url: str | None
    updated_at: str | None
    created_by: str | None = None  # the HERP account that created it

    @classmethod
    def from_graph(
        cls, event: EventInput, graph_event: dict, updated_at: str | None, created_by: str | None = None
    ) -> OutlookEvent:
        people, rooms = [], []
        for a in graph_event.get("attendees") or []:
            address = (a.get("emailAddress") or {}).get("address") or ""
            response = RESPONSES.get(((a.get("status") or {}).get("response")) or "none", "none")
            if a.get("type") == "resource":
                rooms.append(Response(address, response))
            else:
                people.append(
                    Response(address, response, (a.get("emailAddress") or {}).get("name"), a.get("type") or "required")
                )
        return cls(
            input=event,
            subject=graph_event.get("subject", event.subject),
            start=local_time(graph_event.get("start"), event.time_zone) or event.start,
            end=local_time(graph_event.get("end"), event.time_zone) or event.end,
            attendees=tuple(people),
            rooms=tuple(rooms),
            online_meeting=bool(graph_event.get("isOnlineMeeting", event.online_meeting)),  # Outlook's word
            event_id=graph_event.get("id"),
            web_link=graph_event.get("webLink"),
            join_url=((graph_event.get("onlineMeeting") or {}).get("joinUrl")) or None,
            updated_at=updated_at,
            created_by=created_by,
        )

    def to_json(self) -> dict:
        """The API's Event: the input fields (`body` as given: Outlook rewrites it into HTML)
        with Outlook's state over them."""
        return {
            **self.input.to_json(),
            "subject": self.subject,
            "start": self.start,
            "end": self.end,
            "attendees": [
                {"email": a.email, "name": a.name, "type": a.type, "response": a.response} for a in self.attendees
            ],
            "rooms": [{"email": r.email, "response": r.response} for r in self.rooms],
            "online_meeting": self.online_meeting,
            "event_id": self.event_id,
            "web_link": self.web_link,
            "join_url": self.join_url,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
        }
