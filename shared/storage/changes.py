"""The change feed (PartitionKey company_id): one row per Change, in the order a reader follows.

Order without gaps. Every append is one entity group transaction of three operations in the
company's partition: move the counter row from N-1 to N (guarded by its ETag), insert the
Change as row `c{N:016d}`, insert the marker row `i:{change id}`. So a row N exists exactly when
the counter reached N: sequence numbers are never skipped or reused, and a Change appended
twice (a retried queue message) fails on its marker and is not stored again. A reader returns
rows only while their numbers run on without a gap; a gap can only be a row whose transaction
is being committed while the page is read (or, below the oldest row, one purged after 30 days),
so the reader stops before it and the next read picks it up. A row written late is therefore
never skipped (tests/integration/test_change_feed.py writes and reads concurrently).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from datetime import datetime

from shared.models import Change, iso, utcnow
from shared.storage import base
from shared.storage.base import ConcurrentUpdate, escape_key
from shared.storage.connection import table

TABLE = "Changes"
COUNTER = "~counter"  # sorts after every change row ("c...") and marker ("i:...")
ROW_PREFIX, ROW_END = "c", "d"
APPEND_ATTEMPTS = 50  # appends of one company contend on its counter row
CURSOR = re.compile(r"^\d{1,16}$")


def row_key(seq: int) -> str:
    return f"{ROW_PREFIX}{seq:016d}"


def _marker(change_id: str) -> str:
    return escape_key(f"i:{change_id}")


class Changes:
    def append(self, change: Change) -> int:
        """Store the Change at the end of its company's feed; its sequence number (the one it
        already had when it was appended before)."""
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        pk = escape_key(change.company_id)
        text = json.dumps(change.to_json(), ensure_ascii=False, separators=(",", ":"))
        for attempt in range(APPEND_ATTEMPTS):
            counter = base.read(TABLE, change.company_id, COUNTER)
            seq = int(counter["seq"]) + 1 if counter else 1
            stamp = {"appended_at": iso(utcnow())}
            counter_row = {"PartitionKey": pk, "RowKey": COUNTER, "seq": seq}
            ops: list[tuple] = [
                (
                    "update",
                    counter_row,
                    {
                        "mode": UpdateMode.REPLACE,
                        "etag": base.etag_of(counter),
                        "match_condition": MatchConditions.IfNotModified,
                    },
                )
                if counter
                else ("create", counter_row),
                (
                    "create",
                    {
                        "PartitionKey": pk,
                        "RowKey": row_key(seq),
                        "change_id": change.id,
                        **stamp,
                        **base.text_parts("change", text),
                    },
                ),
                ("create", {"PartitionKey": pk, "RowKey": _marker(change.id), "seq": seq, **stamp}),
            ]
            try:
                table(TABLE).submit_transaction(ops)
                change.seq = seq
                return seq
            except TableTransactionError:
                marker = base.read(TABLE, change.company_id, f"i:{change.id}")
                if marker is not None:  # appended before
                    change.seq = int(marker["seq"])
                    return change.seq
                time.sleep(random.uniform(0.002, 0.02) * min(attempt + 1, 10))  # lost the counter race
        raise ConcurrentUpdate(TABLE)

    def read(self, company_id: str, after: int | None, limit: int, since: datetime) -> list[Change]:
        """Up to `limit` Changes after sequence number `after` (from the oldest kept when None),
        oldest first, stopping before any gap (module docstring). Rows appended before `since` are
        past the retention: skipped as if purged."""
        start = after or 0
        rows = base.query(
            TABLE,
            company_id,
            "RowKey gt @lo and RowKey lt @hi and appended_at ge @since",
            page_size=min(limit, 1000),
            lo=row_key(start),
            hi=ROW_END,
            since=iso(since),
        )
        out: list[Change] = []
        expected = start + 1
        for e in rows:
            seq = int(e["RowKey"][len(ROW_PREFIX) :])
            if seq != expected and (out or not self._gone(company_id, seq - 1, since)):
                break
            out.append(Change.from_json(company_id, json.loads(base.joined_text(e, "change") or "{}"), seq))
            expected = seq + 1
            if len(out) == limit:
                break
        return out

    def _gone(self, company_id: str, seq: int, since: datetime) -> bool:
        """Whether row `seq`, right below the first row found, is gone for good (purged, or past
        the retention; then so is every row below it) rather than committed while the page was
        read. It was committed before the row found (numbers are taken in order), so a point
        read now sees it unless it is gone."""
        e = base.read(TABLE, company_id, row_key(seq))
        return e is None or (e.get("appended_at") or "") < (iso(since) or "")

    def get(self, company_id: str, seq: int) -> Change | None:
        e = base.read(TABLE, company_id, row_key(seq))
        return Change.from_json(company_id, json.loads(base.joined_text(e, "change") or "{}"), seq) if e else None

    def purge(self, before: datetime) -> int:
        """Delete Changes (and their markers) appended before `before`."""
        rows: Iterator = table(TABLE).query_entities(
            "appended_at lt @t", parameters={"t": iso(before)}, select=["PartitionKey", "RowKey"]
        )
        count = 0
        for e in rows:
            table(TABLE).delete_entity(e["PartitionKey"], e["RowKey"])
            count += 1
        return count
