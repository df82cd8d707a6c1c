"""Graph events of the emulator (create, get, update, delete, cancel, rooms, Teams, control API),
driven over HTTPS with tokens from real MSAL."""

from __future__ import annotations

import pytest

from devtools.emulator import seed

from .calendar_helpers import (
    AIKO,
    BEN,
    CARL,
    CONTOSO,
    EMI,
    FUMI,
    ROOM,
    ROOM2,
    TOKYO,
    Client,
    assert_graph_error,
    event_body,
    mailbox,
    reread,
    rooms_answer_at_once,
    schedule_body,
    status_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")


# --- create -----------------------------------------------------------------------------------------
def test_create_with_a_room_and_teams(emu, emi):
    rooms_answer_at_once(emu)
    body = event_body(
        attendees=[(BEN, "required"), (ROOM, "resource")],
        isOnlineMeeting=True,
        onlineMeetingProvider="teamsForBusiness",
    )
    r = emi.call("POST", "/me/events", json=body)
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["@odata.context"] == f"{emu.base}/v1.0/$metadata#users('{seed.EMI_ID}')/events/$entity"
    assert e["@odata.etag"] == f'W/"{e["changeKey"]}"'
    for field in (
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "changeKey",
        "iCalUId",
        "webLink",
        "bodyPreview",
        "locations",
        "responseStatus",
        "isCancelled",
    ):
        assert field in e
    assert "transactionId" not in e  # only returned when the app set it
    assert e["type"] == "singleInstance" and e["showAs"] == "busy" and e["isOrganizer"] is True
    assert e["start"] == {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"}
    assert e["end"] == {"dateTime": "2026-12-01T02:00:00.0000000", "timeZone": "UTC"}
    assert e["originalStartTimeZone"] == TOKYO
    assert e["isOnlineMeeting"] is True and e["onlineMeetingProvider"] == "teamsForBusiness"
    join = e["onlineMeeting"]["joinUrl"]
    assert join.startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_") and CONTOSO in join
    assert e["body"]["contentType"] == "html" and "https://teams.microsoft.com/meet/" in e["body"]["content"]
    assert e["bodyPreview"].startswith("Agenda")
    assert e["responseStatus"]["response"] == "organizer"
    assert e["organizer"]["emailAddress"] == {"name": "Emi Suzuki", "address": EMI}
    # The room answers after the create answer, which shows it unanswered.
    room = next(a for a in e["attendees"] if a["type"] == "resource")
    assert room["status"] == {"response": "none", "time": "0001-01-01T00:00:00Z"}
    assert status_of(e, BEN) == "none"
    room = next(a for a in reread(emi, e)["attendees"] if a["type"] == "resource")
    assert room["status"]["response"] == "accepted" and room["status"]["time"] != "0001-01-01T00:00:00Z"
    assert e["webLink"].startswith("https://outlook.office365.com/owa/?itemid=")
    # The invitation reached Ben's mailbox as his own item of the same meeting.
    [copy] = mailbox(emu, seed.BEN_ID)
    assert copy["iCalUId"] == e["iCalUId"] and copy["id"] != e["id"]
    assert copy["isOrganizer"] is False and copy["showAs"] == "tentative"
    assert copy["responseStatus"]["response"] == "none"
    assert copy["_emulator"]["organizerEventId"] == e["id"]


def test_a_second_meeting_at_the_same_time_gets_the_room_declined(emu, emi):
    rooms_answer_at_once(emu)
    first = emi.call("POST", "/me/events", json=event_body(attendees=[(ROOM, "resource")])).json()
    assert status_of(reread(emi, first), ROOM) == "accepted"
    ben = Client(emu, BEN)
    clash = ben.call(
        "POST",
        "/me/events",
        json=event_body(start="2026-12-01T10:30:00", end="2026-12-01T11:30:00", attendees=[(ROOM, "resource")]),
    ).json()
    assert status_of(reread(ben, clash), ROOM) == "declined"
    after = ben.call(
        "POST",
        "/me/events",
        json=event_body(start="2026-12-01T11:00:00", end="2026-12-01T12:00:00", attendees=[(ROOM, "resource")]),
    ).json()
    assert status_of(reread(ben, after), ROOM) == "accepted"  # back-to-back is no conflict
    # Once the first meeting is cancelled the room is free again.
    assert emi.call("POST", f"/me/events/{first['id']}/cancel", json={}).status_code == 202
    again = ben.call("POST", "/me/events", json=event_body(attendees=[(ROOM, "required")])).json()
    assert status_of(reread(ben, again), ROOM) == "accepted"  # a room mailbox answers whatever the type


def test_a_busy_block_declines_the_room(emu, emi):
    rooms_answer_at_once(emu)
    emu.control(
        "POST",
        f"schedules/{ROOM2}/busy",
        json={"start": "2026-12-01T01:30:00Z", "end": "2026-12-01T03:00:00Z", "status": "busy"},
    )
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(ROOM2, "resource")])).json()
    assert status_of(reread(emi, e), ROOM2) == "declined"
    blocks = emu.control("GET", f"schedules/{ROOM2}/busy")["blocks"]
    assert blocks == [
        {"start": "2026-12-01T01:30:00Z", "end": "2026-12-01T03:00:00Z", "status": "busy", "subject": None}
    ]


