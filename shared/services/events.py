"""Interview events in Outlook: create, read, edit, cancel, with the delegated token of the
user link that created them.

Creation is idempotent per (company, schedule_id): the schedule id is reserved in the events
table before Graph is called, and the Graph POST carries a `transactionId` derived from the
pair, so a retry after a lost answer finds the same Outlook event instead of making a second
one. Edits are serialised by a short lease on the mapping row (ETag), so concurrent PATCHes
apply one after the other against the latest stored state. A warm create / GET / PATCH /
cancel is exactly one Graph call (the token and the calendar's Teams capability are cached);
a body edit of an online meeting costs one more (the GET that keeps the Teams join block), and
a row made before ids were immutable costs one translateExchangeIds call, once.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from urllib.parse import quote

from shared import graph
from shared.auth import Caller
from shared.errors import Conflict, GraphError, GraphTimeout, GraphUnavailable, Gone, LinkRemoved, NotFound, ReauthRequired, ValidationFailed
from shared.models import MicrosoftAccount, iso, utcnow
from shared.services import credentials
from shared.services.event_input import (
    PREFER_UTC,
    EventInput,
    body_keeping_meeting,
    event_json,
    graph_patch,
    parse_create,
    parse_patch,
    to_graph,
)
from shared.services.user_links import own_link, remember_calendars
from shared.storage.events import ACTIVE, CANCELLED, CREATING, EventRecord, Events
from shared.storage.repositories import ConcurrentUpdate, Rooms, TenantLinks, UserLinks

log = logging.getLogger("outlook.events")

_TRANSACTION_NS = uuid.UUID("5b0d3c52-8a61-4c9e-a7f3-2f1e4f0c9d11")
LEASE = timedelta(seconds=30)
LEASE_WAIT_SECONDS = 20.0
DEFAULT_CANCEL_COMMENT = "この面接予定はキャンセルされました。 / This interview has been cancelled."


def transaction_id(company_id: str, schedule_id: str) -> str:
    return str(uuid.uuid5(_TRANSACTION_NS, f"{company_id}\n{schedule_id}"))


# Every event call: answers in UTC (event_input renders them in the caller's zone) and immutable
# ids, which survive a move to another folder or calendar (concepts/outlook-immutable-id.md).
# Both preferences in one header, comma-separated as RFC 7240 allows (Graph honours several:
# mguessan/davmail pull request 476).
EVENT_HEADERS = {"Prefer": PREFER_UTC["Prefer"] + ', IdType="ImmutableId"'}
BODY_HEADERS = {"Prefer": EVENT_HEADERS["Prefer"] + ', outlook.body-content-type="html"'}


def _event_path(record: EventRecord) -> str:
    return f"/me/events/{quote(record.graph_event_id, safe='')}"


def _known_rooms(tenant_id: str, rooms: tuple[str, ...]) -> dict[str, str]:
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


def _graph(record_or_link, call):
    """Run `call(token)` with the credential of the link's Microsoft account."""
    return credentials.with_graph_token(record_or_link.company_id, record_or_link.tenant_id,
                                        record_or_link.account_id, call)


def _teams_available(account: MicrosoftAccount, calendar_id: str | None) -> bool:
    """From the account row when known (GET /calendars records it); else one Graph read."""
    company_id, tenant_id, oid = account.company_id, account.tenant_id, account.account.id
    known = account.calendars or {}
    cal = calendar_id or known.get("default")
    if cal and cal in known.get("teams", {}):
        return bool(known["teams"][cal])
    path = f"/me/calendars/{quote(calendar_id, safe='')}" if calendar_id else "/me/calendar"
    try:
        found = credentials.with_graph_token(company_id, tenant_id, oid, lambda token: graph.get(
            path, token, params={"$select": "id,isDefaultCalendar,allowedOnlineMeetingProviders"}))
    except GraphError as exc:
        if exc.status == 404:
            raise ValidationFailed("The calendar does not exist in this account.", code="unknown_calendar") from None
        raise
    available = "teamsForBusiness" in (found.get("allowedOnlineMeetingProviders") or [])
    remember_calendars(company_id, tenant_id, oid, [found] if calendar_id else [{**found, "isDefaultCalendar": True}])
    return available


def _usable_link(company_id: str, link_id: str, tenant_id: str) -> None:
    """The event's own user link and its tenant link must still exist."""
    if TenantLinks().get_linked(company_id, tenant_id) is None or UserLinks().get(company_id, link_id) is None:
        raise LinkRemoved()


def _record(company_id: str, schedule_id: str) -> EventRecord:
    return _confirmed(Events().get(company_id, schedule_id) if schedule_id else None)


