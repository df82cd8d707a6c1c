"""HERP's slot rules with no I/O (shared.domain.slots and the search's input parsing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain import slots as rules
from shared.domain.slot_search import parse
from shared.errors import ValidationFailed

TOKYO = ZoneInfo("Asia/Tokyo")
MON = date(2027, 1, 18)  # a Monday with no holiday


def jst(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), TOKYO).astimezone(UTC)


def item(start: datetime, end: datetime, subject="Meeting", show_as="busy", response="organizer", cancelled=False):
    fmt = lambda m: {"dateTime": m.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}  # noqa: E731
    return {
        "subject": subject,
        "showAs": show_as,
        "isCancelled": cancelled,
        "responseStatus": {"response": response},
        "start": fmt(start),
        "end": fmt(end),
    }


def person(items=(), hours=rules.DEFAULT_HOURS, per_day=None, key="a") -> rules.Person:
    return rules.Person(key, hours, tuple(rules.busy_from_calendar(items)), per_day or {})


def starts(day, people_minutes, gap=0, max_per_day=None):
    sessions = [rules.Session(tuple(p), m) for p, m in people_minutes]
    return [
        [p.start.astimezone(TOKYO).strftime("%H:%M") for p in it]
        for it in rules.day_candidates(day, sessions, timedelta(minutes=gap), TOKYO, max_per_day)
    ]


def test_the_day_grid_starts_on_the_hour_and_half_hour_inside_the_hours():
    got = starts(MON, [([person()], 60)])
    assert got[0] == ["08:00"] and got[1] == ["08:30"] and got[-1] == ["21:00"]
    assert len(got) == 27  # 08:00 .. 21:00, every half hour
    assert [s[0] for s in starts(MON, [([person(hours=(time(9, 15), time(11, 0)))], 45)])] == ["09:30", "10:00"]


def test_each_interviewers_own_hours_bound_the_slot():
    early, late = person(hours=(time(8), time(12)), key="e"), person(hours=(time(10), time(18)), key="l")
    assert [s[0] for s in starts(MON, [([early, late], 60)])] == ["10:00", "10:30", "11:00"]


def test_items_block_unless_free_declined_cancelled_or_interview_ok():
    day = MON
    blocking = [item(jst(day, 9), jst(day, 10))]
    assert "09:00" not in [s[0] for s in starts(day, [([person(blocking)], 60)])]
    assert "08:30" not in [s[0] for s in starts(day, [([person(blocking)], 60)])]  # overlaps 09:00-09:30
    for kind in (
        {"show_as": "free"},
        {"response": "declined"},
        {"cancelled": True},
        {"subject": "[面接可] 1on1"},
    ):
        ok = [item(jst(day, 9), jst(day, 10), **kind)]
        assert "09:00" in [s[0] for s in starts(day, [([person(ok)], 60)])], kind
    for kind in (
        {"show_as": "tentative"},
        {"show_as": "oof"},
        {"show_as": "workingElsewhere"},
        {"subject": "【面接可】"},
    ):
        busy = [item(jst(day, 9), jst(day, 10), **kind)]
        assert "09:00" not in [s[0] for s in starts(day, [([person(busy)], 60)])], kind


def test_an_interview_ok_item_over_another_busy_item_still_blocks():
    items = [item(jst(MON, 9), jst(MON, 12), subject="[面接可] 作業"), item(jst(MON, 10), jst(MON, 11))]
    got = [s[0] for s in starts(MON, [([person(items)], 60)])]
    assert "09:00" in got and "11:00" in got
    assert "10:00" not in got and "09:30" not in got and "10:30" not in got


def test_schedule_statuses_of_others():
    info = {
        "scheduleItems": [
            {
                "status": s,
                "start": {"dateTime": f"2027-01-18T0{i}:00:00.0000000"},
                "end": {"dateTime": f"2027-01-18T0{i}:30:00.0000000"},
            }
            for i, s in enumerate(["busy", "tentative", "oof", "workingElsewhere", "free"])
        ]
    }
    assert len(rules.busy_from_schedule(info) or []) == 4
    assert rules.busy_from_schedule({"error": {"responseCode": "5009"}}) is None


def test_holidays_from_the_real_japanese_calendar_and_days_off():
    jp = rules.holiday_calendar("JP")
    assert jp(date(2027, 1, 1)) and jp(date(2027, 1, 11))  # 元日, 成人の日
    assert not jp(date(2027, 1, 12))
    days = rules.business_days(date(2027, 1, 1), 14, jp, [date(2027, 1, 13)])
    # 1/1 holiday, 1/2-3 weekend, 1/9-10 weekend, 1/11 成人の日, 1/13 a day off
    assert days == [date(2027, 1, d) for d in (4, 5, 6, 7, 8, 12, 14)]
    assert rules.business_days(date(2027, 1, 1), 1, rules.holiday_calendar(None), []) == [date(2027, 1, 1)]
    with pytest.raises(rules.UnknownHolidayCalendar):
        rules.holiday_calendar("XX")


def test_max_per_day_takes_the_whole_day_away():
    assert starts(MON, [([person(per_day={MON: 2})], 60)], max_per_day=2) == []
    assert starts(MON, [([person(per_day={MON: 1})], 60)], max_per_day=2)
    assert starts(MON, [([person(per_day={MON: 5})], 60)], max_per_day=None)


def test_loops_run_back_to_back_with_gaps_each_free_for_its_own_people():
    a = person([item(jst(MON, 8), jst(MON, 9))], key="a")  # a is busy 08-09
    b = person([item(jst(MON, 9, 30), jst(MON, 10))], key="b")  # b is busy 09:30-10
    got = starts(MON, [([a], 60), ([b], 60)], gap=15)
    # a 09:00-10:00 then b 10:15-11:15 is the first itinerary; b's own block only touches b's session
    assert got[0] == ["09:00", "10:15"]
    assert ["08:30", "09:45"] not in got
    late = starts(MON, [([a], 60), ([b], 60)], gap=0)
    assert late[-1] == ["20:00", "21:00"]  # the last session still ends by 22:00


def test_slot_ids_are_stable_and_depend_on_room():
    s, e = jst(MON, 9), jst(MON, 10)
    assert rules.slot_id([(s, e, "R1@x")]) == rules.slot_id([(s, e, "r1@x")])
    assert rules.slot_id([(s, e, "r1@x")]) != rules.slot_id([(s, e, "r2@x")])
    assert rules.slot_id([(s, e, None)]) != rules.slot_id([(s, e + timedelta(minutes=30), None)])


BASE = {"tenant_id": "t", "link_id": "l", "interviewers": [{"email": "a@x.example"}], "duration_minutes": 60}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"duration_minutes": 50}, "invalid_duration"),
        ({"days": 31}, "invalid_window"),
        ({"days": 0}, "invalid_window"),
        ({"from": "2027-01-01"}, "invalid_window"),
        ({"from": "9999-12-31"}, "invalid_window"),
        ({"from": "2027-02-30"}, "invalid_window"),
        ({"interviewers": [{"email": f"p{i}@x.example"} for i in range(21)]}, "too_many_interviewers"),
        ({"hours": {"start": "22:00", "end": "08:00"}}, "invalid_hours"),
        ({"hours": {"start": "8:00", "end": "22:00"}}, "invalid_hours"),
        ({"holidays": "XX"}, "unknown_holiday_calendar"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
        ({"sessions": [{"interviewers": [{"email": "a@x.example"}], "duration_minutes": 60}]}, "invalid_sessions"),
        ({"limit": 101}, "invalid_limit"),
    ],
)
def test_refusals(change, code):
    with pytest.raises(ValidationFailed) as exc:
        parse({**BASE, **change}, today=date(2027, 1, 5))
    assert exc.value.code == code


def test_defaults():
    search = parse(BASE, today=date(2027, 1, 5))
    assert search.first == date(2027, 1, 6) and search.days == 7 and search.min_slots == 10 and search.limit == 20
    assert search.time_zone == "Asia/Tokyo" and search.holidays(date(2027, 1, 11))
    assert parse({**BASE, "holidays": None}, today=date(2027, 1, 5)).holidays(date(2027, 1, 11)) is False
