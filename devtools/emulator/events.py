"""Calendar events of the emulator's mailboxes: meetings, attendee copies, room booking.

One record per event *item* (the organizer's event and one copy per attendee mailbox of the
tenant), as Exchange keeps them; the organizer's changes are pushed to the copies as Exchange's
meeting updates would be. All functions expect the caller to hold `state.lock`.

Docs followed (microsoftgraph/microsoft-graph-docs-contrib):
- api/user-post-events.md: "When an event is sent, the server sends invitations to all the
  attendees"; rooms: "On behalf of the resource, the server accepts or rejects the meeting
  request based on the free/busy schedule of the resource ... If the meeting is rescheduled,
  the server automatically updates the event in the resource's calendar."
- resources/event.md: iCalUId is shared by the event's copies across calendars; changeKey
  changes every time the event changes; location/locations correspond.
- api/event-delete.md: deleting the organizer's meeting sends a cancellation to attendees.
- api/event-cancel.md: cancel moves the organizer's event to Deleted Items and sends the
  cancellation (with the comment) to all attendees.
- concepts/outlook-immutable-id.md: an item's default id changes when it moves to another folder
  (a calendar, Deleted Items); its immutable id stays while the item stays in the mailbox. Records
  are therefore keyed by their immutable id (`key`); `id` is the current default id.
- resources/room.md, Exchange resource booking: a room mailbox answers a meeting request on its
  own, some time after the request (the organizer's create answer still shows `none`): it
  declines when it is already booked then or when its bookingType is `reserved` ("can't be
  reserved"), else accepts. See `ask_rooms` / `deliver_room_answers`.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from .graph import calendar_id
from .timezones import UTC

SHARED = ("subject", "body", "originalStartTimeZone", "originalEndTimeZone", "location",
          "locations", "organizer", "isOnlineMeeting", "onlineMeetingProvider", "onlineMeeting",
          "sensitivity", "importance", "isAllDay", "hideAttendees", "allowNewTimeProposals",
          "responseRequested")
RESPONSES = ("none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded")
# availabilityView digits (resources/scheduleinformation.md) and the merge order used when items
# overlap in one slot (busy beats tentative in the getSchedule example "200220010").
STATUS_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
PRECEDENCE = {"free": 0, "tentative": 1, "workingElsewhere": 2, "busy": 3, "oof": 4}


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


ROOM_ANSWER_DELAY_S = 1.0  # how long a room mailbox takes to answer (control API changes it)


def new_id() -> str:
    """A default (REST) item id: base64 of an entry id, as Graph returns it."""
    return "AAMkAG" + base64.urlsafe_b64encode(secrets.token_bytes(60)).decode().rstrip("=") + "AAA="


def new_immutable_id() -> str:
    """A REST immutable entry id (outlook-immutable-id.md example: "AAkALgAA...")."""
    return "AAkALgAA" + base64.urlsafe_b64encode(secrets.token_bytes(45)).decode().rstrip("=")


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(18)).decode()


def new_ical_uid() -> str:
    return "040000008200E00074C5B7101A82E00800000000" + secrets.token_hex(28).upper()


def address_of(user) -> str:
    return user["mail"] or user["userPrincipalName"]


def user_by_address(state, tid, address):
    low = (address or "").lower()
    for u in state.users.values():
        if u["tenant_id"] == tid and not u["deleted"] and low in (
                (u["mail"] or "").lower(), u["userPrincipalName"].lower()):
            return u
    return None


def room_by_address(state, tid, address):
    low = (address or "").lower()
    return next((r for r in state.rooms.get(tid, []) if r["emailAddress"].lower() == low), None)


def touch(rec, when=None) -> None:
    rec["modified"] = when or now()
    rec["change_key"] = new_change_key()


def log(rec, **entry) -> None:
    rec["history"].append({"time": now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                           **entry})


def live(rec) -> bool:
    return rec["deleted"] is None


def overlaps(a_start, a_end, b_start, b_end) -> bool:
    return a_start < b_end and b_start < a_end


def find_item(state, item_id):
    """The item an id names: its current default id or its immutable id (either kind addresses
    an item; a default id from before a move names nothing)."""
    rec = state.events.get(item_id)
    return rec or next((r for r in state.events.values() if r["id"] == item_id), None)


def move(rec, calendar, when) -> str:
    """The user moves the item to another calendar of the mailbox: a new default id, the same
    immutable id. Returns the previous default id."""
    before = rec["id"]
    rec["id"], rec["calendar_id"] = new_id(), calendar
    touch(rec, when)
    log(rec, source="emulator", action="outlook-move", calendarId=calendar, previousId=before)
    return before


def organizer_record(state, rec):
    """The organizer's item of the meeting `rec` belongs to (itself for the organizer)."""
    return state.events.get(rec["organizer_key"])


