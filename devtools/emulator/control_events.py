"""Control API for calendars (under /_emulator, JSON, no auth): what people do in Outlook and
what tests need to see. Not part of any Microsoft surface.

Event ids in paths may be either id kind (default or immutable).
- POST events/{event_id}/responses {"email", "response"}: an attendee answers the meeting.
- POST events/{event_id}/move {"calendar_id" | "calendar_name"}: the owner moves the item to
  another calendar of the same mailbox (new default id, same immutable id).
- GET/POST room-answer-delay {"seconds"}: how long room mailboxes take to answer (default 1).
- POST users/{oid}/events/{event_id}/delete {"send_response"?}: the user deletes the event in
  Outlook (the organizer: the meeting is cancelled; an attendee: their copy goes and, unless
  send_response is false, Outlook's default "send the response" tells the organizer "declined").
- GET users/{oid}/events: the mailbox's items, deleted and cancelled ones included, each with
  `_emulator` {deleted, cancellation, calendarId, organizerEventId, history, ...}.
- GET/POST/DELETE schedules/{email}/busy {"start", "end", "status", "subject"?}: busy blocks of
  a user or room outside Graph (other calendars, manual room bookings).
"""
from __future__ import annotations

import datetime as dt

from . import events as ev
from .control import BadRequest, _body, _json
from .event_input import has_blob
from .graph import calendars_of, is_shared
from .graph_events import render

RESPONSES = ("accepted", "declined", "tentativelyAccepted", "none")
BLOCK_STATUSES = ("busy", "tentative", "oof", "workingElsewhere")


def view(state, rec) -> dict:
    org = ev.organizer_record(state, rec)
    meeting = (org or rec)["props"]["onlineMeeting"]
    return {**render(state, rec, context=False), "_emulator": {
        "owner": rec["owner"], "calendarId": rec["calendar_id"], "immutableId": rec["key"],
        "deleted": rec["deleted"], "cancellation": rec["cancellation"],
        "organizerEventId": org["id"] if org else None, "organizerImmutableId": rec["organizer_key"],
        "onlineMeetingBlobInBody": bool(meeting) and has_blob(rec["props"]["body"]["content"],
                                                              meeting["joinUrl"]),
        "history": list(rec["history"])}}


def event_responses(state, request, event_id):
    body = _body(request)
    email, response = body.get("email"), body.get("response")
    if not isinstance(email, str) or "@" not in email:
        raise BadRequest("email must be an attendee's address")
    if response not in RESPONSES:
        raise BadRequest(f"response must be one of {list(RESPONSES)}")
    with state.lock:
        rec = ev.find_item(state, event_id)
        org = ev.organizer_record(state, rec) if rec else None
        if org is None:
            return _json({"error": f"unknown event {event_id}"}, 404)
        if not ev.live(org):
            return _json({"error": "the meeting was cancelled or deleted"}, 409)
        if not ev.set_response(state, org, email, response, ev.now()):
            return _json({"error": f"{email} is not an attendee of this meeting"}, 404)
        ev.log(org, source="emulator", action="response", email=email, response=response)
        return _json(view(state, org))


def user_event_delete(state, request, oid, event_id):
    send_response = _body(request).get("send_response", True)
    if not isinstance(send_response, bool):
        raise BadRequest("send_response must be a boolean")
    with state.lock:
        user, rec = state.users.get(oid), ev.find_item(state, event_id)
        if user is None or rec is None:
            return _json({"error": "unknown user or event"}, 404)
        mine = rec if rec["owner"] == oid else next(
            (r for r in state.events.values() if r["ical"] == rec["ical"] and r["owner"] == oid
             and ev.live(r)), None)
        if mine is None or not ev.live(mine):
            return _json({"error": "the user has no such event in their calendar"}, 404)
        when = ev.now()
        if mine["is_organizer"] and mine["props"]["attendees"]:
            ev.cancel_meeting(state, mine, None, when, "outlook-delete")
        else:
            mine["deleted"] = {"time": when.isoformat(), "how": "outlook-delete"}
            org = ev.organizer_record(state, mine)
            if (not mine["is_organizer"] and send_response and org and ev.live(org)
                    and not mine["props"]["isCancelled"]):
                ev.set_response(state, org, ev.address_of(user), "declined", when)
                ev.log(org, source="emulator", action="response", email=ev.address_of(user),
                       response="declined")
        ev.log(mine, source="emulator", action="outlook-delete")
        return _json(view(state, mine))


