"""Time zone names the emulator's Graph takes: Windows ids plus the IANA names listed on
resources/datetimetimezone.md, in bodies, in `Prefer: outlook.timezone` and in getSchedule."""

from __future__ import annotations

import pytest

from devtools.emulator.timezones import LISTED_IANA

from .calendar_helpers import EMI, assert_graph_error, event_body, schedule_body

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
UNLISTED = ("America/Vancouver", "Asia/Ho_Chi_Minh", "Europe/Amsterdam", "Etc/UTC", "Asia/Hong_Kong")


def test_the_list_is_the_docs_list():
    # 99 names on the page, four of them with a second spelling in parentheses.
    assert len(LISTED_IANA) == 99 + 4
    assert {
        "Etc/GMT+2",
        "Europe/Kyiv",
        "Europe/Kiev",
        "Asia/Toshkent",
        "Asia/Tashkent",
        "Asia/Astana",
        "Asia/Almaty",
        "Asia/Yangon",
        "Asia/Rangoon",
    } <= set(LISTED_IANA)
    assert not set(UNLISTED) & set(LISTED_IANA)


@pytest.mark.parametrize("name", UNLISTED)
def test_unlisted_iana_names_are_refused_everywhere(emu, emi, name):
    err = assert_graph_error(
        emi.call("POST", "/me/events", json=event_body(tz=name)), 400, "TimeZoneNotSupportedException"
    )
    assert err["message"] == (
        f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'."
    )
    e = emi.call("POST", "/me/events", json=event_body()).json()
    patch = {"end": {"dateTime": "2026-12-01T12:00:00", "timeZone": name}}
    assert_graph_error(emi.call("PATCH", f"/me/events/{e['id']}", json=patch), 400, "TimeZoneNotSupportedException")
    assert_graph_error(
        emi.call("GET", f"/me/events/{e['id']}", headers={"Prefer": f'outlook.timezone="{name}"'}),
        400,
        "TimeZoneNotSupportedException",
    )
    body = schedule_body([EMI])
    body["startTime"]["timeZone"] = name
    assert_graph_error(emi.call("POST", "/me/calendar/getSchedule", json=body), 400, "TimeZoneNotSupportedException")
    assert_graph_error(
        emi.call(
            "POST",
            "/me/calendar/getSchedule",
            json=schedule_body([EMI]),
            headers={"Prefer": f'outlook.timezone="{name}"'},
        ),
        400,
        "TimeZoneNotSupportedException",
    )


