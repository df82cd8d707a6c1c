"""Hosts without a client secret: one whose credential is a certificate (MS_CLIENT_CREDENTIAL=
certificate), one whose credential is its managed identity's token (federated). Each links a
tenant and an account and puts an interview into Outlook; once the credential is taken off the app
registration, Microsoft's refusal is the operator's 503, not the account's fault."""

from __future__ import annotations

import pytest

from devtools import stack
from devtools.emulator import seed
from tests.certificates import app_certificate
from tests.conftest import HERP_APP_URL, new_id

from .conftest import CONTOSO, SUBSCRIBED, Api, host_settings, link_tenant, link_user, logged_after, wait_for
from .test_events import M1, event_body, live


@pytest.fixture(scope="module")
def certificate():
    return app_certificate()


@pytest.fixture(scope="module")
def own_azurite(stack_dir):
    """Storage of these hosts alone: on the worker's Azurite, the worker's host (signing in with
    the client secret) would take their queued work, e.g. a subscription's fresh token redeemed
    after the certificate was removed."""
    child = stack.start_azurite(stack_dir / "credential-logs")
    yield child
    child.stop()


@pytest.fixture
def cert_host(stack_dir, own_azurite, emulator, certificate):
    """Stopped after its test, so that it takes none of the next host's queued work either."""
    port = stack.free_port()
    key_pem, cert_pem = certificate
    env = {
        **host_settings(own_azurite, emulator, port, HERP_APP_URL),
        "MS_CLIENT_CREDENTIAL": "certificate",
        "MS_CLIENT_CERTIFICATE": key_pem + cert_pem,
        "MS_CLIENT_SECRET": "",  # no secret at all: only the certificate can sign in
    }
    child = stack.start_host(stack_dir / "cert-logs", env, port=port)
    yield child
    child.stop()


def link_and_create(api: Api, browser, ms, host) -> None:
    """Links Contoso and Emi and creates an interview; waits for the account's first subscription
    (queued by the event), whose fresh token must not land after the credential is removed."""
    link_tenant(api, browser, seed.UPN[seed.AIKO_ID])
    wait_for(lambda: api.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()["rooms"]["synced_at"], what="rooms")
    link_user(api, browser.__class__(browser.session.verify, browser.stop_at), seed.UPN[seed.EMI_ID], "m1")
    link_id = api.call("GET", "/outlook/calendars", as_=M1).json()["calendars"][0]["link_id"]
    with logged_after(host, *SUBSCRIBED):
        r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, []))
        assert r.status_code == 201, r.text
    assert [e["subject"] for e in live(ms)] == ["一次面接: 山田 太郎 様"]


def refused_after(api: Api, ms) -> None:
    ms.post("tokens/expire-access")
    r = api.call("PATCH", "/outlook/events/sch-1", as_=M1, json={"subject": "二次面接"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "configuration_error", r.text


def test_link_and_create_an_event_with_a_certificate(cert_host, ms, browser, certificate):
    ms.post("app/certificates", {"certificates": [certificate[1]]})
    api = Api(cert_host.url, new_id("co"))
    link_and_create(api, browser, ms, cert_host)
    # The certificate removed from the app registration: the next refresh is refused (700027).
    ms.post("app/certificates", {"certificates": []})
    refused_after(api, ms)
    assert "BEGIN" not in cert_host.log_text()


@pytest.fixture
def federated_host(stack_dir, own_azurite, emulator):
    port = stack.free_port()
    env = {
        **host_settings(own_azurite, emulator, port, HERP_APP_URL),
        "MS_CLIENT_CREDENTIAL": "federated",
        "MS_FEDERATED_IDENTITY_CLIENT_ID": seed.MANAGED_IDENTITY_CLIENT_ID,
        "MS_CLIENT_SECRET": "",
        # What App Service / Functions give a managed identity (the emulator stands in for it).
        "IDENTITY_ENDPOINT": f"{emulator.url}/_emulator/managed-identity/token",
        "IDENTITY_HEADER": seed.MANAGED_IDENTITY_HEADER,
    }
    child = stack.start_host(stack_dir / "federated-logs", env, port=port)
    yield child
    child.stop()


def test_link_and_create_an_event_with_the_managed_identity(federated_host, ms, browser):
    trust = {
        "issuer": f"{ms.url}/{CONTOSO}/v2.0",
        "subject": seed.MANAGED_IDENTITY_OBJECT_ID,
        "audiences": ["api://AzureADTokenExchange"],
    }
    ms.post("app/federated-credentials", {"credentials": [trust]})
    api = Api(federated_host.url, new_id("co"))
    link_and_create(api, browser, ms, federated_host)
    # The federated credential removed: the managed identity's token is no longer an assertion (700213).
    ms.post("app/federated-credentials", {"credentials": [{**trust, "subject": "someone-else"}]})
    refused_after(api, ms)
    assert "eyJ" not in federated_host.log_text()
