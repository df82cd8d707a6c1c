"""The many ways a refresh or a client credential dies at the token endpoint, and `wids` in the
id token only when the app registration's manifest asks for it."""

from __future__ import annotations

import json

import jwt
import pytest

from devtools.emulator import seed

from .conftest import SCOPES

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

CONTOSO, FABRIKAM = seed.CONTOSO_TENANT_ID, seed.FABRIKAM_TENANT_ID
AIKO, EMI, IVAN = (seed.UPN[i] for i in (seed.AIKO_ID, seed.EMI_ID, seed.IVAN_ID))


def refresh(app):
    [account] = app.get_accounts()
    return app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)


@pytest.mark.parametrize(
    "reason, error, code",
    [
        ("mfa", "invalid_grant", 50076),
        ("mfa", "interaction_required", 50076),
        ("mfa-registration", "interaction_required", 50079),
        ("conditional-access", "invalid_grant", 53003),
    ],
)
def test_interrupts_refuse_older_refresh_tokens(emu, reason, error, code):
    app, _ = emu.sign_in(EMI)
    emu.control("POST", f"users/{seed.EMI_ID}/interrupt", json={"reason": reason, "error": error})
    result = refresh(app)
    assert result["error"] == error and result["error_codes"] == [code], result
    if reason == "mfa":
        assert result["suberror"] == "basic_action" and json.loads(result["claims"])["access_token"]
    app2, _ = emu.sign_in(EMI)  # the interactive sign-in meets the requirement
    assert "access_token" in refresh(app2)


def test_interrupt_needs_a_known_reason(emu):
    r = emu.http.post(f"{emu.base}/_emulator/users/{seed.EMI_ID}/interrupt", json={"reason": "bogus"})
    assert r.status_code == 400


def test_withdrawn_consent_is_65001_consent_required(seeded):
    scope = " ".join(SCOPES + ["openid", "profile", "offline_access"])
    assert seeded.admin_consent(AIKO, scope=scope).status_code == 302
    app, _ = seeded.sign_in(EMI)  # Contoso: the member relies on the tenant-wide grant
    seeded.control("DELETE", f"tenants/{CONTOSO}/consent")
    result = refresh(app)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [65001], result
    assert result["suberror"] == "consent_required"
    fab, _ = seeded.sign_in(IVAN, tenant=FABRIKAM)  # Fabrikam: the member's own consent
    assert "access_token" in refresh(fab)
    seeded.control("POST", f"users/{seed.IVAN_ID}/revoke-consent")
    assert refresh(fab)["error_codes"] == [65001]


def test_expired_or_replaced_client_secret_is_invalid_client(emu):
    app, _ = emu.sign_in(EMI)
    assert emu.control("POST", "app/secret", json={"expired": True})["secret_expired"] is True
    result = refresh(app)
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000222], result
    assert "client secret keys for app" in result["error_description"]
    emu.control("POST", "app/secret", json={"expired": False, "value": "a-new-secret-value"})
    result = refresh(app)  # the app still holds the old value
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215], result
    emu.control("POST", "reset")
    assert emu.control("GET", "state")["app"] == {
        "groupMembershipClaims": "DirectoryRole",
        "secret_expired": False,
        "keyCredentials": [],
        "federatedIdentityCredentials": [],
    }


def test_id_token_wids_follow_the_manifest(emu):
    _app, result = emu.sign_in(AIKO)
    assert result["id_token_claims"]["wids"] == [seed.ROLE_GLOBAL_ADMIN, seed.ROLE_USER]
    assert (
        emu.control("POST", "app/manifest", json={"groupMembershipClaims": "None"})["groupMembershipClaims"] == "None"
    )
    _app, result = emu.sign_in(AIKO)
    assert "wids" not in result["id_token_claims"]
    # Graph's access token is Graph's business: it keeps the roles.
    access = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert access["wids"] == [seed.ROLE_GLOBAL_ADMIN, seed.ROLE_USER]
    emu.control("POST", "app/manifest", json={"groupMembershipClaims": "All"})
    _app, result = emu.sign_in(AIKO)
    assert result["id_token_claims"]["wids"] == [seed.ROLE_GLOBAL_ADMIN, seed.ROLE_USER]
    r = emu.http.post(f"{emu.base}/_emulator/app/manifest", json={"groupMembershipClaims": "Roles"})
    assert r.status_code == 400


def test_a_disabled_enterprise_app_refuses_tokens_with_7000112(emu):
    """The customer disables our service principal (accountEnabled false): unauthorized_client,
    AADSTS7000112 "Application '{appId}'({name}) is disabled." (Worklytics/psoxy PR 74)."""
    app, _ = emu.sign_in(EMI)
    assert emu.control("POST", f"tenants/{CONTOSO}/app-enabled", json={"enabled": False})["enabled"] is False
    result = refresh(app)
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [7000112], result
    assert (
        f"Application '{seed.CLIENT_ID}'" in result["error_description"]
        and "is disabled" in result["error_description"]
    )
    emu.control("POST", f"tenants/{CONTOSO}/app-enabled", json={"enabled": True})
    again, _ = emu.sign_in(EMI)  # a fresh app: MSAL replays a failed token POST for 60 s
    assert "access_token" in refresh(again)
