"""When the HERP webhook last took a change of a company (PartitionKey company_id, RowKey
"last"): a health detail, written at most once a minute per company and instance."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from shared.models import iso, parse_iso
from shared.storage import base

TABLE = "WebhookDeliveries"
ROW_KEY = "last"
EVERY_SECONDS = 60.0
_written: dict[str, float] = {}
_lock = threading.Lock()


class Deliveries:
    def delivered(self, company_id: str, at: datetime) -> None:
        now = time.monotonic()
        with _lock:
            if now - _written.get(company_id, -EVERY_SECONDS) < EVERY_SECONDS:
                return
            _written[company_id] = now
        base.write(TABLE, {"PartitionKey": base.escape_key(company_id), "RowKey": ROW_KEY, "at": iso(at)}, None)

    def last(self, company_id: str) -> datetime | None:
        e = base.read(TABLE, company_id, ROW_KEY)
        return parse_iso(e.get("at")) if e else None

    def delete(self, company_id: str) -> None:
        with _lock:
            _written.pop(company_id, None)
        base.delete(TABLE, company_id, ROW_KEY)
