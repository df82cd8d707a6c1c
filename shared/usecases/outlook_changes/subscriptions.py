"""Graph change-notification subscriptions on the events of Microsoft accounts (README "Changes
from Outlook").

One subscription per calendar that holds events made through this API: `me/events` for the
default calendar, `me/calendars/{id}/events` for another (a `me/events` subscription covers only
the default calendar: microsoft-graph-docs-contrib issues 6150 and 51). Each has a random
`clientState` of its own that carries its MAC (shared.client_state: the notification endpoint
refuses a forged one without a storage read), stored only as its SHA-256 (compared in constant
time), a `lifecycleNotificationUrl` (the notification URL with `/lifecycle` appended to its path,
its query kept), and an expiry LIFETIME ahead. `Prefer: IdType="ImmutableId"` (every
Mailbox call) makes the notifications carry the immutable ids the events table stores.

Graph stops delivering a delegated subscription's notifications when the access token it was
created, renewed or reauthorized with expires (concepts/change-notifications-delivery-webhooks.md
"Authentication": about an hour). So each is reauthorized with a freshly redeemed token (a PATCH
of its expiry: it renews and reauthorizes in one call) before that token's `exp`, which is kept
(`authorized_until`): on `reauthorizationRequired`, and by the hourly run for every subscription
whose authorization would lapse before the next run (a backstop: one lost lifecycle message must
not pause a mailbox).
Graph refuses a second subscription for the same calendar (409, "Duplicate subscriptions aren't
allowed"): the app's old one is found (`GET /subscriptions`), deleted and replaced.

The account row says which subscriptions exist (`MicrosoftAccount.subscriptions`); the
Subscriptions table answers the notification endpoint's one question (is this ours?). A
subscription is asked for with the account's first event on a calendar (a queue message, so
the create itself stays one Graph call), reauthorized and renewed by the hourly timer (see
above), recreated when Graph no longer knows it, and deleted with the account's last link.
After every create the account's events are re-read once (catching up), because Graph
delivers nothing for changes made before the subscription existed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

from shared import graph, reactions
from shared.client_state import new_client_state
from shared.errors import GraphError, GraphTimeout, GraphUnavailable, LinkRemoved, ReauthRequired
from shared.mailbox import credentials
from shared.models import AccountStatus, MicrosoftAccount, Subscription, iso, parse_iso, parse_iso_required, utcnow
from shared.settings import get_settings
from shared.storage import queues
from shared.storage.base import ConcurrentUpdate
from shared.storage.event_ids import EventIds
from shared.storage.events import Events
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.subscriptions import Subscriptions

log = logging.getLogger("outlook.subscriptions")

# concepts/includes/change-notifications-subscription-lifetime.md (11/2024): Outlook events last at
# most 10,080 minutes. We ask for nearly all of it (30 minutes below, so that a clock a little ahead
# of Graph's is never refused): the hourly reauthorization PATCH moves the expiry anyway, and the
# longer it is, the longer an outage of this service can last before every subscription is gone
# (recreating one costs a validation handshake and a catch-up of the account's events).
LIFETIME = timedelta(minutes=10080 - 30)
RENEW_WITHIN = timedelta(hours=24)
# The renewal timer runs hourly ("0 0 * * * *", fanned out through a queue that reaches an
# account at about the same minute each hour). It reauthorizes a subscription when its
# authorization would lapse before the next run reaches it: within the hour plus SLACK for the
# queue. Skipping a reauthorizationRequired because that run "should" come in time would save
# only ~4 % of the PATCHes (README "Reauthorization") and risk a pause: it is always acted on.
RUN_EVERY = timedelta(hours=1)
SLACK = timedelta(minutes=10)
REAUTHORIZE_WITHIN = RUN_EVERY + SLACK
RETRY_AFTER = timedelta(minutes=5)  # a create that failed or never finished is tried again after
CHANGE_TYPES = "updated,deleted"
DEFAULT = ""  # the calendar key of the default calendar


def hash_state(client_state: str) -> str:
    return hashlib.sha256(client_state.encode("utf-8")).hexdigest()


def calendar_key(account: MicrosoftAccount, calendar_id: str | None) -> str:
    if not calendar_id or calendar_id == (account.calendars or {}).get("default"):
        return DEFAULT
    return calendar_id


def resource(calendar: str) -> str:
    return "me/events" if calendar == DEFAULT else f"me/calendars/{calendar}/events"


def _path(subscription_id: str) -> str:
    return f"/subscriptions/{quote(subscription_id, safe='')}"


def _expiry() -> str:
    return (utcnow() + LIFETIME).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def lifecycle_url(url: str) -> str:
    """CONTRACT 2: MS_NOTIFICATION_URL with `/lifecycle` appended to its path, its query (a
    function key `?code=...`) kept; Graph keeps the query on its POSTs."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/lifecycle"))


