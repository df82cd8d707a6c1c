"""Teams meetings of the emulator: the meeting blob in the body (event-update.md) and sticky
isOnlineMeeting (event.md)."""

from __future__ import annotations

import pytest

from devtools.emulator import seed

from .calendar_helpers import BEN, event_body, mailbox, reread

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
RULE = "_" * 80


def _online(emi):
    e = emi.call(
        "POST",
        "/me/events",
        json=event_body(attendees=[(BEN, "required")], isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"),
    ).json()
    assert e["isOnlineMeeting"] is True
    return e


def test_the_blob_looks_like_teams_writes_it(emu, emi):
    e = _online(emi)
    body, join = e["body"]["content"], e["onlineMeeting"]["joinUrl"]
    assert body.count(RULE) == 2 and 'class="me-email-text"' in body
    assert "Microsoft Teams meeting" in body and f'<a href="{join}" class="me-email-headline"' in body
    assert 'data-tid="meeting-code"' in body and e["onlineMeeting"]["conferenceId"] in body
    assert body.index("Agenda") < body.index(RULE) < body.rindex("</body>")
    assert e["bodyPreview"].startswith("Agenda " + RULE + " Microsoft Teams meeting")


def test_a_fresh_body_disables_the_meeting(emu, emi):
    e = _online(emi)
    p = emi.call("PATCH", f"/me/events/{e['id']}", json={"body": {"contentType": "html", "content": "<p>New</p>"}})
    assert p.status_code == 200
    p = p.json()
    assert p["isOnlineMeeting"] is False and p["onlineMeeting"] is None
    assert p["onlineMeetingProvider"] == "unknown" and e["onlineMeeting"]["joinUrl"] not in p["body"]["content"]
    assert reread(emi, e)["onlineMeeting"] is None
    [copy] = mailbox(emu, seed.BEN_ID)  # the invitation lost its join link too
    assert copy["isOnlineMeeting"] is False and copy["onlineMeeting"] is None
    assert "<p>New</p>" in copy["body"]["content"]
    # Asking again makes a new meeting: a new join link everyone must receive again.
    again = emi.call("PATCH", f"/me/events/{e['id']}", json={"isOnlineMeeting": True}).json()
    assert again["isOnlineMeeting"] is True
    assert again["onlineMeeting"]["joinUrl"] not in (None, e["onlineMeeting"]["joinUrl"])
    assert again["onlineMeeting"]["joinUrl"] in again["body"]["content"]


def test_a_text_body_disables_it_too(emu, emi):
    e = _online(emi)
    p = emi.call("PATCH", f"/me/events/{e['id']}", json={"body": {"contentType": "text", "content": "New"}}).json()
    assert p["isOnlineMeeting"] is False and p["onlineMeeting"] is None
    assert mailbox(emu, seed.EMI_ID)[-1]["_emulator"]["onlineMeetingBlobInBody"] is False


def test_an_edit_that_keeps_the_blob_keeps_the_meeting(emu, emi):
    e = _online(emi)
    current = reread(emi, e)["body"]["content"]
    at = current.index('<div style="width:100%">')  # the blob starts with its grey rule
    edited = current[:at].replace("Agenda", "New agenda") + current[at:]
    p = emi.call("PATCH", f"/me/events/{e['id']}", json={"body": {"contentType": "html", "content": edited}}).json()
    assert p["isOnlineMeeting"] is True and p["onlineMeeting"] == e["onlineMeeting"]
    assert p["body"]["content"] == edited and p["bodyPreview"].startswith("New agenda")
    [copy] = mailbox(emu, seed.BEN_ID)
    assert copy["onlineMeeting"] == e["onlineMeeting"] and "New agenda" in copy["body"]["content"]
    # Other properties leave the body alone.
    assert emi.call("PATCH", f"/me/events/{e['id']}", json={"subject": "Final"}).json()["onlineMeeting"]


def test_is_online_meeting_is_sticky(emu, emi):
    e = _online(emi)
    for body in ({"isOnlineMeeting": False}, {"onlineMeetingProvider": "unknown"}):
        off = emi.call("PATCH", f"/me/events/{e['id']}", json=body)
        assert off.status_code == 200
        assert off.json()["isOnlineMeeting"] is True and off.json()["onlineMeeting"] == e["onlineMeeting"]
