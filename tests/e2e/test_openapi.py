"""docs/openapi.yaml against the running host: a replayed scenario whose every response is
validated (devtools.openapi_check), then schemathesis generating requests from the spec."""

from __future__ import annotations

import collections
import json
import time

import pytest
import requests

from devtools.browser import Browser
from devtools.emulator import seed
from devtools.openapi_check import SPEC_PATH, operations, validate, validate_response
from tests.conftest import HERP_APP_URL, herp_token
from tests.e2e.conftest import CONTOSO, FABRIKAM, Api, link_tenant, link_user, wait_for

pytestmark = pytest.mark.e2e

AIKO, EMI, FUMI = seed.UPN[seed.AIKO_ID], seed.UPN[seed.EMI_ID], seed.UPN[seed.FUMI_ID]
ROOM = "tokyo-hq-room001@contoso.onmicrosoft.com"


def emulator_serves(endpoint: str) -> bool:
    """Whether the Microsoft emulator of this tree has a Graph route (events came later than the rest)."""
    from devtools.emulator import app

    return any(rule.endpoint == endpoint for rule in app.URL_MAP.iter_rules())


HAS_EVENTS = emulator_serves("graph_events_create")
HAS_SCHEDULE = emulator_serves("graph_get_schedule")
NO_EVENTS = "the Microsoft emulator has no Graph event routes (devtools/emulator) yet"


class Checked:
    """The frontend's calls, each response validated against the spec (and its status asserted)."""

    def __init__(self, api: Api):
        self.api = api
        self.seen: collections.Counter = collections.Counter()

    def __call__(
        self, method: str, path: str, status: int, *, code: str | None = None, as_=("herp-admin", "admin"), **kwargs
    ) -> requests.Response:
        return self.check(self.api.call(method, path, as_=as_, **kwargs), status, code)

    def raw(self, method: str, path: str, status: int, *, code: str | None = None, **kwargs) -> requests.Response:
        """Without the bearer token of `call` (headers as given)."""
        r = self.api.session.request(method, self.api.base + path, allow_redirects=False, timeout=60, **kwargs)
        return self.check(r, status, code)

    def check(self, r: requests.Response, status: int, code: str | None) -> requests.Response:
        validate_response(r)
        assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
        if code is not None:
            assert r.json()["error"]["code"] == code, r.text
        self.seen[(r.request.method, r.status_code)] += 1
        return r


def rooms_synced(api: Api, as_=("herp-admin", "admin")) -> dict:
    return wait_for(
        lambda: (l := api.call("GET", f"/outlook/tenant-links/{CONTOSO}", as_=as_).json())["rooms"]["synced_at"] and l,
        what="a completed room sync",
    )


def my_link(api: Api, account: str, upn: str) -> str:
    tenants = api.call("GET", "/outlook/user-links", as_=(account, "member")).json()["tenants"]
    return next(l["link_id"] for t in tenants for l in t["links"] if l["account"]["email"] == upn)


def event_body(schedule_id: str, link_id: str, **changes) -> dict:
    return {
        "schedule_id": schedule_id,
        "link_id": link_id,
        "subject": "一次面接: 山田 太郎 様",
        "body": {"content_type": "text", "content": "HERP Hire から登録された面接です。"},
        "start": "2026-12-01T10:00:00",
        "end": "2026-12-01T11:00:00",
        "time_zone": "Asia/Tokyo",
        "attendees": [
            {"email": EMI, "name": "Emi Suzuki", "type": "required"},
            {"email": "candidate@example.com", "type": "optional"},
        ],
        "rooms": [ROOM],
        "online_meeting": True,
        "location": "本社 1F 受付",
        **changes,
    }


# ---- a. conformance: real requests, every response validated


