"""`room_fallback` (a stored, patchable event field) and `check_conflicts` (an option of the create
call): validation, and the create fingerprint of rows stored before they existed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from shared.domain.event_input import EventInput, check_conflicts_asked, parse_create, parse_patch
from shared.errors import SlotConflict, ValidationFailed
from shared.mailbox import credentials
from shared.mailbox.free_busy import busy_addresses, require_free_slot
from shared.models import Account, AccountStatus, MicrosoftAccount
from tests.unit.test_event_input import BASE

# What the commit before room_fallback stored for BASE: its input_hash and input_json.
STORED_HASH = "12bbf4baca020b6db013302f90535bdb3e88287226b3ee68125b06bf4124d851"
STORED_JSON = (
    '{"attendees":[{"email":"iv@contoso.test","name":"面接官","type":"required"},'
    '{"email":"opt@contoso.test","name":null,"type":"optional"}],"body":{"content":"面接です",'
    '"content_type":"text"},"calendar_id":null,"end":"2026-12-01T11:00:00","link_id":"ul_1",'
    '"location":"本社","online_meeting":true,"rooms":["room1@contoso.test"],"schedule_id":"sch-1",'
    '"start":"2026-12-01T10:00:00","subject":"一次面接: 山田太郎","time_zone":"Asia/Tokyo"}'
)


def test_rows_stored_before_the_new_fields_still_match_a_repeated_create():
    assert parse_create(BASE).fingerprint() == STORED_HASH
    assert parse_create({**BASE, "check_conflicts": True}).fingerprint() == STORED_HASH  # not part of the event
    assert parse_create({**BASE, "room_fallback": False}).fingerprint() == STORED_HASH
    old = EventInput.from_json_text(STORED_JSON)
    assert old.room_fallback is False and old.fingerprint() == STORED_HASH
    assert old == parse_create(BASE)


def test_room_fallback_is_stored_returned_and_changes_the_body():
    e = parse_create({**BASE, "room_fallback": True})
    assert e.room_fallback is True and e.fingerprint() != STORED_HASH
    assert json.loads(e.to_json_text())["room_fallback"] is True
    assert EventInput.from_json_text(e.to_json_text()) == e
    assert "check_conflicts" not in e.to_json()


def test_room_fallback_is_patchable_check_conflicts_is_not():
    current = parse_create(BASE)
    assert parse_patch({"room_fallback": True}, current).room_fallback is True
    with pytest.raises(ValidationFailed) as caught:
        parse_patch({"check_conflicts": True}, current)
    assert caught.value.code == "field_not_patchable"
    with pytest.raises(ValidationFailed) as caught:
        parse_patch({"room_fallback": "yes"}, current)
    assert caught.value.code == "invalid_room_fallback"


@pytest.mark.parametrize("value", ["true", 1, None, [], {}])
def test_non_booleans_are_refused(value):
    with pytest.raises(ValidationFailed) as caught:
        parse_create({**BASE, "room_fallback": value})
    assert caught.value.code == "invalid_room_fallback"
    with pytest.raises(ValidationFailed) as caught:
        check_conflicts_asked({**BASE, "check_conflicts": value})
    assert caught.value.code == "invalid_check_conflicts"


def test_check_conflicts_defaults_to_off():
    assert check_conflicts_asked(BASE) is False and check_conflicts_asked({"check_conflicts": True}) is True


SCHEDULE = "https://graph.example.test/v1.0/me/calendar/getSchedule"


@pytest.fixture
def box(app_env, monkeypatch):
    account = MicrosoftAccount("co", "tid", Account("oid", "u@t.test", "U"), AccountStatus.ACTIVE, token_cache="x")
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "tok")
    return credentials.Mailbox(account)


def item(status: str, start: str = "2026-12-01T01:30:00.0000000", end: str = "2026-12-01T03:00:00.0000000"):
    return {
        "status": status,
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
    }


@responses.activate
def test_one_getschedule_of_attendees_and_rooms_names_the_busy_ones(box):
    responses.post(
        SCHEDULE,
        json={
            "value": [
                {"scheduleId": "iv@contoso.test", "availabilityView": "1", "scheduleItems": [item("tentative")]},
                {"scheduleId": "opt@contoso.test", "error": {"message": "Unable to resolve", "responseCode": "5009"}},
                {"scheduleId": "ROOM1@contoso.test", "availabilityView": "2", "scheduleItems": [item("busy")]},
            ]
        },
    )
    with pytest.raises(SlotConflict) as caught:
        require_free_slot(box, parse_create(BASE))
    assert caught.value.details == {"busy": ["iv@contoso.test", "room1@contoso.test"]}
    assert len(responses.calls) == 1
    body = json.loads(responses.calls[0].request.body)
    assert body["schedules"] == ["iv@contoso.test", "opt@contoso.test", "room1@contoso.test"]
    assert body["startTime"] == {"dateTime": "2026-12-01T01:00:00", "timeZone": "UTC"}  # 10:00 Tokyo


@responses.activate
def test_working_elsewhere_and_adjacent_meetings_are_no_conflict(box):
    responses.post(
        SCHEDULE,
        json={
            "value": [
                {"scheduleId": "iv@contoso.test", "availabilityView": "4", "scheduleItems": [item("workingElsewhere")]},
                {
                    "scheduleId": "opt@contoso.test",
                    "availabilityView": "0",
                    "scheduleItems": [item("busy", "2026-12-01T02:00:00", "2026-12-01T03:00:00")],
                },
                {"scheduleId": "room1@contoso.test", "availabilityView": "0", "scheduleItems": []},
            ]
        },
    )
    require_free_slot(box, parse_create(BASE))


@responses.activate
def test_more_than_20_addresses_are_read_20_a_call(box):
    responses.post(SCHEDULE, json={"value": []})
    emails = [f"p{i}@contoso.test" for i in range(45)]
    assert busy_addresses(box, emails, datetime(2026, 12, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, 2, tzinfo=UTC)) == []
    assert sorted(len(json.loads(c.request.body)["schedules"]) for c in responses.calls) == [5, 20, 20]


def test_no_addresses_no_call(box):
    require_free_slot(box, parse_create({**BASE, "attendees": [], "rooms": []}))
