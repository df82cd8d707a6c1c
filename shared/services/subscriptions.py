"""Graph change-notification subscriptions on the events of Microsoft accounts (README "Changes
from Outlook").

One subscription per calendar that holds events made through this API: `me/events` for the
default calendar, `me/calendars/{id}/events` for another (a `me/events` subscription covers only
the default calendar: microsoft-graph-docs-contrib issues 6150 and 51). Each has a random
`clientState` of its own that carries its MAC (shared.client_state: the notification endpoint
refuses a forged one without a storage read), stored only as its SHA-256 (compared in constant time), a `lifecycleNotificationUrl`, and an expiry within Graph's 4,230-minute
limit for Outlook events. `Prefer: IdType="ImmutableId"` (every Mailbox call) makes the
notifications carry the immutable ids the events table stores.

The account row says which subscriptions exist (`MicrosoftAccount.subscriptions`); the
Subscriptions table answers the notification endpoint's one question (is this ours?). A
subscription is asked for with the account's first event on a calendar (a queue message, so
the create itself stays one Graph call), renewed by the hourly timer when it expires within
24 hours, recreated when Graph no longer knows it, and deleted with the account's last link.
After every create the account's events are re-read once (catching up), because Graph
delivers nothing for changes made before the subscription existed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from urllib.parse import quote

from shared.client_state import new_client_state
from shared.errors import GraphError, GraphTimeout, GraphUnavailable, LinkRemoved, ReauthRequired
from shared.models import AccountStatus, MicrosoftAccount, Subscription, iso, parse_iso, parse_iso_required, utcnow
from shared.services import credentials
from shared.settings import get_settings
from shared.storage import queues
from shared.storage.base import ConcurrentUpdate
from shared.storage.event_ids import EventIds
from shared.storage.events import Events
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.subscriptions import Subscriptions

log = logging.getLogger("outlook.subscriptions")

# subscription.md: Outlook events last at most 4,230 minutes (newer pages: 10,080). 30 minutes
# below it, so that a clock a little ahead of Graph's is never refused.
LIFETIME = timedelta(minutes=4200)
RENEW_WITHIN = timedelta(hours=24)
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


def _entry_due(entry: dict, now: datetime) -> bool:
    """Whether an account row's subscription entry needs the renewal run's attention."""
    if not entry.get("id"):
        started = parse_iso(entry.get("since"))
        return started is None or now - started > RETRY_AFTER
    expires = parse_iso(entry.get("expires_at"))
    return expires is None or expires - now < RENEW_WITHIN


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
    claimed = False
    now = utcnow()

    def claim(row: MicrosoftAccount) -> bool:
        nonlocal claimed
        entry = (row.subscriptions or {}).get(calendar)
        claimed = row.status == AccountStatus.ACTIVE and (
            entry is None or (not entry.get("id") and _entry_due(entry, now))
        )
        if claimed:
            row.subscriptions = {**(row.subscriptions or {}), calendar: {"id": None, "since": iso(now)}}
        return claimed

    account = MicrosoftAccounts().update(company_id, tenant_id, oid, claim)
    if account is None or not claimed:
        return None
    try:
        box = credentials.mailbox(company_id, tenant_id, oid)
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
    from shared.services import notifications

    notifications.catch_up(box)
    return sub


def _create(box: credentials.Mailbox, calendar: str) -> Subscription:
    account = box.account
    client_state = new_client_state()
    url = get_settings().notifications_url()
    created = box.post(
        "/subscriptions",
        json={
            "changeType": CHANGE_TYPES,
            "notificationUrl": url,
            "lifecycleNotificationUrl": url + "/lifecycle",
            "resource": resource(calendar),
            "expirationDateTime": _expiry(),
            "clientState": client_state,
            "latestSupportedTlsVersion": "v1_2",
        },
    )
    sub = Subscription(
        id=created["id"],
        company_id=account.company_id,
        tenant_id=account.tenant_id,
        account_id=account.account.id,
        calendar=calendar,
        client_state_hash=hash_state(client_state),
        expires_at=parse_iso_required(created["expirationDateTime"].split(".")[0].rstrip("Z") + "Z"),
    )
    Subscriptions().save(sub)
    _point(account, calendar, {"id": sub.id, "expires_at": iso(sub.expires_at)})
    log.info("subscription %s created on %s of an account in tenant %s", sub.id, resource(calendar), sub.tenant_id)
    return sub


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
    for calendar, entry in (account.subscriptions or {}).items():
        if not _entry_due(entry, now):
            continue
        if not entry.get("id"):
            ensure(company_id, tenant_id, oid, calendar)
            continue
        try:
            renew(credentials.mailbox(company_id, tenant_id, oid), calendar, entry["id"])
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


def renew(box: credentials.Mailbox, calendar: str, subscription_id: str) -> None:
    """Extend the subscription (a PATCH also reauthorizes it: change-notifications-lifecycle-events.md);
    when Graph no longer knows it, make a new one and catch up."""
    try:
        answer = box.patch(_path(subscription_id), json={"expirationDateTime": _expiry()})
    except GraphError as exc:
        if type(exc) is not GraphError or exc.status != 404:
            raise
        log.info("subscription %s is gone from Graph: recreating it", subscription_id)
        recreate(box, calendar, subscription_id)
        return
    expires = parse_iso_required(answer["expirationDateTime"].split(".")[0].rstrip("Z") + "Z")
    sub = Subscriptions().get(subscription_id)
    if sub is not None:
        sub.expires_at = expires
        Subscriptions().save(sub)
    _point(box.account, calendar, {"id": subscription_id, "expires_at": iso(expires)})


def recreate(box: credentials.Mailbox, calendar: str, old_id: str) -> None:
    Subscriptions().delete(old_id)
    _point(box.account, calendar, None)
    account = box.account
    ensure(account.company_id, account.tenant_id, account.account.id, calendar)


# ---- removing them


def drop_all(account: MicrosoftAccount) -> None:
    """Delete the account's subscriptions in Graph (best effort: they expire within three days
    anyway) and here (then nothing of them is processed any more)."""
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
