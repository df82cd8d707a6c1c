"""Graph subscriptions (PartitionKey = the subscription id, RowKey "subscription"): the one
point read the notification endpoint makes to know a notification is ours. The account row
points back (MicrosoftAccount.subscriptions)."""

from __future__ import annotations

from datetime import datetime

from shared.models import Subscription, iso, parse_iso, parse_iso_required
from shared.storage import base
from shared.storage.base import escape_key, unescape_key
from shared.storage.connection import table

TABLE = "Subscriptions"
ROW_KEY = "subscription"


def to_entity(s: Subscription) -> dict:
    return {
        "PartitionKey": escape_key(s.id),
        "RowKey": ROW_KEY,
        "company_id": s.company_id,
        "tenant_id": s.tenant_id,
        "account_id": s.account_id,
        "calendar": s.calendar,
        "client_state_hash": s.client_state_hash,
        "expires_at": iso(s.expires_at),
        "reauthorized_at": iso(s.reauthorized_at),
        "authorized_until": iso(s.authorized_until),
        "last_notification_at": iso(s.last_notification_at),
    }


def from_entity(e) -> Subscription:
    return Subscription(
        id=unescape_key(e["PartitionKey"]),
        company_id=e["company_id"],
        tenant_id=e["tenant_id"],
        account_id=e["account_id"],
        calendar=e.get("calendar") or "",
        client_state_hash=e["client_state_hash"],
        expires_at=parse_iso_required(e["expires_at"]),
        etag=base.etag_of(e),
        reauthorized_at=parse_iso(e.get("reauthorized_at")),
        authorized_until=parse_iso(e.get("authorized_until")),
        last_notification_at=parse_iso(e.get("last_notification_at")),
    )


class Subscriptions:
    def get(self, subscription_id: str) -> Subscription | None:
        e = base.read(TABLE, subscription_id, ROW_KEY)
        return from_entity(e) if e else None

    def save(self, s: Subscription) -> Subscription:
        s.etag = base.write(TABLE, to_entity(s), None)
        return s

    def delete(self, subscription_id: str) -> None:
        base.delete(TABLE, subscription_id, ROW_KEY)

    def stamp_notification(self, subscription_id: str, at: datetime) -> None:
        """Record that a notification of the subscription was handled (a merge of that one
        property: no read, and nothing else of the row is touched); a row gone meanwhile stays gone."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        entity = {"PartitionKey": escape_key(subscription_id), "RowKey": ROW_KEY, "last_notification_at": iso(at)}
        try:
            table(TABLE).update_entity(entity, mode=UpdateMode.MERGE)
        except ResourceNotFoundError:
            pass

    def of_company(self, company_id: str) -> list[Subscription]:
        """Every subscription row of a company (a scan: for the company's data deletion only)."""
        rows = table(TABLE).query_entities("company_id eq @c", parameters={"c": company_id})
        return [from_entity(e) for e in rows]
