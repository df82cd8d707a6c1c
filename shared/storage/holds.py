"""The holds table (PartitionKey company_id, RowKey hold_id escaped): each hold's input and the
immutable ids of its Outlook hold events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from shared.models import HoldRecord, HoldStatus, iso, parse_iso, parse_iso_required
from shared.storage import base
from shared.storage.base import escape_key, unescape_key
from shared.storage.connection import table

TABLE = "Holds"


def to_entity(r: HoldRecord) -> dict:
    return {
        "PartitionKey": escape_key(r.company_id),
        "RowKey": escape_key(r.hold_id),
        "link_id": r.link_id,
        "tenant_id": r.tenant_id,
        "account_id": r.account_id,
        "created_by": r.created_by,
        "input_hash": r.input_hash,
        **base.text_parts("input", r.input_json),
        "expires_at": iso(r.expires_at),
        "status": str(r.status),
        **base.text_parts("events", r.events_json),
        "placed": r.placed,
        "schedule_id": r.schedule_id,
        "confirm_slot_id": r.confirm_slot_id,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
    }


def from_entity(e) -> HoldRecord:
    return HoldRecord(
        company_id=unescape_key(e["PartitionKey"]),
        hold_id=unescape_key(e["RowKey"]),
        link_id=e["link_id"],
        tenant_id=e["tenant_id"],
        account_id=e["account_id"],
        created_by=e.get("created_by") or "",
        input_hash=e["input_hash"],
        input_json=base.joined_text(e, "input") or "",
        expires_at=parse_iso_required(e["expires_at"]),
        status=e.get("status") or HoldStatus.HELD,
        events_json=base.joined_text(e, "events") or "{}",
        placed=bool(e.get("placed")),
        schedule_id=e.get("schedule_id"),
        confirm_slot_id=e.get("confirm_slot_id"),
        created_at=parse_iso(e.get("created_at")),
        updated_at=parse_iso(e.get("updated_at")),
        etag=base.etag_of(e),
    )


class Holds:
    def get(self, company_id: str, hold_id: str) -> HoldRecord | None:
        e = base.read(TABLE, company_id, hold_id)
        return from_entity(e) if e else None

    def create(self, record: HoldRecord) -> HoldRecord:
        """Reserve the hold id (ConcurrentUpdate when it exists)."""
        record.etag = base.write(TABLE, to_entity(record), None, create=True)
        return record

    def save(self, record: HoldRecord) -> HoldRecord:
        """Replace under the record's ETag (ConcurrentUpdate when it changed meanwhile)."""
        record.etag = base.write(TABLE, to_entity(record), record.etag)
        return record

    def delete(self, company_id: str, hold_id: str) -> None:
        base.delete(TABLE, company_id, hold_id)

    def expired(self, before: datetime) -> Iterator[HoldRecord]:
        """Holds still `held` whose expiry has come by `before`, across companies (the expiry timer).
        Expiries are stored to the second, so one in `before`'s own second has come (`le`)."""
        rows = table(TABLE).query_entities(
            "status eq @held and expires_at le @t", parameters={"held": str(HoldStatus.HELD), "t": iso(before)}
        )
        return (from_entity(e) for e in rows)
