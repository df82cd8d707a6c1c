"""The room finder without I/O: ranking, the filters it asks the cache for, getSchedule waves
(responses mocks), `checked`, and input validation before any Graph call."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from shared.errors import LinkNotFound, TenantNotLinked, ValidationFailed
from shared.mailbox import credentials, free_busy
from shared.mailbox.free_busy import UtcSlot, blocks_slot, view_interval
from shared.models import Account, AccountStatus, MicrosoftAccount, Room
from shared.storage.rooms import Rooms
from shared.usecases.rooms import room_finder

SCHEDULE = "https://graph.example.test/v1.0/me/calendar/getSchedule"
START, END = datetime(2026, 12, 1, 1, 0, tzinfo=UTC), datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def room(n: int, capacity: int | None = 6, name: str | None = None) -> Room:
    return Room(f"r{n:03d}@t.test", name or f"Room {n:03d}", capacity, "HQ", "1F", None)


@pytest.fixture
def box(app_env, monkeypatch):
    account = MicrosoftAccount("co", "tid", Account("oid", "u@t.test", "U"), AccountStatus.ACTIVE, token_cache="x")
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "tok")
    return credentials.Mailbox(account)


@pytest.fixture
def cache(monkeypatch):
    """The rooms Rooms.find answers, and the filters it was asked with."""
    asked: list[dict] = []
    rooms: list[Room] = []

    def find(self, tenant_id, **filters):
        asked.append({"tenant_id": tenant_id, **filters})
        return list(rooms)

    monkeypatch.setattr(Rooms, "find", find)
    return rooms, asked


def busy_item(start="2026-12-01T01:30:00.0000000", end="2026-12-01T02:30:00.0000000", status="busy") -> dict:
    return {
        "status": status,
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
    }


def answer_schedules(busy: set[str] = frozenset(), errors: set[str] = frozenset()):
    """A getSchedule callback: `busy` addresses have a busy item in the slot, `errors` answer an error."""

    def callback(request):
        body = json.loads(request.body)
        value = []
        for email in body["schedules"]:
            if email in errors:
                value.append({"scheduleId": email, "error": {"message": "Unable to resolve", "responseCode": "5009"}})
            else:
                items = [busy_item()] if email in busy else []
                value.append({"scheduleId": email, "availabilityView": "2" if items else "0", "scheduleItems": items})
        return 200, {}, json.dumps({"value": value})

    return callback


def asked_schedules() -> list[list[str]]:
    return [json.loads(c.request.body)["schedules"] for c in responses.calls]


def test_rank_smallest_capacity_first_then_name_unknown_capacity_last():
    rooms = [room(1, 8, "B"), room(2, None, "A"), room(3, 4, "Z"), room(4, 8, "A"), room(5, 4, "C")]
    assert [r.email[:4] for r in free_busy.rank(rooms)] == ["r005", "r003", "r004", "r001", "r002"]


@responses.activate
def test_first_chunk_holding_enough_is_the_only_call(box, cache):
    rooms, asked = cache
    rooms += [room(n, capacity=4 + n % 3) for n in range(1, 101)]
    responses.add_callback(responses.POST, SCHEDULE, callback=answer_schedules())
    found = free_busy.find_free_rooms(box, "tid", START, END, min_capacity=4, building="HQ", limit=5)
    assert found.checked == 20 and len(responses.calls) == 1
    ranked = free_busy.rank(rooms)
    assert found.rooms == ranked[:5]
    assert asked_schedules() == [[r.email for r in ranked[:20]]]
    assert asked == [
        {
            "tenant_id": "tid",
            "min_capacity": 4,
            "building": "HQ",
            "floor": None,
            "room_list": None,
            "wheelchair_accessible": None,
        }
    ]
    body = json.loads(responses.calls[0].request.body)
    assert body["startTime"] == {"dateTime": "2026-12-01T01:00:00", "timeZone": "UTC"}
    assert body["endTime"] == {"dateTime": "2026-12-01T02:00:00", "timeZone": "UTC"}
    assert body["availabilityViewInterval"] == 60  # one digit for the whole slot


@responses.activate
def test_busy_and_erroring_rooms_are_skipped_and_later_waves_follow_the_free_rate(box, cache):
    rooms, _ = cache
    rooms += [room(n) for n in range(1, 201)]
    emails = [r.email for r in free_busy.rank(rooms)]
    # First 20: 2 free (one busy in the slot, the rest erroring or busy) -> need 3 more at 2 per chunk -> 2 calls.
    busy = set(emails[2:20:2]) | set(emails[20:])
    errors = set(emails[3:20:2])
    free_later = {emails[25], emails[41], emails[43]}
    responses.add_callback(responses.POST, SCHEDULE, callback=answer_schedules(busy - free_later, errors))
    found = free_busy.find_free_rooms(box, "tid", START, END, limit=5)
    assert [r.email for r in found.rooms] == [emails[0], emails[1], emails[25], emails[41], emails[43]]
    assert found.checked == 60 and len(responses.calls) == 3  # 1, then a wave of 2


@responses.activate
def test_while_none_is_free_the_waves_double(box, cache):
    rooms, _ = cache
    rooms += [room(n) for n in range(1, 91)]
    emails = [r.email for r in free_busy.rank(rooms)]
    responses.add_callback(responses.POST, SCHEDULE, callback=answer_schedules(set(emails[:85])))
    found = free_busy.find_free_rooms(box, "tid", START, END, limit=5)
    assert [r.email for r in found.rooms] == emails[85:90]
    assert found.checked == 90 and len(responses.calls) == 5  # 1, 2, then the 2 chunks left


def test_wave_widths():
    assert free_busy._wave_width(5, 0, 0, 0) == 1
    assert [free_busy._wave_width(5, 0, 20, w) for w in (1, 2, 4)] == [2, 4, 4]
    assert free_busy._wave_width(3, 2, 20, 1) == 2  # 2 free per chunk seen: 2 chunks for 3 more
    assert free_busy._wave_width(1, 10, 20, 1) == 1
    assert free_busy._wave_width(18, 1, 20, 1) == 4


@responses.activate
def test_fewer_candidates_than_a_chunk(box, cache):
    rooms, _ = cache
    rooms += [room(n) for n in range(1, 8)]
    responses.add_callback(responses.POST, SCHEDULE, callback=answer_schedules({"r001@t.test"}))
    found = free_busy.find_free_rooms(box, "tid", START, END, limit=20)
    assert found.checked == 7 and len(found.rooms) == 6


@responses.activate
def test_no_candidate_no_graph_call_and_excluded_rooms_are_never_offered(box, cache):
    rooms, _ = cache
    assert free_busy.find_free_rooms(box, "tid", START, END) == free_busy.FreeRooms([], 0)
    rooms += [room(1, 4), room(2, 6)]
    responses.add_callback(responses.POST, SCHEDULE, callback=answer_schedules())
    found = free_busy.find_free_rooms(box, "tid", START, END, exclude=["R001@T.TEST"])
    assert [r.email for r in found.rooms] == ["r002@t.test"] and asked_schedules() == [["r002@t.test"]]


@pytest.mark.parametrize(
    ("item", "blocks"),
    [
        (busy_item(), True),
        (busy_item(status="Tentative"), True),
        (busy_item(status="oof"), True),
        (busy_item(status="unknown"), True),
        (busy_item(status="workingElsewhere"), False),
        (busy_item(status="free"), False),
        (busy_item("2026-12-01T02:00:00", "2026-12-01T03:00:00"), False),  # starts when the slot ends
        (busy_item("2026-12-01T00:00:00", "2026-12-01T01:00:00"), False),  # ends when it starts
        (busy_item("2026-12-01T01:59:00", "2026-12-01T03:00:00"), True),
    ],
)
def test_what_blocks_a_slot(item, blocks):
    info = {"scheduleId": "x", "scheduleItems": [item]}
    assert blocks_slot(info, "2026-12-01T01:00:00", "2026-12-01T02:00:00", exact_view=False) is blocks


def test_the_view_counts_only_when_it_tiles_the_slot():
    info = {"scheduleId": "x", "availabilityView": "0200", "scheduleItems": []}
    assert blocks_slot(info, "a", "b", exact_view=True) and not blocks_slot(info, "a", "b", exact_view=False)
    assert blocks_slot({"availabilityView": "4"}, "a", "b", exact_view=True) is False  # working elsewhere
    assert view_interval(60) == 60 and view_interval(1500) == 750 and view_interval(3) is None
    assert UtcSlot.of(START, datetime(2026, 12, 1, 1, 0, 30, tzinfo=UTC)).interval is None


BODY = {"link_id": "ul_1", "start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00", "time_zone": "Asia/Tokyo"}


def test_a_valid_search_in_utc():
    search = room_finder.parse_search({**BODY, "min_capacity": 6, "building": " HQ ", "wheelchair_accessible": True})
    assert (search.start, search.end) == (START, END)
    assert search.limit == 5
    assert search.filters == {
        "min_capacity": 6,
        "building": "HQ",
        "floor": None,
        "room_list": None,
        "wheelchair_accessible": True,
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"end": "2026-12-01T09:00:00"}, "invalid_time_range"),
        ({"end": "2026-12-01T10:00:00"}, "invalid_time_range"),
        ({"end": "2027-01-20T10:00:00"}, "invalid_time_range"),  # getSchedule: at most 42 days
        ({"start": "2026-12-01T10:00:00+09:00"}, "invalid_datetime"),
        ({"start": None}, "invalid_datetime"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
        ({"link_id": ""}, "invalid_link_id"),
        ({"link_id": 7}, "invalid_link_id"),
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 21}, "invalid_limit"),
        ({"limit": "5"}, "invalid_limit"),
        ({"limit": True}, "invalid_limit"),
        ({"limit": 2.5}, "invalid_limit"),
        ({"min_capacity": "6"}, "invalid_min_capacity"),
        ({"min_capacity": 0}, "invalid_min_capacity"),
        ({"min_capacity": False}, "invalid_min_capacity"),
        ({"building": 3}, "invalid_building"),
        ({"building": ""}, "invalid_building"),
        ({"floor": 3}, "invalid_floor"),
        ({"room_list": ["a@t.test"]}, "invalid_room_list"),
        ({"wheelchair_accessible": "yes"}, "invalid_wheelchair_accessible"),
        ({"wheelchair_accessible": 1}, "invalid_wheelchair_accessible"),
    ],
)
def test_bad_input_is_refused(change, code):
    with pytest.raises(ValidationFailed) as caught:
        room_finder.parse_search({**BODY, **change})
    assert caught.value.code == code


@responses.activate
def test_refused_before_any_storage_or_graph_call(monkeypatch):
    def no_io(*args, **kwargs):
        raise AssertionError("no I/O for a refused body")

    monkeypatch.setattr(room_finder.TenantLinks, "get_linked", no_io)
    with pytest.raises(ValidationFailed):
        room_finder.find_rooms(object(), "tid", {**BODY, "limit": 50})  # type: ignore[arg-type]
    assert len(responses.calls) == 0


class _Tenant:
    tenant_id, rooms_synced_at = "tid", None


class _Link:
    tenant_id, company_id, account_id = "other-tid", "co", "oid"


def test_unknown_tenant_then_foreign_link(monkeypatch):
    monkeypatch.setattr(room_finder.TenantLinks, "get_linked", lambda self, company, tenant: None)
    monkeypatch.setattr(room_finder, "own_link", lambda caller, link_id: _Link())
    with pytest.raises(TenantNotLinked):
        room_finder.find_rooms(_Caller(), "tid", BODY)
    monkeypatch.setattr(room_finder.TenantLinks, "get_linked", lambda self, company, tenant: _Tenant())
    with pytest.raises(ValidationFailed) as caught:
        room_finder.find_rooms(_Caller(), "tid", BODY)
    assert caught.value.code == "link_not_in_tenant"

    def not_mine(caller, link_id):
        raise LinkNotFound()

    monkeypatch.setattr(room_finder, "own_link", not_mine)
    with pytest.raises(LinkNotFound):
        room_finder.find_rooms(_Caller(), "tid", BODY)


class _Caller:
    company_id, account_id = "co", "m1"


@responses.activate
def test_a_search_reads_at_most_200_candidates_in_10_calls_and_says_more(box, cache):
    rooms, _ = cache
    rooms += [room(n) for n in range(1, 1001)]
    emails = [r.email for r in free_busy.rank(rooms)]
    responses.add_callback(responses.POST, SCHEDULE, callback=answer_schedules(set(emails[:990])))
    found = free_busy.find_free_rooms(box, "tid", START, END, limit=5)
    assert found == free_busy.FreeRooms([], 200, more=True)
    assert len(responses.calls) == 10  # waves of 1, 2, 4, 3: the finder's worst case
    assert sorted(sum(asked_schedules(), [])) == sorted(emails[:200])  # the 200 best ranked


@responses.activate
def test_more_is_false_when_enough_were_found_or_nothing_was_left(box, cache):
    rooms, _ = cache
    rooms += [room(n) for n in range(1, 241)]
    emails = [r.email for r in free_busy.rank(rooms)]
    responses.add_callback(responses.POST, SCHEDULE, callback=answer_schedules(set(emails[:199])))
    found = free_busy.find_free_rooms(box, "tid", START, END, limit=1)
    assert (len(found.rooms), found.checked, found.more) == (1, 200, False)  # the 200th was free
    del rooms[200:]
    responses.calls.reset()
    found = free_busy.find_free_rooms(box, "tid", START, END, limit=5)
    assert (len(found.rooms), found.checked, found.more) == (1, 200, False)  # none left unread
