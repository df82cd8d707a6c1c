"""A company's data deletion (CONTRACT 8 `DELETE /api/outlook/company-data`): every record of
the company goes (links and their Graph subscriptions, event mappings, holds, changes,
completions, states); the events in Outlook stay, and so does the audit log, for its retention.

The route checks the confirmation and queues one message; the queue work is a run of deletes
that are each safe to repeat, so a run that fails part-way is simply run again by the host
(resumable). The deletion itself is one audit entry (`company.delete`), written when done.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from shared import correlation, reactions
from shared.auth import Caller
from shared.errors import ValidationFailed
from shared.storage import (
    base,
    changes,
    event_ids,
    events,
    holds,
    link_completions,
    microsoft_accounts,
    oauth_states,
    queues,
    tenant_links,
    user_links,
)
from shared.storage.audit import AuditEntry, AuditLog
from shared.storage.deliveries import Deliveries
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.subscriptions import Subscriptions
from shared.storage.tenant_links import TenantLinks

log = logging.getLogger("outlook.company_data")

# Tables whose PartitionKey is the company id, the links last (until then the run can find them).
COMPANY_TABLES = (
    events.TABLE,
    event_ids.TABLE,
    holds.TABLE,
    changes.TABLE,
    user_links.TABLE,
    microsoft_accounts.TABLE,
    tenant_links.TABLE,
)


def request(caller: Caller, body: dict) -> None:
    """Queue the deletion when `confirm` is the caller's company id (422 otherwise, nothing deleted)."""
    if body.get("confirm") != caller.company_id:
        raise ValidationFailed(
            "confirm must be your company id: every Outlook record of the company is deleted.",
            code="confirmation_mismatch",
        )
    queues.enqueue(queues.COMPANY_DATA, {"company_id": caller.company_id, "actor": caller.account_id})
    log.info("deletion of a company's data queued")


def delete(company_id: str, actor: str) -> None:
    """Delete every record of the company (each step repeatable), then audit it."""
    with correlation.acting_as(actor):
        tenants = [link.tenant_id for link in TenantLinks().list(company_id)]
        for account in MicrosoftAccounts().list(company_id):
            reactions.account_unlinking(account)  # its subscriptions, deleted in Graph too
        for sub in Subscriptions().of_company(company_id):  # any the account rows no longer point to
            Subscriptions().delete(sub.id)
        for name in COMPANY_TABLES:
            base.delete_partition(name, company_id)
        for name in (oauth_states.TABLE, link_completions.TABLE):
            base.delete_where(name, "company_id eq @c", c=company_id)
        Deliveries().delete(company_id)
        for tenant_id in tenants:
            reactions.tenant_unlinked(company_id, tenant_id)  # the room cache, unless another company links it
        AuditLog().add(
            AuditEntry(
                company_id=company_id,
                at=datetime.now(UTC),
                actor=correlation.actor(),
                operation="company.delete",
                mailbox=None,
                outcome="ok",
            )
        )
    log.info("a company's data was deleted (%d tenant links)", len(tenants))
