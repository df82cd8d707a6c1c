"""Every link is bound to the HERP session that started it: the callback leaves a completion
code, and only the starter's own session confirms it (README.md "Finishing a link").
Also the Microsoft-side checks of linking: consent in locked-down tenants, no `wids`."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from devtools.browser import Browser, query
from devtools.emulator import seed
from devtools.openapi_check import validate_response
from shared.models import iso, utcnow
from shared.storage import connection
from shared.storage import link_completions as completions_table
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks
from tests.conftest import HERP_APP_URL, new_id, user_links_of_tenant
from tests.e2e.conftest import CONTOSO, FABRIKAM, Api, Landing, confirm, link_tenant, link_user, renew_tenant

pytestmark = pytest.mark.e2e

AIKO, BEN, EMI, HANA = (seed.UPN[i] for i in (seed.AIKO_ID, seed.BEN_ID, seed.EMI_ID, seed.HANA_ID))
ADMIN, MEMBER = ("herp-admin", "admin"), ("herp-member", "member")
TENANT_PAGE = f"{HERP_APP_URL}/settings/integrations/outlook"


def fresh(browser: Browser) -> Browser:
    return Browser(browser.session.verify, HERP_APP_URL)


def refused(api: Api, landing: Landing, as_, status: int = 404, code: str = "completion_not_found") -> None:
    r = confirm(api, landing, as_)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


def nothing_linked(api: Api) -> None:
    assert api.call("GET", "/outlook/tenant-links").json() == {"tenant_links": []}
    assert MicrosoftAccounts().list(api.company_id) == []
    assert UserLinks().of_herp_account(api.company_id, ADMIN[0]) == []


def test_a_lured_microsoft_admin_links_nothing(company, browser, ms, host):
    """Company X's HERP admin sends the authorize_url to tenant T's Entra admin (Hana, Fabrikam),
    who finishes it in their own browser and, signed in to HERP as an admin of their own company,
    lands on the confirm page. Nothing is linked anywhere."""
    r = company.call("POST", "/outlook/tenant-links/authorize")
    hanas_browser = fresh(browser)
    hanas_browser.open(r.json()["authorize_url"])
    hanas_browser.click("username", HANA)
    landing = Landing(hanas_browser.click("username", HANA))
    assert landing.url == f"{TENANT_PAGE}/{FABRIKAM}?result=confirm&completion={landing.completion}"

    hanas_company = Api(host.url, new_id("co"))
    refused(hanas_company, landing, ADMIN)  # her HERP session (another company) cannot confirm
    nothing_linked(company)
    nothing_linked(hanas_company)
    assert company.call("GET", f"/outlook/tenant-links/{FABRIKAM}").status_code == 404


def test_only_the_starter_confirms_and_only_once(company, browser, ms, host):
    landing = link_tenant(company, browser, AIKO, confirm_it=False)
    assert landing.answer is None and len(landing.completion) >= 43  # >= 256 bits, base64url
    other_company = Api(host.url, new_id("co"))
    refused(other_company, landing, ADMIN)  # same sub, another company
    refused(company, landing, ("herp-admin-2", "admin"))  # another admin of the same company
    refused(company, landing, ("herp-admin", "member"))  # the starter's sub, but not an admin now
    refused(company, landing, MEMBER)
    nothing_linked(company)
    nothing_linked(other_company)

    r = confirm(company, landing, ADMIN)  # the starter still can
    assert r.status_code == 200 and r.json()["result"] == "linked"
    assert r.json()["tenant_link"]["admin_account"]["id"] == seed.AIKO_ID
    refused(company, landing, ADMIN)  # single use
    assert [l["tenant_id"] for l in company.call("GET", "/outlook/tenant-links").json()["tenant_links"]] == [CONTOSO]


def test_unknown_and_malformed_codes(company, ms):
    def post(status: int, code: str, **kwargs):
        r = company.call("POST", "/outlook/link-completions", **kwargs)
        validate_response(r)
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text

    for completion in ("nope", "x" * 500, "completion", "a" * 42 + "é", "../" + "a" * 40):
        post(404, "completion_not_found", json={"completion": completion})
    for body in ({}, {"completion": ""}, {"completion": 42}, {"completion": None}):
        post(422, "invalid_completion", json=body)
    post(400, "invalid_request", data=b"[1]", headers={"Content-Type": "application/json"})
    r = company.session.post(f"{company.base}/outlook/link-completions", json={"completion": "x"}, timeout=10)
    validate_response(r)
    assert r.status_code == 401


def _expire(landing: Landing) -> None:
    code_hash = hashlib.sha256(landing.completion.encode()).hexdigest()
    from azure.data.tables import UpdateMode

    connection.table(completions_table.TABLE).update_entity(
        {"PartitionKey": code_hash, "RowKey": "completion", "expires_at": iso(utcnow() - timedelta(seconds=1))},
        mode=UpdateMode.MERGE,
    )


def test_an_expired_completion_is_410_for_its_starter_only(company, browser, ms, host):
    landing = link_tenant(company, browser, AIKO, confirm_it=False)
    _expire(landing)
    refused(Api(host.url, new_id("co")), landing, ADMIN)  # others still learn nothing
    refused(company, landing, ADMIN, 410, "completion_expired")
    nothing_linked(company)


def test_renewal_goes_through_its_completion(company, browser, ms):
    link_tenant(company, browser, AIKO)
    before = company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()
    landing = renew_tenant(company, fresh(browser), BEN, CONTOSO, confirm_it=False)
    assert landing.url == f"{TENANT_PAGE}/{CONTOSO}?result=confirm&completion={landing.completion}"
    now = company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()
    assert {**now, "rooms": None} == {**before, "rooms": None}  # nothing renewed yet (the room sync runs on)
    refused(company, landing, ("herp-admin-2", "admin"))
    r = confirm(company, landing, ADMIN)
    assert r.status_code == 200 and r.json()["result"] == "renewed"
    renewed = r.json()["tenant_link"]
    assert renewed["admin_account"]["id"] == seed.BEN_ID and renewed["renewed_at"]
    assert renewed["linked_at"] == before["linked_at"]
    pairs = {(l.herp_account_id, l.account_id) for l in user_links_of_tenant(company.company_id, CONTOSO)}
    assert pairs == {("herp-admin", seed.AIKO_ID), ("herp-admin", seed.BEN_ID)}


def test_a_renewal_confirmed_after_the_unlink_is_tenant_not_linked(company, browser, ms):
    link_tenant(company, browser, AIKO)
    landing = renew_tenant(company, fresh(browser), BEN, CONTOSO, confirm_it=False)
    assert company.call("DELETE", f"/outlook/tenant-links/{CONTOSO}").status_code == 204
    refused(company, landing, ADMIN, 404, "tenant_not_linked")
    assert TenantLinks().get(company.company_id, CONTOSO) is None
    assert MicrosoftAccounts().list(company.company_id) == []


def test_a_user_link_goes_through_its_completion(company, browser, ms, host):
    link_tenant(company, browser, AIKO)
    landing = link_user(company, fresh(browser), EMI, "m1", confirm_it=False)
    assert landing.url == f"{HERP_APP_URL}/settings/accounts/outlook?result=confirm&completion={landing.completion}"
    assert MicrosoftAccounts().get(company.company_id, CONTOSO, seed.EMI_ID) is None  # nothing stored yet
    for other in (("m2", "member"), ADMIN):
        refused(company, landing, other)
    refused(Api(host.url, new_id("co")), landing, ("m1", "member"))
    r = confirm(company, landing, ("m1", "member"))
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == "linked" and set(body) == {"result", "user_link"}
    link = body["user_link"]
    assert link["account"] == {"id": seed.EMI_ID, "email": EMI, "display_name": "Emi Suzuki"}
    assert link["via"] == "user" and link["status"] == "active"
    listed = company.call("GET", "/outlook/user-links", as_=("m1", "member")).json()["tenants"][0]["links"]
    assert listed == [link]
    refused(company, landing, ("m1", "member"))


def test_a_user_link_confirmed_after_the_unlink_is_tenant_not_linked(company, browser, ms):
    link_tenant(company, browser, AIKO)
    landing = link_user(company, fresh(browser), EMI, "m1", confirm_it=False)
    assert company.call("DELETE", f"/outlook/tenant-links/{CONTOSO}").status_code == 204
    refused(company, landing, ("m1", "member"), 404, "tenant_not_linked")
    assert MicrosoftAccounts().list(company.company_id) == []


# ---- Microsoft as it really behaves


def test_an_app_registration_without_directory_roles_is_app_not_configured(company, browser, ms, host):
    ms.post("app/manifest", {"groupMembershipClaims": "None"})  # id tokens carry no `wids` at all
    landing = link_tenant(company, browser, AIKO)
    assert landing.url == f"{TENANT_PAGE}?result=error&reason=app_not_configured"
    assert 'groupMembershipClaims: "DirectoryRole"' in host.log_text()
    nothing_linked(company)

    # A non-admin with the manifest right is still admin_required (wids present, no consent role).
    ms.post("app/manifest", {"groupMembershipClaims": "DirectoryRole"})
    link_tenant(company, fresh(browser), AIKO)
    r = company.call("POST", f"/outlook/tenant-links/{CONTOSO}/renew")
    assert query(fresh(browser).sign_in(r.json()["authorize_url"], EMI)) == {
        "result": "error",
        "reason": "admin_required",
    }


def test_members_of_a_locked_down_tenant_link_after_the_admin_consented(company, browser, ms):
    assert ms.session.get(f"{ms.url}/_emulator/tenants/{CONTOSO}/user-consent", timeout=10).json()["allowed"] is False
    r = company.call("POST", "/outlook/tenant-links/authorize")
    scope = query(r.json()["authorize_url"])["scope"].split()
    assert {"openid", "profile", "offline_access"} <= set(scope)
    assert not any(s.endswith("/MailboxSettings.Read") for s in scope)
    assert link_tenant(company, browser, AIKO).result == "linked"
    granted = ms.session.get(f"{ms.url}/_emulator/tenants/{CONTOSO}/consent", timeout=10).json()["scopes"]
    assert {"openid", "profile", "offline_access"} <= {s.lower() for s in granted}
    assert link_user(company, fresh(browser), EMI, "m1").result == "linked"
