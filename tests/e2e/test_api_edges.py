"""The contract's edges through the host: authentication, error shapes, logs without secrets."""

import re

import pytest

from devtools.emulator import seed
from tests.conftest import JWT_SECRET, herp_token
from tests.e2e.conftest import link_tenant

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}])
def test_unauthenticated(company, headers):
    r = company.session.get(f"{company.base}/outlook/tenant-links", headers=headers)
    assert r.status_code == 401
    error = r.json()["error"]
    assert r.json() == {
        "error": {"code": "unauthenticated", "message": error["message"], "request_id": error["request_id"]}
    }


def test_unknown_route_is_404(company):
    assert company.call("GET", "/outlook/nothing-here").status_code == 404


def test_no_token_or_secret_in_logs_or_responses(company, browser, ms, host):
    final = link_tenant(company, browser, seed.UPN[seed.AIKO_ID])
    bodies = [company.call("GET", "/outlook/tenant-links").text, final.url, repr(final.answer)]
    codes = [v for url in browser.history for k, v in re.findall(r"[?&](code|state)=([^&]+)", url) if k == "code"]
    assert codes, "the flow must have carried an authorization code"
    log = host.log_text()
    assert "GET /api/outlook/callback" in log  # one line per request, path only
    secrets = [seed.CLIENT_SECRET, JWT_SECRET, herp_token(company.company_id, "herp-admin", "admin")] + codes
    for secret in secrets:
        assert secret not in log
        assert all(secret not in b for b in bodies)
    assert final.completion and final.completion not in log  # the link completion code is a secret too
    # No JWT (access, id or HERP token) and no refresh token anywhere in the host log.
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", log)
    assert "refresh_token" not in log.lower()


def test_oauth_code_and_state_never_reach_the_host_log(company, browser, ms, host):
    """The whole link flow, a callback Microsoft sends with an error, one with a made-up state,
    and a client whose request line is malformed: no `code` or `state` value in the log."""
    import socket
    from urllib.parse import urlsplit

    final = link_tenant(company, browser, seed.UPN[seed.AIKO_ID])
    values = [v for url in browser.history for _, v in re.findall(r"[?&](code|state)=([^&#]+)", url)]
    assert any(url for url in browser.history if "code=" in url) and len(values) >= 3
    forged = ["FORGEDSTATE" + "9" * 20, "FORGEDCODE" + "7" * 20]
    r = company.session.get(
        f"{company.base}/outlook/callback",
        params={"state": forged[0], "code": forged[1], "error": "access_denied"},
        allow_redirects=False,
    )
    assert r.status_code == 302 and "reason=state_invalid" in r.headers["Location"]
    parts = urlsplit(company.base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET /api/outlook/callback?code={forged[1]} x&state={forged[0]} HTTP/1.1\r\n\r\n".encode())
        while sock.recv(65536):
            pass
    log = host.log_text()
    assert "GET /api/outlook/callback 302" in log and "Bad request" in log
    for value in values + forged + [final.completion]:
        assert value not in log
