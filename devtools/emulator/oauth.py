"""Shared OAuth plumbing: error bodies/redirects as the Microsoft identity platform
formats them, client/redirect-URI registration checks, request parameters.

Error JSON (docs: "Microsoft Entra authentication and authorization error codes" and
"OAuth 2.0 authorization code flow", Error response):
  {"error", "error_description": "AADSTSnnnn: text\\r\\nTrace ID: ..\\r\\nCorrelation ID: ..
   \\r\\nTimestamp: ..", "error_codes": [nnnn], "timestamp", "trace_id", "correlation_id",
   "error_uri": "https://login.microsoftonline.com/error?code=nnnn"}
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Response

from . import pages, seed

ERROR_URI = "https://login.microsoftonline.com/error?code={}"
LOCALHOST_HOSTS = ("localhost", "127.0.0.1")


class OAuthError(Exception):
    """An OAuth error answer: `error`, AADSTS number, text; `extra` fields Entra appends to some
    errors, e.g. `suberror` (consent_required, basic_action) and a `claims` challenge."""

    def __init__(self, error: str, code: int, message: str, status: int = 400, extra: dict | None = None):
        super().__init__(message)
        self.error, self.code, self.message, self.status, self.extra = error, code, message, status, extra


def diagnostics(request) -> tuple[str, str, str]:
    """(trace_id, correlation_id, timestamp); MSAL sends its correlation id as client-request-id."""
    ts = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    corr = request.headers.get("client-request-id") or str(uuid.uuid4())
    return str(uuid.uuid4()), corr, ts


def describe(request, code: int, message: str) -> str:
    trace, corr, ts = diagnostics(request)
    return f"AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"


def error_json(request, e: OAuthError, headers=None) -> Response:
    trace, corr, ts = diagnostics(request)
    body = {
        "error": e.error,
        "error_description": f"AADSTS{e.code}: {e.message}\r\nTrace ID: {trace}\r\n"
        f"Correlation ID: {corr}\r\nTimestamp: {ts}",
        "error_codes": [e.code],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": ERROR_URI.format(e.code),
        **(e.extra or {}),
    }
    return json_response(body, e.status, headers)


def app_not_found_message(client_id: str, directory: str) -> str:
    """AADSTS700016 as observed (Azure/go-autorest#626, openshift/openshift-azure#2291 with a
    tenant GUID; alan-turing-institute/data-safe-haven#2263 with the tenant's display name)."""
    return (
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{directory}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant."
    )


def json_response(body, status: int = 200, headers=None) -> Response:
    h = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    h.update(headers or {})
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=h)


def html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def error_page(request, status: int, code: int, message: str) -> Response:
    return html(pages.error(describe(request, code, message)), status)


def redirect(redirect_uri: str, fields: dict) -> Response:
    """Send an authorization response to the app (response_mode query, the one the app uses)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    sep = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": redirect_uri + sep + urlencode(fields)})


def params(request) -> dict:
    """Query parameters overlaid with form fields (sign-in POSTs repeat the query)."""
    merged = {k: v for k, v in request.args.items()}
    if request.method == "POST":
        merged.update({k: v for k, v in request.form.items() if k != "action"})
    return merged


def action(request) -> str:
    acts = request.form.getlist("action") if request.method == "POST" else []
    return "cancel" if "cancel" in acts else "accept"


def registered_redirect_uris() -> list[str]:
    extra = [u.strip() for u in os.environ.get("EMULATOR_REDIRECT_URIS", "").split(",") if u.strip()]
    return list(seed.REDIRECT_URIS) + extra


def redirect_uri_allowed(uri: str | None) -> bool:
    """Exact match against the registration, except that the port of an http localhost /
    127.0.0.1 URI is ignored (docs: "Redirect URI (reply URL) restrictions", localhost
    exceptions)."""
    if not uri:
        return False
    try:
        got = urlsplit(uri)
        got_port = got.port
    except ValueError:
        return False
    for reg in registered_redirect_uris():
        want = urlsplit(reg)
        if (got.scheme.lower(), (got.hostname or "").lower(), got.path, got.query) != (
            want.scheme.lower(),
            (want.hostname or "").lower(),
            want.path,
            want.query,
        ):
            continue
        if want.scheme.lower() == "http" and (want.hostname or "").lower() in LOCALHOST_HOSTS:
            return True
        if got_port == want.port:
            return True
    return False


def check_client_and_redirect(request, p: dict, tenant_label: str):
    """Errors Entra shows on its own page rather than sending to the redirect URI: an unknown
    client or a redirect URI that is not registered (AADSTS700016, AADSTS50011)."""
    client_id = p.get("client_id")
    if not client_id:
        return error_page(request, 400, 900144, "The request body must contain the following parameter: 'client_id'.")
    if client_id.lower() != seed.CLIENT_ID:
        return error_page(request, 400, 700016, app_not_found_message(client_id, tenant_label))
    uri = p.get("redirect_uri")
    if not uri:
        return error_page(request, 400, 900971, "No reply address provided.")
    if not redirect_uri_allowed(uri):
        return error_page(
            request,
            400,
            50011,
            f"The redirect URI '{uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{seed.CLIENT_ID}'. Make "
            "sure the redirect URI sent in the request matches one added to your "
            "application in the Azure portal.",
        )
    return None
