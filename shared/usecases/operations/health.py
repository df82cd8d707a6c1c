"""Health: the anonymous liveness answer and the admin's view of the company's links."""

from __future__ import annotations

import logging

from shared import identity, time_zones
from shared.errors import ConfigurationError
from shared.models import MicrosoftAccount, TenantLink, TenantStatus, iso
from shared.settings import get_settings
from shared.storage import audit, base, queues
from shared.storage.deliveries import Deliveries
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.subscriptions import Subscriptions
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks

log = logging.getLogger("outlook.health")


def storage_answers() -> bool:
    """One cheap call: a point read of a row that never exists (404 is an answer)."""
    try:
        base.read(audit.TABLE, "~health", "~health")
    except Exception as exc:  # noqa: BLE001 - any failure means unavailable
        log.warning("health: storage did not answer (%s)", type(exc).__name__)
        return False
    return True


def client_credential() -> dict:
    """MS_CLIENT_CREDENTIAL's kind and end date (shared.identity; warned in the log 30 days ahead).
    A credential setting that cannot be read shows its kind with no date: the log names it."""
    try:
        status = identity.client_credential_status()
    except ConfigurationError as exc:
        log.error("health: %s", exc.detail)
        return {"kind": get_settings().client_credential, "expires_at": None}
    identity.warn_if_expiring()
    return {"kind": status.kind, "expires_at": iso(status.expires_at)}


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
