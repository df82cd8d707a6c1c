"""Room mailboxes of the emulator answer meeting requests later, as Exchange's resource booking
does: nothing in the create answer hints at the answer."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from devtools.emulator import seed

from .calendar_helpers import (
    BEN,
    ROOM,
    ROOM2,
    Client,
    event_body,
    reread,
    rooms_answer_at_once,
    schedule_body,
    status_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
RESERVED = f"tokyo-hq-room040@{seed.CONTOSO_DOMAIN}"


def _instant(value):  # Graph's DateTimeOffset: seven fractional digits and Z
    return dt.datetime.strptime(value[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=dt.UTC)


def _room_view(client, room):
    r = client.call("POST", "/me/calendar/getSchedule", json=schedule_body([room], interval=60))
    return r.json()["value"][0]["availabilityView"]


def test_a_room_answers_about_a_second_later(emu, emi):
    assert emu.control("GET", "room-answer-delay") == {"seconds": 1.0}
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(ROOM, "resource"), (BEN, "required")])).json()
    sent = _instant(e["createdDateTime"])
    assert status_of(e, ROOM) == "none"
    assert status_of(reread(emi, e), ROOM) == "none"  # an immediate GET: still no answer
    assert _room_view(emi, ROOM) == "00000"  # nor in the room's free/busy
    deadline = time.monotonic() + 5
    while status_of(got := reread(emi, e), ROOM) == "none" and time.monotonic() < deadline:
        time.sleep(0.2)
    room = next(a for a in got["attendees"] if a["emailAddress"]["address"] == ROOM)
    assert room["status"]["response"] == "accepted"
    assert dt.timedelta(seconds=0.9) <= _instant(room["status"]["time"]) - sent <= dt.timedelta(seconds=1.2)
    assert _room_view(emi, ROOM) == "02000"  # 10-11 JST booked from now on
    assert got["changeKey"] != e["changeKey"]  # the answer updated the organizer's item


def test_reserved_and_booked_rooms_decline(emu, emi):
    rooms_answer_at_once(emu)
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(RESERVED, "resource")])).json()
    assert status_of(reread(emi, e), RESERVED) == "declined"  # room.md: "It can't be reserved."
    # Two requests for one room at the same time: the first one processed gets it.
    emu.control("POST", "room-answer-delay", json={"seconds": 0.5})
    ben = Client(emu, BEN)
    first = ben.call("POST", "/me/events", json=event_body(attendees=[(ROOM, "resource")])).json()
    second = emi.call(
        "POST",
        "/me/events",
        json=event_body(start="2026-12-01T10:30:00", end="2026-12-01T11:30:00", attendees=[(ROOM, "resource")]),
    ).json()
    assert status_of(first, ROOM) == status_of(second, ROOM) == "none"
    time.sleep(0.6)
    assert status_of(reread(ben, first), ROOM) == "accepted"
    assert status_of(reread(emi, second), ROOM) == "declined"


def test_a_meeting_cancelled_before_the_answer_books_nothing(emu, emi):
    # The answer falls due 1.5 s after the create: the cancel must come before it, also on a busy
    # machine (0.3 s was once too short between two requests).
    emu.control("POST", "room-answer-delay", json={"seconds": 1.5})
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(ROOM2, "resource")])).json()
    assert emi.call("POST", f"/me/events/{e['id']}/cancel", json={}).status_code == 202
    time.sleep(1.6)
    assert _room_view(emi, ROOM2) == "00000"
    history = next(r for r in emu.control("GET", f"users/{seed.EMI_ID}/events")["events"])["_emulator"]["history"]
    assert not any(h["source"] == "room" for h in history)


def test_the_answer_delay_control_route(emu, emi):
    for bad in (-1, "1", True, 3601):
        r = emu.http.post(f"{emu.base}/_emulator/room-answer-delay", json={"seconds": bad})
        assert r.status_code == 400, bad
    assert emu.control("POST", "room-answer-delay", json={"seconds": 0}) == {"seconds": 0.0}
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(ROOM, "resource")])).json()
    assert status_of(e, ROOM) == "none"  # even at 0 the create answer has no answer
    assert status_of(reread(emi, e), ROOM) == "accepted"
    emu.control("POST", "reset")
    assert emu.control("GET", "room-answer-delay") == {"seconds": 1.0}


def test_an_answer_given_through_the_control_api_wins(emu, emi):
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(ROOM, "resource")])).json()
    emu.control("POST", f"events/{e['id']}/responses", json={"email": ROOM, "response": "declined"})
    time.sleep(1.1)
    assert status_of(reread(emi, e), ROOM) == "declined"
