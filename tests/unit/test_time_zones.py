"""IANA -> Windows time zones (Graph takes Windows names), and local times across DST changes."""

import pytest

from shared.domain.event_input import parse_create, utc_local, utc_slot, zone
from shared.domain.event_to_graph import in_utc, to_graph
from shared.domain.event_view import local_time
from shared.errors import GraphError, GraphUnavailable, ValidationFailed
from shared.time_zones import zone_refused
from shared.windows_zones import GOLDEN, IANA_TO_WINDOWS
from tests.unit.test_event_input import BASE


def test_the_table_is_cldr_as_tzlocal_ships_it():
    from tzlocal.windows_tz import tz_win, win_tz

    assert IANA_TO_WINDOWS == {iana: windows for iana, windows in tz_win.items() if iana}
    assert GOLDEN == win_tz
    assert set(IANA_TO_WINDOWS.values()) <= set(GOLDEN)  # every Windows name has a zone to render it in


@pytest.mark.parametrize(
    "iana,windows",
    [
        ("Asia/Tokyo", "Tokyo Standard Time"),
        ("Europe/Amsterdam", "W. Europe Standard Time"),  # not on Graph's IANA list: sent by its Windows name
        ("Asia/Ho_Chi_Minh", "SE Asia Standard Time"),
        ("America/Vancouver", IANA_TO_WINDOWS["America/Vancouver"]),
        ("Etc/GMT+2", "UTC-02"),  # on Graph's list, refused by the old check
        ("UTC", "UTC"),
    ],
)
def test_zones_with_a_windows_equivalent_are_sent_by_that_name(iana, windows):
    event = parse_create({**BASE, "time_zone": iana})
    graph = to_graph(event, {"room1@contoso.test": "Room"}, "tx")
    assert graph["start"]["timeZone"] == graph["end"]["timeZone"] == windows


@pytest.mark.parametrize(
    "name", ["posix/Asia/Tokyo", "right/UTC", "Factory", "Mars/Olympus", "asia/tokyo", "", None, 9, ["Asia/Tokyo"]]
)
def test_zones_without_a_windows_equivalent_are_refused(name):
    with pytest.raises(ValidationFailed) as info:
        zone(name)
    assert info.value.code == "invalid_time_zone"


def test_a_time_skipped_by_spring_forward_is_refused():
    for tz, skipped in [("America/New_York", "2026-03-08T02:30:00"), ("Europe/Amsterdam", "2026-03-29T02:30:00")]:
        with pytest.raises(ValidationFailed) as info:
            parse_create({**BASE, "time_zone": tz, "start": skipped, "end": skipped[:11] + "04:00:00"})
        assert info.value.code == "invalid_datetime"


def test_an_interview_across_fall_back_is_measured_in_real_time():
    # 00:30-01:30 on the night New York falls back: the wall clock says 1 h, and the first 01:30 is meant.
    parse_create(
        {**BASE, "time_zone": "America/New_York", "start": "2026-11-01T00:30:00", "end": "2026-11-01T01:30:00"}
    )
    with pytest.raises(ValidationFailed):
        parse_create(
            {**BASE, "time_zone": "America/New_York", "start": "2026-11-01T01:30:00", "end": "2026-11-01T01:30:00"}
        )


@pytest.mark.parametrize(
    "utc,tz,local",
    [
        ("2026-11-01T05:30:00.0000000", "America/New_York", "2026-11-01T01:30:00"),  # EDT, before fall-back
        ("2026-11-01T06:30:00.0000000", "America/New_York", "2026-11-01T01:30:00"),  # EST, the repeated hour
        ("2026-03-08T07:00:00.0000000", "America/New_York", "2026-03-08T03:00:00"),  # just after spring-forward
        ("2026-03-29T00:59:00.0000000", "Europe/Amsterdam", "2026-03-29T01:59:00"),
        ("2026-03-29T01:00:00.0000000", "Europe/Amsterdam", "2026-03-29T03:00:00"),
        ("2026-12-01T01:00:00.0000000", "Asia/Ho_Chi_Minh", "2026-12-01T08:00:00"),
    ],
)
def test_answers_in_utc_render_in_the_callers_zone_across_dst(utc, tz, local):
    assert local_time({"dateTime": utc, "timeZone": "UTC"}, tz) == local


def test_an_answer_in_a_windows_zone_renders_through_its_cldr_zone():
    # Should Graph ignore `Prefer: outlook.timezone="UTC"`, a Windows name is read as its golden zone.
    assert (
        local_time({"dateTime": "2026-07-01T10:00:00.0000000", "timeZone": "W. Europe Standard Time"}, "Asia/Tokyo")
        == "2026-07-01T17:00:00"
    )


