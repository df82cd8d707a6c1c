"""The events table: HERP schedule -> Outlook event mapping (PartitionKey company_id, RowKey
schedule_id escaped). The normalised input is kept as JSON split over several properties
(a Table string property holds at most 64 KiB)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from shared.models import iso, parse_iso
from shared.storage import tables
from shared.storage.repositories import _etag, _get, _write
from shared.storage.tables import escape_key, unescape_key

CREATING, ACTIVE, CANCELLED = "creating", "active", "cancelled"
# A string property holds at most 64 KiB of UTF-16 (32,768 units; a character outside the BMP
# takes two), an entity at most 1 MiB: 16,000 characters a property, at most 15 of them.
_CHUNK = 16000
_MAX_CHUNKS = 15


@dataclass
class EventRecord:
    company_id: str
    schedule_id: str
    link_id: str
    tenant_id: str
    account_id: str
    calendar_id: str | None
    transaction_id: str
    input_hash: str
    input_json: str
    status: str = CREATING
    graph_event_id: str | None = None
    ical_uid: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    locked_until: datetime | None = None
    # Rows made before ids were asked immutable hold a default id (changes on a move); migrated on use.
    immutable_id: bool = False
    # The room names the POST carried, so a retry of a create of unknown outcome rebuilds the very same payload.
    room_names: dict | None = None
    etag: str | None = None


def _entity(r: EventRecord) -> dict:
    chunks = [r.input_json[i:i + _CHUNK] for i in range(0, len(r.input_json), _CHUNK)] or [""]
    if len(chunks) > _MAX_CHUNKS:
        raise ValueError("event input too large to store")
    entity = {
        "PartitionKey": escape_key(r.company_id), "RowKey": escape_key(r.schedule_id),
        "link_id": r.link_id, "tenant_id": r.tenant_id, "account_id": r.account_id, "calendar_id": r.calendar_id,
        "transaction_id": r.transaction_id, "input_hash": r.input_hash, "input_chunks": len(chunks),
        "status": r.status, "graph_event_id": r.graph_event_id, "ical_uid": r.ical_uid,
        "created_at": iso(r.created_at), "updated_at": iso(r.updated_at), "locked_until": iso(r.locked_until),
        "immutable_id": r.immutable_id,
        "room_names": json.dumps(r.room_names, ensure_ascii=False, sort_keys=True) if r.room_names is not None else None,
    }
    entity.update({f"input_{n}": chunk for n, chunk in enumerate(chunks)})
    return entity


def _record(e) -> EventRecord:
    return EventRecord(
        company_id=unescape_key(e["PartitionKey"]), schedule_id=unescape_key(e["RowKey"]),
        link_id=e["link_id"], tenant_id=e["tenant_id"], account_id=e["account_id"], calendar_id=e.get("calendar_id"),
        transaction_id=e["transaction_id"], input_hash=e["input_hash"],
        input_json="".join(e.get(f"input_{n}") or "" for n in range(int(e.get("input_chunks") or 0))),
        status=e.get("status") or CREATING, graph_event_id=e.get("graph_event_id"), ical_uid=e.get("ical_uid"),
        created_at=parse_iso(e.get("created_at")), updated_at=parse_iso(e.get("updated_at")),
        locked_until=parse_iso(e.get("locked_until")), immutable_id=bool(e.get("immutable_id")),
        room_names=json.loads(e["room_names"]) if e.get("room_names") else None, etag=_etag(e),
    )


class Events:
    table = tables.EVENTS

    def get(self, company_id: str, schedule_id: str) -> EventRecord | None:
        e = _get(self.table, company_id, schedule_id)
        return _record(e) if e else None

    def create(self, record: EventRecord) -> EventRecord:
        """Reserve the schedule id (ConcurrentUpdate when it exists)."""
        record.etag = _write(self.table, _entity(record), None, create=True)
        return record

    def save(self, record: EventRecord) -> EventRecord:
        """Replace under the record's ETag (ConcurrentUpdate when it changed meanwhile)."""
        record.etag = _write(self.table, _entity(record), record.etag)
        return record

    def delete(self, company_id: str, schedule_id: str) -> None:
        tables.table(self.table).delete_entity(escape_key(company_id), escape_key(schedule_id))
