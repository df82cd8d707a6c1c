"""Microsoft accounts (one sealed MSAL token cache each): PartitionKey company_id, RowKey
"{tenant_id}:{oid}"."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator

from shared.models import Account, AccountStatus, MicrosoftAccount, account_key, iso, parse_iso
from shared.storage import base
from shared.storage.base import escape_key, unescape_key
from shared.storage.connection import table

TABLE = "MicrosoftAccounts"


def from_entity(e) -> MicrosoftAccount:
    tenant_id, _, oid = unescape_key(e["RowKey"]).partition(":")
    return MicrosoftAccount(
        company_id=unescape_key(e["PartitionKey"]),
        tenant_id=tenant_id,
        account=Account(oid, e.get("email") or "", e.get("display_name") or ""),
        status=e.get("status") or AccountStatus.ACTIVE,
        token_cache=e.get("token_cache"),
        updated_at=parse_iso(e.get("updated_at")),
        calendars=json.loads(e["calendars"]) if e.get("calendars") else None,
        subscriptions=json.loads(e["subscriptions"]) if e.get("subscriptions") else None,
        reauth_since=parse_iso(e.get("reauth_since")),
        credential_checked_at=parse_iso(e.get("credential_checked_at")),
        reauth_reported=bool(e.get("reauth_reported")),
        etag=base.etag_of(e),
    )


def to_entity(account: MicrosoftAccount) -> dict:
    return {
        "PartitionKey": escape_key(account.company_id),
        "RowKey": escape_key(account.key),
        "email": account.account.email,
        "display_name": account.account.display_name,
        "status": str(account.status),
        "token_cache": account.token_cache,
        "updated_at": iso(account.updated_at),
        "calendars": json.dumps(account.calendars, separators=(",", ":")) if account.calendars else None,
        "subscriptions": json.dumps(account.subscriptions, separators=(",", ":"))
        if account.subscriptions is not None
        else None,
        "reauth_since": iso(account.reauth_since),
        "credential_checked_at": iso(account.credential_checked_at),
        "reauth_reported": account.reauth_reported,
    }


class MicrosoftAccounts:
    def get(self, company_id: str, tenant_id: str, oid: str) -> MicrosoftAccount | None:
        e = base.read(TABLE, company_id, account_key(tenant_id, oid))
        return from_entity(e) if e else None

    def _of_tenant(self, company_id: str, tenant_id: str) -> Iterator:
        # Row keys of a tenant share the prefix "{tenant_id}:"; ";" sorts right after ":".
        lo, hi = escape_key(f"{tenant_id}:"), escape_key(f"{tenant_id};")
        return base.query(TABLE, company_id, "RowKey ge @lo and RowKey lt @hi", lo=lo, hi=hi)

    def save(self, account: MicrosoftAccount) -> MicrosoftAccount:
        account.etag = base.write(TABLE, to_entity(account), account.etag)
        return account

    def delete(self, company_id: str, tenant_id: str, oid: str) -> None:
        base.delete(TABLE, company_id, account_key(tenant_id, oid))

    def delete_tenant(self, company_id: str, tenant_id: str) -> int:
        return base.delete_many(TABLE, self._of_tenant(company_id, tenant_id))

    def list(self, company_id: str) -> list[MicrosoftAccount]:
        return [from_entity(e) for e in base.query(TABLE, company_id)]

    def of_tenant(self, company_id: str, tenant_id: str) -> builtins.list[MicrosoftAccount]:
        return [from_entity(e) for e in self._of_tenant(company_id, tenant_id)]

    def update(self, company_id: str, tenant_id: str, oid: str, change) -> MicrosoftAccount | None:
        """`change` the row under its ETag (base.update); None when it is gone."""
        return base.update(lambda: self.get(company_id, tenant_id, oid), change, self.save)

    def all(self) -> Iterator[tuple[str, str, str, str, dict | None]]:
        """(company_id, tenant_id, oid, status, subscriptions) of every account, paged (the fan-outs)."""
        rows = table(TABLE).list_entities(
            select=["PartitionKey", "RowKey", "status", "subscriptions"], results_per_page=1000
        )
        for e in rows:
            tenant_id, _, oid = unescape_key(e["RowKey"]).partition(":")
            subs = json.loads(e["subscriptions"]) if e.get("subscriptions") else None
            yield unescape_key(e["PartitionKey"]), tenant_id, oid, e.get("status") or AccountStatus.ACTIVE, subs
