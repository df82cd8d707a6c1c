"""Health: the anonymous liveness answer and the admin's view of the company's links."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from shared import time_zones
from shared.models import MicrosoftAccount, TenantLink, TenantStatus, iso, parse_iso
from shared.settings import get_settings
from shared.storage import audit, base, queues
from shared.storage.deliveries import Deliveries
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.subscriptions import Subscriptions
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks

log = logging.getLogger("outlook.health")

SECRET_WARNING = timedelta(days=30)


def storage_answers() -> bool:
    """One cheap call: a point read of a row that never exists (404 is an answer)."""
    try:
        base.read(audit.TABLE, "~health", "~health")
    except Exception as exc:  # noqa: BLE001 - any failure means unavailable
        log.warning("health: storage did not answer (%s)", type(exc).__name__)
        return False
    return True


def client_credential() -> dict:
    """MS_CLIENT_CREDENTIAL and, for a secret, MS_CLIENT_SECRET_EXPIRES_AT (warned 30 days ahead)."""
    settings = get_settings()
    kind = settings.client_credential
    expires = secret_expiry() if kind == "secret" else None
    return {"kind": kind, "expires_at": iso(expires)}


def secret_expiry() -> datetime | None:
    """MS_CLIENT_SECRET_EXPIRES_AT, logged as a warning within 30 days of it (None: not set or unreadable)."""
    raw = get_settings().client_secret_expires_at
    if not raw:
        return None
    try:
        expires = parse_iso(raw if "T" in raw else raw + "T00:00:00Z")
    except ValueError:
        log.warning("setting MS_CLIENT_SECRET_EXPIRES_AT is not an ISO 8601 date")
        return None
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires is not None and expires - datetime.now(UTC) < SECRET_WARNING:
        log.warning(
            "the client secret (MS_CLIENT_SECRET) expires at %s: add a new one to the app registration and "
            "rotate the setting before then",
            iso(expires),
        )
    return expires


def _subscriptions(account: MicrosoftAccount) -> list[dict]:
    out = []
    default_calendar = (account.calendars or {}).get("default")
    for calendar, entry in sorted((account.subscriptions or {}).items()):
        if not entry.get("id"):
            continue
        row = Subscriptions().get(entry["id"])
        out.append(
            {
                "calendar_id": calendar or default_calendar,
                "expires_at": iso(row.expires_at) if row else entry.get("expires_at"),
                "reauthorized_at": iso(row.reauthorized_at) if row else None,
                "last_notification_at": iso(row.last_notification_at) if row else None,
            }
        )
    return out


def _tenant(link: TenantLink, accounts: list[MicrosoftAccount], herp_ids: dict[tuple[str, str], list[str]]) -> dict:
    body = link.to_json()
    return {
        "tenant_id": link.tenant_id,
        "tenant_name": link.tenant_name,
        "status": link.status,
        "admin_account": body["admin_account"],
        "rooms": body["rooms"],
        "accounts": [
            {
                "account": a.account.to_json(),
                "herp_account_ids": sorted(herp_ids.get((a.tenant_id, a.account.id), [])),
                "status": str(a.status),
                "credential_checked_at": iso(a.credential_checked_at),
                "subscriptions": _subscriptions(a),
            }
            for a in accounts
            if a.tenant_id == link.tenant_id
        ],
    }


def company_health(company_id: str) -> dict:
    """CONTRACT 8 `GET /api/outlook/health` for one company."""
    links = [link for link in TenantLinks().list(company_id) if link.status != TenantStatus.UNLINKING]
    accounts = MicrosoftAccounts().list(company_id) if links else []
    herp_ids: dict[tuple[str, str], list[str]] = {}
    for user_link in UserLinks().of_company(company_id) if links else []:
        herp_ids.setdefault((user_link.tenant_id, user_link.account_id), []).append(user_link.herp_account_id)
    return {
        "tenants": [_tenant(link, accounts, herp_ids) for link in links],
        "webhook": {
            "pending": queues.approximate_count(queues.WEBHOOKS),
            "dead_lettered": queues.approximate_count(queues.WEBHOOKS_DEAD),
            "last_delivered_at": iso(Deliveries().last(company_id)),
        },
        "time_zone_data": time_zones.rules_version(),
        "client_credential": client_credential(),
    }
