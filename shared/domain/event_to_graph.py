"""HERP -> Graph: the event body of a create, and the PATCH of an edit (only what changed).

Times carry the zone's Windows name (Graph takes few IANA names); `in_utc` gives the same instants
in UTC for an Exchange that refuses that name (shared/time_zones.py). Rooms are `resource`
attendees and `locations` entries.
"""

from __future__ import annotations

import html
import re

from shared.domain.event_input import EventInput, graph_zone, utc_local


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


_BLOB_RULE = re.compile(r"_{30,}")  # the separator line that opens Outlook's Teams join block
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
        content = (
            body["content"]
            if body["content_type"] == "html"
            else html.escape(body["content"]).replace("\r\n", "\n").replace("\n", "<br>\r\n")
        )
    at = max(old_html.find(join_url), old_html.find(html.escape(join_url))) if join_url else -1
    rules = list(_BLOB_RULE.finditer(old_html, 0, at)) if at >= 0 else []
    if not rules:  # no join block left to keep (removed in Outlook already)
        return {"contentType": "html", "content": content}
    start = old_html.rfind("<", 0, rules[-1].start())
    wrappers = [
        w for w in _BLOB_WRAPPER.finditer(old_html, 0, rules[-1].start()) if rules[-1].start() - w.start() < 1000
    ]
    if wrappers:
        start = wrappers[-1].start()
    end = old_html.lower().rfind("</body>")
    blob = old_html[max(start, 0) : end if end > start else len(old_html)]
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
