"""Events as the real Outlook treats them (docs/architecture.md "Microsoft as it really behaves"), through the
host and the emulator: the Teams join block, sticky online meetings, Windows time zones, ids that
survive a move, rooms past the first 100, the 500-recipient limit, calendars of other mailboxes."""

from __future__ import annotations

import pytest

from devtools.emulator import seed
from shared.storage.events import Events
from tests.e2e.conftest import SUBSCRIBED, logged_after
from tests.e2e.test_events import EMI, M1, event_body, graph_calls, live

pytestmark = pytest.mark.e2e


def create(api, link_id, rooms, **changes) -> dict:
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms, **changes))
    assert r.status_code == 201, r.text
    return r.json()


def test_editing_the_body_keeps_the_teams_meeting(ready, ms):
    api, link_id, rooms = ready
    join_url = create(api, link_id, rooms)["join_url"]
    [before] = live(ms)
    # Teams writes the short link into the invitation; joinUrl keeps the long form (MC772556).
    assert (
        "https://teams.microsoft.com/meet/" in before["body"]["content"] and join_url not in before["body"]["content"]
    )
    ms.clear_calls()
    r = api.call(
        "PATCH",
        "/outlook/events/sch-1",
        as_=M1,
        json={"body": {"content_type": "text", "content": "日程を更新しました。"}},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["online_meeting"], r.json()["join_url"]) == (True, join_url)
    [stored] = live(ms)
    assert stored["isOnlineMeeting"] is True and stored["onlineMeeting"]["joinUrl"] == join_url
    assert stored["_emulator"]["onlineMeetingBlobInBody"] is True
    assert "日程を更新しました。" in stored["body"]["content"]
    assert [c["method"] for c in graph_calls(ms)] == ["GET", "PATCH"]  # one read more, to keep the blob
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).json()["join_url"] == join_url


def test_a_body_edit_without_a_findable_teams_block_is_409_and_changes_nothing(ready, ms):
    api, link_id, rooms = ready
    event = create(api, link_id, rooms)
    ms.post(f"events/{event['event_id']}/outlook-edit", {"body": "<p>Rewritten in Outlook</p>", "silent": True})
    ms.clear_calls()
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"body": {"content_type": "text", "content": "v2"}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "teams_block_not_found"
    assert [c["method"] for c in graph_calls(ms)] == ["GET"]  # read, found no block, sent nothing
    [stored] = live(ms)
    assert stored["isOnlineMeeting"] is True and stored["onlineMeeting"]["joinUrl"] == event["join_url"]
    assert "Rewritten in Outlook" in stored["body"]["content"] and "v2" not in stored["body"]["content"]
    again = api.call("GET", "/outlook/events/sch-1", as_=M1).json()
    assert (again["online_meeting"], again["join_url"], again["body"]["content"]) == (
        True,
        event["join_url"],
        "HERP Hire から登録された面接です。",
    )


def test_a_user_teams_makes_no_meeting_for_gets_an_event_without_it(ready, ms):
    """The calendar lists Teams, yet Outlook answers the create with isOnlineMeeting false (no
    licence or policy): the Event says so, and nothing is locked."""
    api, link_id, rooms = ready
    ms.post(f"users/{seed.EMI_ID}/teams-meetings", {"allowed": False})
    event = create(api, link_id, rooms)
    assert (event["online_meeting"], event["join_url"]) == (False, None)
    [stored] = live(ms)
    assert stored["isOnlineMeeting"] is False and stored["onlineMeeting"] is None
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"online_meeting": False, "subject": "二次面接"})
    assert r.status_code == 200, r.text
    assert (r.json()["online_meeting"], r.json()["join_url"], r.json()["subject"]) == (False, None, "二次面接")
    ms.clear_calls()
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"body": {"content_type": "text", "content": "v2"}})
    assert r.status_code == 200 and [c["method"] for c in graph_calls(ms)] == ["PATCH"]  # no block to keep
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).json()["online_meeting"] is False


def test_online_meeting_cannot_be_switched_off(ready, ms):
    api, link_id, rooms = ready
    create(api, link_id, rooms)
    ms.clear_calls()
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"online_meeting": False})
    assert r.status_code == 422 and r.json()["error"]["code"] == "online_meeting_locked"
    assert graph_calls(ms) == []
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).json()["online_meeting"] is True


@pytest.mark.parametrize(
    "zone,windows",
    [
        ("Europe/Amsterdam", "W. Europe Standard Time"),
        ("Asia/Ho_Chi_Minh", "SE Asia Standard Time"),
        ("America/Vancouver", "British Columbia Standard Time"),
        ("Etc/GMT+2", "UTC-02"),
    ],
)
def test_zones_graph_does_not_list_are_sent_by_their_windows_names(ready, ms, zone, windows):
    api, link_id, rooms = ready
    event = create(api, link_id, rooms, time_zone=zone, start="2026-12-01T10:00:00", end="2026-12-01T11:00:00")
    assert (event["start"], event["end"], event["time_zone"]) == ("2026-12-01T10:00:00", "2026-12-01T11:00:00", zone)
    [stored] = live(ms)
    assert stored["originalStartTimeZone"] == windows
    got = api.call("GET", "/outlook/events/sch-1", as_=M1).json()
    assert (got["start"], got["end"]) == ("2026-12-01T10:00:00", "2026-12-01T11:00:00")


