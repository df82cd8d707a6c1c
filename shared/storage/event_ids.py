"""Outlook event id -> HERP schedule (PartitionKey company_id, RowKey the immutable Graph event
id, escaped): how a change notification, which names only the Graph id, finds its mapping."""

from __future__ import annotations

from shared.storage import base

TABLE = "EventIds"


class EventIds:
    def schedule_of(self, company_id: str, graph_event_id: str) -> str | None:
        e = base.read(TABLE, company_id, graph_event_id)
        return e["schedule_id"] if e else None

    def save(self, company_id: str, graph_event_id: str, schedule_id: str) -> None:
        entity = {
            "PartitionKey": base.escape_key(company_id),
            "RowKey": base.escape_key(graph_event_id),
            "schedule_id": schedule_id,
        }
        base.write(TABLE, entity, None)

    def delete(self, company_id: str, graph_event_id: str) -> None:
        base.delete(TABLE, company_id, graph_event_id)
