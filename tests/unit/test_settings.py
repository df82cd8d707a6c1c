import base64

import pytest

from shared.errors import ConfigurationError
from shared.settings import DEFAULT_AUTHORITY_HOST, get_settings


def test_missing_required_setting_names_itself(app_env):
    app_env(MS_CLIENT_ID=None)
    with pytest.raises(ConfigurationError, match="MS_CLIENT_ID"):
        get_settings().require("client_id")


def test_defaults_apply_and_trailing_slashes_go(app_env):
    app_env(MS_AUTHORITY_HOST=None, MS_GRAPH_ENDPOINT="https://graph.example.test/v1.0/")
    s = get_settings()
    assert s.authority_host == DEFAULT_AUTHORITY_HOST
    assert s.graph_endpoint == "https://graph.example.test/v1.0"
    assert s.room_refresh_schedule == "0 0 */6 * * *"


def test_settings_are_read_once(app_env, monkeypatch):
    first = get_settings()
    monkeypatch.setenv("MS_CLIENT_ID", "changed")
    assert get_settings() is first


def test_encryption_keys_accept_missing_padding_and_several_keys(app_env):
    k1 = base64.urlsafe_b64encode(b"a" * 32).decode().rstrip("=")
    k2 = base64.urlsafe_b64encode(b"b" * 32).decode()
    app_env(TOKEN_ENCRYPTION_KEYS=f"{k1}, {k2}")
    assert get_settings().encryption_keys() == (b"a" * 32, b"b" * 32)


@pytest.mark.parametrize("bad", ["not-base64!!", base64.urlsafe_b64encode(b"short").decode(), " , "])
def test_bad_encryption_keys_are_a_configuration_error(app_env, bad):
    app_env(TOKEN_ENCRYPTION_KEYS=bad)
    with pytest.raises(ConfigurationError, match="TOKEN_ENCRYPTION_KEYS"):
        get_settings().encryption_keys()


def test_secrets_do_not_show_in_repr(app_env):
    text = repr(get_settings())
    assert "unit-test-client-secret" not in text
    assert "test-herp-jwt-secret" not in text


@pytest.mark.parametrize("schedule,seconds", [("0 0 */6 * * *", 21600), ("0 */5 * * * *", 300), ("00:10:00", 600)])
def test_room_refresh_interval(app_env, schedule, seconds):
    app_env(ROOM_REFRESH_SCHEDULE=schedule)
    assert get_settings().room_refresh_interval_seconds() == seconds


def test_bad_room_refresh_schedule_is_a_configuration_error(app_env):
    app_env(ROOM_REFRESH_SCHEDULE="every six hours")
    with pytest.raises(ConfigurationError, match="ROOM_REFRESH_SCHEDULE"):
        get_settings().room_refresh_interval_seconds()