def copies(state, org):
    return [r for r in state.events.values()
            if r["ical"] == org["ical"] and r["key"] != org["key"] and not r["is_organizer"]]


# --- rooms --------------------------------------------------------------------------------------
def room_busy(state, tid, email, start, end, ignore_ical=None) -> bool:
    """A room is busy when another live, non-cancelled meeting it accepted overlaps, or an
    injected busy block overlaps (the Resource Booking Attendant's default: no conflicts)."""
    low = email.lower()
    for rec in state.events.values():
        if (rec["tenant_id"] != tid or not rec["is_organizer"] or not live(rec)
                or rec["ical"] == ignore_ical or not overlaps(rec["start"], rec["end"], start, end)):
            continue
        for a in rec["props"]["attendees"]:
            if a["emailAddress"]["address"].lower() == low and a["status"]["response"] == "accepted":
                return True
    return any(overlaps(b["start"], b["end"], start, end) and b["status"] != "free"
               for b in state.busy_blocks.get(low, []))


def ask_rooms(state, org, when, only=None) -> None:
    """Send the meeting request to each room attendee (`only`: lower-cased addresses; None =
    every room). A room mailbox processes any request it receives, whatever the attendee `type`
    says; its answer comes later (`deliver_room_answers`), so until then it shows `none`."""
    due = when + dt.timedelta(seconds=state.room_answer_delay)
    for a in org["props"]["attendees"]:
        address = a["emailAddress"]["address"]
        room = room_by_address(state, org["tenant_id"], address)
        if room is None or (only is not None and address.lower() not in only):
            continue
        a["status"] = {"response": "none", "time": None}
        if not a["emailAddress"].get("name"):
            a["emailAddress"]["name"] = room["displayName"]
        state.room_requests[(org["key"], address.lower())] = due


def deliver_room_answers(state, at=None) -> None:
    """Every room answer that has come due, in the order the requests were sent: the Resource
    Booking Attendant declines a `reserved` room and a room already booked then (conflicts are
    not allowed by default), else accepts. Requests of meetings cancelled meanwhile, or of rooms
    no longer invited, are dropped."""
    at = at or now()
    with state.lock:
        for due, (key, low) in sorted((d, k) for k, d in state.room_requests.items() if d <= at):
            del state.room_requests[(key, low)]
            org = state.events.get(key)
            hit = org and live(org) and next((a for a in org["props"]["attendees"]
                                              if a["emailAddress"]["address"].lower() == low), None)
            room = hit and room_by_address(state, org["tenant_id"], low)
            if not room:
                continue
            declined = room.get("bookingType") == "reserved" or room_busy(
                state, org["tenant_id"], low, org["start"], org["end"], ignore_ical=org["ical"])
            hit["status"] = {"response": "declined" if declined else "accepted", "time": due}
            touch(org, max(due, org["modified"]))
            log(org, source="room", action="room-response", email=hit["emailAddress"]["address"],
                response=hit["status"]["response"])


# --- attendee copies ------------------------------------------------------------------------------
def _copy_show_as(org, response) -> str:
    if response == "accepted":
        return org["props"]["showAs"]
    if response == "declined":
        return "free"
    return "tentative"  # a meeting request not answered yet, or tentatively accepted


