"""Room cache refresh benchmark through the real path: timer fan-out -> queue `room-sync` on
Azurite -> `sync_tenant_rooms` in devtools.host -> Graph places on the emulator (with an injected
latency) -> delta writes to Table Storage.

    .venv/bin/python -m benchmarks.room_sync --tenants 20 --rooms 250 --latency-ms 50

N companies each link the emulator's Contoso tenant (every link is its own tenant link and its
own sync message, with its own admin credential); the tenant is given R rooms in 3 room lists.
Prints Graph calls per tenant sync against the minimum (pages), table rows written per sync
when nothing changed and when one room changed, and tenants synced per second.
"""

from __future__ import annotations

import argparse
import math
import re
import time

from benchmarks.common import Stack
from devtools.emulator import seed
from shared.usecases.rooms.rooms import PLACES_PAGE

TENANT = seed.CONTOSO_TENANT_ID
LISTS = ("tokyo-hq", "osaka", "fukuoka")
SYNC_LINE = re.compile(r"room sync of tenant (\S+): (\d+) rooms, (\d+) rows written")


def make_rooms(count: int, capacity_of_first: int = 8) -> dict:
    rooms = []
    for n in range(count):
        list_slug = LISTS[n % len(LISTS)]
        rooms.append(
            {
                "emailAddress": f"bench-room{n:04d}@{seed.CONTOSO_DOMAIN}",
                "displayName": f"Bench {n:04d}",
                "capacity": capacity_of_first if n == 0 else 6,
                "building": list_slug,
                "floorNumber": n % 20,
                "floorLabel": f"{n % 20}F",
                "roomListEmailAddress": f"{list_slug}@{seed.CONTOSO_DOMAIN}",
            }
        )
    lists = [{"emailAddress": f"{s}@{seed.CONTOSO_DOMAIN}", "displayName": s} for s in LISTS]
    return {"rooms": rooms, "roomLists": lists}


def synced_at(s: Stack, company: str) -> str | None:
    return s.call("GET", f"/outlook/tenant-links/{TENANT}", company).json()["rooms"]["synced_at"]


def wait_all(s: Stack, companies: list[str], before: dict[str, str | None], timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    pending = set(companies)
    while pending and time.monotonic() < deadline:
        pending = {c for c in pending if synced_at(s, c) in (None, before.get(c))}
        if pending:
            time.sleep(0.2)
    if pending:
        raise SystemExit(f"{len(pending)} tenant syncs did not finish in {timeout}s")
    return time.monotonic()


def sync_lines(s: Stack, offset: int) -> list[tuple[int, int]]:
    text = s.host.log_text()[offset:]
    return [(int(r), int(w)) for _, r, w in SYNC_LINE.findall(text)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--rooms", type=int, default=250)
    ap.add_argument("--latency-ms", type=int, default=50)
    args = ap.parse_args()

    s = Stack()
    try:
        s.emu("POST", f"tenants/{TENANT}/rooms", make_rooms(args.rooms))
        companies = [f"bench-co-{i:04d}" for i in range(args.tenants)]
        for company in companies:
            s.link_tenant(company, seed.UPN[seed.AIKO_ID])
        wait_all(s, companies, {})  # the syncs queued by linking
        time.sleep(1.1)  # synced_at has second precision

        s.emu("POST", "latency", {"ms": args.latency_ms})
        s.emu("DELETE", "calls")
        before = {c: synced_at(s, c) for c in companies}
        offset = len(s.host.log_text())
        started = time.monotonic()
        r = s.api.post(f"{s.host.url}/admin/functions/refresh_room_caches", json={"input": ""}, timeout=30)
        assert r.status_code == 202, r.text
        finished = wait_all(s, companies, before)
        unchanged = sync_lines(s, offset)
        calls = s.graph_calls()

        # One call per collection at least (rooms, room lists, each list's members), more only
        # where a collection is longer than a page (places page by $top/$skip, never nextLink).
        minimum = (
            math.ceil(args.rooms / PLACES_PAGE)
            + 1
            + sum(math.ceil(len(range(i, args.rooms, len(LISTS))) / PLACES_PAGE) for i in range(len(LISTS)))
        )
        time.sleep(1.1)
        s.emu("POST", f"tenants/{TENANT}/rooms", make_rooms(args.rooms, capacity_of_first=30))
        offset = len(s.host.log_text())
        before_one = synced_at(s, companies[0])
        s.call("POST", f"/outlook/tenant-links/{TENANT}/rooms/sync", companies[0])
        wait_all(s, companies[:1], {companies[0]: before_one})
        changed = sync_lines(s, offset)

        print(
            f"room sync benchmark: {args.tenants} tenant links x {args.rooms} rooms "
            f"({len(LISTS)} room lists), Graph latency {args.latency_ms} ms per call"
        )
        print(
            f"  Graph calls per tenant sync: {len(calls) / args.tenants:.1f} (minimum: {minimum}, "
            f"pages of {PLACES_PAGE})"
        )
        print(f"  rooms cached per tenant: {sorted({r for r, _ in unchanged})}")
        print(
            f"  rows written per sync, nothing changed: {[w for _, w in unchanged][:10]}"
            f"{' ...' if len(unchanged) > 10 else ''} (max {max(w for _, w in unchanged)})"
        )
        print(f"  rows written, one room changed: {[w for _, w in changed]}")
        elapsed = finished - started
        print(
            f"  refresh of {args.tenants} tenants (timer -> queue -> sync): {elapsed:.2f} s "
            f"= {args.tenants / elapsed:.1f} tenants/s"
        )
    finally:
        s.stop()


if __name__ == "__main__":
    main()
