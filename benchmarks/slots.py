"""The slot search (日程調整) over 1,000 cached rooms, 50 ms emulator latency per Graph call.

    .venv/bin/python -m benchmarks.slots --iterations 30 --latency-ms 50

Contoso is seeded with the room finder benchmark's 1,000 rooms in 3 buildings, linked and synced;
five HERP accounts link five Contoso mailboxes (Aiko through the tenant link, Ben, Emi, Fumi,
Goro through user links), each with a few items a day. Then `POST /api/outlook/slots/find` runs
through devtools.host. Per case it prints the Graph calls (from the emulator's call log) against
the budget (one calendarView per linked interviewer + ceil(rooms checked / 20) getSchedule calls,
+ one getSchedule per 20 interviewers without a link), and p50/p95 latency.

Cases: 5 linked interviewers, 7 days, a room for 6 in one building (goal p95 <= 1 s); a loop of
3 sessions (goal p95 <= 1.5 s); 20 interviewers (5 linked, 15 read with getSchedule: the
emulator has 6 mailboxes, so the 15 are room mailboxes standing in for people, which getSchedule
reads alike); a first week of days off, so the window grows to 30 days.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from datetime import date, timedelta

from benchmarks.common import Stack, percentile
from benchmarks.room_finder import BUILDINGS, linked_thousand_rooms
from devtools.browser import Browser
from devtools.emulator import seed

TENANT = seed.CONTOSO_TENANT_ID
COMPANY = "bench-slots"
FIRST = date(2027, 1, 18)  # a Monday
PEOPLE = {  # HERP account -> mailbox
    "herp-admin": seed.AIKO_ID,
    "h-ben": seed.BEN_ID,
    "h-emi": seed.EMI_ID,
    "h-fumi": seed.FUMI_ID,
    "h-goro": seed.GORO_ID,
}


def link_member(s: Stack, account: str, upn: str) -> None:
    as_ = (account, "member")
    url = s.call("POST", "/outlook/user-links/authorize", COMPANY, json={"tenant_id": TENANT}, as_=as_).json()
    browser = Browser(s.emulator.extra["ca_bundle"], "https://hire.herp.bench")
    browser.open(url["authorize_url"])
    assert s.confirm(COMPANY, browser.click("username", upn), as_=as_)["result"] == "linked"


def seed_calendars(s: Stack, days: int) -> None:
    """Each linked mailbox: a 10:00 meeting, a [面接可] afternoon and a declined 16:00, every day."""
    for i, oid in enumerate(PEOPLE.values()):
        for d in range(days):
            day = FIRST + timedelta(days=d)
            for start, end, extra in (
                (1 + i % 2, 2 + i % 2, {"subject": "定例"}),
                (4, 7, {"subject": "[面接可] 作業"}),
                (7, 8, {"subject": "Vendor", "response": "declined"}),
            ):
                s.emu(
                    "POST",
                    f"users/{oid}/events",
                    {"start": f"{day}T{start:02d}:00:00Z", "end": f"{day}T{end:02d}:00:00Z", **extra},
                )


def run(s: Stack, name: str, body: dict, iterations: int, budget, goal_ms: int) -> None:
    took, calls, checked = [], set(), set()
    for i in range(iterations + 3):
        s.emu("DELETE", "calls")
        t = time.perf_counter()
        r = s.call("POST", "/outlook/slots/find", COMPANY, json=body)
        elapsed = (time.perf_counter() - t) * 1000
        assert r.status_code == 200 and r.json()["slots"], r.text[:300]
        graph = [c for c in s.graph_calls() if "/token" not in c["path"]]
        if i >= 3:  # warm-up
            took.append(elapsed)
            calls.add(len(graph))
            checked.add((r.json()["checked"]["rooms"], len(r.json()["slots"]), r.json()["window"]["to"]))
    [(rooms, slots, to)] = checked
    [n_calls] = calls
    p50, p95 = statistics.median(took), percentile(took, 95)
    print(
        f"{name}: {slots} slots (window to {to}), rooms checked {rooms}, Graph calls {n_calls} "
        f"(budget {budget(rooms)}), p50 {p50:.0f} ms, p95 {p95:.0f} ms (goal {goal_ms} ms)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--latency-ms", type=int, default=50)
    args = ap.parse_args()
    s = Stack()
    try:
        seeded, link_id = linked_thousand_rooms(s, COMPANY)
        for account, oid in list(PEOPLE.items())[1:]:
            link_member(s, account, seed.UPN[oid])
        seed_calendars(s, 30)
        s.emu("POST", "latency", {"ms": args.latency_ms})
        people = [{"herp_account_id": a} for a in PEOPLE]
        base = {
            "tenant_id": TENANT,
            "link_id": link_id,
            "from": FIRST.isoformat(),
            "days": 7,
            "time_zone": "Asia/Tokyo",
        }
        room = {"min_capacity": 6, "building": BUILDINGS[0]}
        run(
            s,
            "5 linked interviewers, 7 days, a room for 6 in one building of 1,000 rooms",
            {**base, "interviewers": people, "duration_minutes": 60, "room": room},
            args.iterations,
            lambda rooms: f"5 + ceil({rooms}/20) = {5 + math.ceil(rooms / 20)}",
            1000,
        )
        run(
            s,
            "a loop of 3 sessions (2 + 2 + 1 linked interviewers, 15 min gaps), one room",
            {
                **base,
                "sessions": [
                    {"interviewers": people[:2], "duration_minutes": 60},
                    {"interviewers": people[2:4], "duration_minutes": 45},
                    {"interviewers": people[4:], "duration_minutes": 30},
                ],
                "gap_minutes": 15,
                "room": room,
            },
            args.iterations,
            lambda rooms: f"5 + ceil({rooms}/20) = {5 + math.ceil(rooms / 20)}",
            1500,
        )
        stand_ins = [{"email": r["emailAddress"]} for r in seeded["rooms"][500:515]]
        run(
            s,
            "20 interviewers (5 linked + 15 through getSchedule), 7 days, no room",
            {**base, "interviewers": people + stand_ins, "duration_minutes": 60},
            args.iterations,
            lambda rooms: "5 + 1 = 6",
            1000,
        )
        off = [(FIRST + timedelta(days=d)).isoformat() for d in range(7)]
        run(
            s,
            "5 linked, a first week of days off: the window grows to 30 days, a room for 6",
            {**base, "interviewers": people, "duration_minutes": 60, "room": room, "days_off": off},
            args.iterations,
            lambda rooms: f"2 x 5 + room calls ({rooms} rooms read over two ranges)",
            1500,
        )
    finally:
        s.stop()


if __name__ == "__main__":
    main()
