"""Graph change notifications for Outlook events: what Graph sends to subscribers, from a
background thread (`Notifier`), and the validation handshake of a new subscription.

The notifier ticks every 100 ms: room answers that came due (events.deliver_room_answers, so a
room's decline is noticed with nobody calling the emulator), the subscriptions' lifecycle (expiry,
dead credentials, revoked permissions), the changes of subscribed calendars, and due deliveries.
Changes are found by comparing each subscribed calendar with what the notifier last saw of it
(item default id + changeKey), so every path that changes an item (Graph create/PATCH/DELETE/cancel,
room answers, attendee responses, moves, deletes in Outlook) is covered without hooks in those
paths; a control action with `"silent": true` refreshes what was seen (`hush`), so it sends nothing.
`tick()` can be called directly (tests, WSGI use without the thread).

Sources (microsoftgraph/microsoft-graph-docs-contrib unless noted):
- concepts/includes/change-notifications-delivery-notificationurl-validation.md: POST
  `{notificationUrl}?validationToken=...` (URL-encoded, `Content-Type: text/plain`), the endpoint
  answers 200, `text/plain`, the decoded token, within 10 seconds; lifecycleNotificationUrl too;
  a failure and the subscription is not created (subscription-post-subscriptions.md: 400).
  Observed texts: the token "Validation: Testing client application reachability for
  subscription Request-Id: {guid}"; errors "Subscription validation request failed. Notification
  endpoint must respond with 200 OK to validation request." (ValidationError,
  splunk/azure-functions-splunk #26), "... Response must exactly match validationToken query
  parameter." (java-spring-webhooks-sample #82), "Subscription validation request timed out."
  (InvalidRequest, nodejs-webhooks-sample #350).
- concepts/change-notifications-delivery-webhooks.md: `{"value": [changeNotification]}`; several
  notifications (of different subscriptions too) may come in one POST; no 2xx within 3 seconds
  -> resent "multiple times, for up to 4 hours", then discarded.
- concepts/outlook-change-notifications-overview.md: `resource` / `@odata.id`
  "Users/{user id}/Events/{event id}", `@odata.type` "#Microsoft.Graph.Event", basic
  notifications carry no event data.
- concepts/outlook-immutable-id.md: a subscription created with `Prefer: IdType="ImmutableId"`
  gets immutable ids in its notifications.
- Field: one change -> several `updated` notifications (docs-contrib #3073: "3 update
  notifications"; `duplicates_per_update`, default 2). `me/events` covers the default calendar
  only; `me/calendars/{id}/events` another one (docs-contrib #6150, #51).
- concepts/change-notifications-lifecycle-events.md: lifecycle payload {subscriptionId,
  subscriptionExpirationDateTime, tenantId, clientState, lifecycleEvent}; reauthorizationRequired
  when the access token is about to expire, the subscription is about to expire, or an admin
  revoked the app's permissions (then "eventually change notification delivery pauses" until
  reauthorize/renew; changes meanwhile are lost), sent repeatedly; subscriptionRemoved when access conditions
  changed (the Graph blog "Subscription lifetime changes for Outlook resources": the creating
  user's password reset, account disabled; earlier lifecycle page: "User's account has been
  revoked"); missed when notifications were not delivered. A subscription that expires is deleted
  (delivery-webhooks "Renew a subscription").
- concepts/change-notifications-delivery-webhooks.md "Authentication" (01/2025): the access token
  behind the subscription's last create/renew/reauthorize "generally expires within 1 hour. If an
  access token expires, notifications aren't delivered"; Graph keeps them and retries "for up to
  4 hours". So once `token_exp` has passed, basic notifications are HELD (queued, not sent) until
  a renew or reauthorize with a valid token; a held one older than `max_retry_age_seconds` is
  dropped and `missed` follows. reauthorizationRequired comes TOKEN_WARNING_S before the token
  expires and again when it has expired (lifecycle-events: "repeatedly").
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

import requests

from . import events as ev
from .graph import OWN_CALENDARS
from .records import Delivery, Event, Subscription

TICK_S = 0.1
VALIDATION_TIMEOUT_S = 10.0  # "within 10 seconds"
TOKEN_WARNING_S = 15 * 60  # lifecycle-events sample: challenges in the token's last quarter hour
RETRY_CAP_S = 1800.0


def graph_time(t: dt.datetime) -> str:
    """DateTimeOffset as Graph renders it (seven fractional digits, Z)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _stamp(ts: float | None = None) -> str:
    return graph_time(dt.datetime.fromtimestamp(ts if ts is not None else time.time(), dt.UTC))


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _session(state) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # Graph does not use the machine's proxies or CA settings
    s.verify = state.ca_bundle or True
    return s


