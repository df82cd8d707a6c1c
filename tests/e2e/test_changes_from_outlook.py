"""Changes made in Outlook flow back to HERP (README "Changes from Outlook"), end to end: the
emulator acts "in Outlook" and delivers Graph's notifications to the host; the feed shows them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools.emulator import seed
from tests.e2e.conftest import CONTOSO, SUBSCRIBED, logged_after, wait_for
from tests.e2e.test_events import GORO, M1, event_body

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def subscriptions(ms, oid: str = seed.EMI_ID) -> list[dict]:
    subs = ms.session.get(f"{ms.url}/_emulator/subscriptions", timeout=10).json()["subscriptions"]
    return [s for s in subs if s["owner"] == oid]


def feed(api, after: str | None = None, as_=M1) -> dict:
    r = api.call("GET", "/outlook/changes", as_=as_, params={"after": after} if after else {})
    assert r.status_code == 200, r.text
    return r.json()


def changes_of(api, kind: str, as_=M1) -> list[dict]:
    return [c for c in feed(api, as_=as_)["changes"] if c["type"] == kind]


def created(ready, ms, host, **changes) -> tuple[object, dict, dict]:
    """An interview made through the API, its subscription in place and caught up (so that no
    read of that catch-up lands inside the test), and the room's answer in."""
    api, link_id, rooms = ready
    with logged_after(host, *SUBSCRIBED):
        r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms, **changes))
        assert r.status_code == 201, r.text
    sub = wait_for(lambda: subscriptions(ms), what="the account's subscription")[0]
    wait_for(lambda: changes_of(api, "event.responses_changed"), what="the room's answer in the feed")
    return api, r.json(), sub