def test_transaction_id_retry_creates_one_event(emu, emi):
    body = event_body(transactionId="7E163156-7762-4BEB-A1C6-729EA81755A7")
    first = emi.call("POST", "/me/events", json=body)
    second = emi.call("POST", "/me/events", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["transactionId"] == "7E163156-7762-4BEB-A1C6-729EA81755A7"
    [only] = mailbox(emu, seed.EMI_ID)
    assert [h["action"] for h in only["_emulator"]["history"]] == ["create", "create-replayed"]
    other = dict(body, subject="Something else")
    assert_graph_error(emi.call("POST", "/me/events", json=other), 400, "ErrorDuplicateTransactionId")
    assert len(mailbox(emu, seed.EMI_ID)) == 1
    patch = emi.call("PATCH", f"/me/events/{only['id']}", json={"transactionId": "changed"})
    assert_graph_error(patch, 400, "ErrorInvalidRequest")


def test_time_zones_in_and_out(emu, emi):
    e = emi.call(
        "POST",
        "/me/events",
        json=event_body(tz="America/New_York", start="2026-12-01T09:00:00", end="2026-12-01T09:30:00"),
    ).json()
    assert e["start"] == {"dateTime": "2026-12-01T14:00:00.0000000", "timeZone": "UTC"}
    r = emi.call("GET", f"/me/events/{e['id']}", headers={"Prefer": 'outlook.timezone="Tokyo Standard Time"'})
    assert r.status_code == 200
    assert r.json()["start"] == {"dateTime": "2026-12-01T23:00:00.0000000", "timeZone": TOKYO}
    assert r.headers["Preference-Applied"] == 'outlook.timezone="Tokyo Standard Time"'
    iana = emi.call("GET", f"/me/events/{e['id']}", headers={"Prefer": 'outlook.timezone="Europe/Paris"'}).json()
    assert iana["end"] == {"dateTime": "2026-12-01T15:30:00.0000000", "timeZone": "Europe/Paris"}
    assert "Preference-Applied" not in emi.call("GET", f"/me/events/{e['id']}").headers
    bad = emi.call("GET", f"/me/events/{e['id']}", headers={"Prefer": 'outlook.timezone="Mars/Olympus"'})
    assert_graph_error(bad, 400, "TimeZoneNotSupportedException")
    bad = emi.call("POST", "/me/events", json=event_body(tz="Greenwich Mean Time"))
    assert "'Greenwich Mean Time'" in assert_graph_error(bad, 400, "TimeZoneNotSupportedException")["message"]
    sel = emi.call("GET", f"/me/events/{e['id']}", params={"$select": "subject,start"}).json()
    assert set(sel) == {"@odata.context", "@odata.etag", "id", "subject", "start"}
    assert sel["@odata.context"].endswith("/events(subject,start)/$entity")
    assert_graph_error(emi.call("GET", f"/me/events/{e['id']}", params={"$select": "nope"}), 400, "BadRequest")
    text = emi.call("GET", f"/me/events/{e['id']}", headers={"Prefer": 'outlook.body-content-type="text"'}).json()
    assert text["body"] == {"contentType": "text", "content": "Agenda"}


def test_validation_errors(emu, emi):
    backwards = event_body(start="2026-12-01T11:00:00", end="2026-12-01T10:00:00")
    assert_graph_error(
        emi.call("POST", "/me/events", json=backwards), 400, "ErrorCalendarEndDateIsEarlierThanStartDate"
    )
    no_end = event_body()
    del no_end["end"]
    assert_graph_error(emi.call("POST", "/me/events", json=no_end), 400, "ErrorPropertyValidationFailure")
    assert_graph_error(emi.call("POST", "/me/events", json=event_body(colour="red")), 400, "RequestBodyRead")
    assert_graph_error(emi.call("POST", "/me/events", json=event_body(showAs="away")), 400, "RequestBodyRead")
    assert_graph_error(
        emi.call("POST", "/me/events", data="{not json", headers={"Content-Type": "application/json"}),
        400,
        "BadRequest",
    )
    bad_attendee = event_body(attendees=[("not-an-address", "required")])
    assert_graph_error(emi.call("POST", "/me/events", json=bad_attendee), 400, "ErrorInvalidRecipients")
    assert mailbox(emu, seed.EMI_ID) == []


# --- update -----------------------------------------------------------------------------------------
def test_patch_changes_only_the_given_fields(emu, emi):
    rooms_answer_at_once(emu)
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(BEN, "required"), (ROOM, "resource")])).json()
    e = reread(emi, e)
    r = emi.call("PATCH", f"/me/events/{e['id']}", json={"subject": "Final interview"})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["subject"] == "Final interview" and p["changeKey"] != e["changeKey"]
    assert p["lastModifiedDateTime"] >= e["lastModifiedDateTime"]
    for same in ("body", "start", "end", "attendees", "location", "showAs", "iCalUId", "createdDateTime"):
        assert p[same] == e[same], same
    # The update reached Ben's copy.
    [copy] = mailbox(emu, seed.BEN_ID)
    assert copy["subject"] == "Final interview"
    # Replacing attendees replaces the list; rooms are asked when they are added.
    p = emi.call(
        "PATCH",
        f"/me/events/{e['id']}",
        json={
            "attendees": [
                {"emailAddress": {"address": ROOM}, "type": "resource"},
                {"emailAddress": {"address": ROOM2}, "type": "resource"},
            ]
        },
    ).json()
    assert [a["emailAddress"]["address"] for a in p["attendees"]] == [ROOM, ROOM2]
    assert status_of(p, ROOM) == "accepted" and status_of(p, ROOM2) == "none"  # kept / just asked
    assert status_of(reread(emi, p), ROOM2) == "accepted"
    [copy] = mailbox(emu, seed.BEN_ID)
    assert copy["isCancelled"] is True  # Ben was removed: he got a cancellation
    history = mailbox(emu, seed.EMI_ID)[0]["_emulator"]["history"]
    calls = [h for h in history if h["source"] == "graph"]
    assert [(h["action"], h.get("fields")) for h in calls] == [
        ("create", ["subject", "body", "start", "end", "attendees"]),
        ("update", ["subject"]),
        ("update", ["attendees"]),
    ]
    assert calls[1]["method"] == "PATCH" and calls[1]["path"] == f"/v1.0/me/events/{e['id']}"
    assert [(h["email"], h["response"]) for h in history if h["source"] == "room"] == [
        (ROOM, "accepted"),
        (ROOM2, "accepted"),
    ]


