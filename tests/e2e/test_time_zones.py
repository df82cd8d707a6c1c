"""Times under the 2026 laws, end to end: British Columbia stays at UTC-7 from November 2026
(tzdata 2026b). Outlook must hold the right instant whether its Exchange knows the new Windows id
("British Columbia Standard Time", Windows update KB5124010) or refuses it (then the service sends
UTC: one more Graph call, only then)."""

from __future__ import annotations

import pytest

from tests.e2e.test_events import GORO, M1, event_body, graph_calls, live

pytestmark = pytest.mark.e2e
VANCOUVER = {
    "start": "2027-01-15T10:00:00",
    "end": "2027-01-15T11:00:00",
    "time_zone": "America/Vancouver",
    "online_meeting": False,
}


def utc(stored: dict, field: str) -> str:
    """The instant Outlook holds (the control view renders it in UTC)."""
    assert stored[field]["timeZone"] == "UTC"
    return stored[field]["dateTime"][:19]


def event_writes(ms, method: str) -> list[int]:
    """The statuses of the Graph calls that wrote the event (POST .../events or PATCH .../events/{id})."""
    return [
        c["status"]
        for c in graph_calls(ms)
        if c["method"] == method and "/events" in c["path"] and not c["path"].endswith("/cancel")
    ]


def refuse_2026_ids(ms) -> None:
    assert ms.post("time-zones", {"accept_2026_ids": False})["accept_2026_ids"] is False


def create_in_vancouver(api, link_id, rooms) -> dict:
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms, **VANCOUVER))
    assert r.status_code == 201, r.text
    assert (r.json()["start"], r.json()["end"]) == ("2027-01-15T10:00:00", "2027-01-15T11:00:00")
    return r.json()


@pytest.mark.parametrize("exchange", ["with KB5124010", "without KB5124010"])
def test_an_interview_in_vancouver_in_january_2027_is_held_at_utc_minus_7(ready, ms, exchange):
    api, link_id, rooms = ready
    if exchange == "without KB5124010":
        refuse_2026_ids(ms)
    ms.clear_calls()
    create_in_vancouver(api, link_id, rooms)
    [stored] = live(ms)
    assert (utc(stored, "start"), utc(stored, "end")) == ("2027-01-15T17:00:00", "2027-01-15T18:00:00")
    if exchange == "with KB5124010":
        assert stored["originalStartTimeZone"] == "British Columbia Standard Time"
        assert event_writes(ms, "POST") == [201]  # the normal case stays one Graph call
    else:
        assert event_writes(ms, "POST") == [400, 201]  # the id refused, then the same instants in UTC
        assert len(graph_calls(ms)) == 2
    ms.clear_calls()
    got = api.call("GET", "/outlook/events/sch-1", as_=M1).json()
    assert (got["start"], got["end"], got["time_zone"]) == (
        "2027-01-15T10:00:00",
        "2027-01-15T11:00:00",
        "America/Vancouver",
    )
    assert len(graph_calls(ms)) == 1


@pytest.mark.parametrize("exchange", ["with KB5124010", "without KB5124010"])
def test_a_patch_of_the_time_in_vancouver(ready, ms, exchange):
    api, link_id, rooms = ready
    create_in_vancouver(api, link_id, rooms)
    if exchange == "without KB5124010":
        refuse_2026_ids(ms)
    ms.clear_calls()
    r = api.call(
        "PATCH", "/outlook/events/sch-1", as_=M1, json={"start": "2027-01-20T14:00:00", "end": "2027-01-20T15:30:00"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["start"], r.json()["end"]) == ("2027-01-20T14:00:00", "2027-01-20T15:30:00")
    assert event_writes(ms, "PATCH") == ([200] if exchange == "with KB5124010" else [400, 200])
    [stored] = live(ms)
    assert (utc(stored, "start"), utc(stored, "end")) == ("2027-01-20T21:00:00", "2027-01-20T22:30:00")
    got = api.call("GET", "/outlook/events/sch-1", as_=M1).json()
    assert (got["start"], got["end"]) == ("2027-01-20T14:00:00", "2027-01-20T15:30:00")


@pytest.mark.parametrize("exchange", ["with KB5124010", "without KB5124010"])
def test_availability_in_vancouver(ready, ms, exchange):
    api, link_id, rooms = ready
    if exchange == "without KB5124010":
        refuse_2026_ids(ms)
    ms.post(f"schedules/{GORO}/busy", {"start": "2027-01-15T17:00:00Z", "end": "2027-01-15T18:00:00Z"})
    ms.clear_calls()
    r = api.call(
        "POST",
        "/outlook/availability",
        as_=M1,
        json={
            "link_id": link_id,
            "emails": [GORO],
            "start": "2027-01-15T09:00:00",
            "end": "2027-01-15T13:00:00",
            "time_zone": "America/Vancouver",
            "interval_minutes": 60,
        },
    )
    assert r.status_code == 200, r.text
    [goro] = r.json()["schedules"]
    assert goro["availability_view"] == "0200"  # 09:00 local is 16:00 UTC: the busy hour is the second
    assert goro["busy"] == [{"start": "2027-01-15T10:00:00", "end": "2027-01-15T11:00:00", "status": "busy"}]
    calls = [c["status"] for c in graph_calls(ms) if c["path"].endswith("getSchedule")]
    assert calls == ([200] if exchange == "with KB5124010" else [400, 200])


def test_the_exchange_takes_the_2026_ids_again_after_reset(ms):
    refuse_2026_ids(ms)
    ms.post("reset")
    view = ms.session.get(f"{ms.url}/_emulator/time-zones", timeout=10).json()
    assert view["accept_2026_ids"] is True
    assert view["ids_2026"] == [
        "Alberta Standard Time",
        "British Columbia Standard Time",
        "Manitoba Standard Time",
    ]