# --- validation handshake ---------------------------------------------------------------------------
def validate_endpoint(state, sub_id: str, url: str) -> tuple[str, str] | None:
    """POST ?validationToken= to `url` (outside the state lock). None when the endpoint answered as
    the docs require; else (Graph error code, message). The attempt goes to the delivery log."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    target = url + ("&" if "?" in url else "?") + "validationToken=" + quote(token, safe="")
    status: int | str
    try:
        r = _session(state).post(
            target, data=b"", headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=VALIDATION_TIMEOUT_S
        )
        status = r.status_code
        if r.status_code != 200:
            failure = (
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond with 200 OK "
                "to validation request.",
            )
        elif r.text != token or not r.headers.get("Content-Type", "").lower().startswith("text/plain"):
            failure = (
                "ValidationError",
                "Subscription validation request failed. Response must exactly match validationToken query parameter.",
            )
        else:
            failure = None
    except requests.Timeout:
        status, failure = "timeout", ("InvalidRequest", "Subscription validation request timed out.")
    except requests.RequestException:
        status = "unreachable"
        failure = (
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK "
            "to validation request.",
        )
    now = time.time()
    with state.lock:
        d = _new_delivery(state, "validation", sub_id, url, [], None)
        d.attempts, d.last_status = 1, status
        d.status = "failed" if failure else "delivered"
        d.delivered_at = None if failure else _stamp(now)
    return failure


# --- queueing ------------------------------------------------------------------------------------------
def _new_delivery(state, kind, sub_id, url, items, change, delay=0.0) -> Delivery:
    now = time.time()
    d = Delivery(len(state.deliveries) + 1, kind, sub_id, url, items, now, now + delay, change=change)
    state.deliveries.append(d)
    return d


def item_id(sub: Subscription, rec: Event) -> str:
    return rec.key if sub.immutable_ids else rec.id


def basic_item(sub: Subscription, change: str, event_id: str, change_key: str) -> dict:
    path = f"Users/{sub.owner}/Events/{event_id}"
    return {
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": graph_time(sub.expiration),
        "changeType": change,
        "resource": path,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": path,
            "@odata.etag": f'W/"{change_key}"',
            "id": event_id,
        },
        "clientState": sub.client_state,
        "tenantId": sub.tenant_id,
    }


def queue_lifecycle(state, sub: Subscription, event: str) -> Delivery | None:
    """A lifecycle notification (caller holds the lock). Only subscriptions created with a
    lifecycleNotificationUrl get them (lifecycle-events: "Existing subscriptions without a
    lifecycleNotificationUrl property don't receive the lifecycle notifications")."""
    if not sub.lifecycle_url:
        return None
    item = {
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": graph_time(sub.expiration),
        "tenantId": sub.tenant_id,
        "clientState": sub.client_state,
        "lifecycleEvent": event,
    }
    d = _new_delivery(state, "lifecycle", sub.id, sub.lifecycle_url, [item], event)
    if state.notify_config.lose_lifecycle:
        d.status, d.last_status = "dropped", "lost"  # control knob: lost on the way, never sent
    return d


def _queue_change(state, sub: Subscription, change: str, event_id: str, change_key: str) -> None:
    if change not in sub.change_types:
        return
    copies = state.notify_config.duplicates_per_update if change == "updated" else 1
    for n in range(max(1, copies)):
        # the copies come as separate POSTs a little apart, as observed (docs-contrib #3073)
        _new_delivery(
            state,
            "basic",
            sub.id,
            sub.notification_url,
            [basic_item(sub, change, event_id, change_key)],
            change,
            n * 0.3,
        )


def calendar_items(state, sub: Subscription) -> dict[str, Event]:
    return {
        r.key: r for r in state.events.values() if r.owner == sub.owner and r.calendar_id == sub.calendar_id and r.live
    }


def snapshot(state, sub: Subscription) -> None:
    sub.seen = {k: (item_id(sub, r), r.change_key) for k, r in calendar_items(state, sub).items()}


def hush(state, ical: str) -> None:
    """A silent change (control API `"silent": true`): every subscription forgets that the items of
    this meeting changed, so no notification is sent for it (caller holds the lock)."""
    for sub in state.subscriptions.values():
        now_items = calendar_items(state, sub)
        for key in list(sub.seen):
            rec = state.events.get(key)
            if rec is not None and rec.ical == ical and key not in now_items:
                del sub.seen[key]
        for key, rec in now_items.items():
            if rec.ical == ical:
                sub.seen[key] = (item_id(sub, rec), rec.change_key)


def _diff(state, sub: Subscription) -> None:
    current = calendar_items(state, sub)
    for key, (old_id, old_ck) in list(sub.seen.items()):
        rec = current.get(key)
        if rec is None:  # deleted, cancelled, or moved to another calendar
            if not sub.paused:
                _queue_change(state, sub, "deleted", old_id, old_ck)
            del sub.seen[key]
        elif rec.change_key != old_ck or item_id(sub, rec) != old_id:
            if not sub.paused:
                _queue_change(state, sub, "updated", item_id(sub, rec), rec.change_key)
            sub.seen[key] = (item_id(sub, rec), rec.change_key)
    for key, rec in current.items():
        if key not in sub.seen:
            if not sub.paused:
                _queue_change(state, sub, "created", item_id(sub, rec), rec.change_key)
            sub.seen[key] = (item_id(sub, rec), rec.change_key)


# --- subscription lifecycle -----------------------------------------------------------------------------
def remove(state, sub: Subscription, event: str | None = "subscriptionRemoved") -> None:
    """Graph removes the subscription (caller holds the lock): subscriptionRemoved is sent."""
    if event:
        queue_lifecycle(state, sub, event)
    state.subscriptions.pop(sub.id, None)


def _sweep(state, now: float) -> None:
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    cfg = state.notify_config
    for sub in list(state.subscriptions.values()):
        user = state.users.get(sub.owner)
        if sub.expiration <= at:
            state.subscriptions.pop(sub.id, None)  # expired: deleted, no lifecycle event
            continue
        if user is None or user.deleted or user.disabled or user.revoked_before > sub.authorized_at:
            remove(state, sub)  # the account's state changed after the subscription was authorized
            continue
        if not state.granted(sub.tenant_id, sub.owner) & OWN_CALENDARS:
            if not sub.paused:  # the app's permissions were revoked
                sub.paused = True
                queue_lifecycle(state, sub, "reauthorizationRequired")
            continue
        if sub.token_exp - now <= TOKEN_WARNING_S and sub.reauth_sent_for != sub.token_exp:
            sub.reauth_sent_for = sub.token_exp
            queue_lifecycle(state, sub, "reauthorizationRequired")
        if held(sub, now) and sub.held_sent_for != sub.token_exp:
            sub.held_sent_for = sub.token_exp  # delivery pauses now: said once more
            queue_lifecycle(state, sub, "reauthorizationRequired")
        left = (sub.expiration - at).total_seconds()
        if left <= cfg.expiry_warning_seconds and sub.expiry_warned_for != sub.expiration:
            sub.expiry_warned_for = sub.expiration
            queue_lifecycle(state, sub, "reauthorizationRequired")


def notice(state, now: float | None = None) -> None:
    """Queues what Graph owes for the changes since the last look: lifecycle events due, and each
    subscription's created/updated/deleted. Graph notifies the creation, update and deletion of an
    item (outlook-change-notifications-overview): a create, then an edit, are two notifications. So
    the app calls this after each write request, not only the delivery thread on its tick: on a
    busy machine two writes could otherwise fall between two ticks and be one `created`."""
    with state.lock:
        _sweep(state, now or time.time())
        for sub in state.subscriptions.values():
            _diff(state, sub)


def held(sub: Subscription, now: float) -> bool:
    """The access token behind the last authorization has expired: basic notifications wait."""
    return sub.token_exp <= now


# --- delivery ---------------------------------------------------------------------------------------------
def _backoff(cfg, attempts: int) -> float:
    return min(cfg.retry_base_seconds * (2 ** max(0, attempts - 1)), RETRY_CAP_S)


class Notifier:
    """The background delivery thread. `start()`/`stop()`; `tick()` does one round."""

    def __init__(self, state, tick_s: float = TICK_S, workers: int = 8):
        self.state, self.tick_s = state, tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="graph-notify")

    def start(self) -> Notifier:
        self._thread = threading.Thread(target=self._run, name="graph-notifier", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the thread must survive; the traceback goes to stderr
                import traceback

                traceback.print_exc()

    def tick(self, now: float | None = None) -> None:
        state = self.state
        ev.deliver_room_answers(state)
        now = now or time.time()
        batches: list[list[Delivery]] = []
        with state.lock:
            notice(state, now)
            cfg = state.notify_config
            for d in state.deliveries:
                if d.status == "pending" and now - d.created > cfg.max_retry_age_seconds:
                    self._drop(d)
            if cfg.paused:
                return
            waiting = {s.id for s in state.subscriptions.values() if held(s, now)}
            due = [
                d
                for d in state.deliveries
                if d.status == "pending" and d.due <= now and not (d.kind == "basic" and d.subscription_id in waiting)
            ]
            # first attempts to one URL go together in one POST; retries go alone
            fresh: dict[tuple[str, str], list[Delivery]] = {}
            for d in due:
                if d.attempts == 0:
                    fresh.setdefault((d.kind, d.url), []).append(d)
                else:
                    batches.append([d])
            batches.extend(fresh.values())
            for batch in batches:
                for d in batch:
                    d.status = "sending"
        for batch in batches:
            self._pool.submit(self._send, batch)

    def _drop(self, d: Delivery) -> None:
        """Retried for too long: discarded; a `missed` lifecycle event is due for a basic one."""
        state = self.state
        d.status = "dropped"
        sub = state.subscriptions.get(d.subscription_id)
        if d.kind == "basic" and sub is not None:
            pending = any(
                x.kind == "lifecycle" and x.change == "missed" and x.subscription_id == sub.id and x.status == "pending"
                for x in state.deliveries
            )
            if not pending:
                queue_lifecycle(state, sub, "missed")

    def _send(self, batch: list[Delivery]) -> None:
        state = self.state
        with state.lock:
            cfg = state.notify_config
            body = {"value": [item for d in batch for item in d.items]}
            url, timeout = batch[0].url, cfg.timeout_seconds
        status: int | str
        try:
            r = _session(state).post(url, json=body, timeout=timeout)
            status = r.status_code
            ok = 200 <= r.status_code < 300
        except requests.Timeout:
            status, ok = "timeout", False
        except requests.RequestException:
            status, ok = "unreachable", False
        now = time.time()
        with state.lock:
            for d in batch:
                d.attempts += 1
                d.last_status = status
                if ok:
                    d.status, d.delivered_at = "delivered", _stamp(now)
                    sub = state.subscriptions.get(d.subscription_id)
                    if sub is not None:
                        sub.deliveries += len(d.items)
                elif now - d.created > state.notify_config.max_retry_age_seconds:
                    self._drop(d)
                else:
                    d.status, d.due = "pending", now + _backoff(state.notify_config, d.attempts)


def delivery_view(d: Delivery) -> dict:
    """The delivery log entry (never clientState)."""
    return {
        "id": d.id,
        "subscriptionId": d.subscription_id,
        "url": d.url,
        "kind": d.kind,
        "change": d.change,
        "count": len(d.items),
        "resources": [i["resource"] for i in d.items if "resource" in i],
        "status": d.status,
        "attempts": d.attempts,
        "lastStatus": d.last_status,
        "created": _stamp(d.created),
        "delivered": d.delivered_at,
    }
