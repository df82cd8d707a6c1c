"""Interview events end to end: HERP -> host -> emulator (Outlook) and back."""

from __future__ import annotations

import threading

import pytest
import requests

from devtools.emulator import seed
from shared.domain.event_changes import SELECT
from shared.storage.events import Events
from tests.conftest import new_id
from tests.e2e.conftest import CONTOSO, SUBSCRIBED, Api, link_tenant, link_user, logged_after, wait_for

pytestmark = pytest.mark.e2e
AIKO, EMI, GORO, FUMI = (seed.UPN[i] for i in (seed.AIKO_ID, seed.EMI_ID, seed.GORO_ID, seed.FUMI_ID))
M1, M2 = ("m1", "member"), ("m2", "member")
R1 = ("r1", "recruiter")  # HERP's リクルーター / アシスタント


def event_body(link_id: str, room_list: list[str], **changes) -> dict:
    return {
        "schedule_id": "sch-1",
        "link_id": link_id,
        "subject": "一次面接: 山田 太郎 様",
        "body": {"content_type": "text", "content": "HERP Hire から登録された面接です。"},
        "start": "2026-12-01T10:00:00",
        "end": "2026-12-01T11:00:00",
        "time_zone": "Asia/Tokyo",
        "attendees": [{"email": GORO, "name": "Goro Yamada", "type": "required"}],
        "rooms": room_list[:1],
        "online_meeting": True,
        "location": "本社 1F 受付",
        **changes,
    }


def outlook_events(ms, oid: str = seed.EMI_ID) -> list[dict]:
    return ms.session.get(f"{ms.url}/_emulator/users/{oid}/events", timeout=10).json()["events"]


def live(ms, oid: str = seed.EMI_ID) -> list[dict]:
    return [e for e in outlook_events(ms, oid) if not e["_emulator"].get("deleted") and not e.get("isCancelled")]


def room_answers(api, schedule_id: str = "sch-1", as_=M1) -> list[dict]:
    """The rooms of the event once every room has answered (rooms answer asynchronously)."""
    return wait_for(
        lambda: (
            (rooms := api.call("GET", f"/outlook/events/{schedule_id}", as_=as_).json()["rooms"])
            and all(r["response"] != "none" for r in rooms)
            and rooms
        ),
        what="the rooms' answers",
    )


def graph_calls(ms) -> list[dict]:
    """The Graph calls the API's requests made: without the background work that watches Outlook
    (subscriptions, and the reads that compare an event with its mapping, known by their $select)."""
    return [c for c in ms.calls() if c["kind"] == "graph" and not background(c)]


def background(call: dict) -> bool:
    return call["path"].lower().startswith("/v1.0/subscriptions") or call.get("select") == SELECT


def test_create_with_room_and_teams(ready, ms):
    api, link_id, rooms = ready
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["join_url"].startswith("https://") and event["event_id"] and event["web_link"]
    assert event["rooms"] == [{"email": rooms[0], "response": "none"}]  # a room answers later
    assert event["attendees"] == [{"email": GORO, "name": "Goro Yamada", "type": "required", "response": "none"}]
    assert (event["start"], event["end"], event["time_zone"]) == (
        "2026-12-01T10:00:00",
        "2026-12-01T11:00:00",
        "Asia/Tokyo",
    )
    [stored] = live(ms)
    assert stored["_emulator"]["immutableId"] == event["event_id"] and stored["isOnlineMeeting"] is True
    assert {a["emailAddress"]["address"]: a["type"] for a in stored["attendees"]} == {
        GORO: "required",
        rooms[0]: "resource",
    }
    assert any(l.get("locationEmailAddress") == rooms[0] for l in stored["locations"])
    assert room_answers(api) == [{"email": rooms[0], "response": "accepted"}]


def test_same_body_is_200_different_body_409(ready, ms):
    api, link_id, rooms = ready
    first = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).json()
    again = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert again.status_code == 200 and again.json()["event_id"] == first["event_id"]
    other = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms, subject="別の面接"))
    assert other.status_code == 409 and other.json()["error"]["code"] == "schedule_exists"
    assert len(live(ms)) == 1


def test_retry_after_a_lost_answer_makes_no_duplicate(ready, ms):
    api, link_id, rooms = ready
    ms.post("latency", {"ms": 2500})
    with pytest.raises(requests.ReadTimeout):  # the frontend gives up; the host goes on
        api.session.post(
            f"{api.base}/outlook/events",
            json=event_body(link_id, rooms),
            timeout=1,
            headers={"Authorization": f"Bearer {api.token(*M1)}"},
        )
    retry = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert retry.status_code in (200, 201), retry.text
    ms.post("latency", {"ms": 0})
    assert len(live(ms)) == 1 and live(ms)[0]["_emulator"]["immutableId"] == retry.json()["event_id"]


