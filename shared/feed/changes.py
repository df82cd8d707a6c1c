"""The change feed: what the service learned from Outlook (and of dying links), in order, per
company, kept 30 days; and the webhook that tells HERP to look (README "Changes from Outlook").

`record` is the one way a Change enters the feed: appended once (shared.storage.changes), then
announced to HERP's webhook when one is set. A repeated `record` of the same Change (a retried
queue message) stores nothing new and may announce it again: the webhook is at least once, and
HERP de-duplicates by `id`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from shared.auth import Caller
from shared.errors import ValidationFailed
from shared.models import Change, utcnow
from shared.settings import get_settings
from shared.storage import queues
from shared.storage.changes import CURSOR, Changes

log = logging.getLogger("outlook.changes")

RETENTION = timedelta(days=30)
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
_IDS = uuid.UUID("0c3e6f0a-6b7d-4d0e-9c55-3d8a0e7c2b41")


def change_id(*parts: str) -> str:
    """A Change id derived from what identifies the change, so that deciding it twice (a retry)
    names the same Change."""
    return str(uuid.uuid5(_IDS, "\n".join(parts)))


def record(changes: Iterable[Change]) -> None:
    webhook = get_settings().webhook()
    for change in changes:
        seq = Changes().append(change)
        log.info("change %s (%s) recorded for schedule %s", change.id, change.type, change.schedule_id)
        if webhook:
            queues.enqueue(queues.WEBHOOKS, {"company_id": change.company_id, "seq": seq, "attempt": 1})


@dataclass(frozen=True)
class Feed:
    changes: list[Change]
    next: str

    def to_json(self) -> dict:
        return {"changes": [c.to_json() for c in self.changes], "next": self.next}


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be an integer from 1 to {MAX_LIMIT}.", code="invalid_limit")
    return int(raw)


def feed(caller: Caller, after: str | None, limit: str | None) -> Feed:
    """The caller's company's Changes after the cursor `after` (from the oldest kept without it)."""
    if after is not None and not CURSOR.match(after):
        raise ValidationFailed("after must be a cursor returned as `next`.", code="invalid_cursor")
    start = int(after) if after else None
    found = Changes().read(caller.company_id, start, _limit(limit), utcnow() - RETENTION)
    cursor = found[-1].seq if found else (start or 0)
    return Feed(found, str(cursor))


def purge() -> int:
    return Changes().purge(utcnow() - RETENTION)