def test_links_rooms_calendars_and_errors_conform(company, browser, ms):
    call = Checked(company)
    # Before any link: empty lists and the 404s of each kind.
    assert call("GET", "/outlook/tenant-links", 200).json() == {"tenant_links": []}
    call("GET", f"/outlook/tenant-links/{CONTOSO}", 404, code="not_found")
    call("POST", f"/outlook/tenant-links/{CONTOSO}/renew", 404, code="not_found")
    call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync", 404, code="not_found")
    call("DELETE", f"/outlook/tenant-links/{CONTOSO}", 404, code="not_found")
    call("GET", f"/outlook/tenants/{CONTOSO}/rooms", 404, code="tenant_not_linked")
    call("POST", "/outlook/user-links/authorize", 404, code="tenant_not_linked", json={"tenant_id": CONTOSO})
    assert call("GET", "/outlook/user-links", 200).json() == {"tenants": []}
    assert call("GET", "/outlook/calendars", 200).json() == {"calendars": [], "errors": []}
    # 400 / 401 / 403 / 413 / 422 and the anonymous callback.
    call(
        "POST",
        "/outlook/user-links/authorize",
        400,
        code="invalid_request",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    call("POST", "/outlook/user-links/authorize", 400, code="invalid_request", json=["tenant_id"])
    call("POST", "/outlook/availability", 400, code="invalid_request")
    call("POST", "/outlook/user-links/authorize", 422, code="invalid_tenant_id", json={"tenant_id": " "})
    call.raw("GET", "/outlook/tenant-links", 401, code="unauthenticated")
    call.raw("GET", "/outlook/calendars", 401, code="unauthenticated", headers={"Authorization": "Bearer nope"})
    expired = herp_token(company.company_id, "herp-admin", "admin", lifetime=-3600)
    call.raw(
        "DELETE",
        "/outlook/user-links/ul_x",
        401,
        code="unauthenticated",
        headers={"Authorization": f"Bearer {expired}"},
    )
    call.raw(
        "GET",
        "/outlook/tenant-links",
        401,
        code="unauthenticated",
        headers={"Authorization": f"Bearer {herp_token(company.company_id, 'a', 'owner')}"},
    )
    call("POST", "/outlook/tenant-links/authorize", 403, code="forbidden", as_=("m1", "member"))
    call.raw("POST", "/outlook/events", 413, code="payload_too_large", data=b"x" * (1024 * 1024 + 1))
    call("PATCH", "/outlook/events/sch-1", 413, code="payload_too_large", data=b" " * (1024 * 1024 + 1))
    r = call.raw("GET", "/outlook/callback?state=unknown&code=abc", 302)
    assert r.headers["Location"] == f"{HERP_APP_URL}/settings/integrations/outlook?result=error&reason=state_invalid"

    # Link the tenant (Aiko) and two members' accounts; the reads now return data.
    assert call("POST", "/outlook/tenant-links/authorize", 200).json()["authorize_url"].startswith("https://")
    assert link_tenant(company, browser, AIKO).result == "linked"
    assert link_user(company, Browser(browser.session.verify, HERP_APP_URL), EMI, "m1").result == "linked"
    assert link_user(company, Browser(browser.session.verify, HERP_APP_URL), FUMI, "m2").result == "linked"
    rooms_synced(company)
    [link] = call("GET", "/outlook/tenant-links", 200).json()["tenant_links"]
    assert link["tenant_id"] == CONTOSO and link["rooms"]["count"] == 250
    call("GET", f"/outlook/tenant-links/{CONTOSO}", 200, as_=("m1", "member"))
    call("POST", f"/outlook/tenant-links/{CONTOSO}/renew", 200)
    call("POST", f"/outlook/tenant-links/{CONTOSO}/renew", 403, code="forbidden", as_=("m1", "member"))
    assert call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync", 202).json() == {
        "status": "queued",
        "tenant_id": CONTOSO,
    }
    rooms = call("GET", f"/outlook/tenants/{CONTOSO}/rooms", 200, as_=("m1", "member")).json()
    assert len(rooms["rooms"]) == 250 and rooms["stale"] is False
    call("GET", f"/outlook/tenants/{FABRIKAM}/rooms", 404, code="tenant_not_linked")
    call("POST", "/outlook/user-links/authorize", 200, as_=("m1", "member"), json={"tenant_id": CONTOSO})
    admin_links = call("GET", "/outlook/user-links", 200).json()["tenants"][0]["links"]
    assert [l["via"] for l in admin_links] == ["tenant_admin"]
    emi_link = call("GET", "/outlook/user-links", 200, as_=("m1", "member")).json()["tenants"][0]["links"][0]
    calendars = call("GET", "/outlook/calendars", 200, as_=("m1", "member")).json()
    writable = {c["name"] for c in calendars["calendars"] if c["can_edit"]}
    assert writable == {"Calendar", "Interviews"} and calendars["errors"] == []  # + Ben's, shared, read-only

    # Availability (getSchedule) with Emi's link; someone else's link is 404.
    query = {
        "link_id": emi_link["link_id"],
        "emails": [EMI, ROOM, "nobody@contoso.onmicrosoft.com"],
        "start": "2026-12-01T09:00:00",
        "end": "2026-12-01T18:00",
        "time_zone": "Asia/Tokyo",
    }
    call("POST", "/outlook/availability", 404, code="link_not_found", as_=("m2", "member"), json=query)
    call(
        "POST",
        "/outlook/availability",
        422,
        code="invalid_time_range",
        as_=("m1", "member"),
        json={**query, "end": query["start"]},
    )
    call(
        "POST",
        "/outlook/availability",
        422,
        code="invalid_datetime",
        as_=("m1", "member"),
        json={**query, "start": "2026-12-01T09:00:00+09:00"},
    )
    call(
        "POST", "/outlook/availability", 422, code="invalid_emails", as_=("m1", "member"), json={**query, "emails": []}
    )
    if HAS_SCHEDULE:
        schedules = call("POST", "/outlook/availability", 200, as_=("m1", "member"), json=query).json()["schedules"]
        assert [s["email"] for s in schedules] == query["emails"]
        assert schedules[2]["error"]["code"] == "schedule_unavailable"
    else:  # Graph 404 from an emulator without getSchedule: still a documented answer
        validate_response(company.call("POST", "/outlook/availability", as_=("m1", "member"), json=query))

    # Unlinking: owner only, 404 after; the tenant link: admin only, 404 after.
    call("DELETE", f"/outlook/user-links/{emi_link['link_id']}", 404, code="link_not_found", as_=("m2", "member"))
    call("DELETE", f"/outlook/user-links/{emi_link['link_id']}", 204, as_=("m1", "member"))
    call("DELETE", f"/outlook/user-links/{emi_link['link_id']}", 404, code="link_not_found", as_=("m1", "member"))
    call("DELETE", f"/outlook/tenant-links/{CONTOSO}", 403, code="forbidden", as_=("m1", "member"))
    call("DELETE", f"/outlook/tenant-links/{CONTOSO}", 204)
    call("DELETE", f"/outlook/tenant-links/{CONTOSO}", 404, code="not_found")
    assert call("GET", "/outlook/user-links", 200, as_=("m2", "member")).json() == {"tenants": []}
    assert {s for _, s in call.seen} >= {200, 202, 204, 302, 400, 401, 403, 404, 413, 422}