def test_moving_a_meeting_re_asks_rooms_and_people(emu, emi):
    rooms_answer_at_once(emu)
    ben = Client(emu, BEN)
    blocker = ben.call(
        "POST",
        "/me/events",
        json=event_body(start="2026-12-01T14:00:00", end="2026-12-01T15:00:00", attendees=[(ROOM, "resource")]),
    ).json()
    assert status_of(reread(ben, blocker), ROOM) == "accepted"
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(FUMI, "required"), (ROOM, "resource")])).json()
    emu.control("POST", f"events/{e['id']}/responses", json={"email": FUMI, "response": "accepted"})
    moved = emi.call(
        "PATCH",
        f"/me/events/{e['id']}",
        json={
            "start": {"dateTime": "2026-12-01T14:30:00", "timeZone": TOKYO},
            "end": {"dateTime": "2026-12-01T15:30:00", "timeZone": TOKYO},
        },
    ).json()
    assert status_of(moved, ROOM) == "none" and status_of(moved, FUMI) == "none"
    assert status_of(reread(emi, moved), ROOM) == "declined"
    assert moved["start"]["dateTime"] == "2026-12-01T05:30:00.0000000"
    [copy] = mailbox(emu, seed.FUMI_ID)
    assert copy["start"] == moved["start"] and copy["responseStatus"]["response"] == "none"
    bad = emi.call(
        "PATCH", f"/me/events/{e['id']}", json={"end": {"dateTime": "2026-12-01T09:00:00", "timeZone": TOKYO}}
    )
    assert_graph_error(bad, 400, "ErrorCalendarEndDateIsEarlierThanStartDate")


