"""Interview events in Outlook: create, read, edit, cancel, with the delegated token of the
user link that created them.

Creation is idempotent per (company, schedule_id): the schedule id is reserved in the events
table before Graph is called, and the Graph POST carries a `transactionId` derived from the
pair, so a retry after a lost answer finds the same Outlook event instead of making a second
one. Edits are serialised by a short lease on the mapping row (ETag), so concurrent PATCHes
apply one after the other against the latest stored state. A warm create / GET / PATCH /
cancel is exactly one Graph call (the token and the calendar's Teams capability are cached);
a body edit of an online meeting costs one more (the GET that keeps the Teams join block), a
create or time edit that Exchange refuses for its Windows zone id one more (the same instants in
UTC, shared/time_zones.py), and a row made before ids were immutable costs one
translateExchangeIds call, once.

Reads are open to the company; edits and cancels go out from the organizer's own mailbox, so
they need the account that created the event (`created_by`), a recruiter or an admin (403
otherwise, checked before anything else is read or sent). A row made before `created_by` was
stored names no creator: its creator is the owner of its user link (a create needs a link of
the caller's own), read only when a member asks.

One module for the four verbs, past the ~400 lines modules keep to: they share the reserved row,
its lease, the immutable-id upgrade and the creator check, which a split would only pass around.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

from shared import reactions
from shared.auth import Caller
from shared.domain.event_changes import READ_SELECT, Snapshot
from shared.domain.event_input import EventInput, check_conflicts_asked, parse_create, parse_patch
from shared.domain.event_to_graph import body_keeping_meeting, graph_patch, in_utc, to_graph
from shared.domain.event_view import OutlookEvent
from shared.errors import (
    Conflict,
    Forbidden,
    Gone,
    GraphError,
    GraphTimeout,
    GraphUnavailable,
    LinkRemoved,
    NotFound,
    ReauthRequired,
    ValidationFailed,
)
from shared.mailbox import credentials
from shared.mailbox.free_busy import require_free_slot
from shared.mailbox.links import own_link, remember_calendars
from shared.models import EventRecord, EventStatus, UserLink, iso, utcnow
from shared.storage import base
from shared.storage.base import ConcurrentUpdate
from shared.storage.event_ids import EventIds
from shared.storage.events import Events
from shared.storage.rooms import Rooms
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks
from shared.time_zones import zone_refused

log = logging.getLogger("outlook.events")

_TRANSACTION_NS = uuid.UUID("5b0d3c52-8a61-4c9e-a7f3-2f1e4f0c9d11")
LEASE = timedelta(seconds=30)
LEASE_WAIT_SECONDS = 20.0
DEFAULT_CANCEL_COMMENT = "この面接予定はキャンセルされました。 / This interview has been cancelled."


def transaction_id(company_id: str, schedule_id: str) -> str:
    return str(uuid.uuid5(_TRANSACTION_NS, f"{company_id}\n{schedule_id}"))


def event_path(record: EventRecord) -> str:
    return f"/me/events/{quote(record.graph_event_id or '', safe='')}"


def known_rooms(tenant_id: str, rooms: tuple[str, ...]) -> dict[str, str]:
    """Display names of the rooms, which must be in the tenant's room cache (422 unknown_room)
    and bookable (422 room_not_bookable: Graph's `bookingType: reserved`, room.md)."""
    names: dict[str, str] = {}
    repo = Rooms()
    for email in rooms:
        room = repo.get(tenant_id, email)
        if room is None:
            raise ValidationFailed(f"{email} is not a known meeting room of this tenant.", code="unknown_room")
        if not room.bookable:
            raise ValidationFailed(f"{email} is reserved in Outlook and cannot be booked.", code="room_not_bookable")
        names[email.lower()] = room.display_name
    return names


def mailbox_of(record: EventRecord) -> credentials.Mailbox:
    return credentials.mailbox(record.company_id, record.tenant_id, record.account_id)


def _teams_available(box: credentials.Mailbox, calendar_id: str | None) -> bool:
    """From the account row when known (GET /calendars records it); else one Graph read."""
    account = box.account
    company_id, tenant_id, oid = account.company_id, account.tenant_id, account.account.id
    known = account.calendars or {}
    cal = calendar_id or known.get("default")
    if cal and cal in known.get("teams", {}):
        return bool(known["teams"][cal])
    path = f"/me/calendars/{quote(calendar_id, safe='')}" if calendar_id else "/me/calendar"
    try:
        found = box.get(path, params={"$select": "id,isDefaultCalendar,allowedOnlineMeetingProviders"})
    except GraphError as exc:
        if exc.status == 404:
            raise ValidationFailed("The calendar does not exist in this account.", code="unknown_calendar") from None
        raise
    available = "teamsForBusiness" in (found.get("allowedOnlineMeetingProviders") or [])
    remember_calendars(company_id, tenant_id, oid, [found] if calendar_id else [{**found, "isDefaultCalendar": True}])
    return available


def _require_links(company_id: str, link_id: str, tenant_id: str) -> UserLink:
    """The event's own user link, which must still exist, as must its tenant link."""
    link = UserLinks().get(company_id, link_id) if TenantLinks().get_linked(company_id, tenant_id) else None
    if link is None:
        raise LinkRemoved()
    return link


def _require_manager(caller: Caller, record: EventRecord) -> None:
    """Edits and cancels: the event's creator, a recruiter or an admin (module docstring)."""
    if caller.manages_every_interview or record.created_by == caller.account_id:
        return
    if record.created_by is None:  # an old row: its creator owns its link
        link = UserLinks().get(record.company_id, record.link_id)
        if link is None:
            raise LinkRemoved()
        if link.herp_account_id == caller.account_id:
            return
    raise Forbidden("Only the interview's creator, a recruiter or an admin may change it.")


def _confirmed_record(company_id: str, schedule_id: str) -> EventRecord:
    return _confirmed(Events().get(company_id, schedule_id) if schedule_id else None)


def _confirmed(record: EventRecord | None) -> EventRecord:
    """The record of a created, not cancelled event (404 / 410 / 409 otherwise)."""
    if record is None:
        raise NotFound("No Outlook event for this schedule.")
    if record.status == EventStatus.CANCELLED:
        raise Gone("The event was cancelled through this API.", code="event_cancelled")
    if record.status == EventStatus.CREATING:
        raise Conflict("The event's creation was not confirmed; repeat the POST first.", code="event_not_confirmed")
    return record


def _deleted_in_outlook(exc: GraphError) -> bool:
    return type(exc) is GraphError and exc.status in (404, 410)


def _with_immutable_id(record: EventRecord, box: credentials.Mailbox) -> EventRecord:
    """A row made before events were addressed by immutable id holds the default id, which
    changes when the event moves (concepts/outlook-immutable-id.md): translate it once
    (user-translateexchangeids.md) and keep the immutable one. An id Outlook cannot translate
    stays as it is; using it then tells what became of the event."""
    if record.immutable_id or not record.graph_event_id:
        return record
    try:
        answer = box.post(
            "/me/translateExchangeIds",
            json={
                "inputIds": [record.graph_event_id],
                "sourceIdType": "restId",
                "targetIdType": "restImmutableEntryId",
            },
            idempotent=True,  # a read: repeating it after a 503 is harmless
        )
    except GraphError as exc:
        if type(exc) is not GraphError or exc.status >= 500:
            raise
        return record
    target = next((v.get("targetId") for v in (answer or {}).get("value", []) if v.get("targetId")), None)
    if target:
        record.graph_event_id, record.immutable_id = target, True
        EventIds().save(record.company_id, target, record.schedule_id)
        try:
            Events().save(record)
        except ConcurrentUpdate:
            pass  # another request migrated or changed the row; this one still uses the translated id
    return record


def _as_outlook_holds_it(event: EventInput, answer: dict) -> EventInput:
    """The input to store after a write: a Teams meeting Outlook did not make (201/200 with
    `isOnlineMeeting: false` although it was asked: no Teams licence or policy,
    microsoft-graph-docs#9741) is stored as not asked, so that nothing is locked."""
    if event.online_meeting and answer.get("isOnlineMeeting") is False:
        return dataclasses.replace(event, online_meeting=False)
    return event


# ---- create


def _written(write: Callable[[dict], dict], payload: dict, event: EventInput) -> dict:
    """`write(payload)`; when Exchange refuses the zone's Windows id (one without the latest
    Windows time zone update), once more with the same instants in UTC."""
    try:
        return write(payload)
    except GraphError as exc:
        if not zone_refused(exc) or "start" not in payload:
            raise
        log.info("Outlook refused the Windows zone of %s: the times go in UTC", event.time_zone)
        return write(in_utc(payload, event))


def _check_repeat(record: EventRecord, event: EventInput) -> None:
    """A stored schedule may only be repeated with the same body, and not after a cancel."""
    if record.input_hash != event.fingerprint():
        raise Conflict("Another event body is already stored for this schedule_id.", code="schedule_exists")
    if record.status == EventStatus.CANCELLED:
        raise Conflict("The event of this schedule_id was cancelled.", code="schedule_exists")


def create(caller: Caller, body: dict) -> tuple[OutlookEvent, bool]:
    """The event, and whether this call made it (False: a repeat of the same body)."""
    event = parse_create(body)
    check_conflicts = check_conflicts_asked(body)
    link = own_link(caller, event.link_id)
    box = credentials.mailbox(caller.company_id, link.tenant_id, link.account_id)
    room_names = known_rooms(link.tenant_id, event.rooms)
    repo = Events()
    record = repo.get(caller.company_id, event.schedule_id)
    if record is not None:
        _check_repeat(record, event)
        if record.status == EventStatus.ACTIVE:
            return _read(record, box, record.created_by or caller.account_id), False  # own_link checked the links
    if event.online_meeting and not _teams_available(box, event.calendar_id):
        raise ValidationFailed("Teams meetings are not available in this calendar.", code="teams_unavailable")
    if record is None:
        if check_conflicts:  # a fresh create only: a retry's first attempt checked, and may have made the event
            require_free_slot(box, event)
        now = utcnow()
        record = EventRecord(
            company_id=caller.company_id,
            schedule_id=event.schedule_id,
            link_id=link.link_id,
            tenant_id=link.tenant_id,
            account_id=link.account_id,
            calendar_id=event.calendar_id,
            transaction_id=transaction_id(caller.company_id, event.schedule_id),
            input_hash=event.fingerprint(),
            input_json=event.to_json_text(),
            created_at=now,
            updated_at=now,
            immutable_id=True,
            room_names=room_names,
            created_by=caller.account_id,
        )
        try:
            repo.create(record)
        except ConcurrentUpdate:  # a twin request reserved it first: go on as its repeat
            record = repo.get(caller.company_id, event.schedule_id)
            if record is None:
                raise
            _check_repeat(record, event)
            if record.status == EventStatus.ACTIVE:
                return _read(record, box, record.created_by or caller.account_id), False  # own_link checked the links
    # A retry of a create whose outcome was unknown (5xx, timeout) sends byte for byte what the
    # first attempt sent: the stored input and room names, the same transactionId (and, should
    # Exchange refuse the zone's Windows id again, the same UTC times).
    stored = EventInput.from_json_text(record.input_json)
    path = f"/me/calendars/{quote(stored.calendar_id, safe='')}/events" if stored.calendar_id else "/me/events"
    payload = to_graph(
        stored, record.room_names if record.room_names is not None else room_names, record.transaction_id
    )
    try:
        # idempotent: the same transactionId makes a repeated POST answer the event it made
        # (resources/event.md), so a 503/504 is retried here rather than handed to HERP.
        created = _written(
            lambda sent: box.post(
                path, json=sent, idempotent=True, audit=credentials.Audit("event.create", event.schedule_id)
            ),
            payload,
            stored,
        )
    except (GraphUnavailable, GraphTimeout):
        raise  # the outcome is unknown: keep the reservation; a retry reuses the transactionId
    except (ReauthRequired, LinkRemoved):
        repo.delete(caller.company_id, event.schedule_id)  # Outlook never accepted the POST
        raise
    except GraphError as exc:
        repo.delete(caller.company_id, event.schedule_id)  # Graph refused it: nothing exists
        if exc.status == 404:
            raise ValidationFailed("The calendar does not exist in this account.", code="unknown_calendar") from None
        if exc.status == 403 and stored.calendar_id:
            # A calendar shared by another mailbox: writing there needs Calendars.ReadWrite.Shared.
            raise ValidationFailed(
                "This calendar belongs to another mailbox and cannot be written to.", code="calendar_not_writable"
            ) from None
        raise
    record.graph_event_id = created["id"]
    record.input_json = _as_outlook_holds_it(stored, created).to_json_text()
    record.status, record.updated_at, record.immutable_id = EventStatus.ACTIVE, utcnow(), True
    record.outlook_json = Snapshot.from_graph(created).to_json_text()  # what later notifications compare with
    record.remember_version(created.get("changeKey"))
    EventIds().save(caller.company_id, created["id"], event.schedule_id)
    try:
        repo.save(record)
    except ConcurrentUpdate:
        # A twin request (a retry racing the original) stored it first; the transactionId made
        # Outlook answer both with the same event.
        record = repo.get(caller.company_id, event.schedule_id)
        if record is None or record.graph_event_id != created["id"]:
            raise
    log.info("event of schedule %s created in Outlook", event.schedule_id)
    box.remember_folder(created.get("parentFolderId"))  # the calendar it went into: no lookup on a later GET
    reactions.event_created(box.account, record.calendar_id)
    return OutlookEvent.from_graph(event, created, iso(record.updated_at), record.created_by or caller.account_id), True


# ---- read


def get(caller: Caller, schedule_id: str) -> OutlookEvent:
    record = _confirmed_record(caller.company_id, schedule_id)
    link = _require_links(caller.company_id, record.link_id, record.tenant_id)
    return _read(record, mailbox_of(record), record.created_by or link.herp_account_id)


def _read(record: EventRecord, box: credentials.Mailbox, created_by: str) -> OutlookEvent:
    """The event as Outlook holds it now (410 when it was deleted there)."""
    record = _with_immutable_id(record, box)
    event = EventInput.from_json_text(record.input_json)
    try:
        found = box.get(event_path(record), params={"$select": READ_SELECT})
    except GraphError as exc:
        if _deleted_in_outlook(exc):
            raise Gone("The event was deleted in Outlook.", code="event_deleted_in_outlook") from None
        raise
    if found.get("isCancelled"):  # cancelled by its organizer in Outlook: it waits in Deleted Items
        raise Gone("The event was cancelled in Outlook.", code="event_deleted_in_outlook")
    # Deleted in Outlook: in Deleted Items, where the immutable id still reads it (no Graph call
    # while it is in a calendar the account row knows; a move to another calendar is no deletion).
    if not box.in_a_calendar(found):
        raise Gone("The event was deleted in Outlook.", code="event_deleted_in_outlook")
    shown = OutlookEvent.from_graph(event, found, iso(record.updated_at), created_by)
    if event.room_fallback and any(r.response == "declined" for r in shown.rooms):
        reactions.declined_room_seen(record, event, shown)  # the fallback learns it here too
    return shown


# ---- edit


def leased(company_id: str, schedule_id: str) -> EventRecord:
    """Take the row's edit lease (ETag); wait while another edit holds it."""
    deadline = time.monotonic() + LEASE_WAIT_SECONDS
    repo = Events()
    while True:
        record = _confirmed_record(company_id, schedule_id)
        now = utcnow()
        if record.locked_until is None or record.locked_until <= now:
            record.locked_until = now + LEASE
            try:
                return repo.save(record)
            except ConcurrentUpdate:
                pass
        if time.monotonic() > deadline:
            raise Conflict("The event is being edited; retry.", code="event_busy")
        time.sleep(0.1)


def update(caller: Caller, schedule_id: str, body: dict) -> OutlookEvent:
    record = _confirmed_record(caller.company_id, schedule_id)
    _require_manager(caller, record)
    candidate = parse_patch(body, EventInput.from_json_text(record.input_json))  # 422 before any Graph call
    room_names = known_rooms(record.tenant_id, candidate.rooms)
    link = _require_links(caller.company_id, record.link_id, record.tenant_id)
    box = mailbox_of(record)
    record = leased(caller.company_id, schedule_id)
    try:
        record = _with_immutable_id(record, box)
        old = EventInput.from_json_text(record.input_json)  # the latest state, now that we hold the lease
        new = parse_patch(body, old)
        if new.rooms != candidate.rooms:  # another edit changed the rooms meanwhile
            room_names = known_rooms(record.tenant_id, new.rooms)
        patch = graph_patch(old, new, room_names)
        if patch.get("isOnlineMeeting") and not _teams_available(box, record.calendar_id):
            raise ValidationFailed("Teams meetings are not available in this calendar.", code="teams_unavailable")
        try:
            if "body" in patch and old.online_meeting:
                current = box.get(
                    event_path(record),
                    prefer='outlook.body-content-type="html"',
                    params={"$select": "body,onlineMeeting,isOnlineMeeting"},
                )
                patch["body"] = body_keeping_meeting(current, new.body)
            if patch:
                changed = _written(
                    lambda sent: box.patch(
                        event_path(record), json=sent, audit=credentials.Audit("event.update", record.schedule_id)
                    ),
                    patch,
                    new,
                )
            else:
                changed = box.get(event_path(record))
        except GraphError as exc:
            if _deleted_in_outlook(exc):
                raise Gone("The event was deleted in Outlook.", code="event_deleted_in_outlook") from None
            raise
        new = _as_outlook_holds_it(new, changed)
        record.input_json, record.updated_at = new.to_json_text(), utcnow()
        record.outlook_json = Snapshot.from_graph(changed).to_json_text()  # our own edit is no change from Outlook
        record.remember_version(changed.get("changeKey"))
    finally:
        release(record)
    return OutlookEvent.from_graph(new, changed, iso(record.updated_at), record.created_by or link.herp_account_id)


def release(record: EventRecord) -> None:
    """Give the edit lease back, saving what the edit changed on the row."""
    record.locked_until = None
    try:
        Events().save(record)
    except ConcurrentUpdate:
        log.warning("edit lease of schedule %s was taken over before release", record.schedule_id)


# ---- cancel


def cancel(caller: Caller, schedule_id: str, notify: bool, comment: str | None = None) -> None:
    """Cancel with notice (organizer's `cancel`, with our comment) or delete (`notify=False`: no
    comment of ours, though Outlook still sends attendees a cancellation, event-delete.md);
    repeating is fine."""
    repo = Events()
    record = repo.get(caller.company_id, schedule_id) if schedule_id else None
    if record is not None:
        _require_manager(caller, record)
    if record is not None and record.status == EventStatus.CANCELLED:
        return
    record = _confirmed(record)
    _require_links(caller.company_id, record.link_id, record.tenant_id)
    box = mailbox_of(record)
    try:
        # Held while Graph deletes: the notification that follows waits, then finds the row
        # cancelled through this API and reports nothing.
        record = leased(caller.company_id, schedule_id)
    except Gone:
        return  # a twin cancel finished meanwhile
    try:
        record = _with_immutable_id(record, box)
        if notify:
            box.post(
                event_path(record) + "/cancel",
                json={"comment": comment or DEFAULT_CANCEL_COMMENT},
                audit=credentials.Audit("event.cancel", schedule_id),
            )
        else:
            box.delete(event_path(record), audit=credentials.Audit("event.delete", schedule_id))
    except GraphError as exc:
        if not _deleted_in_outlook(exc):
            release(record)
            raise
        log.info("event of schedule %s was already gone from Outlook", schedule_id)
    except BaseException:
        release(record)
        raise

    def mark_cancelled(row: EventRecord) -> bool:
        if row.status == EventStatus.CANCELLED:
            return False  # a twin cancel finished it
        row.status, row.updated_at, row.locked_until = EventStatus.CANCELLED, utcnow(), None
        return True

    # A row gone meanwhile needs no mark. When the retries run out, ConcurrentUpdate reaches the
    # caller as a 409 to repeat (the repeat finds the event gone from Outlook and marks the row):
    # never a 204 over a row still active.
    base.update(lambda: repo.get(caller.company_id, schedule_id), mark_cancelled, repo.save, first=record)
