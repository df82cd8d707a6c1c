"""Operations end to end (CONTRACT 8): health, the audit log, correlation, a company's data deletion."""

from __future__ import annotations

import pytest
import requests

from devtools.emulator import seed
from tests.e2e.conftest import CONTOSO, SUBSCRIBED, logged_after, wait_for
from tests.e2e.test_changes_from_outlook import created, subscriptions
from tests.e2e.test_events import EMI, GORO, M1, event_body

pytestmark = pytest.mark.e2e
ADMIN = ("herp-admin", "admin")


def graph_writes(ms) -> list[dict]:
    return [c for c in ms.calls() if c["kind"] == "graph" and c["method"] in ("POST", "PATCH", "DELETE")]


def audit(api, **params) -> dict:
    r = api.call("GET", "/outlook/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_health_is_anonymous_and_says_only_ok(host):
    r = requests.get(f"{host.url}/api/health", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_outlook_health_shows_the_accounts_and_the_last_notification(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
    ms.post(f"events/{event['event_id']}/responses", {"email": GORO, "response": "declined"})  # a notification

    def account_health():
        body = api.call("GET", "/outlook/health").json()
        [tenant] = body["tenants"]
        [account] = [a for a in tenant["accounts"] if a["account"]["id"] == seed.EMI_ID]
        return body, tenant, account

    body, tenant, account = account_health()
    assert tenant["tenant_id"] == CONTOSO and tenant["status"] == "active"
    assert tenant["admin_account"]["id"] == seed.AIKO_ID and tenant["rooms"]["count"] > 0
    assert account["herp_account_ids"] == ["m1"] and account["status"] == "active"
    assert account["credential_checked_at"]  # the sign-in redeemed its code
    [subscription] = account["subscriptions"]
    assert subscription["expires_at"] and subscription["reauthorized_at"]
    wait_for(lambda: account_health()[2]["subscriptions"][0]["last_notification_at"], what="last_notification_at")
    assert set(body["webhook"]) == {"pending", "dead_lettered", "last_delivered_at"}
    assert body["time_zone_data"] and body["client_credential"] == {"kind": "secret", "expires_at": None}
    assert api.call("GET", "/outlook/health", as_=M1).status_code == 403


def test_every_write_in_outlook_is_audited_with_graphs_request_id(ready, ms):
    api, link_id, rooms = ready
    ms.clear_calls()
    assert api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).status_code == 201
    assert api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"subject": "二次面接"}).status_code == 200
    ms.post("throttle", {"count": 4, "status": 429, "retry_after": 0, "path_contains": "/events", "method": "PATCH"})
    failed = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"subject": "三次面接"})
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "graph_unavailable"
    assert api.call("DELETE", "/outlook/events/sch-1", as_=M1).status_code == 204

    entries = audit(api, schedule_id="sch-1")["entries"]
    assert [(e["operation"], e["outcome"]) for e in entries] == [
        ("event.create", "ok"),
        ("event.update", "ok"),
        ("event.update", "graph_unavailable"),
        ("event.cancel", "ok"),
    ]
    assert {(e["actor"], e["mailbox"], e["schedule_id"]) for e in entries} == {("m1", EMI, "sch-1")}
    writes = [c for c in graph_writes(ms) if "/events" in c["path"]]
    # Each entry names the answer Graph gave: the emulator's request-id of that very call.
    by_id = {c["request_id"]: c for c in writes}
    assert [(by_id[e["graph_request_id"]]["method"], by_id[e["graph_request_id"]]["status"]) for e in entries] == [
        ("POST", 201),
        ("PATCH", 200),
        ("PATCH", 429),
        ("POST", 202),
    ]
    assert len({c["client_request_id"] for c in writes}) == len(writes) - 3  # one per call, kept over its retries
    # Paging: oldest first, `next` until the end.
    first = audit(api, schedule_id="sch-1", limit="3")
    rest = audit(api, schedule_id="sch-1", after=first["next"])
    assert [e["id"] for e in first["entries"] + rest["entries"]] == [e["id"] for e in entries]
    assert rest["next"] is None
    assert api.call("GET", "/outlook/audit", params={"limit": "0"}).json()["error"]["code"] == "invalid_limit"
    assert api.call("GET", "/outlook/audit", as_=M1).status_code == 403


def test_an_error_names_its_request_id_and_the_host_log_carries_it(ready, ms, host):
    api, link_id, rooms = ready
    ms.post("room-answer-delay", {"seconds": 600})  # no room answer (notified, compared) reads it meanwhile
    with logged_after(
        host, *SUBSCRIBED
    ):  # the subscription's catch-up reads the event too: not out of the four throttled answers
        assert api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms)).status_code == 201
    ms.post("throttle", {"count": 4, "status": 503, "retry_after": 0, "path_contains": "/events", "method": "GET"})
    r = api.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 503
    rid = r.json()["error"]["request_id"]
    lines = wait_for(
        lambda: [line for line in host.log_text().splitlines() if f"request_id={rid}" in line], what="the log lines"
    )
    graph_lines = [line for line in lines if "graph GET" in line and "client-request-id=" in line]
    assert len(graph_lines) >= 4 and any("graph_unavailable" in line for line in lines)
    throttled = [c for c in ms.calls() if c["kind"] == "graph" and c["status"] == 503]
    assert any(f"request-id={c['request_id']}" in line for c in throttled for line in graph_lines)


def test_a_company_data_deletion_leaves_nothing_but_the_audit(ready, ms, host):
    api, event, _sub = created(ready, ms, host)
    assert subscriptions(ms)
    wrong = api.call("DELETE", "/outlook/company-data", json={"confirm": "another-company"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "confirmation_mismatch"
    assert api.call("DELETE", "/outlook/company-data", as_=M1, json={"confirm": api.company_id}).status_code == 403
    assert api.call("GET", "/outlook/tenant-links").json()["tenant_links"]  # nothing deleted

    r = api.call("DELETE", "/outlook/company-data", json={"confirm": api.company_id})
    assert r.status_code == 202

    wait_for(
        lambda: not api.call("GET", "/outlook/tenant-links").json()["tenant_links"] and not subscriptions(ms),
        what="the company's data gone",
    )
    assert api.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 404
    assert api.call("GET", "/outlook/calendars", as_=M1).json()["calendars"] == []
    assert api.call("GET", "/outlook/changes", as_=M1).json()["changes"] == []
    assert api.call("GET", "/outlook/health").json()["tenants"] == []
    entries = wait_for(
        lambda: [e for e in audit(api)["entries"] if e["operation"] == "company.delete"] and audit(api)["entries"],
        what="the deletion's audit entry",
    )
    operations = [e["operation"] for e in entries]
    assert "event.create" in operations and "subscription.create" in operations
    assert "subscription.delete" in operations and operations[-1] == "company.delete"
    assert entries[-1]["actor"] == "herp-admin" and entries[-1]["outcome"] == "ok"
    # Outlook keeps the event.
    outlook = ms.session.get(f"{ms.url}/_emulator/users/{seed.EMI_ID}/events", timeout=10).json()["events"]
    assert [
        e for e in outlook if e["_emulator"]["immutableId"] == event["event_id"] and not e["_emulator"].get("deleted")
    ]