def test_times_across_a_dst_change_round_trip(ready, ms):
    api, link_id, rooms = ready
    # 00:30-03:30 on the night Amsterdam springs forward (02:00 -> 03:00): two real hours.
    event = create(
        api, link_id, rooms, time_zone="Europe/Amsterdam", start="2027-03-28T00:30:00", end="2027-03-28T03:30:00"
    )
    assert (event["start"], event["end"]) == ("2027-03-28T00:30:00", "2027-03-28T03:30:00")
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"start": "2027-03-28T02:30:00"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_datetime"  # that time does not exist
    avail = api.call(
        "POST",
        "/outlook/availability",
        as_=M1,
        json={
            "link_id": link_id,
            "emails": [EMI],
            "start": "2027-03-28T00:00:00",
            "end": "2027-03-28T06:00:00",
            "time_zone": "Europe/Amsterdam",
            "interval_minutes": 60,
        },
    ).json()
    [busy] = avail["schedules"][0]["busy"]
    assert (busy["start"], busy["end"]) == ("2027-03-28T00:30:00", "2027-03-28T03:30:00")


def test_a_moved_event_is_still_found_edited_and_cancelled(ready, ms, host):
    api, link_id, rooms = ready
    ms.post("room-answer-delay", {"seconds": 600})  # the rooms' answers (notified, compared) come later
    with logged_after(host, *SUBSCRIBED):  # the subscription's re-read writes the row: not under the edits
        event = create(api, link_id, rooms)
    moved = ms.post(f"events/{event['event_id']}/move", {"calendar_name": "Interviews"})
    assert moved["previousId"] != moved["id"]  # the default id changed; ours did not
    got = api.call("GET", "/outlook/events/sch-1", as_=M1)
    assert got.status_code == 200 and got.json()["event_id"] == event["event_id"]
    assert api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"subject": "二次面接"}).status_code == 200
    assert live(ms)[0]["subject"] == "二次面接"
    assert api.call("DELETE", "/outlook/events/sch-1", as_=M1).status_code == 204
    assert live(ms) == []


def test_a_default_id_stored_before_is_migrated_on_first_use(ready, ms, storage, host):
    api, link_id, rooms = ready
    ms.post("room-answer-delay", {"seconds": 600})  # the rooms' answers (notified, compared) come later
    with logged_after(host, *SUBSCRIBED):  # the subscription's re-read also writes the row: not mid-test
        create(api, link_id, rooms)
    [stored] = live(ms)
    record = Events().get(api.company_id, "sch-1")
    record.graph_event_id, record.immutable_id = stored["id"], False  # a row written before this step
    Events().save(record)
    ms.clear_calls()
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 200
    assert [c["path"].rsplit("/", 1)[-1] for c in graph_calls(ms)][0] == "translateExchangeIds"
    migrated = Events().get(api.company_id, "sch-1")
    assert migrated.immutable_id and migrated.graph_event_id == stored["_emulator"]["immutableId"]
    ms.post(f"events/{migrated.graph_event_id}/move", {"calendar_name": "Interviews"})
    ms.clear_calls()
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 200
    assert len(graph_calls(ms)) == 1  # translated once, never again


def test_a_room_past_the_first_100_can_be_booked(ready, ms):
    api, link_id, _ = ready
    far = f"fukuoka-room001@{seed.CONTOSO_DOMAIN}"
    event = create(api, link_id, [far])
    assert event["rooms"] == [{"email": far, "response": "none"}]


def test_500_recipients_count_the_rooms(ready, ms):
    api, link_id, rooms = ready
    people = [{"email": f"p{i}@example.test"} for i in range(499)]
    ms.clear_calls()
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms, attendees=people, rooms=rooms[:2]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_attendees"
    assert graph_calls(ms) == []
    assert create(api, link_id, rooms[:1], attendees=people)["schedule_id"] == "sch-1"  # 499 + 1 room


def test_a_calendar_shared_by_another_mailbox_is_not_a_target(ready, ms):
    api, link_id, rooms = ready
    calendars = api.call("GET", "/outlook/calendars", as_=M1).json()["calendars"]
    shared = [c for c in calendars if c["name"] == "Ben Tanaka"]
    own = [c for c in calendars if c["name"] != "Ben Tanaka"]
    assert shared and not shared[0]["can_edit"] and all(c["can_edit"] for c in own)
    r = api.call(
        "POST",
        "/outlook/events",
        as_=M1,
        json=event_body(link_id, rooms, online_meeting=False, calendar_id=shared[0]["calendar_id"]),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "calendar_not_writable"
    assert Events().get(api.company_id, "sch-1") is None  # the reservation is released
