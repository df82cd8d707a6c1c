"""Telemetry: traces, logs and metrics to Application Insights through OpenTelemetry
(`azure-monitor-opentelemetry`) when APPLICATIONINSIGHTS_CONNECTION_STRING is set.

Configured once, at the first invocation (`ensure_configured`, called by the HTTP handler and the
queue/timer wrapper of shared/triggers.py), never at import: the exporter and the SDK cost
hundreds of milliseconds that indexing must not pay. Without the connection string every call
here is a no-op and nothing of OpenTelemetry is imported.

- Each invocation is a SERVER span (a request in Application Insights), each outbound Graph or
  identity platform call a CLIENT span (a dependency) made in shared/outbound.py; the automatic
  `requests`/`urllib3` instrumentations are off, so no library span records a URL we did not clean.
- Nothing secret leaves: `RedactingSpanProcessor` (every span, also the Azure SDK's storage spans)
  and `RedactingFilter` (every exported log record) cut URLs to scheme, host and path, drop query
  and Authorization attributes, and blank bearer tokens, JWTs and code/state/secret parameters.
- Metrics: `outlook.queue.depth` (observable, per queue, poison queues included) and
  `outlook.change_feed.lag` (seconds from a notification's intake to its changes in the feed).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from shared.lazy import lazy

# Read at the first invocation, not at indexing (the handler's wrapper imports this module).
if TYPE_CHECKING:
    from shared import settings
else:
    settings = lazy("shared.settings")

log = logging.getLogger("outlook.telemetry")

LOGGER_NAME = "outlook"  # every logger of the service is below it
QUEUE_DEPTH = "outlook.queue.depth"
FEED_LAG = "outlook.change_feed.lag"

# Instrumentations azure-monitor-opentelemetry would enable by default that see raw URLs.
_OFF = ("requests", "urllib", "urllib3", "django", "fastapi", "flask", "psycopg2")

_lock = threading.Lock()
_enabled: bool | None = None  # None: not decided yet
_tracer: Any = None
_lag: Any = None

# --- redaction -----------------------------------------------------------------------------------
_DROPPED_KEYS = ("url.query", "http.request.header.authorization", "http.request.header.cookie")


@functools.cache
def _patterns() -> tuple:
    """(pattern, replacement) pairs, compiled on first use (not at indexing)."""
    import re

    return (
        (re.compile(r"(\bhttps?://[^\s?#\"'<>]+)[?#][^\s\"'<>]*", re.IGNORECASE), r"\1"),  # URL queries
        (re.compile(r"\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), r"\1 [redacted]"),
        (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[redacted]"),  # JWTs
        (
            re.compile(
                r"\b(code|state|client_secret|client_assertion|refresh_token|access_token|id_token|"
                r"validationToken|clientState|sig|password)=[^&\s\"']+",
                re.IGNORECASE,
            ),
            r"\1=[redacted]",
        ),
    )


def redact(text: str) -> str:
    """`text` without URL queries, bearer tokens, JWTs or secret parameters."""
    for pattern, replacement in _patterns():
        text = pattern.sub(replacement, text)
    return text


def redact_attributes(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """The attributes cleaned, or None when nothing needed cleaning."""
    changed, clean = False, {}
    for key, value in attributes.items():
        lower = key.lower()
        if lower in _DROPPED_KEYS or "authorization" in lower or "cookie" in lower:
            changed = True
            continue
        if isinstance(value, str):
            new = redact(value)
            changed |= new != value
            value = new
        clean[key] = value
    return clean if changed else None


class RedactingSpanProcessor:
    """A span processor, registered before the exporter's: cleans attributes as a span starts
    and again as it ends (attributes set later, e.g. by an SDK, are cleaned too)."""

    def on_start(self, span, parent_context=None) -> None:
        clean = redact_attributes(span.attributes or {})
        if clean is not None:
            for key, value in clean.items():
                span.set_attribute(key, value)
            for key in set(span.attributes or {}) - set(clean):
                span.set_attribute(key, "[redacted]")
        if span.name:
            span.update_name(redact(span.name))

    def on_end(self, span) -> None:
        clean = redact_attributes(span.attributes or {})
        if clean is not None:  # an ended span is read-only through the API: swap its attribute map
            from opentelemetry.attributes import BoundedAttributes

            span._attributes = BoundedAttributes(attributes=clean, immutable=True)  # noqa: SLF001

    def _on_ending(self, span) -> None:  # the SDK's hook just before the end: nothing to do there
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class RedactingFilter(logging.Filter):
    """On the exporting log handler: the formatted message, redacted, replaces msg and args."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        return True


