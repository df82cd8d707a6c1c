"""Timer fan-out benchmark: `refresh_room_caches` over N tenant links on Azurite.

    .venv/bin/python -m benchmarks.fan_out --links 10000

Writes N tenant link rows (100 companies x N/100 tenants, in transactions), then times
`rooms.fan_out()` (page through every link, one `room-sync` message each, sent concurrently)
and checks the queue holds N messages.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from devtools import stack


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", type=int, default=10000)
    args = ap.parse_args()
    azurite = stack.start_azurite(Path(tempfile.mkdtemp(prefix="bench-fanout-")))
    try:
        os.environ["AzureWebJobsStorage"] = azurite.extra["connection_string"]
        from shared.storage import connection, queues, tenant_links
        from shared.usecases.rooms import rooms

        client = connection.table(tenant_links.TABLE)
        companies = 100
        per_company = max(1, args.links // companies)
        started = time.monotonic()
        for c in range(companies):
            rows = [
                {"PartitionKey": f"co-{c:03d}", "RowKey": f"tenant-{t:05d}", "status": "active", "tenant_name": "T"}
                for t in range(per_company)
            ]
            for i in range(0, len(rows), 100):
                client.submit_transaction([("upsert", r) for r in rows[i : i + 100]])
        total = companies * per_company
        print(f"seeded {total} tenant links in {time.monotonic() - started:.1f} s")

        started = time.monotonic()
        sent = rooms.fan_out()
        elapsed = time.monotonic() - started
        queued = queues._queue(queues.ROOM_SYNC).get_queue_properties().approximate_message_count
        print(f"fan_out: {sent} messages in {elapsed:.2f} s ({sent / elapsed:.0f} messages/s); queue holds {queued}")
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
