"""Change notifications from Graph: the intake, and what the queue does with them.

Intake (`accept`, behind POST /api/outlook/notifications and /lifecycle): parse, keep only the
notifications whose subscription is ours and whose `clientState` hashes to the stored hash
(compared in constant time), and queue them, one message per subscription. Nothing else: no
Graph call, no event read, so the answer comes in milliseconds however many arrive (Graph wants
a 2xx within 3 s). Anything malformed, forged or unknown is dropped without a side effect.
Forgery stays cheap: the `clientState` carries its own MAC (shared.client_state), so a forged
one is refused before any storage read, and a subscription is read only for a state that
verifies, or that has the shape of a state made before the MAC (subscriptions not yet
recreated). Reads that find nothing of ours are capped per POST (MAX_FAILED_LOOKUPS for each of
the two kinds of state); further unknown subscription ids of that POST are ignored unread. Lifecycle events are queued once per
subscription and event within a POST and within LIFECYCLE_REPEAT_WINDOW in this process (Graph
repeats them until acted upon), and the queue drops one whose subscription was replaced meanwhile.

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

import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from shared import client_state, reactions
from shared.domain.event_changes import SELECT, Snapshot, differences
from shared.domain.event_input import EventInput, instant_of
from shared.domain.event_view import OutlookEvent, local_time
from shared.errors import GraphError, LinkRemoved, ReauthRequired
from shared.feed import changes
from shared.mailbox import credentials
from shared.models import Change, ChangeType, EventRecord, EventStatus, Subscription, iso, parse_iso
from shared.storage import queues
from shared.storage.base import ConcurrentUpdate
from shared.storage.event_ids import EventIds
from shared.storage.events import Events
from shared.storage.subscriptions import Subscriptions
from shared.usecases.outlook_changes import subscriptions

log = logging.getLogger("outlook.notifications")

MAX_NOTIFICATIONS = 1000  # per POST; Graph batches far fewer
EVENTS_PER_MESSAGE = 100  # keeps a queue message well under 64 KiB
LEASE_RETRY_SECONDS = 2
COMPARING_FOR = timedelta(seconds=10)  # a crashed comparison stops holding others back after this
CATCH_UP_LIMIT = 500
CATCH_UP_PAST = timedelta(days=7)
CATCH_UP_PARALLEL = credentials.MAX_CONCURRENT_PER_MAILBOX
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
MAX_FAILED_LOOKUPS = 3  # per POST: subscription reads that found nothing of ours
LIFECYCLE_REPEAT_WINDOW = 300.0  # seconds: a repeat of a lifecycle event queued lately is dropped
_CACHE_SECONDS = 60.0
_known: dict[str, tuple[float, Subscription]] = {}
_known_lock = threading.Lock()
_lifecycle_queued: dict[tuple[str, str], float] = {}


def _now() -> datetime:
    return datetime.now(UTC)  # to the microsecond: claims and receipts are compared


# ---- intake


def _cached(subscription_id: str) -> Subscription | None:
    with _known_lock:
        hit = _known.get(subscription_id)
    return hit[1] if hit and time.monotonic() - hit[0] < _CACHE_SECONDS else None


def _subscription(subscription_id: str) -> Subscription | None:
    """Ours, from a short in-process cache (a burst names the same few subscriptions)."""
    hit = _cached(subscription_id)
    if hit is not None:
        return hit
    sub = Subscriptions().get(subscription_id)
    if sub is not None:
        with _known_lock:
            _known[subscription_id] = (time.monotonic(), sub)
    return sub


def forget(subscription_id: str) -> None:
    with _known_lock:
        _known.pop(subscription_id, None)


def _ours(item: dict, failed: dict[bool, set[str]]) -> Subscription | None:
    """The item's subscription when it is ours and the state is its own. `failed`: the ids this
    POST read without finding anything of ours, for states with a valid MAC (True) and states of
    the old scheme's shape (False); past MAX_FAILED_LOOKUPS of a kind, that kind reads no more
    (a flood of old-shaped forgeries does not shut out states that verify)."""
    sub_id, state = item.get("subscriptionId"), item.get("clientState")
    if not isinstance(sub_id, str) or not isinstance(state, str) or not 0 < len(sub_id) <= 200:
        return None
    sub, read = _cached(sub_id), None
    if sub is None:
        if client_state.client_state_valid(state):
            read = failed[True]
        elif client_state.legacy_form(state):
            read = failed[False]
        else:
            return None  # forged: refused without a read
        if sub_id in read or len(read) >= MAX_FAILED_LOOKUPS:
            return None
        sub = _subscription(sub_id)
    if sub is None or not hmac.compare_digest(sub.client_state_hash, subscriptions.hash_state(state)):
        if read is not None:
            read.add(sub_id)
        return None
    return sub


def _lifecycle_repeated(key: tuple[str, str], now: float) -> bool:
    with _known_lock:
        seen = _lifecycle_queued.get(key)
        return seen is not None and now - seen < LIFECYCLE_REPEAT_WINDOW


def _lifecycle_done(key: tuple[str, str], now: float) -> None:
    with _known_lock:
        if len(_lifecycle_queued) > 10_000:  # bounded: old entries no longer matter
            for k in [k for k, t in _lifecycle_queued.items() if now - t >= LIFECYCLE_REPEAT_WINDOW]:
                del _lifecycle_queued[k]
        _lifecycle_queued[key] = now


def _items(raw: bytes) -> list[dict]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeError, RecursionError):
        return []
    value = body.get("value") if isinstance(body, dict) else None
    return [n for n in value[:MAX_NOTIFICATIONS] if isinstance(n, dict)] if isinstance(value, list) else []


def accept(raw: bytes, *, lifecycle: bool) -> int:
    """Queue what is ours in one POST from Graph; how many notifications were kept."""
    received = iso_precise(_now())
    by_sub: dict[str, tuple[Subscription, dict[str, str | None]]] = {}
    items, kept = _items(raw), 0
    failed: dict[bool, set[str]] = {True: set(), False: set()}
    for item in items:
        sub = _ours(item, failed)
        if sub is None:
            continue
        if lifecycle:
            event = item.get("lifecycleEvent")
            if event in LIFECYCLE_EVENTS:
                key, now = (sub.id, str(event)), time.monotonic()
                if not _lifecycle_repeated(key, now):  # Graph's repeats: handled once
                    queues.enqueue(queues.NOTIFICATIONS, {**_who(sub), "lifecycle": event, "received_at": received})
                    _lifecycle_done(key, now)
                kept += 1
            continue
        data = item.get("resourceData")
        if not isinstance(data, dict):
            continue
        event_id, etag = data.get("id"), data.get("@odata.etag")
        if isinstance(event_id, str) and 0 < len(event_id) <= 512:
            found = by_sub.setdefault(sub.id, (sub, {}))[1]
            # The last word on an event wins; a deletion names no version worth comparing.
            found[event_id] = None if item.get("changeType") == "deleted" else change_key_of(etag)
            kept += 1
    for sub, found in by_sub.values():
        pairs = list(found.items())
        for i in range(0, len(pairs), EVENTS_PER_MESSAGE):
            queues.enqueue(
                queues.NOTIFICATIONS,
                {**_who(sub), "events": pairs[i : i + EVENTS_PER_MESSAGE], "received_at": received},
            )
    if kept < len(items):
        log.info("ignored %d notifications that are not ours", len(items) - kept)
    return kept


def _who(sub: Subscription) -> dict:
    return {
        "subscription_id": sub.id,
        "company_id": sub.company_id,
        "tenant_id": sub.tenant_id,
        "oid": sub.account_id,
        "calendar": sub.calendar,
    }


def change_key_of(etag) -> str | None:
    """resourceData's `@odata.etag` (W/"<changeKey>") -> the changeKey, which names one version
    of the event: Graph's repeats of a notification carry the same one (docs-contrib issue 3073)."""
    if not isinstance(etag, str) or len(etag) > 256:
        return None
    text = etag[2:] if etag.startswith("W/") else etag
    return text.strip('"') or None


def iso_precise(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ---- processing


class Busy(Exception):
    """The row's edit lease is held (an API edit is talking to Graph), or another comparison of
    the event is running or won the row: try again shortly (the message is re-queued)."""


STAMP_EVERY_SECONDS = 60.0  # last_notification_at (health) is written at most once a minute
_stamped: dict[str, float] = {}


def _stamp(message: dict) -> None:
    """Keep when a notification of the message's subscription was last handled, cheaply: at
    most once a minute per subscription and instance, one merge write; never fails processing."""
    sub_id = message.get("subscription_id")
    if not isinstance(sub_id, str) or not sub_id:
        return
    now = time.monotonic()
    with _known_lock:
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
