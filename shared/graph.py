"""Microsoft Graph client: one reused session, timeouts, bounded retries, paging.

429/503/504 are retried honouring `Retry-After` (seconds), at most MAX_RETRIES times and never
past the caller's time budget; then `GraphUnavailable`. A POST is retried on 429 only (throttled:
Graph did not carry it out), not on 503/504, which can come after Graph did (a repeated
subscription create meets 409, a repeated cancel an error for an event it cancelled): the caller
decides, or says `idempotent=True` when repeating is harmless (reads sent as POST, and event
creates carrying a `transactionId`, which exists "to avoid redundant POST operations in case of
client retries to create the same event", resources/event.md). A timeout is `GraphTimeout`. Any other
error is `GraphError` carrying the status and Graph's error `code` (the body itself is never
echoed: it can quote request data). See Graph docs concepts/throttling.md and errors.md.

Correlation (CONTRACT 8): every call sends a fresh `client-request-id` (a GUID; Graph echoes it
and answers its own `request-id`: concepts/errors.md "innerError", best-practices.md "Reliability
and support"), and logs Graph's `request-id` with it; a caller that keeps them (the audit log)
passes an `Exchange`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.errors import GraphError, GraphTimeout, GraphUnavailable
from shared.outbound import session
from shared.settings import get_settings

log = logging.getLogger("outlook.graph")

RETRY_STATUSES = (429, 503, 504)
NOT_CARRIED_OUT = (429,)  # throttling.md: the request was refused before it was carried out
MAX_RETRIES = 3
DEFAULT_BUDGET_SECONDS = 20.0
MAX_PAGES = 1000

_sleep = time.sleep  # tests replace it


def _url(path_or_url: str) -> str:
    """A path under the Graph endpoint, or a full URL Graph gave (`@odata.nextLink`), which is
    followed only to the endpoint's own scheme, host and port: the bearer token goes nowhere else."""
    endpoint = get_settings().graph_endpoint
    if "://" not in path_or_url:
        return endpoint + "/" + path_or_url.lstrip("/")
    if _origin(path_or_url) != _origin(endpoint):
        log.warning("graph: a link to another origin than the Graph endpoint was not followed")
        raise GraphError("Microsoft Graph linked to another host; the link was not followed.")
    return path_or_url


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is no number
        return "", "", None


def _retry_after(response, attempt: int) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return float(2**attempt)  # no usable header: exponential back-off (1, 2, 4 s)


def _error_code(response) -> str:
    try:
        return str(response.json().get("error", {}).get("code") or "")
    except (ValueError, AttributeError):
        return ""


@dataclass
class Exchange:
    """What one call left behind: the ids that name it at both ends, and its last status."""

    client_request_id: str = ""
    request_id: str = ""
    status: int = 0


def request(
    method: str,
    path: str,
    token: str,
    *,
    params: dict | None = None,
    json: Any = None,
    headers: dict | None = None,
    budget: float = DEFAULT_BUDGET_SECONDS,
    idempotent: bool | None = None,
    exchange: Exchange | None = None,
) -> Any:
    """One Graph call; returns the JSON body (None for 204/empty). Raises GraphError subclasses.
    `idempotent` (default: every method but POST) allows retrying a 503/504 (module docstring);
    `exchange` receives the call's ids and status."""
    import requests

    url = _url(path)
    exchange = exchange if exchange is not None else Exchange()
    exchange.client_request_id = str(uuid.uuid4())
    retry_statuses = RETRY_STATUSES if (method != "POST" if idempotent is None else idempotent) else NOT_CARRIED_OUT
    deadline = time.monotonic() + budget
    all_headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        **(headers or {}),
        "client-request-id": exchange.client_request_id,
    }
    for attempt in range(MAX_RETRIES + 1):
        try:
            response = session().request(method, url, params=params, json=json, headers=all_headers)
        except requests.Timeout:
            raise GraphTimeout() from None
        except requests.RequestException as exc:
            log.warning("graph %s %s: connection failed (%s)", method, _safe_path(url), type(exc).__name__)
            raise GraphUnavailable() from None
        exchange.status, exchange.request_id = response.status_code, response.headers.get("request-id", "")
        log.info(
            "graph %s %s: %s request-id=%s client-request-id=%s",
            method,
            _safe_path(url),
            response.status_code,
            exchange.request_id or "-",
            exchange.client_request_id,
        )
        if response.status_code in RETRY_STATUSES:
            wait = _retry_after(response, attempt)
            if (
                response.status_code not in retry_statuses
                or attempt == MAX_RETRIES
                or time.monotonic() + wait > deadline
            ):
                log.warning(
                    "graph %s %s: %s, giving up after %d tries",
                    method,
                    _safe_path(url),
                    response.status_code,
                    attempt + 1,
                )
                raise GraphUnavailable(status=response.status_code, graph_code=_error_code(response))
            log.info("graph %s %s: %s, retrying in %.1fs", method, _safe_path(url), response.status_code, wait)
            _sleep(wait)
            continue
        if response.status_code >= 400:
            code = _error_code(response)
            log.info("graph %s %s: %s %s", method, _safe_path(url), response.status_code, code)
            raise GraphError(
                f"Microsoft Graph answered {response.status_code} ({code or 'no code'}).",
                status=response.status_code,
                graph_code=code,
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
    raise AssertionError("unreachable")


def get(path: str, token: str, **kwargs) -> Any:
    return request("GET", path, token, **kwargs)


# Paging. `get` is the caller's way of making one GET (a credentials.Mailbox's `get`), called
# with a path or a full nextLink URL and the keyword arguments of `request`.
Get = Callable[..., Any]


def pages(get: Get, path: str, *, params: dict | None = None, **kwargs) -> Iterator[dict]:
    """Each page of a collection, following `@odata.nextLink` (which already holds the query)."""
    page = get(path, params=params, **kwargs)
    for _ in range(MAX_PAGES):
        yield page
        next_link = page.get("@odata.nextLink")
        if not next_link:
            return
        page = get(next_link, **kwargs)
    raise GraphError("Microsoft Graph returned too many pages.")


def pages_by_skip(get: Get, path: str, *, page_size: int, params: dict | None = None, **kwargs) -> Iterator[dict]:
    """Each page of a collection that does not page by `@odata.nextLink` (Graph `places` answers
    100 and no nextLink however many exist: microsoft-graph-docs-contrib issues 341, 6252, 7196).
    Asks for `$top` pages with `$count=true` and walks `$skip` until the count is reached (or, with
    no count, until a short page): a server that caps `$top` lower is still read to the end. A
    nextLink, should one come, is followed instead."""
    query = {**(params or {}), "$top": str(page_size), "$count": "true"}
    fetched = 0
    page = get(path, params=query, **kwargs)
    for _ in range(MAX_PAGES):
        yield page
        values = page.get("value", [])
        fetched += len(values)
        if page.get("@odata.nextLink"):
            page = get(page["@odata.nextLink"], **kwargs)
            continue
        count = page.get("@odata.count")
        done = fetched >= count if isinstance(count, int) else len(values) < page_size
        if done or not values:
            return
        page = get(path, params={**query, "$skip": str(fetched)}, **kwargs)
    raise GraphError("Microsoft Graph returned too many pages.")


def items(all_pages: Iterator[dict]) -> Iterator[dict]:
    """Every item of a collection, across its pages."""
    for page in all_pages:
        yield from page.get("value", [])


def _safe_path(url: str) -> str:
    """The path only: queries can carry filters with personal data."""
    return url.split("?", 1)[0].replace(get_settings().graph_endpoint, "")
