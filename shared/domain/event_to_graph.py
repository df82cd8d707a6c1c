"""HERP -> Graph: the event body of a create, and the PATCH of an edit (only what changed).

Times carry the zone's Windows name (Graph takes few IANA names); `in_utc` gives the same instants
in UTC for an Exchange that refuses that name (shared/time_zones.py). Rooms are `resource`
attendees and `locations` entries (never with a `location`, which would replace `locations`).
"""

from __future__ import annotations

import html
import re

from shared.domain.event_input import EventInput, graph_zone, utc_local
from shared.errors import TeamsBlockNotFound


def _when(local: str, tz: str) -> dict:
    return {"dateTime": local, "timeZone": graph_zone(tz)}


def in_utc(payload: dict, event: EventInput) -> dict:
    """A create or PATCH payload with its start/end as the same instants in UTC (event: its times)."""
    utc = {"start": utc_local(event.start, event.time_zone), "end": utc_local(event.end, event.time_zone)}
    return {**payload, **{k: {"dateTime": utc[k], "timeZone": "UTC"} for k in ("start", "end") if k in payload}}


def _graph_attendees(event: EventInput, room_names: dict[str, str]) -> list[dict]:
    people = [
        {"emailAddress": {"address": a.email, **({"name": a.name} if a.name else {})}, "type": a.type}
        for a in event.attendees
    ]
    rooms = [
        {"emailAddress": {"address": r, "name": room_names.get(r.lower(), r)}, "type": "resource"} for r in event.rooms
    ]
    return people + rooms


def _graph_locations(event: EventInput, room_names: dict[str, str]) -> dict:
    locations = [
        {"displayName": room_names.get(r.lower(), r), "locationEmailAddress": r, "locationType": "conferenceRoom"}
        for r in event.rooms
    ]
    if event.location:
        locations.append({"displayName": event.location, "locationType": "default"})
    # `locations` alone: event-update.md, "The location and locations properties always correspond
    # with each other. If you update the location property, any prior locations in the locations
    # collection are removed and replaced by the new location value": a `location` sent with it
    # would take the rooms out of `locations`. Outlook derives `location` from `locations`.
    return {"locations": locations}


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


# The Teams join block ("meeting blob") Outlook appends to an online meeting's body. It is found by
# its structure, never by the exact `onlineMeeting.joinUrl`: Teams now writes the short link
# `https://teams.microsoft.com/meet/<id>?p=<passcode>` into invitations while joinUrl keeps the
# long `meetup-join` form (message center MC772556, roadmap 381953;
# microsoftgraph/microsoft-graph-comms-samples#847). Every search below is a plain substring scan
# or a regex without nested or adjacent unbounded repeats, so the cost is linear in the body.
_TEAMS_LINK = re.compile(r"https://teams\.microsoft\.com/(?:l/meetup-join/|meet/)", re.I)
_RULE = "_" * 30  # the separator line (a run of underscores) that opens the block
_BODY_END = re.compile(r"</body\s*>", re.I)
_WRAPPER = "me-email-text"  # the class of the <div> around today's block
_WRAPPER_REACH = 1000  # how far before the rule the wrapper's opening tag may be
_OPENING_TAGS = 8  # opening tags right before the rule that belong to it (<div ...><span ...>)
_OPENING_TAG = re.compile(r"<([a-z][a-z0-9]*)(?:\s[^<>]*)?>\s*\Z", re.I)
_NOT_OPENERS = frozenset({"html", "head", "body", "br", "hr", "img", "meta", "link", "input", "wbr"})


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The last match of `pattern` (one forward scan)."""
    found = None
    for match in pattern.finditer(text):
        found = match
    return found


def _last_of(text: str, needle: str) -> int:
    """The last occurrence of `needle` (forward `find`s, which stay linear where a reverse search
    of a long needle may not); -1 when there is none."""
    found, at = -1, text.find(needle)
    while at >= 0:
        found, at = at, text.find(needle, at + len(needle))
    return found


def _link_at(old_html: str, join_url: str) -> int:
    """Where the block's join link is: the last Teams join link of either form, or the
    meeting's own joinUrl (raw or HTML-escaped) should it come later; -1 when there is none."""
    link = _last(_TEAMS_LINK, old_html)
    at = link.start() if link else -1
    if join_url:
        at = max(at, _last_of(old_html, join_url), _last_of(old_html, html.escape(join_url)))
    return at


def _block_start(old_html: str, rule: int) -> int:
    """The first character of the block whose separator rule starts at `rule`: the `me-email-text`
    wrapper opened shortly before it, else the opening tags right before the rule."""
    reach = max(0, rule - _WRAPPER_REACH)
    mark = old_html.rfind(_WRAPPER, reach, rule)
    if mark >= 0:
        tag = old_html.rfind("<", reach, mark)
        if tag >= 0 and old_html[tag : tag + 4].lower() == "<div" and ">" not in old_html[tag:mark]:
            return tag
    start = rule
    for _ in range(_OPENING_TAGS):
        tag = old_html.rfind("<", max(0, start - _WRAPPER_REACH), start)
        opener = _OPENING_TAG.match(old_html, tag, start) if tag >= 0 else None
        if opener is None or opener[1].lower() in _NOT_OPENERS:
            break
        start = tag
    return start


def teams_block(old_html: str, join_url: str = "") -> str | None:
    """The Teams join block of an online meeting's HTML body, whole: from the last separator rule
    (30 or more underscores) before the last Teams join link, with the tags that open it (or the
    `me-email-text` wrapper just around it), to `</body>` or the end. None when there is none."""
    at = _link_at(old_html, join_url)
    if at < 0:
        return None
    rule = old_html.rfind(_RULE, 0, at)
    if rule < 0:
        return None
    rule = len(old_html[:rule].rstrip("_"))  # back to the start of the run of underscores
    start = _block_start(old_html, rule)
    body_end = _last(_BODY_END, old_html)
    end = body_end.start() if body_end and body_end.start() > at else len(old_html)
    return old_html[start:end]


def body_keeping_meeting(current: dict, body: dict | None) -> dict:
    """The Graph `body` for an edit of an online meeting's body. event-update.md: "when updating
    the body of an online meeting, first get the body, change the content, and keep the meeting
    blob"; a body without it disables the meeting online. `current` is the event as GET with
    `$select=body,onlineMeeting,isOnlineMeeting` returned it. When Outlook says the meeting is
    online but its body holds no block to keep, nothing is sent: 409 teams_block_not_found."""
    old_html = ((current.get("body") or {}).get("content")) or ""
    join_url = ((current.get("onlineMeeting") or {}).get("joinUrl")) or ""
    content = ""
    if body:
        content = (
            body["content"]
            if body["content_type"] == "html"
            else html.escape(body["content"]).replace("\r\n", "\n").replace("\n", "<br>\r\n")
        )
    if not current.get("isOnlineMeeting") and not join_url:  # no meeting left (turned off in Outlook)
        return {"contentType": "html", "content": content}
    blob = teams_block(old_html, join_url)
    if blob is None:
        raise TeamsBlockNotFound()
    return {"contentType": "html", "content": f"<html><body>{content}{blob}</body></html>"}


def graph_patch(old: EventInput, new: EventInput, room_names: dict[str, str]) -> dict:
    """Only what changed: a time change does not resend the body; a room change updates both
    attendees and locations, keeping the people."""
    patch: dict = {}
    if new.subject != old.subject:
        patch["subject"] = new.subject
    if new.body != old.body:
        patch["body"] = (
            {"contentType": new.body["content_type"], "content": new.body["content"]}
            if new.body
            else {"contentType": "text", "content": ""}
        )
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
