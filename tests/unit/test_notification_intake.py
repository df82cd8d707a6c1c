"""The notification endpoint's intake (shared.usecases.outlook_changes.intake.accept): only what is ours
is queued, compared by the hash of clientState; nothing else has any effect, and forgeries cost
no storage read (the clientState carries its MAC)."""

import json
import secrets
from dataclasses import replace

import pytest

from shared.client_state import new_client_state
from shared.models import Subscription, utcnow
from shared.usecases.outlook_changes import intake, subscriptions

STATE = "set by the fixture: a state of the MAC scheme"
LEGACY_STATE = secrets.token_urlsafe(32)  # a subscription made before the MAC scheme
SUB = Subscription(
    id="sub-1",
    company_id="co",
    tenant_id="t1",
    account_id="oid-1",
    calendar="",
    client_state_hash="",
    expires_at=utcnow(),
)
OLD_SUB = replace(SUB, id="sub-old", client_state_hash=subscriptions.hash_state(LEGACY_STATE))


@pytest.fixture
def reads(app_env, monkeypatch) -> list[str]:
    """The subscription ids the intake read from storage."""
    global STATE
    STATE = new_client_state()
    rows = {"sub-1": replace(SUB, client_state_hash=subscriptions.hash_state(STATE)), "sub-old": OLD_SUB}
    done: list[str] = []

    def get(self, sid):
        done.append(sid)
        return rows.get(sid)

    intake._known.clear()
    intake._lifecycle_queued.clear()
    monkeypatch.setattr(intake.Subscriptions, "get", get)
    return done


