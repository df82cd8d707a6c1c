"""Warm rooms read against its floor, on one Azurite, alternating pairs, medians.

    .venv/bin/python -m benchmarks.rooms_read --rounds 200

The read is `GET /api/outlook/tenants/{tenant}/rooms` for a linked tenant with 250 cached rooms
(authenticated, through devtools.host). The floor is what no implementation can avoid: an
unauthenticated call to the same host (a 401) plus one raw partition query of the same 250 rows.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.common import Stack
from devtools.emulator import seed

TENANT = seed.CONTOSO_TENANT_ID
COMPANY = "bench-rooms-read"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    s = Stack()
    try:
        s.link_tenant(COMPANY, seed.UPN[seed.AIKO_ID])
        s.wait_for_room_sync(COMPANY, TENANT)
        from azure.data.tables import TableClient  # the floor uses the SDK alone, none of the app's code

        client = TableClient.from_connection_string(s.azurite.extra["connection_string"], "Rooms")
        url = f"{s.host.url}/api/outlook/tenants/{TENANT}/rooms"
        headers = {"Authorization": f"Bearer {s.token(COMPANY, 'm1', 'member')}"}
        read, floor = [], []
        for i in range(args.rounds + 10):
            t = time.perf_counter()
            r = s.api.get(url, headers=headers, timeout=30)
            took = time.perf_counter() - t
            assert r.status_code == 200 and len(r.json()["rooms"]) == 250, r.text[:200]
            t = time.perf_counter()
            assert s.api.get(url, timeout=30).status_code == 401
            rows = list(client.query_entities("PartitionKey eq @pk", parameters={"pk": TENANT}))
            floor_took = time.perf_counter() - t
            assert len(rows) == 250
            if i >= 10:  # warm-up
                read.append(took * 1000)
                floor.append(floor_took * 1000)
        r_med, f_med = statistics.median(read), statistics.median(floor)
        print(
            f"rooms read, 250 rooms, {args.rounds} alternating pairs: read median {r_med:.1f} ms, "
            f"floor median {f_med:.1f} ms, ratio {r_med / f_med:.2f}"
        )
    finally:
        s.stop()


if __name__ == "__main__":
    main()
