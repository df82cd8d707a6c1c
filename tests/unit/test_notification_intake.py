"""The notification endpoint's intake (shared.usecases.outlook_changes.notifications.accept): only what is ours
is queued, compared by the hash of clientState; nothing else has any effect."""

import json

import pytest

from shared.models import Subscription, utcnow
from shared.usecases.outlook_changes import notifications, subscriptions

SUB = Subscription(
    id="sub-1",
    company_id="co",
    tenant_id="t1",
    account_id="oid-1",
    calendar="",
    client_state_hash=subscriptions.hash_state("the-state"),
    expires_at=utcnow(),
)


@pytest.fixture
def queued(monkeypatch):
    sent: list[dict] = []
    notifications._known.clear()
    monkeypatch.setattr(notifications.Subscriptions, "get", lambda self, sid: SUB if sid == "sub-1" else None)
    monkeypatch.setattr(notifications.queues, "enqueue", lambda q, payload, delay_seconds=0: sent.append(payload))
    return sent


def note(event_id="e1", state="the-state", change="updated", etag='W/"ck1"', sub="sub-1") -> dict:
    return {
        "subscriptionId": sub,
        "clientState": state,
        "changeType": change,
        "resource": f"Users/oid-1/Events/{event_id}",
        "resourceData": {"id": event_id, "@odata.etag": etag},
    }


def body(*items) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def test_ours_is_queued_once_per_event_with_the_version_it_names(queued):
    kept = notifications.accept(
        body(note(), note(etag='W/"ck2"'), note("e2"), note("e3", change="deleted")), lifecycle=False
    )
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
        body(note(state=None)),
        body({"subscriptionId": "sub-1", "clientState": "the-state"}),  # no resourceData
        b"{not json",
        b"",
        json.dumps({"value": "x"}).encode(),
        json.dumps([note()]).encode(),
    ],
)
def test_anything_else_is_ignored(queued, raw):
    assert notifications.accept(raw, lifecycle=False) == 0
    assert queued == []


def test_lifecycle_events_are_queued_when_ours(queued):
    items = [{**note(), "lifecycleEvent": e} for e in ("missed", "reauthorizationRequired", "bogus")]
    assert notifications.accept(body(*items, {**note(state="x"), "lifecycleEvent": "missed"}), lifecycle=True) == 2
    assert [m["lifecycle"] for m in queued] == ["missed", "reauthorizationRequired"]


def test_the_change_key_comes_out_of_the_weak_etag():
    assert notifications.change_key_of('W/"DwAAABYAAAB"') == "DwAAABYAAAB"
    assert notifications.change_key_of(None) is None and notifications.change_key_of("x" * 300) is None


def test_a_storage_failure_while_queueing_fails_the_post_so_graph_retries_it(app_env, monkeypatch):
    """CONTRACT 5: every notification of a POST is queued or the POST answers 5xx (none is
    acknowledged and dropped): the second of two queue writes fails -> 503, not 202."""
    import azure.functions as func
    from azure.core.exceptions import ServiceRequestError

    from functions import notifications as endpoint

    notifications._known.clear()
    monkeypatch.setattr(notifications.Subscriptions, "get", lambda self, sid: SUB if sid == "sub-1" else None)
    sent: list[dict] = []

    def enqueue(queue, payload, delay_seconds=0):
        if sent:
            raise ServiceRequestError("queue unreachable")
        sent.append(payload)

    monkeypatch.setattr(notifications.queues, "enqueue", enqueue)
    events = [note(f"e{i}") for i in range(notifications.EVENTS_PER_MESSAGE + 1)]  # two messages
    req = func.HttpRequest("POST", "http://x/api/outlook/notifications", body=body(*events), headers={})
    answer = endpoint.outlook_notifications.build().get_user_function()(req)
    assert answer.status_code == 503 and len(sent) == 1
    lifecycle = [{**note(), "lifecycleEvent": "missed"}, {**note(), "lifecycleEvent": "reauthorizationRequired"}]
    sent.clear()
    req = func.HttpRequest("POST", "http://x/api/outlook/notifications/lifecycle", body=body(*lifecycle), headers={})
    assert endpoint.outlook_lifecycle_notifications.build().get_user_function()(req).status_code == 503