# --- cancel and delete ------------------------------------------------------------------------------
def test_cancel_by_the_organizer(emu, emi):
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(BEN, "required"), (ROOM, "resource")])).json()
    r = emi.call("POST", f"/me/events/{e['id']}/cancel", json={"Comment": "Position filled"})
    assert r.status_code == 202 and r.content == b""
    for method in ("GET", "PATCH", "DELETE"):
        assert_graph_error(
            emi.call(method, f"/me/events/{e['id']}", json={"subject": "x"} if method == "PATCH" else None),
            404,
            "ErrorItemNotFound",
        )
    assert_graph_error(emi.call("POST", f"/me/events/{e['id']}/cancel", json={}), 404, "ErrorItemNotFound")
    [org] = mailbox(emu, seed.EMI_ID)
    assert org["_emulator"]["deleted"]["how"] == "cancel"
    assert org["_emulator"]["cancellation"]["comment"] == "Position filled"
    [copy] = mailbox(emu, seed.BEN_ID)
    assert copy["isCancelled"] is True and copy["subject"] == "Canceled: Interview"
    assert copy["_emulator"]["cancellation"]["comment"] == "Position filled"
    ben = Client(emu, BEN)
    assert ben.call("GET", f"/me/events/{copy['id']}").json()["isCancelled"] is True


def test_an_attendee_cannot_cancel(emu, emi):
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(BEN, "required")])).json()
    [copy] = mailbox(emu, seed.BEN_ID)
    ben = Client(emu, BEN)
    err = assert_graph_error(ben.call("POST", f"/me/events/{copy['id']}/cancel", json={}), 400, "ErrorInvalidRequest")
    assert err["message"] == "Your request can't be completed. You need to be an organizer to cancel a meeting."
    assert ben.call("GET", f"/me/events/{copy['id']}").json()["isOrganizer"] is False
    assert emi.call("GET", f"/me/events/{e['id']}").status_code == 200
    # The organizer's item is not in the attendee's mailbox.
    assert_graph_error(ben.call("GET", f"/me/events/{e['id']}"), 404, "ErrorItemNotFound")