def test_reauth_required_conforms(company, browser, ms):
    """A dead credential: 409 `reauth_required` from the routes that need Graph, an `errors` entry in calendars."""
    call = Checked(company)
    link_tenant(company, browser, AIKO)
    link_user(company, Browser(browser.session.verify, HERP_APP_URL), EMI, "m1")
    link_id = my_link(company, "m1", EMI)
    ms.post(f"users/{seed.EMI_ID}/delete")
    ms.post("tokens/expire-access")
    query = {
        "link_id": link_id,
        "emails": [EMI],
        "start": "2026-12-01T09:00",
        "end": "2026-12-01T10:00",
        "time_zone": "Asia/Tokyo",
    }
    call("POST", "/outlook/availability", 409, code="reauth_required", as_=("m1", "member"), json=query)
    calendars = call("GET", "/outlook/calendars", 200, as_=("m1", "member")).json()
    assert calendars["calendars"] == [] and [e["code"] for e in calendars["errors"]] == ["reauth_required"]
    [link] = call("GET", "/outlook/user-links", 200, as_=("m1", "member")).json()["tenants"][0]["links"]
    assert link["status"] == "reauth_required"
    call(
        "POST",
        "/outlook/events",
        409,
        code="reauth_required",
        as_=("m1", "member"),
        json=event_body("sch-reauth", link_id, rooms=[]),
    )


