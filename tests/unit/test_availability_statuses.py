"""getSchedule `status` values arrive in either case (the field); they are compared case-insensitively."""

from shared.usecases.interviews.availability import _schedule


def test_statuses_in_any_case_are_kept_and_canonical():
    info = {
        "scheduleId": "room@x.test",
        "availabilityView": "0220",
        "scheduleItems": [
            {
                "status": "Busy",
                "start": {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-01T02:00:00.0000000", "timeZone": "UTC"},
            },
            {
                "status": "WORKINGELSEWHERE",
                "start": {"dateTime": "2026-12-01T03:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-01T04:00:00", "timeZone": "UTC"},
            },
            {
                "status": "Free",
                "start": {"dateTime": "2026-12-01T05:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-01T06:00:00", "timeZone": "UTC"},
            },
        ],
    }
    out = _schedule(info, "Asia/Tokyo").to_json()
    assert out["busy"] == [
        {"start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00", "status": "busy"},
        {"start": "2026-12-01T12:00:00", "end": "2026-12-01T13:00:00", "status": "workingElsewhere"},
    ]
