"""Dead credentials by every name Entra gives them: a relink (tenant: renewal), never 503s forever;
our own refused secret is a configuration error, never a relink request."""

from __future__ import annotations

import pytest

from devtools.emulator import seed
from tests.e2e.conftest import CONTOSO, SUBSCRIBED, link_tenant, link_user, logged_after, wait_for
from tests.e2e.test_events import AIKO, EMI, M1, event_body
from tests.e2e.test_rooms import link_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def booked(company, browser, ms, host):
    """Contoso linked by Aiko, m1 linked to Emi, one interview in Emi's calendar, Emi's account
    subscribed (the first event queues that; its token use must end before the tokens expire)."""
    link_tenant(company, browser, AIKO)
    wait_for(lambda: link_of(company)["rooms"]["synced_at"], what="room sync")
    link_user(company, browser.__class__(browser.session.verify, browser.stop_at), EMI, "m1")
    link_id = company.call("GET", "/outlook/calendars", as_=M1).json()["calendars"][0]["link_id"]
    with logged_after(host, *SUBSCRIBED):
        assert company.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, [])).status_code == 201
    ms.post("tokens/expire-access")  # the next call must redeem the refresh token
    return company


def my_link_status(api) -> dict[str, str]:
    tenants = api.call("GET", "/outlook/user-links", as_=M1).json()["tenants"]
    return {l["account"]["id"]: l["status"] for t in tenants for l in t["links"]}


def test_enterprise_app_removed_by_the_customer_asks_for_a_relink_not_a_retry(booked, ms, browser):
    ms.post(f"tenants/{CONTOSO}/remove-app")  # AADSTS700016 from now on (unauthorized_client)
    r = booked.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "reauth_required"
    assert my_link_status(booked)[seed.EMI_ID] == "reauth_required"

    assert booked.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync").status_code == 202
    assert wait_for(lambda: link_of(booked)["status"] == "renewal_required", what="renewal_required")

    # The admin consents again (the app comes back), then the member signs in again: all heals.
    link_tenant(booked, browser.__class__(browser.session.verify, browser.stop_at), AIKO)
    assert link_of(booked)["status"] == "active"
    link_user(booked, browser.__class__(browser.session.verify, browser.stop_at), EMI, "m1")
    assert my_link_status(booked)[seed.EMI_ID] == "active"
    assert booked.call("GET", "/outlook/events/sch-1", as_=M1).status_code == 200


def test_enterprise_app_disabled_by_the_customer_asks_for_a_relink(booked, ms):
    ms.post(f"tenants/{CONTOSO}/app-enabled", {"enabled": False})  # AADSTS7000112 (unauthorized_client)
    r = booked.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "reauth_required"
    assert my_link_status(booked)[seed.EMI_ID] == "reauth_required"


@pytest.mark.parametrize(
    "reason,error", [("mfa", "interaction_required"), ("mfa", "invalid_grant"), ("conditional-access", "invalid_grant")]
)
def test_interrupted_sign_ins_ask_for_a_relink(booked, ms, reason, error):
    ms.post(f"users/{seed.EMI_ID}/interrupt", {"reason": reason, "error": error})
    r = booked.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "reauth_required"


def test_consent_withdrawn_asks_for_a_relink(booked, ms):
    ms.post(f"users/{seed.EMI_ID}/revoke-consent")
    ms.session.delete(f"{ms.url}/_emulator/tenants/{CONTOSO}/consent", timeout=10)  # AADSTS65001
    r = booked.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "reauth_required"


def test_our_expired_secret_is_a_configuration_error_and_no_link_dies(booked, ms, host):
    ms.post("app/secret", {"expired": True})  # AADSTS7000222 (invalid_client)
    r = booked.call("GET", "/outlook/events/sch-1", as_=M1)
    assert r.status_code == 503 and r.json()["error"]["code"] == "configuration_error"
    assert seed.CLIENT_SECRET not in r.text
    assert "MS_CLIENT_SECRET is wrong or expired" in host.log_text()
    assert seed.CLIENT_SECRET not in host.log_text()
    assert my_link_status(booked)[seed.EMI_ID] == "active"  # nobody is asked to relink

    assert booked.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync").status_code == 202
    error = wait_for(lambda: link_of(booked)["rooms"]["last_error"], what="the sync's error")
    assert "operator" in error and link_of(booked)["status"] == "active"  # not renewal_required
