"""Teams meetings of the emulator: the meeting blob in the body (event-update.md) and sticky
isOnlineMeeting (event.md)."""

from __future__ import annotations

import re

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


SHORT = re.compile(
    r'<a href="(https://teams\.microsoft\.com/meet/(\d{13})\?p=([A-Za-z0-9]+))" class="me-email-headline"'
)


def test_the_blob_looks_like_teams_writes_it(emu, emi):
    e = _online(emi)
    body, join = e["body"]["content"], e["onlineMeeting"]["joinUrl"]
    assert body.count(RULE) == 2 and 'class="me-email-text"' in body
    # Teams writes the short link into invitations (MC772556); joinUrl keeps the long form.
    assert join.startswith("https://teams.microsoft.com/l/meetup-join/") and join not in body
    link = SHORT.search(body)
    assert "Microsoft Teams meeting" in body and link
    code = " ".join(link[2][i : i + 3] for i in range(0, 13, 3))
    assert 'data-tid="meeting-code"' in body and code in body and f">{link[3]}</span>" in body
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
    assert SHORT.search(again["body"]["content"])[1] != SHORT.search(e["body"]["content"])[1]


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


def test_a_user_teams_makes_no_meeting_for_gets_a_plain_event(emu, emi):
    """microsoft-graph-docs#9741: the calendar lists teamsForBusiness, yet the 201 says
    isOnlineMeeting false (no licence or policy), and asking again in a PATCH changes nothing."""
    emu.control("POST", f"users/{seed.EMI_ID}/teams-meetings", json={"allowed": False})
    cal = emi.call("GET", "/me/calendar").json()
    assert "teamsForBusiness" in cal["allowedOnlineMeetingProviders"]
    r = emi.call("POST", "/me/events", json=event_body(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"))
    assert r.status_code == 201
    e = r.json()
    assert (e["isOnlineMeeting"], e["onlineMeetingProvider"], e["onlineMeeting"]) == (False, "unknown", None)
    assert RULE not in e["body"]["content"]
    assert emi.call("PATCH", f"/me/events/{e['id']}", json={"isOnlineMeeting": True}).json()["isOnlineMeeting"] is False
    emu.control("POST", f"users/{seed.EMI_ID}/teams-meetings", json={"allowed": True})
    assert _online(emi)["onlineMeeting"]["joinUrl"]


def test_a_body_rewritten_in_outlook_keeps_the_meeting_online(emu, emi):
    e = _online(emi)
    emu.control("POST", f"events/{e['id']}/outlook-edit", json={"body": "<p>Rewritten in Outlook</p>"})
    again = reread(emi, e)
    assert again["isOnlineMeeting"] is True and again["onlineMeeting"] == e["onlineMeeting"]
    assert "Rewritten in Outlook" in again["body"]["content"] and RULE not in again["body"]["content"]
