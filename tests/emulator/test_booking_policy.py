"""Room booking policies of the emulator (booking.py): Exchange's MaximumDurationInMinutes
(default 1440, 0 = no limit), settable per room through the control API."""

from __future__ import annotations

import pytest

from devtools.emulator import seed
from devtools.emulator.records import ROOM_PROPS

from .calendar_helpers import ROOM, ROOM2, event_body, reread, rooms_answer_at_once, status_of

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
CONTOSO = seed.CONTOSO_TENANT_ID


def set_max_duration(emu, limits: dict[str, int | None]) -> None:
    data = emu.control("GET", f"tenants/{CONTOSO}/rooms")
    for room in data["rooms"]:
        if room["emailAddress"] in limits:
            room["maximumDurationInMinutes"] = limits[room["emailAddress"]]
    emu.control("POST", f"tenants/{CONTOSO}/rooms", json={"rooms": data["rooms"]})


def history_reason(emu, event_id: str) -> str | None:
    [item] = [e for e in emu.control("GET", f"users/{seed.EMI_ID}/events")["events"] if e["id"] == event_id]
    return [h for h in item["_emulator"]["history"] if h["action"] == "room-response"][-1]["reason"]


def test_a_meeting_longer_than_a_day_is_declined_by_default(emu, emi):
    rooms_answer_at_once(emu)
    long = emi.call(
        "POST", "/me/events", json=event_body(end="2026-12-02T10:30:00", attendees=[(ROOM, "resource")])
    ).json()
    assert status_of(reread(emi, long), ROOM) == "declined"
    assert history_reason(emu, long["id"]) == "duration"
    day = emi.call(
        "POST",
        "/me/events",
        json=event_body(start="2026-12-03T10:00:00", end="2026-12-04T10:00:00", attendees=[(ROOM, "resource")]),
    ).json()
    assert status_of(reread(emi, day), ROOM) == "accepted"  # exactly 1,440 minutes


def test_a_room_carries_its_own_limit(emu, emi):
    rooms_answer_at_once(emu)
    set_max_duration(emu, {ROOM: 30, ROOM2: 0})
    listed = {r["emailAddress"]: r for r in emu.control("GET", f"tenants/{CONTOSO}/rooms")["rooms"]}
    assert listed[ROOM]["maximumDurationInMinutes"] == 30 and listed[ROOM2]["maximumDurationInMinutes"] == 0
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(ROOM, "resource"), (ROOM2, "resource")])).json()
    got = reread(emi, e)
    assert (status_of(got, ROOM), status_of(got, ROOM2)) == ("declined", "accepted")
    week = emi.call(
        "POST",
        "/me/events",
        json=event_body(start="2026-12-07T10:00:00", end="2026-12-12T10:00:00", attendees=[(ROOM2, "resource")]),
    ).json()
    assert status_of(reread(emi, week), ROOM2) == "accepted"  # 0: no limit
    # Places never show the policy (it is a mailbox setting, not a Graph property).
    assert "maximum_duration_in_minutes" not in ROOM_PROPS


def test_a_bad_limit_is_refused(emu):
    data = emu.control("GET", f"tenants/{CONTOSO}/rooms")
    data["rooms"][0]["maximumDurationInMinutes"] = -5
    r = emu.http.post(f"{emu.base}/_emulator/tenants/{CONTOSO}/rooms", json={"rooms": data["rooms"]}, timeout=10)
    assert r.status_code == 400
