"""Change notifications from Graph: what the queue does with them (the intake that queues them
is shared.usecases.outlook_changes.intake).

Processing (`process`, the queue trigger) compares Outlook with the mapping
(`refresh`): GET the event with only the compared fields, diff it against the stored snapshot
(shared.domain.event_changes), write the new snapshot and the Changes it implies under the
row's ETag (the row's outbox), then append them to the feed and clear the outbox. So:
- a notification repeated by Graph finds no difference and reports nothing;
- a burst of notifications for one event costs one GET: a notification naming a version
  (changeKey) compared lately is covered, one received before the last comparison began is
  covered (each claim stamps `checked_at`), and one that arrives while a comparison runs waits
  for it (`comparing_until`), then finds itself covered;
- our own PATCH or cancel holds the row's edit lease while it talks to Graph and stores
  Outlook's answer as the snapshot; a notification meanwhile waits for the lease (re-queued),
  then finds no difference. Changes made through the API are not reported back.
- a crash between the snapshot write and the feed append leaves the Changes in the outbox (and
  a declined room pending); the next comparison of the event sends them out first (the feed
  refuses a Change id twice).
A booked room that declines an event with `room_fallback` is handed to
shared.usecases.interviews.room_fallback (remembered on the row as pending until it is handled).
Lifecycle events: `reauthorizationRequired` reauthorizes the subscription with a freshly
redeemed token (subscriptions.reauthorize), `subscriptionRemoved`
makes a new one (and catches up), `missed` catches up: the account's events made through this
API are re-read (the most recent CATCH_UP_LIMIT of them that have not ended a week ago).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from shared import reactions
from shared.domain.event_changes import SELECT, Snapshot, differences
from shared.domain.event_input import EventInput, instant_of
from shared.domain.event_view import OutlookEvent, local_time
from shared.errors import GraphError, LinkRemoved, ReauthRequired
from shared.feed import changes
from shared.mailbox import credentials
from shared.models import Change, ChangeType, EventRecord, EventStatus, iso, parse_iso
from shared.storage import queues
from shared.storage.base import ConcurrentUpdate
from shared.storage.event_ids import EventIds
from shared.storage.events import Events
from shared.storage.subscriptions import Subscriptions
from shared.usecases.outlook_changes import subscriptions
from shared.usecases.outlook_changes.intake import forget, iso_precise

log = logging.getLogger("outlook.notifications")

LEASE_RETRY_SECONDS = 2
COMPARING_FOR = timedelta(seconds=10)  # a crashed comparison stops holding others back after this
CATCH_UP_LIMIT = 500
CATCH_UP_PAST = timedelta(days=7)
CATCH_UP_PARALLEL = credentials.MAX_CONCURRENT_PER_MAILBOX


def _now() -> datetime:
    return datetime.now(UTC)  # to the microsecond: claims and receipts are compared


# ---- processing


class Busy(Exception):
    """The row's edit lease is held (an API edit is talking to Graph), or another comparison of
    the event is running or won the row: try again shortly (the message is re-queued)."""


STAMP_EVERY_SECONDS = 60.0  # last_notification_at (health) is written at most once a minute
_stamped: dict[str, float] = {}
_stamped_lock = threading.Lock()


def _stamp(message: dict) -> None:
    """Keep when a notification of the message's subscription was last handled, cheaply: at
    most once a minute per subscription and instance, one merge write; never fails processing."""
    sub_id = message.get("subscription_id")
    if not isinstance(sub_id, str) or not sub_id:
        return
    now = time.monotonic()
    with _stamped_lock:
        if now - _stamped.get(sub_id, -STAMP_EVERY_SECONDS) < STAMP_EVERY_SECONDS:
            return
        _stamped[sub_id] = now
    try:
        Subscriptions().stamp_notification(sub_id, parse_iso(message.get("received_at")) or _now())
    except Exception as exc:  # noqa: BLE001 - a health detail: processing goes on
        log.warning("last_notification_at of subscription %s not stored (%s)", sub_id, type(exc).__name__)


def process(message: dict) -> None:
    company_id = str(message["company_id"])
    _stamp(message)
    if message.get("lifecycle"):
        _lifecycle(message)
        return
    if message.get("schedule_id"):  # asked by a GET that saw a booked room decline (room fallback)
        try:
            refresh(company_id, str(message["schedule_id"]), None)
        except Busy:
            queues.enqueue(queues.NOTIFICATIONS, message, delay_seconds=LEASE_RETRY_SECONDS)
        return
    received = parse_iso(message.get("received_at"))
    later: list = []
    for pair in message.get("events") or []:
        event_id, change_key = str(pair[0]), pair[1]
        schedule_id = EventIds().schedule_of(company_id, event_id)
        if schedule_id is None:
            continue  # an event of the mailbox not made through this API
        try:
            refresh(company_id, schedule_id, received, change_key=change_key)
        except Busy:
            later.append(pair)
    if later:
        queues.enqueue(queues.NOTIFICATIONS, {**message, "events": later}, delay_seconds=LEASE_RETRY_SECONDS)


def _lifecycle(message: dict) -> None:
    event, sub_id = message["lifecycle"], str(message["subscription_id"])
    company_id, tenant_id, oid = str(message["company_id"]), str(message["tenant_id"]), str(message["oid"])
    calendar = str(message.get("calendar") or "")
    log.info("lifecycle event %s for subscription %s", event, sub_id)
    try:
        box = credentials.mailbox(company_id, tenant_id, oid)
        current = ((box.account.subscriptions or {}).get(calendar) or {}).get("id")
        if event != "missed" and current != sub_id:
            # A repeat after the subscription was replaced: recreating again would leave two.
            log.info("lifecycle event %s for subscription %s dropped: no longer the account's", event, sub_id)
            return
        if event == "reauthorizationRequired":
            subscriptions.reauthorize(box, calendar, sub_id, received_at=parse_iso(message.get("received_at")))
        elif event == "subscriptionRemoved":
            forget(sub_id)
            subscriptions.recreate(box, calendar, sub_id)  # catches up after the create
        else:  # missed
            catch_up(box)
    except (ReauthRequired, LinkRemoved):
        log.info("lifecycle event %s not acted on: the account's credential is dead or removed", event)


def compare_soon(company_id: str, schedule_id: str) -> None:
    """Queue one comparison of the event with Outlook (as a notification would)."""
    queues.enqueue(queues.NOTIFICATIONS, {"company_id": company_id, "schedule_id": schedule_id})


def catch_up(box: credentials.Mailbox) -> int:
    """Re-read the account's events made through this API and report what differs; how many."""
    account = box.account
    horizon = datetime.now(UTC) - CATCH_UP_PAST
    records = [
        r
        for r in Events().of_account(account.company_id, account.tenant_id, account.account.id)
        if r.graph_event_id and _ends_after(r, horizon)
    ]
    records.sort(key=lambda r: r.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    records = records[:CATCH_UP_LIMIT]

    def one(record: EventRecord) -> None:
        try:
            refresh(record.company_id, record.schedule_id, None, box=box)
        except Busy:
            pass  # an API edit is storing what Outlook holds right now

    with ThreadPoolExecutor(max_workers=CATCH_UP_PARALLEL) as pool:
        list(pool.map(one, records))
    log.info("caught up %d events of an account in tenant %s", len(records), account.tenant_id)
    return len(records)


def _ends_after(record: EventRecord, horizon: datetime) -> bool:
    event = EventInput.from_json_text(record.input_json)
    return instant_of(event.end, event.time_zone) >= horizon


def refresh(
    company_id: str,
    schedule_id: str,
    received: datetime | None,
    *,
    change_key: str | None = None,
    box: credentials.Mailbox | None = None,
) -> list[Change]:
    """Compare Outlook with the mapping of one event and report the difference (module docstring).
    `received`: when the notification arrived, `change_key`: the version it names (None for
    both: compare now, as catching up does)."""
    repo = Events()
    claimed = False
    started = _now()
    first = repo.get(company_id, schedule_id)
    if first is not None and (first.outbox_json or _pending_rooms(first)):
        _finish(first, None)  # what an interrupted comparison decided goes out first (once)
        first = None  # changed by that: read again

    def claim(row: EventRecord) -> bool:
        nonlocal claimed
        claimed = False
        if row.status != EventStatus.ACTIVE or not row.graph_event_id:
            return False  # being created, or cancelled through this API
        if row.locked_until and row.locked_until > started:
            raise Busy()
        if change_key and change_key in row.change_keys:
            return False  # the version this notification names was compared (or written) here
        if received and row.checked_at and row.checked_at > received:
            return False  # a comparison that began after this notification arrived covers it
        if row.comparing_until and row.comparing_until > started:
            raise Busy()  # a comparison is running: its result may cover this one
        row.checked_at, row.comparing_until = started, started + COMPARING_FOR
        claimed = True
        return True

    try:
        record = repo.update(company_id, schedule_id, claim, first=first)
    except ConcurrentUpdate:
        raise Busy() from None
    if record is None or not claimed:
        return []
    try:
        box = box or credentials.mailbox(company_id, record.tenant_id, record.account_id)
        found = box.get(f"/me/events/{quote(record.graph_event_id or '', safe='')}", params={"$select": SELECT})
        if not found.get("isCancelled") and not box.in_a_calendar(found):
            found = None  # deleted in Outlook: in Deleted Items, read by its immutable id (a cancel says so itself)
    except (ReauthRequired, LinkRemoved):
        return []  # nothing false is reported: the link's own Change says what happened
    except GraphError as exc:
        if type(exc) is not GraphError or exc.status not in (404, 410):
            raise
        found = None
    return _settle(record, found)


def _settle(record: EventRecord, found: dict | None) -> list[Change]:
    """Store the new snapshot and its Changes (outbox), append them, clear the outbox."""
    old_text = record.outlook_json
    old = Snapshot.from_json_text(old_text) if old_text else None
    event = EventInput.from_json_text(record.input_json)
    if found is None:
        new = Snapshot.gone(old or Snapshot())
    else:
        new = Snapshot.from_graph(found)
        event = _as_in_outlook(event, found)
    new_text = new.to_json_text()
    version = (found or {}).get("changeKey") or (iso_precise(record.checked_at) if record.checked_at else "")
    decided: list[Change] = []
    declined: list[str] = []  # booked rooms that declined, for the room fallback
    view = None
    if old is not None:
        when = datetime.now(UTC).replace(microsecond=0)
        view = (
            OutlookEvent.from_graph(event, found, iso(when), record.created_by).to_json() if found is not None else None
        )
        if event.room_fallback and found is not None:
            declined = sorted(e for e, r in new.rooms.items() if r == "declined" and old.rooms.get(e) != "declined")
        for kind, fields in differences(old, new):
            if kind == ChangeType.RESPONSES_CHANGED and declined:
                fields = tuple(f for f in fields if f not in declined)  # reported as replaced or declined
                if not fields:
                    continue
            decided.append(
                Change(
                    # The version read names the Change: a retry decides the same one, and a
                    # change back and forth (accepted, declined, accepted) is each time new.
                    id=changes.change_id(
                        kind, record.company_id, record.schedule_id, old_text or "", new_text, version
                    ),
                    company_id=record.company_id,
                    type=kind,
                    occurred_at=when,
                    schedule_id=record.schedule_id,
                    fields=fields,
                    event=view,
                )
            )

    def store(row: EventRecord) -> bool:
        if row.locked_until and row.locked_until > _now():
            raise Busy()  # an API edit began after our GET: its answer is the newer truth
        if row.outlook_json != old_text:
            return False  # another comparison stored a newer snapshot first
        row.outlook_json, row.input_json = new_text, event.to_json_text()
        row.remember_version((found or {}).get("changeKey"))
        row.comparing_until = None
        if decided:
            row.outbox_json = json.dumps(
                [*json.loads(row.outbox_json or "[]"), *[c.to_json() for c in decided]], ensure_ascii=False
            )
        if declined:
            state = json.loads(row.fallback_json or "{}")
            state["pending"] = sorted(set(state.get("pending", [])) | set(declined))
            row.fallback_json = json.dumps(state, ensure_ascii=False)
        return True

    try:
        saved = Events().update(record.company_id, record.schedule_id, store, first=record)
    except ConcurrentUpdate:
        raise Busy() from None
    if saved is None:
        return []
    return _finish(saved, view)


def _pending_rooms(record: EventRecord) -> list[str]:
    return json.loads(record.fallback_json or "{}").get("pending", [])


def _finish(record: EventRecord, view: dict | None) -> list[Change]:
    """The outbox into the feed, then the room fallback for each declined room still pending."""
    reported = _flush(record)
    for room in _pending_rooms(record):
        outcome = reactions.room_declined(record.company_id, record.schedule_id, room, view)
        if outcome is not None:
            reported.append(outcome)
    return reported


def _flush(record: EventRecord) -> list[Change]:
    """Append the outbox's Changes to the feed (once each), then remove them from the row."""
    pending = [Change.from_json(record.company_id, c) for c in json.loads(record.outbox_json or "[]")]
    if not pending:
        return []
    changes.record(pending)
    done = {c.id for c in pending}

    def clear(row: EventRecord) -> bool:
        if row.locked_until and row.locked_until > _now():
            # An API edit holds the row: a write now would make its release fail (its changes
            # lost, the lease left standing). The next comparison clears what is left.
            return False
        left = [c for c in json.loads(row.outbox_json or "[]") if c["id"] not in done]
        row.outbox_json = json.dumps(left, ensure_ascii=False) if left else None
        return True

    try:
        Events().update(record.company_id, record.schedule_id, clear)
    except ConcurrentUpdate:
        pass  # left in the outbox: the next comparison appends them again, which stores nothing twice
    return pending


def _as_in_outlook(event: EventInput, found: dict) -> EventInput:
    """The stored input with Outlook's times and subject, so that a later PATCH from HERP is
    compared with what Outlook holds (moving an event back to its first time is a change)."""
    start = local_time(found.get("start"), event.time_zone) or event.start
    end = local_time(found.get("end"), event.time_zone) or event.end
    subject = found.get("subject") or event.subject
    return EventInput.from_json({**event.to_json(), "start": start, "end": end, "subject": subject})
