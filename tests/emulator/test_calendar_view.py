"""Graph calendarView of the emulator (the slot search's read of an interviewer's own calendar),
driven over HTTPS with tokens from real MSAL."""

from __future__ import annotations

import pytest

from devtools.emulator import seed

from .calendar_helpers import BEN, EMI, assert_graph_error, event_body, schedule_body

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
SELECT = "subject,showAs,isCancelled,responseStatus,start,end"
WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-02T00:00:00Z"}


def _item(emu, oid, start, end, **extra):
    return emu.control("POST", f"users/{oid}/events", json={"start": start, "end": end, **extra})


def test_calendar_view_requires_the_window(emu, emi):
    r = emi.call("GET", "/me/calendarView", params={"startDateTime": WINDOW["startDateTime"]})
    err = assert_graph_error(r, 400, "ErrorInvalidParameter")
    assert "StartDateTime and EndDateTime" in err["message"]


def test_calendar_view_lists_overlapping_items_with_the_owners_view(emu, emi):
    emi.call("POST", "/me/events", json=event_body(subject="Interview A", attendees=[(BEN, "required")]))
    _item(emu, seed.EMI_ID, "2026-11-30T23:00:00Z", "2026-12-01T00:30:00Z", subject="[面接可] Focus", show_as="busy")
    _item(emu, seed.EMI_ID, "2026-12-01T05:00:00Z", "2026-12-01T06:00:00Z", subject="Vendor call", response="declined")
    _item(emu, seed.EMI_ID, "2026-12-01T07:00:00Z", "2026-12-01T08:00:00Z", subject="Off", is_cancelled=True)
    _item(emu, seed.EMI_ID, "2026-12-03T07:00:00Z", "2026-12-03T08:00:00Z", subject="Outside the window")
    _item(emu, seed.BEN_ID, "2026-12-01T03:00:00Z", "2026-12-01T04:00:00Z", subject="Ben's own")
    r = emi.call(
        "GET",
        "/me/calendarView",
        params={**WINDOW, "$select": SELECT},
        headers={"Prefer": 'outlook.timezone="UTC"'},
    )
    assert r.status_code == 200, r.text
    items = r.json()["value"]
    assert [i["subject"] for i in items] == ["[面接可] Focus", "Interview A", "Vendor call", "Off"]
    assert set(items[0]) == {"@odata.etag", "id", *SELECT.split(",")}
    assert items[0]["start"] == {"dateTime": "2026-11-30T23:00:00.0000000", "timeZone": "UTC"}
    assert items[1]["responseStatus"]["response"] == "organizer" and items[1]["showAs"] == "busy"
    assert items[2]["responseStatus"]["response"] == "declined"
    assert items[3]["isCancelled"] is True
    # getSchedule of the same mailbox through someone else's token shows no subjects
    ben = type(emi)(emu, BEN)
    info = ben.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI])).json()["value"][0]
    assert info["scheduleItems"] and all("subject" not in i for i in info["scheduleItems"])


def test_calendar_view_pages_by_next_link(emu, emi):
    for hour in range(12):
        _item(emu, seed.EMI_ID, f"2026-12-01T{hour:02d}:00:00Z", f"2026-12-01T{hour:02d}:30:00Z", subject=f"m{hour}")
    first = emi.call("GET", "/me/calendarView", params=WINDOW).json()
    assert len(first["value"]) == 10  # Outlook's default page
    rest = emi.call("GET", first["@odata.nextLink"]).json()
    assert [i["subject"] for i in rest["value"]] == ["m10", "m11"] and "@odata.nextLink" not in rest
    big = emi.call("GET", "/me/calendarView", params={**WINDOW, "$top": "1000"}).json()
    assert len(big["value"]) == 12 and "@odata.nextLink" not in big
    assert_graph_error(emi.call("GET", "/me/calendarView", params={**WINDOW, "$top": "1001"}), 400, "BadRequest")