def test_throttled_create_succeeds_without_duplicate(ready, ms):
    api, link_id, rooms = ready
    ms.post("throttle", {"count": 2, "status": 429, "retry_after": 1, "path_contains": "/events", "method": "POST"})
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert r.status_code == 201, r.text
    assert len(live(ms)) == 1
    assert [c["status"] for c in graph_calls(ms) if c["method"] == "POST" and c["path"].endswith("/events")][-3:] == [
        429,
        429,
        201,
    ]


def test_a_create_meeting_503_is_retried_by_its_transaction_id_without_duplicate(ready, ms):
    # A 503 may come after Graph made the event; the POST is repeated anyway, because its
    # transactionId makes Graph answer the event it made (resources/event.md).
    api, link_id, rooms = ready
    ms.post("throttle", {"count": 2, "status": 503, "retry_after": 0, "path_contains": "/events", "method": "POST"})
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert r.status_code == 201, r.text
    assert len(live(ms)) == 1
    assert [c["status"] for c in graph_calls(ms) if c["method"] == "POST" and c["path"].endswith("/events")][-3:] == [
        503,
        503,
        201,
    ]


def test_patch_of_the_time_keeps_the_rest(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    r = api.call(
        "PATCH", "/outlook/events/sch-1", as_=M1, json={"start": "2026-12-01T14:00:00", "end": "2026-12-01T15:30:00"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["start"], r.json()["end"]) == ("2026-12-01T14:00:00", "2026-12-01T15:30:00")
    [stored] = live(ms)
    assert stored["subject"] == "一次面接: 山田 太郎 様"
    assert {a["emailAddress"]["address"] for a in stored["attendees"]} == {GORO, rooms[0]}
    patch = [h for h in stored["_emulator"]["history"] if h.get("method") == "PATCH"][-1]
    assert set(patch["fields"]) == {"start", "end"}  # the body was not sent again


def test_room_change_keeps_people(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"rooms": [rooms[1]]})
    assert r.status_code == 200 and [x["email"] for x in r.json()["rooms"]] == [rooms[1]]
    assert room_answers(api) == [{"email": rooms[1], "response": "accepted"}]
    [stored] = live(ms)
    assert {a["emailAddress"]["address"] for a in stored["attendees"]} == {GORO, rooms[1]}
    assert [l.get("locationEmailAddress") for l in stored["locations"] if l.get("locationEmailAddress")] == [rooms[1]]


def test_busy_room_declines(ready, ms):
    api, link_id, rooms = ready
    ms.post(f"schedules/{rooms[0]}/busy", {"start": "2026-12-01T01:00:00Z", "end": "2026-12-01T02:00:00Z"})
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert r.status_code == 201 and r.json()["rooms"] == [{"email": rooms[0], "response": "none"}]
    assert room_answers(api) == [{"email": rooms[0], "response": "declined"}]


def test_a_room_booked_by_another_interview_declines_the_second(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    api.call(
        "POST",
        "/outlook/events",
        as_=M1,
        json=event_body(link_id, rooms, schedule_id="sch-2", start="2026-12-01T10:30:00", end="2026-12-01T11:30:00"),
    )
    assert room_answers(api, "sch-1") == [{"email": rooms[0], "response": "accepted"}]
    assert room_answers(api, "sch-2") == [{"email": rooms[0], "response": "declined"}]


def test_responses_are_visible_on_get(ready, ms):
    api, link_id, rooms = ready
    event = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).json()
    ms.post(f"events/{event['event_id']}/responses", {"email": GORO, "response": "tentativelyAccepted"})
    got = api.call("GET", "/outlook/events/sch-1", as_=M2).json()  # anyone of the company may read
    assert got["attendees"][0]["response"] == "tentative"
    ms.post(f"events/{event['event_id']}/responses", {"email": GORO, "response": "accepted"})
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).json()["attendees"][0]["response"] == "accepted"


