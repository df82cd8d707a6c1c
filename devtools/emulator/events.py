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
  are therefore keyed by their immutable id (`Event.key`); `Event.id` is the current default id.
- resources/room.md, Exchange resource booking: a room mailbox answers a meeting request on its
  own, some time after the request (the organizer's create answer still shows `none`): it
  declines when it is already booked then or when its bookingType is `reserved` ("can't be
  reserved"), else accepts. See `ask_rooms` / `deliver_room_answers`.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import hashlib
import secrets
import string

from . import booking
from .graph import calendar_id
from .records import Cancellation, Deleted, Event, OnlineMeeting, User

# What the organizer's changes carry to the attendees' copies (Exchange's meeting updates).
SHARED = (
    "subject",
    "body",
    "original_start_time_zone",
    "original_end_time_zone",
    "location",
    "locations",
    "organizer_name",
    "organizer_address",
    "is_online_meeting",
    "online_meeting_provider",
    "online_meeting",
    "sensitivity",
    "importance",
    "is_all_day",
    "hide_attendees",
    "allow_new_time_proposals",
    "response_requested",
)
# availabilityView digits (resources/scheduleinformation.md) and the merge order used when items
# overlap in one slot (busy beats tentative in the getSchedule example "200220010").
STATUS_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
PRECEDENCE = {"free": 0, "tentative": 1, "workingElsewhere": 2, "busy": 3, "oof": 4}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


def new_event(
    owner: User, calendar: str, when: dt.datetime, ical: str | None = None, organizer_key: str | None = None
) -> Event:
    """A new item in `owner`'s mailbox: the organizer's event, or (with `organizer_key`) a copy."""
    key = new_immutable_id()
    return Event(
        key=key,
        id=new_id(),
        tenant_id=owner.tenant_id,
        owner=owner.id,
        calendar_id=calendar,
        ical=ical or new_ical_uid(),
        organizer_key=organizer_key or key,
        is_organizer=organizer_key is None,
        created=when,
        modified=when,
        change_key=new_change_key(),
        organizer_name=owner.display_name,
        organizer_address=owner.address,
    )


def touch(rec: Event, when: dt.datetime | None = None) -> None:
    rec.modified = when or now()
    rec.change_key = new_change_key()


def log(rec: Event, **entry) -> None:
    rec.history.append({"time": now().isoformat(timespec="milliseconds").replace("+00:00", "Z"), **entry})


def overlaps(a_start, a_end, b_start, b_end) -> bool:
    return a_start < b_end and b_start < a_end


def delete(rec: Event, when: dt.datetime, how: str) -> None:
    rec.deleted = Deleted(when.isoformat(), how)


def move(rec: Event, calendar: str, when: dt.datetime) -> str:
    """The user moves the item to another calendar of the mailbox: a new default id, the same
    immutable id. Returns the previous default id."""
    before = rec.id
    rec.id, rec.calendar_id = new_id(), calendar
    touch(rec, when)
    log(rec, source="emulator", action="outlook-move", calendarId=calendar, previousId=before)
    return before


def organizer_record(state, rec: Event) -> Event | None:
    """The organizer's item of the meeting `rec` belongs to (itself for the organizer)."""
    return state.events.get(rec.organizer_key)


def copies(state, org: Event) -> list[Event]:
    return [r for r in state.events.values() if r.ical == org.ical and r.key != org.key and not r.is_organizer]


def teams_meeting(tid: str, owner_id: str) -> OnlineMeeting:
    """A Teams meeting (resources/onlinemeetinginfo.md; joinUrl shape as in the
    user-post-events.md example 4), with the meeting ID and passcode of its short join link
    (`OnlineMeeting.short_url`)."""
    thread = base64.b64encode(secrets.token_bytes(36)).decode().rstrip("=")
    join = (
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + thread + "%40thread.v2/0"
        f"?context=%7b%22Tid%22%3a%22{tid}%22%2c%22Oid%22%3a%22{owner_id}%22%7d"
    )
    digits = str(int(hashlib.sha256(thread.encode()).hexdigest(), 16))
    alphabet = string.ascii_letters + string.digits
    passcode = "".join(secrets.choice(alphabet) for _ in range(12))
    return OnlineMeeting(join, digits[:9], meeting_id=digits[9:22], passcode=passcode)


# --- rooms --------------------------------------------------------------------------------------
def room_busy(state, tid, email, start, end, ignore_ical=None) -> bool:
    """A room is busy when another live, non-cancelled meeting it accepted overlaps, or an
    injected busy block overlaps (the Resource Booking Attendant's default: no conflicts)."""
    for rec in state.events.values():
        if (
            rec.tenant_id != tid
            or not rec.is_organizer
            or not rec.live
            or rec.ical == ignore_ical
            or not overlaps(rec.start, rec.end, start, end)
        ):
            continue
        hit = rec.attendee(email)
        if hit is not None and hit.response == "accepted":
            return True
    return any(
        overlaps(b.start, b.end, start, end) and b.status != "free" for b in state.busy_blocks.get(email.lower(), [])
    )


def ask_rooms(state, org: Event, when, only=None) -> None:
    """Send the meeting request to each room attendee (`only`: lower-cased addresses; None =
    every room). A room mailbox processes any request it receives, whatever the attendee `type`
    says; its answer comes later (`deliver_room_answers`), so until then it shows `none`."""
    due = when + dt.timedelta(seconds=state.room_answer_delay)
    for a in org.attendees:
        room = state.room_by_address(org.tenant_id, a.address)
        if room is None or (only is not None and a.address.lower() not in only):
            continue
        a.response, a.time = "none", None
        a.name = a.name or room.display_name
        state.room_requests[(org.key, a.address.lower())] = due


def deliver_room_answers(state, at=None) -> None:
    """Every room answer that has come due, in the order the requests were sent, as the room's
    booking policy decides (booking.py: reserved, too long, or already booked then -> declined).
    Requests of meetings cancelled meanwhile, or of rooms no longer invited, are dropped."""
    at = at or now()
    with state.lock:
        for due, (key, low) in sorted((d, k) for k, d in state.room_requests.items() if d <= at):
            del state.room_requests[(key, low)]
            org = state.events.get(key)
            hit = org.attendee(low) if org and org.live else None
            room = hit and state.room_by_address(org.tenant_id, low)
            if not room:
                continue
            conflicts = room_busy(state, org.tenant_id, low, org.start, org.end, ignore_ical=org.ical)
            reason = booking.decline_reason(room, org, conflicts)
            hit.response, hit.time = "declined" if reason else "accepted", due
            touch(org, max(due, org.modified))
            log(org, source="room", action="room-response", email=hit.address, response=hit.response, reason=reason)


# --- attendee copies ------------------------------------------------------------------------------
def _copy_show_as(org: Event, response: str) -> str:
    if response == "accepted":
        return org.show_as
    if response == "declined":
        return "free"
    return "tentative"  # a meeting request not answered yet, or tentatively accepted


def _push(org: Event, copy_: Event, when) -> None:
    for name in SHARED:
        setattr(copy_, name, copy.deepcopy(getattr(org, name)))
    copy_.attendees = [dataclasses.replace(a, response="none", time=None) for a in org.attendees]
    copy_.start, copy_.end = org.start, org.end
    copy_.show_as = _copy_show_as(org, copy_.response)
    touch(copy_, when)


def internal_attendees(state, org: Event) -> dict[str, User]:
    """Attendees who are mailbox users of the tenant (not the organizer, not rooms)."""
    out = {}
    for a in org.attendees:
        u = state.user_by_address(org.tenant_id, a.address)
        if u is not None and u.has_mailbox and u.id != org.owner:
            out[u.id] = u
    return out


def sync_copies(state, org: Event, when, reset_responses=False) -> None:
    """Deliver the meeting (request or update) to attendee mailboxes; attendees removed from the
    list get a cancellation."""
    wanted = internal_attendees(state, org)
    have = {c.owner: c for c in copies(state, org) if c.live}
    for oid, copy_ in have.items():
        if oid not in wanted:
            _cancel_copy(copy_, None, when)
            continue
        if reset_responses and copy_.response != "none":
            copy_.response, copy_.response_time = "none", None
        if not copy_.is_cancelled:
            _push(org, copy_, when)
            log(copy_, source="organizer", action="meeting-update")
    for oid, user in wanted.items():
        if oid in have and not have[oid].is_cancelled:
            continue
        copy_ = new_event(user, calendar_id(user, user.calendars[0]), when, org.ical, org.key)
        copy_.response = "none"
        _push(org, copy_, when)
        state.events[copy_.key] = copy_
        log(copy_, source="organizer", action="meeting-request")


def _cancel_copy(copy_: Event, comment, when) -> None:
    if copy_.is_cancelled:
        return
    copy_.is_cancelled, copy_.show_as = True, "free"
    # Outlook shows a cancelled meeting with the subject prefixed by "Canceled: ".
    copy_.subject = "Canceled: " + (copy_.subject or "")
    copy_.cancellation = Cancellation(comment, when.isoformat())
    touch(copy_, when)
    log(copy_, source="organizer", action="meeting-cancelled", comment=comment)


def cancel_meeting(state, org: Event, comment, when, how) -> None:
    """The organizer's item leaves the calendar for Deleted Items (event-cancel.md: "moves the event
    to the Deleted Items folder"): a new default id, so the old one is gone, while its immutable
    id still finds it, cancelled (outlook-immutable-id.md: it stays while the item stays in the
    mailbox). Every attendee copy is marked cancelled; room bookings are released with it."""
    delete(org, when, how)
    # Only a cancel marks the organizer's own item cancelled; a delete (Graph's or Outlook's)
    # sends the attendees a cancellation and removes the item from the calendar (event-delete.md).
    org.is_cancelled = how in ("cancel", "outlook-cancel")
    org.cancellation = Cancellation(comment, when.isoformat())
    for copy_ in copies(state, org):
        if copy_.live:
            _cancel_copy(copy_, comment, when)


def set_response(state, org: Event, address: str, response: str, when) -> bool:
    """An attendee answers (from Outlook): the organizer's tracking and the attendee's own copy."""
    hit = org.attendee(address)
    if hit is None:
        return False
    at = when if response != "none" else None
    hit.response, hit.time = response, at
    state.room_requests.pop((org.key, address.lower()), None)  # an answer given by hand replaces the room's
    touch(org, when)
    u = state.user_by_address(org.tenant_id, address)
    for copy_ in copies(state, org):
        if u is not None and copy_.owner == u.id and copy_.live:
            copy_.response, copy_.response_time = response, at
            if not copy_.is_cancelled:
                copy_.show_as = _copy_show_as(org, response)
            touch(copy_, when)
    return True


# --- free/busy --------------------------------------------------------------------------------------
def schedule_items(state, tid, address, start, end):
    """(start, end, status, subject, location, isPrivate) items of one mailbox (user or room) that
    overlap [start, end), from events and injected busy blocks."""
    items = []
    user = state.user_by_address(tid, address)
    for rec in state.events.values():
        if not rec.live or not overlaps(rec.start, rec.end, start, end):
            continue
        where = (rec.location or {}).get("displayName") or ""
        if user is not None:
            if (
                rec.owner == user.id
                and not rec.is_cancelled
                and rec.show_as not in ("free", "unknown")
                and rec.response != "declined"
            ):
                items.append((rec.start, rec.end, rec.show_as, rec.subject, where, rec.sensitivity == "private"))
        elif rec.tenant_id == tid and rec.is_organizer:
            hit = rec.attendee(address)
            if hit is not None and hit.response == "accepted":
                items.append((rec.start, rec.end, "busy", rec.subject, where, False))
    for b in state.busy_blocks.get(address.lower(), []):
        if b.status != "free" and overlaps(b.start, b.end, start, end):
            items.append((b.start, b.end, b.status, b.subject or "", "", False))
    return sorted(items, key=lambda i: (i[0], i[1]))
