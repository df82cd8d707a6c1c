"""The webhook to HERP (README "Changes from Outlook"): each Change POSTed once per delivery,
signed `X-HERP-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, retried
with backoff after a failure. A host of its own (with HERP_WEBHOOK_URL) on an Azurite of its own,
so that no other host takes its queue messages."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devtools import stack
from devtools.emulator import seed
from tests.conftest import HERP_APP_URL, new_id
from tests.e2e.conftest import Api, host_settings, link_tenant, link_user, wait_for
from tests.e2e.test_changes_from_outlook import ROOT
from tests.e2e.test_events import GORO, M1, event_body

pytestmark = pytest.mark.e2e
SECRET = "webhook-secret-for-tests"


class Receiver:
    """HERP's webhook endpoint: records every POST; answers 500 to the next `fail` ones."""

    def __init__(self):
        self.posts: list[tuple[float, dict, bytes, int]] = []
        self.fail = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 500 if receiver.fail > 0 else 200
                receiver.fail -= 1 if status == 500 else 0
                receiver.posts.append((time.monotonic(), dict(self.headers), raw, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/herp/webhooks/outlook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict]:
        return [json.loads(raw) for _t, _h, raw, _s in self.posts]


@pytest.fixture(scope="module")
def webhook_stack(stack_dir, emulator):
    receiver = Receiver()
    logs = stack_dir / "webhook-logs"
    azurite = stack.start_azurite(logs)
    port = stack.free_port()
    env = {
        **host_settings(azurite, emulator, port, HERP_APP_URL),
        "HERP_WEBHOOK_URL": receiver.url,
        "HERP_WEBHOOK_SECRET": SECRET,
    }
    host = stack.start_host(logs, env, port=port)
    yield host, receiver
    host.stop()
    azurite.stop()
    receiver.server.shutdown()


def readme_verify():
    """The verification snippet of README "Webhook to HERP", as HERP's engineers copy it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Webhook to HERP") :]
    code = section[section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)]
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - our own README
    return scope["verify"]


def verify(headers: dict, raw: bytes) -> bool:
    return readme_verify()(SECRET, headers["X-HERP-Signature"], raw)


def test_changes_are_posted_signed_and_retried_after_a_failure(webhook_stack, ms, browser):
    host, receiver = webhook_stack
    api = Api(host.url, new_id("co"))
    link_tenant(api, browser, seed.UPN[seed.AIKO_ID])
    link_user(api, browser.__class__(browser.session.verify, browser.stop_at), seed.UPN[seed.EMI_ID], "m1")
    link_id = api.call("GET", "/outlook/calendars", as_=M1).json()["calendars"][0]["link_id"]
    wait_for(
        lambda: api.call("GET", f"/outlook/tenant-links/{seed.CONTOSO_TENANT_ID}").json()["rooms"]["count"],
        what="rooms",
    )
    rooms = [
        r["email"]
        for r in api.call("GET", f"/outlook/tenants/{seed.CONTOSO_TENANT_ID}/rooms", as_=M1).json()["rooms"][:1]
    ]
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, rooms))
    assert r.status_code == 201, r.text
    event = r.json()
    # The room's answer: the first Change, delivered once, signed.
    wait_for(lambda: receiver.posts, timeout=30, what="the first webhook")
    _t, headers, raw, status = receiver.posts[0]
    assert status == 200 and headers["Content-Type"] == "application/json" and verify(headers, raw)
    feed = api.call("GET", "/outlook/changes", as_=M1).json()["changes"]
    assert json.loads(raw) == feed[0] and feed[0]["company_id"] == api.company_id  # whose change it is
    assert not verify(headers, raw.replace(b'"type"', b' "type"'))  # a changed body fails the check
    # HERP fails once: the Change comes again, within 60 s, with the same id.
    receiver.fail = 1
    before = len(receiver.posts)
    ms.post(f"events/{event['event_id']}/responses", {"email": GORO, "response": "declined"})
    wait_for(lambda: len(receiver.posts) >= before + 2, timeout=60, what="the retry after a 500")
    (t1, _h1, raw1, s1), (t2, h2, raw2, s2) = receiver.posts[before : before + 2]
    assert (s1, s2) == (500, 200) and raw1 == raw2 and verify(h2, raw2)
    assert t2 - t1 < 60
    assert json.loads(raw2)["type"] == "event.responses_changed" and json.loads(raw2)["fields"] == [GORO.lower()]
