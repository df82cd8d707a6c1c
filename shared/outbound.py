"""The one outbound HTTPS session (Graph and the identity platform share its connection pool).

`requests` honours REQUESTS_CA_BUNDLE (the local emulator's CA) on every call. Every request
gets a timeout, even when a library (MSAL) does not pass one.
"""

from __future__ import annotations

import logging
import threading

from shared import telemetry

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20

_lock = threading.Lock()
_session = None


def session():
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                import requests
                from requests.adapters import HTTPAdapter

                class TimeoutSession(requests.Session):
                    def request(self, method, url, **kwargs):  # type: ignore[override]
                        kwargs.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
                        if kwargs["timeout"] is None:
                            kwargs["timeout"] = (CONNECT_TIMEOUT, READ_TIMEOUT)
                        # A dependency in telemetry (a no-op when telemetry is off).
                        with telemetry.dependency(method, url) as record:
                            response = super().request(method, url, **kwargs)
                            record(_dependency_attributes(kwargs.get("headers"), response))
                            return response

                s = TimeoutSession()
                adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32)
                s.mount("https://", adapter)
                s.mount("http://", adapter)
                s.headers["User-Agent"] = "herp-outlook-integration/1.0"
                # urllib3 logs each request line with its query at DEBUG (a webhook URL or a
                # notification URL may carry a key there): URLs are never logged with queries,
                # whatever level an operator turns the app's logging to.
                logging.getLogger("urllib3").setLevel(logging.WARNING)
                _session = s
    return _session


def _dependency_attributes(headers, response) -> dict:
    """Status and Graph's correlation ids (client-request-id sent, request-id answered)."""
    return {
        "http.response.status_code": response.status_code,
        "graph.client_request_id": (headers or {}).get("client-request-id"),
        "graph.request_id": response.headers.get("request-id"),
    }
