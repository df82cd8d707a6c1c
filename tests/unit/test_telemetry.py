"""Telemetry: invocations as request spans, Graph and identity calls as dependency spans, metrics;
and no token, code, state or secret in any span attribute or exported log line."""

from __future__ import annotations

import datetime as dt
import json
import logging

import azure.functions as func
import pytest
import responses
from azure.functions.queue import QueueMessage
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import graph, telemetry
from shared.http import handler, json_response
from shared.triggers import background

GRAPH = "https://graph.example.test/v1.0"
TOKEN = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhY2NvdW50In0.c2lnbmF0dXJl"
SECRETS = (TOKEN, "sig=", "the-code", "the-state", "hanako@contoso.test", "Bearer ey")


@pytest.fixture
def spans(app_env):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    reader = InMemoryMetricReader()
    telemetry.reset()
    telemetry.use(provider, MeterProvider(metric_readers=[reader]), {telemetry.QUEUE_DEPTH: lambda: {"q-poison": 2}})
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # after the redactor, as in Azure
    exporter.reader = reader  # type: ignore[attr-defined]
    yield exporter
    telemetry.reset()


def everything(exporter) -> str:
    return json.dumps(
        [
            {"name": s.name, "attributes": dict(s.attributes or {}), "events": len(s.events)}
            for s in exporter.get_finished_spans()
        ]
    )


@responses.activate
def test_graph_call_is_a_dependency_without_token_or_query(spans):
    responses.get(f"{GRAPH}/me/calendarView", json={"value": []}, headers={"request-id": "graph-req-1"})
    graph.get(
        "me/calendarView",
        TOKEN,
        params={"$filter": "attendees/any(a: a/emailAddress/address eq 'hanako@contoso.test')"},
    )
    sent = responses.calls[0].request.headers["client-request-id"]  # a fresh one per call (shared.graph)
    [span] = spans.get_finished_spans()
    assert span.kind == SpanKind.CLIENT
    assert span.attributes["url.full"] == f"{GRAPH}/me/calendarView"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["outlook.dependency"] == "graph"
    assert (span.attributes["graph.client_request_id"], span.attributes["graph.request_id"]) == (sent, "graph-req-1")
    text = everything(spans)
    assert not [s for s in SECRETS if s in text], text


@responses.activate
def test_identity_call_is_a_dependency(spans):
    from shared.outbound import session

    responses.post("https://login.example.test/t/oauth2/v2.0/token", json={"error": "invalid_grant"}, status=400)
    session().post(
        "https://login.example.test/t/oauth2/v2.0/token?client_secret=s3cret",
        data={"code": "the-code", "client_secret": "s3cret"},
    )
    [span] = spans.get_finished_spans()
    assert span.attributes["outlook.dependency"] == "identity"
    assert span.attributes["url.full"] == "https://login.example.test/t/oauth2/v2.0/token"
    assert "s3cret" not in everything(spans) and "the-code" not in everything(spans)


def test_other_instrumentations_are_redacted_too(spans):
    """An SDK span (storage) with a SAS URL and headers, set at start and later."""
    tracer = telemetry._tracer
    with tracer.start_as_current_span(
        "GET https://acct.queue.core.windows.net/q?sig=abc&se=2027",
        attributes={"url.full": "https://acct.queue.core.windows.net/q?sig=abc&se=2027"},
    ) as span:
        span.set_attribute("http.request.header.authorization", "Bearer " + TOKEN)
        span.set_attribute("url.query", "sig=abc")
        span.set_attribute("note", "redirect to https://hire.herp.test/cb?code=the-code&state=the-state")
    [done] = spans.get_finished_spans()
    assert done.attributes["url.full"] == "https://acct.queue.core.windows.net/q"
    assert "url.query" not in done.attributes and "http.request.header.authorization" not in done.attributes
    assert done.attributes["note"] == "redirect to https://hire.herp.test/cb"
    assert not [s for s in SECRETS if s in everything(spans)]


def test_http_invocation_is_a_request_span_without_query(spans):
    @handler
    def outlook_callback(req: func.HttpRequest) -> func.HttpResponse:
        return json_response({"ok": True})

    req = func.HttpRequest("GET", "http://localhost/api/outlook/callback?code=the-code&state=the-state", body=b"")
    assert outlook_callback(req=req).status_code == 200
    [span] = spans.get_finished_spans()
    assert (span.name, span.kind) == ("outlook_callback", SpanKind.SERVER)
    assert span.attributes["url.full"] == "http://localhost/api/outlook/callback"
    assert span.attributes["http.response.status_code"] == 200
    assert "the-code" not in everything(spans) and "the-state" not in everything(spans)


def test_queue_invocation_span_feed_lag_and_queue_depth(spans):
    seen = []

    @background(feed_lag=True)
    def process_outlook_notifications(msg: func.QueueMessage) -> None:
        seen.append(msg.id)

    inserted = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=42)
    message = QueueMessage(id="m1", body=b"{}", insertion_time=inserted, dequeue_count=1)  # as the worker builds it
    process_outlook_notifications(msg=message)
    assert seen == ["m1"]
    [span] = spans.get_finished_spans()
    assert (span.name, span.kind, span.attributes["faas.trigger"]) == (
        "process_outlook_notifications",
        SpanKind.SERVER,
        "pubsub",
    )
    metrics = {
        m.name: m
        for rm in spans.reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    [lag] = metrics[telemetry.FEED_LAG].data.data_points
    assert lag.count == 1 and 41 <= lag.sum < 60
    [depth] = metrics[telemetry.QUEUE_DEPTH].data.data_points
    assert (depth.value, dict(depth.attributes)) == (2, {"queue": "q-poison"})


def test_log_filter_redacts_the_exported_line():
    record = logging.LogRecord(
        "outlook.graph",
        logging.WARNING,
        __file__,
        1,
        "call %s with %s failed",
        (
            "https://graph.microsoft.com/v1.0/me/events?$filter=x&code=the-code",
            "Authorization: Bearer " + TOKEN,
        ),
        None,
    )
    telemetry.RedactingFilter().filter(record)
    line = record.getMessage()
    assert line == "call https://graph.microsoft.com/v1.0/me/events with Authorization: Bearer [redacted] failed"


def test_configured_once_at_first_invocation_and_only_with_a_connection_string(app_env, monkeypatch):
    import azure.monitor.opentelemetry as azure_monitor

    calls = []
    monkeypatch.setattr(azure_monitor, "configure_azure_monitor", lambda **kw: calls.append(kw))
    telemetry.reset()
    try:
        assert telemetry.ensure_configured() is False and calls == []  # no connection string: off
        telemetry.reset()
        app_env(APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000000")
        assert telemetry.ensure_configured() is True
        assert telemetry.ensure_configured() is True
        [kwargs] = calls
        assert kwargs["logger_name"] == "outlook"
        assert kwargs["instrumentation_options"]["requests"] == {"enabled": False}
        assert isinstance(kwargs["span_processors"][0], telemetry.RedactingSpanProcessor)
    finally:
        telemetry.reset()