def _entry_due(entry: dict, now: datetime) -> bool:
    """Whether an account row's subscription entry needs the renewal run's attention."""
    if not entry.get("id"):
        started = parse_iso(entry.get("since"))
        return started is None or now - started > RETRY_AFTER
    expires = parse_iso(entry.get("expires_at"))
    until = parse_iso(entry.get("authorized_until"))
    return expires is None or expires - now < RENEW_WITHIN or until is None or until - now < REAUTHORIZE_WITHIN


# ---- asking for one


def request_for_event(account: MicrosoftAccount, calendar_id: str | None) -> None:
    """After an event was made: queue the calendar's subscription when the account has none.
    Costs nothing when it exists (the account row was read for the create anyway)."""
    calendar = calendar_key(account, calendar_id)
    if calendar in (account.subscriptions or {}):
        return
    try:
        queues.enqueue(
            queues.SUBSCRIPTIONS,
            {
                "company_id": account.company_id,
                "tenant_id": account.tenant_id,
                "oid": account.account.id,
                "calendar": calendar,
            },
        )
    except Exception as exc:  # noqa: BLE001 - the event exists; the hourly run asks again
        log.warning("subscription request not queued (%s); the renewal run will make it", type(exc).__name__)


def ensure(company_id: str, tenant_id: str, oid: str, calendar: str) -> Subscription | None:
    """The calendar's subscription, created when missing (claimed on the account row first, so
    two messages for one account make one subscription), then the account's events re-read."""
    claimed = retrying = False
    now = utcnow()

    def claim(row: MicrosoftAccount) -> bool:
        nonlocal claimed, retrying
        entry = (row.subscriptions or {}).get(calendar)
        claimed = row.status == AccountStatus.ACTIVE and (
            entry is None or (not entry.get("id") and _entry_due(entry, now))
        )
        retrying = entry is not None  # an earlier create's outcome is unknown
        if claimed:
            row.subscriptions = {**(row.subscriptions or {}), calendar: {"id": None, "since": iso(now)}}
        return claimed

    account = MicrosoftAccounts().update(company_id, tenant_id, oid, claim)
    if account is None or not claimed:
        return None
    try:
        box = credentials.mailbox(company_id, tenant_id, oid)
        if retrying:  # its answer may have been lost: Graph would refuse a second one (409)
            _delete_held(box, calendar)
        sub = _create(box, calendar)
    except (ReauthRequired, LinkRemoved):
        return None  # nothing to watch with a dead or removed credential
    except (GraphUnavailable, GraphTimeout):
        _point(account, calendar, None)  # released: the queue's retry claims it again
        raise
    except GraphError as exc:
        # E.g. the validation handshake against MS_NOTIFICATION_URL failed: the entry stays
        # claimed and the hourly run tries again after RETRY_AFTER.
        log.error(
            "subscription on %s refused by Graph (%s %s): is MS_NOTIFICATION_URL reachable from Graph?",
            resource(calendar),
            exc.status,
            exc.graph_code,
        )
        return None
    reactions.subscribed(box)
    return sub


