"""Pending link completions (DESIGN.md "Link completion"): PartitionKey = SHA-256 of the code,
RowKey `completion`.

The code itself is never stored, so reading the table confirms nothing. What the sign-in
produced (profile, tenant name, MSAL token cache) is sealed by the use case, bound to the row's
keys. A confirm claims the row for a short lease under its ETag (the loser of a race gets 412),
commits, then deletes it; a failed commit releases the claim, so its starter can try again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.models import iso, parse_iso
from shared.storage import tables
from shared.storage.repositories import ConcurrentUpdate, _delete, _etag, _get, _write, delete_expired


@dataclass
class LinkCompletion:
    """The verified result of a link flow's last leg, waiting for its starter to confirm it."""

    code_hash: str
    flow: str
    company_id: str
    herp_account_id: str
    tenant_id: str
    expires_at: datetime
    sealed_result: str = ""  # shared.crypto blob, bound to (table, code_hash, ROW_KEY)
    claimed_until: datetime | None = None  # a confirm is committing it until then
    etag: str | None = None


def _from(e) -> LinkCompletion:
    return LinkCompletion(
        code_hash=e["PartitionKey"],
        flow=e["flow"],
        company_id=e["company_id"],
        herp_account_id=e["herp_account_id"],
        tenant_id=e["tenant_id"],
        expires_at=parse_iso(e["expires_at"]),
        sealed_result=e.get("sealed_result") or "",
        claimed_until=parse_iso(e.get("claimed_until")),
        etag=_etag(e),
    )


def _entity(c: LinkCompletion) -> dict:
    return {
        "PartitionKey": c.code_hash,  # hex digest: nothing to escape
        "RowKey": LinkCompletions.ROW_KEY,
        "flow": c.flow,
        "company_id": c.company_id,
        "herp_account_id": c.herp_account_id,
        "tenant_id": c.tenant_id,
        "expires_at": iso(c.expires_at),
        "sealed_result": c.sealed_result,
        "claimed_until": iso(c.claimed_until),
    }


class LinkCompletions:
    table = tables.LINK_COMPLETIONS
    ROW_KEY = "completion"

    def create(self, completion: LinkCompletion) -> LinkCompletion:
        completion.etag = _write(self.table, _entity(completion), None, create=True)
        return completion

    def get(self, code_hash: str) -> LinkCompletion | None:
        entity = _get(self.table, code_hash, self.ROW_KEY)
        return _from(entity) if entity is not None else None

    def claim(self, completion: LinkCompletion, now: datetime, until: datetime) -> bool:
        """Take the row for a commit until `until`; False when another confirm holds it or won
        the race (412). Not a conditional delete: the SDK's delete_entity is silent on 404, so
        two racers could both "succeed" (DESIGN.md "Storage")."""
        if completion.claimed_until is not None and completion.claimed_until > now:
            return False
        completion.claimed_until = until
        try:
            completion.etag = _write(self.table, _entity(completion), completion.etag)
        except ConcurrentUpdate:
            return False
        return True

    def release(self, completion: LinkCompletion) -> None:
        """Give a claimed row back (its commit failed); a lost race here means it is gone or
        claimed anew, and the lease ends by itself anyway."""
        completion.claimed_until = None
        try:
            completion.etag = _write(self.table, _entity(completion), completion.etag)
        except ConcurrentUpdate:
            pass

    def delete(self, code_hash: str) -> None:
        _delete(self.table, code_hash, self.ROW_KEY)

    def delete_expired(self, before: datetime) -> int:
        """Remove completions nobody confirmed in time."""
        return delete_expired(self.table, before)
