"""Event retention (CONTRACT 8 EVENT_RETENTION_DAYS): an event mapping and its snapshot go that
many days after the interview ended; the Outlook event stays. Run by the daily timer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from shared.domain.event_input import EventInput, utc_slot
from shared.errors import DomainError
from shared.models import EventRecord
from shared.settings import get_settings
from shared.storage.event_ids import EventIds
from shared.storage.events import Events

log = logging.getLogger("outlook.retention")


def ended_at(record: EventRecord) -> datetime | None:
    """When the interview of the row ended (UTC); None when its input cannot be read."""
    try:
        event = EventInput.from_json_text(record.input_json)
        return utc_slot(event.start, event.end, event.time_zone)[1]
    except (DomainError, ValueError, KeyError, TypeError):
        return None


def expired(record: EventRecord, now: datetime, days: int) -> bool:
    """Whether the row goes: its interview ended more than `days` days before `now`. A row being
    edited (an edit lease held) stays until the next run; one whose end cannot be read is kept."""
    if record.locked_until is not None and record.locked_until > now:
        return False
    end = ended_at(record)
    return end is not None and end < now - timedelta(days=days)


def purge_events(now: datetime | None = None) -> int:
    """Delete every expired mapping (and its event id row); returns how many."""
    now = now or datetime.now(UTC)
    days = get_settings().retention_days("event")
    count = 0
    for record in Events().every():
        if not expired(record, now, days):
            continue
        if record.graph_event_id:
            EventIds().delete(record.company_id, record.graph_event_id)
        Events().delete(record.company_id, record.schedule_id)
        count += 1
    return count
