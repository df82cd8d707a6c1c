"""Graph change notifications of the emulator: subscriptions, the validation handshake, delivery
from the background thread (duplicates, retries, silent changes) and lifecycle events, with a
tiny HTTP receiver in the test standing in for the app's endpoints."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from devtools.emulator import seed

from .calendar_helpers import BEN, ROOM, Client, assert_graph_error, event_body

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


class Receiver:
    """Answers the handshake (or not: `validation`), records notifications; `fail` = how many
    notification POSTs to answer 500 next (-1: all)."""

    def __init__(self):
        self.validations: list[tuple[str, str]] = []  # (path, token)
        self.posts: list[tuple[str, dict]] = []  # (path, body)
        self.validation = "ok"  # ok | 500 | wrong | slow
        self.fail = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                token = parse_qs(parts.query).get("validationToken")
                if token:
                    owner.validations.append((parts.path, token[0]))
                    mode = owner.validation
                    if mode == "slow":
                        time.sleep(11)
                    status, text = (500, "no") if mode == "500" else (200, "x" if mode == "wrong" else token[0])
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(text.encode())))
                    self.end_headers()
                    self.wfile.write(text.encode())
                    return
                with owner.lock:
                    failing = owner.fail != 0
                    if owner.fail > 0:
                        owner.fail -= 1
                    if not failing:
                        owner.posts.append((parts.path, json.loads(raw)))
                self.send_response(500 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def items(self, path="/notify", **match) -> list[dict]:
        with self.lock:
            out = [i for p, body in self.posts if p == path for i in body["value"]]
        return [i for i in out if all(i.get(k) == v for k, v in match.items())]

    def wait(self, n, path="/notify", timeout=20.0, **match) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.items(path, **match)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return self.items(path, **match)


@pytest.fixture
def rx():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _expiry(minutes=60.0):
    t = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _subscribe(client, rx, resource="me/events", change="created,updated,deleted", headers=None, **extra):
    body = {
        "changeType": change,
        "notificationUrl": f"{rx.base}/notify",
        "lifecycleNotificationUrl": f"{rx.base}/lifecycle",
        "resource": resource,
        "expirationDateTime": _expiry(),
        "clientState": "secret-state",
        **extra,
    }
    return client.call("POST", "/subscriptions", json=body, headers=headers)


def _new_sub(client, rx, **kw):
    r = _subscribe(client, rx, **kw)
    assert r.status_code == 201, r.text
    return r.json()


def _event(client, **kw):
    r = client.call("POST", "/me/events", json=event_body(**kw))
    assert r.status_code == 201, r.text
    return r.json()


def _interviews(client):
    cals = client.call("GET", "/me/calendars").json()["value"]
    return next(c["id"] for c in cals if c["name"] == "Interviews")


def test_create_validates_both_urls_and_renders_the_subscription(emu, emi, rx):
    sub = _new_sub(emi, rx)
    assert [p for p, _ in rx.validations] == ["/notify", "/lifecycle"]
    assert rx.validations[0][1].startswith("Validation: Testing client application reachability for subscription")
    assert sub["resource"] == "me/events" and sub["changeType"] == "created,updated,deleted"
    assert sub["applicationId"] == seed.CLIENT_ID and sub["creatorId"] == seed.EMI_ID
    assert sub["clientState"] == "secret-state" and sub["latestSupportedTlsVersion"] == "v1_2"
    assert sub["notificationUrl"] == f"{rx.base}/notify" and sub["lifecycleNotificationUrl"] == f"{rx.base}/lifecycle"
    got = emi.call("GET", f"/subscriptions/{sub['id']}").json()
    assert got["id"] == sub["id"] and got["expirationDateTime"] == sub["expirationDateTime"]
    listed = emi.call("GET", "/subscriptions").json()["value"]
    assert [s["id"] for s in listed] == [sub["id"]]
    log = emu.control("GET", "notifications")["deliveries"]
    assert [d["kind"] for d in log] == ["validation", "validation"]
    assert "secret-state" not in json.dumps(log)
    # another user of the same app does not see it
    ben = Client(emu, BEN)
    assert ben.call("GET", "/subscriptions").json()["value"] == []
    assert_graph_error(ben.call("GET", f"/subscriptions/{sub['id']}"), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    ("mode", "code"),
    [("500", "ValidationError"), ("wrong", "ValidationError")],
)
def test_a_failed_handshake_creates_nothing(emu, emi, rx, mode, code):
    rx.validation = mode
    err = assert_graph_error(_subscribe(emi, rx), 400, code)
    assert err["message"].startswith("Subscription validation request failed.")
    assert emi.call("GET", "/subscriptions").json()["value"] == []
    assert emu.control("GET", "subscriptions")["subscriptions"] == []


def test_expiration_limits_urls_and_resources(emu, emi, rx):
    # change-notifications-subscription-lifetime.md (11/2024): 10,080 minutes for Outlook events
    err = assert_graph_error(_subscribe(emi, rx, expirationDateTime=_expiry(10081)), 400, "ExtensionError")
    assert err["message"] == "Subscription expiration can only be 10080 minutes in the future."
    assert_graph_error(_subscribe(emi, rx, expirationDateTime=_expiry(-1)), 400, "ExtensionError")
    assert_graph_error(_subscribe(emi, rx, notificationUrl="http://example.com/notify"), 400, "InvalidRequest")
    assert_graph_error(_subscribe(emi, rx, resource="me/messages"), 400, "InvalidRequest")
    assert_graph_error(_subscribe(emi, rx, resource=f"users/{seed.BEN_ID}/events"), 403, "ExtensionError")
    assert_graph_error(_subscribe(emi, rx, change="created,moved"), 400, "InvalidRequest")
    assert_graph_error(_subscribe(emi, rx, clientState="x" * 129), 400, "InvalidRequest")
    assert rx.validations == []  # a bad request is refused before any handshake
    made = _subscribe(emi, rx, expirationDateTime=_expiry(10079))
    assert made.status_code == 201, made.text
    assert emi.call("DELETE", f"/subscriptions/{made.json()['id']}").status_code == 204
    assert _subscribe(emi, rx, resource=f"users/{seed.EMI_ID}/events").status_code == 201
    # a token without any calendar permission
    plain = Client(emu, BEN, scopes=["User.Read"])
    assert_graph_error(_subscribe(plain, rx), 403, "ErrorAccessDenied")


def test_renew_delete_reauthorize_and_expiry(emu, emi, rx):
    sub = _new_sub(emi, rx)
    later = _expiry(4000)
    r = emi.call("PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": later})
    assert r.status_code == 200 and r.json()["expirationDateTime"][:19] == later[:19], r.text
    assert_graph_error(
        emi.call("PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": _expiry(10081)}),
        400,
        "ExtensionError",
    )
    assert emi.call("POST", f"/subscriptions/{sub['id']}/reauthorize").status_code == 204
    assert emi.call("DELETE", f"/subscriptions/{sub['id']}").status_code == 204
    assert_graph_error(emi.call("DELETE", f"/subscriptions/{sub['id']}"), 404, "ResourceNotFound")
    assert_graph_error(
        emi.call("PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": later}), 404, "ResourceNotFound"
    )
    # about to expire: reauthorizationRequired; once expired: gone
    other = _new_sub(emi, rx)
    emu.control("POST", f"subscriptions/{other['id']}/expire", json={"in_seconds": 1})
    life = rx.wait(1, "/lifecycle", subscriptionId=other["id"])
    assert life[0]["lifecycleEvent"] == "reauthorizationRequired" and life[0]["clientState"] == "secret-state"
    assert set(life[0]) == {
        "subscriptionId",
        "subscriptionExpirationDateTime",
        "tenantId",
        "clientState",
        "lifecycleEvent",
    }
    time.sleep(1.2)
    assert_graph_error(emi.call("GET", f"/subscriptions/{other['id']}"), 404, "ResourceNotFound")
    assert_graph_error(
        emi.call("PATCH", f"/subscriptions/{other['id']}", json={"expirationDateTime": later}), 404, "ResourceNotFound"
    )


def test_notifications_carry_default_or_immutable_ids_and_come_twice(emu, emi, rx):
    plain = _new_sub(emi, rx, change="updated,deleted")
    immutable = _new_sub(emi, rx, change="updated", headers=IMMUTABLE)  # another changeType: no 409
    e = emi.call("POST", "/me/events", json=event_body(), headers=IMMUTABLE).json()
    default_id = emi.call("GET", f"/me/events/{e['id']}").json()["id"]
    r = emi.call("PATCH", f"/me/events/{e['id']}", json={"subject": "Moved on"})
    assert r.status_code == 200
    got = rx.wait(2, subscriptionId=plain["id"])
    imm = rx.wait(2, subscriptionId=immutable["id"])
    time.sleep(0.5)
    assert len(rx.items(subscriptionId=plain["id"])) == 2  # one change, two `updated` (field)
    n = got[0]
    assert n["changeType"] == "updated" and n["clientState"] == "secret-state"
    assert n["tenantId"] == seed.CONTOSO_TENANT_ID
    assert n["resource"] == f"Users/{seed.EMI_ID}/Events/{default_id}"
    assert n["resourceData"] == {
        "@odata.type": "#Microsoft.Graph.Event",
        "@odata.id": f"Users/{seed.EMI_ID}/Events/{default_id}",
        "@odata.etag": f'W/"{r.json()["changeKey"]}"',
        "id": default_id,
    }
    assert "subject" not in json.dumps(got)  # never the event itself
    assert imm[0]["resourceData"]["id"] == e["id"] != default_id  # the immutable id
    assert not rx.items(changeType="created")  # not subscribed
    # duplicates are configurable
    emu.control("POST", "notifications/config", json={"duplicates": 1})
    emi.call("PATCH", f"/me/events/{e['id']}", json={"subject": "Again"})
    rx.wait(3, subscriptionId=plain["id"])
    time.sleep(0.5)
    assert len(rx.items(subscriptionId=plain["id"])) == 3
    subs = {s["id"]: s for s in emu.control("GET", "subscriptions")["subscriptions"]}
    assert subs[plain["id"]]["delivered"] == 3


def test_me_events_is_the_default_calendar_only(emu, emi, rx):
    cal = _interviews(emi)
    default = _new_sub(emi, rx)
    interviews = _new_sub(emi, rx, resource=f"me/calendars/{cal}/events")
    r = emi.call("POST", f"/me/calendars/{cal}/events", json=event_body(subject="In Interviews"))
    assert r.status_code == 201
    created = rx.wait(1, subscriptionId=interviews["id"], changeType="created")
    assert created[0]["resourceData"]["id"] == r.json()["id"]
    time.sleep(0.4)
    assert rx.items(subscriptionId=default["id"]) == []  # docs-contrib #6150, #51
    e = _event(emi)
    assert rx.wait(1, subscriptionId=default["id"], changeType="created")[0]["resourceData"]["id"] == e["id"]


def test_outlook_actions_notify_the_organizer(emu, emi, rx):
    emu.control("POST", "notifications/config", json={"duplicates": 1})
    sub = _new_sub(emi, rx)
    interviews = _new_sub(emi, rx, resource=f"me/calendars/{_interviews(emi)}/events")
    emu.control("POST", "room-answer-delay", json={"seconds": 0.3})
    e = _event(emi, attendees=[(BEN, "required"), (ROOM, "resource")])
    rx.wait(1, subscriptionId=sub["id"], changeType="created")
    # the room answers with nobody calling the emulator
    assert rx.wait(1, subscriptionId=sub["id"], changeType="updated")

    def updates():
        return len(rx.items(subscriptionId=sub["id"], changeType="updated"))

    # A new time asks the room again (events.ask_rooms): its answer, 0.3 s later, is one more update.
    for action, body, notified in [
        ("outlook-edit", {"start": "2026-12-01T02:00:00Z", "end": "2026-12-01T03:00:00Z"}, 2),
        ("outlook-edit", {"subject": "Renamed", "location": "Lobby"}, 1),
        ("responses", {"email": BEN, "response": "declined"}, 1),
    ]:
        before = updates()
        r = emu.http.post(f"{emu.base}/_emulator/events/{e['id']}/{action}", json=body, timeout=10)
        assert r.status_code == 200, r.text
        got = rx.wait(before + notified, subscriptionId=sub["id"], changeType="updated")
        assert len(got) == before + notified, action
    got = emi.call("GET", f"/me/events/{e['id']}").json()
    assert got["subject"] == "Renamed" and got["location"]["displayName"] == "Lobby"
    assert got["start"]["dateTime"].startswith("2026-12-01T02:00:00")
    # a move: deleted where it was, created where it went
    moved = emu.control("POST", f"events/{e['id']}/move", json={"calendar_name": "Interviews"})
    gone = rx.wait(1, subscriptionId=sub["id"], changeType="deleted")
    assert gone[0]["resourceData"]["id"] == e["id"]
    arrived = rx.wait(1, subscriptionId=interviews["id"], changeType="created")
    assert arrived[0]["resourceData"]["id"] == moved["id"]
    # cancel in Outlook: deleted
    emu.control("POST", f"events/{moved['id']}/outlook-cancel", json={"comment": "Sorry"})
    assert rx.wait(1, subscriptionId=interviews["id"], changeType="deleted")[0]["resourceData"]["id"] == moved["id"]
    # the user deletes another event in Outlook: deleted
    other = _event(emi)
    rx.wait(2, subscriptionId=sub["id"], changeType="created")
    emu.control("POST", f"users/{seed.EMI_ID}/events/{other['id']}/delete", json={})
    assert [n["resourceData"]["id"] for n in rx.wait(2, subscriptionId=sub["id"], changeType="deleted")][-1] == other[
        "id"
    ]


def test_silent_changes_send_nothing(emu, emi, rx):
    sub = _new_sub(emi, rx)
    e = _event(emi, attendees=[(BEN, "required")])
    rx.wait(1, subscriptionId=sub["id"])
    count = len(rx.items())
    emu.control("POST", f"events/{e['id']}/outlook-edit", json={"subject": "Quiet", "silent": True})
    emu.control("POST", f"events/{e['id']}/responses", json={"email": BEN, "response": "accepted", "silent": True})
    moved = emu.control("POST", f"events/{e['id']}/move", json={"calendar_name": "Interviews", "silent": True})
    time.sleep(0.8)
    assert len(rx.items()) == count
    assert emi.call("GET", f"/me/events/{moved['id']}").json()["subject"] == "Quiet"


def test_failed_deliveries_are_retried_then_dropped_with_missed(emu, emi, rx):
    emu.control("POST", "notifications/config", json={"duplicates": 1, "retry_base_seconds": 0.2})
    sub = _new_sub(emi, rx)
    rx.fail = 2
    e = _event(emi)
    got = rx.wait(1, subscriptionId=sub["id"], changeType="created", timeout=8)
    assert got[0]["resourceData"]["id"] == e["id"]
    entry = next(d for d in emu.control("GET", "notifications")["deliveries"] if d["kind"] == "basic")
    assert entry["attempts"] == 3 and entry["lastStatus"] == 202 and entry["delivered"]
    # an endpoint that keeps failing: the notification is dropped, `missed` follows
    emu.control("POST", "notifications/config", json={"max_retry_age_seconds": 1})
    rx.fail = -1
    emi.call("PATCH", f"/me/events/{e['id']}", json={"subject": "Lost"})
    time.sleep(1.5)
    rx.fail = 0
    missed = rx.wait(1, "/lifecycle", timeout=8, lifecycleEvent="missed")
    assert missed[0]["subscriptionId"] == sub["id"]
    assert any(d["status"] == "dropped" for d in emu.control("GET", "notifications")["deliveries"])


def test_paused_delivery_and_lifecycle_controls(emu, emi, rx):
    sub = _new_sub(emi, rx)
    emu.control("POST", "notifications/config", json={"paused": True})
    _event(emi)
    time.sleep(0.5)
    assert rx.items() == []
    emu.control("POST", "notifications/config", json={"paused": False})
    assert rx.wait(1, subscriptionId=sub["id"])
    emu.control("POST", f"subscriptions/{sub['id']}/lifecycle", json={"event": "missed"})
    assert rx.wait(1, "/lifecycle", lifecycleEvent="missed")
    emu.control("POST", f"subscriptions/{sub['id']}/drop")
    assert rx.wait(1, "/lifecycle", lifecycleEvent="subscriptionRemoved")
    assert_graph_error(emi.call("GET", f"/subscriptions/{sub['id']}"), 404, "ResourceNotFound")


def test_subscriptions_die_with_the_credential(emu, emi, rx):
    sub = _new_sub(emi, rx)
    emu.control("POST", f"users/{seed.EMI_ID}/revoke-sessions")
    removed = rx.wait(1, "/lifecycle", lifecycleEvent="subscriptionRemoved")
    assert removed[0]["subscriptionId"] == sub["id"]
    assert emu.control("GET", "subscriptions")["subscriptions"] == []
    # the customer removes the app: reauthorization required, notifications pause
    again = Client(emu, seed.UPN[seed.EMI_ID])
    sub2 = _new_sub(again, rx)
    emu.control("POST", f"tenants/{seed.CONTOSO_TENANT_ID}/remove-app")
    life = rx.wait(1, "/lifecycle", subscriptionId=sub2["id"])
    assert life[0]["lifecycleEvent"] == "reauthorizationRequired"
    assert_graph_error(again.call("POST", f"/subscriptions/{sub2['id']}/reauthorize"), 403, "ExtensionError")


def test_reset_clears_subscriptions(emu, emi, rx):
    _new_sub(emi, rx)
    emu.control("POST", "reset")
    assert emu.control("GET", "subscriptions")["subscriptions"] == []
    assert emu.control("GET", "notifications")["deliveries"] == []


def test_a_second_subscription_for_the_same_combination_is_refused_with_409(emu, emi, rx):
    """delivery-webhooks / subscription-post-subscriptions: "Duplicate subscriptions aren't allowed"."""
    first = _new_sub(emi, rx, change="updated,deleted")
    handshakes = len(rx.validations)
    for resource in ("me/events", f"users/{seed.EMI_ID}/events", "/me/calendar/events"):
        err = assert_graph_error(
            _subscribe(emi, rx, change="deleted,updated", resource=resource), 409, "ObjectIdentifierInUse"
        )
        assert err["message"] == f"Subscription Id {first['id']} already exists for the requested combination"
    assert len(rx.validations) == handshakes  # refused before any handshake
    listed = emi.call("GET", "/subscriptions").json()["value"]
    assert [s["id"] for s in listed] == [first["id"]] and listed[0]["resource"] == "me/events"
    # another changeType or another calendar is another combination; after a DELETE it is free again
    assert _subscribe(emi, rx, change="updated").status_code == 201
    assert (
        _subscribe(emi, rx, change="updated,deleted", resource=f"me/calendars/{_interviews(emi)}/events").status_code
        == 201
    )
    assert emi.call("DELETE", f"/subscriptions/{first['id']}").status_code == 204
    assert _subscribe(emi, rx, change="updated,deleted").status_code == 201


def test_delivery_pauses_when_the_authorizing_token_expires_and_resumes_on_reauthorize(emu, emi, rx):
    """delivery-webhooks "Authentication": notifications are held once the token behind the last
    authorization expires; a reauthorize with a valid token delivers them."""
    emu.control("POST", "notifications/config", json={"duplicates": 1})
    assert emu.control("POST", "tokens/lifetime", json={"seconds": 5}) == {"seconds": 5}
    short = Client(emu, seed.UPN[seed.EMI_ID])
    sub = _new_sub(short, rx, change="created,updated")
    emu.control("POST", "tokens/lifetime", json={"seconds": 3599})
    # reauthorizationRequired before the token expires, and again when delivery pauses
    warned = rx.wait(1, "/lifecycle", subscriptionId=sub["id"], lifecycleEvent="reauthorizationRequired")
    assert warned
    deadline = time.monotonic() + 8
    while not emu.control("GET", "subscriptions")["subscriptions"][0]["held"]:
        assert time.monotonic() < deadline, "the subscription was never held"
        time.sleep(0.2)
    assert len(rx.wait(2, "/lifecycle", lifecycleEvent="reauthorizationRequired")) >= 2
    e = _event(emi)
    time.sleep(1)
    assert rx.items(subscriptionId=sub["id"]) == []  # held, not delivered
    [view] = emu.control("GET", "subscriptions")["subscriptions"]
    assert view["pending"] == 1 and view["held"] is True
    # a renew or reauthorize with a valid (new) token resumes delivery: the held one arrives
    assert emi.call("POST", f"/subscriptions/{sub['id']}/reauthorize").status_code == 204
    got = rx.wait(1, subscriptionId=sub["id"], changeType="created")
    assert got and got[0]["resourceData"]["id"] == e["id"]
    [view] = emu.control("GET", "subscriptions")["subscriptions"]
    assert view["held"] is False and view["tokenExpires"] > _expiry(50)


def test_held_notifications_older_than_the_retry_window_are_lost_then_missed(emu, emi, rx):
    emu.control("POST", "notifications/config", json={"duplicates": 1, "max_retry_age_seconds": 1})
    emu.control("POST", "tokens/lifetime", json={"seconds": 5})
    short = Client(emu, seed.UPN[seed.EMI_ID])
    emu.control("POST", "tokens/lifetime", json={"seconds": 3599})
    sub = _new_sub(short, rx, change="created")
    time.sleep(5.2)
    _event(emi)
    missed = rx.wait(1, "/lifecycle", timeout=8, lifecycleEvent="missed")
    assert missed[0]["subscriptionId"] == sub["id"]
    assert emi.call("POST", f"/subscriptions/{sub['id']}/reauthorize").status_code == 204
    time.sleep(0.5)
    assert rx.items(subscriptionId=sub["id"], changeType="created") == []  # lost for good


def test_lost_lifecycle_notifications_and_token_lifetime_controls(emu, emi, rx):
    assert emu.control("GET", "tokens/lifetime") == {"seconds": 3599}
    emu.control("POST", "notifications/config", json={"lose_lifecycle": True})
    sub = _new_sub(emi, rx)
    emu.control("POST", f"subscriptions/{sub['id']}/lifecycle", json={"event": "missed"})
    time.sleep(0.5)
    assert rx.items("/lifecycle") == []
    log = emu.control("GET", "notifications")["deliveries"]
    assert [d["status"] for d in log if d["kind"] == "lifecycle"] == ["dropped"]
    emu.control("POST", "reset")
    assert emu.control("GET", "tokens/lifetime") == {"seconds": 3599}
    assert emu.control("GET", "notifications/config")["lose_lifecycle"] is False


def test_each_change_is_noticed_however_late_the_delivery_thread_runs(tmp_path, rx):
    """Graph notifies each change; the emulator noticed changes only when its delivery thread
    ticked, so a create and an edit between two ticks (a busy machine) were one `created`, and a
    subscription to `updated` got nothing. In-process, without the thread: nothing ticks."""
    from werkzeug.test import Client as WsgiClient

    from devtools.emulator import scopes, tokens
    from devtools.emulator.app import EmulatorApp
    from devtools.emulator.jwt_keys import SigningKey
    from devtools.emulator.notifications import Notifier
    from devtools.emulator.state import State

    state = State("https://localhost", SigningKey(tmp_path))
    state.grant(seed.CONTOSO_TENANT_ID, {"Calendars.ReadWrite"}, seed.EMI_ID)
    asked = scopes.parse("Calendars.ReadWrite")
    access = tokens.issue(state, state.users[seed.EMI_ID], asked, {"Calendars.ReadWrite"}, {})["access_token"]
    graph = WsgiClient(EmulatorApp(state, log=io.StringIO()))

    def call(method, path, body):
        r = graph.open(f"/v1.0{path}", method=method, json=body, headers={"Authorization": f"Bearer {access}"})
        assert r.status_code in (200, 201), r.get_data(as_text=True)
        return r.get_json()

    body = {"changeType": "updated", "notificationUrl": f"{rx.base}/notify", "resource": "me/events"}
    sub = call("POST", "/subscriptions", {**body, "expirationDateTime": _expiry(), "clientState": "s"})
    e = call("POST", "/me/events", event_body())
    call("PATCH", f"/me/events/{e['id']}", {"subject": "Moved on"})
    Notifier(state).tick()
    assert [(i["subscriptionId"], i["changeType"]) for i in rx.wait(1)] == [(sub["id"], "updated")]
