"""Event retention: which mappings the daily run deletes (EVENT_RETENTION_DAYS after the end)."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.event_input import EventInput
from shared.errors import ConfigurationError
from shared.models import EventRecord
from shared.settings import get_settings
from shared.usecases.operations import retention

NOW = datetime(2026, 12, 6, 3, 45, tzinfo=UTC)


def record(end: str, *, time_zone: str = "Asia/Tokyo", locked_until: datetime | None = None) -> EventRecord:
    event = EventInput(
        schedule_id="s",
        link_id="l",
        calendar_id=None,
        subject="面接",
        body=None,
        start=end[:11] + "00:00:00",
        end=end,
        time_zone=time_zone,
    )
    return EventRecord(
        company_id="co",
        schedule_id="s",
        link_id="l",
        tenant_id="t",
        account_id="a",
        calendar_id=None,
        transaction_id="x",
        input_hash="h",
        input_json=event.to_json_text(),
        locked_until=locked_until,
    )


def test_a_mapping_goes_only_when_its_interview_ended_more_than_the_retention_ago():
    # 180 days before NOW is 2026-06-09T03:45Z = 12:45 in Tokyo.
    assert retention.expired(record("2026-06-09T12:44:00"), NOW, 180)
    assert not retention.expired(record("2026-06-09T12:46:00"), NOW, 180)
    assert not retention.expired(record("2026-06-09T12:44:00", time_zone="America/Los_Angeles"), NOW, 180)
    assert retention.expired(record("2025-01-01T10:00:00"), NOW, 180)
    assert not retention.expired(record("2027-01-01T10:00:00"), NOW, 180)  # a future interview stays


def test_a_row_being_edited_or_unreadable_stays():
    assert not retention.expired(record("2025-01-01T10:00:00", locked_until=NOW + timedelta(minutes=1)), NOW, 180)
    broken = record("2025-01-01T10:00:00")
    broken.input_json = "{"
    assert not retention.expired(broken, NOW, 180)


def test_retention_days_default_and_validation(app_env):
    assert get_settings().retention_days("event") == 180 and get_settings().retention_days("audit") == 400
    app_env(EVENT_RETENTION_DAYS="30", AUDIT_RETENTION_DAYS="abc")
    assert get_settings().retention_days("event") == 30
    with pytest.raises(ConfigurationError):
        get_settings().retention_days("audit")
