"""Reading the audit log (CONTRACT 8 `GET /api/outlook/audit`), and its retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.errors import ValidationFailed
from shared.settings import get_settings
from shared.storage.audit import ID, MAX_PAGE, AuditLog

DEFAULT_LIMIT = 100


def page(company_id: str, params) -> dict:
    """`{"entries", "next"}`: the company's entries oldest first, after the cursor `after`."""
    after = params.get("after") or None
    if after is not None and not ID.match(after):
        raise ValidationFailed("after is not a cursor this API gave.", code="invalid_cursor")
    raw_limit = params.get("limit")
    if raw_limit is None or raw_limit == "":
        limit = DEFAULT_LIMIT
    elif raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_PAGE:
        limit = int(raw_limit)
    else:
        raise ValidationFailed(f"limit must be a whole number from 1 to {MAX_PAGE}.", code="invalid_limit")
    schedule_id = params.get("schedule_id") or None
    entries, cursor = AuditLog().page(company_id, after=after, schedule_id=schedule_id, limit=limit)
    return {"entries": [e.to_json() for e in entries], "next": cursor}


def purge() -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS (the daily timer)."""
    days = get_settings().retention_days("audit")
    return AuditLog().purge(datetime.now(UTC) - timedelta(days=days))
