"""User links (HERP account <-> Microsoft account): PartitionKey company_id, RowKey link_id."""

from __future__ import annotations

from shared.models import UserLink, Via, iso, parse_iso_required
from shared.storage import base
from shared.storage.base import escape_key, unescape_key

TABLE = "UserLinks"


def from_entity(e) -> UserLink:
    return UserLink(
        company_id=unescape_key(e["PartitionKey"]),
        link_id=unescape_key(e["RowKey"]),
        herp_account_id=e["herp_account_id"],
        tenant_id=e["tenant_id"],
        account_id=e["account_id"],
        via=e.get("via") or Via.USER,
        linked_at=parse_iso_required(e["linked_at"]),
        etag=base.etag_of(e),
    )


def to_entity(link: UserLink) -> dict:
    return {
        "PartitionKey": escape_key(link.company_id),
        "RowKey": escape_key(link.link_id),
        "herp_account_id": link.herp_account_id,
        "tenant_id": link.tenant_id,
        "account_id": link.account_id,
        "via": str(link.via),
        "linked_at": iso(link.linked_at),
    }


class UserLinks:
    def get(self, company_id: str, link_id: str) -> UserLink | None:
        e = base.read(TABLE, company_id, link_id)
        return from_entity(e) if e else None

    def of_company(self, company_id: str) -> list[UserLink]:
        return [from_entity(e) for e in base.query(TABLE, company_id)]

    def of_herp_account(self, company_id: str, herp_account_id: str) -> list[UserLink]:
        rows = base.query(TABLE, company_id, "herp_account_id eq @acct", acct=herp_account_id)
        return [from_entity(e) for e in rows]

    def of_microsoft_account(self, company_id: str, tenant_id: str, oid: str) -> list[UserLink]:
        rows = base.query(TABLE, company_id, "tenant_id eq @tid and account_id eq @oid", tid=tenant_id, oid=oid)
        return [from_entity(e) for e in rows]

    def save(self, link: UserLink) -> UserLink:
        link.etag = base.write(TABLE, to_entity(link), link.etag)
        return link

    def delete(self, company_id: str, link_id: str) -> None:
        base.delete(TABLE, company_id, link_id)

    def delete_tenant(self, company_id: str, tenant_id: str) -> int:
        return base.delete_many(TABLE, base.query(TABLE, company_id, "tenant_id eq @tid", tid=tenant_id))
