"""Control API for calendars (under /_emulator, JSON, no auth): what people do in Outlook and
what tests need to see. Not part of any Microsoft surface.

Event ids in paths may be either id kind (default or immutable).
- POST events/{event_id}/responses {"email", "response"}: an attendee answers the meeting.
- POST events/{event_id}/move {"calendar_id" | "calendar_name"}: the owner moves the item to
  another calendar of the same mailbox (new default id, same immutable id).
- Each of the three above takes `"silent": true`: no change notification for it (control_outlook.py).
- GET/POST room-answer-delay {"seconds"}: how long room mailboxes take to answer (default 1).
- POST users/{oid}/events/{event_id}/delete {"send_response"?}: the user deletes the event in
  Outlook (the organizer: the meeting is cancelled; an attendee: their copy goes and, unless
  send_response is false, Outlook's default "send the response" tells the organizer "declined").
- GET users/{oid}/events: the mailbox's items, deleted and cancelled ones included, each with
  `_emulator` {deleted, cancellation, calendarId, organizerEventId, history, ...}.
- POST users/{oid}/events {"subject", "start", "end" (ISO with Z or offset), "show_as"?,
  "is_cancelled"?, "response"?, "organizer_email"?}: an item the user has in the default calendar
  without this app: their own appointment (`response` "organizer", the default) or their copy of
  someone else's meeting (`response` accepted/declined/tentativelyAccepted/notResponded), made
  silently (no notification). 200 with the item as GET users/{oid}/events shows it.
- GET/POST schedules/{email}/busy {"start", "end", "status", "subject"?}: busy blocks of
  a user or room outside Graph (other calendars, manual room bookings).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from . import events as ev
from . import notifications
from .control import BadRequest, read_body, reply
from .event_input import empty_location, has_blob
from .graph import calendars_of
from .graph_events import render
from .records import BusyBlock, Event

RESPONSES = ("accepted", "declined", "tentativelyAccepted", "none")
BLOCK_STATUSES = ("busy", "tentative", "oof", "workingElsewhere")


def _silent(body: dict) -> bool:
    """`"silent": true`: the change sends no change notification (notifications.hush)."""
    silent = body.get("silent", False)
    if not isinstance(silent, bool):
        raise BadRequest("silent must be a boolean")
    return silent


def view(state, rec: Event) -> dict:
    org = ev.organizer_record(state, rec)
    meeting = (org or rec).online_meeting
    return {
        **render(state, rec, context=False),
        "_emulator": {
            "owner": rec.owner,
            "calendarId": rec.calendar_id,
            "immutableId": rec.key,
            "deleted": rec.deleted and dataclasses.asdict(rec.deleted),
            "cancellation": rec.cancellation and dataclasses.asdict(rec.cancellation),
            "organizerEventId": org.id if org else None,
            "organizerImmutableId": rec.organizer_key,
            "onlineMeetingBlobInBody": bool(meeting) and has_blob(rec.body, meeting),
            "history": list(rec.history),
        },
    }


def event_responses(state, request, event_id):
    body = read_body(request)
    email, response = body.get("email"), body.get("response")
    silent = _silent(body)
    if not isinstance(email, str) or "@" not in email:
        raise BadRequest("email must be an attendee's address")
    if response not in RESPONSES:
        raise BadRequest(f"response must be one of {list(RESPONSES)}")
    with state.lock:
        rec = state.find_item(event_id)
        org = ev.organizer_record(state, rec) if rec else None
        if org is None:
            return reply({"error": f"unknown event {event_id}"}, 404)
        if not org.live:
            return reply({"error": "the meeting was cancelled or deleted"}, 409)
        if not ev.set_response(state, org, email, response, ev.now()):
            return reply({"error": f"{email} is not an attendee of this meeting"}, 404)
        ev.log(org, source="emulator", action="response", email=email, response=response)
        if silent:
            notifications.hush(state, org.ical)
        return reply(view(state, org))


def user_event_delete(state, request, oid, event_id):
    body = read_body(request)
    send_response, silent = body.get("send_response", True), _silent(body)
    if not isinstance(send_response, bool):
        raise BadRequest("send_response must be a boolean")
    with state.lock:
        user, rec = state.users.get(oid), state.find_item(event_id)
        if user is None or rec is None:
            return reply({"error": "unknown user or event"}, 404)
        mine = (
            rec
            if rec.owner == oid
            else next((r for r in state.events.values() if r.ical == rec.ical and r.owner == oid and r.live), None)
        )
        if mine is None or not mine.live:
            return reply({"error": "the user has no such event in their calendar"}, 404)
        when = ev.now()
        if mine.is_organizer and mine.attendees:
            ev.cancel_meeting(state, mine, None, when, "outlook-delete")
        else:
            ev.delete(mine, when, "outlook-delete")
            org = ev.organizer_record(state, mine)
            if not mine.is_organizer and send_response and org and org.live and not mine.is_cancelled:
                ev.set_response(state, org, user.address, "declined", when)
                ev.log(org, source="emulator", action="response", email=user.address, response="declined")
        ev.log(mine, source="emulator", action="outlook-delete")
        if silent:
            notifications.hush(state, mine.ical)
        return reply(view(state, mine))


def event_move(state, request, event_id):
    body = read_body(request)
    cal_id, name = body.get("calendar_id"), body.get("calendar_name")
    silent = _silent(body)
    if not isinstance(cal_id or name, str) or (cal_id and name):
        raise BadRequest("give calendar_id or calendar_name (a string)")
    with state.lock:
        rec = state.find_item(event_id)
        if rec is None or not rec.live:
            return reply({"error": f"no event {event_id} in any calendar"}, 404)
        cal = next(
            (
                c
                for c in calendars_of(state, state.users[rec.owner])
                if not c.shared and cal_id in (None, c.id) and name in (None, c.name)
            ),
            None,
        )
        if cal is None:
            return reply({"error": "the mailbox has no such calendar of its own"}, 404)
        if cal.id == rec.calendar_id:
            raise BadRequest(f"the event is already in calendar {cal.name!r}")
        previous = ev.move(rec, cal.id, ev.now())
        if silent:
            notifications.hush(state, rec.ical)
        return reply({"id": rec.id, "immutableId": rec.key, "previousId": previous, "calendarId": cal.id})


def room_answer_delay(state, request):
    with state.lock:
        if request.method == "POST":
            seconds = read_body(request).get("seconds")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= 3600:
                raise BadRequest("seconds must be a number from 0 to 3600")
            state.room_answer_delay = float(seconds)
        return reply({"seconds": state.room_answer_delay})


SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
OWN_RESPONSES = ("organizer", "accepted", "declined", "tentativelyAccepted", "notResponded", "none")


def _outlook_item(state, owner, body: dict) -> Event:
    start, end = _instant(body.get("start"), "start"), _instant(body.get("end"), "end")
    if end <= start:
        raise BadRequest("end must be after start")
    subject, show_as = body.get("subject", ""), body.get("show_as", "busy")
    response, cancelled = body.get("response", "organizer"), body.get("is_cancelled", False)
    if not isinstance(subject, str):
        raise BadRequest("subject must be a string")
    if show_as not in SHOW_AS:
        raise BadRequest(f"show_as must be one of {list(SHOW_AS)}")
    if response not in OWN_RESPONSES:
        raise BadRequest(f"response must be one of {list(OWN_RESPONSES)}")
    if not isinstance(cancelled, bool):
        raise BadRequest("is_cancelled must be a boolean")
    when = ev.now()
    foreign = response != "organizer"
    rec = ev.new_event(
        owner, calendars_of(state, owner)[0].id, when, organizer_key=ev.new_immutable_id() if foreign else None
    )
    if foreign:
        address = body.get("organizer_email") or f"organizer@{owner.address.split('@')[-1]}"
        rec.organizer_name, rec.organizer_address = str(address).split("@")[0], str(address)
        rec.response_time = when
    rec.subject, rec.start, rec.end, rec.show_as = subject, start, end, show_as
    rec.response, rec.is_cancelled = response, cancelled
    rec.location = empty_location()
    ev.log(rec, source="control", action="outlook-item")
    state.events[rec.key] = rec
    return rec


def user_events(state, request, oid):
    with state.lock:
        if oid not in state.users:
            return reply({"error": f"unknown user {oid}"}, 404)
        if request.method == "POST":
            return reply(view(state, _outlook_item(state, state.users[oid], read_body(request))))
        recs = sorted((r for r in state.events.values() if r.owner == oid), key=lambda r: r.created)
        return reply({"events": [view(state, r) for r in recs]})


def _instant(value, name):
    try:
        t = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise BadRequest(f"{name} must be an ISO 8601 date-time with Z or an offset")
    return t.astimezone(dt.UTC)


def _block_json(b: BusyBlock) -> dict:
    return {
        "start": b.start.isoformat().replace("+00:00", "Z"),
        "end": b.end.isoformat().replace("+00:00", "Z"),
        "status": b.status,
        "subject": b.subject,
    }


def schedule_busy(state, request, email):
    low = email.lower()
    with state.lock:
        if not any(state.user_by_address(tid, email) or state.room_by_address(tid, email) for tid in state.tenants):
            return reply({"error": f"{email} is no user or room of any tenant"}, 404)
        if request.method == "POST":
            body = read_body(request)
            start, end = _instant(body.get("start"), "start"), _instant(body.get("end"), "end")
            status = body.get("status", "busy")
            if status not in BLOCK_STATUSES:
                raise BadRequest(f"status must be one of {list(BLOCK_STATUSES)}")
            if end <= start:
                raise BadRequest("end must be after start")
            subject = body.get("subject")
            if subject is not None and not isinstance(subject, str):
                raise BadRequest("subject must be a string")
            state.busy_blocks.setdefault(low, []).append(BusyBlock(start, end, status, subject))
        return reply({"email": email, "blocks": [_block_json(b) for b in state.busy_blocks.get(low, [])]})