def _create(box: credentials.Mailbox, calendar: str) -> Subscription:
    account = box.account
    client_state = new_client_state()
    url = get_settings().notifications_url()
    body = {
        "changeType": CHANGE_TYPES,
        "notificationUrl": url,
        "lifecycleNotificationUrl": lifecycle_url(url),
        "resource": resource(calendar),
        "expirationDateTime": _expiry(),
        "clientState": client_state,
        "latestSupportedTlsVersion": "v1_2",
    }
    until = box.redeem()  # a fresh token: the subscription stays authorized for its whole life
    try:
        created = box.post("/subscriptions", json=body)
    except GraphError as exc:
        if type(exc) is not GraphError or exc.status != 409:
            raise
        # delivery-webhooks: "Duplicate subscriptions aren't allowed" (same changeType and resource)
        log.warning("Graph already holds a subscription on %s of this account: replacing it", resource(calendar))
        _delete_held(box, calendar)
        created = box.post("/subscriptions", json=body)
    sub = Subscription(
        id=created["id"],
        company_id=account.company_id,
        tenant_id=account.tenant_id,
        account_id=account.account.id,
        calendar=calendar,
        client_state_hash=hash_state(client_state),
        expires_at=_graph_time(created["expirationDateTime"]),
        reauthorized_at=utcnow(),
        authorized_until=until,
    )
    Subscriptions().save(sub)
    _point(account, calendar, _entry(sub))
    log.info("subscription %s created on %s of an account in tenant %s", sub.id, resource(calendar), sub.tenant_id)
    return sub


def _graph_time(text: str) -> datetime:
    return parse_iso_required(text.split(".")[0].rstrip("Z") + "Z")


def _entry(sub: Subscription) -> dict:
    """The account row's entry for a subscription (what the hourly fan-out looks at)."""
    return {"id": sub.id, "expires_at": iso(sub.expires_at), "authorized_until": iso(sub.authorized_until)}


def _delete_held(box: credentials.Mailbox, calendar: str) -> None:
    """Delete the app's subscriptions Graph holds on this calendar of the account (found with
    `GET /subscriptions`: with delegated permissions, the app's subscriptions for the signed-in
    user, subscription-list.md), so that a create is not refused as a duplicate. One that this
    service keeps for another company's link of the same account is left alone."""
    account = box.account
    wanted = _resource_names(account, calendar)
    for item in graph.items(graph.pages(box.get, "/subscriptions")):
        if str(item.get("resource") or "").strip("/").lower() not in wanted or not item.get("id"):
            continue
        known = Subscriptions().get(item["id"])
        if known is not None and (known.company_id, known.tenant_id, known.account_id) != (
            account.company_id,
            account.tenant_id,
            account.account.id,
        ):
            log.error("subscription %s on this calendar belongs to another company's link: kept", item["id"])
            continue
        try:
            box.delete(_path(item["id"]))
        except GraphError as exc:
            if type(exc) is not GraphError or exc.status != 404:
                raise
        Subscriptions().delete(item["id"])
        log.info("subscription %s that Graph held on %s deleted", item["id"], resource(calendar))


def _resource_names(account: MicrosoftAccount, calendar: str) -> set[str]:
    """The resource paths that name this calendar (lower case), as any install may have sent them."""
    if calendar != DEFAULT:
        return {resource(calendar).lower()}
    me = {"me/events", "me/calendar/events"}
    return me | {f"users/{account.account.id}/{rest}".lower() for rest in ("events", "calendar/events")}


def _point(account: MicrosoftAccount, calendar: str, entry: dict | None) -> None:
    """Set (or, with None, remove) the account row's entry for `calendar`."""

    def change(row: MicrosoftAccount) -> bool:
        subs = dict(row.subscriptions or {})
        if entry is None:
            subs.pop(calendar, None)
        else:
            subs[calendar] = entry
        row.subscriptions = subs
        return True

    try:
        MicrosoftAccounts().update(account.company_id, account.tenant_id, account.account.id, change)
    except ConcurrentUpdate:
        log.warning(
            "subscription entry of an account in tenant %s not recorded: the row kept changing", account.tenant_id
        )


# ---- keeping them alive


def fan_out() -> int:
    """One `outlook-subscriptions` renewal message per account that needs one (the hourly
    timer's job): never looked at, a create to retry, or a subscription expiring within 24 h."""
    now = utcnow()
    messages = (
        {"company_id": company, "tenant_id": tenant, "oid": oid, "renew": True}
        for company, tenant, oid, status, subs in MicrosoftAccounts().all()
        if status == AccountStatus.ACTIVE and (subs is None or any(_entry_due(e, now) for e in subs.values()))
    )
    return queues.enqueue_many(queues.SUBSCRIPTIONS, messages)


