"""The slot search's Graph reads without I/O (responses mocks): calendarView paging, getSchedule
chunked by 20 addresses and 41 days, and rooms in waves only while an earlier slot lacks one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from shared.domain import slots as rules
from shared.mailbox import calendar_view, credentials
from shared.mailbox.free_busy import schedules_over
from shared.models import Account, AccountStatus, MicrosoftAccount, Room
from shared.usecases.scheduling.slots import Itinerary, RoomNeeds, RoomReader, _with_rooms

GRAPH = "https://graph.example.test/v1.0"
START = datetime(2027, 1, 17, 15, 0, tzinfo=UTC)  # 2027-01-18 00:00 JST


@pytest.fixture
def box(app_env, monkeypatch):
    account = MicrosoftAccount("co", "tid", Account("oid", "u@t.test", "U"), AccountStatus.ACTIVE, token_cache="x")
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "tok")
    return credentials.Mailbox(account)


@responses.activate
def test_calendar_view_reads_the_window_in_pages_with_the_fields_herp_needs(box):
    first = {"value": [{"subject": "a"}], "@odata.nextLink": f"{GRAPH}/me/calendarView?$skip=500&x=1"}
    responses.get(f"{GRAPH}/me/calendarView", json=first)
    responses.get(f"{GRAPH}/me/calendarView?$skip=500&x=1", json={"value": [{"subject": "b"}]})
    got = calendar_view.items(box, START, START + timedelta(days=7))
    assert [i["subject"] for i in got] == ["a", "b"]
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query["startDateTime"] == ["2027-01-17T15:00:00Z"] and query["endDateTime"] == ["2027-01-24T15:00:00Z"]
    assert query["$select"] == ["subject,showAs,isCancelled,responseStatus,start,end"] and query["$top"] == ["500"]
    assert 'outlook.timezone="UTC"' in responses.calls[0].request.headers["Prefer"]
    assert len(responses.calls) == 2


@responses.activate
def test_schedules_over_chunks_by_20_addresses_and_41_days_and_merges(box):
    def callback(request):
        body = json.loads(request.body)
        start = body["startTime"]["dateTime"]
        value = [
            {
                "scheduleId": e,
                "scheduleItems": [{"status": "busy", "start": {"dateTime": start}, "end": {"dateTime": start}}],
            }
            for e in body["schedules"]
        ]
        return 200, {}, json.dumps({"value": value})

    responses.add_callback(responses.POST, f"{GRAPH}/me/calendar/getSchedule", callback=callback)
    emails = [f"p{i}@t.test" for i in range(25)]
    got = schedules_over(box, emails, START, START + timedelta(days=50))
    assert len(responses.calls) == 4  # 2 chunks x 2 periods
    periods = {json.loads(c.request.body)["startTime"]["dateTime"] for c in responses.calls}
    assert periods == {"2027-01-17T15:00:00", "2027-02-27T15:00:00"}
    assert sorted(got) == sorted(emails) and all(len(info["scheduleItems"]) == 2 for info in got.values())


def room(n: int) -> Room:
    return Room(f"r{n:03d}@t.test", f"Room {n:03d}", 6, "HQ", "1F", None)


def itinerary(*hours: int) -> Itinerary:
    return Itinerary([rules.Placed(START + timedelta(hours=h), START + timedelta(hours=h + 1), ()) for h in hours])


def schedule_answer(busy: dict[str, list[int]]):
    """getSchedule callback: `busy[email]` = hours after START that the room is busy."""

    def callback(request):
        value = []
        for email in json.loads(request.body)["schedules"]:
            items = [
                {
                    "status": "busy",
                    "start": {"dateTime": (START + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S.0000000")},
                    "end": {"dateTime": (START + timedelta(hours=h + 1)).strftime("%Y-%m-%dT%H:%M:%S.0000000")},
                }
                for h in busy.get(email, [])
            ]
            value.append({"scheduleId": email, "scheduleItems": items})
        return 200, {}, json.dumps({"value": value})

    return callback


@responses.activate
def test_rooms_are_read_in_waves_only_while_an_earlier_slot_has_none(box):
    rooms = [room(n) for n in range(100)]
    busy = {r.email: [1] for r in rooms[:30]}  # hour 1: the first 30 candidates are busy
    responses.add_callback(responses.POST, f"{GRAPH}/me/calendar/getSchedule", callback=schedule_answer(busy))
    needs = RoomNeeds(min_capacity=6)
    reader = RoomReader(box, "tid", START, START + timedelta(days=1), {needs: rooms})
    got = _with_rooms([itinerary(0), itinerary(1), itinerary(2)], [needs], reader, limit=3)
    assert [it.rooms[0].email for it in got] == [rooms[0].email, rooms[30].email, rooms[0].email]
    assert reader.checked() == 60 and len(responses.calls) == 3  # waves of 1, then 2 calls


@responses.activate
def test_a_slot_with_no_free_room_is_left_out_and_limit_stops_the_reads(box):
    rooms = [room(n) for n in range(45)]
    responses.add_callback(
        responses.POST,
        f"{GRAPH}/me/calendar/getSchedule",
        callback=schedule_answer({r.email: [0] for r in rooms}),
    )
    needs = RoomNeeds()
    reader = RoomReader(box, "tid", START, START + timedelta(days=1), {needs: rooms})
    got = _with_rooms([itinerary(0), itinerary(2), itinerary(3), itinerary(4)], [needs], reader, limit=2)
    assert [it.placed[0].start for it in got] == [START + timedelta(hours=2), START + timedelta(hours=3)]
    assert reader.checked() == 45


@responses.activate
def test_a_loop_prefers_one_room_free_for_every_session(box):
    rooms = [room(n) for n in range(3)]
    busy = {rooms[0].email: [1], rooms[1].email: [0]}  # only room 2 is free for both sessions
    responses.add_callback(responses.POST, f"{GRAPH}/me/calendar/getSchedule", callback=schedule_answer(busy))
    needs = RoomNeeds()
    reader = RoomReader(box, "tid", START, START + timedelta(days=1), {needs: rooms})
    [loop] = _with_rooms([itinerary(0, 1)], [needs, needs], reader, limit=1)
    assert [r.email for r in loop.rooms] == [rooms[2].email, rooms[2].email]
    reader.busy[rooms[2].email] = [rules.Interval(START, START + timedelta(hours=2))]
    [split] = _with_rooms([itinerary(0, 1)], [needs, needs], reader, limit=1)
    assert [r.email for r in split.rooms] == [rooms[0].email, rooms[1].email]
