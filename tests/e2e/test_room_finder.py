"""The room finder and check_conflicts end to end: HERP -> host -> cache + emulator getSchedule."""

from __future__ import annotations

import pytest

from devtools.browser import Browser
from devtools.emulator import seed
from devtools.openapi_check import validate_response
from tests.conftest import HERP_APP_URL
from tests.e2e.conftest import CONTOSO, FABRIKAM, link_tenant, wait_for
from tests.e2e.test_events import event_body, graph_calls, live

pytestmark = pytest.mark.e2e
M1, M2 = ("m1", "member"), ("m2", "member")
GORO = seed.UPN[seed.GORO_ID]
# 2026-12-01 10:00-11:00 in Tokyo
SLOT = {"start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00", "time_zone": "Asia/Tokyo"}
SLOT_UTC = ("2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z")


def find(api, link_id: str, *, tenant: str = CONTOSO, as_=M1, **body):
    r = api.call("POST", f"/outlook/tenants/{tenant}/rooms/find", as_=as_, json={"link_id": link_id, **SLOT, **body})
    validate_response(r)
    return r


def ranked(api, *, building=None, min_capacity=None, accessible=None, floor=None) -> list[str]:
    """The finder's candidate order, worked out from the cached rooms."""
    rooms = api.call("GET", f"/outlook/tenants/{CONTOSO}/rooms", as_=M1).json()["rooms"]
    rooms = [
        r
        for r in rooms
        if r["bookable"]
        and (building is None or r["building"] == building)
        and (min_capacity is None or (r["capacity"] is not None and r["capacity"] >= min_capacity))
        and (accessible is None or r["wheelchair_accessible"] is accessible)
        and (floor is None or r["floor"] == floor)
    ]
    rooms.sort(key=lambda r: (r["capacity"] is None, r["capacity"] or 0, r["display_name"], r["email"].lower()))
    return [r["email"] for r in rooms]


def make_busy(ms, email: str, start: str = SLOT_UTC[0], end: str = SLOT_UTC[1], status: str = "busy") -> None:
    ms.post(f"schedules/{email}/busy", {"start": start, "end": end, "status": status})


def schedule_calls(ms) -> list[dict]:
    return [c for c in ms.calls() if c["kind"] == "graph" and c["path"].endswith("/getSchedule")]


def emails(r) -> list[str]:
    return [room["email"] for room in r.json()["rooms"]]


def test_busy_rooms_are_skipped_best_first_one_graph_call(ready, ms):
    api, link_id, _ = ready
    order = ranked(api, building="Osaka Office", min_capacity=8)
    make_busy(ms, order[0])
    make_busy(ms, order[2], "2026-12-01T01:30:00Z", "2026-12-01T03:00:00Z", status="tentative")
    make_busy(ms, order[3], "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z")  # starts as the slot ends: free
    ms.clear_calls()
    r = find(api, link_id, building="Osaka Office", min_capacity=8)
    assert r.status_code == 200, r.text
    body = r.json()
    assert emails(r) == [order[1], *order[3:7]]
    assert body["checked"] == 20 and len(schedule_calls(ms)) == 1
    assert body["stale"] is False and body["synced_at"]
    assert all(room["building"] == "Osaka Office" and room["capacity"] >= 8 for room in body["rooms"])
    assert [c for c in ms.calls() if c["kind"] == "graph" and not c["path"].endswith("/getSchedule")] == []


def test_reserved_rooms_are_never_offered(ready, ms):
    api, link_id, _ = ready
    order = ranked(api, building="Fukuoka Office", min_capacity=12)
    assert len(order) == 15  # 16 rooms of 12 or 20 seats, fukuoka-room040 is reserved
    r = find(api, link_id, building="Fukuoka Office", min_capacity=12, limit=20)
    assert emails(r) == order and r.json()["checked"] == 15
    assert f"fukuoka-room040@{seed.CONTOSO_DOMAIN}" not in emails(r)
    assert all(room["bookable"] for room in r.json()["rooms"])


def test_wheelchair_accessible_only(ready, ms):
    api, link_id, _ = ready
    r = find(api, link_id, wheelchair_accessible=True, floor="2F", limit=20)
    assert r.status_code == 200, r.text
    assert emails(r) == ranked(api, accessible=True, floor="2F")[:20]
    assert r.json()["rooms"] and all(
        room["wheelchair_accessible"] is True and room["floor"] == "2F" for room in r.json()["rooms"]
    )


def test_the_slot_is_read_in_the_callers_time_zone(ready, ms):
    api, link_id, _ = ready
    order = ranked(api, building="Tokyo HQ")
    make_busy(ms, order[0])  # 01:00-02:00Z = 10:00 Tokyo = 02:00 Amsterdam (CET)
    amsterdam = {"start": "2026-12-01T02:00:00", "end": "2026-12-01T03:00:00", "time_zone": "Europe/Amsterdam"}
    same = find(api, link_id, building="Tokyo HQ", limit=1, **amsterdam)
    assert emails(same) == [order[1]]
    later = {"start": "2026-12-01T03:00:00", "end": "2026-12-01T04:00:00", "time_zone": "Europe/Amsterdam"}
    assert emails(find(api, link_id, building="Tokyo HQ", limit=1, **later)) == [order[0]]