def _push(org, copy, when) -> None:
    for key in SHARED:
        copy["props"][key] = _clone(org["props"][key])
    copy["props"]["attendees"] = [dict(_clone(a), status={"response": "none", "time": None})
                                  for a in org["props"]["attendees"]]
    copy["start"], copy["end"] = org["start"], org["end"]
    copy["props"]["showAs"] = _copy_show_as(org, copy["props"]["responseStatus"]["response"])
    touch(copy, when)


def _clone(value):
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def internal_attendees(state, org):
    """Attendees who are mailbox users of the tenant (not the organizer, not rooms)."""
    out = {}
    for a in org["props"]["attendees"]:
        u = user_by_address(state, org["tenant_id"], a["emailAddress"]["address"])
        if u is not None and u["has_mailbox"] and u["id"] != org["owner"]:
            out[u["id"]] = u
    return out


def sync_copies(state, org, when, reset_responses=False) -> None:
    """Deliver the meeting (request or update) to attendee mailboxes; attendees removed from the
    list get a cancellation."""
    wanted = internal_attendees(state, org)
    have = {c["owner"]: c for c in copies(state, org) if live(c)}
    for oid, copy in have.items():
        if oid not in wanted:
            _cancel_copy(copy, None, when)
            continue
        if reset_responses and copy["props"]["responseStatus"]["response"] != "none":
            copy["props"]["responseStatus"] = {"response": "none", "time": None}
        if not copy["props"]["isCancelled"]:
            _push(org, copy, when)
            log(copy, source="organizer", action="meeting-update")
    for oid, user in wanted.items():
        if oid in have and not have[oid]["props"]["isCancelled"]:
            continue
        copy = new_record(org["tenant_id"], user, calendar_id(user, user["calendars"][0]),
                          org["ical"], org["key"], is_organizer=False, when=when)
        copy["props"]["responseStatus"] = {"response": "none", "time": None}
        _push(org, copy, when)
        copy["props"]["isCancelled"] = False
        state.events[copy["key"]] = copy
        log(copy, source="organizer", action="meeting-request")


def _cancel_copy(copy, comment, when) -> None:
    props = copy["props"]
    if props["isCancelled"]:
        return
    props["isCancelled"] = True
    props["showAs"] = "free"
    # Outlook shows a cancelled meeting with the subject prefixed by "Canceled: ".
    props["subject"] = "Canceled: " + (props["subject"] or "")
    copy["cancellation"] = {"comment": comment, "time": when.isoformat()}
    touch(copy, when)
    log(copy, source="organizer", action="meeting-cancelled", comment=comment)


def cancel_meeting(state, org, comment, when, how) -> None:
    """The organizer's item leaves the calendar (Deleted Items: new id, so the old one is gone);
    every attendee copy is marked cancelled; room bookings are released with it."""
    org["deleted"] = {"time": when.isoformat(), "how": how}
    org["cancellation"] = {"comment": comment, "time": when.isoformat()}
    for copy in copies(state, org):
        if live(copy):
            _cancel_copy(copy, comment, when)


def set_response(state, org, address, response, when) -> bool:
    """An attendee answers (from Outlook): the organizer's tracking and the attendee's own copy."""
    low = address.lower()
    hit = next((a for a in org["props"]["attendees"]
                if a["emailAddress"]["address"].lower() == low), None)
    if hit is None:
        return False
    hit["status"] = {"response": response, "time": when if response != "none" else None}
    state.room_requests.pop((org["key"], low), None)  # an answer given by hand replaces the room's
    touch(org, when)
    u = user_by_address(state, org["tenant_id"], address)
    for copy in copies(state, org):
        if u is not None and copy["owner"] == u["id"] and live(copy):
            copy["props"]["responseStatus"] = {"response": response,
                                               "time": when if response != "none" else None}
            if not copy["props"]["isCancelled"]:
                copy["props"]["showAs"] = _copy_show_as(org, response)
            touch(copy, when)
    return True


