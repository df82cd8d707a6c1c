"""Event operations through the host against the emulator: Graph calls per operation (from the
emulator's call log) and latency percentiles of create / GET / PATCH / PATCH of an online
meeting's body (which reads the body first, to keep the Teams join block) / cancel, and of a
create / PATCH of the time in America/Vancouver against an Exchange that refuses the 2026 Windows
ids (the UTC fallback: one more Graph call).

    .venv/bin/python -m benchmarks.events --iterations 30

Setup (not measured): a HERP admin links Contoso, a member links Emi's account, the room cache
fills, and the member lists calendars once (this records the calendars' Teams capability).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from benchmarks.common import HERP_APP_URL, Stack, percentile
from devtools.browser import Browser
from devtools.emulator import seed

TENANT = seed.CONTOSO_TENANT_ID
COMPANY = "bench-events"
MEMBER = ("herp-member", "member")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=30)
    args = ap.parse_args()
    s = Stack()
    try:
        s.link_tenant(COMPANY, seed.UPN[seed.AIKO_ID])
        url = s.call("POST", "/outlook/user-links/authorize", COMPANY, as_=MEMBER, json={"tenant_id": TENANT}).json()[
            "authorize_url"
        ]
        browser = Browser(s.emulator.extra["ca_bundle"], HERP_APP_URL)
        browser.open(url)
        assert s.confirm(COMPANY, browser.click("username", seed.UPN[seed.EMI_ID]), as_=MEMBER)["result"] == "linked"
        s.wait_for_room_sync(COMPANY, TENANT)
        calendars = s.call("GET", "/outlook/calendars", COMPANY, as_=MEMBER).json()["calendars"]
        link_id = calendars[0]["link_id"]
        room = s.call("GET", f"/outlook/tenants/{TENANT}/rooms", COMPANY, as_=MEMBER).json()["rooms"][0]["email"]

        latencies: dict[str, list[float]] = defaultdict(list)
        graph_calls: dict[str, list[int]] = defaultdict(list)
        token_calls: dict[str, list[int]] = defaultdict(list)

        def measure(op: str, method: str, path: str, expect: int, **kwargs):
            s.emu("DELETE", "calls")
            started = time.perf_counter()
            r = s.call(method, path, COMPANY, as_=MEMBER, **kwargs)
            latencies[op].append((time.perf_counter() - started) * 1000)
            assert r.status_code == expect, (op, r.status_code, r.text)
            calls = s.emu("GET", "calls")["calls"]
            graph_calls[op].append(sum(1 for c in calls if c["kind"] == "graph"))
            token_calls[op].append(sum(1 for c in calls if c["kind"] == "token"))
            return r

        for i in range(args.iterations):
            day = 1 + i % 28
            body = {
                "schedule_id": f"bench-{i}",
                "link_id": link_id,
                "subject": f"Interview {i}",
                "start": f"2027-01-{day:02d}T{9 + i % 8:02d}:00:00",
                "end": f"2027-01-{day:02d}T{10 + i % 8:02d}:00:00",
                "time_zone": "Asia/Tokyo",
                "attendees": [{"email": seed.UPN[seed.GORO_ID], "type": "required"}],
                "rooms": [room],
                "online_meeting": True,
            }
            measure("create", "POST", "/outlook/events", 201, json=body)
            measure("get", "GET", f"/outlook/events/bench-{i}", 200)
            measure("patch", "PATCH", f"/outlook/events/bench-{i}", 200, json={"subject": f"Interview {i} (moved)"})
            # The body of an online meeting: one GET more, to keep Outlook's Teams join block.
            measure(
                "patch-body",
                "PATCH",
                f"/outlook/events/bench-{i}",
                200,
                json={"body": {"content_type": "text", "content": f"Agenda v{i}"}},
            )
            measure("cancel", "DELETE", f"/outlook/events/bench-{i}?notify=true", 204)

        # An Exchange without Windows update KB5124010 refuses "British Columbia Standard Time": the
        # service sends the same instants in UTC (the refused call, then the one that works).
        s.emu("POST", "time-zones", {"accept_2026_ids": False})
        for i in range(args.iterations):
            day = 1 + i % 28
            body = {
                "schedule_id": f"bench-bc-{i}",
                "link_id": link_id,
                "subject": f"Interview {i}",
                "start": f"2027-02-{day:02d}T{9 + i % 8:02d}:00:00",
                "end": f"2027-02-{day:02d}T{10 + i % 8:02d}:00:00",
                "time_zone": "America/Vancouver",
                "attendees": [{"email": seed.UPN[seed.GORO_ID], "type": "required"}],
                "rooms": [room],
                "online_meeting": True,
            }
            measure("create-utc", "POST", "/outlook/events", 201, json=body)
            moved = {"start": f"2027-02-{day:02d}T{8 + i % 8:02d}:30:00", "end": body["end"]}
            measure("patch-utc", "PATCH", f"/outlook/events/bench-bc-{i}", 200, json=moved)
            measure("cancel", "DELETE", f"/outlook/events/bench-bc-{i}?notify=true", 204)
        s.emu("POST", "time-zones", {"accept_2026_ids": True})

        print(f"event operations through devtools.host, {args.iterations} iterations each (token cached)")
        for op in ("create", "get", "patch", "patch-body", "cancel", "create-utc", "patch-utc"):
            g, t, lat = graph_calls[op], token_calls[op], latencies[op]
            print(
                f"  {op:10s} Graph calls/op: min {min(g)} max {max(g)}; token calls/op: max {max(t)}; "
                f"latency p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms"
            )
    finally:
        s.stop()


if __name__ == "__main__":
    main()
