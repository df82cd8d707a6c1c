"""IANA -> Windows time zones (Graph takes Windows names), and local times across DST changes."""

import pytest

from shared.domain.event_input import parse_create, zone
from shared.domain.event_to_graph import to_graph
from shared.domain.event_view import local_time
from shared.errors import ValidationFailed
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