@pytest.mark.skipif(not HAS_EVENTS, reason=NO_EVENTS)
def test_events_conform(company, browser, ms):
    call = Checked(company)
    link_tenant(company, browser, AIKO)
    link_user(company, Browser(browser.session.verify, HERP_APP_URL), EMI, "m1")
    rooms_synced(company)
    link_id = my_link(company, "m1", EMI)
    m1, m2 = ("m1", "member"), ("m2", "member")
    body = event_body("sch-1", link_id)

    # Refused before any Graph call.
    call("POST", "/outlook/events", 422, code="invalid_time_range", as_=m1, json={**body, "end": body["start"]})
    call(
        "POST",
        "/outlook/events",
        422,
        code="unknown_room",
        as_=m1,
        json={**body, "rooms": ["nope@contoso.onmicrosoft.com"]},
    )
    call("POST", "/outlook/events", 422, code="invalid_email", as_=m1, json={**body, "attendees": [{"email": "x"}]})
    call("POST", "/outlook/events", 422, code="invalid_time_zone", as_=m1, json={**body, "time_zone": "Mars/Olympus"})
    call("POST", "/outlook/events", 422, code="invalid_schedule_id", as_=m1, json={**body, "schedule_id": ""})
    call("POST", "/outlook/events", 404, code="link_not_found", as_=m2, json=body)
    call("POST", "/outlook/events", 400, code="invalid_request", as_=m1, data=b"[]")
    call("GET", "/outlook/events/sch-1", 404, code="not_found", as_=m1)

    # Create, repeat (200), conflict (409), read, edit.
    created = call("POST", "/outlook/events", 201, as_=m1, json=body).json()
    assert created["join_url"] and [r["email"] for r in created["rooms"]] == [ROOM]
    assert call("POST", "/outlook/events", 200, as_=m1, json=body).json()["event_id"] == created["event_id"]
    call("POST", "/outlook/events", 409, code="schedule_exists", as_=m1, json={**body, "subject": "別の面接"})
    got = call("GET", "/outlook/events/sch-1", 200, as_=m2).json()  # any member of the company
    assert (got["start"], got["end"], got["time_zone"]) == (body["start"], body["end"], "Asia/Tokyo")
    assert got["created_by"] == "m1"
    # Edits: the creator, a recruiter or an admin; another member is refused.
    call("PATCH", "/outlook/events/sch-1", 403, code="forbidden", as_=m2, json={"subject": "x"})
    call("DELETE", "/outlook/events/sch-1", 403, code="forbidden", as_=m2)
    patched = call(
        "PATCH",
        "/outlook/events/sch-1",
        200,
        as_=("r1", "recruiter"),
        json={
            "subject": "二次面接",
            "start": "2026-12-01T11:00",
            "end": "2026-12-01T12:00",
            "rooms": [],
            "location": None,
            "body": None,
        },
    ).json()
    assert (patched["subject"], patched["start"], patched["rooms"], patched["body"]) == (
        "二次面接",
        "2026-12-01T11:00:00",
        [],
        None,
    )
    call("PATCH", "/outlook/events/sch-1", 422, code="field_not_patchable", as_=m1, json={"link_id": link_id})
    call("PATCH", "/outlook/events/sch-1", 422, code="empty_patch", as_=m1, json={})
    call("PATCH", "/outlook/events/sch-1", 422, code="invalid_time_range", as_=m1, json={"end": "2026-12-01T10:00"})
    call("PATCH", "/outlook/events/nope", 404, code="not_found", as_=m1, json={"subject": "x"})
    call("PATCH", "/outlook/events/sch-1", 400, code="invalid_request", as_=m1, data=b'"subject"')

    # Cancel: 204, repeatable; then 410 for reads and edits, 409 for a create with the same id.
    call("DELETE", "/outlook/events/sch-1?notify=maybe", 422, code="invalid_notify", as_=m1)
    call("DELETE", "/outlook/events/nope", 404, code="not_found", as_=m1)
    call("DELETE", "/outlook/events/sch-1?notify=true&comment=%E4%B8%AD%E6%AD%A2", 204, as_=("herp-admin", "admin"))
    call("DELETE", "/outlook/events/sch-1", 204, as_=m1)
    call("GET", "/outlook/events/sch-1", 410, code="event_cancelled", as_=m1)
    call("PATCH", "/outlook/events/sch-1", 410, code="event_cancelled", as_=m1, json={"subject": "x"})
    call("POST", "/outlook/events", 409, code="schedule_exists", as_=m1, json=body)

    # Deleted in Outlook: 410 event_deleted_in_outlook (also for a repeated create).
    second = call(
        "POST", "/outlook/events", 201, as_=m1, json=event_body("sch-2", link_id, online_meeting=False)
    ).json()
    assert second["join_url"] is None
    if emulator_serves("c:user_event_delete"):
        ms.post(f"users/{seed.EMI_ID}/events/{second['event_id']}/delete")
        call("GET", "/outlook/events/sch-2", 410, code="event_deleted_in_outlook", as_=m1)
        call(
            "POST",
            "/outlook/events",
            410,
            code="event_deleted_in_outlook",
            as_=m1,
            json=event_body("sch-2", link_id, online_meeting=False),
        )
        call("DELETE", "/outlook/events/sch-2?notify=false", 204, as_=m1)

    # The event's link removed: 409 outlook_link_removed.
    call("POST", "/outlook/events", 201, as_=m1, json=event_body("sch-3", link_id, rooms=[]))
    call("DELETE", f"/outlook/user-links/{link_id}", 204, as_=m1)
    call("GET", "/outlook/events/sch-3", 409, code="outlook_link_removed", as_=m1)
    call("PATCH", "/outlook/events/sch-3", 409, code="outlook_link_removed", as_=m1, json={"subject": "x"})
    call("DELETE", "/outlook/events/sch-3", 409, code="outlook_link_removed", as_=m1)


