"""Use cases of user-level links (Personal settings > External service accounts > Outlook) and
the calendars a linked user can pick."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shared import graph, reactions
from shared.auth import Caller
from shared.errors import DomainError, LinkNotFound, ReauthRequired
from shared.mailbox import credentials
from shared.mailbox.links import own_link, remember_calendars
from shared.models import Account, AccountStatus, MicrosoftAccount, UserLink, iso
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks

log = logging.getLogger("outlook.user_links")

CALENDAR_FIELDS = "id,name,isDefaultCalendar,canEdit,allowedOnlineMeetingProviders,owner"
MAX_PARALLEL_ACCOUNTS = 8


def link_json(link: UserLink, account: MicrosoftAccount | None) -> dict:
    profile = account.account if account else Account(link.account_id, "", "")
    return {
        "link_id": link.link_id,
        "account": profile.to_json(),
        "linked_at": iso(link.linked_at),
        "via": link.via,
        "status": account.status
        if account and account.status == AccountStatus.REAUTH_REQUIRED
        else AccountStatus.ACTIVE,
    }


def _accounts_by_key(company_id: str) -> dict[str, MicrosoftAccount]:
    return {a.key: a for a in MicrosoftAccounts().list(company_id)}


def list_links(caller: Caller, *, company_wide: bool = False) -> list[dict]:
    """Every linked tenant of the company, each with the caller's own links; `company_wide`
    (an admin's view, the route checks the role): every member's links, each naming its
    `herp_account_id`."""
    tenants = TenantLinks().list_linked(caller.company_id)
    if company_wide:
        shown = UserLinks().of_company(caller.company_id)
    else:
        shown = UserLinks().of_herp_account(caller.company_id, caller.account_id)
    accounts = _accounts_by_key(caller.company_id) if shown else {}

    def entry(link: UserLink) -> dict:
        body = link_json(link, accounts.get(f"{link.tenant_id}:{link.account_id}"))
        return {**body, "herp_account_id": link.herp_account_id} if company_wide else body

    out = []
    for tenant in tenants:
        links = sorted((l for l in shown if l.tenant_id == tenant.tenant_id), key=lambda l: l.linked_at)
        out.append(
            {
                "tenant_id": tenant.tenant_id,
                "tenant_name": tenant.tenant_name,
                "status": tenant.status,
                "links": [entry(l) for l in links],
            }
        )
    return out


def _removable_link(caller: Caller, link_id: str) -> UserLink:
    """The caller's own link; for an admin, any link of the company (a leaver's, or the tenant
    admin's `via: tenant_admin` one). Anything else is LinkNotFound."""
    if not caller.is_admin:
        return own_link(caller, link_id)
    link = UserLinks().get(caller.company_id, link_id) if link_id else None
    if link is None:
        raise LinkNotFound()
    return link


def delete_link(caller: Caller, link_id: str) -> None:
    """Remove the link (the caller's own; an admin's: any of the company); the account's token
    cache goes with the last link using it, unless the account is the tenant's admin credential
    (needed for the room cache)."""
    link = _removable_link(caller, link_id)
    UserLinks().delete(caller.company_id, link.link_id)
    if UserLinks().of_microsoft_account(caller.company_id, link.tenant_id, link.account_id):
        return
    tenant = TenantLinks().get(caller.company_id, link.tenant_id)
    if tenant is not None and tenant.admin.id == link.account_id:
        return
    account = MicrosoftAccounts().get(caller.company_id, link.tenant_id, link.account_id)
    if account is not None:
        reactions.account_unlinking(account)  # while its credential can still delete them in Graph
    MicrosoftAccounts().delete(caller.company_id, link.tenant_id, link.account_id)


@dataclass(frozen=True)
class CalendarChoice:
    """A calendar of one of the caller's links, and what it allows."""

    link_id: str
    account: Account
    calendar_id: str
    name: str
    is_default: bool
    can_edit: bool
    teams_available: bool

    def to_json(self) -> dict:
        return {
            "link_id": self.link_id,
            "account": self.account.to_json(),
            "calendar_id": self.calendar_id,
            "name": self.name,
            "is_default": self.is_default,
            "can_edit": self.can_edit,
            "teams_available": self.teams_available,
        }


@dataclass(frozen=True)
class Calendars:
    """The calendars of the caller's links, and the links that could not be read (`errors`)."""

    calendars: list[CalendarChoice]
    errors: list[tuple[str, DomainError]]  # (link_id, why)

    def to_json(self) -> dict:
        return {
            "calendars": [c.to_json() for c in self.calendars],
            "errors": [{"link_id": link_id, "code": e.code, "message": e.message} for link_id, e in self.errors],
        }


def _calendars_of(link: UserLink, account: MicrosoftAccount) -> list[CalendarChoice]:
    box = credentials.Mailbox(account)  # the row read for the whole listing; no second read
    items = list(graph.items(graph.pages(box.get, "/me/calendars", params={"$select": CALENDAR_FIELDS, "$top": "50"})))
    remember_calendars(link.company_id, link.tenant_id, link.account_id, items)
    # /me/calendars also lists calendars other mailboxes share with the user (resources/calendar.md:
    # `owner`); writing there needs the .Shared scopes we do not ask for, so they are not writable
    # targets. The default calendar is always the user's own, so its owner is the user's address.
    own = next(((c.get("owner") or {}).get("address", "").lower() for c in items if c.get("isDefaultCalendar")), "")

    def writable(c: dict) -> bool:
        owner = ((c.get("owner") or {}).get("address") or "").lower()
        return bool(c.get("canEdit")) and (not owner or not own or owner == own)

    return [
        CalendarChoice(
            link_id=link.link_id,
            account=account.account,
            calendar_id=c["id"],
            name=c.get("name") or "",
            is_default=bool(c.get("isDefaultCalendar")),
            can_edit=writable(c),
            teams_available="teamsForBusiness" in (c.get("allowedOnlineMeetingProviders") or []),
        )
        for c in items
    ]


def calendars(caller: Caller) -> Calendars:
    """Calendars of each of the caller's active links, fetched concurrently. An account that
    fails (dead credential, Graph down) is reported in `errors` and does not fail the rest."""
    tenants = {t.tenant_id for t in TenantLinks().list_linked(caller.company_id)}
    accounts = _accounts_by_key(caller.company_id)
    links = [
        l
        for l in UserLinks().of_herp_account(caller.company_id, caller.account_id)
        if l.tenant_id in tenants and f"{l.tenant_id}:{l.account_id}" in accounts
    ]
    active = [l for l in links if accounts[f"{l.tenant_id}:{l.account_id}"].status != AccountStatus.REAUTH_REQUIRED]
    errors: list[tuple[str, DomainError]] = [
        (l.link_id, ReauthRequired("The Microsoft account must be linked again.")) for l in links if l not in active
    ]

    def fetch(link: UserLink):
        try:
            return link, _calendars_of(link, accounts[f"{link.tenant_id}:{link.account_id}"]), None
        except DomainError as exc:
            return link, [], exc

    found: list[CalendarChoice] = []
    if active:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_ACCOUNTS, len(active))) as pool:
            for link, items, exc in pool.map(fetch, active):
                found.extend(items)
                if exc is not None:
                    errors.append((link.link_id, exc))
    return Calendars(found, errors)
