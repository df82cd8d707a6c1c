"""Holds (仮押さえ) of 日程調整 on Outlook (CONTRACT 7, `/holds`).

A hold puts one ordinary event per slot on the calendar of the organizer (the caller's link) and
of every interviewer with an active link of their own in the tenant: `[仮押さえ] <subject>`,
tentative, no attendees, no reminder (shared.domain.holds). Interviewers without a link of their
own are not held (they are invited when the hold is confirmed). Cost: slots x calendars event
POSTs to make a hold, as many DELETEs to remove it; GET is storage only.

Idempotent by `hold_id` like `schedule_id`: the row is reserved before Graph is called and each
hold event's POST carries a transactionId derived from (company, hold, slot, account), so a
repeat after a crash finds the same events instead of making second ones. Confirm is
create-then-release: the chosen schedule is written on the row first, then the interview is made
(the `interview_for_hold` reaction: interviews' own create, idempotent by `schedule_id`), then
every hold event is removed; a crash in between is finished by the next confirm (the create
answers the same event) or by the expiry timer (which finds the interview and marks the hold
confirmed). Removing a hold event is a plain DELETE, which notifies nobody (there are no
attendees); one its owner already deleted in Outlook answers 404 and is simply gone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from shared import reactions
from shared.auth import Caller
from shared.domain.event_input import parse_create
from shared.domain.event_view import OutlookEvent
from shared.domain.holds import HoldInput, expiry_of, hold_event, parse_hold, transaction_id
from shared.errors import (
    Conflict,
    DomainError,
    GraphError,
    LinkRemoved,
    NotFound,
    ReauthRequired,
    ValidationFailed,
)
from shared.mailbox import credentials
from shared.mailbox.links import own_link
from shared.models import AccountStatus, EventStatus, HoldRecord, HoldStatus, UserLink, iso, utcnow
from shared.storage import base
from shared.storage.base import ConcurrentUpdate
from shared.storage.events import Events
from shared.storage.holds import Holds
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.user_links import UserLinks

log = logging.getLogger("outlook.holds")
PARALLEL = 8  # hold events made or removed at once (Graph allows 4 per mailbox; credentials enforces it)


@dataclass(frozen=True)
class Hold:
    """A hold as the API shows it."""

    record: HoldRecord
    hold: HoldInput

    def to_json(self) -> dict:
        placed = _placements(self.record)
        return {
            "hold_id": self.record.hold_id,
            "status": str(self.record.status),
            "expires_at": iso(self.record.expires_at),
            "slots": [
                {
                    "slot_id": s.slot_id,
                    "start": s.start,
                    "end": s.end,
                    "held_on": [p["email"] for p in placed.get(s.slot_id, []) if p.get("event_id")],
                }
                for s in self.hold.slots
            ],
            "schedule_id": self.record.schedule_id if self.record.status == HoldStatus.CONFIRMED else None,
        }


def _placements(record: HoldRecord) -> dict[str, list[dict]]:
    return json.loads(record.events_json or "{}")


def _view(record: HoldRecord) -> Hold:
    return Hold(record, HoldInput.from_json_text(record.input_json))


# ---- who holds


def _holders(caller: Caller, link: UserLink, hold: HoldInput) -> list[tuple[str, str]]:
    """(oid, email) of each calendar that holds the slots: the organizer's, then every
    interviewer's with an active link of their own in the tenant. Storage only; 422
    interviewer_not_found for a HERP account with no link in the tenant and no e-mail."""
    accounts = {a.account.id: a for a in MicrosoftAccounts().of_tenant(caller.company_id, link.tenant_id)}
    by_email = {a.account.email.lower(): a for a in accounts.values()}
    organizer = accounts.get(link.account_id)
    out: dict[str, str] = {link.account_id: organizer.account.email if organizer else ""}

    def active(oid: str) -> bool:
        a = accounts.get(oid)
        return a is not None and a.status == AccountStatus.ACTIVE and bool(a.token_cache)

    for herp, email in hold.interviewers:
        oids: list[str] = []
        if herp:
            oids = [
                ul.account_id
                for ul in UserLinks().of_herp_account(caller.company_id, herp)
                if ul.tenant_id == link.tenant_id
            ]
            if not oids and email is None:
                raise ValidationFailed(
                    "An interviewer has no link in this tenant and no email was given.", code="interviewer_not_found"
                )
        if email and email in by_email:
            oid = by_email[email].account.id
            if UserLinks().of_microsoft_account(caller.company_id, link.tenant_id, oid):
                oids.insert(0, oid)
        for oid in oids:
            if active(oid):
                out.setdefault(oid, accounts[oid].account.email)
                break
    return list(out.items())


# ---- create


def _check_repeat(record: HoldRecord, hold: HoldInput) -> None:
    if record.input_hash != hold.fingerprint():
        raise Conflict("Another hold body is already stored for this hold_id.", code="hold_exists")


def create(caller: Caller, body: dict) -> tuple[Hold, bool]:
    """The hold, and whether this call made it (False: a repeat of the same body, which also
    makes what a crash left unmade)."""
    hold = parse_hold(body)
    link = own_link(caller, hold.link_id)
    repo = Holds()
    record = repo.get(caller.company_id, hold.hold_id)
    fresh = record is None
    if record is not None:
        _check_repeat(record, hold)
        if record.placed or record.status != HoldStatus.HELD:
            return _view(record), False
    else:
        holders = _holders(caller, link, hold)
        credentials.mailbox(caller.company_id, link.tenant_id, link.account_id)  # 409 when the organizer's is dead
        now = utcnow()
        record = HoldRecord(
            company_id=caller.company_id,
            hold_id=hold.hold_id,
            link_id=link.link_id,
            tenant_id=link.tenant_id,
            account_id=link.account_id,
            created_by=caller.account_id,
            input_hash=hold.fingerprint(),
            input_json=hold.to_json_text(),
            expires_at=expiry_of(hold, now),
            events_json=json.dumps(
                {s.slot_id: [{"email": e, "oid": o, "event_id": None} for o, e in holders] for s in hold.slots}
            ),
            created_at=now,
            updated_at=now,
        )
        try:
            repo.create(record)
        except ConcurrentUpdate:  # a twin request reserved it first: go on as its repeat
            record = repo.get(caller.company_id, hold.hold_id)
            if record is None:
                raise
            _check_repeat(record, hold)
            if record.placed or record.status != HoldStatus.HELD:
                return _view(record), False
            fresh = False
    return _view(_place(record, HoldInput.from_json_text(record.input_json))), fresh


def _place(record: HoldRecord, hold: HoldInput) -> HoldRecord:
    """Make every hold event not made yet (a repeat finds the ones a crash left, by transactionId)."""
    placed = _placements(record)
    slots = {s.slot_id: s for s in hold.slots}
    boxes: dict[str, credentials.Mailbox | None] = {}
    for oid in {p["oid"] for entries in placed.values() for p in entries}:
        try:
            boxes[oid] = credentials.mailbox(record.company_id, record.tenant_id, oid)
        except (ReauthRequired, LinkRemoved):
            if oid == record.account_id:
                raise
            boxes[oid] = None  # an interviewer's link died since: that calendar is not held
    todo = [(sid, p) for sid, entries in placed.items() for p in entries if not p.get("event_id")]

    def make(item: tuple[str, dict]) -> None:
        sid, p = item
        box = boxes[p["oid"]]
        if box is None:
            return
        payload = hold_event(hold, slots[sid], transaction_id(record.company_id, record.hold_id, sid, p["oid"]))
        try:
            # The transactionId makes a repeated POST find the event it made, not a second one
            # (resources/event.md), so a 503/504 is retried like a read.
            audit = credentials.Audit("hold.create", hold_id=record.hold_id)
            p["event_id"] = box.post("/me/events", json=payload, idempotent=True, audit=audit)["id"]
        except (ReauthRequired, LinkRemoved):
            if p["oid"] == record.account_id:
                raise
            boxes[p["oid"]] = None

    errors = _run(make, todo)
    for entries in placed.values():
        entries[:] = [p for p in entries if p.get("event_id") or boxes.get(p["oid"]) is not None]

    def merge(row: HoldRecord) -> bool:
        row.events_json = json.dumps(placed)
        row.placed, row.updated_at = not errors, utcnow()
        return True

    saved = base.update(lambda: Holds().get(record.company_id, record.hold_id), merge, Holds().save, first=record)
    if errors:
        raise errors[0]  # what was made is kept; a repeat of the POST makes the rest
    log.info("hold %s placed: %d events", record.hold_id, sum(len(v) for v in placed.values()))
    return saved or record


def _run(work: Callable[[tuple[str, dict]], None], items: list[tuple[str, dict]]) -> list[DomainError]:
    """`work` over `items`, PARALLEL at once; the domain errors raised, in order."""
    errors: list[DomainError] = []

    def guarded(item: tuple[str, dict]) -> None:
        try:
            work(item)
        except DomainError as exc:
            errors.append(exc)

    if len(items) <= 1:
        for item in items:
            guarded(item)
    else:
        with ThreadPoolExecutor(max_workers=min(PARALLEL, len(items))) as pool:
            list(pool.map(guarded, items))
    return errors


# ---- read


def _record(caller: Caller, hold_id: str) -> HoldRecord:
    record = Holds().get(caller.company_id, hold_id) if hold_id else None
    if record is None:
        raise NotFound("No hold with this hold_id.")
    return record


def get(caller: Caller, hold_id: str) -> Hold:
    return _view(_record(caller, hold_id))


# ---- remove: confirm, release, expire


def _remove_events(record: HoldRecord) -> None:
    """DELETE every hold event (no one is notified: they have no attendees). One already gone
    (deleted in Outlook by its owner) is fine; a calendar whose link died is left as it is.
    A transient failure raises: the status stays and a repeat (or the timer) removes the rest."""
    placed = _placements(record)
    boxes: dict[str, credentials.Mailbox | None] = {}
    for oid in {p["oid"] for entries in placed.values() for p in entries if p.get("event_id")}:
        try:
            boxes[oid] = credentials.mailbox(record.company_id, record.tenant_id, oid)
        except (ReauthRequired, LinkRemoved):
            boxes[oid] = None
    todo = [(sid, p) for sid, entries in placed.items() for p in entries if p.get("event_id") and not p.get("removed")]

    def remove(item: tuple[str, dict]) -> None:
        _, p = item
        box = boxes[p["oid"]]
        if box is None:
            log.warning("hold %s: a hold event stays in a calendar whose link is gone", record.hold_id)
            return
        try:
            box.delete(
                f"/me/events/{quote(p['event_id'], safe='')}",
                audit=credentials.Audit("hold.release", hold_id=record.hold_id),
            )
        except (ReauthRequired, LinkRemoved):
            boxes[p["oid"]] = None
            return
        except GraphError as exc:
            if type(exc) is not GraphError or exc.status not in (404, 410):
                raise
        p["removed"] = True

    errors = _run(remove, todo)
    record.events_json = json.dumps(placed)
    if errors:
        raise errors[0]


def _finish(record: HoldRecord, status: HoldStatus) -> HoldRecord | None:
    """Remove the hold events, then mark the hold. A hold whose confirm made its interview ends
    `confirmed`, whatever ended it (a second confirm, a release, the timer)."""
    _remove_events(record)
    interview = Events().get(record.company_id, record.schedule_id) if record.schedule_id else None
    if interview is not None and interview.status == EventStatus.ACTIVE:
        status = HoldStatus.CONFIRMED
    events_json = record.events_json

    def mark(row: HoldRecord) -> bool:
        if row.status != HoldStatus.HELD:
            return False  # a twin finished it
        row.status, row.events_json, row.updated_at = status, events_json, utcnow()
        return True

    return base.update(lambda: Holds().get(record.company_id, record.hold_id), mark, Holds().save, first=record)


def _released(record: HoldRecord) -> Conflict:
    return Conflict(f"The hold is already {record.status}.", code="hold_released")


def confirm(caller: Caller, hold_id: str, body: dict) -> OutlookEvent:
    """The interview at the chosen slot (as `POST /events`), every hold event removed."""
    slot_id, event = body.get("slot_id"), body.get("event")
    if not isinstance(slot_id, str) or not slot_id:
        raise ValidationFailed("slot_id is required.", code="invalid_slot_id")
    if not isinstance(event, dict):
        raise ValidationFailed("event must be an event input object.", code="invalid_event")
    record = _record(caller, hold_id)
    if record.status != HoldStatus.HELD:
        raise _released(record)
    hold = HoldInput.from_json_text(record.input_json)
    slot = next((s for s in hold.slots if s.slot_id == slot_id), None)
    if slot is None:
        raise ValidationFailed("slot_id is not a slot of this hold.", code="unknown_slot")
    event_body = {**event, "start": slot.start, "end": slot.end, "time_zone": hold.time_zone}
    schedule_id = parse_create(event_body).schedule_id  # every 422 of the event before anything changes
    if record.schedule_id and record.schedule_id != schedule_id and Events().get(caller.company_id, record.schedule_id):
        raise Conflict("The hold is being confirmed with another schedule_id; repeat that confirm.", code="hold_busy")
    fresh = (record.schedule_id, record.confirm_slot_id) != (schedule_id, slot_id)
    if fresh:
        record.schedule_id, record.confirm_slot_id, record.updated_at = schedule_id, slot_id, utcnow()
        Holds().save(record)  # the intent first: a crash after the create is finished from it
    try:
        shown, _ = reactions.interview_for_hold(caller, event_body)
    except DomainError as exc:
        # Refused (4xx): this confirm made nothing, so its intent goes (a schedule_id taken by
        # another event must never make the hold look confirmed). An intent of an earlier attempt
        # stays: that attempt may have made the interview.
        if fresh and _final(exc):
            _forget_intent(record)
        raise
    try:
        _finish(record, HoldStatus.CONFIRMED)
    except ConcurrentUpdate:
        pass  # a twin confirm or a release finished it meanwhile
    log.info("hold %s confirmed as schedule %s", hold_id, schedule_id)
    return shown


def _final(exc: DomainError) -> bool:
    """A refusal (4xx) rather than an unknown outcome (5xx, timeout)."""
    if isinstance(exc, GraphError):
        return type(exc) is GraphError and exc.status < 500
    return not isinstance(exc, ConcurrentUpdate) and exc.code not in ("storage_unavailable",)


def _forget_intent(record: HoldRecord) -> None:
    def clear(row: HoldRecord) -> bool:
        if row.status != HoldStatus.HELD or row.schedule_id != record.schedule_id:
            return False
        row.schedule_id = row.confirm_slot_id = None
        return True

    try:
        base.update(lambda: Holds().get(record.company_id, record.hold_id), clear, Holds().save)
    except ConcurrentUpdate:
        pass


def release(caller: Caller, hold_id: str) -> None:
    """Every hold event removed; repeating (or after a confirm or expiry) is fine."""
    record = _record(caller, hold_id)
    if record.status == HoldStatus.HELD:
        _finish(record, HoldStatus.RELEASED)


def release_expired(now: datetime | None = None) -> int:
    """The expiry timer: every `held` hold past its `expires_at` released (`expired`)."""
    count = 0
    for record in Holds().expired(now or utcnow()):
        try:
            _finish(record, HoldStatus.EXPIRED)
            count += 1
        except DomainError as exc:  # the next run tries again
            log.warning("expired hold %s not released yet: %s", record.hold_id, exc.code)
    return count
