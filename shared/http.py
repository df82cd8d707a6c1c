"""The HTTP edge: JSON bodies in, JSON responses and redirects out, domain errors -> README.md "HTTP API"."""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import traceback
from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared import correlation
from shared.errors import (
    ConfigurationError,
    DomainError,
    InvalidRequest,
    PayloadTooLarge,
    StorageUnavailable,
    status_of,
)
from shared.triggers import traced_http

log = logging.getLogger("outlook")

MAX_BODY_BYTES = 1024 * 1024
_NO_STORE = {"Cache-Control": "no-store"}


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=dict(_NO_STORE),
    )


def no_content() -> func.HttpResponse:
    return func.HttpResponse(status_code=204, headers=dict(_NO_STORE))


def accepted(body: Any | None = None) -> func.HttpResponse:
    return json_response(body or {"status": "queued"}, status=202)


def redirect(location: str) -> func.HttpResponse:
    return func.HttpResponse(status_code=302, headers={"Location": location, **_NO_STORE})


def error_response(code: str, message: str, status: int, details: dict | None = None) -> func.HttpResponse:
    """CONTRACT 3's error body; `request_id` names the request in every log line it wrote (CONTRACT 8)."""
    error = {"code": code, "message": message, **(details or {})}
    rid = correlation.request_id()
    if rid:
        error["request_id"] = rid
    return json_response({"error": error}, status=status)


def json_body(req: func.HttpRequest, *, required: bool = True) -> dict:
    """The request body as a JSON object (400 `invalid_request` otherwise; `handler` already
    answered 413 for a body over 1 MiB)."""
    raw = req.get_body() or b""
    if not raw.strip():
        if required:
            raise InvalidRequest("The request body must be a JSON object.")
        return {}
    try:
        body = json.loads(raw, object_pairs_hook=_object, parse_constant=_not_json, parse_float=_finite)
        # A lone surrogate (\ud800) parses into a str that no UTF-8 store or request can carry.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):  # RecursionError: nested thousands deep
        raise InvalidRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def _object(pairs: list[tuple[str, Any]]) -> dict:
    """An object whose keys are unique: with duplicates, which one a reader sees is ambiguous."""
    body = dict(pairs)
    if len(body) != len(pairs):
        raise InvalidRequest("The request body repeats a key.")
    return body


def _not_json(name: str) -> Any:
    raise InvalidRequest(f"{name} is not a JSON number.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise InvalidRequest("A number in the request body is out of range.")
    return value


def _is_storage_failure(exc: BaseException) -> bool:
    """azure-core errors reaching the edge come from Table/Queue storage (Graph uses requests)."""
    return type(exc).__module__.startswith(("azure.core", "azure.data.tables", "azure.storage"))


def _too_large(req: func.HttpRequest) -> bool:
    """Over 1 MiB: told by `Content-Length` before any of the body is read (the host passes it
    unread), else (chunked) by the body itself."""
    declared = (req.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return True
    return len(req.get_body() or b"") > MAX_BODY_BYTES


def _invocation_id() -> str:
    """The Functions invocation id when the Python worker exposes it (its dispatcher keeps the
    running invocation's id per thread), else a fresh one: the request id of CONTRACT 8."""
    dispatcher = sys.modules.get("azure_functions_worker.dispatcher")
    current = getattr(dispatcher, "get_current_invocation_id", None)
    try:
        found = current() if callable(current) else None
    except Exception:  # noqa: BLE001 - a worker internal; a fresh id does as well
        found = None
    if found:
        return str(found)
    import uuid  # on the first request, not at indexing (cold start: uuid loads platform)

    return str(uuid.uuid4())


def handler(fn: Callable[[func.HttpRequest], func.HttpResponse]) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Wrap an HTTP trigger: domain errors -> their status; anything else -> a logged 5xx, no trace.
    The invocation runs under its request id and the actor `system` until `auth` names the caller."""

    @functools.wraps(fn)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        with correlation.invocation(_invocation_id()):
            return _answer(fn, req)

    return traced_http(wrapper)


def _answer(fn: Callable[[func.HttpRequest], func.HttpResponse], req: func.HttpRequest) -> func.HttpResponse:
    """The trigger's answer, or the error body its failure maps to."""
    try:
        if _too_large(req):
            raise PayloadTooLarge()
        return fn(req)
    except DomainError as exc:
        status = status_of(exc)
        if isinstance(exc, ConfigurationError):  # the detail names the setting: log only
            log.error("%s failed: %s: %s", fn.__name__, exc.code, exc.detail)
        elif status >= 500:
            log.error("%s failed: %s: %s", fn.__name__, exc.code, exc.message)
        return error_response(exc.code, exc.message, status, exc.details)
    except Exception as exc:  # noqa: BLE001 - the edge: never a stack trace to the caller
        if _is_storage_failure(exc):
            log.error("%s failed: storage error %s", fn.__name__, type(exc).__name__)
            err = StorageUnavailable()
            return error_response(err.code, err.message, 503)
        # Frames only: an exception's message may quote a URL or body that holds a secret.
        log.error(
            "%s failed unexpectedly (%s)\n%s",
            fn.__name__,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
        )
        return error_response("internal_error", "An unexpected error occurred; retry later.", 500)
