"""Who and what one invocation is: its request id (in every error body and every log line of
the request) and its actor (the HERP account id the audit log names, `system` for timers,
queue messages and notifications). Context variables, set by the HTTP edge (`shared.http`) and
by `shared.auth` once the caller is known; reset when the invocation ends, so that a worker
thread that runs a queue message next does not inherit the previous request's caller."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SYSTEM = "system"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("outlook_request_id", default=None)
_actor: contextvars.ContextVar[str] = contextvars.ContextVar("outlook_actor", default=SYSTEM)


def request_id() -> str | None:
    return _request_id.get()


def actor() -> str:
    return _actor.get()


def set_actor(herp_account_id: str) -> None:
    """The caller of this request (reset with the request by `invocation`); outside an
    invocation nothing is set, so that nothing can outlive its request."""
    if _request_id.get() is not None:
        _actor.set(herp_account_id or SYSTEM)


@contextmanager
def invocation(request_id: str) -> Iterator[None]:
    """One HTTP invocation: its request id, and the actor `system` until the caller is known."""
    _install_log_tagging()
    rid, who = _request_id.set(request_id), _actor.set(SYSTEM)
    try:
        yield
    finally:
        _actor.reset(who)
        _request_id.reset(rid)


@contextmanager
def acting_as(herp_account_id: str) -> Iterator[None]:
    """Queue work done for a caller (e.g. a company's data deletion): its writes name that caller."""
    who = _actor.set(herp_account_id or SYSTEM)
    try:
        yield
    finally:
        _actor.reset(who)


_installed = False
_install_lock = threading.Lock()


def _install_log_tagging() -> None:
    """Every log record made while a request id is set carries it: as `record.request_id`
    (structured sinks) and at the end of the message (text sinks such as the host's log)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        make = logging.getLogRecordFactory()

        def tagged(*args, **kwargs) -> logging.LogRecord:
            record = make(*args, **kwargs)
            rid = _request_id.get()
            if rid is not None and not hasattr(record, "request_id"):
                record.request_id = rid
                record.msg = f"{record.msg} [request_id={rid}]"
            return record

        logging.setLogRecordFactory(tagged)
        _installed = True
