"""Graph getSchedule of the emulator, driven over HTTPS with tokens from real MSAL."""

from __future__ import annotations

import pytest

from devtools.emulator import seed

from .calendar_helpers import (
    BEN,
    EMI,
    ROOM,
    TOKYO,
    assert_graph_error,
    event_body,
    rooms_answer_at_once,
    schedule_body,
)

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")


# --- getSchedule ------------------------------------------------------------------------------------
def test_get_schedule(emu, emi):
    rooms_answer_at_once(emu)  # the room has accepted by the time getSchedule asks
    emi.call(
        "POST",
        "/me/events",
        json=event_body(
            subject="Interview", attendees=[(BEN, "required"), (ROOM, "resource")], location={"displayName": "Room 001"}
        ),
    )
    emu.control(
        "POST",
        f"schedules/{EMI}/busy",
        json={"start": "2026-12-01T03:00:00Z", "end": "2026-12-01T04:00:00Z", "status": "oof", "subject": "Dentist"},
    )
    emu.control(
        "POST",
        f"schedules/{EMI}/busy",  # overlaps the meeting's second half
        json={"start": "2026-12-01T01:30:00Z", "end": "2026-12-01T02:30:00Z", "status": "tentative"},
    )
    unknown = f"nobody@{seed.CONTOSO_DOMAIN}"
    r = emi.call(
        "POST",
        "/me/calendar/getSchedule",
        json=schedule_body([EMI, ROOM, BEN, unknown]),
        headers={"Prefer": f'outlook.timezone="{TOKYO}"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["Preference-Applied"] == f'outlook.timezone="{TOKYO}"'
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#Collection(microsoft.graph.scheduleInformation)")
    mine, room, ben, nobody = body["value"]
    assert [v["scheduleId"] for v in body["value"]] == [EMI, ROOM, BEN, unknown]
    # 09-14 JST in hours: meeting 10-11 (busy wins over the tentative block), tentative until
    # 11:30, oof 12-13.
    assert mine["availabilityView"] == "02130"
    assert room["availabilityView"] == "02000"
    assert ben["availabilityView"] == "01000"  # an unanswered request shows as tentative
    assert mine["scheduleItems"][0] == {
        "isPrivate": False,
        "status": "busy",
        "subject": "Interview",
        "location": "Room 001",
        "start": {"dateTime": "2026-12-01T10:00:00.0000000", "timeZone": TOKYO},
        "end": {"dateTime": "2026-12-01T11:00:00.0000000", "timeZone": TOKYO},
    }
    assert [i["status"] for i in mine["scheduleItems"]] == ["busy", "tentative", "oof"]
    assert mine["scheduleItems"][2]["subject"] == "Dentist"
    assert set(ben["scheduleItems"][0]) == {"status", "start", "end"}  # others show availability only
    assert mine["workingHours"]["daysOfWeek"][0] == "monday"
    assert nobody == {
        "scheduleId": unknown,
        "error": {
            "message": f"Unable to resolve e-mail address {unknown} to an Active Directory object.",
            "responseCode": "5009",
        },
    }
    # Default interval 30 minutes; times in UTC without the Prefer header.
    r = emi.call("POST", "/me/calendar/getschedule", json=schedule_body([EMI], interval=None)).json()
    assert r["value"][0]["availabilityView"] == "0022103300"
    assert r["value"][0]["scheduleItems"][0]["start"] == {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"}
    r = emi.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI], interval=15)).json()
    assert len(r["value"][0]["availabilityView"]) == 20


def test_get_schedule_limits(emu, emi):
    assert_graph_error(
        emi.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI], interval=4)),
        400,
        "ErrorInvalidMergedFreeBusyInterval",
    )
    assert_graph_error(
        emi.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI], interval=1441)),
        400,
        "ErrorInvalidMergedFreeBusyInterval",
    )
    many = [f"user{i}@{seed.CONTOSO_DOMAIN}" for i in range(101)]
    err = assert_graph_error(
        emi.call("POST", "/me/calendar/getSchedule", json=schedule_body(many)), 400, "ErrorMailboxDataArrayTooBig"
    )
    assert "allowed size = 100; the actual size = 101" in err["message"]
    assert emi.call("POST", "/me/calendar/getSchedule", json=schedule_body(many[:100])).status_code == 200
    assert_graph_error(
        emi.call("POST", "/me/calendar/getSchedule", json=schedule_body([])), 400, "ErrorMailboxDataArrayEmpty"
    )
    assert_graph_error(
        emi.call(
            "POST",
            "/me/calendar/getSchedule",
            json=schedule_body([EMI], start="2026-12-01T00:00:00", end="2027-01-12T00:00:00"),
        ),
        400,
        "ErrorTimeIntervalTooBig",
    )
    assert_graph_error(
        emi.call(
            "POST",
            "/me/calendar/getSchedule",
            json=schedule_body([EMI], start="2026-12-01T10:00:00", end="2026-12-01T10:00:00"),
        ),
        400,
        "ErrorInvalidTimeInterval",
    )