def test_cancel_with_notice_then_repeat(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert api.call("DELETE", "/outlook/events/sch-1?notify=true&comment=日程変更のため", as_=M1).status_code == 204
    assert live(ms) == []
    [organizer_copy] = outlook_events(ms)
    assert organizer_copy["_emulator"]["cancellation"]["comment"] == "日程変更のため"
    copies = [e for e in outlook_events(ms, seed.GORO_ID) if e.get("isCancelled")]
    assert len(copies) == 1  # the attendee was told
    assert api.call("DELETE", "/outlook/events/sch-1", as_=M1).status_code == 204
    r = api.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 410 and r.json()["error"]["code"] == "event_cancelled"


def test_delete_without_notice(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert api.call("DELETE", "/outlook/events/sch-1?notify=false", as_=M1).status_code == 204
    [stored] = outlook_events(ms)
    # A plain DELETE, no cancel and no comment of ours (Outlook itself still tells attendees
    # of a deleted meeting, as the Graph docs say).
    assert stored["_emulator"]["deleted"]["how"] == "delete"
    assert stored["_emulator"]["cancellation"]["comment"] is None
    assert not any(h.get("path", "").endswith("/cancel") for h in stored["_emulator"]["history"])


def test_deleted_in_outlook_is_410(ready, ms):
    api, link_id, rooms = ready
    event = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).json()
    ms.post(f"users/{seed.EMI_ID}/events/{event['event_id']}/delete")
    r = api.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 410 and r.json()["error"]["code"] == "event_deleted_in_outlook"
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"subject": "x"})
    assert r.status_code == 410


def test_only_the_creator_a_recruiter_or_an_admin_edits_and_cancels(ready, ms):
    api, link_id, rooms = ready
    made = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).json()
    assert made["created_by"] == "m1"
    assert api.call("GET", "/outlook/events/sch-1", as_=M2).json()["created_by"] == "m1"  # reads stay open
    ms.clear_calls()
    # Another member (an interviewer) may neither edit nor cancel it: nothing changes in Outlook.
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M2, json={"subject": "乗っ取り"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = api.call("DELETE", "/outlook/events/sch-1?notify=false", as_=M2)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert graph_calls(ms) == []
    assert [e["subject"] for e in live(ms)] == [made["subject"]]
    # A recruiter edits it, with the event's own link (still in Emi's calendar) ...
    r = api.call("PATCH", "/outlook/events/sch-1", as_=R1, json={"subject": "二次面接"})
    assert r.status_code == 200 and r.json()["subject"] == "二次面接" and r.json()["created_by"] == "m1"
    assert live(ms)[0]["subject"] == "二次面接"
    # ... so does its creator; and an admin cancels it.
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"location": "本社 2F"})
    assert r.status_code == 200 and r.json()["location"] == "本社 2F"
    assert api.call("DELETE", "/outlook/events/sch-1?notify=false", as_=("herp-admin", "admin")).status_code == 204
    assert live(ms) == []


def test_an_event_in_deleted_items_is_deleted_and_costs_one_lookup_once(ready, ms, host):
    """Outlook's delete moves the event to Deleted Items, where Graph still reads it by its
    immutable id: the API answers 410 all the same. The folder is looked up once (is it a
    calendar?) and remembered on the account row."""
    api, link_id, rooms = ready
    ms.post("room-answer-delay", {"seconds": 600})  # a room's answer (notified, compared) comes later
    # The account's first event subscribes it, then catches up (compares this event): once the
    # delete is done, that comparison would look the folder up itself and write the account row
    # under the GET's.
    with logged_after(host, *SUBSCRIBED):
        event = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).json()
    # Silent: no notification, so no comparison in the background looks the folder up first.
    ms.post(f"users/{seed.EMI_ID}/events/{event['event_id']}/delete", {"silent": True})
    ms.clear_calls()
    for extra in (1, 0):
        r = api.call("GET", "/outlook/events/sch-1", as_=M1)
        assert r.status_code == 410 and r.json()["error"]["code"] == "event_deleted_in_outlook"
        calls = graph_calls(ms)
        assert len(calls) == 1 + extra and calls[0]["status"] == 200  # Graph still reads it
        ms.clear_calls()


def test_an_event_stored_before_its_creator_was_is_the_link_owners(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))

    def forget_creator(row) -> bool:
        row.created_by = None
        return True

    Events().update(api.company_id, "sch-1", forget_creator)  # as a row written before created_by was
    assert api.call("GET", "/outlook/events/sch-1", as_=M2).json()["created_by"] == "m1"  # m1 owns its link
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M2, json={"subject": "乗っ取り"})
    assert r.status_code == 403 and live(ms)[0]["subject"] != "乗っ取り"
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"subject": "二次面接"})
    assert r.status_code == 200 and r.json()["created_by"] == "m1"


def test_another_company_gets_404(ready, host, storage):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    other = Api(host.url, new_id("co"))
    for method, kwargs in [("GET", {}), ("PATCH", {"json": {"subject": "x"}}), ("DELETE", {})]:
        assert other.call(method, "/outlook/events/sch-1", **kwargs).status_code == 404
    r = other.call("POST", "/outlook/events", json=event_body(link_id, rooms))
    assert r.status_code == 404 and r.json()["error"]["code"] == "link_not_found"


