"""Event use cases on Azurite with Graph mocked (responses): idempotency and lost answers."""

import json
import re
import threading

import pytest
import requests
import responses

from shared.auth import Caller
from shared.errors import Conflict, GraphUnavailable, ValidationFailed
from shared.mailbox import credentials
from shared.models import Account, EventStatus, MicrosoftAccount, Room, TenantLink, TenantStatus, UserLink, utcnow
from shared.storage.events import Events
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.rooms import Rooms
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks
from shared.usecases.interviews import events
from tests.conftest import new_id

pytestmark = pytest.mark.integration
GRAPH = "https://graph.example.test/v1.0"


@pytest.fixture
def world(storage, monkeypatch):
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "token")
    from shared import graph

    monkeypatch.setattr(graph, "_sleep", lambda s: None)
    company, tenant = new_id("co"), new_id("tenant")
    caller = Caller("herp-1", company, "member")
    TenantLinks().save(
        TenantLink(company, tenant, "T", TenantStatus.ACTIVE, Account("admin", "a@t.test", "A"), "h", utcnow()),
        create=True,
    )
    MicrosoftAccounts().save(
        MicrosoftAccount(
            company,
            tenant,
            Account("oid-1", "u@t.test", "U"),
            token_cache="x",
            calendars={"default": "cal-1", "teams": {"cal-1": True}},
            # Already subscribed: a create queues no subscription request, which the e2e host
            # sharing this Azurite would take and run against this fake credential.
            subscriptions={"": {"id": "sub-1", "expires_at": "2099-01-01T00:00:00Z"}},
        )
    )
    UserLinks().save(UserLink(company, "ul_1", "herp-1", tenant, "oid-1", "user", utcnow()))
    Rooms().apply(tenant, [Room("room1@t.test", "Room 1", 6, "HQ", "1F", None)], [])
    responses.start()
    responses.add_passthru(re.compile(r"http://127\.0\.0\.1:\d+/"))
    yield caller
    responses.stop()
    responses.reset()


def create(caller, event_body: dict) -> tuple[int, dict]:
    """events.create as the API answers it: the status and the Event."""
    event, created = events.create(caller, event_body)
    return 201 if created else 200, event.to_json()


def body(**changes) -> dict:
    return {
        "schedule_id": "sch-1",
        "link_id": "ul_1",
        "subject": "Interview",
        "start": "2026-12-01T10:00:00",
        "end": "2026-12-01T11:00:00",
        "time_zone": "Asia/Tokyo",
        "attendees": [{"email": "iv@t.test"}],
        "rooms": ["room1@t.test"],
        "online_meeting": True,
        **changes,
    }


class FakeOutlook:
    """Graph's documented transactionId behaviour: a repeated POST returns the same event."""

    def __init__(self, lose_first_answer: bool = False):
        self.events: dict[str, dict] = {}
        self.posts: list[dict] = []
        self.lose_first_answer = lose_first_answer

    def post(self, request):
        payload = json.loads(request.body)
        self.posts.append(payload)
        tx = payload["transactionId"]
        event = self.events.setdefault(
            tx,
            {
                "id": f"evt-{len(self.events) + 1}",
                "iCalUId": "ical",
                **payload,
                "onlineMeeting": {"joinUrl": "https://teams.test/join"},
            },
        )
        if self.lose_first_answer and len(self.posts) == 1:
            raise requests.ConnectionError("connection reset after the event was created")
        return 201, {}, json.dumps(event)


def test_lost_answer_then_retry_makes_one_event(world):
    outlook = FakeOutlook(lose_first_answer=True)
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    with pytest.raises(GraphUnavailable):
        events.create(world, body())
    assert Events().get(world.company_id, "sch-1").status == EventStatus.CREATING
    status, event = create(world, body())
    assert status == 201 and event["event_id"] == "evt-1" and event["join_url"] == "https://teams.test/join"
    assert len(outlook.events) == 1
    assert outlook.posts[0]["transactionId"] == outlook.posts[1]["transactionId"]
    assert Events().get(world.company_id, "sch-1").graph_event_id == "evt-1"


def test_same_body_again_is_200_and_different_body_409(world):
    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    responses.get(f"{GRAPH}/me/events/evt-1", json={"id": "evt-1", "subject": "Interview", "attendees": []})
    assert create(world, body())[0] == 201
    status, again = create(world, body())
    assert status == 200 and again["event_id"] == "evt-1" and len(outlook.posts) == 1
    with pytest.raises(Conflict) as info:
        events.create(world, body(subject="Other"))
    assert info.value.code == "schedule_exists"


