"""The slot search (日程調整, CONTRACT 7) end to end: HERP -> host -> storage + emulator
(calendarView of linked interviewers, getSchedule of the others and of rooms)."""

from __future__ import annotations

import pytest

from devtools.emulator import seed
from devtools.openapi_check import validate_response
from tests.e2e.conftest import CONTOSO, link_tenant, link_user, wait_for
from tests.e2e.test_events import event_body

pytestmark = pytest.mark.e2e
M1, M2 = ("m1", "member"), ("m2", "member")
EMI, FUMI, GORO = (seed.UPN[i] for i in (seed.EMI_ID, seed.FUMI_ID, seed.GORO_ID))
MON = "2027-01-18"  # a Monday, no holiday; JST = UTC+9


def utc(day: str, hh: int, mm: int = 0) -> str:
    """`hh:mm` JST on `day` as UTC (hh >= 9)."""
    return f"{day}T{hh - 9:02d}:{mm:02d}:00Z"


def outlook_item(ms, oid: str, day: str, start: tuple[int, int], end: tuple[int, int], **extra) -> None:
    ms.post(f"users/{oid}/events", {"start": utc(day, *start), "end": utc(day, *end), **extra})


def block(ms, email: str, day: str, start: tuple[int, int], end: tuple[int, int], status: str = "busy") -> None:
    ms.post(f"schedules/{email}/busy", {"start": utc(day, *start), "end": utc(day, *end), "status": status})


def graph_calls(ms) -> list[dict]:
    return [c for c in ms.calls() if c["kind"] == "graph" and "/token" not in c["path"]]


def find(api, link_id: str, *, as_=M1, **body):
    r = api.call(
        "POST",
        "/outlook/slots/find",
        as_=as_,
        json={"tenant_id": CONTOSO, "link_id": link_id, "from": MON, "days": 1, "limit": 100, "min_slots": 1, **body},
    )
    validate_response(r)
    return r


