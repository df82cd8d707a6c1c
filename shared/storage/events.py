"""The events table: HERP schedule -> Outlook event mapping (PartitionKey company_id, RowKey
schedule_id escaped). The normalised input is kept as JSON split over several properties
(a Table string property holds at most 64 KiB)."""

from __future__ import annotations

import json

from shared.models import EventRecord, EventStatus, iso, parse_iso
from shared.storage import base
from shared.storage.base import escape_key, unescape_key

TABLE = "Events"
# A string property holds at most 64 KiB of UTF-16 (32,768 units; a character outside the BMP
# takes two), an entity at most 1 MiB: 16,000 characters a property, at most 15 of them.
CHUNK = 16000
MAX_CHUNKS = 15


def to_entity(r: EventRecord) -> dict:
    chunks = [r.input_json[i : i + CHUNK] for i in range(0, len(r.input_json), CHUNK)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise ValueError("event input too large to store")
    entity = {
        "PartitionKey": escape_key(r.company_id),
        "RowKey": escape_key(r.schedule_id),
        "link_id": r.link_id,
        "tenant_id": r.tenant_id,
        "account_id": r.account_id,
        "calendar_id": r.calendar_id,
        "transaction_id": r.transaction_id,
        "input_hash": r.input_hash,
        "input_chunks": len(chunks),
        "status": str(r.status),
        "graph_event_id": r.graph_event_id,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "locked_until": iso(r.locked_until),
        "immutable_id": r.immutable_id,
        "room_names": json.dumps(r.room_names, ensure_ascii=False, sort_keys=True)
        if r.room_names is not None
        else None,
    }
    entity.update({f"input_{n}": chunk for n, chunk in enumerate(chunks)})
    return entity


def from_entity(e) -> EventRecord:
    return EventRecord(
        company_id=unescape_key(e["PartitionKey"]),
        schedule_id=unescape_key(e["RowKey"]),
        link_id=e["link_id"],
        tenant_id=e["tenant_id"],
        account_id=e["account_id"],
        calendar_id=e.get("calendar_id"),
        transaction_id=e["transaction_id"],
        input_hash=e["input_hash"],
        input_json="".join(e.get(f"input_{n}") or "" for n in range(int(e.get("input_chunks") or 0))),
        status=e.get("status") or EventStatus.CREATING,
        graph_event_id=e.get("graph_event_id"),
        created_at=parse_iso(e.get("created_at")),
        updated_at=parse_iso(e.get("updated_at")),
        locked_until=parse_iso(e.get("locked_until")),
        immutable_id=bool(e.get("immutable_id")),
        room_names=json.loads(e["room_names"]) if e.get("room_names") else None,
        etag=base.etag_of(e),
    )


class Events:
    def get(self, company_id: str, schedule_id: str) -> EventRecord | None:
        e = base.read(TABLE, company_id, schedule_id)
        return from_entity(e) if e else None

    def create(self, record: EventRecord) -> EventRecord:
        """Reserve the schedule id (ConcurrentUpdate when it exists)."""
        record.etag = base.write(TABLE, to_entity(record), None, create=True)
        return record

    def save(self, record: EventRecord) -> EventRecord:
        """Replace under the record's ETag (ConcurrentUpdate when it changed meanwhile)."""
        record.etag = base.write(TABLE, to_entity(record), record.etag)
        return record

    def delete(self, company_id: str, schedule_id: str) -> None:
        base.delete(TABLE, company_id, schedule_id)
