"""Shared helpers of the emulator's calendar tests: a signed-in Graph client and event bodies."""

from __future__ import annotations

from devtools.emulator import seed

CONTOSO = seed.CONTOSO_TENANT_ID
AIKO, BEN, CARL, EMI, FUMI = (seed.UPN[i] for i in (seed.AIKO_ID, seed.BEN_ID, seed.CARL_ID, seed.EMI_ID, seed.FUMI_ID))
ROOM = f"tokyo-hq-room001@{seed.CONTOSO_DOMAIN}"
ROOM2 = f"tokyo-hq-room002@{seed.CONTOSO_DOMAIN}"
TOKYO = "Tokyo Standard Time"


def assert_graph_error(r, status, code):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"], err
    assert err["innerError"]["request-id"] == r.headers["request-id"]
    return err


class Client:
    """One signed-in user talking to the emulator's Graph."""

    def __init__(self, emu, upn, scopes=None):
        self.emu = emu
        _app, result = emu.sign_in(upn, **({"scopes": scopes} if scopes else {}))
        self.token = result["access_token"]

    def call(self, method, path, json=None, headers=None, **kw):
        h = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        url = path if path.startswith("https://") else f"{self.emu.base}/v1.0{path}"
        return self.emu.http.request(method, url, json=json, headers=h, timeout=10, **kw)


def event_body(
    subject="Interview", start="2026-12-01T10:00:00", end="2026-12-01T11:00:00", tz=TOKYO, attendees=(), **extra
):
    return {
        "subject": subject,
        "body": {"contentType": "text", "content": "Agenda"},
        "start": {"dateTime": start, "timeZone": tz},
        "end": {"dateTime": end, "timeZone": tz},
        "attendees": [{"emailAddress": {"address": a}, "type": t} for a, t in attendees],
        **extra,
    }


def status_of(event, address):
    return next(
        a["status"]["response"] for a in event["attendees"] if a["emailAddress"]["address"].lower() == address.lower()
    )


def mailbox(emu, oid):
    return emu.control("GET", f"users/{oid}/events")["events"]


def rooms_answer_at_once(emu):
    """Room mailboxes answer with no delay: their answer shows from the next request on."""
    emu.control("POST", "room-answer-delay", json={"seconds": 0})


def reread(client, event):
    """The event as its organizer sees it now (room answers arrive after the create answer)."""
    r = client.call("GET", f"/me/events/{event['id']}")
    assert r.status_code == 200, r.text
    return r.json()


def schedule_body(schedules, start="2026-12-01T09:00:00", end="2026-12-01T14:00:00", interval=60):
    body = {
        "schedules": schedules,
        "startTime": {"dateTime": start, "timeZone": TOKYO},
        "endTime": {"dateTime": end, "timeZone": TOKYO},
    }
    if interval is not None:
        body["availabilityViewInterval"] = interval
    return body
