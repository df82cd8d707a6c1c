"""Reading and validating event request bodies (POST /events, PATCH /events/{id}).

Docs followed (microsoftgraph/microsoft-graph-docs-contrib):
- resources/event.md (properties, enums: showAs, sensitivity, importance, onlineMeetingProvider),
  resources/attendee.md (type: required, optional, resource), resources/location.md,
  resources/itembody.md (contentType text/html), resources/datetimetimezone.md.
- api/event-update.md: the properties a PATCH may carry.
Error answers:
- Unknown property: OData's 400 RequestBodyRead "The property '...' does not exist on type
  'microsoft.graph.event'..."; bad enum literal: RequestBodyRead "Cannot convert the literal...".
- Unreadable JSON: 400 BadRequest "Unable to read JSON request payload...".
- Unknown time zone: TimeZoneNotSupportedException (see timezones.py).
- end before start: ErrorCalendarEndDateIsEarlierThanStartDate (Exchange's code for it, EWS
  ResponseCode reference); missing start/end: ErrorPropertyValidationFailure "At least one
  property failed validation." (the answer quoted in microsoft-graph-docs issue #19286).
- More than 500 attendees (resources/event.md: "The maximum number of attendees included in an
  event ... is 500"; people and rooms alike are recipients): 400 ErrorExceededMaxRecipientLimit,
  the one recipient-limit code of the EWS ResponseCode reference (the docs give the limit, not
  the answer; the message is the emulator's).
Property names are matched case-insensitively, as Outlook's API does ("Comment", "Schedules"
in the docs' own examples).
"""

from __future__ import annotations

import html
import re

from .graph_http import GraphError
from .records import Attendee, OnlineMeeting
from .timezones import parse_local

