"""Single-use states of sign-in flow legs: PartitionKey state id, RowKey `state`."""

from __future__ import annotations

from datetime import datetime

from shared.models import OAuthState, iso, parse_iso_required
from shared.storage import base
from shared.storage.base import ConcurrentUpdate, escape_key, unescape_key

TABLE = "OAuthStates"
ROW_KEY = "state"


def from_entity(e) -> OAuthState:
    return OAuthState(
        state_id=unescape_key(e["PartitionKey"]),
        flow=e["flow"],
        leg=e["leg"],
        company_id=e["company_id"],
        herp_account_id=e["herp_account_id"],
        tenant_id=e.get("tenant_id"),
        expires_at=parse_iso_required(e["expires_at"]),
        auth_flow=e.get("auth_flow"),
        used=bool(e.get("used")),
        etag=base.etag_of(e),
    )


def to_entity(state: OAuthState) -> dict:
    return {
        "PartitionKey": escape_key(state.state_id),
        "RowKey": ROW_KEY,
        "flow": str(state.flow),
        "leg": str(state.leg),
        "company_id": state.company_id,
        "herp_account_id": state.herp_account_id,
        "tenant_id": state.tenant_id,
        "expires_at": iso(state.expires_at),
        "auth_flow": state.auth_flow,
        "used": state.used,
    }


class OAuthStates:
    def create(self, state: OAuthState) -> OAuthState:
        state.etag = base.write(TABLE, to_entity(state), None, create=True)
        return state

    def consume(self, state_id: str) -> OAuthState | None:
        """Take a state exactly once: None when unknown or already taken (also by a racing request).

        The row is first marked used under its ETag (a racing consumer gets 412 and loses), then
        deleted. A conditional delete alone would not do: the SDK's delete_entity is silent on
        404, so two racers could both "succeed".
        """
        entity = base.read(TABLE, state_id, ROW_KEY)
        if entity is None:
            return None
        state = from_entity(entity)
        if state.used:
            return None
        state.used = True
        try:
            base.write(TABLE, to_entity(state), state.etag)
        except ConcurrentUpdate:
            return None
        base.delete(TABLE, state_id, ROW_KEY)
        return state

    def delete_expired(self, before: datetime) -> int:
        """Remove states that expired unused."""
        return base.delete_expired(TABLE, before)