# ---- b. schemathesis: requests generated from the spec


CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",
]
# Not run: `unsupported_method` (the Functions host answers 404 without a body to a method a route
# does not allow, devtools/host/routes.py, where the check wants 405), `positive_data_acceptance`
# (a schema-valid request still meets 404s for ids that do not exist), `negative_data_rejection`
# and the stateful checks (the spec has no links).
MAX_EXAMPLES = 25
SEED = 20261125

# Service bugs schemathesis finds are kept out of the run's verdict only by their exact
# signature here, each with a strict xfail test reproducing it. None is open now: the three it
# found (years before 1000, availability over 42 days, a body too big for the events row) are
# fixed and kept as regression tests at the end of this file.
KNOWN_FINDINGS: dict = {}


@pytest.fixture
def fuzz_company(company, browser, ms):
    """An admin with a linked tenant (Aiko, via tenant_admin), one more account (Emi), rooms synced,
    and, when the emulator has events, one event: the ids that let generated requests reach data."""
    admin = ("st-admin", "admin")
    link_tenant(company, browser, AIKO, as_=admin)
    link_user(company, Browser(browser.session.verify, HERP_APP_URL), EMI, admin[0])
    rooms_synced(company, as_=admin)
    links = [
        l["link_id"]
        for t in company.call("GET", "/outlook/user-links", as_=admin).json()["tenants"]
        for l in t["links"]
    ]
    known = {
        "tenant_id": CONTOSO,
        "link_ids": links,
        "schedule_ids": [],
        "templates": {
            "POST /outlook/availability": {
                "link_id": links[-1],
                "emails": [EMI, ROOM],
                "start": "2026-12-01T09:00:00",
                "end": "2026-12-01T18:00:00",
                "time_zone": "Asia/Tokyo",
                "interval_minutes": 30,
            },
            "POST /outlook/events": event_body("st-known", links[-1]),
        },
    }
    if HAS_EVENTS:
        r = company.call("POST", "/outlook/events", as_=admin, json=known["templates"]["POST /outlook/events"])
        assert r.status_code == 201, r.text
        known["schedule_ids"].append("st-known")
    return company, herp_token(company.company_id, admin[0], admin[1], lifetime=3600), known


def _schema(base_url: str, token: str, known: dict):
    """The spec as schemathesis sees it, with hooks that put real ids and valid bodies among the
    generated ones, so that generated requests also reach stored data and Graph."""
    import schemathesis
    from hypothesis import strategies as st

    schema = schemathesis.openapi.from_path(SPEC_PATH)
    schema.config.update(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, workers=1, max_redirects=0, request_timeout=60
    )
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    schema.config.checks.update(included_check_names=CHECKS)
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    schema.config.seed = SEED
    real = {"tenant_id": [known["tenant_id"]], "link_id": known["link_ids"], "schedule_id": known["schedule_ids"]}

    @schema.hook
    def flatmap_path_parameters(context, parameters):
        options = [dict(parameters, **{k: v}) for k in parameters or {} for v in real.get(k, [])]
        return st.sampled_from([parameters, *options]) if options else st.just(parameters)

    @schema.hook
    def flatmap_body(context, body):
        if not isinstance(body, dict):
            return st.just(body)
        options = [body] + [dict(body, link_id=v) for v in real["link_id"] if "link_id" in body]
        if "tenant_id" in body:
            options.append(dict(body, tenant_id=known["tenant_id"]))
        template = known["templates"].get(context.operation.label)
        if template:  # a valid body, and valid bodies with one generated field each
            options += [template] + [dict(template, **{k: v}) for k, v in body.items()]
        return st.sampled_from(options)

    return schema.exclude(path="/outlook/callback")  # a browser leg: needs a live state from Microsoft