def test_delete(emu, emi):
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(BEN, "required"), (ROOM, "resource")])).json()
    r = emi.call("DELETE", f"/me/events/{e['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_graph_error(emi.call("GET", f"/me/events/{e['id']}"), 404, "ErrorItemNotFound")
    [copy] = mailbox(emu, seed.BEN_ID)
    assert copy["isCancelled"] is True  # the organizer's delete sends the cancellation
    # An attendee deleting their copy through Graph sends nothing to the organizer.
    e2 = emi.call("POST", "/me/events", json=event_body(attendees=[(BEN, "required")])).json()
    copy2 = next(c for c in mailbox(emu, seed.BEN_ID) if c["iCalUId"] == e2["iCalUId"])
    assert Client(emu, BEN).call("DELETE", f"/me/events/{copy2['id']}").status_code == 204
    assert status_of(emi.call("GET", f"/me/events/{e2['id']}").json(), BEN) == "none"


def test_responses_and_outlook_deletes_from_the_control_api(emu, emi):
    e = emi.call(
        "POST",
        "/me/events",
        json=event_body(attendees=[(BEN, "required"), (FUMI, "optional"), ("guest@example.com", "required")]),
    ).json()
    emu.control("POST", f"events/{e['id']}/responses", json={"email": BEN, "response": "accepted"})
    emu.control(
        "POST", f"events/{e['id']}/responses", json={"email": "guest@example.com", "response": "tentativelyAccepted"}
    )
    got = emi.call("GET", f"/me/events/{e['id']}").json()
    assert status_of(got, BEN) == "accepted" and status_of(got, "guest@example.com") == "tentativelyAccepted"
    assert (
        next(a for a in got["attendees"] if a["emailAddress"]["address"] == BEN)["status"]["time"]
        != "0001-01-01T00:00:00Z"
    )
    [ben_copy] = mailbox(emu, seed.BEN_ID)
    assert ben_copy["responseStatus"]["response"] == "accepted" and ben_copy["showAs"] == "busy"
    # Fumi deletes the invitation in Outlook: the organizer sees her decline.
    emu.control("POST", f"users/{seed.FUMI_ID}/events/{e['id']}/delete")
    assert status_of(emi.call("GET", f"/me/events/{e['id']}").json(), FUMI) == "declined"
    [fumi_copy] = mailbox(emu, seed.FUMI_ID)
    assert fumi_copy["_emulator"]["deleted"]["how"] == "outlook-delete"
    bad = emu.http.post(f"{emu.base}/_emulator/events/{e['id']}/responses", json={"email": BEN, "response": "maybe"})
    assert bad.status_code == 400
    stranger = emu.http.post(
        f"{emu.base}/_emulator/events/{e['id']}/responses", json={"email": AIKO, "response": "accepted"}
    )
    assert stranger.status_code == 404
    # The organizer deletes it in Outlook: a cancellation for everyone still invited.
    emu.control("POST", f"users/{seed.EMI_ID}/events/{e['id']}/delete")
    assert_graph_error(emi.call("GET", f"/me/events/{e['id']}"), 404, "ErrorItemNotFound")
    assert mailbox(emu, seed.BEN_ID)[0]["isCancelled"] is True


def test_calendar_paths(emu, emi):
    interviews = emi.call("GET", "/me/calendars").json()["value"][1]
    assert interviews["name"] == "Interviews"
    e = emi.call("POST", f"/me/calendars/{interviews['id']}/events", json=event_body()).json()
    assert emi.call("GET", f"/me/events/{e['id']}").status_code == 200
    d = emi.call("POST", "/me/events", json=event_body()).json()  # the default calendar
    assert {x["id"]: x["_emulator"]["calendarId"] for x in mailbox(emu, seed.EMI_ID)} == {
        e["id"]: interviews["id"],
        d["id"]: emi.call("GET", "/me/calendar").json()["id"],
    }
    assert_graph_error(emi.call("POST", "/me/calendars/AAMkAGnope/events", json=event_body()), 404, "ErrorItemNotFound")


def test_teams_needs_an_allowed_provider(emu):
    fumi = Client(emu, FUMI)  # no Teams licence: the calendar allows no online meeting provider
    e = fumi.call(
        "POST", "/me/events", json=event_body(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    ).json()
    assert e["isOnlineMeeting"] is False and e["onlineMeeting"] is None
    assert e["onlineMeetingProvider"] == "unknown"
    emi = Client(emu, EMI)  # isOnlineMeeting alone uses the calendar's default provider
    e = emi.call("POST", "/me/events", json=event_body(isOnlineMeeting=True)).json()
    assert e["onlineMeetingProvider"] == "teamsForBusiness" and e["onlineMeeting"]["joinUrl"]
    # event.md: once online, Outlook ignores changes to isOnlineMeeting.
    off = emi.call("PATCH", f"/me/events/{e['id']}", json={"isOnlineMeeting": False})
    assert off.status_code == 200
    assert off.json()["isOnlineMeeting"] is True and off.json()["onlineMeeting"] == e["onlineMeeting"]
    assert mailbox(emu, seed.EMI_ID)[-1]["_emulator"]["onlineMeetingBlobInBody"] is True


# --- permissions, mailbox, faults ---------------------------------------------------------------------
def test_a_user_without_mailbox_and_read_only_tokens(emu):
    carl = Client(emu, CARL)
    assert_graph_error(carl.call("POST", "/me/events", json=event_body()), 404, "MailboxNotEnabledForRESTAPI")
    assert_graph_error(carl.call("GET", "/me/events/AAMkAGx"), 404, "MailboxNotEnabledForRESTAPI")
    assert_graph_error(
        carl.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI])), 404, "MailboxNotEnabledForRESTAPI"
    )
    reader = Client(emu, EMI, scopes=["User.Read", "Calendars.Read"])
    assert_graph_error(reader.call("POST", "/me/events", json=event_body()), 403, "ErrorAccessDenied")
    assert reader.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI])).status_code == 200
    # Carl is a directory user without a mailbox: getSchedule cannot resolve him.
    [item] = reader.call("POST", "/me/calendar/getSchedule", json=schedule_body([CARL])).json()["value"]
    assert item["error"]["responseCode"] == "5009"
    no_scope = Client(emu, EMI, scopes=["User.Read"])
    assert_graph_error(
        no_scope.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI])), 403, "ErrorAccessDenied"
    )


