import pytest

from shared.domain.event_input import EventInput, parse_create, parse_patch
from shared.domain.event_to_graph import graph_patch, to_graph
from shared.domain.event_view import OutlookEvent, local_time
from shared.errors import ValidationFailed

BASE = {
    "schedule_id": "sch-1",
    "link_id": "ul_1",
    "subject": "一次面接: 山田太郎",
    "body": {"content_type": "text", "content": "面接です"},
    "start": "2026-12-01T10:00:00",
    "end": "2026-12-01T11:00",
    "time_zone": "Asia/Tokyo",
    "attendees": [
        {"email": "iv@contoso.test", "name": "面接官", "type": "required"},
        {"email": "opt@contoso.test", "type": "optional"},
    ],
    "rooms": ["room1@contoso.test"],
    "online_meeting": True,
    "location": "本社",
}
ROOMS = {"room1@contoso.test": "Tokyo 1F Room 001", "room2@contoso.test": "Tokyo 1F Room 002"}


def test_valid_input_is_normalised():
    e = parse_create(BASE)
    assert e.end == "2026-12-01T11:00:00" and e.rooms == ("room1@contoso.test",) and len(e.attendees) == 2
    assert EventInput.from_json(e.to_json()) == e
    assert e.fingerprint() == parse_create(dict(BASE)).fingerprint()
    assert e.fingerprint() != parse_create({**BASE, "subject": "other"}).fingerprint()


@pytest.mark.parametrize(
    "change,code",
    [
        ({"end": "2026-12-01T10:00:00"}, "invalid_time_range"),
        ({"end": "2026-12-01T09:00:00"}, "invalid_time_range"),
        ({"start": "2026-12-01T10:00:00+09:00"}, "invalid_datetime"),
        ({"start": "2026-02-30T10:00:00"}, "invalid_datetime"),
        ({"time_zone": "Tokyo"}, "invalid_time_zone"),
        ({"time_zone": "../etc/passwd"}, "invalid_time_zone"),
        ({"attendees": [{"email": "not-an-email"}]}, "invalid_email"),
        ({"attendees": [{"email": "a@b.test", "type": "chair"}]}, "invalid_attendees"),
        ({"attendees": [{"email": f"p{i}@x.test"} for i in range(501)]}, "too_many_attendees"),
        ({"rooms": ["room 1"]}, "invalid_email"),
        ({"subject": ""}, "invalid_subject"),
        ({"schedule_id": None}, "invalid_schedule_id"),
        ({"body": {"content_type": "rtf", "content": "x"}}, "invalid_body"),
        ({"online_meeting": "yes"}, "invalid_online_meeting"),
    ],
)
def test_invalid_input_is_422_with_a_code(change, code):
    with pytest.raises(ValidationFailed) as info:
        parse_create({**BASE, **change})
    assert info.value.code == code


def test_500_recipients_with_the_room_are_accepted_and_duplicates_collapse():
    e = parse_create({**BASE, "attendees": [{"email": f"p{i}@x.test"} for i in range(499)] + [{"email": "P1@x.test"}]})
    assert len(e.attendees) + len(e.rooms) == 500


def test_more_than_500_recipients_counting_rooms_are_refused():
    # resources/event.md: at most 500 attendees per event; rooms are resource attendees.
    with pytest.raises(ValidationFailed) as info:
        parse_create({**BASE, "attendees": [{"email": f"p{i}@x.test"} for i in range(500)]})
    assert info.value.code == "too_many_attendees"


def test_to_graph_books_rooms_and_teams():
    g = to_graph(parse_create(BASE), ROOMS, "tx-1")
    assert g["start"] == {"dateTime": "2026-12-01T10:00:00", "timeZone": "Tokyo Standard Time"}
    assert g["transactionId"] == "tx-1" and g["isOnlineMeeting"] is True
    assert g["onlineMeetingProvider"] == "teamsForBusiness"
    assert {"emailAddress": {"address": "room1@contoso.test", "name": "Tokyo 1F Room 001"}, "type": "resource"} in g[
        "attendees"
    ]
    assert [(l["displayName"], l.get("locationEmailAddress")) for l in g["locations"]] == [
        ("Tokyo 1F Room 001", "room1@contoso.test"),
        ("本社", None),
    ]
    assert "location" not in g  # event-update.md: a location would replace the locations (the rooms)
    assert g["body"] == {"contentType": "text", "content": "面接です"}


