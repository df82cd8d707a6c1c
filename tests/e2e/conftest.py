"""End-to-end: the function host (devtools.host) + the Microsoft emulator + Azurite, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from devtools import stack
from devtools.browser import Browser, completion_of, query
from devtools.emulator import seed
from devtools.openapi_check import validate_response
from tests.conftest import ENCRYPTION_KEYS, HERP_APP_URL, JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET, herp_token, new_id

TEST_MAX_POLLING_INTERVAL = "00:00:00.5"


@pytest.fixture(scope="session")
def emulator(stack_dir):
    child = stack.start_emulator(stack_dir / "logs", stack_dir / "emulator")
    yield child
    child.stop()


def host_settings(azurite, emulator, port: int, herp_app_url: str) -> dict:
    """The app settings of a test host on `port`, with the tests' JWT secret and encryption keys."""
    env = stack.app_settings(
        storage=azurite.extra["connection_string"],
        emulator_url=emulator.url,
        ca_bundle=emulator.extra["ca_bundle"],
        host_port=port,
        herp_app_url=herp_app_url,
    )
    env.update(
        HERP_JWT_ISSUER=JWT_ISSUER,
        HERP_JWT_AUDIENCE=JWT_AUDIENCE,
        HERP_JWT_SECRET=JWT_SECRET,
        HERP_JWT_JWKS_URL="",
        TOKEN_ENCRYPTION_KEYS=ENCRYPTION_KEYS,
    )
    # host.json's maxPollingInterval (2 s) stays the app's; a test host polls an idle queue at
    # least every 0.5 s, so that queued work does not wait up to 2 s per hop (tests only wait less).
    env["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = TEST_MAX_POLLING_INTERVAL
    return env


@pytest.fixture(scope="session")
def host(stack_dir, azurite, emulator):
    port = stack.free_port()
    env = {**host_settings(azurite, emulator, port, HERP_APP_URL), "ROOM_REFRESH_SCHEDULE": "0 0 */6 * * *"}
    child = stack.start_host(stack_dir / "logs", env, port=port)
    child.extra["env"] = env
    yield child
    child.stop()


class Emulator:
    """The emulator's control API."""

    def __init__(self, child):
        self.url = child.url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = child.extra["ca_bundle"]

    def post(self, path: str, body: dict | None = None) -> dict:
        r = self.session.post(f"{self.url}/_emulator/{path}", json=body or {}, timeout=10)
        r.raise_for_status()
        return r.json() if r.content else {}

    def calls(self) -> list[dict]:
        return self.session.get(f"{self.url}/_emulator/calls", timeout=10).json()["calls"]

    def clear_calls(self) -> None:
        self.session.delete(f"{self.url}/_emulator/calls", timeout=10).raise_for_status()


@pytest.fixture
def ms(emulator):
    control = Emulator(emulator)
    control.post("reset")
    return control


class Api:
    """The HERP Hire frontend's view of the API: bearer tokens of one company."""

    def __init__(self, base: str, company_id: str):
        self.base = base.rstrip("/") + "/api"
        self.company_id = company_id
        self.session = requests.Session()
        self.session.trust_env = False

    def token(self, account: str, role: str) -> str:
        return herp_token(self.company_id, account, role)

    def call(self, method: str, path: str, *, as_: tuple[str, str] = ("herp-admin", "admin"), **kwargs):
        headers = {"Authorization": f"Bearer {self.token(*as_)}", **kwargs.pop("headers", {})}
        return self.session.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )


@pytest.fixture
def company(host, storage):
    """A fresh HERP company (isolates rows); the test process shares the host's Azurite."""
    return Api(host.url, new_id("co"))


@pytest.fixture
def browser(emulator):
    return Browser(emulator.extra["ca_bundle"], stop_at=HERP_APP_URL)


@dataclass
class Landing:
    """Where a link flow ended in HERP Hire, and the frontend's confirm when it asked for one."""

    url: str  # the callback's redirect into HERP_APP_URL
    answer: dict | None = None  # the 200 body of POST /link-completions

    @property
    def completion(self) -> str | None:
        return completion_of(self.url)

    @property
    def result(self) -> str:
        """`linked`/`renewed` once confirmed; else the redirect's own `result` (`error`, `confirm`)."""
        return self.answer["result"] if self.answer else query(self.url).get("result", "")


def confirm(api: Api, landing: Landing, as_: tuple[str, str]) -> requests.Response:
    """What the HERP Hire frontend does on a `result=confirm` landing: POST the code as the caller.
    Every answer is checked against docs/openapi.yaml."""
    r = api.call("POST", "/outlook/link-completions", as_=as_, json={"completion": landing.completion})
    validate_response(r)
    return r


