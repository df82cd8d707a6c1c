"""A key-rotation mistake (TOKEN_ENCRYPTION_KEYS lost the key the caches were sealed with) fails
closed with configuration_error; it never marks the links dead."""

import base64

import pytest

from shared import reactions
from shared.errors import ConfigurationError, ReauthRequired
from shared.mailbox import credentials
from shared.models import Account, AccountStatus, MicrosoftAccount


def key(fill: bytes) -> str:
    return base64.urlsafe_b64encode(fill * 32).decode()


@pytest.fixture
def account(app_env):
    app_env(TOKEN_ENCRYPTION_KEYS=key(b"o"))
    acct = MicrosoftAccount("co", "tid", Account("oid", "u@t.test", "U"), AccountStatus.ACTIVE)
    acct.token_cache = credentials.seal_cache(acct, "{}")
    return acct


@pytest.fixture
def deaths(monkeypatch):
    died: list[MicrosoftAccount] = []
    monkeypatch.setattr(reactions.credential_died, "_handler", died.append)
    return died


def test_a_dropped_key_is_a_configuration_error_not_a_dead_link(app_env, account, deaths):
    app_env(TOKEN_ENCRYPTION_KEYS=key(b"n"))  # rotated, but the old key was dropped
    with pytest.raises(ConfigurationError):
        credentials.Mailbox(account).token()
    assert deaths == []


def test_a_damaged_cache_is_still_a_dead_credential(app_env, account, deaths):
    blob = bytearray(base64.urlsafe_b64decode(account.token_cache))
    blob[-1] ^= 1
    account.token_cache = base64.urlsafe_b64encode(bytes(blob)).decode()
    with pytest.raises(ReauthRequired):
        credentials.Mailbox(account).token()
    assert deaths == [account]
