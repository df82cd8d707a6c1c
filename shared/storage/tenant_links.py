"""Tenant links: PartitionKey company_id, RowKey tenant_id."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from shared.models import Account, TenantLink, TenantStatus, iso, parse_iso, parse_iso_required
from shared.storage import base
from shared.storage.base import escape_key, unescape_key
from shared.storage.connection import table

TABLE = "TenantLinks"


def from_entity(e) -> TenantLink:
    return TenantLink(
        company_id=unescape_key(e["PartitionKey"]),
        tenant_id=unescape_key(e["RowKey"]),
        tenant_name=e.get("tenant_name") or "",
        status=e["status"],
        admin=Account(e.get("admin_id") or "", e.get("admin_email") or "", e.get("admin_name") or ""),
        linked_by=e.get("linked_by") or "",
        linked_at=parse_iso_required(e["linked_at"]),
        renewed_at=parse_iso(e.get("renewed_at")),
        rooms_count=int(e.get("rooms_count") or 0),
        rooms_synced_at=parse_iso(e.get("rooms_synced_at")),
        rooms_last_error=e.get("rooms_last_error"),
        etag=base.etag_of(e),
    )


def to_entity(link: TenantLink) -> dict:
    return {
        "PartitionKey": escape_key(link.company_id),
        "RowKey": escape_key(link.tenant_id),
        "tenant_name": link.tenant_name,
        "status": str(link.status),
        "admin_id": link.admin.id,
        "admin_email": link.admin.email,
        "admin_name": link.admin.display_name,
        "linked_by": link.linked_by,
        "linked_at": iso(link.linked_at),
        "renewed_at": iso(link.renewed_at),
        "rooms_count": link.rooms_count,
        "rooms_synced_at": iso(link.rooms_synced_at),
        "rooms_last_error": link.rooms_last_error,
    }


class TenantLinks:
    def get(self, company_id: str, tenant_id: str) -> TenantLink | None:
        e = base.read(TABLE, company_id, tenant_id)
        return from_entity(e) if e else None

    def get_linked(self, company_id: str, tenant_id: str) -> TenantLink | None:
        """The link, unless absent or being unlinked (an unlink in progress hides it at once)."""
        link = self.get(company_id, tenant_id)
        return link if link is not None and link.status != TenantStatus.UNLINKING else None

    def list_linked(self, company_id: str) -> list[TenantLink]:
        return [link for link in self.list(company_id) if link.status != TenantStatus.UNLINKING]

    def save(self, link: TenantLink, *, create: bool = False) -> TenantLink:
        link.etag = base.write(TABLE, to_entity(link), link.etag, create=create)
        return link

    def update_linked(self, company_id: str, tenant_id: str, change: Callable[[TenantLink], bool]) -> TenantLink | None:
        """`change` the link under its ETag (base.update); None when it is not linked (any more)."""
        return base.update(lambda: self.get_linked(company_id, tenant_id), change, self.save)

    def delete(self, company_id: str, tenant_id: str) -> None:
        base.delete(TABLE, company_id, tenant_id)

    def all(self) -> Iterator[tuple[str, str, str]]:
        """(company_id, tenant_id, status) of every tenant link, paged by the SDK (the fan-out)."""
        rows = table(TABLE).list_entities(select=["PartitionKey", "RowKey", "status"], results_per_page=1000)
        for e in rows:
            yield unescape_key(e["PartitionKey"]), unescape_key(e["RowKey"]), e.get("status") or ""

    def companies_linking(self, tenant_id: str) -> list[str]:
        """Companies that link `tenant_id` (a cross-partition query: only on unlink)."""
        rows = table(TABLE).query_entities(
            "RowKey eq @tid", parameters={"tid": escape_key(tenant_id)}, select=["PartitionKey", "status"]
        )
        return [unescape_key(e["PartitionKey"]) for e in rows]

    def list(self, company_id: str) -> list[TenantLink]:
        return [from_entity(e) for e in base.query(TABLE, company_id)]