def renew_account(company_id: str, tenant_id: str, oid: str) -> None:
    """Renew what expires within 24 h, recreate what Graph no longer knows, and, for an account
    never looked at (linked before subscriptions existed), subscribe each calendar it has events on."""
    account = MicrosoftAccounts().get(company_id, tenant_id, oid)
    if account is None or account.status != AccountStatus.ACTIVE:
        return
    if account.subscriptions is None:
        _first_look(account)
        return
    now = utcnow()
    box: credentials.Mailbox | None = None
    until: datetime | None = None
    for calendar, entry in (account.subscriptions or {}).items():
        if not _entry_due(entry, now):
            continue
        if not entry.get("id"):
            ensure(company_id, tenant_id, oid, calendar)
            continue
        try:
            if box is None:  # one freshly redeemed token for all of the account's subscriptions
                box = credentials.mailbox(company_id, tenant_id, oid)
                until = box.redeem()
            renew(box, calendar, entry["id"], until=until)
        except (ReauthRequired, LinkRemoved):
            return  # a dead credential is reported by itself; a relink renews on the next run


def _first_look(account: MicrosoftAccount) -> None:
    events = Events().of_account(account.company_id, account.tenant_id, account.account.id)
    for record in events:
        if record.graph_event_id and record.immutable_id:
            EventIds().save(account.company_id, record.graph_event_id, record.schedule_id)
    calendars = {calendar_key(account, r.calendar_id) for r in events}

    def looked(row: MicrosoftAccount) -> bool:
        if row.subscriptions is not None:
            return False
        row.subscriptions = {}
        return True

    MicrosoftAccounts().update(account.company_id, account.tenant_id, account.account.id, looked)
    for calendar in sorted(calendars):
        ensure(account.company_id, account.tenant_id, account.account.id, calendar)


def reauthorize(
    box: credentials.Mailbox, calendar: str, subscription_id: str, *, received_at: datetime | None = None
) -> None:
    """On `reauthorizationRequired` (received at `received_at`): reauthorize with a freshly
    redeemed token, unless it was reauthorized since Graph sent it (Graph repeats the event)."""
    sub = Subscriptions().get(subscription_id)
    if sub is not None and sub.reauthorized_at and received_at and sub.reauthorized_at > received_at:
        log.info("subscription %s was reauthorized since the lifecycle event", subscription_id)
        return
    renew(box, calendar, subscription_id)


def renew(box: credentials.Mailbox, calendar: str, subscription_id: str, *, until: datetime | None = None) -> None:
    """Extend the subscription and reauthorize it with a freshly redeemed token (a PATCH does both:
    change-notifications-lifecycle-events.md; `until`: when the token already redeemed for this
    run expires); when Graph no longer knows it, make a new one and catch up."""
    until = until or box.redeem()
    try:
        answer = box.patch(_path(subscription_id), json={"expirationDateTime": _expiry()})
    except GraphError as exc:
        if type(exc) is not GraphError or exc.status != 404:
            raise
        log.info("subscription %s is gone from Graph: recreating it", subscription_id)
        recreate(box, calendar, subscription_id)
        return
    expires = _graph_time(answer["expirationDateTime"])
    sub = Subscriptions().get(subscription_id)
    if sub is not None:
        sub.expires_at, sub.reauthorized_at, sub.authorized_until = expires, utcnow(), until
        Subscriptions().save(sub)
    entry = {"id": subscription_id, "expires_at": iso(expires), "authorized_until": iso(until)}
    _point(box.account, calendar, entry)


def recreate(box: credentials.Mailbox, calendar: str, old_id: str) -> None:
    Subscriptions().delete(old_id)
    _point(box.account, calendar, None)
    account = box.account
    ensure(account.company_id, account.tenant_id, account.account.id, calendar)


# ---- removing them


def drop_all(account: MicrosoftAccount) -> None:
    """Delete the account's subscriptions in Graph (best effort: unreauthorized, they deliver
    nothing after an hour and expire within LIFETIME; a later create replaces one left behind)
    and here (then nothing of them is processed any more)."""
    entries = [e["id"] for e in (account.subscriptions or {}).values() if e.get("id")]
    if not entries:
        return
    box = credentials.Mailbox(account) if account.token_cache and account.status == AccountStatus.ACTIVE else None
    for subscription_id in entries:
        Subscriptions().delete(subscription_id)
        if box is None:
            continue
        try:
            box.delete(_path(subscription_id))
        except (GraphError, ReauthRequired, LinkRemoved) as exc:
            log.info("subscription %s not deleted in Graph (%s); it expires by itself", subscription_id, exc.code)
