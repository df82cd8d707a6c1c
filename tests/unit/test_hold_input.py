"""shared.domain.holds: a hold's body validated whole (CONTRACT 7 codes) and the hold event's Graph body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import slots
from shared.domain.holds import DEFAULT_EXPIRY, expiry_of, hold_event, parse_hold, transaction_id
from shared.errors import ValidationFailed

NOW = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)


def body(**changes) -> dict:
    return {
        "hold_id": "h-1",
        "link_id": "ul_1",
        "subject": "一次面接",
        "interviewers": [{"herp_account_id": "m2"}, {"email": "Goro@Contoso.example"}],
        "slots": [{"start": "2026-12-15T10:00:00", "end": "2026-12-15T11:00:00"}],
        **changes,
    }


def code_of(b: dict) -> str:
    with pytest.raises(ValidationFailed) as caught:
        parse_hold(b, NOW)
    return caught.value.code


def test_a_hold_is_normalised_with_stable_slot_ids_and_the_default_expiry():
    hold = parse_hold(body(slots=[body()["slots"][0]] * 2), NOW)  # the same slot twice counts once
    assert hold.time_zone == "Asia/Tokyo" and hold.interviewers == (("m2", None), (None, "goro@contoso.example"))
    (slot,) = hold.slots
    assert (slot.start_utc, slot.end_utc) == ("2026-12-15T01:00:00Z", "2026-12-15T02:00:00Z")
    start, end = datetime(2026, 12, 15, 1, tzinfo=UTC), datetime(2026, 12, 15, 2, tzinfo=UTC)
    assert slot.slot_id == slots.slot_id([(start, end, None)])  # the slot search's id for a slot without a room
    assert hold.expires_at is None and expiry_of(hold, NOW) == NOW + DEFAULT_EXPIRY
    assert parse_hold(body(), NOW).fingerprint() == hold.fingerprint()
    assert parse_hold(body(subject="二次面接"), NOW).fingerprint() != hold.fingerprint()


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"slots": []}, "invalid_slots"),
        (
            {"slots": [{"start": f"2026-12-15T{h:02d}:00:00", "end": f"2026-12-15T{h:02d}:30:00"} for h in range(21)]},
            "invalid_slots",
        ),
        ({"slots": [{"start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00"}]}, "invalid_slots"),  # over
        ({"slots": [{"start": "2026-12-15T11:00:00", "end": "2026-12-15T10:00:00"}]}, "invalid_time_range"),
        ({"slots": ["10:00"]}, "invalid_slots"),
        ({"expires_at": (NOW + timedelta(days=30, seconds=1)).isoformat()}, "invalid_expires_at"),
        ({"expires_at": "2026-12-01T00:00:00Z"}, "invalid_expires_at"),
        ({"expires_at": "2026-12-10T00:00:00"}, "invalid_expires_at"),  # no offset
        ({"interviewers": []}, "invalid_interviewers"),
        ({"interviewers": [{"email": f"p{i}@x.example"} for i in range(21)]}, "too_many_interviewers"),
        ({"interviewers": [{}]}, "invalid_interviewers"),
        ({"interviewers": [{"email": "not-an-address"}]}, "invalid_email"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
        ({"hold_id": ""}, "invalid_hold_id"),
        ({"link_id": None}, "invalid_link_id"),
        ({"subject": "x" * 256}, "invalid_subject"),
    ],
)
def test_refusals(changes, code):
    assert code_of(body(**changes)) == code


def test_a_slot_with_the_search_room_keeps_the_search_slot_id():
    room = "Tokyo-HQ-Room001@contoso.example"
    hold = parse_hold(body(slots=[{**body()["slots"][0], "room": room}]), NOW)
    start, end = datetime(2026, 12, 15, 1, tzinfo=UTC), datetime(2026, 12, 15, 2, tzinfo=UTC)
    assert hold.slots[0].slot_id == slots.slot_id([(start, end, room)])
    assert hold.slots[0].slot_id != parse_hold(body(), NOW).slots[0].slot_id
    assert code_of(body(slots=[{**body()["slots"][0], "room": "nope"}])) == "invalid_email"


def test_thirty_days_is_the_longest_expiry():
    at = NOW + timedelta(days=30)
    hold = parse_hold(body(expires_at=at.isoformat().replace("+00:00", "Z")), NOW)
    assert expiry_of(hold, NOW) == at


def test_a_hold_event_is_tentative_without_attendees_or_reminder_in_utc():
    hold = parse_hold(body(), NOW)
    tx = transaction_id("co", "h-1", hold.slots[0].slot_id, "oid-1")
    event = hold_event(hold, hold.slots[0], tx)
    assert event["subject"] == "[仮押さえ] 一次面接"
    assert event["showAs"] == "tentative" and event["isReminderOn"] is False and event["attendees"] == []
    assert event["start"] == {"dateTime": "2026-12-15T01:00:00", "timeZone": "UTC"}
    assert event["transactionId"] == tx != transaction_id("co", "h-1", hold.slots[0].slot_id, "oid-2")
