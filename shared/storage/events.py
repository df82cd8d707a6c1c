"""The events table: HERP schedule -> Outlook event mapping (PartitionKey company_id, RowKey
schedule_id escaped). The normalised input is kept as JSON split over several properties
(a Table string property holds at most 64 KiB)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from shared.models import EventRecord, EventStatus, iso, parse_iso
from shared.storage import base
from shared.storage.base import escape_key, unescape_key
from shared.storage.connection import table

TABLE = "Events"


def to_entity(r: EventRecord) -> dict:
    return {
        "PartitionKey": escape_key(r.company_id),
        "RowKey": escape_key(r.schedule_id),
        "link_id": r.link_id,
        "tenant_id": r.tenant_id,
        "account_id": r.account_id,
        "calendar_id": r.calendar_id,
        "transaction_id": r.transaction_id,
        "input_hash": r.input_hash,
        "status": str(r.status),
        "graph_event_id": r.graph_event_id,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "locked_until": iso(r.locked_until),
        "immutable_id": r.immutable_id,
        "room_names": json.dumps(r.room_names, ensure_ascii=False, sort_keys=True)
        if r.room_names is not None
        else None,
        **base.text_parts("input", r.input_json),
        **base.text_parts("outlook", r.outlook_json),
        "checked_at": r.checked_at.isoformat() if r.checked_at else None,  # to the microsecond
        "comparing_until": r.comparing_until.isoformat() if r.comparing_until else None,
        "change_keys": json.dumps(list(r.change_keys)) if r.change_keys else None,
        **base.text_parts("outbox", r.outbox_json),
        "fallback": r.fallback_json,
        "created_by": r.created_by,
    }


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
        input_json=base.joined_text(e, "input") or "",
        status=e.get("status") or EventStatus.CREATING,
        graph_event_id=e.get("graph_event_id"),
        created_at=parse_iso(e.get("created_at")),
        updated_at=parse_iso(e.get("updated_at")),
        locked_until=parse_iso(e.get("locked_until")),
        immutable_id=bool(e.get("immutable_id")),
        room_names=json.loads(e["room_names"]) if e.get("room_names") else None,
        outlook_json=base.joined_text(e, "outlook"),
        checked_at=parse_iso(e.get("checked_at")),
        comparing_until=parse_iso(e.get("comparing_until")),
        change_keys=tuple(json.loads(e["change_keys"])) if e.get("change_keys") else (),
        outbox_json=base.joined_text(e, "outbox"),
        fallback_json=e.get("fallback"),
        created_by=e.get("created_by"),
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

    def every(self) -> Iterator[EventRecord]:
        """Every row of every company, paged (the daily retention run)."""
        for e in table(TABLE).list_entities(results_per_page=1000):
            yield from_entity(e)

    def update(self, company_id: str, schedule_id: str, change, *, first: EventRecord | None = None):
        """`change` the row under its ETag (base.update); None when it is gone."""
        return base.update(lambda: self.get(company_id, schedule_id), change, self.save, first=first)

    def of_account(self, company_id: str, tenant_id: str, oid: str) -> list[EventRecord]:
        """The active events made with one Microsoft account (catching up re-reads them)."""
        rows = base.query(
            TABLE,
            company_id,
            "tenant_id eq @tid and account_id eq @oid and status eq @active",
            tid=tenant_id,
            oid=oid,
            active=str(EventStatus.ACTIVE),
        )
        return [from_entity(e) for e in rows]

    def active_of_tenant(self, company_id: str, tenant_id: str) -> list[EventRecord]:
        """The active (made, not cancelled) events of one tenant in the company, in one partition
        query: the slot search's `max_per_day` counts interviews among them."""
        rows = base.query(
            TABLE, company_id, "tenant_id eq @tid and status eq @active", tid=tenant_id, active=str(EventStatus.ACTIVE)
        )
        return [from_entity(e) for e in rows]
