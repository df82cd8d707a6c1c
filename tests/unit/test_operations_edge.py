"""The operations edge without I/O: request ids in error bodies and log lines, the anonymous
health answer when storage is down, the client secret's expiry in health and the log."""

import json
import logging
from datetime import UTC, datetime, timedelta

import azure.functions as func

from functions import operations
from shared import correlation
from shared.errors import GraphUnavailable
from shared.http import handler
from shared.storage import base
from shared.usecases.operations import health


def request(method: str = "GET", url: str = "http://x/api/y") -> func.HttpRequest:
    return func.HttpRequest(method, url, body=b"", headers={})


def test_an_error_body_and_every_log_line_of_the_request_carry_its_request_id(caplog):
    def fn(req):
        logging.getLogger("outlook.anything").warning("working on it")
        raise GraphUnavailable()

    with caplog.at_level(logging.INFO):
        answer = handler(fn)(request())
    rid = json.loads(answer.get_body())["error"]["request_id"]
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == rid]
    assert {r.getMessage() for r in lines} >= {
        f"working on it [request_id={rid}]",
        f"fn failed: graph_unavailable: Microsoft Graph is throttling or unavailable; retry later. [request_id={rid}]",
    }
    logging.getLogger("outlook.anything").warning("after the request")
    assert not hasattr(caplog.records[-1], "request_id") and correlation.actor() == "system"


def test_two_requests_have_two_request_ids():
    def fn(req):
        raise GraphUnavailable()

    first, second = (json.loads(handler(fn)(request()).get_body())["error"]["request_id"] for _ in range(2))
    assert first and second and first != second


def test_health_is_503_unavailable_when_storage_does_not_answer(app_env, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("refused")

    monkeypatch.setattr(base, "read", down)
    answer = operations.service_health(request(url="http://x/api/health"))
    assert answer.status_code == 503 and json.loads(answer.get_body()) == {"status": "unavailable"}


def test_the_client_secrets_expiry_is_shown_and_warned_30_days_ahead(app_env, caplog):
    soon = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    app_env(MS_CLIENT_SECRET_EXPIRES_AT=soon)
    with caplog.at_level(logging.WARNING):
        assert health.client_credential() == {"kind": "secret", "expires_at": soon}
    assert any("expires at " + soon in r.getMessage() for r in caplog.records)

    caplog.clear()
    app_env(MS_CLIENT_SECRET_EXPIRES_AT=(datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d"))
    with caplog.at_level(logging.WARNING):
        assert health.client_credential()["expires_at"].endswith("T00:00:00Z")
    assert not caplog.records
    app_env(MS_CLIENT_CREDENTIAL="federated")
    assert health.client_credential() == {"kind": "federated", "expires_at": None}
