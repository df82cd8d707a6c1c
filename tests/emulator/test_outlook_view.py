"""GET /_emulator/outlook: the HTML "Outlook" people watch in the sandbox. It shows each mailbox's
events (attendees and rooms with their answers, the Teams join link, the body as held), escapes
every value, and its buttons name the existing control routes (the browser journey clicks them)."""

from __future__ import annotations

import re
from html import unescape

from devtools.emulator import seed

from .calendar_helpers import FUMI, ROOM, event_body, schedule_body


def page(emu, query: str = "") -> str:
    r = emu.http.get(f"{emu.base}/_emulator/outlook{query}", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    return r.text


def test_the_view_shows_a_meeting_with_its_answers_join_link_and_body(emu, emi):
    body = event_body(
        subject="<b>一次面接</b>",
        attendees=[(FUMI, "required"), (ROOM, "resource")],
        isOnlineMeeting=True,
        onlineMeetingProvider="teamsForBusiness",
    )
    r = emi.call("POST", "/me/events", json=body)
    assert r.status_code == 201, r.text
    event = r.json()
    html = page(emu)
    assert "<b>一次面接</b>" not in html and "&lt;b&gt;一次面接&lt;/b&gt;" in html  # text, never markup
    mailbox = html.split(f'data-upn="{seed.UPN[seed.EMI_ID]}"', 1)[1].split('<section class="mailbox"', 1)[0]
    assert "2026-12-01 10:00 – 11:00" in mailbox  # shown in Asia/Tokyo by default
    assert f'data-email="{ROOM}"' in mailbox and f'data-email="{FUMI}"' in mailbox
    assert f'class="join" href="{event["onlineMeeting"]["joinUrl"]}"' in unescape(mailbox)
    assert "me-email-text" in unescape(mailbox)  # the body as Outlook holds it (HTML, shown as text)
    key = re.search(r'data-event-id="([^"]+)"', mailbox).group(1)
    for route in (
        f"events/{key}/responses",
        f"events/{key}/outlook-edit",
        f"events/{key}/outlook-cancel",
        f"users/{seed.EMI_ID}/events/{key}/delete",
        f"users/{seed.AIKO_ID}/delete",
        f"users/{seed.AIKO_ID}/revoke-sessions",
        f"tenants/{seed.CONTOSO_TENANT_ID}/remove-app",
        "throttle",
    ):
        assert f'data-post="{route}"' in html, route

    # What the buttons post changes the page: Fumi declines, the organizer cancels.
    emu.control("POST", f"events/{key}/responses", json={"email": FUMI, "response": "declined"})
    assert "辞退 (declined)" in page(emu).split(f'data-email="{FUMI}"', 1)[1].split("</tr>", 1)[0]
    emu.control("POST", f"events/{key}/outlook-cancel", json={"comment": "中止"})
    after = page(emu, "?tz=UTC")
    assert "2026-12-01 01:00 – 02:00" in after and "(UTC)" in after
    fumi = after.split(f'data-upn="{FUMI}"', 1)[1].split('<section class="mailbox"', 1)[0]
    assert "Canceled: " in fumi and "キャンセル (cancelled)" in fumi


def test_an_unknown_zone_falls_back_to_utc(emu):
    assert 'data-tz="UTC"' in page(emu, "?tz=Mars/Olympus")


def test_a_hold_is_an_ordinary_event_shown_tentative_without_reminder_and_its_delete_tells_nobody(emu, emi):
    """What the service's holds (仮押さえ) rely on: Graph takes an event with no attendees, `showAs:
    tentative` and `isReminderOn: false` (resources/event.md), getSchedule shows it tentative
    (api/calendar-getschedule.md), the Outlook view shows it so, and a DELETE of it sends nothing
    to anyone (api/event-delete.md: only a meeting's attendees get a cancellation)."""
    body = event_body(subject="[仮押さえ] 一次面接", showAs="tentative", isReminderOn=False)
    r = emi.call("POST", "/me/events", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["showAs"] == "tentative" and made["isReminderOn"] is False and made["attendees"] == []
    schedule = emi.call(
        "POST", "/me/calendar/getSchedule", json=schedule_body([seed.UPN[seed.EMI_ID]], interval=60)
    ).json()["value"][0]
    assert [i["status"] for i in schedule["scheduleItems"]] == ["tentative"]
    assert schedule["availabilityView"] == "01000"
    mailbox = page(emu).split(f'data-upn="{seed.UPN[seed.EMI_ID]}"', 1)[1].split('<section class="mailbox"', 1)[0]
    assert 'data-show-as="tentative"' in mailbox and "通知なし (no reminder)" in mailbox
    assert "参加者なし (no attendees)" in mailbox
    before = {e["id"] for oid in seed.USERS_BY_ID for e in _items(emu, oid)}
    assert emi.call("DELETE", f"/me/events/{made['id']}").status_code == 204
    after = {e["id"] for oid in seed.USERS_BY_ID for e in _items(emu, oid)}
    assert after == before  # no cancellation landed in any mailbox


def _items(emu, oid: str) -> list[dict]:
    r = emu.http.get(f"{emu.base}/_emulator/users/{oid}/events", timeout=10)
    return r.json()["events"] if r.status_code == 200 else []