def _confirmed(record: EventRecord | None) -> EventRecord:
    """The record of a created, not cancelled event (404 / 410 / 409 otherwise)."""
    if record is None:
        raise NotFound("No Outlook event for this schedule.")
    if record.status == CANCELLED:
        raise Gone("The event was cancelled through this API.", code="event_cancelled")
    if record.status == CREATING:
        raise Conflict("The event's creation was not confirmed; repeat the POST first.", code="event_not_confirmed")
    return record


def _deleted_in_outlook(exc: GraphError) -> bool:
    return type(exc) is GraphError and exc.status in (404, 410)


def _with_immutable_id(record: EventRecord) -> EventRecord:
    """A row made before events were addressed by immutable id holds the default id, which
    changes when the event moves (concepts/outlook-immutable-id.md): translate it once
    (user-translateexchangeids.md) and keep the immutable one. An id Outlook cannot translate
    stays as it is; using it then tells what became of the event."""
    if record.immutable_id or not record.graph_event_id:
        return record
    try:
        answer = _graph(record, lambda t: graph.request("POST", "/me/translateExchangeIds", t, json={
            "inputIds": [record.graph_event_id], "sourceIdType": "restId", "targetIdType": "restImmutableEntryId"}))
    except GraphError as exc:
        if type(exc) is not GraphError or exc.status >= 500:
            raise
        return record
    target = next((v.get("targetId") for v in (answer or {}).get("value", []) if v.get("targetId")), None)
    if target:
        record.graph_event_id, record.immutable_id = target, True
        try:
            Events().save(record)
        except ConcurrentUpdate:
            pass  # another request migrated or changed the row; this one still uses the translated id
    return record


# ---- create


def _check_repeat(record: EventRecord, event: EventInput) -> None:
    """A stored schedule may only be repeated with the same body, and not after a cancel."""
    if record.input_hash != event.fingerprint():
        raise Conflict("Another event body is already stored for this schedule_id.", code="schedule_exists")
    if record.status == CANCELLED:
        raise Conflict("The event of this schedule_id was cancelled.", code="schedule_exists")


def create(caller: Caller, body: dict) -> tuple[int, dict]:
    """201 and the new event; 200 and the same event for a repeat of the same body."""
    event = parse_create(body)
    link = own_link(caller, event.link_id)
    account = credentials.usable_account(caller.company_id, link.tenant_id, link.account_id)
    room_names = _known_rooms(link.tenant_id, event.rooms)
    repo = Events()
    record = repo.get(caller.company_id, event.schedule_id)
    if record is not None:
        _check_repeat(record, event)
        if record.status == ACTIVE:
            return 200, get(caller, event.schedule_id)
    if event.online_meeting and not _teams_available(account, event.calendar_id):
        raise ValidationFailed("Teams meetings are not available in this calendar.", code="teams_unavailable")
    if record is None:
        now = utcnow()
        record = EventRecord(company_id=caller.company_id, schedule_id=event.schedule_id, link_id=link.link_id,
                             tenant_id=link.tenant_id, account_id=link.account_id, calendar_id=event.calendar_id,
                             transaction_id=transaction_id(caller.company_id, event.schedule_id),
                             input_hash=event.fingerprint(), input_json=event.to_json_text(), created_at=now,
                             updated_at=now, immutable_id=True, room_names=room_names)
        try:
            repo.create(record)
        except ConcurrentUpdate:  # a twin request reserved it first: go on as its repeat
            record = repo.get(caller.company_id, event.schedule_id)
            if record is None:
                raise
            _check_repeat(record, event)
            if record.status == ACTIVE:
                return 200, get(caller, event.schedule_id)
    # A retry of a create whose outcome was unknown (5xx, timeout) sends byte for byte what the
    # first attempt sent: the stored input and room names, the same transactionId.
    stored = EventInput.from_json_text(record.input_json)
    path = f"/me/calendars/{quote(stored.calendar_id, safe='')}/events" if stored.calendar_id else "/me/events"
    payload = to_graph(stored, record.room_names if record.room_names is not None else room_names,
                       record.transaction_id)
    try:
        created = _graph(record, lambda token: graph.request("POST", path, token, json=payload,
                                                             headers=EVENT_HEADERS))
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
            raise ValidationFailed("This calendar belongs to another mailbox and cannot be written to.",
                                   code="calendar_not_writable") from None
        raise
    record.graph_event_id, record.ical_uid = created["id"], created.get("iCalUId")
    record.status, record.updated_at, record.immutable_id = ACTIVE, utcnow(), True
    try:
        repo.save(record)
    except ConcurrentUpdate:
        # A twin request (a retry racing the original) stored it first; the transactionId made
        # Outlook answer both with the same event.
        record = repo.get(caller.company_id, event.schedule_id)
        if record is None or record.graph_event_id != created["id"]:
            raise
    log.info("event of schedule %s created in Outlook", event.schedule_id)
    return 201, event_json(event, created, iso(record.updated_at))