def _land(api: Api, url: str, as_: tuple[str, str], page: str, confirm_it: bool) -> Landing:
    landing = Landing(url)
    if landing.completion is None or not confirm_it:
        return landing
    assert url == f"{HERP_APP_URL}{page}?result=confirm&completion={landing.completion}", url
    r = confirm(api, landing, as_)
    assert r.status_code == 200, r.text
    landing.answer = r.json()
    return landing


def link_tenant(
    api: Api, browser: Browser, upn: str, *, as_=("herp-admin", "admin"), confirm_it: bool = True
) -> Landing:
    """A HERP admin links a tenant: consent leg + sign-in leg, both as `upn`, then (unless
    `confirm_it` is false) confirms the completion from the same HERP session."""
    r = api.call("POST", "/outlook/tenant-links/authorize", as_=as_)
    assert r.status_code == 200, r.text
    browser.open(r.json()["authorize_url"])
    browser.click("username", upn)  # consent page: sign in + accept -> our callback -> sign-in leg
    url = browser.click("username", upn)  # sign-in page of the tenant -> our callback -> HERP
    tenant = urlsplit(url).path.rsplit("/", 1)[-1]
    return _land(api, url, as_, f"/settings/integrations/outlook/{tenant}", confirm_it)


def renew_tenant(
    api: Api, browser: Browser, upn: str, tenant_id: str, *, as_=("herp-admin", "admin"), confirm_it: bool = True
) -> Landing:
    """A HERP admin renews a tenant link with the Microsoft admin `upn`, then confirms it."""
    r = api.call("POST", f"/outlook/tenant-links/{tenant_id}/renew", as_=as_)
    assert r.status_code == 200, r.text
    return _land(
        api,
        browser.sign_in(r.json()["authorize_url"], upn),
        as_,
        f"/settings/integrations/outlook/{tenant_id}",
        confirm_it,
    )


CONTOSO, FABRIKAM = seed.CONTOSO_TENANT_ID, seed.FABRIKAM_TENANT_ID


def wait_for(check, timeout: float = 30.0, what: str = "condition"):
    """The first truthy value of `check()`, polled (queue-driven work finishes in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


# How an account's first subscription ends in the host's log: caught up (its events compared), or
# refused by Graph (then no catch-up comes). Since an emulator reset forgets the tokens issued
# before it, another test's queued work can no longer leave a subscription on the calendar.
SUBSCRIBED = ("caught up", "refused by Graph")


@contextmanager
def logged_after(host, *lines: str, timeout: float = 30.0) -> Iterator[None]:
    """Waits, after the block, until the host's log holds one more of `lines` than before it: for
    background work the block queued (e.g. "caught up": an account's first event subscribes it,
    then re-reads its events), so that it cannot land between a test's own steps. Several lines
    name the ways that work can end (a subscription Graph refuses is caught up never)."""

    def count() -> int:
        text = host.log_text()
        return sum(text.count(line) for line in lines)

    before = count()
    yield
    wait_for(lambda: count() > before, timeout, what=f"{' or '.join(map(repr, lines))} in the host's log")


def link_user(
    api: Api,
    browser: Browser,
    upn: str,
    account: str,
    *,
    tenant_id: str = seed.CONTOSO_TENANT_ID,
    confirm_it: bool = True,
) -> Landing:
    """A HERP account (member) links a Microsoft account of a linked tenant, then confirms it."""
    as_ = (account, "member")
    r = api.call("POST", "/outlook/user-links/authorize", as_=as_, json={"tenant_id": tenant_id})
    assert r.status_code == 200, r.text
    browser.open(r.json()["authorize_url"])
    return _land(api, browser.click("username", upn), as_, "/settings/accounts/outlook", confirm_it)


@pytest.fixture
def ready(company, browser, ms):
    """Contoso linked, rooms cached, m1 linked to Emi; returns (api, link_id, room emails)."""
    member = ("m1", "member")
    link_tenant(company, browser, seed.UPN[seed.AIKO_ID])
    wait_for(
        lambda: company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()["rooms"]["synced_at"], what="room sync"
    )
    link_user(company, browser.__class__(browser.session.verify, browser.stop_at), seed.UPN[seed.EMI_ID], "m1")
    cals = company.call("GET", "/outlook/calendars", as_=member).json()["calendars"]
    rooms = [
        r["email"] for r in company.call("GET", f"/outlook/tenants/{CONTOSO}/rooms", as_=member).json()["rooms"][:3]
    ]
    return company, cals[0]["link_id"], rooms
