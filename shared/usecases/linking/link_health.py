"""Links that never die silently (README "Links kept alive").

Entra refresh tokens die after 90 days unused (AADSTS700082), and earlier when an admin revokes
sessions, a password changes or the app is removed. `refresh_account` redeems one account's
refresh token (a forced refresh, not a cached access token), daily for every linked account, so
an idle link never dies of inactivity, and one that did die is found before anyone needs it.

Whatever finds a credential dead (this refresh, an event call, the room sync) goes through
`credential_died`: the account row moves to `reauth_required` under its ETag, and only the call
that made that move reports it: one `link.reauth_required` per user link of the account, and
for the tenant's admin credential one `tenant.renewal_required`. The Change ids derive from the
moment of death, so a retry after a crash reports the same Changes (stored once), and the
daily run re-reports a death whose report was interrupted (`reauth_reported` still false).
"""

from __future__ import annotations

import logging

from shared.errors import ReauthRequired
from shared.feed import changes
from shared.mailbox import credentials
from shared.models import AccountStatus, Change, ChangeType, MicrosoftAccount, TenantLink, TenantStatus, iso, utcnow
from shared.storage import queues
from shared.storage.base import ConcurrentUpdate
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks
from shared.usecases.linking.user_links import link_json

log = logging.getLogger("outlook.links")


def credential_died(account: MicrosoftAccount) -> None:
    """The account's credential was refused for good: mark it and report it, once."""
    since = utcnow()
    moved = False

    def change(row: MicrosoftAccount) -> bool:
        nonlocal moved
        if row.status == AccountStatus.REAUTH_REQUIRED:
            moved = False
            return False  # someone else found it first: theirs is the report
        row.status, row.reauth_since, row.reauth_reported, row.updated_at = (
            AccountStatus.REAUTH_REQUIRED,
            since,
            False,
            since,
        )
        moved = True
        return True

    repo = MicrosoftAccounts()
    try:
        saved = repo.update(account.company_id, account.tenant_id, account.account.id, change)
    except ConcurrentUpdate:
        log.warning("reauth_required of an account in tenant %s not recorded: the row kept changing", account.tenant_id)
        return
    if saved is not None and moved:
        report_death(saved)


def report_death(account: MicrosoftAccount) -> None:
    """The Changes of one death (idempotent), then the row says they are in the feed."""
    when = account.reauth_since or utcnow()
    found = [
        Change(
            id=changes.change_id(
                ChangeType.LINK_REAUTH_REQUIRED, account.company_id, account.key, iso(when) or "", link.link_id
            ),
            company_id=account.company_id,
            type=ChangeType.LINK_REAUTH_REQUIRED,
            occurred_at=when,
            link=link_json(link, account),
        )
        for link in UserLinks().of_microsoft_account(account.company_id, account.tenant_id, account.account.id)
    ]
    changes.record(found)
    tenant = TenantLinks().get_linked(account.company_id, account.tenant_id)
    if tenant is not None and tenant.admin.id == account.account.id:
        tenant_needs_renewal(
            account.company_id,
            account.tenant_id,
            rooms_last_error="The tenant admin's sign-in is no longer valid; renew the link.",
        )

    def reported(row: MicrosoftAccount) -> bool:
        if row.reauth_since != account.reauth_since or row.reauth_reported:
            return False  # relinked (and maybe dead again) meanwhile, or already marked
        row.reauth_reported = True
        return True

    try:
        MicrosoftAccounts().update(account.company_id, account.tenant_id, account.account.id, reported)
    except ConcurrentUpdate:
        pass  # the daily run reports it again, with the same ids (nothing doubles)
    log.warning(
        "credential of an account in tenant %s died: %d user links need a relink", account.tenant_id, len(found)
    )


def tenant_needs_renewal(company_id: str, tenant_id: str, **fields) -> None:
    """Move the tenant link to `renewal_required` (with `fields`, e.g. rooms_last_error); the
    call that makes the move reports `tenant.renewal_required`."""
    moved = False

    def change(link: TenantLink) -> bool:
        nonlocal moved
        moved = link.status == TenantStatus.ACTIVE
        link.status = TenantStatus.RENEWAL_REQUIRED
        for name, value in fields.items():
            setattr(link, name, value)
        return True

    try:
        saved = TenantLinks().update_linked(company_id, tenant_id, change)
    except ConcurrentUpdate:
        log.warning("renewal_required of tenant %s not recorded: the link kept changing", tenant_id)
        return
    if saved is None or not moved:
        return
    since = saved.renewed_at or saved.linked_at
    changes.record(
        [
            Change(
                id=changes.change_id(ChangeType.TENANT_RENEWAL_REQUIRED, company_id, tenant_id, iso(since) or ""),
                company_id=company_id,
                type=ChangeType.TENANT_RENEWAL_REQUIRED,
                occurred_at=utcnow(),
                tenant_id=tenant_id,
            )
        ]
    )
    log.warning("tenant %s needs its link renewed", tenant_id)


def fan_out() -> int:
    """One `credential-refresh` message per linked Microsoft account (the daily timer's job)."""
    messages = (
        {"company_id": company, "tenant_id": tenant, "oid": oid}
        for company, tenant, oid, _status, _subs in MicrosoftAccounts().all()
    )
    return queues.enqueue_many(queues.CREDENTIALS, messages)


def refresh_account(company_id: str, tenant_id: str, oid: str) -> str:
    """Redeem the account's refresh token once; what became of it (for the log). Transient
    trouble raises (the queue retries); a dead credential is recorded by `credential_died`."""
    account = MicrosoftAccounts().get(company_id, tenant_id, oid)
    if account is None or not account.token_cache:
        return "gone"
    if account.status == AccountStatus.REAUTH_REQUIRED:
        if not account.reauth_reported:
            report_death(account)
        return "reauth_required"
    try:
        credentials.Mailbox(account).token(force_refresh=True)
    except ReauthRequired:
        return "died"
    return "refreshed"