def test_someone_elses_link_cannot_create(ready):
    api, link_id, rooms = ready
    r = api.call("POST", "/outlook/events", as_=M2, json=event_body(link_id, rooms))
    assert r.status_code == 404 and r.json()["error"]["code"] == "link_not_found"


@pytest.mark.parametrize(
    "change,code",
    [
        ({"rooms": ["no-such-room@contoso.onmicrosoft.com"]}, "unknown_room"),
        ({"end": "2026-12-01T09:00:00"}, "invalid_time_range"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
        ({"attendees": [{"email": "@@"}]}, "invalid_email"),
    ],
)
def test_bad_input_makes_no_graph_call(ready, ms, change, code):
    api, link_id, rooms = ready
    ms.clear_calls()
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms, **change))
    assert r.status_code == 422 and r.json()["error"]["code"] == code
    assert graph_calls(ms) == [] and live(ms) == []


def test_teams_unavailable(company, browser, ms):
    link_tenant(company, browser, AIKO)
    link_user(company, browser.__class__(browser.session.verify, browser.stop_at), FUMI, "m1")
    link_id = company.call("GET", "/outlook/calendars", as_=M1).json()["calendars"][0]["link_id"]
    r = company.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, []))
    assert r.status_code == 422 and r.json()["error"]["code"] == "teams_unavailable"
    r = company.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, [], online_meeting=False))
    assert r.status_code == 201 and r.json()["join_url"] is None


def test_removed_links_answer_409(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert api.call("DELETE", f"/outlook/user-links/{link_id}", as_=M1).status_code == 204
    r = api.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "outlook_link_removed"
    assert live(ms)  # the event stays in Outlook


def test_dead_credential_is_409_reauth_required(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    ms.post(f"users/{seed.EMI_ID}/revoke-sessions")
    ms.post("tokens/expire-access")
    r = api.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "reauth_required"


def test_concurrent_patches_lose_nothing(ready, ms):
    api, link_id, rooms = ready
    api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    barrier = threading.Barrier(2)
    results = []

    def patch(change):
        barrier.wait()
        results.append(api.call("PATCH", "/outlook/events/sch-1", as_=M1, json=change).status_code)

    threads = [
        threading.Thread(target=patch, args=(c,))
        for c in (
            {"attendees": [{"email": GORO, "type": "required"}, {"email": FUMI, "type": "optional"}]},
            {"rooms": [rooms[2]]},
        )
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200, 200]
    [stored] = live(ms)
    assert {a["emailAddress"]["address"] for a in stored["attendees"]} == {GORO, FUMI, rooms[2]}


def test_availability_shows_busy_blocks(ready, ms):
    api, link_id, rooms = ready
    ms.post(
        f"schedules/{GORO}/busy", {"start": "2026-12-01T02:00:00Z", "end": "2026-12-01T03:00:00Z", "status": "busy"}
    )
    r = api.call(
        "POST",
        "/outlook/availability",
        as_=M1,
        json={
            "link_id": link_id,
            "emails": [GORO, rooms[0], "nobody@contoso.onmicrosoft.com"],
            "start": "2026-12-01T09:00:00",
            "end": "2026-12-01T13:00:00",
            "time_zone": "Asia/Tokyo",
            "interval_minutes": 60,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["time_zone"] == "Asia/Tokyo" and body["interval_minutes"] == 60
    goro, room, nobody = body["schedules"]
    assert goro["email"] == GORO and goro["availability_view"] == "0020" and goro["error"] is None
    assert goro["busy"] == [{"start": "2026-12-01T11:00:00", "end": "2026-12-01T12:00:00", "status": "busy"}]
    assert room["availability_view"] == "0000" and room["busy"] == []
    assert nobody["error"] is not None


def test_availability_splits_more_than_20_addresses(ready, ms):
    api, link_id, rooms = ready
    all_rooms = [r["email"] for r in api.call("GET", f"/outlook/tenants/{CONTOSO}/rooms", as_=M1).json()["rooms"][:45]]
    ms.clear_calls()
    r = api.call(
        "POST",
        "/outlook/availability",
        as_=M1,
        json={
            "link_id": link_id,
            "emails": all_rooms,
            "start": "2026-12-01T09:00:00",
            "end": "2026-12-01T10:00:00",
            "time_zone": "Asia/Tokyo",
        },
    )
    assert r.status_code == 200 and [s["email"] for s in r.json()["schedules"]] == all_rooms
    assert sum(1 for c in graph_calls(ms) if c["path"].endswith("getSchedule")) == 3  # 20 + 20 + 5