# --- records --------------------------------------------------------------------------------------
def new_record(tid, owner, calendar, ical, organizer_key, is_organizer, when):
    key = new_immutable_id()
    return {
        "key": key, "id": new_id(), "tenant_id": tid, "owner": owner["id"], "calendar_id": calendar,
        "ical": ical, "organizer_key": organizer_key or key, "is_organizer": is_organizer,
        "created": when, "modified": when, "change_key": new_change_key(),
        "start": None, "end": None, "transaction_id": None, "tx_fingerprint": None,
        "deleted": None, "cancellation": None, "history": [],
        "props": {"subject": None, "body": {"contentType": "html", "content": ""},
                  "originalStartTimeZone": "UTC", "originalEndTimeZone": "UTC",
                  "location": None, "locations": [], "attendees": [],
                  "organizer": {"emailAddress": {"name": owner["displayName"],
                                                 "address": address_of(owner)}},
                  "isOnlineMeeting": False, "onlineMeetingProvider": "unknown",
                  "onlineMeeting": None, "showAs": "busy", "sensitivity": "normal",
                  "importance": "normal", "categories": [], "reminderMinutesBeforeStart": 15,
                  "isReminderOn": True, "responseRequested": True, "allowNewTimeProposals": True,
                  "hideAttendees": False, "isAllDay": False, "isCancelled": False,
                  "responseStatus": {"response": "organizer", "time": None}},
    }


def teams_meeting(tid, owner_id) -> dict:
    """onlineMeetingInfo of a Teams meeting (resources/onlinemeetinginfo.md; joinUrl shape as in
    the user-post-events.md example 4)."""
    thread = base64.b64encode(secrets.token_bytes(36)).decode().rstrip("=")
    join = ("https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + thread + "%40thread.v2/0"
            f"?context=%7b%22Tid%22%3a%22{tid}%22%2c%22Oid%22%3a%22{owner_id}%22%7d")
    conference = str(int(hashlib.sha256(thread.encode()).hexdigest(), 16))[:9]
    return {"joinUrl": join, "conferenceId": conference, "tollNumber": None,
            "tollFreeNumbers": [], "phones": [], "quickDial": None}


# --- free/busy --------------------------------------------------------------------------------------
def schedule_items(state, tid, address, start, end, own):
    """(start, end, status, subject, location, isPrivate, show_details) items of one mailbox
    (user or room) that overlap [start, end), from events and injected busy blocks."""
    items, low = [], address.lower()
    user = user_by_address(state, tid, address)
    if user is not None:
        for rec in state.events.values():
            p = rec["props"]
            if (rec["owner"] != user["id"] or not live(rec) or p["isCancelled"]
                    or p["showAs"] in ("free", "unknown")
                    or p["responseStatus"]["response"] == "declined"
                    or not overlaps(rec["start"], rec["end"], start, end)):
                continue
            items.append((rec["start"], rec["end"], p["showAs"], p["subject"],
                          (p["location"] or {}).get("displayName") or "",
                          p["sensitivity"] == "private"))
    else:
        for rec in state.events.values():
            if (rec["tenant_id"] != tid or not rec["is_organizer"] or not live(rec)
                    or not overlaps(rec["start"], rec["end"], start, end)):
                continue
            if any(a["emailAddress"]["address"].lower() == low and a["status"]["response"] == "accepted"
                   for a in rec["props"]["attendees"]):
                items.append((rec["start"], rec["end"], "busy", rec["props"]["subject"],
                              (rec["props"]["location"] or {}).get("displayName") or "", False))
    for b in state.busy_blocks.get(low, []):
        if b["status"] != "free" and overlaps(b["start"], b["end"], start, end):
            items.append((b["start"], b["end"], b["status"], b.get("subject") or "", "", False))
    items.sort(key=lambda i: (i[0], i[1]))
    return [(*i, own) for i in items]
