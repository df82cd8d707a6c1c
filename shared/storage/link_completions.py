"""Pending link completions: PartitionKey = SHA-256 of the code,
RowKey `completion`.

The code itself is never stored, so reading the table confirms nothing. What the sign-in
produced (profile, tenant name, MSAL token cache) is sealed by the use case, bound to the row's
keys. A confirm claims the row for a short lease under its ETag (the loser of a race gets 412),
commits, then deletes it; a failed commit releases the claim, so its starter can try again.
"""

from __future__ import annotations

from datetime import datetime

from shared.models import LinkCompletion, iso, parse_iso, parse_iso_required
from shared.storage import base
from shared.storage.base import ConcurrentUpdate

TABLE = "LinkCompletions"
ROW_KEY = "completion"


def from_entity(e) -> LinkCompletion:
    return LinkCompletion(
        code_hash=e["PartitionKey"],
        flow=e["flow"],
        company_id=e["company_id"],
        herp_account_id=e["herp_account_id"],
        tenant_id=e["tenant_id"],
        expires_at=parse_iso_required(e["expires_at"]),
        sealed_result=e.get("sealed_result") or "",
        claimed_until=parse_iso(e.get("claimed_until")),
        etag=base.etag_of(e),
    )


def to_entity(c: LinkCompletion) -> dict:
    return {
        "PartitionKey": c.code_hash,  # hex digest: nothing to escape
        "RowKey": ROW_KEY,
        "flow": c.flow,
        "company_id": c.company_id,
        "herp_account_id": c.herp_account_id,
        "tenant_id": c.tenant_id,
        "expires_at": iso(c.expires_at),
        "sealed_result": c.sealed_result,
        "claimed_until": iso(c.claimed_until),
    }


class LinkCompletions:
    def create(self, completion: LinkCompletion) -> LinkCompletion:
        completion.etag = base.write(TABLE, to_entity(completion), None, create=True)
        return completion

    def get(self, code_hash: str) -> LinkCompletion | None:
        entity = base.read(TABLE, code_hash, ROW_KEY)
        return from_entity(entity) if entity is not None else None

    def claim(self, completion: LinkCompletion, now: datetime, until: datetime) -> bool:
        """Take the row for a commit until `until`; False when another confirm holds it or won
        the race (412). Not a conditional delete: the SDK's delete_entity is silent on 404, so
        two racers could both "succeed"."""
        if completion.claimed_until is not None and completion.claimed_until > now:
            return False
        completion.claimed_until = until
        try:
            completion.etag = base.write(TABLE, to_entity(completion), completion.etag)
        except ConcurrentUpdate:
            return False
        return True

    def release(self, completion: LinkCompletion) -> None:
        """Give a claimed row back (its commit failed); a lost race here means it is gone or
        claimed anew, and the lease ends by itself anyway."""
        completion.claimed_until = None
        try:
            completion.etag = base.write(TABLE, to_entity(completion), completion.etag)
        except ConcurrentUpdate:
            pass

    def delete(self, code_hash: str) -> None:
        base.delete(TABLE, code_hash, ROW_KEY)

    def delete_expired(self, before: datetime) -> int:
        """Remove completions nobody confirmed in time."""
        return base.delete_expired(TABLE, before)