def test_throttling_and_the_call_log_cover_events(emu, emi):
    emu.control("DELETE", "calls")
    emu.control("POST", "throttle", json={"count": 1, "status": 429, "retry_after": 2, "path_contains": "/me/events"})
    r = emi.call("POST", "/me/events", json=event_body())
    assert_graph_error(r, 429, "TooManyRequests")
    assert r.headers["Retry-After"] == "2"
    assert mailbox(emu, seed.EMI_ID) == []  # a throttled request does nothing
    e = emi.call("POST", "/me/events", json=event_body()).json()
    emu.control("POST", "throttle", json={"count": 1, "status": 503, "retry_after": 1, "method": "PATCH"})
    assert_graph_error(emi.call("PATCH", f"/me/events/{e['id']}", json={"subject": "x"}), 503, "serviceNotAvailable")
    emu.control("POST", "throttle", json={"count": 1, "status": 504, "path_contains": "getSchedule"})
    assert_graph_error(emi.call("POST", "/me/calendar/getSchedule", json=schedule_body([EMI])), 504, "generalException")
    calls = [(c["method"], c["path"], c["status"]) for c in emu.control("GET", "calls")["calls"]]
    assert calls == [
        ("POST", "/v1.0/me/events", 429),
        ("POST", "/v1.0/me/events", 201),
        ("PATCH", f"/v1.0/me/events/{e['id']}", 503),
        ("POST", "/v1.0/me/calendar/getSchedule", 504),
    ]


