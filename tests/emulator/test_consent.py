"""Consent as Entra enforces it: the tenant's user consent setting, admin consent granting exactly
the scopes it listed (OIDC ones included), and the customer deleting our enterprise app."""

from __future__ import annotations

import pytest

from devtools.emulator import seed

from .conftest import REDIRECT_URI, SCOPES, query

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

CONTOSO, FABRIKAM = seed.CONTOSO_TENANT_ID, seed.FABRIKAM_TENANT_ID
AIKO, EMI, HANA, IVAN = (seed.UPN[i] for i in (seed.AIKO_ID, seed.EMI_ID, seed.HANA_ID, seed.IVAN_ID))
GRAPH = " ".join(f"https://graph.microsoft.com/{s}" for s in SCOPES)
OIDC = "openid profile offline_access"


def sign_in_page(emu, upn, scopes=SCOPES, tenant=CONTOSO):
    """POST the account on the sign-in page (MSAL adds openid profile offline_access)."""
    app = emu.msal_app(tenant)
    flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI)
    return flow, emu.http.post(flow["auth_uri"], data={"username": upn}, allow_redirects=False)


def tenant_view(emu, tid):
    return {t["id"]: t for t in emu.control("GET", "state")["tenants"]}[tid]


def missing_on(page) -> set:
    assert page.status_code == 200 and "AADSTS90094" in page.text, page.text[:500]
    return set(page.text.split('id="missing">Not granted in this organization: ')[1].split("<")[0].split())


def test_locked_down_tenant_needs_the_oidc_scopes_granted_tenant_wide(seeded):
    assert tenant_view(seeded, CONTOSO)["user_consent_allowed"] is False
    _flow, page = sign_in_page(seeded, EMI)
    assert missing_on(page) == set(SCOPES) | {"openid", "profile", "offline_access"}
    # An admin consent that lists only the Graph scopes grants only those.
    assert seeded.admin_consent(AIKO, scope=GRAPH).status_code == 302
    flow, page = sign_in_page(seeded, EMI)
    assert missing_on(page) == {"openid", "profile", "offline_access"}
    back = seeded.http.post(flow["auth_uri"], data={"username": EMI, "action": "cancel"}, allow_redirects=False)
    q = query(back.headers["Location"])
    assert q["error"] == "access_denied" and q["error_description"].startswith("AADSTS90094:")
    assert "code" not in q
    # Listing them too lets every member in.
    assert seeded.admin_consent(AIKO, scope=f"{GRAPH} {OIDC}").status_code == 302
    assert set(tenant_view(seeded, CONTOSO)["consented_scopes"]) == set(SCOPES) | set(OIDC.split())
    _app, result = seeded.sign_in(EMI)
    assert "error" not in result and result["refresh_token"]


def test_admins_may_still_consent_for_themselves(seeded):
    _app, result = seeded.sign_in(AIKO)
    assert "error" not in result
    assert tenant_view(seeded, CONTOSO)["consented_scopes"] == []  # only for Aiko herself
    _flow, page = sign_in_page(seeded, EMI)
    assert "AADSTS90094" in page.text


def test_user_consent_setting_is_per_tenant_and_can_be_toggled(seeded):
    assert tenant_view(seeded, FABRIKAM)["user_consent_allowed"] is True
    _app, result = seeded.sign_in(IVAN, tenant=FABRIKAM)  # a member consents for themselves
    assert "error" not in result
    _flow, page = sign_in_page(seeded, IVAN, scopes=SCOPES + ["Place.Read.All"], tenant=FABRIKAM)
    assert missing_on(page) == {"Place.Read.All"}  # admin-only stays admin-only
    assert seeded.control("POST", f"tenants/{FABRIKAM}/user-consent", json={"allowed": False}) == {
        "tenant_id": FABRIKAM,
        "allowed": False,
    }
    # configure-user-consent: users keep the apps they consented to before; nothing new.
    _app, again = seeded.sign_in(IVAN, tenant=FABRIKAM)
    assert "error" not in again
    _flow, page = sign_in_page(seeded, IVAN, scopes=SCOPES + ["Calendars.Read"], tenant=FABRIKAM)
    assert missing_on(page) == {"Calendars.Read"}
    r = seeded.http.post(f"{seeded.base}/_emulator/tenants/{FABRIKAM}/user-consent", json={"allowed": "yes"})
    assert r.status_code == 400


@pytest.mark.parametrize("tenant, member, admin", [(CONTOSO, EMI, AIKO), (FABRIKAM, IVAN, HANA)])
def test_removing_the_enterprise_app_refuses_refresh_until_an_admin_consents_again(seeded, tenant, member, admin):
    assert tenant_view(seeded, tenant)["app_installed"] is False  # no consent yet
    assert seeded.admin_consent(admin, scope=f"{GRAPH} {OIDC}").status_code == 302
    assert tenant_view(seeded, tenant)["app_installed"] is True
    app, _ = seeded.sign_in(member, tenant=tenant)
    [account] = app.get_accounts()
    seeded.control("POST", f"tenants/{tenant}/remove-app")
    view = tenant_view(seeded, tenant)
    assert view["app_installed"] is False and view["consented_scopes"] == []
    result = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [700016], result
    assert (
        f"Application with identifier '{seed.CLIENT_ID}' was not found in the directory '{view['displayName']}'"
    ) in result["error_description"]
    assert seeded.admin_consent(admin, scope=f"{GRAPH} {OIDC}").status_code == 302
    assert tenant_view(seeded, tenant)["app_installed"] is True
    _app, fresh = seeded.sign_in(member, tenant=tenant)
    assert "error" not in fresh
