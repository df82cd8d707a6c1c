from datetime import timedelta

import pytest

from shared.models import Account, TenantLink, TenantStatus, utcnow
from shared.usecases.rooms.rooms import is_stale


def link(synced_ago: timedelta | None, status: str = TenantStatus.ACTIVE) -> TenantLink:
    return TenantLink(
        "co",
        "t",
        "T",
        status,
        Account("a", "a@t", "A"),
        "h",
        utcnow(),
        rooms_synced_at=None if synced_ago is None else utcnow() - synced_ago,
    )


@pytest.mark.parametrize(
    "synced_ago,status,stale",
    [
        (None, TenantStatus.ACTIVE, True),  # never synced
        (timedelta(hours=1), TenantStatus.ACTIVE, False),
        (timedelta(hours=11, minutes=59), TenantStatus.ACTIVE, False),  # under 2 x 6 h
        (timedelta(hours=12, minutes=1), TenantStatus.ACTIVE, True),  # over 2 x 6 h
        (timedelta(minutes=1), TenantStatus.RENEWAL_REQUIRED, True),
    ],
)
def test_stale_rule(app_env, synced_ago, status, stale):
    assert is_stale(link(synced_ago, status)) is stale


def test_stale_follows_the_schedule(app_env):
    app_env(ROOM_REFRESH_SCHEDULE="0 */10 * * * *")
    assert is_stale(link(timedelta(minutes=21))) is True
    assert is_stale(link(timedelta(minutes=19))) is False