def test_unknown_room_and_bad_times_make_no_graph_call(world):
    for wrong, code in [
        (body(rooms=["nope@t.test"]), "unknown_room"),
        (body(end="2026-12-01T09:00:00"), "invalid_time_range"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            events.create(world, wrong)
        assert info.value.code == code
    assert len(responses.calls) == 0
    assert Events().get(world.company_id, "sch-1") is None


def test_graph_refusal_frees_the_schedule_id(world):
    responses.post(f"{GRAPH}/me/events", status=400, json={"error": {"code": "ErrorInvalidRequest", "message": "x"}})
    from shared.errors import GraphError

    with pytest.raises(GraphError):
        events.create(world, body())
    assert Events().get(world.company_id, "sch-1") is None


def test_concurrent_patches_are_serialised(world):
    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    events.create(world, body())
    patches: list[dict] = []

    def on_patch(request):
        patch = json.loads(request.body)
        patches.append(patch)
        return 200, {}, json.dumps({"id": "evt-1", "attendees": patch.get("attendees", [])})

    responses.add_callback(responses.PATCH, f"{GRAPH}/me/events/evt-1", callback=on_patch)
    barrier = threading.Barrier(2)

    def edit(change):
        barrier.wait()
        events.update(world, "sch-1", change)

    threads = [
        threading.Thread(target=edit, args=({"attendees": [{"email": "iv@t.test"}, {"email": "new@t.test"}]},)),
        threading.Thread(target=edit, args=({"rooms": []},)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = json.loads(Events().get(world.company_id, "sch-1").input_json)
    # Both edits survive: the second was computed against the first's result.
    assert [a["email"] for a in stored["attendees"]] == ["iv@t.test", "new@t.test"] and stored["rooms"] == []
    last = [a["emailAddress"]["address"] for a in patches[-1]["attendees"]]
    assert last == ["iv@t.test", "new@t.test"]


def test_a_retry_of_an_unknown_outcome_sends_byte_for_byte_the_same_post(world):
    outlook = FakeOutlook(lose_first_answer=True)
    raw: list[bytes] = []

    def post(request):
        raw.append(request.body)
        return outlook.post(request)

    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=post)
    with pytest.raises(GraphUnavailable):
        events.create(world, body())
    # Meanwhile the room sync renamed the room: the retry must still repeat the first POST exactly.
    Rooms().apply(world_tenant(world), [Room("room1@t.test", "Room 1 (renovated)", 6, "HQ", "1F", None)], [])
    assert create(world, body())[0] == 201
    assert len(raw) == 2 and raw[0] == raw[1]


def world_tenant(caller) -> str:
    return Events().get(caller.company_id, "sch-1").tenant_id


def test_every_event_call_asks_for_immutable_ids_and_utc(world):
    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    responses.get(f"{GRAPH}/me/events/evt-1", json={"id": "evt-1", "attendees": []})
    responses.post(f"{GRAPH}/me/events/evt-1/cancel", status=202)
    events.create(world, body())
    events.get(world, "sch-1")
    events.cancel(world, "sch-1", notify=True)
    prefers = [c.request.headers.get("Prefer") for c in responses.calls]
    assert prefers == ['outlook.timezone="UTC", IdType="ImmutableId"'] * 3


def test_a_default_id_stored_before_is_translated_once(world):
    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    events.create(world, body())
    record = Events().get(world.company_id, "sch-1")
    record.graph_event_id, record.immutable_id = "default-id-1", False  # a row of before this change
    Events().save(record)
    translate = responses.post(
        f"{GRAPH}/me/translateExchangeIds", json={"value": [{"sourceId": "default-id-1", "targetId": "immutable-1"}]}
    )
    responses.get(f"{GRAPH}/me/events/immutable-1", json={"id": "immutable-1", "attendees": []})
    assert events.get(world, "sch-1").event_id == "immutable-1"
    assert events.get(world, "sch-1").event_id == "immutable-1"
    assert translate.call_count == 1
    assert json.loads(translate.calls[0].request.body) == {
        "inputIds": ["default-id-1"],
        "sourceIdType": "restId",
        "targetIdType": "restImmutableEntryId",
    }
    stored = Events().get(world.company_id, "sch-1")
    assert (stored.graph_event_id, stored.immutable_id) == ("immutable-1", True)


def test_a_body_edit_of_an_online_meeting_reads_the_body_first_and_keeps_the_blob(world):
    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    events.create(world, body())
    blob = (
        '<div>________________________________________</div><a href="https://teams.test/join">Join</a>'
        "<div>________________________________________</div>"
    )
    read = responses.get(
        f"{GRAPH}/me/events/evt-1",
        json={
            "id": "evt-1",
            "body": {"contentType": "html", "content": f"<html><body>old{blob}</body></html>"},
            "onlineMeeting": {"joinUrl": "https://teams.test/join"},
        },
    )
    sent: list[dict] = []

    def patch(request):
        sent.append(json.loads(request.body))
        return (
            200,
            {},
            json.dumps(
                {
                    "id": "evt-1",
                    "isOnlineMeeting": True,
                    "onlineMeeting": {"joinUrl": "https://teams.test/join"},
                    "attendees": [],
                }
            ),
        )

    responses.add_callback(responses.PATCH, f"{GRAPH}/me/events/evt-1", callback=patch)
    out = events.update(world, "sch-1", {"body": {"content_type": "text", "content": "new"}})
    assert read.call_count == 1 and read.calls[0].request.params == {"$select": "body,onlineMeeting,isOnlineMeeting"}
    assert sent[0]["body"] == {"contentType": "html", "content": f"<html><body>new{blob}</body></html>"}
    assert out.join_url == "https://teams.test/join"
    events.update(world, "sch-1", {"subject": "Only the subject"})  # not the body: no extra read
    assert read.call_count == 1


def test_a_meeting_outlook_did_not_make_is_shown_and_locks_nothing(world):
    """microsoft-graph-docs#9741: a 201 with isOnlineMeeting false although Teams was asked."""
    created = {"id": "evt-1", "isOnlineMeeting": False, "onlineMeetingProvider": "unknown", "onlineMeeting": None}
    responses.post(f"{GRAPH}/me/events", json={**created, "attendees": []}, status=201)
    status, event = create(world, body())
    assert (status, event["online_meeting"], event["join_url"]) == (201, False, None)
    assert '"online_meeting":false' in Events().get(world.company_id, "sch-1").input_json
    patch = responses.patch(f"{GRAPH}/me/events/evt-1", json={**created, "subject": "x", "attendees": []})
    out = events.update(world, "sch-1", {"online_meeting": False, "subject": "x"})  # not 422 online_meeting_locked
    assert out.online_meeting is False and json.loads(patch.calls[0].request.body) == {"subject": "x"}
    events.update(world, "sch-1", {"body": {"content_type": "text", "content": "new"}})  # no block to keep: no GET
    assert patch.call_count == 2 and len(responses.calls) == 3


def test_a_body_edit_finding_no_block_changes_nothing(world):
    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    events.create(world, body())
    before = Events().get(world.company_id, "sch-1").input_json
    responses.get(
        f"{GRAPH}/me/events/evt-1",
        json={
            "id": "evt-1",
            "body": {"contentType": "html", "content": "<html><body>rewritten in Outlook</body></html>"},
            "isOnlineMeeting": True,
            "onlineMeeting": {"joinUrl": "https://teams.test/join"},
        },
    )
    with pytest.raises(Conflict) as info:
        events.update(world, "sch-1", {"body": {"content_type": "text", "content": "new"}})
    assert info.value.code == "teams_block_not_found"
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]  # no PATCH
    row = Events().get(world.company_id, "sch-1")
    assert row.input_json == before and row.locked_until is None


def test_a_cancel_that_cannot_mark_its_row_is_a_409_not_a_204(world, monkeypatch):
    from shared.storage.base import ConcurrentUpdate

    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    responses.post(f"{GRAPH}/me/events/evt-1/cancel", status=202)
    events.create(world, body())
    real_save, saves = Events.save, []

    def lose_after_the_lease(self, record):
        saves.append(record.locked_until)
        if len(saves) == 1:  # the edit lease, taken before Graph is called
            return real_save(self, record)
        raise ConcurrentUpdate()

    monkeypatch.setattr(Events, "save", lose_after_the_lease)
    with pytest.raises(ConcurrentUpdate):
        events.cancel(world, "sch-1", notify=True)
    monkeypatch.undo()
    assert Events().get(world.company_id, "sch-1").status == EventStatus.ACTIVE  # told 409, and it is still active


def test_a_cancel_whose_row_vanishes_meanwhile_does_not_crash(world, monkeypatch):
    from shared.storage.base import ConcurrentUpdate

    outlook = FakeOutlook()
    responses.add_callback(responses.POST, f"{GRAPH}/me/events", callback=outlook.post)
    responses.post(f"{GRAPH}/me/events/evt-1/cancel", status=202)
    events.create(world, body())
    real_save, saves = Events.save, []

    def lose_then_vanish(self, record):
        saves.append(record.locked_until)
        if len(saves) == 1:  # the edit lease, taken before Graph is called
            return real_save(self, record)
        Events().delete(record.company_id, record.schedule_id)
        raise ConcurrentUpdate()

    monkeypatch.setattr(Events, "save", lose_then_vanish)
    events.cancel(world, "sch-1", notify=True)  # no AttributeError
    monkeypatch.setattr(Events, "save", real_save)
    assert Events().get(world.company_id, "sch-1") is None