def test_limit_and_checked(ready, ms):
    api, link_id, _ = ready
    order = ranked(api, building="Tokyo HQ")
    ms.clear_calls()
    one = find(api, link_id, building="Tokyo HQ", limit=1)
    assert emails(one) == order[:1] and one.json()["checked"] == 20 and len(schedule_calls(ms)) == 1
    for email in order[:20]:
        make_busy(ms, email)
    ms.clear_calls()
    r = find(api, link_id, building="Tokyo HQ")  # the first 20 are busy: then 2 calls at once
    assert emails(r) == order[20:25]
    assert r.json()["checked"] == 60 and len(schedule_calls(ms)) == 3
    # A slot with nothing free anywhere reads every candidate.
    assert find(api, link_id, building="Nowhere").json() | {"synced_at": None} == {
        "rooms": [],
        "checked": 0,
        "more": False,
        "synced_at": None,
        "stale": False,
    }


def test_bad_input_and_foreign_links_are_refused_before_graph(ready, ms, company):
    api, link_id, _ = ready
    ms.clear_calls()
    for body, code in (
        ({"limit": 21}, "invalid_limit"),
        ({"limit": 0}, "invalid_limit"),
        ({"min_capacity": "8"}, "invalid_min_capacity"),
        ({"wheelchair_accessible": "yes"}, "invalid_wheelchair_accessible"),
        ({"building": 3}, "invalid_building"),
        ({"end": "2026-12-01T09:00:00"}, "invalid_time_range"),
        ({"time_zone": "Mars/Base"}, "invalid_time_zone"),
    ):
        r = find(api, link_id, **body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, code), body
    r = find(api, link_id, as_=M2)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "link_not_found")
    r = find(api, link_id, tenant=FABRIKAM)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "tenant_not_linked")
    assert schedule_calls(ms) == []
    # A link of another tenant the company links: 422 link_not_in_tenant.
    link_tenant(company, Browser(ms.session.verify, HERP_APP_URL), seed.UPN[seed.HANA_ID])
    wait_for(
        lambda: company.call("GET", f"/outlook/tenant-links/{FABRIKAM}").json()["rooms"]["synced_at"],
        what="room sync",
    )
    r = find(api, link_id, tenant=FABRIKAM)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "link_not_in_tenant")
    assert schedule_calls(ms) == []


def test_check_conflicts_409_names_the_busy_and_creates_nothing(ready, ms):
    api, link_id, rooms = ready
    make_busy(ms, GORO, "2026-12-01T01:30:00Z", "2026-12-01T02:30:00Z", status="oof")
    make_busy(ms, rooms[0])
    ms.clear_calls()
    body = event_body(link_id, rooms, check_conflicts=True)
    r = api.call("POST", "/outlook/events", as_=M1, json=body)
    validate_response(r)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "slot_conflict" and error["busy"] == [GORO, rooms[0]]
    assert [c["path"].rsplit("/", 1)[-1] for c in ms.calls() if c["kind"] == "graph"] == ["getSchedule"]
    assert live(ms) == []
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 404  # no reservation row left
    # Without the option the same body is created (the check is off by default) ...
    assert api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).status_code == 201


def test_check_conflicts_passing_creates_with_one_extra_call(ready, ms):
    api, link_id, rooms = ready
    make_busy(ms, GORO, "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z")  # right after the slot
    make_busy(ms, rooms[0], "2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z", status="workingElsewhere")
    # rooms[0] declines the meeting and the room fallback asks getSchedule in the background: not
    # while this test counts the repeat's calls (the room answers after the test instead).
    ms.post("room-answer-delay", {"seconds": 600})
    ms.clear_calls()
    body = event_body(link_id, rooms, check_conflicts=True, room_fallback=True)
    r = api.call("POST", "/outlook/events", as_=M1, json=body)
    validate_response(r)
    assert r.status_code == 201, r.text
    assert r.json()["room_fallback"] is True and "check_conflicts" not in r.json()
    # The account's first event also subscribes it in the background: those calls are not the create's.
    assert [c["path"].rsplit("/", 1)[-1] for c in graph_calls(ms)] == ["getSchedule", "events"]
    assert len(live(ms)) == 1
    # A repeat of the same body answers from the record: no second check, no second event.
    ms.clear_calls()
    again = api.call("POST", "/outlook/events", as_=M1, json=body)
    assert again.status_code == 200 and again.json()["event_id"] == r.json()["event_id"]
    assert schedule_calls(ms) == []
    # room_fallback is patchable; check_conflicts is not.
    patched = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"room_fallback": False})
    validate_response(patched)
    assert patched.status_code == 200 and patched.json()["room_fallback"] is False
    refused = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"check_conflicts": True})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "field_not_patchable")