@pytest.fixture
def queued(reads, monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr(intake.queues, "enqueue", lambda q, payload, delay_seconds=0: sent.append(payload))
    return sent


def note(event_id="e1", state=None, change="updated", etag='W/"ck1"', sub="sub-1") -> dict:
    return {
        "subscriptionId": sub,
        "clientState": STATE if state is None else state,
        "changeType": change,
        "resource": f"Users/oid-1/Events/{event_id}",
        "resourceData": {"id": event_id, "@odata.etag": etag},
    }


def body(*items) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def test_ours_is_queued_once_per_event_with_the_version_it_names(queued):
    kept = intake.accept(body(note(), note(etag='W/"ck2"'), note("e2"), note("e3", change="deleted")), lifecycle=False)
    assert kept == 4
    [message] = queued
    assert message["company_id"] == "co" and message["oid"] == "oid-1"
    assert message["events"] == [
        ("e1", "ck2"),
        ("e2", "ck1"),
        ("e3", None),
    ]  # the last word wins; a deletion names no version


@pytest.mark.parametrize(
    "raw",
    [
        body(note(state="guess")),
        body(note(sub="unknown")),
        body(note(state=1)),
        body(note(state=LEGACY_STATE)),  # an old-scheme state, not this subscription's
        body({"subscriptionId": "sub-1", "clientState": "the-state"}),  # no resourceData
        b"{not json",
        b"",
        json.dumps({"value": "x"}).encode(),
        json.dumps([note()]).encode(),
    ],
    # Named, not by value: LEGACY_STATE is made at import, so each pytest-xdist worker would name it apart.
    ids=[
        "guessed-state",
        "unknown-subscription",
        "state-not-a-string",
        "legacy-state",
        "no-resource-data",
        "not-json",
        "empty",
        "value-not-a-list",
        "a-list",
    ],
)
def test_anything_else_is_ignored(queued, raw):
    raw = raw.replace(b"the-state", STATE.encode())  # the right state, but no resourceData
    assert intake.accept(raw, lifecycle=False) == 0
    assert queued == []


def test_lifecycle_events_are_queued_when_ours(queued):
    items = [{**note(), "lifecycleEvent": e} for e in ("missed", "reauthorizationRequired", "bogus")]
    assert intake.accept(body(*items, {**note(state="x"), "lifecycleEvent": "missed"}), lifecycle=True) == 2
    assert [m["lifecycle"] for m in queued] == ["missed", "reauthorizationRequired"]


def test_a_lifecycle_event_repeated_is_queued_once(queued):
    repeated = {**note(), "lifecycleEvent": "subscriptionRemoved"}
    assert intake.accept(body(repeated, repeated, repeated), lifecycle=True) == 3
    assert intake.accept(body(repeated), lifecycle=True) == 1  # Graph's repeat, seconds later
    assert [m["lifecycle"] for m in queued] == ["subscriptionRemoved"]
    intake.accept(body({**note(), "lifecycleEvent": "missed"}), lifecycle=True)  # another event: queued
    assert [m["lifecycle"] for m in queued] == ["subscriptionRemoved", "missed"]


def forged_post(n: int, state) -> bytes:
    return body(*(note(f"e{i}", state=state(i), sub=f"{i:08d}-0000-0000-0000-000000000000") for i in range(n)))


@pytest.mark.parametrize(
    "state",
    [
        lambda i: "guess",
        lambda i: f"cs1.{'A' * 24}.{'B' * 43}",  # the MAC scheme's shape, no valid MAC
        lambda i: STATE,  # a real state (leaked) replayed for unknown subscriptions
        lambda i: secrets.token_urlsafe(32),  # the old scheme's shape
    ],
)
def test_a_thousand_forged_notifications_queue_nothing_and_read_little(queued, reads, state):
    assert intake.accept(forged_post(1000, state), lifecycle=False) == 0
    assert queued == []
    assert len(reads) <= intake.MAX_FAILED_LOOKUPS


def test_a_forged_state_reads_nothing_even_for_a_real_subscription(queued, reads):
    forged = [note(state=s) for s in ("guess", f"cs1.{'A' * 24}.{'B' * 43}", new_client_state() + "x")]
    assert intake.accept(body(*forged), lifecycle=False) == 0
    assert reads == [] and queued == []


def test_a_state_is_bound_to_its_subscription(queued, reads):
    """A valid state of ours, named with another subscription of ours, is not that one's."""
    assert intake.accept(body(note(sub="sub-old")), lifecycle=False) == 0
    assert queued == [] and reads == ["sub-old"]


def test_an_old_scheme_subscription_keeps_working_until_recreated(queued, reads):
    assert intake.accept(body(note(state=LEGACY_STATE, sub="sub-old")), lifecycle=False) == 1
    assert queued[0]["subscription_id"] == "sub-old"


def test_a_flood_of_old_shaped_forgeries_does_not_shut_out_states_that_verify(queued, reads):
    forged = [note(f"f{i}", state=secrets.token_urlsafe(32), sub=f"x{i}") for i in range(10)]
    assert intake.accept(body(*forged, note("e1")), lifecycle=False) == 1
    assert [m["subscription_id"] for m in queued] == ["sub-1"]
    assert len(reads) == intake.MAX_FAILED_LOOKUPS + 1


def test_genuine_notifications_pass_next_to_a_few_unknown_ones(queued, reads):
    forged = [note(f"f{i}", state=secrets.token_urlsafe(32), sub=f"x{i}") for i in range(2)]
    assert intake.accept(body(*forged, note("e1"), note("e2", state=LEGACY_STATE, sub="sub-old")), lifecycle=False) == 2
    assert {m["subscription_id"] for m in queued} == {"sub-1", "sub-old"}


def test_the_change_key_comes_out_of_the_weak_etag():
    assert intake.change_key_of('W/"DwAAABYAAAB"') == "DwAAABYAAAB"
    assert intake.change_key_of(None) is None and intake.change_key_of("x" * 300) is None


def test_a_storage_failure_while_queueing_fails_the_post_so_graph_retries_it(reads, monkeypatch):
    """CONTRACT 5: every notification of a POST is queued or the POST answers 5xx (none is
    acknowledged and dropped): the second of two queue writes fails -> 503, not 202."""
    import azure.functions as func
    from azure.core.exceptions import ServiceRequestError

    from functions import notifications as endpoint

    sent: list[dict] = []

    def enqueue(queue, payload, delay_seconds=0):
        if sent:
            raise ServiceRequestError("queue unreachable")
        sent.append(payload)

    monkeypatch.setattr(intake.queues, "enqueue", enqueue)
    events = [note(f"e{i}") for i in range(intake.EVENTS_PER_MESSAGE + 1)]  # two messages
    req = func.HttpRequest("POST", "http://x/api/outlook/notifications", body=body(*events), headers={})
    answer = endpoint.outlook_notifications.build().get_user_function()(req)
    assert answer.status_code == 503 and len(sent) == 1
    lifecycle = [{**note(), "lifecycleEvent": "missed"}, {**note(), "lifecycleEvent": "reauthorizationRequired"}]
    sent.clear()
    req = func.HttpRequest("POST", "http://x/api/outlook/notifications/lifecycle", body=body(*lifecycle), headers={})
    assert endpoint.outlook_lifecycle_notifications.build().get_user_function()(req).status_code == 503
