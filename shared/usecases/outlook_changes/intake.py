"""Change notifications from Graph as they arrive: the intake (`accept`, behind POST
/api/outlook/notifications and /lifecycle).

Parse, keep only the notifications whose subscription is ours and whose `clientState` hashes to
the stored hash (compared in constant time), and queue them, one message per subscription.
Nothing else: no Graph call, no event read, so the answer comes in milliseconds however many
arrive (Graph wants a 2xx within 3 s). Anything malformed, forged or unknown is dropped without a
side effect. Forgery stays cheap: the `clientState` carries its own MAC (shared.client_state), so
a forged one is refused before any storage read, and a subscription is read only for a state that
verifies, or that has the shape of a state made before the MAC (subscriptions not yet recreated).
Reads that find nothing of ours are capped per POST (MAX_FAILED_LOOKUPS for each of the two kinds
of state); further unknown subscription ids of that POST are ignored unread. Lifecycle events are
queued once per subscription and event within a POST and within LIFECYCLE_REPEAT_WINDOW in this
process (Graph repeats them until acted upon), and the queue drops one whose subscription was
replaced meanwhile.

What the queue does with them is shared.usecases.outlook_changes.notifications.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from datetime import UTC, datetime

from shared import client_state
from shared.models import Subscription
from shared.storage import queues
from shared.storage.subscriptions import Subscriptions
from shared.usecases.outlook_changes import subscriptions

log = logging.getLogger("outlook.notifications")

MAX_NOTIFICATIONS = 1000  # per POST; Graph batches far fewer
EVENTS_PER_MESSAGE = 100  # keeps a queue message well under 64 KiB
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
MAX_FAILED_LOOKUPS = 3  # per POST: subscription reads that found nothing of ours
LIFECYCLE_REPEAT_WINDOW = 300.0  # seconds: a repeat of a lifecycle event queued lately is dropped
_CACHE_SECONDS = 60.0
_known: dict[str, tuple[float, Subscription]] = {}
_known_lock = threading.Lock()
_lifecycle_queued: dict[tuple[str, str], float] = {}


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
    received = iso_precise(datetime.now(UTC))
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