# ---- read


def get(caller: Caller, schedule_id: str) -> dict:
    record = _record(caller.company_id, schedule_id)
    _usable_link(caller.company_id, record.link_id, record.tenant_id)
    record = _with_immutable_id(record)
    event = EventInput.from_json_text(record.input_json)
    try:
        found = _graph(record, lambda token: graph.get(_event_path(record), token, headers=EVENT_HEADERS))
    except GraphError as exc:
        if _deleted_in_outlook(exc):
            raise Gone("The event was deleted in Outlook.", code="event_deleted_in_outlook") from None
        raise
    return event_json(event, found, iso(record.updated_at))


# ---- edit


def _leased(company_id: str, schedule_id: str) -> EventRecord:
    """Take the row's edit lease (ETag); wait while another edit holds it."""
    deadline = time.monotonic() + LEASE_WAIT_SECONDS
    repo = Events()
    while True:
        record = _record(company_id, schedule_id)
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


def update(caller: Caller, schedule_id: str, body: dict) -> dict:
    record = _record(caller.company_id, schedule_id)
    candidate = parse_patch(body, EventInput.from_json_text(record.input_json))   # 422 before any Graph call
    room_names = _known_rooms(record.tenant_id, candidate.rooms)
    _usable_link(caller.company_id, record.link_id, record.tenant_id)
    record = _leased(caller.company_id, schedule_id)
    try:
        record = _with_immutable_id(record)
        old = EventInput.from_json_text(record.input_json)  # the latest state, now that we hold the lease
        new = parse_patch(body, old)
        if new.rooms != candidate.rooms:  # another edit changed the rooms meanwhile
            room_names = _known_rooms(record.tenant_id, new.rooms)
        patch = graph_patch(old, new, room_names)
        if patch.get("isOnlineMeeting") and not _teams_available(
                credentials.usable_account(record.company_id, record.tenant_id, record.account_id),
                record.calendar_id):
            raise ValidationFailed("Teams meetings are not available in this calendar.", code="teams_unavailable")
        try:
            if "body" in patch and old.online_meeting:
                current = _graph(record, lambda t: graph.get(_event_path(record), t, headers=BODY_HEADERS,
                                                             params={"$select": "body,onlineMeeting"}))
                patch["body"] = body_keeping_meeting(current, new.body)
            if patch:
                changed = _graph(record, lambda t: graph.request("PATCH", _event_path(record), t, json=patch,
                                                                 headers=EVENT_HEADERS))
            else:
                changed = _graph(record, lambda t: graph.get(_event_path(record), t, headers=EVENT_HEADERS))
        except GraphError as exc:
            if _deleted_in_outlook(exc):
                raise Gone("The event was deleted in Outlook.", code="event_deleted_in_outlook") from None
            raise
        record.input_json, record.updated_at = new.to_json_text(), utcnow()
    finally:
        record.locked_until = None
        try:
            Events().save(record)
        except ConcurrentUpdate:
            log.warning("edit lease of schedule %s was taken over before release", schedule_id)
    return event_json(new, changed, iso(record.updated_at))


# ---- cancel


def cancel(caller: Caller, schedule_id: str, notify: bool, comment: str | None = None) -> None:
    """Cancel with notice (organizer's `cancel`) or delete silently; repeating is fine."""
    repo = Events()
    record = repo.get(caller.company_id, schedule_id) if schedule_id else None
    if record is not None and record.status == CANCELLED:
        return
    record = _confirmed(record)
    _usable_link(caller.company_id, record.link_id, record.tenant_id)
    record = _with_immutable_id(record)
    try:
        if notify:
            _graph(record, lambda t: graph.request("POST", _event_path(record) + "/cancel", t, headers=EVENT_HEADERS,
                                                   json={"comment": comment or DEFAULT_CANCEL_COMMENT}))
        else:
            _graph(record, lambda t: graph.request("DELETE", _event_path(record), t, headers=EVENT_HEADERS))
    except GraphError as exc:
        if not _deleted_in_outlook(exc):
            raise
        log.info("event of schedule %s was already gone from Outlook", schedule_id)
    for _ in range(5):
        record.status, record.updated_at = CANCELLED, utcnow()
        try:
            repo.save(record)
            return
        except ConcurrentUpdate:
            fresh = repo.get(caller.company_id, schedule_id)
            if fresh is None or fresh.status == CANCELLED:
                return  # a twin cancel finished it (or the row is gone): Outlook has it cancelled
            record = fresh
    # Outlook has it cancelled but the row could not be marked: a 409 the caller may repeat
    # (a repeat finds the event gone from Outlook and marks the row), never a 204 over an active row.
    raise ConcurrentUpdate()