# ---- the 2026 laws (tzdata 2026b-e): British Columbia, Alberta/NWT, Manitoba, Morocco stopped changing clocks

WINTER_2027 = [
    ("America/Vancouver", "British Columbia Standard Time", "2027-01-15T17:00:00"),  # UTC-7, was -8
    ("America/Edmonton", "Alberta Standard Time", "2027-01-15T16:00:00"),  # UTC-6, was -7
    ("America/Yellowknife", "Alberta Standard Time", "2027-01-15T16:00:00"),  # the Northwest Territories
    ("America/Winnipeg", "Manitoba Standard Time", "2027-01-15T15:00:00"),  # UTC-5, was -6
    ("Africa/Casablanca", "Morocco Standard Time", "2027-01-15T10:00:00"),  # UTC+0, was +1
    ("America/Los_Angeles", "Pacific Standard Time", "2027-01-15T18:00:00"),  # still changes: PST
]


@pytest.mark.parametrize("iana,windows,utc", WINTER_2027)
def test_a_10_00_interview_in_winter_2027_is_at_the_instant_the_law_says(iana, windows, utc):
    event = parse_create({**BASE, "time_zone": iana, "start": "2027-01-15T10:00:00", "end": "2027-01-15T11:00:00"})
    graph = to_graph(event, {}, "tx")
    assert graph["start"] == {"dateTime": "2027-01-15T10:00:00", "timeZone": windows}  # the current CLDR id
    assert in_utc(graph, event)["start"] == {"dateTime": utc, "timeZone": "UTC"}  # the fallback's instant
    assert utc_slot(event.start, event.end, iana)[0].strftime("%Y-%m-%dT%H:%M:%S") == utc  # conflict checks, finder
    assert local_time({"dateTime": utc + ".0000000", "timeZone": "UTC"}, iana) == "2027-01-15T10:00:00"  # GET


@pytest.mark.parametrize(
    "iana,local,utc",
    [
        ("America/Vancouver", "2027-07-15T10:00:00", "2027-07-15T17:00:00"),  # no summer time either: one offset
        ("America/Los_Angeles", "2027-07-15T10:00:00", "2027-07-15T17:00:00"),  # PDT
        ("America/Los_Angeles", "2027-03-14T01:59:00", "2027-03-14T09:59:00"),  # before spring-forward (PST)
        ("America/Los_Angeles", "2027-03-14T03:00:00", "2027-03-14T10:00:00"),  # after it (PDT)
        ("America/New_York", "2027-11-07T00:59:00", "2027-11-07T04:59:00"),  # before fall-back (EDT)
        ("America/New_York", "2027-11-07T01:30:00", "2027-11-07T05:30:00"),  # the repeated hour: its first time
        ("America/New_York", "2027-11-07T02:00:00", "2027-11-07T07:00:00"),  # after it (EST)
    ],
)
def test_zones_that_still_change_keep_their_2027_edges(iana, local, utc):
    assert utc_local(local, iana) == utc
    assert local_time({"dateTime": utc + ".0000000", "timeZone": "UTC"}, iana) == local


def test_the_spring_forward_gap_of_2027_is_refused():
    with pytest.raises(ValidationFailed) as info:
        parse_create(
            {**BASE, "time_zone": "America/New_York", "start": "2027-03-14T02:30:00", "end": "2027-03-14T04:00:00"}
        )
    assert info.value.code == "invalid_datetime"


def test_the_fallback_in_utc_changes_only_the_times():
    event = parse_create(
        {**BASE, "time_zone": "America/Vancouver", "start": "2027-01-15T10:00:00", "end": "2027-01-15T11:00:00"}
    )
    graph = to_graph(event, {}, "tx")
    utc = in_utc(graph, event)
    assert utc["end"] == {"dateTime": "2027-01-15T18:00:00", "timeZone": "UTC"}
    assert {k: v for k, v in utc.items() if k not in ("start", "end")} == {
        k: v for k, v in graph.items() if k not in ("start", "end")
    }
    assert in_utc({"subject": "x"}, event) == {"subject": "x"}  # a PATCH without times stays as it is


@pytest.mark.parametrize(
    "error,refused",
    [
        (GraphError(status=400, graph_code="TimeZoneNotSupportedException"), True),
        (GraphError(status=400, graph_code="ErrorInvalidRequest"), False),
        (GraphError(status=500, graph_code="TimeZoneNotSupportedException"), False),
        (GraphUnavailable(status=400, graph_code="TimeZoneNotSupportedException"), False),
    ],
)
def test_only_graphs_time_zone_refusal_makes_the_service_send_utc(error, refused):
    assert zone_refused(error) is refused
