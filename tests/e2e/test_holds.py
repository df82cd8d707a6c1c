"""Holds (仮押さえ, CONTRACT 7) end to end: HERP -> host -> Azurite + the emulator's Outlook.

m1 (Emi) organizes; m2 (Fumi) has a link of her own, so her calendar is held too; Goro is an
interviewer by e-mail only (no link of his own): nobody holds his calendar."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
import requests

from devtools.emulator import seed
from devtools.openapi_check import validate_response
from tests.e2e.conftest import CONTOSO, link_user, wait_for
from tests.e2e.test_events import event_body, live

pytestmark = pytest.mark.e2e
M1, M2 = ("m1", "member"), ("m2", "member")
EMI, FUMI, GORO = (seed.UPN[i] for i in (seed.EMI_ID, seed.FUMI_ID, seed.GORO_ID))


def workday(ahead: int = 8) -> date:
    """A weekday, not a Japanese holiday, `ahead` days or more from now."""
    day = datetime.now(UTC).date() + timedelta(days=ahead)
    jp = holidays.country_holidays("JP")
    while day.weekday() >= 5 or day in jp:
        day += timedelta(days=1)
    return day


DAY = workday()
SLOTS = [
    {"start": f"{DAY}T10:00:00", "end": f"{DAY}T11:00:00"},
    {"start": f"{DAY}T14:00:00", "end": f"{DAY}T15:00:00"},
]


@pytest.fixture
def team(ready, browser):
    """`ready` plus m2 linked to Fumi: (api, m1's link_id, rooms)."""
    api, link_id, rooms = ready
    link_user(api, browser.__class__(browser.session.verify, browser.stop_at), FUMI, "m2")
    return api, link_id, rooms


def hold_body(link_id: str, **changes) -> dict:
    return {
        "hold_id": "hold-1",
        "link_id": link_id,
        "subject": "一次面接: 山田 太郎 様",
        "time_zone": "Asia/Tokyo",
        "interviewers": [{"herp_account_id": "m2"}, {"email": GORO}],
        "slots": SLOTS,
        **changes,
    }


def call(api, method: str, path: str, as_=M1, **kwargs) -> requests.Response:
    r = api.call(method, path, as_=as_, **kwargs)
    validate_response(r)
    return r


def holds_of(ms, oid: str) -> list[dict]:
    return [e for e in live(ms, oid) if e["subject"].startswith("[仮押さえ]")]


def graph_calls(ms, method: str | None = None) -> list[dict]:
    return [c for c in ms.calls() if c["kind"] == "graph" and (method is None or c["method"] == method)]


def test_a_hold_puts_a_tentative_event_without_attendees_on_each_linked_calendar(team, ms):
    api, link_id, _ = team
    ms.clear_calls()
    r = call(api, "POST", "/outlook/holds", json=hold_body(link_id))
    assert r.status_code == 201, r.text
    hold = r.json()
    assert hold["status"] == "held" and hold["schedule_id"] is None
    assert [(s["start"], s["end"]) for s in hold["slots"]] == [(s["start"], s["end"]) for s in SLOTS]
    assert all(sorted(s["held_on"]) == sorted([EMI, FUMI]) for s in hold["slots"])  # Goro has no link
    expires = datetime.fromisoformat(hold["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    assert len(graph_calls(ms, "POST")) == 4  # 2 slots x 2 calendars, nothing else written

    for oid in (seed.EMI_ID, seed.FUMI_ID):
        events = holds_of(ms, oid)
        assert len(events) == 2, oid
        for e in events:
            assert e["subject"] == "[仮押さえ] 一次面接: 山田 太郎 様"
            assert e["showAs"] == "tentative" and e["isReminderOn"] is False and e["attendees"] == []
        starts = sorted(e["start"]["dateTime"][:16] for e in events)
        assert starts == [f"{DAY}T01:00", f"{DAY}T05:00"]  # 10:00 and 14:00 in Tokyo, in UTC
    assert holds_of(ms, seed.GORO_ID) == []

    # Idempotent by hold_id: the same body answers the same hold and makes nothing.
    ms.clear_calls()
    again = call(api, "POST", "/outlook/holds", json=hold_body(link_id))
    assert again.status_code == 200 and again.json() == hold
    assert graph_calls(ms) == [] and len(holds_of(ms, seed.EMI_ID)) == 2
    other = call(api, "POST", "/outlook/holds", json=hold_body(link_id, subject="二次面接"))
    assert other.status_code == 409 and other.json()["error"]["code"] == "hold_exists"
    got = call(api, "GET", "/outlook/holds/hold-1", as_=M2)  # any member of the company reads it
    assert got.status_code == 200 and got.json() == hold
    assert call(api, "GET", "/outlook/holds/nope").status_code == 404


def test_confirm_makes_the_interview_and_removes_every_hold_event(team, ms):
    api, link_id, rooms = team
    hold = call(api, "POST", "/outlook/holds", json=hold_body(link_id)).json()
    chosen = hold["slots"][1]
    event = event_body(link_id, rooms, schedule_id="sch-hold-1", online_meeting=False)
    ms.clear_calls()
    r = call(api, "POST", "/outlook/holds/hold-1/confirm", json={"slot_id": chosen["slot_id"], "event": event})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["start"], made["end"], made["time_zone"]) == (chosen["start"], chosen["end"], "Asia/Tokyo")
    assert made["schedule_id"] == "sch-hold-1" and [a["email"] for a in made["attendees"]] == [GORO]
    assert holds_of(ms, seed.EMI_ID) == [] and holds_of(ms, seed.FUMI_ID) == []
    interviews = [e for e in live(ms, seed.EMI_ID) if e["_emulator"]["immutableId"] == made["event_id"]]
    assert len(interviews) == 1 and interviews[0]["showAs"] == "busy"
    deletes = graph_calls(ms, "DELETE")
    assert len(deletes) == 4 and not [c for c in ms.calls() if c["path"].endswith("/cancel")]  # silently
    assert call(api, "GET", "/outlook/events/sch-hold-1").json()["event_id"] == made["event_id"]

    after = call(api, "GET", "/outlook/holds/hold-1").json()
    assert after["status"] == "confirmed" and after["schedule_id"] == "sch-hold-1"
    again = call(api, "POST", "/outlook/holds/hold-1/confirm", json={"slot_id": chosen["slot_id"], "event": event})
    assert again.status_code == 409 and again.json()["error"]["code"] == "hold_released"
    assert call(api, "DELETE", "/outlook/holds/hold-1").status_code == 204  # nothing left to remove
    assert call(api, "GET", "/outlook/holds/hold-1").json()["status"] == "confirmed"


def test_release_removes_the_hold_events_and_repeats(team, ms):
    api, link_id, _ = team
    hold = call(api, "POST", "/outlook/holds", json=hold_body(link_id)).json()
    # Fumi deletes one hold event herself in Outlook: it is simply gone.
    mine = holds_of(ms, seed.FUMI_ID)[0]
    ms.post(f"users/{seed.FUMI_ID}/events/{mine['id']}/delete")
    assert call(api, "DELETE", "/outlook/holds/hold-1", as_=M2).status_code == 204
    assert holds_of(ms, seed.EMI_ID) == [] and holds_of(ms, seed.FUMI_ID) == []
    assert call(api, "DELETE", "/outlook/holds/hold-1").status_code == 204
    assert call(api, "GET", "/outlook/holds/hold-1").json()["status"] == "released"
    r = call(
        api,
        "POST",
        "/outlook/holds/hold-1/confirm",
        json={"slot_id": hold["slots"][0]["slot_id"], "event": event_body(link_id, [], schedule_id="sch-x")},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "hold_released"
    assert call(api, "GET", "/outlook/events/sch-x").status_code == 404  # nothing was made


def test_the_timer_releases_expired_holds(team, ms, host):
    api, link_id, _ = team
    soon = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = call(api, "POST", "/outlook/holds", json=hold_body(link_id, expires_at=soon))
    assert r.status_code == 201 and r.json()["expires_at"] == soon
    keep = call(api, "POST", "/outlook/holds", json=hold_body(link_id, hold_id="hold-2", slots=SLOTS[:1])).json()
    time.sleep(3.5)
    assert requests.post(f"{host.url}/admin/functions/release_expired_outlook_holds", json={}, timeout=10).ok
    wait_for(lambda: call(api, "GET", "/outlook/holds/hold-1").json()["status"] == "expired", what="expiry")
    assert len(holds_of(ms, seed.EMI_ID)) == 1 and len(holds_of(ms, seed.FUMI_ID)) == 1  # hold-2's
    assert call(api, "GET", "/outlook/holds/hold-2").json() == keep


def test_a_confirm_cut_off_after_the_create_is_finished_by_the_next_one(team, ms):
    api, link_id, rooms = team
    hold = call(api, "POST", "/outlook/holds", json=hold_body(link_id)).json()
    slot = hold["slots"][0]["slot_id"]
    body = {"slot_id": slot, "event": event_body(link_id, rooms, schedule_id="sch-hold-2", online_meeting=False)}
    # Outlook keeps failing the DELETEs: the interview is made, its hold events stay.
    ms.post("throttle", {"count": FAILED_DELETES, "status": 503, "retry_after": 0, "method": "DELETE"})
    first = call(api, "POST", "/outlook/holds/hold-1/confirm", json=body)
    assert first.status_code == 503, first.text
    assert call(api, "GET", "/outlook/holds/hold-1").json()["status"] == "held"
    made = [e for e in live(ms, seed.EMI_ID) if not e["subject"].startswith("[仮押さえ]")]
    assert len(made) == 1
    # The client repeats (as after any 5xx): the same interview (no second one), every hold event gone.
    second = _until_not_503(lambda: call(api, "POST", "/outlook/holds/hold-1/confirm", json=body))
    assert second.status_code == 201, second.text
    assert second.json()["event_id"] == made[0]["_emulator"]["immutableId"]
    assert holds_of(ms, seed.EMI_ID) == [] and holds_of(ms, seed.FUMI_ID) == []
    assert [e["id"] for e in live(ms, seed.EMI_ID)] == [made[0]["id"]]  # one interview, no second
    assert call(api, "GET", "/outlook/holds/hold-1").json()["status"] == "confirmed"


# 4 hold events x 4 attempts each (shared.graph retries a 503 three times): every DELETE fails.
FAILED_DELETES = 16


def _until_not_503(send):
    for _ in range(4):
        r = send()
        if r.status_code != 503:
            return r
    return r


def test_the_expiry_timer_finishes_a_confirm_cut_off_after_the_create(team, ms, host):
    api, link_id, rooms = team
    soon = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    hold = call(api, "POST", "/outlook/holds", json=hold_body(link_id, expires_at=soon)).json()
    body = {
        "slot_id": hold["slots"][0]["slot_id"],
        "event": event_body(link_id, rooms, schedule_id="sch-hold-3", online_meeting=False),
    }
    ms.post("throttle", {"count": FAILED_DELETES, "status": 503, "retry_after": 0, "method": "DELETE"})
    assert call(api, "POST", "/outlook/holds/hold-1/confirm", json=body).status_code == 503
    time.sleep(3.5)
    assert requests.post(f"{host.url}/admin/functions/release_expired_outlook_holds", json={}, timeout=10).ok
    wait_for(lambda: call(api, "GET", "/outlook/holds/hold-1").json()["status"] != "held", what="the timer")
    after = call(api, "GET", "/outlook/holds/hold-1").json()
    assert after["status"] == "confirmed" and after["schedule_id"] == "sch-hold-3"
    assert holds_of(ms, seed.EMI_ID) == [] and holds_of(ms, seed.FUMI_ID) == []


def test_refusals_come_before_any_graph_call(team, ms):
    api, link_id, _ = team
    other_link = call(api, "GET", "/outlook/calendars", as_=M2).json()["calendars"][0]["link_id"]
    ms.clear_calls()
    cases = [
        (hold_body(link_id, slots=[SLOTS[0]] * 0), 422, "invalid_slots"),
        (
            hold_body(
                link_id, slots=[{"start": f"{DAY}T{h:02d}:00:00", "end": f"{DAY}T{h:02d}:30:00"} for h in range(21)]
            ),
            422,
            "invalid_slots",
        ),
        (hold_body(link_id, slots=[{"start": f"{DAY}T11:00:00", "end": f"{DAY}T10:00:00"}]), 422, "invalid_time_range"),
        (
            hold_body(link_id, slots=[{"start": "2020-01-06T10:00:00", "end": "2020-01-06T11:00:00"}]),
            422,
            "invalid_slots",
        ),
        (
            hold_body(link_id, expires_at=(datetime.now(UTC) + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")),
            422,
            "invalid_expires_at",
        ),
        (
            hold_body(link_id, interviewers=[{"email": f"p{i}@x.example"} for i in range(21)]),
            422,
            "too_many_interviewers",
        ),
        (hold_body(link_id, interviewers=[{"herp_account_id": "nobody"}]), 422, "interviewer_not_found"),
        (hold_body(link_id, time_zone="Mars/Olympus"), 422, "invalid_time_zone"),
        (hold_body(link_id, subject=""), 422, "invalid_subject"),
        (hold_body(other_link), 404, "link_not_found"),  # m2's link, used by m1
    ]
    for body, status, code in cases:
        r = call(api, "POST", "/outlook/holds", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (code, r.text)
    assert graph_calls(ms) == []
    assert call(api, "GET", "/outlook/holds/hold-1").status_code == 404  # nothing stored either


def test_a_hold_makes_its_slots_busy_for_other_searches(team, ms):
    api, link_id, _ = team
    call(api, "POST", "/outlook/holds", json=hold_body(link_id, slots=SLOTS[:1]))
    r = call(
        api,
        "POST",
        "/outlook/availability",
        json={
            "link_id": link_id,
            "emails": [FUMI],
            "start": f"{DAY}T09:00:00",
            "end": f"{DAY}T12:00:00",
            "time_zone": "Asia/Tokyo",
            "interval_minutes": 60,
        },
    )
    assert r.status_code == 200, r.text
    fumi = r.json()["schedules"][0]
    assert fumi["availability_view"] == "010"
    assert fumi["busy"] == [{"start": f"{DAY}T10:00:00", "end": f"{DAY}T11:00:00", "status": "tentative"}]
    # A slot search over Fumi (read from her own calendar) and Goro (getSchedule) skips the held hour.
    found = call(
        api,
        "POST",
        "/outlook/slots/find",
        json={
            "tenant_id": CONTOSO,
            "link_id": link_id,
            "interviewers": [{"herp_account_id": "m2"}],
            "duration_minutes": 60,
            "from": str(DAY),
            "days": 1,
            "min_slots": 1,
            "limit": 100,
            "hours": {"start": "09:00", "end": "12:00"},
        },
    )
    assert found.status_code == 200, found.text
    starts = [s["start"] for s in found.json()["slots"]]
    assert f"{DAY}T09:00:00" in starts and f"{DAY}T11:00:00" in starts
    assert not any(f"{DAY}T09:30:00" <= s <= f"{DAY}T10:30:00" for s in starts)


def test_a_refused_confirm_leaves_the_hold_as_it_was(team, ms):
    """A schedule_id already used by another interview: 409 schedule_exists, and the hold is not
    taken for confirmed by that interview afterwards (its release ends `released`)."""
    api, link_id, rooms = team
    taken = event_body(link_id, [], schedule_id="sch-taken", online_meeting=False, attendees=[])
    taken |= {"start": f"{DAY}T16:00:00", "end": f"{DAY}T17:00:00"}
    assert call(api, "POST", "/outlook/events", json=taken).status_code == 201
    hold = call(api, "POST", "/outlook/holds", json=hold_body(link_id)).json()
    body = {"slot_id": hold["slots"][0]["slot_id"], "event": event_body(link_id, rooms, schedule_id="sch-taken")}
    r = call(api, "POST", "/outlook/holds/hold-1/confirm", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "schedule_exists"
    bad = {"slot_id": "slot_nope", "event": event_body(link_id, rooms, schedule_id="sch-new")}
    r = call(api, "POST", "/outlook/holds/hold-1/confirm", json=bad)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_slot"
    assert len(holds_of(ms, seed.EMI_ID)) == 2  # nothing removed
    assert call(api, "DELETE", "/outlook/holds/hold-1").status_code == 204
    after = call(api, "GET", "/outlook/holds/hold-1").json()
    assert after["status"] == "released" and after["schedule_id"] is None


def test_a_hold_cut_off_while_placing_is_finished_by_its_repeat_without_duplicates(team, ms):
    api, link_id, _ = team
    # 13 failures over 4 POSTs of 4 attempts each: at least one POST fails, at least one is made.
    ms.post("throttle", {"count": 13, "status": 503, "retry_after": 0, "method": "POST", "path_contains": "/events"})
    first = call(api, "POST", "/outlook/holds", json=hold_body(link_id))
    assert first.status_code == 503, first.text
    partial = call(api, "GET", "/outlook/holds/hold-1").json()
    made = sum(len(s["held_on"]) for s in partial["slots"])
    assert partial["status"] == "held" and 1 <= made < 4
    again = call(api, "POST", "/outlook/holds", json=hold_body(link_id))
    assert again.status_code == 200, again.text
    assert all(sorted(s["held_on"]) == sorted([EMI, FUMI]) for s in again.json()["slots"])
    assert len(holds_of(ms, seed.EMI_ID)) == 2 and len(holds_of(ms, seed.FUMI_ID)) == 2  # no second event