def starts(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [s["start"] for s in r.json()["slots"]]


def at(day: str, *times: str) -> list[str]:
    return [f"{day}T{t}:00" for t in times]


def test_a_linked_interviewer_is_read_from_their_own_calendar_by_herps_rules(ready, ms):
    api, link_id, _ = ready
    outlook_item(ms, seed.EMI_ID, MON, (9, 0), (9, 30), subject="定例")
    outlook_item(ms, seed.EMI_ID, MON, (9, 30), (10, 0), subject="メモ", show_as="free")
    outlook_item(ms, seed.EMI_ID, MON, (10, 0), (13, 0), subject="[面接可] 資料作成")
    outlook_item(ms, seed.EMI_ID, MON, (12, 0), (12, 30), subject="1on1")  # busy inside the [面接可] block
    outlook_item(ms, seed.EMI_ID, MON, (10, 0), (11, 0), subject="Vendor", response="declined")
    outlook_item(
        ms, seed.EMI_ID, MON, (11, 0), (12, 0), subject="Canceled: Sync", is_cancelled=True, response="accepted"
    )
    outlook_item(ms, seed.EMI_ID, MON, (13, 0), (14, 0), subject="【面接可】全角", show_as="tentative")
    ms.clear_calls()
    r = find(
        api,
        link_id,
        interviewers=[{"herp_account_id": "m1"}],
        duration_minutes=60,
        hours={"start": "09:00", "end": "14:00"},
    )
    assert starts(r) == at(MON, "09:30", "10:00", "10:30", "11:00")
    body = r.json()
    assert body["time_zone"] == "Asia/Tokyo" and body["window"] == {"from": MON, "to": MON}
    assert body["checked"] == {"interviewers": 1, "rooms": 0}
    assert all(
        s["end"] == s["start"].replace(s["start"][11:13], f"{int(s['start'][11:13]) + 1:02d}", 1) for s in body["slots"]
    )
    calls = graph_calls(ms)
    assert [(c["method"], c["path"].rsplit("/", 1)[-1], c["user_id"]) for c in calls] == [
        ("GET", "calendarView", seed.EMI_ID)
    ]
    again = find(
        api,
        link_id,
        interviewers=[{"herp_account_id": "m1"}],
        duration_minutes=60,
        hours={"start": "09:00", "end": "14:00"},
    )
    assert [s["slot_id"] for s in again.json()["slots"]] == [s["slot_id"] for s in body["slots"]]


def test_interviewers_without_a_link_are_read_with_getschedule_subjects_unseen(ready, ms):
    api, link_id, _ = ready
    outlook_item(ms, seed.GORO_ID, MON, (9, 0), (10, 0), subject="[面接可] 作業")  # invisible through getSchedule
    block(ms, GORO, MON, (11, 0), (11, 30), status="tentative")
    block(ms, GORO, MON, (12, 0), (12, 30), status="workingElsewhere")
    block(ms, GORO, MON, (13, 0), (14, 0), status="oof")
    ms.clear_calls()
    r = find(
        api, link_id, interviewers=[{"email": GORO}], duration_minutes=30, hours={"start": "09:00", "end": "14:30"}
    )
    assert starts(r) == at(MON, "10:00", "10:30", "11:30", "12:30", "14:00")
    calls = graph_calls(ms)
    assert [(c["path"].rsplit("/", 1)[-1], c["user_id"]) for c in calls] == [("getSchedule", seed.EMI_ID)]


def test_holidays_days_off_and_the_window_growing_to_30_days(ready, ms):
    api, link_id, _ = ready
    one_a_day = {
        "interviewers": [{"herp_account_id": "m1"}],
        "duration_minutes": 60,
        "hours": {"start": "09:00", "end": "10:00"},
    }
    # Fri 2027-01-08, the weekend, Mon 01-11 成人の日: one business day in four
    r = find(api, link_id, **one_a_day, **{"from": "2027-01-08", "days": 4, "min_slots": 1})
    assert starts(r) == at("2027-01-08", "09:00") and r.json()["window"] == {"from": "2027-01-08", "to": "2027-01-11"}
    r = find(api, link_id, **one_a_day, **{"from": "2027-01-08", "days": 4, "min_slots": 1, "holidays": None})
    assert starts(r) == at("2027-01-08", "09:00") + at("2027-01-11", "09:00")
    # 2027-01-08 is a day off: the window holds nothing, grows to 30 days and reads only the new days
    ms.clear_calls()
    r = find(
        api,
        link_id,
        **one_a_day,
        **{"from": "2027-01-08", "days": 4, "min_slots": 3, "days_off": ["2027-01-08", "2027-01-13"], "limit": 3},
    )
    assert starts(r) == at("2027-01-12", "09:00") + at("2027-01-14", "09:00") + at("2027-01-15", "09:00")
    assert r.json()["window"] == {"from": "2027-01-08", "to": "2027-02-06"}
    views = [c for c in graph_calls(ms) if c["path"].endswith("/calendarView")]
    assert len(views) == 2
    r = find(api, link_id, **one_a_day, **{"from": "2027-01-01", "days": 1, "min_slots": 1, "limit": 1})
    assert starts(r) == at("2027-01-04", "09:00")  # 元日, then the weekend


def test_max_per_day_counts_interviews_made_through_this_service(ready, ms):
    api, link_id, rooms = ready
    made = api.call(
        "POST",
        "/outlook/events",
        as_=M1,
        json=event_body(link_id, rooms, start=f"{MON}T18:00:00", end=f"{MON}T19:00:00", online_meeting=False),
    )
    assert made.status_code == 201, made.text
    search = {
        "interviewers": [{"herp_account_id": "m1"}],
        "duration_minutes": 60,
        "hours": {"start": "09:00", "end": "11:00"},
        "days": 2,
    }
    assert starts(find(api, link_id, **search)) == at(MON, "09:00", "09:30", "10:00") + at(
        "2027-01-19", "09:00", "09:30", "10:00"
    )
    assert starts(find(api, link_id, **search, max_per_day=1)) == at("2027-01-19", "09:00", "09:30", "10:00")
    assert starts(find(api, link_id, **search, max_per_day=2)) == at(MON, "09:00", "09:30", "10:00") + at(
        "2027-01-19", "09:00", "09:30", "10:00"
    )
    # the attendee counts too (Goro is invited), and a cancelled interview no longer does
    goro = {**search, "interviewers": [{"email": GORO}]}
    assert starts(find(api, link_id, **goro, max_per_day=1)) == at("2027-01-19", "09:00", "09:30", "10:00")
    assert api.call("DELETE", "/outlook/events/sch-1", as_=M1).status_code == 204
    assert len(starts(find(api, link_id, **goro, max_per_day=1))) == 6


def ranked(api, building, min_capacity) -> list[dict]:
    rooms = api.call("GET", f"/outlook/tenants/{CONTOSO}/rooms", as_=M1).json()["rooms"]
    rooms = [
        r
        for r in rooms
        if r["bookable"]
        and r["building"] == building
        and (r["capacity"] or 0) >= min_capacity
        and r["capacity"] is not None
    ]
    rooms.sort(key=lambda r: (r["capacity"], r["display_name"], r["email"].lower()))
    return rooms


def test_rooms_best_first_only_for_surviving_slots(ready, ms):
    api, link_id, _ = ready
    order = ranked(api, "Osaka Office", 8)
    block(ms, order[0]["email"], MON, (9, 0), (10, 0))
    outlook_item(ms, seed.EMI_ID, MON, (10, 0), (11, 0), subject="busy")
    ms.clear_calls()
    r = find(
        api,
        link_id,
        interviewers=[{"herp_account_id": "m1"}],
        duration_minutes=60,
        hours={"start": "09:00", "end": "12:00"},
        room={"building": "Osaka Office", "min_capacity": 8},
    )
    slots = r.json()["slots"]
    assert [(s["start"], s["room"]["email"]) for s in slots] == [
        (f"{MON}T09:00:00", order[1]["email"]),
        (f"{MON}T11:00:00", order[0]["email"]),
    ]
    assert r.json()["checked"]["rooms"] == 20
    paths = [c["path"].rsplit("/", 1)[-1] for c in graph_calls(ms)]
    assert sorted(paths) == ["calendarView", "getSchedule"]
    # every candidate busy at 09:00: that slot is left out, the search reads every candidate once
    for room in order:
        block(ms, room["email"], MON, (9, 0), (10, 0))
    r = find(
        api,
        link_id,
        interviewers=[{"herp_account_id": "m1"}],
        duration_minutes=60,
        hours={"start": "09:00", "end": "12:00"},
        room={"building": "Osaka Office", "min_capacity": 8},
    )
    assert [s["start"] for s in r.json()["slots"]] == [f"{MON}T11:00:00"]
    assert r.json()["checked"]["rooms"] == len(order)
    assert slots[0]["slot_id"] != r.json()["slots"][0]["slot_id"]


def test_a_loop_runs_back_to_back_each_session_for_its_own_people_one_room(ready, ms):
    api, link_id, _ = ready
    block(ms, GORO, MON, (10, 0), (11, 0))  # Goro is busy 10-11
    outlook_item(ms, seed.EMI_ID, MON, (11, 0), (12, 0), subject="Emi busy later")  # never in Emi's session
    r = find(
        api,
        link_id,
        sessions=[
            {"interviewers": [{"herp_account_id": "m1"}], "duration_minutes": 60},
            {"interviewers": [{"email": GORO}], "duration_minutes": 60},
        ],
        gap_minutes=15,
        hours={"start": "09:00", "end": "14:00"},
        room={"building": "Osaka Office", "min_capacity": 8},
    )
    assert r.status_code == 200, r.text
    slots = r.json()["slots"]
    first = slots[0]
    assert (first["start"], first["end"]) == (f"{MON}T10:00:00", f"{MON}T12:15:00")
    assert [(s["start"], s["end"]) for s in first["sessions"]] == [
        (f"{MON}T10:00:00", f"{MON}T11:00:00"),
        (f"{MON}T11:15:00", f"{MON}T12:15:00"),
    ]
    assert first["sessions"][0]["interviewers"] == [{"herp_account_id": "m1"}]
    assert first["room"] is not None and all(s["room"] == first["room"] for s in first["sessions"])
    # Emi's 11-12 item does not block her 10-11 session; 09:00 and 09:30 put Goro in his busy hour
    assert f"{MON}T09:00:00" not in [s["start"] for s in slots] and f"{MON}T09:30:00" not in [s["start"] for s in slots]
    assert f"{MON}T10:30:00" not in [s["start"] for s in slots]  # Emi 10:30-11:30 overlaps her 11:00 item


def test_two_linked_interviewers_each_read_from_their_own_calendar(ready, ms, browser):
    api, link_id, _ = ready
    link_user(api, browser.__class__(browser.session.verify, browser.stop_at), FUMI, "m2")
    outlook_item(ms, seed.FUMI_ID, MON, (9, 0), (10, 0), subject="[面接可] 作業")
    outlook_item(ms, seed.FUMI_ID, MON, (10, 0), (11, 0), subject="会議")
    ms.clear_calls()
    r = find(
        api,
        link_id,
        interviewers=[{"herp_account_id": "m1"}, {"email": FUMI}],
        duration_minutes=60,
        hours={"start": "09:00", "end": "12:00"},
    )
    assert starts(r) == at(MON, "09:00", "11:00")
    views = sorted(c["user_id"] for c in graph_calls(ms) if c["path"].endswith("/calendarView"))
    assert views == sorted([seed.EMI_ID, seed.FUMI_ID]) and len(graph_calls(ms)) == 2


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"duration_minutes": 50}, 422, "invalid_duration"),
        ({"days": 31}, 422, "invalid_window"),
        ({"from": "2020-01-06"}, 422, "invalid_window"),
        ({"interviewers": [{"email": f"p{i}@contoso.example"} for i in range(21)]}, 422, "too_many_interviewers"),
        ({"hours": {"start": "18:00", "end": "09:00"}}, 422, "invalid_hours"),
        ({"holidays": "ZZ"}, 422, "unknown_holiday_calendar"),
        ({"time_zone": "Nowhere/City"}, 422, "invalid_time_zone"),
        ({"link_id": "ul_not_mine"}, 404, "link_not_found"),
        ({"tenant_id": seed.FABRIKAM_TENANT_ID}, 404, "tenant_not_linked"),
        ({"interviewers": [{"herp_account_id": "nobody"}]}, 422, "interviewer_not_found"),
        (
            {
                "sessions": [{"interviewers": [{"email": GORO}], "duration_minutes": 60}] * 7,
                "interviewers": None,
                "duration_minutes": None,
            },
            422,
            "invalid_sessions",
        ),
    ],
)
def test_refusals_come_before_any_graph_call(ready, ms, change, status, code):
    api, link_id, _ = ready
    ms.clear_calls()
    body = {"interviewers": [{"herp_account_id": "m1"}], "duration_minutes": 60, **change}
    link = body.pop("link_id", link_id)
    r = find(api, link, **{k: v for k, v in body.items() if v is not None})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert graph_calls(ms) == []


def test_another_members_link_is_not_found(ready, ms):
    api, link_id, _ = ready
    r = find(api, link_id, as_=M2, interviewers=[{"email": GORO}], duration_minutes=60)
    assert r.status_code == 404 and r.json()["error"]["code"] == "link_not_found"


def test_a_link_of_another_tenant_is_refused_before_any_graph_call(ready, ms, browser):
    api, _, _ = ready
    link_tenant(api, browser.__class__(browser.session.verify, browser.stop_at), seed.UPN[seed.HANA_ID])
    tenants = api.call("GET", "/outlook/user-links").json()["tenants"]
    fabrikam_link = next(t for t in tenants if t["tenant_id"] == seed.FABRIKAM_TENANT_ID)["links"][0]["link_id"]
    wait_for(
        lambda: api.call("GET", f"/outlook/tenant-links/{seed.FABRIKAM_TENANT_ID}").json()["rooms"]["synced_at"],
        what="the room sync linking queued",
    )
    ms.clear_calls()
    r = find(api, fabrikam_link, as_=("herp-admin", "admin"), interviewers=[{"email": GORO}], duration_minutes=60)
    assert r.status_code == 422 and r.json()["error"]["code"] == "link_not_in_tenant"
    assert graph_calls(ms) == []
