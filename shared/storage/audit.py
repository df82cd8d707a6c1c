"""The audit log (CONTRACT 8): one row per write the service made in Outlook, failed ones too.

PartitionKey company_id; RowKey `{microseconds since the epoch, 17 digits}-{8 random hex}`, so a
partition reads oldest first and the key itself is the entry's id and the paging cursor. Rows
are kept AUDIT_RETENTION_DAYS (the daily purge deletes rows older than that, by RowKey, which is
why the time leads it). A company's data deletion leaves this table alone.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.storage import base
from shared.storage.base import escape_key
from shared.storage.connection import table

TABLE = "AuditLog"
ID = re.compile(r"^\d{17}-[0-9a-f]{8}$")
MAX_PAGE = 1000
_FIELDS = ("actor", "operation", "schedule_id", "hold_id", "mailbox", "graph_request_id", "outcome")


@dataclass
class AuditEntry:
    company_id: str
    at: datetime
    actor: str
    operation: str
    mailbox: str | None
    outcome: str
    graph_request_id: str | None = None
    schedule_id: str | None = None
    hold_id: str | None = None
    id: str = ""

    def to_json(self) -> dict:
        body = {
            "id": self.id,
            "at": self.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "actor": self.actor,
            "operation": self.operation,
            "mailbox": self.mailbox,
            "graph_request_id": self.graph_request_id,
            "outcome": self.outcome,
        }
        if self.hold_id is not None:
            body["hold_id"] = self.hold_id
        else:
            body["schedule_id"] = self.schedule_id
        return body


def key_at(moment: datetime) -> str:
    """The RowKey prefix of a moment: every entry written at or after it sorts at or after it."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return f"{int((moment - epoch).total_seconds() * 1_000_000):017d}"


def _entity(entry: AuditEntry) -> dict:
    entity: dict = {
        "PartitionKey": escape_key(entry.company_id),
        "RowKey": entry.id,
        "at": entry.at,
    }
    for name in _FIELDS:
        value = getattr(entry, name)
        if value is not None:
            entity[name] = value
    return entity


def _entry(entity) -> AuditEntry:
    at = entity["at"]
    return AuditEntry(
        company_id=base.unescape_key(entity["PartitionKey"]),
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
        id=entity["RowKey"],
        **{name: entity.get(name) for name in _FIELDS},
    )


class AuditLog:
    def add(self, entry: AuditEntry) -> AuditEntry:
        """Insert the entry under a fresh time-ordered id (a collision retries with another)."""
        for _ in range(3):
            entry.id = f"{key_at(entry.at)}-{secrets.token_hex(4)}"
            try:
                base.write(TABLE, _entity(entry), None, create=True)
                return entry
            except base.ConcurrentUpdate:
                continue
        raise base.ConcurrentUpdate(TABLE)

    def page(
        self, company_id: str, *, after: str | None = None, schedule_id: str | None = None, limit: int = 100
    ) -> tuple[list[AuditEntry], str | None]:
        """Up to `limit` entries after the entry id `after`, oldest first, and the cursor of the
        next page (None at the end)."""
        extra: list[str] = []
        params: dict = {}
        if after:
            extra.append("RowKey gt @after")
            params["after"] = after
        if schedule_id is not None:
            extra.append("schedule_id eq @sid")
            params["sid"] = schedule_id
        rows = base.query(TABLE, company_id, " and ".join(extra), page_size=min(limit + 1, MAX_PAGE), **params)
        entries: list[AuditEntry] = []
        for entity in rows:
            if len(entries) == limit:
                return entries, entries[-1].id
            entries.append(_entry(entity))
        return entries, None

    def purge(self, before: datetime) -> int:
        """Delete every entry written before `before`, of every company; returns how many."""
        client = table(TABLE)
        rows = client.query_entities(
            "RowKey lt @k", parameters={"k": key_at(before)}, select=["PartitionKey", "RowKey"]
        )
        count = 0
        for entity in rows:
            client.delete_entity(entity["PartitionKey"], entity["RowKey"])
            count += 1
        return count
