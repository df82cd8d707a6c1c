from datetime import timedelta

import pytest

from shared.models import ACTIVE, RENEWAL_REQUIRED, Account, TenantLink, utcnow
from shared.services.rooms import is_stale


def link(synced_ago: timedelta | None, status: str = ACTIVE) -> TenantLink:
    return TenantLink("co", "t", "T", status, Account("a", "a@t", "A"), "h", utcnow(),
                      rooms_synced_at=None if synced_ago is None else utcnow() - synced_ago)


@pytest.mark.parametrize("synced_ago,status,stale", [
    (None, ACTIVE, True),                                  # never synced
    (timedelta(hours=1), ACTIVE, False),
    (timedelta(hours=11, minutes=59), ACTIVE, False),      # under 2 x 6 h
    (timedelta(hours=12, minutes=1), ACTIVE, True),        # over 2 x 6 h
    (timedelta(minutes=1), RENEWAL_REQUIRED, True),
])
def test_stale_rule(app_env, synced_ago, status, stale):
    assert is_stale(link(synced_ago, status)) is stale


def test_stale_follows_the_schedule(app_env):
    app_env(ROOM_REFRESH_SCHEDULE="0 */10 * * * *")
    assert is_stale(link(timedelta(minutes=21))) is True
    assert is_stale(link(timedelta(minutes=19))) is False