def test_patch_of_the_time_sends_only_the_time():
    old = parse_create(BASE)
    new = parse_patch({"start": "2026-12-01T13:00:00", "end": "2026-12-01T14:00:00"}, old)
    assert graph_patch(old, new, ROOMS) == {
        "start": {"dateTime": "2026-12-01T13:00:00", "timeZone": "Tokyo Standard Time"},
        "end": {"dateTime": "2026-12-01T14:00:00", "timeZone": "Tokyo Standard Time"},
    }


def test_patch_of_rooms_keeps_people_and_updates_locations():
    old = parse_create(BASE)
    new = parse_patch({"rooms": ["room2@contoso.test"]}, old)
    patch = graph_patch(old, new, ROOMS)
    assert set(patch) == {"attendees", "locations"}
    addresses = [a["emailAddress"]["address"] for a in patch["attendees"]]
    assert addresses == ["iv@contoso.test", "opt@contoso.test", "room2@contoso.test"]


def test_patch_is_validated_as_a_whole():
    old = parse_create(BASE)
    with pytest.raises(ValidationFailed) as info:
        parse_patch({"end": "2026-12-01T09:00:00"}, old)
    assert info.value.code == "invalid_time_range"
    with pytest.raises(ValidationFailed) as info:
        parse_patch({"link_id": "other"}, old)
    assert info.value.code == "field_not_patchable"


def test_local_time_converts_graph_times():
    assert (
        local_time({"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"}, "Asia/Tokyo")
        == "2026-12-01T10:00:00"
    )
    assert (
        local_time({"dateTime": "2026-12-01T10:00:00.0000000", "timeZone": "Tokyo Standard Time"}, "Asia/Tokyo")
        == "2026-12-01T10:00:00"
    )


def test_event_json_maps_responses():
    graph_event = {
        "id": "AAMk1",
        "webLink": "https://outlook/x",
        "subject": "一次面接: 山田太郎",
        "start": {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T02:00:00.0000000", "timeZone": "UTC"},
        "onlineMeeting": {"joinUrl": "https://teams/join"},
        "attendees": [
            {
                "type": "required",
                "status": {"response": "tentativelyAccepted"},
                "emailAddress": {"address": "iv@contoso.test", "name": "面接官"},
            },
            {"type": "resource", "status": {"response": "accepted"}, "emailAddress": {"address": "room1@contoso.test"}},
        ],
    }
    out = OutlookEvent.from_graph(parse_create(BASE), graph_event, "2026-11-25T00:00:00Z").to_json()
    assert out["start"] == "2026-12-01T10:00:00" and out["join_url"] == "https://teams/join"
    assert out["attendees"] == [
        {"email": "iv@contoso.test", "name": "面接官", "type": "required", "response": "tentative"}
    ]
    assert out["rooms"] == [{"email": "room1@contoso.test", "response": "accepted"}]
    assert out["event_id"] == "AAMk1" and out["schedule_id"] == "sch-1"


@pytest.mark.parametrize(
    "change,code",
    [
        ({"start": "0999-12-01T10:00", "end": "0999-12-01T11:00"}, "invalid_datetime"),
        ({"time_zone": "Factory"}, "invalid_time_zone"),
        ({"time_zone": "posix/Asia/Tokyo"}, "invalid_time_zone"),
        ({"body": {"content_type": "text", "content": "x" * (64 * 1024 + 1)}}, "invalid_body"),
        (
            {"body": {"content_type": "text", "content": "\x01" * (60 * 1024)}},
            "event_too_large",
        ),  # 6 characters each in JSON
    ],
)
def test_inputs_that_would_fail_later_are_refused_now(change, code):
    with pytest.raises(ValidationFailed) as info:
        parse_create({**BASE, **change})
    assert info.value.code == code


def test_astral_characters_fit_the_table_limits():
    e = parse_create({**BASE, "body": {"content_type": "text", "content": "😀" * (64 * 1024)}})
    from shared.storage.base import CHUNK, MAX_CHUNKS

    text = e.to_json_text()
    assert len(text) <= CHUNK * MAX_CHUNKS
    assert all(len(text[i : i + CHUNK].encode("utf-16-le")) <= 64 * 1024 for i in range(0, len(text), CHUNK))