def test_reset_clears_events_and_busy_blocks(emu, emi):
    emi.call("POST", "/me/events", json=event_body())
    emu.control("POST", f"schedules/{ROOM}/busy", json={"start": "2026-12-01T00:00:00Z", "end": "2026-12-01T01:00:00Z"})
    emu.control("POST", "reset")
    assert mailbox(emu, seed.EMI_ID) == []
    assert emu.control("GET", f"schedules/{ROOM}/busy")["blocks"] == []
    r = emu.http.post(
        f"{emu.base}/_emulator/schedules/nobody@example.com/busy",
        json={"start": "2026-12-01T00:00:00Z", "end": "2026-12-01T01:00:00Z"},
    )
    assert r.status_code == 404


# --- limits and shared calendars --------------------------------------------------------------------
def test_at_most_500_attendees_rooms_included(emu, emi):
    people = [(f"guest{i}@example.com", "required") for i in range(499)]
    ok = emi.call("POST", "/me/events", json=event_body(attendees=people + [(ROOM, "resource")]))
    assert ok.status_code == 201 and len(ok.json()["attendees"]) == 500
    err = assert_graph_error(
        emi.call("POST", "/me/events", json=event_body(attendees=people + [(ROOM, "resource"), (ROOM2, "resource")])),
        400,
        "ErrorExceededMaxRecipientLimit",
    )
    assert "500" in err["message"]
    too_many = [
        {"emailAddress": {"address": a}, "type": t} for a, t in people + [(ROOM, "resource"), (BEN, "required")]
    ]
    assert_graph_error(
        emi.call("PATCH", f"/me/events/{ok.json()['id']}", json={"attendees": too_many}),
        400,
        "ErrorExceededMaxRecipientLimit",
    )
    assert len(mailbox(emu, seed.EMI_ID)) == 1


def test_a_calendar_shared_by_another_mailbox(emu, emi):
    cals = emi.call("GET", "/me/calendars").json()["value"]
    shared = next(c for c in cals if c["owner"]["address"] == BEN)
    assert shared["name"] == "Ben Tanaka" and shared["canEdit"] is True
    assert shared["canShare"] is False and shared["isDefaultCalendar"] is False
    assert emi.call("GET", f"/me/calendars/{shared['id']}").json()["owner"]["name"] == "Ben Tanaka"
    # Calendars.ReadWrite covers the user's own calendars only.
    assert_graph_error(
        emi.call("POST", f"/me/calendars/{shared['id']}/events", json=event_body()), 403, "ErrorAccessDenied"
    )
    assert mailbox(emu, seed.EMI_ID) == [] and mailbox(emu, seed.BEN_ID) == []
    wide = Client(emu, EMI, scopes=["User.Read", "Calendars.ReadWrite.Shared"])
    assert_graph_error(
        wide.call("POST", f"/me/calendars/{shared['id']}/events", json=event_body()), 400, "ErrorInvalidRequest"
    )  # allowed in Outlook; not emulated
    assert all(c["owner"]["address"] == BEN for c in Client(emu, BEN).call("GET", "/me/calendars").json()["value"])


def test_location_replaces_locations(emu, emi):
    """event-update.md: location and locations always correspond; setting location replaces
    locations, also when both come in one body (the rooms in locations are lost)."""
    room = {"displayName": "Room 1", "locationEmailAddress": "room1@contoso.test", "locationType": "conferenceRoom"}
    only = emi.call("POST", "/me/events", json=event_body(locations=[room])).json()
    assert [l.get("locationEmailAddress") for l in only["locations"]] == ["room1@contoso.test"]
    assert only["location"]["displayName"] == "Room 1"
    both = emi.call(
        "POST", "/me/events", json=event_body(locations=[room], location={"displayName": "Room 1; Lobby"})
    ).json()
    assert both["location"]["displayName"] == "Room 1; Lobby"
    assert [(l["displayName"], l.get("locationEmailAddress")) for l in both["locations"]] == [("Room 1; Lobby", None)]
    p = emi.call("PATCH", f"/me/events/{only['id']}", json={"location": {"displayName": "Lobby"}}).json()
    assert [l["displayName"] for l in p["locations"]] == ["Lobby"]
