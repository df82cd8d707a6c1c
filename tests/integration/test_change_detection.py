"""Comparing Outlook with the mapping, on Azurite with Graph mocked (responses): the row's ETag
and leases decide who compares, the outbox survives a crash, and each Change is stored once."""

import threading
from datetime import timedelta

import pytest
import responses

from shared.feed import changes
from shared.models import utcnow
from shared.storage.changes import Changes
from shared.storage.events import Events
from shared.usecases.interviews import events
from shared.usecases.outlook_changes import notifications
from tests.integration.test_events_service import GRAPH, body, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration
EVENT = f"{GRAPH}/me/events/evt-1"


def graph_event(response: str = "none", change_key: str = "ck1", subject: str = "Interview") -> dict:
    return {
        "id": "evt-1",
        "changeKey": change_key,
        "subject": subject,
        "start": {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T02:00:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "Room 1"},
        "attendees": [
            {"type": "required", "emailAddress": {"address": "iv@t.test"}, "status": {"response": response}},
            {"type": "resource", "emailAddress": {"address": "room1@t.test"}, "status": {"response": "none"}},
        ],
        "isOnlineMeeting": True,
        "onlineMeeting": {"joinUrl": "https://teams.test/join"},
    }


def feed(company_id: str) -> list:
    return Changes().read(company_id, None, 100, utcnow() - timedelta(days=1))


def reads() -> int:
    return sum(1 for c in responses.calls if c.request.method == "GET" and c.request.url.startswith(EVENT))


@pytest.fixture
def made(world):  # noqa: F811 - the fixture of test_events_service
    responses.post(f"{GRAPH}/me/events", status=201, json=graph_event())
    events.create(world, body())
    return world


def test_racing_comparisons_of_one_event_store_one_change(made):
    responses.get(EVENT, json=graph_event("declined", "ck2"))
    received = notifications._now()
    outcomes: list = []

    def compare():
        try:
            outcomes.append(notifications.refresh(made.company_id, "sch-1", received, change_key="ck2"))
        except notifications.Busy:
            outcomes.append("busy")
        except Exception as exc:  # noqa: BLE001 - shown by the assertion
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=compare) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [change] = feed(made.company_id)
    assert change.type == "event.responses_changed" and change.fields == ("iv@t.test",)
    assert reads() == 1, outcomes  # one claim won the row; the others were covered or told to wait
    assert notifications.refresh(made.company_id, "sch-1", notifications._now(), change_key="ck2") == []
    assert reads() == 1  # the version is known: no read at all


def test_an_api_edit_in_progress_makes_the_comparison_wait(made):
    record = Events().get(made.company_id, "sch-1")
    record.locked_until = utcnow() + timedelta(seconds=30)
    Events().save(record)
    with pytest.raises(notifications.Busy):
        notifications.refresh(made.company_id, "sch-1", notifications._now(), change_key="ck9")
    assert reads() == 0 and feed(made.company_id) == []


def test_a_crash_before_the_feed_append_is_finished_from_the_outbox(made, monkeypatch):
    responses.get(EVENT, json=graph_event(subject="Moved", change_key="ck3"))
    real_record = changes.record

    def crash(found):
        raise ConnectionError("the feed write never happened")

    monkeypatch.setattr(changes, "record", crash)
    with pytest.raises(ConnectionError):
        notifications.refresh(made.company_id, "sch-1", notifications._now(), change_key="ck3")
    row = Events().get(made.company_id, "sch-1")
    assert row.outbox_json and '"subject"' in row.outbox_json and feed(made.company_id) == []
    monkeypatch.setattr(changes, "record", real_record)
    # The queue's retry: the snapshot already agrees with Outlook, the outbox is appended once.
    notifications.refresh(made.company_id, "sch-1", notifications._now(), change_key="ck3")
    notifications.refresh(made.company_id, "sch-1", None)
    [change] = feed(made.company_id)
    assert change.type == "event.updated" and change.fields == ("subject",)
    assert Events().get(made.company_id, "sch-1").outbox_json is None


def test_an_outbox_flushed_during_an_api_edit_leaves_the_edit_its_row(made, monkeypatch):
    # A comparison's Changes wait in the outbox (its feed write failed) when an API edit takes the
    # lease; the next comparison appends them while the edit runs. Its clearing of the outbox wrote
    # the row under the edit's lease, so the edit's release lost the ETag race: the edit's row
    # changes were dropped and the lease stayed 30 s (a DELETE then waited 20 s: 409 event_busy).
    responses.get(EVENT, json=graph_event(subject="Moved", change_key="ck3"))
    real_record = changes.record
    monkeypatch.setattr(changes, "record", lambda found: (_ for _ in ()).throw(ConnectionError("no feed write")))
    with pytest.raises(ConnectionError):
        notifications.refresh(made.company_id, "sch-1", notifications._now(), change_key="ck3")
    monkeypatch.setattr(changes, "record", real_record)
    editing = events.leased(made.company_id, "sch-1")
    with pytest.raises(notifications.Busy):
        notifications.refresh(made.company_id, "sch-1", notifications._now(), change_key="ck4")
    assert [c.type for c in feed(made.company_id)] == ["event.updated"]  # appended meanwhile
    editing.input_json = editing.input_json.replace("Moved", "Edited")
    events.release(editing)
    row = Events().get(made.company_id, "sch-1")
    assert row.locked_until is None and '"Edited"' in row.input_json
    notifications.refresh(made.company_id, "sch-1", None)  # the outbox is cleared after the edit
    assert Events().get(made.company_id, "sch-1").outbox_json is None
    assert [c.type for c in feed(made.company_id)] == ["event.updated"]  # still once


def test_our_own_patch_is_no_change_from_outlook(made):
    responses.patch(EVENT, json=graph_event(subject="Second interview", change_key="ck4"))
    events.update(made, "sch-1", {"subject": "Second interview"})
    responses.get(EVENT, json=graph_event(subject="Second interview", change_key="ck4"))
    notifications.refresh(made.company_id, "sch-1", notifications._now(), change_key="ck4")
    notifications.refresh(made.company_id, "sch-1", None)  # even when compared again
    assert feed(made.company_id) == []
