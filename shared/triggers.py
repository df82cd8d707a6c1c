"""Every invocation as telemetry (shared/telemetry.py): the HTTP handler's wrapper and the
queue/timer functions' `background` decorator configure telemetry at the first invocation and put
each invocation in a request span. The metrics that need storage are registered here."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from shared import telemetry
from shared.storage import queues

F = TypeVar("F", bound=Callable[..., Any])


def start_telemetry() -> bool:
    """Configure telemetry once (a no-op after the first call or without a connection string)."""
    return telemetry.ensure_configured({telemetry.QUEUE_DEPTH: queues.depths})


def traced_http(fn: F) -> F:
    """An HTTP function (already wrapped by shared.http.handler) as a request span: method, path
    without the query, status."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # the worker passes the binding by its name
        req = _binding(args, kwargs)
        start_telemetry()
        path = req.url.split("?", 1)[0].split("#", 1)[0]
        attributes = {"http.request.method": req.method, "url.full": path}
        with telemetry.invocation(fn.__name__, "http", attributes) as record:
            response = fn(*args, **kwargs)
            record({"http.response.status_code": response.status_code})
            return response

    return wrapper  # type: ignore[return-value]


def background(*, feed_lag: bool = False) -> Callable[[F], F]:
    """A queue or timer function as a request span. With `feed_lag`, the time from the message's
    insertion (a notification's intake) to the function's success is `outlook.change_feed.lag`."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):  # the worker passes the binding by its name
            arg = _binding(args, kwargs)
            start_telemetry()
            trigger = "timer" if hasattr(arg, "past_due") else "pubsub"
            attributes = {"messaging.message.dequeue_count": getattr(arg, "dequeue_count", None)}
            with telemetry.invocation(fn.__name__, trigger, attributes):
                result = fn(*args, **kwargs)
            inserted = getattr(arg, "insertion_time", None) if feed_lag else None
            if isinstance(inserted, dt.datetime):
                when = inserted if inserted.tzinfo else inserted.replace(tzinfo=dt.UTC)
                telemetry.record_feed_lag((dt.datetime.now(dt.UTC) - when).total_seconds())
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _binding(args: tuple, kwargs: dict) -> Any:
    return args[0] if args else next(iter(kwargs.values()), None)