def test_listed_names_and_windows_ids_are_taken(emu, emi):
    # Etc/GMT+2 is two hours *behind* UTC (POSIX sign).
    e = emi.call(
        "POST", "/me/events", json=event_body(tz="Etc/GMT+2", start="2026-12-01T10:00:00", end="2026-12-01T11:00:00")
    )
    assert e.status_code == 201, e.text
    assert e.json()["start"] == {"dateTime": "2026-12-01T12:00:00.0000000", "timeZone": "UTC"}
    assert e.json()["originalStartTimeZone"] == "Etc/GMT+2"
    for name in (
        "Europe/Kiev",
        "Europe/Kyiv",
        "Asia/Toshkent",
        "Asia/Astana",
        "asia/tokyo",
        "UTC",
        "Pacific Standard Time",
    ):
        assert emi.call("POST", "/me/events", json=event_body(tz=name)).status_code == 201, name
    # A Windows name in Prefer renders the times there (DST included) and answers that name.
    summer = emi.call(
        "POST", "/me/events", json=event_body(tz="UTC", start="2026-07-01T17:00:00", end="2026-07-01T18:00:00")
    ).json()
    pacific = {"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    got = emi.call("GET", f"/me/events/{summer['id']}", headers=pacific)
    assert got.json()["start"] == {"dateTime": "2026-07-01T10:00:00.0000000", "timeZone": "Pacific Standard Time"}
    assert got.headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'
    winter = emi.call("GET", f"/me/events/{e.json()['id']}", headers=pacific).json()
    assert winter["start"] == {"dateTime": "2026-12-01T04:00:00.0000000", "timeZone": "Pacific Standard Time"}
    sched = emi.call(
        "POST",
        "/me/calendar/getSchedule",
        headers=pacific,
        json=schedule_body([EMI], start="2026-07-01T12:00:00", end="2026-07-02T12:00:00", interval=60),
    ).json()
    item = next(i for i in sched["value"][0]["scheduleItems"] if i["start"]["dateTime"].startswith("2026-07-01T10"))
    assert item["start"]["timeZone"] == "Pacific Standard Time"


@pytest.mark.parametrize(
    "windows,utc",
    [
        ("British Columbia Standard Time", "2027-01-15T17:00:00.0000000"),  # UTC-7 all year from Nov 2026
        ("Alberta Standard Time", "2027-01-15T16:00:00.0000000"),
        ("Manitoba Standard Time", "2027-01-15T15:00:00.0000000"),
        ("Morocco Standard Time", "2027-01-15T10:00:00.0000000"),  # UTC+0 from 2026 (tzdata 2026e)
        ("Pacific Standard Time", "2027-01-15T18:00:00.0000000"),  # the old id keeps its old rules
    ],
)
def test_instants_follow_the_2026_laws(emu, emi, windows, utc):
    body = event_body(tz=windows, start="2027-01-15T10:00:00", end="2027-01-15T11:00:00")
    e = emi.call("POST", "/me/events", json=body)
    assert e.status_code == 201, e.text
    assert e.json()["start"] == {"dateTime": utc, "timeZone": "UTC"}
    back = emi.call("GET", f"/me/events/{e.json()['id']}", headers={"Prefer": f'outlook.timezone="{windows}"'})
    assert back.json()["start"] == {"dateTime": "2027-01-15T10:00:00.0000000", "timeZone": windows}


def test_an_exchange_without_kb5124010_refuses_the_2026_ids(emu, emi):
    assert emu.control("GET", "time-zones")["accept_2026_ids"] is True
    assert emu.control("POST", "time-zones", json={"accept_2026_ids": False})["accept_2026_ids"] is False
    e = emi.call("POST", "/me/events", json=event_body()).json()
    for name in ("British Columbia Standard Time", "alberta standard time", "Manitoba Standard Time"):
        body = event_body(tz=name, start="2027-01-15T10:00:00", end="2027-01-15T11:00:00")
        err = assert_graph_error(emi.call("POST", "/me/events", json=body), 400, "TimeZoneNotSupportedException")
        assert name in err["message"]
        patch = {"start": body["start"], "end": body["end"]}
        assert_graph_error(emi.call("PATCH", f"/me/events/{e['id']}", json=patch), 400, "TimeZoneNotSupportedException")
        prefer = {"Prefer": f'outlook.timezone="{name}"'}
        assert_graph_error(
            emi.call("GET", f"/me/events/{e['id']}", headers=prefer), 400, "TimeZoneNotSupportedException"
        )
        sched = schedule_body([EMI])
        sched["endTime"]["timeZone"] = name
        assert_graph_error(
            emi.call("POST", "/me/calendar/getSchedule", json=sched), 400, "TimeZoneNotSupportedException"
        )
    # Nothing was changed by the refused PATCH; the other ids (Morocco's kept its name) still work.
    assert emi.call("GET", f"/me/events/{e['id']}").json()["start"] == e["start"]
    for name in ("Morocco Standard Time", "Pacific Standard Time", "UTC", "America/Los_Angeles"):
        assert emi.call("POST", "/me/events", json=event_body(tz=name)).status_code == 201, name
    emu.control("POST", "reset")
    assert emu.control("GET", "time-zones")["accept_2026_ids"] is True


def test_the_time_zones_control_route_checks_its_body(emu):
    r = emu.http.post(f"{emu.base}/_emulator/time-zones", json={"accept_2026_ids": "no"}, timeout=10)
    assert r.status_code == 400
