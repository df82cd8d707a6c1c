"""The Mailbox audits every Graph write it makes, failed ones too, and no read (responses)."""

import pytest
import responses

from shared import correlation
from shared.errors import GraphError
from shared.mailbox import credentials
from shared.models import Account, MicrosoftAccount

GRAPH = "https://graph.example.test/v1.0"


@pytest.fixture
def box(app_env, monkeypatch):
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "tok")
    account = MicrosoftAccount(company_id="co-1", tenant_id="t1", account=Account("oid-1", "emi@contoso.test", "Emi"))
    return credentials.Mailbox(account)


@responses.activate
def test_each_write_is_one_entry_with_graphs_request_id_and_the_actor(box, audit_entries):
    responses.post(f"{GRAPH}/me/events", status=201, json={"id": "e1"}, headers={"request-id": "rid-create"})
    responses.patch(f"{GRAPH}/me/events/e1", json={"id": "e1"}, headers={"request-id": "rid-patch"})
    responses.post(f"{GRAPH}/me/events/e1/cancel", status=202, headers={"request-id": "rid-cancel"})

    with correlation.invocation("req-1"):
        correlation.set_actor("herp-42")
        box.post("/me/events", json={}, audit=credentials.Audit("event.create", "s-1"))
        box.patch("/me/events/e1", json={}, audit=credentials.Audit("event.update", "s-1"))
    box.post("/me/events/e1/cancel", json={})  # no audit named, no caller: read off the path, `system`

    assert [(e.operation, e.schedule_id, e.actor, e.graph_request_id, e.outcome) for e in audit_entries] == [
        ("event.create", "s-1", "herp-42", "rid-create", "ok"),
        ("event.update", "s-1", "herp-42", "rid-patch", "ok"),
        ("event.cancel", None, "system", "rid-cancel", "ok"),
    ]
    assert {(e.company_id, e.mailbox) for e in audit_entries} == {("co-1", "emi@contoso.test")}
    sent = [c.request.headers["client-request-id"] for c in responses.calls]
    assert len(set(sent)) == 3  # a fresh client-request-id per call


@responses.activate
def test_a_failed_write_is_audited_with_graphs_code_and_reads_are_not(box, audit_entries):
    responses.delete(
        f"{GRAPH}/me/events/gone",
        status=404,
        json={"error": {"code": "ErrorItemNotFound", "message": "x"}},
        headers={"request-id": "rid-404"},
    )
    responses.get(f"{GRAPH}/me/events/e1", json={"id": "e1"})
    responses.post(f"{GRAPH}/me/calendar/getSchedule", json={"value": []})
    responses.patch(f"{GRAPH}/subscriptions/sub-1", json={"id": "sub-1"})

    with pytest.raises(GraphError):
        box.delete("/me/events/gone", audit=credentials.Audit("event.delete", "s-2"))
    box.get("/me/events/e1")
    box.post("/me/calendar/getSchedule", json={}, idempotent=True)
    box.patch("/subscriptions/sub-1", json={})  # a renewal changes nothing in Outlook

    [entry] = audit_entries
    assert (entry.operation, entry.schedule_id, entry.graph_request_id, entry.outcome) == (
        "event.delete",
        "s-2",
        "rid-404",
        "ErrorItemNotFound",
    )


@responses.activate
def test_hold_writes_name_their_hold(box, audit_entries):
    responses.post(f"{GRAPH}/me/events", status=201, json={"id": "h1"}, headers={"request-id": "rid-h"})

    box.post("/me/events", json={}, audit=credentials.Audit("hold.create", hold_id="hold-7"))

    [entry] = audit_entries
    assert (entry.operation, entry.hold_id, entry.schedule_id) == ("hold.create", "hold-7", None)
    assert "hold_id" in entry.to_json() and "schedule_id" not in entry.to_json()