class Findings:
    """What one or more engine runs saw: cases per operation, statuses, check failures, and our
    own checker's verdict on every response."""

    def __init__(self):
        self.cases: collections.Counter = collections.Counter()
        self.statuses: dict = collections.defaultdict(collections.Counter)
        self.failures: list[dict] = []
        self.errors: list[str] = []
        self.own_violations: list[str] = []
        self.stop_reasons: list[str] = []
        self.known: collections.Counter = collections.Counter()
        self.documented = set(operations())

    def run(self, schema) -> None:
        from schemathesis.engine import events, from_schema

        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                self.scenario(event.recorder)
            elif isinstance(event, (events.NonFatalError, events.FatalError)):
                self.errors.append(str(getattr(event, "info", None) or getattr(event, "exception", event))[:1000])
            elif isinstance(event, events.EngineFinished):
                self.stop_reasons.append(str(event.stop_reason))

    def scenario(self, recorder) -> None:
        from schemathesis.engine import Status

        self.cases[recorder.label] += len(recorder.cases)
        for case_id, nodes in recorder.checks.items():
            for node in (n for n in nodes if n.status == Status.FAILURE):
                failure = node.failure_info.failure
                known = self.known_finding(recorder.label, recorder.interactions.get(case_id))
                if known:
                    self.known[known[:60]] += 1
                    continue
                self.failures.append(
                    {
                        "operation": recorder.label,
                        "check": node.name,
                        "title": failure.title,
                        "message": failure.message[:500],
                        "reproduce": node.failure_info.code_sample,
                    }
                )
        for interaction in recorder.interactions.values():
            response = interaction.response
            if response is None:
                continue
            method, path = interaction.request.method, requests.utils.urlparse(interaction.request.uri).path
            self.statuses[recorder.label][response.status_code] += 1
            if not any(m == method and _matches(t, path) for m, t in self.documented):
                continue  # a method the route does not allow (the host answers 404): not in the spec
            try:
                validate(method, path, response.status_code, _body(response))
            except (AssertionError, ValueError) as exc:
                self.own_violations.append(f"{method} {path}: {exc}"[:600])

    @staticmethod
    def known_finding(label: str, interaction) -> str | None:
        if interaction is None or interaction.response is None:
            return None
        sent = (interaction.request.body or b"").decode("utf-8", "replace")
        answer = interaction.response.content.decode("utf-8", "replace")
        return next(
            (
                reason
                for reason, matches in KNOWN_FINDINGS.items()
                if matches(label, interaction.response.status_code, sent, answer)
            ),
            None,
        )

    def summary(self, seconds: float) -> dict:
        total = collections.Counter()
        for counter in self.statuses.values():
            total.update(counter)
        return {
            "operations": len(self.cases),
            "operations_in_spec": len(self.documented),
            "examples": sum(self.cases.values()),
            "failures": len(self.failures),
            "known_findings": dict(self.known),
            "server_errors": sum(n for s, n in total.items() if s >= 500),
            "statuses": dict(sorted(total.items())),
            "seconds": round(seconds, 1),
            "stop_reasons": self.stop_reasons,
            "max_examples": MAX_EXAMPLES,
            "seed": SEED,
            "events_in_emulator": HAS_EVENTS,
            "per_operation": {
                op: {"examples": n, "statuses": dict(sorted(self.statuses[op].items()))}
                for op, n in sorted(self.cases.items())
            },
        }


