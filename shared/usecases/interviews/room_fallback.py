"""Room fallback (`room_fallback: true`): when a booked room declines (a conflict, or its booking
policy), book the best free room that fits instead.

"Fits" is the finder's rule (shared.usecases.rooms.room_finder) with capacity >= the declined room's and
the same building when known, for the event's own slot. The replacement is one PATCH of the
attendees and locations that keeps the people, made under the event's edit lease like any edit
through the API, so the notification it causes reports nothing. The feed gets
`event.room_replaced` (old and new room) or, when no room is free, `event.room_declined` (and
nothing else changes).

Never a loop: the rooms tried for a slot are remembered on the row (`EventRecord.fallback_json`), a room is never tried twice for one slot, and at
most MAX_REPLACEMENTS happen per event and slot. A PATCH that moves the event is a new slot:
the fallback is armed again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from shared import reactions
from shared.domain.event_changes import Snapshot
from shared.domain.event_input import EventInput, instant_of
from shared.domain.event_to_graph import graph_patch
from shared.domain.event_view import OutlookEvent
from shared.errors import DomainError, GraphError
from shared.feed import changes
from shared.mailbox import credentials
from shared.mailbox.free_busy import find_free_rooms
from shared.models import Change, ChangeType, EventRecord, iso, utcnow
from shared.storage.rooms import Rooms
from shared.usecases.interviews import events

log = logging.getLogger("outlook.room_fallback")

MAX_REPLACEMENTS = 3


def slot_of(event: EventInput) -> str:
    return f"{event.start}|{event.end}|{event.time_zone}"


def state_of(record: EventRecord, event: EventInput) -> dict:
    """The fallback's memory for the event's current slot (fresh when the slot moved)."""
    state = json.loads(record.fallback_json) if record.fallback_json else {}
    if state.get("slot") != slot_of(event):
        state = {"slot": slot_of(event), "tried": [], "replaced": 0, "pending": state.get("pending", [])}
    return state


def declined_room_seen(record: EventRecord, event: EventInput, shown: OutlookEvent) -> None:
    """A read of the event showed a booked room declining: when the fallback has not tried that
    room yet, the event is compared with Outlook soon, which runs the fallback."""
    tried = set(state_of(record, event)["tried"])
    if any(r.response == "declined" and r.email.lower() not in tried for r in shown.rooms):
        reactions.compare_soon(record.company_id, record.schedule_id)


def replace_declined(company_id: str, schedule_id: str, declined: str, view: dict | None) -> Change | None:
    """Handle one declined room of the event (idempotent: a room already replaced, or no longer
    booked, does nothing); `view` is the Event as Outlook showed the decline. Returns the Change
    it recorded."""
    try:
        record = events.leased(company_id, schedule_id)
    except DomainError:
        return None  # cancelled, gone, or busy for 20 s: nothing to replace now
    outcome: Change | None = None
    try:
        event = EventInput.from_json_text(record.input_json)
        state = state_of(record, event)
        booked = [r for r in event.rooms if r.lower() == declined.lower()]
        if event.room_fallback and booked:
            outcome = _replace(record, event, booked[0], state, view)
        state["pending"] = [p for p in state.get("pending", []) if p.lower() != declined.lower()]
        record.fallback_json = json.dumps(state, ensure_ascii=False)
    finally:
        events.release(record)
    if outcome is not None:
        changes.record([outcome])
    return outcome


def _replace(record: EventRecord, event: EventInput, declined: str, state: dict, view: dict | None) -> Change:
    tried = {t.lower() for t in state["tried"]} | {declined.lower()}
    old = Rooms().get(record.tenant_id, declined)
    found = None
    box = events.mailbox_of(record)
    if state["replaced"] < MAX_REPLACEMENTS:
        free = find_free_rooms(
            box,
            record.tenant_id,
            instant_of(event.start, event.time_zone),
            instant_of(event.end, event.time_zone),
            min_capacity=old.capacity if old else None,
            building=old.building if old else None,
            exclude=sorted(tried | {r.lower() for r in event.rooms}),
            limit=1,
        )
        found = free.rooms[0] if free.rooms else None
    state["tried"] = sorted(tried | ({found.email.lower()} if found else set()))
    when = utcnow()
    if found is not None:
        new = replace(event, rooms=tuple(found.email if r == declined else r for r in event.rooms))
        names = events.known_rooms(record.tenant_id, new.rooms)
        try:
            changed = box.patch(
                events.event_path(record),
                json=graph_patch(event, new, names),
                audit=credentials.Audit("room.replace", record.schedule_id),
            )
        except GraphError as exc:
            log.warning("room fallback of schedule %s could not patch Outlook (%s)", record.schedule_id, exc.status)
            raise
        record.input_json, record.updated_at = new.to_json_text(), when
        record.outlook_json = Snapshot.from_graph(changed).to_json_text()
        record.remember_version(changed.get("changeKey"))
        state["replaced"] += 1
        view = OutlookEvent.from_graph(new, changed, iso(when), record.created_by).to_json()
        kind = ChangeType.ROOM_REPLACED
        log.info("room fallback of schedule %s: %s declined, %s booked", record.schedule_id, declined, found.email)
    else:
        kind = ChangeType.ROOM_DECLINED
        log.info("room fallback of schedule %s: %s declined, no free room fits", record.schedule_id, declined)
    return Change(
        id=changes.change_id(kind, record.company_id, record.schedule_id, state["slot"], declined.lower()),
        company_id=record.company_id,
        type=kind,
        occurred_at=when,
        schedule_id=record.schedule_id,
        fields=(declined.lower(),),
        event=view,
        detail={"old_room": declined, "new_room": found.email if found else None},
    )
