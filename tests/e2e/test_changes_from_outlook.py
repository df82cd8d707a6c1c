"""Changes made in Outlook flow back to HERP (README "Changes from Outlook"), end to end: the
emulator acts "in Outlook" and delivers Graph's notifications to the host; the feed shows them."""

from __future__ import annotations

import time

import pytest

from devtools.emulator import seed
from tests.e2e.conftest import wait_for
from tests.e2e.test_events import GORO, M1, event_body

pytestmark = pytest.mark.e2e


def subscriptions(ms, oid: str = seed.EMI_ID) -> list[dict]:
    subs = ms.session.get(f"{ms.url}/_emulator/subscriptions", timeout=10).json()["subscriptions"]
    return [s for s in subs if s["owner"] == oid]


def feed(api, after: str | None = None, as_=M1) -> dict:
    r = api.call("GET", "/outlook/changes", as_=as_, params={"after": after} if after else {})
    assert r.status_code == 200, r.text
    return r.json()


def changes_of(api, kind: str, as_=M1) -> list[dict]:
    return [c for c in feed(api, as_=as_)["changes"] if c["type"] == kind]


def created(ready, ms, **changes) -> tuple[object, dict, dict]:
    """An interview made through the API, its subscription in place and the room's answer in."""
    api, link_id, rooms = ready
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms, **changes))
    assert r.status_code == 201, r.text
    sub = wait_for(lambda: subscriptions(ms), what="the account's subscription")[0]
    wait_for(lambda: changes_of(api, "event.responses_changed"), what="the room's answer in the feed")
    return api, r.json(), sub


def test_the_first_event_subscribes_the_account_as_graph_wants(ready, ms):
    api, event, sub = created(ready, ms)
    assert sub["resource"].lower() == "me/events" and sub["changeType"] == "updated,deleted"
    assert sub["notificationUrl"].endswith("/api/outlook/notifications")
    assert sub["lifecycleNotificationUrl"] == sub["notificationUrl"] + "/lifecycle"
    assert sub["immutableIds"] is True
    expires = time.mktime(time.strptime(sub["expirationDateTime"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert 0 < expires - time.time() <= 4230 * 60
    # A second event of the same account makes no second subscription.
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(ready[1], ready[2], schedule_id="sch-2"))
    assert r.status_code == 201
    time.sleep(2)
    assert len(subscriptions(ms)) == 1


def test_a_room_answer_and_an_interviewer_decline_reach_the_feed(ready, ms):
    api, event, _sub = created(ready, ms)
    [room_change] = changes_of(api, "event.responses_changed")
    assert room_change["schedule_id"] == "sch-1" and room_change["fields"] == [ready[2][0].lower()]
    assert room_change["event"]["rooms"][0]["response"] == "accepted"
    ms.post(f"events/{event['event_id']}/responses", {"email": GORO, "response": "declined"})
    decline = wait_for(
        lambda: [c for c in changes_of(api, "event.responses_changed") if c["fields"] == [GORO.lower()]],
        what="the decline in the feed",
    )[0]
    assert [a["response"] for a in decline["event"]["attendees"]] == ["declined"]
    got = api.call("GET", "/outlook/events/sch-1", as_=M1).json()
    assert got["attendees"][0]["response"] == "declined"


def test_a_move_in_outlook_is_an_update_and_the_mapping_follows(ready, ms):
    api, event, _sub = created(ready, ms)
    ms.post(
        f"events/{event['event_id']}/outlook-edit", {"start": "2026-12-01T03:00:00Z", "end": "2026-12-01T04:00:00Z"}
    )
    update = wait_for(lambda: changes_of(api, "event.updated"), what="the move in the feed")[0]
    assert update["fields"] == ["start", "end"]
    assert (update["event"]["start"], update["event"]["end"]) == ("2026-12-01T12:00:00", "2026-12-01T13:00:00")
    got = api.call("GET", "/outlook/events/sch-1", as_=M1).json()
    assert (got["start"], got["end"]) == ("2026-12-01T12:00:00", "2026-12-01T13:00:00")
    # HERP moving it back to the first time is a change the mapping knows to send.
    r = api.call(
        "PATCH", "/outlook/events/sch-1", as_=M1, json={"start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00"}
    )
    assert r.status_code == 200 and r.json()["start"] == "2026-12-01T10:00:00"


def test_a_delete_in_outlook_is_reported_once(ready, ms):
    api, event, _sub = created(ready, ms)
    ms.post(f"users/{seed.EMI_ID}/events/{event['event_id']}/delete")
    gone = wait_for(lambda: changes_of(api, "event.deleted_in_outlook"), what="the delete in the feed")
    time.sleep(2)
    assert len(changes_of(api, "event.deleted_in_outlook")) == 1 == len(gone)
    assert gone[0]["event"] is None and gone[0]["schedule_id"] == "sch-1"
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 410


def test_a_cancel_by_the_organizer_in_outlook_is_reported(ready, ms):
    api, event, _sub = created(ready, ms)
    ms.post(f"events/{event['event_id']}/outlook-cancel", {"comment": "中止"})
    found = wait_for(
        lambda: changes_of(api, "event.cancelled_in_outlook") or changes_of(api, "event.deleted_in_outlook"),
        what="the cancel in the feed",
    )
    assert len(found) == 1 and found[0]["schedule_id"] == "sch-1"


def test_changes_made_through_the_api_are_not_reported_back(ready, ms):
    api, event, _sub = created(ready, ms)
    before = feed(api)["next"]
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"subject": "二次面接", "location": "本社 2F"})
    assert r.status_code == 200
    r = api.call("DELETE", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 204
    wait_for(
        lambda: [d for d in deliveries(ms) if d["kind"] == "basic" and d["status"] == "delivered"],
        what="Graph's notifications of our own edits",
    )
    time.sleep(3)  # the queue has processed them
    assert feed(api, before)["changes"] == []


def deliveries(ms) -> list[dict]:
    return ms.session.get(f"{ms.url}/_emulator/notifications", timeout=10).json()["deliveries"]
