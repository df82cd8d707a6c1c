"""Tenant-level link, end to end: HERP frontend (the test) -> host -> emulator -> host -> HERP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devtools.browser import query
from devtools.emulator import seed
from shared.models import OAuthState, utcnow
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.oauth_states import OAuthStates
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks
from tests.conftest import HERP_APP_URL, new_id, user_links_of_tenant
from tests.e2e.conftest import CONTOSO, FABRIKAM, link_tenant, renew_tenant, wait_for

pytestmark = pytest.mark.e2e

AIKO, BEN, CARL, EMI, HANA = (seed.UPN[i] for i in (seed.AIKO_ID, seed.BEN_ID, seed.CARL_ID, seed.EMI_ID, seed.HANA_ID))
TENANT_PAGE = f"{HERP_APP_URL}/settings/integrations/outlook"


def test_admin_links_the_tenant(company, browser, ms):
    landing = link_tenant(company, browser, AIKO)
    assert landing.url == f"{TENANT_PAGE}/{CONTOSO}?result=confirm&completion={landing.completion}"
    assert landing.answer["result"] == "linked"

    listed = company.call("GET", "/outlook/tenant-links", as_=("herp-member", "member")).json()["tenant_links"]
    assert len(listed) == 1
    link = listed[0]
    assert link["tenant_id"] == CONTOSO and link["tenant_name"] == "Contoso Ltd." and link["status"] == "active"
    assert link["admin_account"] == {"id": seed.AIKO_ID, "email": AIKO, "display_name": "Aiko Sato"}
    assert link["linked_at"].endswith("Z") and link["renewed_at"] is None
    assert link["rooms"] == {"count": 0, "synced_at": None, "last_error": None}
    assert company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json() == link
    without_rooms = {k: v for k, v in link.items() if k != "rooms"}  # the sync queued by the confirm may be done
    assert {k: v for k, v in landing.answer["tenant_link"].items() if k != "rooms"} == without_rooms

    # The HERP admin got a via: tenant_admin link to the Microsoft admin account, whose token
    # cache is stored sealed (no token in clear).
    links = UserLinks().of_herp_account(company.company_id, "herp-admin")
    assert [(l.tenant_id, l.account_id, l.via) for l in links] == [(CONTOSO, seed.AIKO_ID, "tenant_admin")]
    account = MicrosoftAccounts().get(company.company_id, CONTOSO, seed.AIKO_ID)
    assert account.status == "active" and account.token_cache
    assert "refresh_token" not in account.token_cache and "RefreshToken" not in account.token_cache


def test_consent_is_asked_on_organizations_then_sign_in_on_the_tenant(company, browser, ms):
    link_tenant(company, browser, AIKO)
    consent, signin = browser.history[0], next(u for u in browser.history if "/oauth2/v2.0/authorize" in u)
    assert "/organizations/v2.0/adminconsent?" in consent
    assert f"/{CONTOSO}/oauth2/v2.0/authorize?" in signin
    q = query(signin)
    assert q["prompt"] == "select_account" and q["code_challenge_method"] == "S256" and q["nonce"]


def test_non_admin_is_refused(company, browser, ms):
    r = company.call("POST", "/outlook/tenant-links/authorize")
    browser.open(r.json()["authorize_url"])
    final = browser.click("username", EMI)
    if not final.startswith(HERP_APP_URL):  # Entra's "Need admin approval" interrupt
        final = browser.click("action", "cancel")  # -> back to the application
    assert query(final)["result"] == "error" and query(final)["reason"] == "admin_required"
    assert final.startswith(TENANT_PAGE + "?")
    assert company.call("GET", "/outlook/tenant-links").json() == {"tenant_links": []}


def test_an_ai_administrator_links_the_tenant(company, browser, ms):
    """AI Administrator can grant tenant-wide consent (Entra "Grant tenant-wide admin consent")."""
    ms.post(f"users/{seed.EMI_ID}/set-roles", {"role_ids": [seed.ROLE_AI_ADMIN]})
    landing = link_tenant(company, browser, EMI)
    assert landing.answer["result"] == "linked" and landing.answer["tenant_link"]["admin_account"]["id"] == seed.EMI_ID


def test_admin_without_mailbox_is_refused(company, browser, ms):
    final = link_tenant(company, browser, CARL)
    assert query(final.url) == {"result": "error", "reason": "mailbox_unavailable"}
    assert company.call("GET", "/outlook/tenant-links").json() == {"tenant_links": []}


def test_declined_consent(company, browser, ms):
    r = company.call("POST", "/outlook/tenant-links/authorize")
    browser.open(r.json()["authorize_url"])
    final = browser.click("action", "cancel")
    assert query(final) == {"result": "error", "reason": "consent_denied"}


def test_replayed_state_is_refused(company, browser, ms):
    link_tenant(company, browser, AIKO)
    last_callback = [u for u in browser.history if "/api/outlook/callback" in u][-1]
    final = browser.open(last_callback)
    assert query(final) == {"result": "error", "reason": "state_invalid"}


def test_expired_state_is_refused(company, browser, ms):
    state = OAuthStates().create(
        OAuthState(
            state_id=new_id("st"),
            flow="tenant_link",
            leg="consent",
            company_id=company.company_id,
            herp_account_id="herp-admin",
            tenant_id=None,
            expires_at=utcnow() - timedelta(seconds=1),
        )
    )
    final = browser.open(f"{company.base}/outlook/callback?admin_consent=True&tenant={CONTOSO}&state={state.state_id}")
    assert query(final) == {"result": "error", "reason": "state_expired"}
    assert OAuthStates().consume(state.state_id) is None  # gone, not reusable


def test_unknown_state_and_no_state(company, browser, ms):
    for url in (f"{company.base}/outlook/callback?code=abc&state=forged", f"{company.base}/outlook/callback"):
        assert query(browser.open(url)) == {"result": "error", "reason": "state_invalid"}


def test_forged_tenant_parameter_does_not_link_that_tenant(company, browser, ms):
    r = company.call("POST", "/outlook/tenant-links/authorize")
    browser.open(r.json()["authorize_url"])
    # Stop at our callback after the consent leg and swap the tenant for another one.
    form = browser.forms()[0]
    response = browser.session.post(browser.page.url, data=form.fields + [("username", AIKO)], allow_redirects=False)
    callback = response.headers["Location"]
    assert query(callback)["tenant"] == CONTOSO
    forged = callback.replace(CONTOSO, FABRIKAM)
    browser.open(forged)  # sign-in leg now on Fabrikam's authority
    final = browser.type_account(AIKO)  # a Contoso admin cannot sign in there
    assert query(final) == {"result": "error", "reason": "tenant_mismatch"}
    assert company.call("GET", "/outlook/tenant-links").json() == {"tenant_links": []}


def test_member_gets_403_and_other_company_404(company, browser, ms, host, storage):
    link_tenant(company, browser, AIKO)
    member = ("herp-member", "member")
    for method, path in [
        ("POST", "/outlook/tenant-links/authorize"),
        ("POST", f"/outlook/tenant-links/{CONTOSO}/renew"),
        ("DELETE", f"/outlook/tenant-links/{CONTOSO}"),
    ]:
        r = company.call(method, path, as_=member)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"

    from tests.e2e.conftest import Api

    other = Api(host.url, new_id("co"))
    assert other.call("GET", "/outlook/tenant-links").json() == {"tenant_links": []}
    for method, path in [
        ("GET", f"/outlook/tenant-links/{CONTOSO}"),
        ("POST", f"/outlook/tenant-links/{CONTOSO}/renew"),
        ("DELETE", f"/outlook/tenant-links/{CONTOSO}"),
    ]:
        r = other.call(method, path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert company.call("GET", f"/outlook/tenant-links/{CONTOSO}").status_code == 200


def test_renew_with_another_admin_keeps_user_links(company, browser, ms):
    link_tenant(company, browser, AIKO)
    before = company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()
    landing = renew_tenant(company, browser, BEN, CONTOSO, as_=("herp-admin-2", "admin"))
    assert landing.url == f"{TENANT_PAGE}/{CONTOSO}?result=confirm&completion={landing.completion}"
    assert landing.answer["result"] == "renewed"
    assert landing.answer["tenant_link"]["admin_account"]["id"] == seed.BEN_ID

    after = company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()
    assert after["admin_account"]["id"] == seed.BEN_ID and after["status"] == "active"
    assert after["linked_at"] == before["linked_at"] and after["renewed_at"]
    pairs = {(l.herp_account_id, l.account_id, l.via) for l in user_links_of_tenant(company.company_id, CONTOSO)}
    assert pairs == {("herp-admin", seed.AIKO_ID, "tenant_admin"), ("herp-admin-2", seed.BEN_ID, "tenant_admin")}


def test_renew_from_a_wrong_tenant_changes_nothing(company, browser, ms):
    link_tenant(company, browser, AIKO)
    # The link queues the first room sync: the snapshot is taken once it has landed.
    before = wait_for(
        lambda: (link := company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json())["rooms"]["synced_at"] and link,
        what="room sync",
    )
    r = company.call("POST", f"/outlook/tenant-links/{CONTOSO}/renew")
    browser.open(r.json()["authorize_url"])
    final = browser.type_account(HANA)
    assert final == f"{TENANT_PAGE}/{CONTOSO}?result=error&reason=tenant_mismatch"
    assert company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json() == before
    assert MicrosoftAccounts().get(company.company_id, FABRIKAM, seed.HANA_ID) is None


def test_renew_by_a_non_admin_microsoft_account_is_refused(company, browser, ms):
    link_tenant(company, browser, AIKO)
    # The link queues the first room sync: the snapshot is taken once it has landed.
    before = wait_for(
        lambda: (link := company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json())["rooms"]["synced_at"] and link,
        what="room sync",
    )
    r = company.call("POST", f"/outlook/tenant-links/{CONTOSO}/renew")
    final = browser.sign_in(r.json()["authorize_url"], EMI)
    assert query(final) == {"result": "error", "reason": "admin_required"}
    assert company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json() == before


def test_unlink_cascades_and_is_not_repeatable_after_it_finished(company, browser, ms):
    link_tenant(company, browser, AIKO)
    # A second HERP admin links the same tenant's other admin too (many links of the tenant).
    renew_tenant(company, browser, BEN, CONTOSO, as_=("herp-admin-2", "admin"))
    assert len(user_links_of_tenant(company.company_id, CONTOSO)) == 2

    r = company.call("DELETE", f"/outlook/tenant-links/{CONTOSO}")
    assert r.status_code == 204 and r.content == b""
    assert company.call("GET", "/outlook/tenant-links").json() == {"tenant_links": []}
    assert user_links_of_tenant(company.company_id, CONTOSO) == []
    assert MicrosoftAccounts().list(company.company_id) == []
    assert company.call("DELETE", f"/outlook/tenant-links/{CONTOSO}").status_code == 404


def test_interrupted_unlink_is_finished_by_a_repeat(company, browser, ms):
    link_tenant(company, browser, AIKO)
    link = TenantLinks().get(company.company_id, CONTOSO)
    link.status = "unlinking"  # as if the previous DELETE died after its first write
    TenantLinks().save(link)
    assert company.call("GET", f"/outlook/tenant-links/{CONTOSO}").status_code == 404
    assert company.call("DELETE", f"/outlook/tenant-links/{CONTOSO}").status_code == 204
    assert user_links_of_tenant(company.company_id, CONTOSO) == []
    assert TenantLinks().get(company.company_id, CONTOSO) is None


def test_two_companies_link_the_same_tenant_independently(company, browser, ms, host, storage):
    from devtools.browser import Browser
    from tests.e2e.conftest import Api

    other = Api(host.url, new_id("co"))
    link_tenant(company, browser, AIKO)
    link_tenant(other, Browser(browser.session.verify, HERP_APP_URL), BEN)
    assert company.call("DELETE", f"/outlook/tenant-links/{CONTOSO}").status_code == 204
    assert other.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()["admin_account"]["id"] == seed.BEN_ID