# --- configuration -------------------------------------------------------------------------------
def ensure_configured(gauges: Mapping[str, Callable[[], Mapping[str, float]]] | None = None) -> bool:
    """Configure Azure Monitor once if the connection string is set; True when telemetry is on.
    `gauges`: name -> callback returning {queue: value}, observed at each metric export."""
    global _enabled
    if _enabled is not None:
        return _enabled
    with _lock:
        if _enabled is not None:
            return _enabled
        connection_string = settings.get_settings().appinsights_connection_string
        if not connection_string:
            _enabled = False
            return False
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor

            configure_azure_monitor(
                connection_string=connection_string,
                logger_name=LOGGER_NAME,
                span_processors=[RedactingSpanProcessor()],
                instrumentation_options={name: {"enabled": False} for name in _OFF},
            )
            from opentelemetry import metrics, trace

            for handler in logging.getLogger(LOGGER_NAME).handlers:
                if type(handler).__module__.startswith("opentelemetry"):
                    handler.addFilter(RedactingFilter())
            _use(trace.get_tracer(__name__), metrics.get_meter(__name__), gauges or {})
        except Exception as exc:  # noqa: BLE001 - telemetry must never break an invocation
            log.warning("telemetry is off: Azure Monitor could not be configured (%s)", type(exc).__name__)
            _enabled = False
            return False
        _enabled = True
        return True


def use(tracer_provider, meter_provider=None, gauges: Mapping[str, Callable] | None = None) -> None:
    """Turn telemetry on with the given providers (tests: in-memory exporters)."""
    global _enabled
    tracer_provider.add_span_processor(RedactingSpanProcessor())
    meter = meter_provider.get_meter(__name__) if meter_provider is not None else None
    _use(tracer_provider.get_tracer(__name__), meter, gauges or {})
    _enabled = True


def reset() -> None:
    """Back to undecided (tests)."""
    global _enabled, _tracer, _lag
    _enabled, _tracer, _lag = None, None, None


def _use(tracer, meter, gauges: Mapping[str, Callable[[], Mapping[str, float]]]) -> None:
    global _tracer, _lag
    _tracer = tracer
    if meter is None:
        return
    _lag = meter.create_histogram(FEED_LAG, unit="s", description="notification intake to change feed")
    for name, read in gauges.items():
        meter.create_observable_gauge(name, callbacks=[_observer(read)])


def _observer(read: Callable[[], Mapping[str, float]]):
    def observe(_options):
        from opentelemetry.metrics import Observation

        try:
            values = read()
        except Exception as exc:  # noqa: BLE001 - a failed read skips one observation
            log.warning("metric read failed (%s)", type(exc).__name__)
            return []
        return [Observation(value, {"queue": name}) for name, value in values.items()]

    return observe


# --- spans and metrics ---------------------------------------------------------------------------
Attributes = Mapping[str, Any]


@contextlib.contextmanager
def invocation(name: str, trigger: str, attributes: Attributes | None = None) -> Iterator[Callable[[Attributes], None]]:
    """A SERVER span around one invocation; yields a setter for attributes known later."""
    if _tracer is None:
        yield _ignore
        return
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(
        name, kind=SpanKind.SERVER, attributes={"faas.trigger": trigger, **_clean(attributes or {})}
    ) as span:
        yield lambda more: span.set_attributes(_clean(more))


@contextlib.contextmanager
def dependency(method: str, url: str) -> Iterator[Callable[[Attributes], None]]:
    """A CLIENT span around one outbound HTTP call (Graph, the identity platform); the URL is
    recorded without its query. Yields a setter for the response's attributes."""
    if _tracer is None:
        yield _ignore
        return
    from urllib.parse import urlsplit

    from opentelemetry.trace import SpanKind

    parts = urlsplit(url)
    target = "graph" if url.startswith(settings.get_settings().graph_endpoint) else "identity"
    with _tracer.start_as_current_span(
        f"{method} {parts.netloc}",
        kind=SpanKind.CLIENT,
        attributes={
            "http.request.method": method,
            "url.full": f"{parts.scheme}://{parts.netloc}{parts.path}",
            "server.address": parts.hostname or "",
            "outlook.dependency": target,
        },
    ) as span:
        yield lambda more: span.set_attributes(_clean(more))


def record_feed_lag(seconds: float) -> None:
    if _lag is not None:
        _lag.record(max(0.0, seconds))


def _clean(attributes: Attributes) -> dict[str, Any]:
    kept = {k: v for k, v in attributes.items() if v is not None}
    return redact_attributes(kept) or kept


def _ignore(_attributes: Attributes) -> None:
    return None