def event_move(state, request, event_id):
    body = _body(request)
    cal_id, name = body.get("calendar_id"), body.get("calendar_name")
    if not isinstance(cal_id or name, str) or (cal_id and name):
        raise BadRequest("give calendar_id or calendar_name (a string)")
    with state.lock:
        rec = ev.find_item(state, event_id)
        if rec is None or not ev.live(rec):
            return _json({"error": f"no event {event_id} in any calendar"}, 404)
        owner = state.users[rec["owner"]]
        cal = next((c for c in calendars_of(owner) if not is_shared(owner, c)
                    and (c["id"] == cal_id or c["name"] == name)), None)
        if cal is None:
            return _json({"error": "the mailbox has no such calendar of its own"}, 404)
        if cal["id"] == rec["calendar_id"]:
            raise BadRequest(f"the event is already in calendar {cal['name']!r}")
        previous = ev.move(rec, cal["id"], ev.now())
        return _json({"id": rec["id"], "immutableId": rec["key"], "previousId": previous,
                      "calendarId": cal["id"]})


def room_answer_delay(state, request):
    with state.lock:
        if request.method == "POST":
            seconds = _body(request).get("seconds")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= 3600:
                raise BadRequest("seconds must be a number from 0 to 3600")
            state.room_answer_delay = float(seconds)
        return _json({"seconds": state.room_answer_delay})


def user_events(state, request, oid):
    with state.lock:
        if oid not in state.users:
            return _json({"error": f"unknown user {oid}"}, 404)
        recs = sorted((r for r in state.events.values() if r["owner"] == oid), key=lambda r: r["created"])
        return _json({"events": [view(state, r) for r in recs]})


def _instant(value, name):
    try:
        t = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise BadRequest(f"{name} must be an ISO 8601 date-time with Z or an offset")
    return t.astimezone(dt.timezone.utc)


def _block_json(b):
    return {"start": b["start"].isoformat().replace("+00:00", "Z"),
            "end": b["end"].isoformat().replace("+00:00", "Z"), "status": b["status"],
            "subject": b["subject"]}


def schedule_busy(state, request, email):
    low = email.lower()
    with state.lock:
        known = any(ev.user_by_address(state, tid, email) or ev.room_by_address(state, tid, email)
                    for tid in state.tenants)
        if not known:
            return _json({"error": f"{email} is no user or room of any tenant"}, 404)
        if request.method == "POST":
            body = _body(request)
            start, end = _instant(body.get("start"), "start"), _instant(body.get("end"), "end")
            status = body.get("status", "busy")
            if status not in BLOCK_STATUSES:
                raise BadRequest(f"status must be one of {list(BLOCK_STATUSES)}")
            if end <= start:
                raise BadRequest("end must be after start")
            subject = body.get("subject")
            if subject is not None and not isinstance(subject, str):
                raise BadRequest("subject must be a string")
            state.busy_blocks.setdefault(low, []).append(
                {"start": start, "end": end, "status": status, "subject": subject})
        elif request.method == "DELETE":
            state.busy_blocks.pop(low, None)
        return _json({"email": email, "blocks": [_block_json(b) for b in state.busy_blocks.get(low, [])]})


HANDLERS = {"event_responses": event_responses, "user_event_delete": user_event_delete,
            "event_move": event_move, "room_answer_delay": room_answer_delay,
            "user_events": user_events, "schedule_busy": schedule_busy}
