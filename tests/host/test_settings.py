import json

import pytest

from devtools.host.settings import (
    DEV_KEY,
    SettingError,
    expand_development_storage,
    load_host_config,
    load_local_settings,
    parse_timespan,
    resolve_placeholders,
    storage_connection_string,
)


def test_placeholders_resolve_from_environment():
    env = {"SCHED": "0 0 */6 * * *", "Q": "room-sync"}
    assert resolve_placeholders("%SCHED%", env) == "0 0 */6 * * *"
    assert resolve_placeholders("pre-%Q%-%Q%", env) == "pre-room-sync-room-sync"
    assert resolve_placeholders("no placeholder", env) == "no placeholder"
    assert resolve_placeholders(True, env) is True
    with pytest.raises(SettingError, match="MISSING"):
        resolve_placeholders("%MISSING%", env)


def test_local_settings_are_defaults_environment_wins(tmp_path):
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": {"A": "file", "B": "file", "N": 3}})
    )
    env = {"B": "env"}
    load_local_settings(tmp_path, env)
    assert env == {"A": "file", "B": "env", "N": "3"}


def test_missing_local_settings_is_fine(tmp_path):
    env = {}
    assert load_local_settings(tmp_path, env) == {}
    assert env == {}


def test_host_json(tmp_path):
    assert load_host_config(tmp_path).route_prefix == "api"  # no host.json
    (tmp_path / "host.json").write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {
                    "http": {"routePrefix": ""},
                    "queues": {
                        "maxPollingInterval": "00:00:02",
                        "visibilityTimeout": "00:00:10",
                        "batchSize": 8,
                        "maxDequeueCount": 3,
                        "messageEncoding": "none",
                    },
                },
            }
        )
    )
    cfg = load_host_config(tmp_path)
    assert cfg.route_prefix == ""
    q = cfg.queues
    assert (q.max_polling_interval, q.visibility_timeout, q.batch_size, q.max_dequeue_count, q.message_encoding) == (
        2.0,
        10.0,
        8,
        3,
        "none",
    )


def test_host_json_defaults(tmp_path):
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    q = load_host_config(tmp_path).queues
    assert (q.max_polling_interval, q.max_dequeue_count, q.message_encoding) == (2.0, 5, "base64")


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("00:00:02", 2),
        ("00:01:00", 60),
        ("01:00:00", 3600),
        ("1.02:00:00", 93600),
        ("00:00:00.5", 0.5),
    ],
)
def test_timespan(text, seconds):
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize("text", ["2", "00:60:00", "abc", "24:00:00"])
def test_bad_timespan(text):
    with pytest.raises(SettingError):
        parse_timespan(text)


def test_development_storage():
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    conn = storage_connection_string(None, env)
    assert "AccountName=devstoreaccount1" in conn and DEV_KEY in conn
    assert "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" in conn
    env["AZURITE_QUEUE_ENDPOINT"] = "http://127.0.0.1:5555/devstoreaccount1"
    assert "QueueEndpoint=http://127.0.0.1:5555/devstoreaccount1;" in storage_connection_string(
        "AzureWebJobsStorage", env
    )
    real = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eA==;EndpointSuffix=core"
    assert expand_development_storage(real, env) == real
    assert storage_connection_string("Other", {"AzureWebJobsOther": real}) == real
    with pytest.raises(SettingError):
        storage_connection_string("Nope", env)


def test_make_writes_local_settings_with_a_random_secret_never_the_samples(tmp_path):
    from devtools.local_settings import ROOT, write_local_settings

    (tmp_path / "local.settings.sample.json").write_text((ROOT / "local.settings.sample.json").read_text())
    sample = json.loads((tmp_path / "local.settings.sample.json").read_text())["Values"]
    written = json.loads(write_local_settings(tmp_path).read_text())["Values"]
    assert written["HERP_JWT_SECRET"] != sample["HERP_JWT_SECRET"] and len(written["HERP_JWT_SECRET"]) >= 32
    assert {k: v for k, v in written.items() if k != "HERP_JWT_SECRET"} == {
        k: v for k, v in sample.items() if k != "HERP_JWT_SECRET"
    }
    (tmp_path / "local.settings.json").write_text('{"Values": {"HERP_JWT_SECRET": "mine"}}')
    assert json.loads(write_local_settings(tmp_path).read_text())["Values"] == {"HERP_JWT_SECRET": "mine"}


def test_app_settings_override_host_json(tmp_path):
    (tmp_path / "host.json").write_text(
        '{"version": "2.0", "extensions": {"queues": {"maxPollingInterval": "00:00:02"}}}'
    )
    environ = {
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.5",
        "AzureFunctionsJobHost__Extensions__Queues__maxDequeueCount": "3",
        "AzureFunctionsJobHost__extensions__http__routePrefix": "v2",
    }
    cfg = load_host_config(tmp_path, environ)
    assert (cfg.queues.max_polling_interval, cfg.queues.max_dequeue_count, cfg.route_prefix) == (0.5, 3, "v2")
    assert load_host_config(tmp_path, {}).queues.max_polling_interval == 2.0  # host.json's own value
    assert load_host_config(tmp_path / "none", environ).queues.max_polling_interval == 0.5  # no host.json
