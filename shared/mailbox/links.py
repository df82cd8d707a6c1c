"""The caller's own user link (the mailbox a caller may act with) and what is remembered of its
account's calendars: shared by every use case that talks to a linked user's mailbox."""

from __future__ import annotations

from shared.auth import Caller
from shared.errors import LinkNotFound
from shared.models import UserLink
from shared.storage.base import ConcurrentUpdate
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks


def own_link(caller: Caller, link_id: str) -> UserLink:
    """The caller's link `link_id`; someone else's (or none) is LinkNotFound, alike."""
    link = UserLinks().get(caller.company_id, link_id) if link_id else None
    if link is None or link.herp_account_id != caller.account_id:
        raise LinkNotFound()
    if TenantLinks().get_linked(caller.company_id, link.tenant_id) is None:
        raise LinkNotFound()
    return link


def remember_calendars(company_id: str, tenant_id: str, oid: str, calendars: list[dict]) -> None:
    """Keep each calendar's Teams capability (and the default calendar) on the account row."""
    repo = MicrosoftAccounts()
    account = repo.get(company_id, tenant_id, oid)
    if account is None:
        return
    known = dict(account.calendars or {"teams": {}})
    teams = dict(known.get("teams", {}))
    for c in calendars:
        teams[c["id"]] = "teamsForBusiness" in (c.get("allowedOnlineMeetingProviders") or [])
        if c.get("isDefaultCalendar"):
            known["default"] = c["id"]
    known["teams"] = teams
    if known == account.calendars:
        return
    account.calendars = known
    try:
        repo.save(account)
    except ConcurrentUpdate:
        pass  # a token refresh won the row; the capability is learned again next time
