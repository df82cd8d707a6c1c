"""The room finder over 1,000 cached rooms in 3 buildings, 50 ms emulator latency per Graph call.

    .venv/bin/python -m benchmarks.room_finder --iterations 50 --latency-ms 50

The emulator's Contoso tenant is seeded with 1,000 rooms in 3 buildings (control route
`tenants/{tid}/rooms`), linked and synced; then `POST /api/outlook/tenants/{tid}/rooms/find`
runs through devtools.host. Per case it prints the Graph calls (from the emulator's call log)
against ceil(checked / 20), `checked` against its minimum for the limit, p50/p95 latency, and
the cache query's share of the time (the same filtered partition query timed alone on Azurite).

Cases: limit 5 where the first 20 candidates hold 5 free rooms (the goal: p95 <= 300 ms), and
limit 5 where the first 20 candidates are all busy (the next wave runs 2 calls at once: the free
rate is unknown yet, so waves double).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from benchmarks.common import Stack, percentile
from devtools.emulator import seed
from shared.storage import rooms as room_rows

TENANT = seed.CONTOSO_TENANT_ID
COMPANY = "bench-room-finder"
DOMAIN = seed.CONTOSO_DOMAIN
BUILDINGS = ("Tokyo HQ", "Osaka Office", "Fukuoka Office")
SLOT = {"start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00", "time_zone": "Asia/Tokyo"}
SLOT_UTC = ("2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z")


def thousand_rooms() -> dict:
    """1,000 rooms in 3 buildings (one room list each), Graph's room shape."""
    rooms, lists = [], []
    for b, building in enumerate(BUILDINGS):
        slug = building.split()[0].lower()
        list_email = f"bench-{slug}@{DOMAIN}"
        lists.append({"emailAddress": list_email, "displayName": building})
        count = 334 if b < 2 else 332
        for n in range(1, count + 1):
            floor = 1 + (n - 1) // 20
            rooms.append(
                {
                    "emailAddress": f"bench-{slug}-{n:04d}@{DOMAIN}",
                    "displayName": f"{building} {floor}F Room {n:04d}",
                    "capacity": (4, 6, 8, 10, 12, 20)[n % 6],
                    "building": building,
                    "floorNumber": floor,
                    "floorLabel": f"{floor}F",
                    "isWheelChairAccessible": n % 3 == 0,
                    "bookingType": "reserved" if n % 40 == 0 else "standard",
                    "tags": [],
                    "roomListEmailAddress": list_email,
                }
            )
    return {"rooms": rooms, "roomLists": lists}


def ranked(rooms: list[dict], building: str, min_capacity: int) -> list[str]:
    fit = [
        r
        for r in rooms
        if r["building"] == building and r["bookingType"] != "reserved" and r["capacity"] >= min_capacity
    ]
    fit.sort(key=lambda r: (r["capacity"], r["displayName"], r["emailAddress"].lower()))
    return [r["emailAddress"] for r in fit]


def linked_thousand_rooms(s: Stack, company: str) -> tuple[dict, str]:
    """Contoso with `thousand_rooms()` linked by its admin for `company`, rooms synced: the rooms
    and the admin's link id."""
    seeded = thousand_rooms()
    s.emu("POST", f"tenants/{TENANT}/rooms", seeded)
    s.link_tenant(company, seed.UPN[seed.AIKO_ID])
    s.wait_for_room_sync(company, TENANT)
    count = s.call("GET", f"/outlook/tenant-links/{TENANT}", company).json()["rooms"]["count"]
    assert count == 1000, count
    return seeded, s.call("GET", "/outlook/user-links", company).json()["tenants"][0]["links"][0]["link_id"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--latency-ms", type=int, default=50)
    args = ap.parse_args()
    s = Stack()
    try:
        seeded, link_id = linked_thousand_rooms(s, COMPANY)
        s.emu("POST", "latency", {"ms": args.latency_ms})
        url = f"/outlook/tenants/{TENANT}/rooms/find"

        # Case 2's building: its first 20 candidates are busy.
        busy_building = BUILDINGS[1]
        for email in ranked(seeded["rooms"], busy_building, 6)[:20]:
            s.emu("POST", f"schedules/{email}/busy", {"start": SLOT_UTC[0], "end": SLOT_UTC[1]})

        from azure.data.tables import TableClient  # the cache query alone, as the finder sends it

        client = TableClient.from_connection_string(s.azurite.extra["connection_string"], room_rows.TABLE)

        def cache_query(building: str) -> float:
            t = time.perf_counter()
            rows = list(
                client.query_entities(
                    "PartitionKey eq @pk and not (bookable eq false) and building eq @b and capacity ge @c",
                    parameters={"pk": TENANT, "b": building, "c": 6},
                    select=room_rows.FIELDS,
                )
            )
            assert rows
            return (time.perf_counter() - t) * 1000

        for name, building, limit, minimum in (
            ("limit 5, 5 free among the first 20", BUILDINGS[0], 5, 20),
            ("limit 5, the first 20 busy", busy_building, 5, 40),
        ):
            body = {"link_id": link_id, **SLOT, "building": building, "min_capacity": 6, "limit": limit}
            took, queries, calls, checked = [], [], set(), set()
            for i in range(args.iterations + 3):
                s.emu("DELETE", "calls")
                t = time.perf_counter()
                r = s.call("POST", url, COMPANY, json=body, as_=("herp-admin", "admin"))
                elapsed = (time.perf_counter() - t) * 1000
                assert r.status_code == 200 and len(r.json()["rooms"]) == limit, r.text[:300]
                graph = [c for c in s.graph_calls() if c["path"].endswith("/getSchedule")]
                if i >= 3:  # warm-up
                    took.append(elapsed)
                    queries.append(cache_query(building))
                    calls.add(len(graph))
                    checked.add(r.json()["checked"])
            [n_checked] = checked
            [n_calls] = calls
            p50, p95 = statistics.median(took), percentile(took, 95)
            share = statistics.median(queries) / p50
            print(
                f"{name}: checked {n_checked} (minimum {minimum}), Graph calls {n_calls} "
                f"(ceil(checked/20) = {math.ceil(n_checked / 20)}), p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
                f"cache query median {statistics.median(queries):.1f} ms = {share:.0%} of p50 "
                f"({args.iterations} runs, {args.latency_ms} ms per Graph call)"
            )
    finally:
        s.stop()


if __name__ == "__main__":
    main()
