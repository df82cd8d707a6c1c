"""Use cases of tenant-level links: read, complete a link or renewal, unlink (cascade)."""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor

from shared import reactions
from shared.errors import NotFound, TenantLinkNotFound
from shared.models import (
    Account,
    TenantLink,
    TenantStatus,
    UserLink,
    Via,
    utcnow,
)
from shared.storage import base
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks

log = logging.getLogger("outlook.tenant_links")


def list_links(company_id: str) -> list[TenantLink]:
    return TenantLinks().list_linked(company_id)


def get_link(company_id: str, tenant_id: str) -> TenantLink:
    link = TenantLinks().get_linked(company_id, tenant_id)
    if link is None:
        raise TenantLinkNotFound()
    return link


def user_link_id(company_id: str, herp_account_id: str, tenant_id: str, oid: str) -> str:
    """One link per (HERP account, Microsoft account): linking the pair again keeps its id."""
    digest = hashlib.sha256("\n".join((company_id, herp_account_id, tenant_id, oid)).encode()).hexdigest()
    return "ul_" + digest[:32]


def ensure_user_link(company_id: str, herp_account_id: str, tenant_id: str, oid: str, via: str) -> UserLink:
    repo = UserLinks()
    link_id = user_link_id(company_id, herp_account_id, tenant_id, oid)
    link = repo.get(company_id, link_id)
    if link is not None:
        if via == Via.TENANT_ADMIN and link.via != via:
            link.via = via
            repo.save(link)
        return link
    return repo.save(
        UserLink(
            company_id=company_id,
            link_id=link_id,
            herp_account_id=herp_account_id,
            tenant_id=tenant_id,
            account_id=oid,
            via=via,
            linked_at=utcnow(),
        )
    )


def save_admin_link(
    company_id: str, tenant_id: str, tenant_name: str, admin: Account, herp_account_id: str
) -> TenantLink:
    """The tenant link with a (new) admin credential, status active.

    Written last: the Microsoft account and the admin's user link already exist, so a failure
    here leaves nothing visible, and a new attempt overwrites what was written.
    """
    repo = TenantLinks()

    def load() -> TenantLink:  # the stored link, or a new one (no ETag: created)
        return repo.get(company_id, tenant_id) or TenantLink(
            company_id=company_id,
            tenant_id=tenant_id,
            tenant_name=tenant_name,
            status=TenantStatus.ACTIVE,
            admin=admin,
            linked_by=herp_account_id,
            linked_at=utcnow(),
        )

    def change(link: TenantLink) -> bool:
        if link.etag is None:
            return True
        if link.status == TenantStatus.UNLINKING:
            raise NotFound("This Microsoft 365 tenant is being unlinked.")
        link.tenant_name, link.admin = tenant_name or link.tenant_name, admin
        link.status, link.renewed_at = TenantStatus.ACTIVE, utcnow()
        return True

    # Retries run out only under a storm of writes: a 409 the confirm may repeat (all idempotent).
    saved = base.update(load, change, lambda link: repo.save(link, create=link.etag is None))
    assert saved is not None
    return saved


def finish_pending_unlink(company_id: str, tenant_id: str) -> None:
    """An interrupted unlink of this tenant is completed before the tenant is linked again."""
    link = TenantLinks().get(company_id, tenant_id)
    if link is not None and link.status == TenantStatus.UNLINKING:
        unlink(company_id, tenant_id)


def unlink(company_id: str, tenant_id: str) -> None:
    """Remove the tenant link and, first, every user link and Microsoft account of it.

    The link is marked `unlinking` before the cascade, so it disappears from reads at once and
    a repeat after an interruption finishes the job. The tenant's room cache goes too when no
    other company links the tenant. Events already in Outlook stay there.
    """
    repo = TenantLinks()
    link = repo.get(company_id, tenant_id)
    if link is None:
        raise TenantLinkNotFound()

    def mark_unlinking(row: TenantLink) -> bool:
        if row.status == TenantStatus.UNLINKING:
            return False
        row.status = TenantStatus.UNLINKING
        return True

    # Gone meanwhile: a twin unlink finished. Retries run out: a 409 the admin may repeat.
    if base.update(lambda: repo.get(company_id, tenant_id), mark_unlinking, repo.save, first=link) is None:
        return
    links = UserLinks().delete_tenant(company_id, tenant_id)
    with ThreadPoolExecutor(max_workers=8) as pool:  # while the credentials can still delete them in Graph
        list(pool.map(reactions.account_unlinking, MicrosoftAccounts().of_tenant(company_id, tenant_id)))
    accounts = MicrosoftAccounts().delete_tenant(company_id, tenant_id)
    reactions.tenant_unlinked(company_id, tenant_id)
    repo.delete(company_id, tenant_id)
    log.info("tenant %s unlinked: %d user links and %d Microsoft accounts removed", tenant_id, links, accounts)