def test_the_first_event_subscribes_the_account_as_graph_wants(ready, ms, host):
    api, event, sub = created(ready, ms, host)
    assert sub["resource"].lower() == "me/events" and sub["changeType"] == "updated,deleted"
    assert sub["notificationUrl"].endswith("/api/outlook/notifications")
    assert sub["lifecycleNotificationUrl"] == sub["notificationUrl"] + "/lifecycle"
    assert sub["immutableIds"] is True
    expires = time.mktime(time.strptime(sub["expirationDateTime"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert 10000 * 60 < expires - time.time() <= 10080 * 60  # change-notifications-subscription-lifetime.md
    # A second event of the same account makes no second subscription.
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(ready[1], ready[2], schedule_id="sch-2"))
    assert r.status_code == 201
    time.sleep(2)
    assert len(subscriptions(ms)) == 1


def test_a_room_answer_and_an_interviewer_decline_reach_the_feed(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
    [room_change] = changes_of(api, "event.responses_changed")
    assert room_change["schedule_id"] == "sch-1" and room_change["fields"] == [ready[2][0].lower()]
    assert room_change["company_id"] == api.company_id  # whose change it is
    assert room_change["event"]["rooms"][0]["response"] == "accepted"
    ms.post(f"events/{event['event_id']}/responses", {"email": GORO, "response": "declined"})
    decline = wait_for(
        lambda: [c for c in changes_of(api, "event.responses_changed") if c["fields"] == [GORO.lower()]],
        what="the decline in the feed",
    )[0]
    assert [a["response"] for a in decline["event"]["attendees"]] == ["declined"]
    got = api.call("GET", "/outlook/events/sch-1", as_=M1).json()
    assert got["attendees"][0]["response"] == "declined"


def test_a_move_in_outlook_is_an_update_and_the_mapping_follows(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
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


def test_a_delete_in_outlook_is_reported_once(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
    ms.post(f"users/{seed.EMI_ID}/events/{event['event_id']}/delete")
    gone = wait_for(lambda: changes_of(api, "event.deleted_in_outlook"), what="the delete in the feed")
    time.sleep(2)
    assert len(changes_of(api, "event.deleted_in_outlook")) == 1 == len(gone)
    assert gone[0]["event"] is None and gone[0]["schedule_id"] == "sch-1"
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 410


def test_a_move_to_another_calendar_is_no_deletion(ready, ms, host):
    """Graph tells the left calendar's subscription `deleted`; the event is still in a calendar of
    the mailbox (its parentFolderId), so nothing is reported and GET still answers 200."""
    api, event, sub = created(ready, ms, host)
    ms.post(f"events/{event['event_id']}/move", {"calendar_name": "Interviews"})
    wait_for(
        lambda: [d for d in deliveries(ms) if d["change"] == "deleted" and d["status"] == "delivered"],
        what="Graph's deleted notification for the calendar it left",
    )
    time.sleep(3)  # the queue has processed it
    assert changes_of(api, "event.deleted_in_outlook") == []
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 200


def test_a_cancel_by_the_organizer_in_outlook_is_reported(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
    ms.post(f"events/{event['event_id']}/outlook-cancel", {"comment": "中止"})
    [found] = wait_for(lambda: changes_of(api, "event.cancelled_in_outlook"), what="the cancel in the feed")
    assert found["schedule_id"] == "sch-1" and found["fields"] == []
    assert found["event"]["event_id"] == event["event_id"]  # still found by its immutable id, in Deleted Items
    time.sleep(2)
    assert changes_of(api, "event.deleted_in_outlook") == [] and len(changes_of(api, "event.cancelled_in_outlook")) == 1
    r = api.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 410 and r.json()["error"]["code"] == "event_deleted_in_outlook"


def test_changes_made_through_the_api_are_not_reported_back(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
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


# ---- the notification endpoints, as anyone on the internet can call them


def notify(host, body, path: str = "/api/outlook/notifications", **kwargs):
    import requests

    return requests.post(host.url + path, data=body, timeout=10, **kwargs)


def test_the_validation_handshake_answers_the_decoded_token_as_plain_text(host):
    token = "Validation: Testing client application reachability for subscription Request-Id: 5f2e"
    for path in ("/api/outlook/notifications", "/api/outlook/notifications/lifecycle"):
        import requests

        r = requests.post(host.url + path, params={"validationToken": token}, timeout=10)
        assert r.status_code == 200 and r.text == token
        assert r.headers["Content-Type"].startswith("text/plain")
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_forged_broken_and_oversized_notifications_change_nothing(ready, ms, host):
    api, event, sub = created(ready, ms, host)
    before = feed(api)["next"]
    ms.clear_calls()
    forged = {
        "value": [
            {
                "subscriptionId": sub["id"],  # a real subscription, a guessed clientState
                "clientState": "guess",
                "changeType": "updated",
                "resource": f"Users/{seed.EMI_ID}/Events/{event['event_id']}",
                "resourceData": {"id": event["event_id"]},
            },
            {"subscriptionId": "00000000-0000-0000-0000-000000000000", "clientState": "x", "resourceData": {"id": "y"}},
            "not an object",
        ]
    }
    import json

    for body in (json.dumps(forged), "{not json", json.dumps({"value": "nope"}), json.dumps([1, 2]), ""):
        r = notify(host, body, headers={"Content-Type": "application/json"})
        assert r.status_code == 202, (body, r.status_code)
        r = notify(host, body, path="/api/outlook/notifications/lifecycle")
        assert r.status_code == 202
    assert notify(host, b"x" * (1024 * 1024 + 1)).status_code == 413
    # A flood: 1,000 forged notifications in one POST, MAC-shaped, old-shaped and plain guesses.
    flood = [
        {
            "subscriptionId": sub["id"] if i % 2 else f"{i:08d}-0000-0000-0000-000000000000",
            "clientState": ("cs1." + "A" * 24 + "." + "B" * 43, "C" * 43, "guess")[i % 3],
            "changeType": "updated",
            "resourceData": {"id": event["event_id"]},
        }
        for i in range(1000)
    ]
    started = time.monotonic()
    r = notify(host, json.dumps({"value": flood}), headers={"Content-Type": "application/json"})
    assert r.status_code == 202 and time.monotonic() - started < 3  # Graph's limit for any answer
    time.sleep(3)
    assert [c for c in ms.calls() if c["kind"] == "graph"] == []  # no Graph call for any of them
    assert feed(api, before)["changes"] == []


def test_a_burst_of_repeated_notifications_costs_one_read_and_reports_once(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
    ms.post("notifications/config", {"duplicates": 5})
    before = feed(api)["next"]
    ms.clear_calls()
    ms.post(f"events/{event['event_id']}/outlook-edit", {"subject": "一次面接 (変更)"})
    wait_for(lambda: feed(api, before)["changes"], what="the edit in the feed")
    time.sleep(4)  # every duplicate delivered and processed
    [change] = feed(api, before)["changes"]
    assert change["type"] == "event.updated" and change["fields"] == ["subject"]
    reads = [c for c in ms.calls() if c["kind"] == "graph" and c["method"] == "GET"]
    assert len(reads) == 1, reads  # 5 notifications of one version: one read


# ---- lifecycle events and renewal


def run(host, name: str, payload: dict | None = None) -> None:
    import json

    import requests

    r = requests.post(f"{host.url}/admin/functions/{name}", json={"input": json.dumps(payload or {})}, timeout=10)
    assert r.status_code == 202, r.text


def test_missed_notifications_are_caught_up(ready, ms, host):
    api, event, sub = created(ready, ms, host)
    before = feed(api)["next"]
    ms.post(f"events/{event['event_id']}/outlook-edit", {"subject": "黙って変更", "silent": True})
    time.sleep(2)
    assert feed(api, before)["changes"] == []  # Graph said nothing
    ms.post(f"subscriptions/{sub['id']}/lifecycle", {"event": "missed"})
    [change] = wait_for(lambda: feed(api, before)["changes"], what="the catch-up")
    assert change["type"] == "event.updated" and change["fields"] == ["subject"]


def test_a_removed_subscription_is_replaced_and_caught_up(ready, ms, host):
    api, event, sub = created(ready, ms, host)
    before = feed(api)["next"]
    ms.post(f"events/{event['event_id']}/outlook-edit", {"location": "会議室 B", "silent": True})
    ms.post(f"subscriptions/{sub['id']}/drop")
    fresh = wait_for(lambda: [s for s in subscriptions(ms) if s["id"] != sub["id"]], what="a new subscription")
    assert fresh[0]["resource"].lower() == "me/events"
    [change] = wait_for(lambda: feed(api, before)["changes"], what="the catch-up after the new subscription")
    assert change["fields"] == ["location"]


def later(hours: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + hours * 3600))


def test_reauthorization_required_renews_the_subscription(ready, ms, host):
    api, event, sub = created(ready, ms, host)
    ms.post(f"subscriptions/{sub['id']}/expire", {"in_seconds": 3600})
    ms.post(f"subscriptions/{sub['id']}/lifecycle", {"event": "reauthorizationRequired"})
    wait_for(
        lambda: [s for s in subscriptions(ms) if s["id"] == sub["id"] and s["expirationDateTime"] > later(48)],
        what="the renewal",
    )


def test_a_lifecycle_event_graph_repeats_is_handled_once(ready, ms, host):
    api, event, sub = created(ready, ms, host)
    ms.clear_calls()
    for _ in range(3):  # Graph repeats reauthorizationRequired until it is acted upon
        ms.post(f"subscriptions/{sub['id']}/lifecycle", {"event": "reauthorizationRequired"})
    wait_for(
        lambda: len([d for d in deliveries(ms) if d["kind"] == "lifecycle" and d["status"] == "delivered"]) == 3,
        what="the three lifecycle notifications delivered",
    )
    renewals = wait_for(
        lambda: [
            c for c in ms.calls() if c["kind"] == "graph" and c["method"] == "PATCH" and "subscriptions" in c["path"]
        ],
        what="the renewal",
    )
    time.sleep(3)  # the queue has processed whatever was queued
    renewals = [
        c for c in ms.calls() if c["kind"] == "graph" and c["method"] == "PATCH" and "subscriptions" in c["path"]
    ]
    assert len(renewals) == 1, renewals


def test_the_renewal_run_extends_what_expires_soon_and_recreates_what_graph_forgot(ready, ms, host, storage):
    from shared.storage.microsoft_accounts import MicrosoftAccounts

    api, event, sub = created(ready, ms, host)
    account = (api.company_id, CONTOSO, seed.EMI_ID)

    def entry():
        return MicrosoftAccounts().get(*account).subscriptions[""]

    def renewal_run_when_due_in(seconds: int) -> None:
        """The account row says the subscription expires in `seconds` (within a day: the run acts)."""
        row = MicrosoftAccounts().get(*account)
        row.subscriptions[""]["expires_at"] = later(seconds / 3600) + "Z"
        MicrosoftAccounts().save(row)
        message = {"company_id": api.company_id, "tenant_id": CONTOSO, "oid": seed.EMI_ID, "renew": True}
        run(host, "maintain_outlook_subscriptions", message)

    ms.post(f"subscriptions/{sub['id']}/expire", {"in_seconds": 3600})
    old_expiry = entry()["expires_at"]
    renewal_run_when_due_in(3600)
    wait_for(lambda: entry()["expires_at"] > later(50) + "Z", what="the renewal")
    assert entry()["id"] == sub["id"] and entry()["expires_at"] >= old_expiry[:13]
    # Graph forgets it (expired): the run recreates it.
    ms.post(f"subscriptions/{sub['id']}/expire", {"in_seconds": 0})
    renewal_run_when_due_in(60)
    fresh = wait_for(lambda: [s for s in subscriptions(ms) if s["id"] != sub["id"]], what="a recreated subscription")
    assert wait_for(lambda: entry().get("id") == fresh[0]["id"], what="the account row pointing at it")


def test_unlinking_deletes_the_subscription_in_graph(ready, ms, host):
    api, event, sub = created(ready, ms, host)
    links = api.call("GET", "/outlook/user-links", as_=M1).json()["tenants"][0]["links"]
    r = api.call("DELETE", f"/outlook/user-links/{links[0]['link_id']}", as_=M1)
    assert r.status_code == 204
    assert subscriptions(ms) == []


def test_an_answer_changed_back_and_forth_is_reported_each_time(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
    before = feed(api)["next"]
    for response in ("accepted", "declined", "accepted", "declined"):
        seen = len(feed(api, before)["changes"])
        ms.post(f"events/{event['event_id']}/responses", {"email": GORO, "response": response})
        wait_for(lambda: len(feed(api, before)["changes"]) > seen, what=f"the answer {response}")  # noqa: B023
    answers = [c["event"]["attendees"][0]["response"] for c in feed(api, before)["changes"]]
    assert answers == ["accepted", "declined", "accepted", "declined"]
