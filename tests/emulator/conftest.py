"""Start the emulator once per test session (free port, temp state dir) and give tests a
`requests` session that trusts its CA, plus MSAL helpers. Nothing global is changed: the
machine's REQUESTS_CA_BUNDLE would override `verify=`, so sessions use trust_env=False and
the env var is patched only inside each test (monkeypatch)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests

from devtools.emulator import seed

ROOT = Path(__file__).resolve().parents[2]
REDIRECT_URI = "http://localhost:7071/api/outlook/callback"
EXTRA_REDIRECT_URI = "https://app.example.test/outlook/callback"
SCOPES = ["User.Read", "Calendars.ReadWrite", "MailboxSettings.Read"]


def query(url: str) -> dict:
    parts = urlsplit(url)
    return {k: v[0] for k, v in parse_qs(parts.query or parts.fragment, keep_blank_values=True).items()}


class Emulator:
    def __init__(self, base: str, bundle: str, state_dir: Path, log: Path):
        self.base, self.bundle, self.state_dir, self.log = base, bundle, state_dir, log
        self.http = self.session()

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = self.bundle
        return s

    def control(self, method: str, path: str, **kwargs):
        r = self.http.request(method, f"{self.base}/_emulator/{path}", timeout=10, **kwargs)
        assert r.status_code == 200, r.text
        return r.json()

    def msal_app(self, tenant: str = seed.CONTOSO_TENANT_ID) -> msal.ConfidentialClientApplication:
        # A fresh app (and cache) per use: MSAL also remembers failed token requests for 60 s.
        return msal.ConfidentialClientApplication(
            seed.CLIENT_ID,
            client_credential=seed.CLIENT_SECRET,
            authority=f"{self.base}/{tenant}",
            instance_discovery=False,
            http_client=self.session(),
        )

    def sign_in(self, upn: str, scopes=SCOPES, tenant: str = seed.CONTOSO_TENANT_ID, app=None):
        """The auth code flow with PKCE through the sign-in page, as a browser would do it."""
        app = app or self.msal_app(tenant)
        flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI)
        page = self.http.get(flow["auth_uri"], timeout=10)
        assert page.status_code == 200 and f'value="{upn}"' in page.text, page.text[:500]
        r = self.http.post(flow["auth_uri"], data={"username": upn}, allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.text[:1000]
        result = app.acquire_token_by_auth_code_flow(flow, query(r.headers["Location"]))
        return app, result

    def graph(self, token: str | None, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = path if path.startswith("https://") else f"{self.base}/v1.0{path}"
        return self.http.get(url, headers=headers, timeout=10, **kwargs)

    def admin_consent(
        self, upn: str, scope: str = "https://graph.microsoft.com/Place.Read.All", tenant: str = "organizations"
    ):
        url = (
            f"{self.base}/{tenant}/v2.0/adminconsent?client_id={seed.CLIENT_ID}"
            f"&redirect_uri={REDIRECT_URI}&state=consent-state&scope={scope}"
        )
        return self.http.post(url, data={"username": upn, "action": "accept"}, allow_redirects=False, timeout=10)


def _start(state_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, EMULATOR_REDIRECT_URIS=EXTRA_REDIRECT_URI, PYTHONUNBUFFERED="1")
    with open(log, "w") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.emulator", "--port", "0", "--state-dir", str(state_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("emulator ready "):
                return proc, line.split()[-1]
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"emulator did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("emulator-state")
    log = state_dir / "emulator.log"
    proc, base = _start(state_dir, log)
    try:
        yield Emulator(base, str(state_dir / "ca-bundle.pem"), state_dir, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


@pytest.fixture
def seeded(emulator, monkeypatch):
    """The running emulator exactly as seeded (Contoso allows no user consent); MSAL's own
    requests trust its CA too."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.bundle)
    emulator.control("POST", "reset")
    return emulator


@pytest.fixture
def emu(seeded):
    """The seeded emulator with user consent allowed in Contoso too, so that tests about other
    things can sign members in without an admin consent first (test_consent.py covers the
    locked-down tenant)."""
    seeded.control("POST", f"tenants/{seed.CONTOSO_TENANT_ID}/user-consent", json={"allowed": True})
    return seeded


@pytest.fixture
def emi(emu):
    """Emi Suzuki (member; calendars "Calendar" and "Interviews", Ben's shared) signed in."""
    from .calendar_helpers import Client

    return Client(emu, seed.UPN[seed.EMI_ID])