ENUMS = {
    "showAs": ("microsoft.graph.freeBusyStatus", ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")),
    "sensitivity": ("microsoft.graph.sensitivity", ("normal", "personal", "private", "confidential")),
    "importance": ("microsoft.graph.importance", ("low", "normal", "high")),
    "onlineMeetingProvider": (
        "microsoft.graph.onlineMeetingProviderType",
        ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer"),
    ),
}
BOOLS = ("isReminderOn", "responseRequested", "allowNewTimeProposals", "hideAttendees", "isAllDay", "isOnlineMeeting")
WRITABLE = (
    "subject",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "attendees",
    "categories",
    "reminderMinutesBeforeStart",
    "transactionId",
    "recurrence",
    *ENUMS,
    *BOOLS,
)
# Read-only or server-set properties: accepted in a body and ignored, as Graph does.
IGNORED = (
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "iCalUId",
    "bodyPreview",
    "webLink",
    "isOrganizer",
    "isCancelled",
    "type",
    "responseStatus",
    "organizer",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "onlineMeeting",
    "onlineMeetingUrl",
    "seriesMasterId",
    "hasAttachments",
    "isDraft",
    "originalStart",
    "uid",
    "occurrenceId",
)
MAX_ATTENDEES = 500
LOCATION_TYPES = (
    "default",
    "conferenceRoom",
    "homeAddress",
    "businessAddress",
    "geoCoordinates",
    "streetAddress",
    "hotel",
    "restaurant",
    "localBusiness",
    "postalAddress",
)
_CANON = {k.lower(): k for k in WRITABLE + IGNORED}


def _enum(name, value):
    type_name, allowed = ENUMS[name]
    canon = {a.lower(): a for a in allowed}
    if not isinstance(value, str) or value.lower() not in canon:
        raise GraphError(
            400, "RequestBodyRead", f"Cannot convert the literal '{value}' to the expected type '{type_name}'."
        )
    return canon[value.lower()]


def _bad_type(name, expected):
    return GraphError(
        400,
        "RequestBodyRead",
        f"An unexpected value was found for property '{name}'; a value of type '{expected}' was expected.",
    )


def _body(value):
    if not isinstance(value, dict):
        raise _bad_type("body", "microsoft.graph.itemBody")
    v = {k.lower(): x for k, x in value.items()}
    kind = v.get("contenttype") or "text"
    if not isinstance(kind, str) or kind.lower() not in ("text", "html"):
        raise GraphError(
            400,
            "RequestBodyRead",
            f"Cannot convert the literal '{kind}' to the expected type 'microsoft.graph.bodyType'.",
        )
    content = v.get("content") or ""
    if not isinstance(content, str):
        raise _bad_type("content", "Edm.String")
    return {"contentType": kind.lower(), "content": content}


def _when(name, value):
    if not isinstance(value, dict):
        raise _bad_type(name, "microsoft.graph.dateTimeTimeZone")
    v = {k.lower(): x for k, x in value.items()}
    if not v.get("datetime"):
        raise GraphError(400, "ErrorPropertyValidationFailure", "At least one property failed validation.")
    tz = v.get("timezone") or "UTC"
    return {"instant": parse_local(v["datetime"], tz, name), "timeZone": tz}


def _location(value, unique_type):
    if not isinstance(value, dict):
        raise _bad_type("location", "microsoft.graph.location")
    v = {k.lower(): x for k, x in value.items()}
    name = v.get("displayname") or ""
    kind = v.get("locationtype") or "default"
    canon = {t.lower(): t for t in LOCATION_TYPES}
    if not isinstance(kind, str) or kind.lower() not in canon:
        raise GraphError(
            400,
            "RequestBodyRead",
            f"Cannot convert the literal '{kind}' to the expected type 'microsoft.graph.locationType'.",
        )
    out = {"displayName": name, "locationType": canon[kind.lower()]}
    if v.get("locationuri"):
        out["locationUri"] = v["locationuri"]
    if unique_type == "private" and name:
        out["uniqueId"], out["uniqueIdType"] = name, "private"
    else:
        out["uniqueIdType"] = "unknown"
    for key, canon_key in (
        ("address", "address"),
        ("coordinates", "coordinates"),
        ("locationemailaddress", "locationEmailAddress"),
    ):
        if v.get(key):
            out[canon_key] = v[key]
    return out


def empty_location():
    return {"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {}}


def _attendees(value):
    if not isinstance(value, list):
        raise _bad_type("attendees", "Collection(microsoft.graph.attendee)")
    out, seen = [], set()
    for a in value:
        if not isinstance(a, dict):
            raise _bad_type("attendees", "microsoft.graph.attendee")
        v = {k.lower(): x for k, x in a.items()}
        email = v.get("emailaddress")
        email = {k.lower(): x for k, x in email.items()} if isinstance(email, dict) else {}
        address = email.get("address")
        if not isinstance(address, str) or "@" not in address.strip():
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        kind = v.get("type") or "required"
        if not isinstance(kind, str) or kind.lower() not in ("required", "optional", "resource"):
            raise GraphError(
                400,
                "RequestBodyRead",
                f"Cannot convert the literal '{kind}' to the expected type 'microsoft.graph.attendeeType'.",
            )
        address = address.strip()
        if address.lower() in seen:  # Exchange keeps one recipient per address
            continue
        seen.add(address.lower())
        out.append(Attendee(address, email.get("name") or "", kind.lower()))
    if len(out) > MAX_ATTENDEES:
        raise GraphError(
            400,
            "ErrorExceededMaxRecipientLimit",
            f"The number of recipients ({len(out)}) exceeds the limit of {MAX_ATTENDEES}.",
        )
    return out


def normalize(body: dict) -> dict:
    """Canonical property names and validated values; ignored properties dropped."""
    out = {}
    for key, value in body.items():
        if key.startswith("@odata."):
            continue
        name = _CANON.get(key.lower())
        if name is None:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The property '{key}' does not exist on type 'microsoft.graph.event'. "
                "Make sure to only use property names that are defined by the type or "
                "mark the type as open type.",
            )
        if name in IGNORED:
            continue
        if name in ENUMS:
            out[name] = _enum(name, value)
        elif name in BOOLS:
            if not isinstance(value, bool):
                raise _bad_type(name, "Edm.Boolean")
            out[name] = value
        elif name == "body":
            out[name] = _body(value)
        elif name in ("start", "end"):
            out[name] = _when(name, value)
        elif name == "location":
            out[name] = _location(value, "private") if value is not None else empty_location()
        elif name == "locations":
            if not isinstance(value, list):
                raise _bad_type(name, "Collection(microsoft.graph.location)")
            out[name] = [_location(v, "unknown") for v in value]
        elif name == "attendees":
            out[name] = _attendees(value or [])
        elif name == "categories":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise _bad_type(name, "Collection(Edm.String)")
            out[name] = list(value)
        elif name == "reminderMinutesBeforeStart":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _bad_type(name, "Edm.Int32")
            out[name] = value
        elif name == "recurrence":
            if value is not None:
                raise GraphError(400, "ErrorInvalidRequest", "The emulator does not implement recurring events.")
        elif name in ("subject", "transactionId"):
            if value is not None and not isinstance(value, str):
                raise _bad_type(name, "Edm.String")
            out[name] = value
    return out


def end_before_start(start, end):
    if end < start:
        raise GraphError(
            400, "ErrorCalendarEndDateIsEarlierThanStartDate", "The end date occurs before the start date."
        )


# --- body HTML ------------------------------------------------------------------------------------
_HEAD = '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'


def to_html(body: dict) -> str:
    """Outlook stores the body as given and hands it back as HTML by default (event-get.md)."""
    content = body["content"]
    if body["contentType"] == "text":
        content = html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    if "<html" in content.lower():
        return content
    return f"{_HEAD}<body>\r\n{content}\r\n</body>\r\n</html>\r\n"


# The Teams join block ("meeting blob") Outlook writes into the body of an online meeting, in
# the shape of real ones (a Graph event body captured from a tenant: a grey rule of 80
# underscores, a <div class="me-email-text"> with "Microsoft Teams meeting", the join link
# <a class="me-email-headline">, <span data-tid="meeting-code">Meeting ID, the passcode, and a
# closing rule). The link is the SHORT form `https://teams.microsoft.com/meet/<id>?p=<passcode>`
# that Teams now writes into invitations (Microsoft 365 message center MC772556, roadmap 381953;
# microsoftgraph/microsoft-graph-comms-samples#847), while `onlineMeeting.joinUrl` keeps the
# long `meetup-join` form: the body does not contain the joinUrl.
_RULE = (
    '<div style="width:100%"><span style="white-space:nowrap; color:#5F5F5F; opacity:.36">'
    + "_" * 80
    + "</span>\r\n</div>\r\n"
)
_BLOB_MARK = 'class="me-email-text"'


def with_blob(html_content: str, meeting: OnlineMeeting) -> str:
    """The body with the meeting blob appended inside <body>."""
    code = " ".join(meeting.meeting_id[i : i + 3] for i in range(0, len(meeting.meeting_id), 3))
    blob = (
        f'{_RULE}<div {_BLOB_MARK} lang="en-US" style="color:#252424; font-family:\'Segoe UI\','
        "'Helvetica Neue',Helvetica,Arial,sans-serif\">\r\n"
        '<div style="margin-top:24px; margin-bottom:20px"><span style="font-size:24px; '
        'color:#252424">Microsoft Teams meeting</span>\r\n</div>\r\n'
        '<div style="margin-bottom:20px">\r\n<div style="margin-top:0px; margin-bottom:0px; '
        'font-weight:bold"><span style="font-size:14px; color:#252424">Join on your computer, '
        "mobile app or room device</span>\r\n</div>\r\n"
        f'<a href="{html.escape(meeting.short_url)}" class="me-email-headline" '
        'style="font-size:14px; text-decoration:underline; color:#6264a7">Click here to join '
        'the meeting</a> </div>\r\n<div style="margin-bottom:20px; margin-top:20px">\r\n'
        '<span data-tid="meeting-code" style="font-size:14px; color:#252424">Meeting ID: '
        f'<span style="font-size:16px; color:#252424">{code}</span></span><br>\r\n'
        '<span style="font-size:14px; color:#252424">Passcode: </span>'
        f'<span style="font-size:16px; color:#252424">{meeting.passcode}</span>'
        f"\r\n</div>\r\n</div>\r\n{_RULE}"
    )
    low = html_content.lower()
    at = low.rfind("</body>")
    return html_content[:at] + blob + html_content[at:] if at >= 0 else html_content + blob


def has_blob(html_content: str, meeting: OnlineMeeting) -> bool:
    """Whether a body still carries the meeting's join block: the `me-email-text` container and
    a link to this meeting, short or long form (raw or HTML-escaped). A client that GETs the
    body and changes only its own part keeps it; a fresh body (text or HTML) does not."""
    links = (meeting.short_url, meeting.join_url)
    return _BLOB_MARK in html_content and any(u in html_content or html.escape(u) in html_content for u in links)


def to_text(html_content: str) -> str:
    text = re.sub(r"(?is)<(head|style|script)\b.*?</\1>", "", html_content)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return "\n".join(line.strip() for line in text.replace("\r", "").split("\n")).strip()


def preview(html_content: str) -> str:
    return re.sub(r"\s+", " ", to_text(html_content)).strip()[:255]