def test_schemathesis_finds_no_server_error_or_schema_violation(host, fuzz_company, tmp_path, capsys):
    _, token, known = fuzz_company
    schema = _schema(f"{host.url}/api", token, known)
    found, started = Findings(), time.monotonic()
    found.run(schema.exclude(method="DELETE"))  # the DELETEs last: they take the fixture's data away
    found.run(schema.include(method="DELETE"))
    summary = found.summary(time.monotonic() - started)
    report = tmp_path / "schemathesis-summary.json"
    report.write_text(json.dumps({**summary, "failure_details": found.failures}, indent=2, ensure_ascii=False))
    with capsys.disabled():
        print(
            f"\nschemathesis: {summary['operations']}/{summary['operations_in_spec']} operations, "
            f"{summary['examples']} examples, {summary['failures']} failures (+{sum(found.known.values())} of the "
            f"{len(KNOWN_FINDINGS)} known findings), {summary['server_errors']} 5xx "
            f"in {summary['seconds']} s; statuses {summary['statuses']}; details in {report}"
        )

    assert found.errors == [], found.errors
    assert summary["stop_reasons"] == ["completed", "completed"], summary
    assert summary["operations"] == len(found.documented) - 1  # all but the callback
    assert summary["examples"] >= 10 * summary["operations"]
    assert found.failures == [], json.dumps(found.failures, indent=2, ensure_ascii=False)[:6000]
    assert summary["server_errors"] == sum(found.known.values())  # every 5xx is a known finding
    assert found.own_violations == [], found.own_violations[:5]


def _body(response):
    """Parsed JSON, or the text of a text/plain answer, or None."""
    if not response.content:
        return None
    kind = response.headers.get("Content-Type") or response.headers.get("content-type") or [""]
    kind = kind[0] if isinstance(kind, list) else kind
    if kind.startswith("text/plain"):
        return response.content.decode("utf-8", "replace")
    return json.loads(response.content)


def _matches(template: str, path: str) -> bool:
    path = path[len("/api") :] if path.startswith("/api/") else path
    parts, segments = template.strip("/").split("/"), path.strip("/").split("/")
    return len(parts) == len(segments) and all(
        p.startswith("{") and s or p == s for p, s in zip(parts, segments, strict=False)
    )


# ---- the service's known findings, reproduced with minimal requests (strict: a fix turns them green)


@pytest.fixture
def member_link(company, browser, ms) -> tuple[Api, str]:
    link_tenant(company, browser, AIKO)
    link_user(company, Browser(browser.session.verify, HERP_APP_URL), EMI, "m1")
    return company, my_link(company, "m1", EMI)


def test_dates_outside_the_supported_years_are_422_not_a_server_error(company):
    r = company.call(
        "POST",
        "/outlook/events",
        json={
            "schedule_id": "s",
            "link_id": "any",
            "subject": "s",
            "start": "0999-12-01T10:00",
            "end": "0999-12-01T11:00",
            "time_zone": "Asia/Tokyo",
        },
    )
    validate_response(r)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_datetime", r.text


def test_availability_over_42_days_is_422_before_any_graph_call(member_link, ms):
    api, link_id = member_link
    ms.clear_calls()
    r = api.call(
        "POST",
        "/outlook/availability",
        as_=("m1", "member"),
        json={
            "link_id": link_id,
            "emails": [EMI],
            "start": "2026-12-01T09:00",
            "end": "2027-01-31T18:00",
            "time_zone": "Asia/Tokyo",
        },
    )
    validate_response(r)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_time_range", r.text
    assert [c for c in ms.calls() if c["kind"] == "graph" and c["path"].endswith("/getSchedule")] == []


def test_event_bodies_fit_the_events_row(member_link):
    """The body limit holds however the content escapes in JSON: the largest accepted body of
    quotes is stored and created; a larger one is a 422, never a 503 that no retry fixes."""
    api, link_id = member_link
    event = {
        "link_id": link_id,
        "subject": "s",
        "start": "2026-12-01T10:00",
        "end": "2026-12-01T11:00",
        "time_zone": "Asia/Tokyo",
    }
    r = api.call(
        "POST",
        "/outlook/events",
        as_=("m1", "member"),
        json={**event, "schedule_id": "q1", "body": {"content_type": "text", "content": '"' * (64 * 1024)}},
    )
    validate_response(r)
    assert r.status_code == 201, r.text
    r = api.call(
        "POST",
        "/outlook/events",
        as_=("m1", "member"),
        json={**event, "schedule_id": "q2", "body": {"content_type": "text", "content": '"' * 262144}},
    )
    validate_response(r)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_body", r.text
