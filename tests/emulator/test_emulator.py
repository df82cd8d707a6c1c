"""The Microsoft identity platform + Graph emulator, driven over HTTPS with requests and MSAL."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest

from devtools.emulator import seed
from devtools.emulator.certs import ensure_certs

from .conftest import EXTRA_REDIRECT_URI, REDIRECT_URI, SCOPES, query

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

CONTOSO, FABRIKAM = seed.CONTOSO_TENANT_ID, seed.FABRIKAM_TENANT_ID
AIKO, BEN, CARL, DANA, EMI, FUMI, GORO, HANA = (
    seed.UPN[i]
    for i in (
        seed.AIKO_ID,
        seed.BEN_ID,
        seed.CARL_ID,
        seed.DANA_ID,
        seed.EMI_ID,
        seed.FUMI_ID,
        seed.GORO_ID,
        seed.HANA_ID,
    )
)
PLACES_SCOPES = SCOPES + ["Place.Read.All"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def raw_code(
    emu, upn, verifier="v" * 50, tenant=CONTOSO, scope="openid offline_access User.Read", redirect_uri=REDIRECT_URI
):
    """First leg by hand (PKCE S256), returning the authorization code."""
    params = {
        "client_id": seed.CLIENT_ID,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    url = f"{emu.base}/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}"
    r = emu.http.post(url, data={"username": upn}, allow_redirects=False)
    assert r.status_code == 302, r.text
    q = query(r.headers["Location"])
    assert q["state"] == "st-1"
    return q["code"]


def redeem(emu, code, verifier="v" * 50, tenant=CONTOSO, **overrides):
    data = {
        "client_id": seed.CLIENT_ID,
        "client_secret": seed.CLIENT_SECRET,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "scope": "openid offline_access User.Read",
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    return emu.http.post(f"{emu.base}/{tenant}/oauth2/v2.0/token", data=data)


def assert_oauth_error(r, status, error, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error and body["error_codes"] == [code], body
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def assert_graph_error(r, status, code):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"], err
    assert err["innerError"]["request-id"] == r.headers["request-id"] and err["innerError"]["date"]


# --- discovery, keys, certificates ------------------------------------------------------------
def test_openid_configuration_per_tenant_kind(emu):
    doc = emu.http.get(f"{emu.base}/{CONTOSO}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{emu.base}/{CONTOSO}/v2.0"
    assert doc["token_endpoint"] == f"{emu.base}/{CONTOSO}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{emu.base}/{CONTOSO}/oauth2/v2.0/authorize"
    assert doc["jwks_uri"] == f"{emu.base}/{CONTOSO}/discovery/v2.0/keys"
    by_domain = emu.http.get(f"{emu.base}/{seed.CONTOSO_DOMAIN}/v2.0/.well-known/openid-configuration").json()
    assert by_domain["token_endpoint"] == doc["token_endpoint"]  # domains resolve to the GUID
    orgs = emu.http.get(f"{emu.base}/organizations/v2.0/.well-known/openid-configuration").json()
    assert orgs["issuer"] == emu.base + "/{tenantid}/v2.0"
    assert orgs["token_endpoint"] == f"{emu.base}/organizations/oauth2/v2.0/token"
    r = emu.http.get(f"{emu.base}/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    assert_oauth_error(r, 400, "invalid_tenant", 90002)


def test_id_and_access_tokens_verify_against_the_published_keys(emu):
    _app, result = emu.sign_in(EMI)
    keys = emu.http.get(f"{emu.base}/{CONTOSO}/discovery/v2.0/keys").json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["use"] == "sig" and keys[0]["x5c"]
    key = jwt.PyJWK(keys[0]).key
    assert jwt.get_unverified_header(result["id_token"])["kid"] == keys[0]["kid"]
    idt = jwt.decode(
        result["id_token"], key, algorithms=["RS256"], audience=seed.CLIENT_ID, issuer=f"{emu.base}/{CONTOSO}/v2.0"
    )
    assert idt["ver"] == "2.0"
    at = jwt.decode(result["access_token"], key, algorithms=["RS256"], audience=seed.GRAPH_RESOURCE)
    assert at["tid"] == CONTOSO and at["oid"] == seed.EMI_ID and at["upn"] == EMI
    assert set(at["scp"].split()) >= set(SCOPES)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(result["access_token"][:-4] + "AAAA", key, algorithms=["RS256"], audience=seed.GRAPH_RESOURCE)


def test_a_reset_forgets_the_tokens_issued_before_it(emu):
    """The control API's reset starts a new world: work queued before it (another test's) gets 401."""
    _app, before = emu.sign_in(EMI)
    assert emu.graph(before["access_token"], "/me").status_code == 200
    emu.control("POST", "reset")
    assert_graph_error(emu.graph(before["access_token"], "/me"), 401, "InvalidAuthenticationToken")
    emu.control("POST", f"tenants/{CONTOSO}/user-consent", json={"allowed": True})  # as `emu` set it up
    _app, after = emu.sign_in(EMI)
    assert emu.graph(after["access_token"], "/me").status_code == 200


def test_certs_are_created_once_and_reused(tmp_path):
    import certifi
    from cryptography import x509

    def read(path):
        return Path(path).read_bytes()

    first = ensure_certs(tmp_path)
    before = {k: read(v) for k, v in first.items()}
    second = ensure_certs(tmp_path)
    assert first == second and before == {k: read(v) for k, v in second.items()}
    assert before["ca"] in before["bundle"]
    assert read(certifi.where()).strip() in before["bundle"]  # public roots still trusted
    cert = x509.load_pem_x509_certificate(before["cert"])
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    (tmp_path / "server.pem").write_text("garbage")
    assert ensure_certs(tmp_path)["cert"] == first["cert"]
    assert read(first["ca"]) == before["ca"]  # CA kept, server cert re-issued
    x509.load_pem_x509_certificate(read(first["cert"])).verify_directly_issued_by(
        x509.load_pem_x509_certificate(before["ca"])
    )


# --- auth code flow with MSAL -----------------------------------------------------------------
def test_auth_code_flow_end_to_end_with_msal(emu):
    app, result = emu.sign_in(EMI)
    assert "error" not in result, result
    idc = result["id_token_claims"]
    assert idc["tid"] == CONTOSO and idc["oid"] == seed.EMI_ID
    assert idc["aud"] == seed.CLIENT_ID and idc["iss"] == f"{emu.base}/{CONTOSO}/v2.0"
    assert idc["preferred_username"] == EMI and idc["name"] == "Emi Suzuki" and idc["nonce"]
    assert idc["wids"] == [seed.ROLE_USER]
    assert result["token_type"] == "Bearer" and result["expires_in"] > 0 and result["refresh_token"]
    assert set(result["scope"].split()) >= set(SCOPES)
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert info == {"uid": seed.EMI_ID, "utid": CONTOSO}
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{seed.EMI_ID}.{CONTOSO}"
    me = emu.graph(result["access_token"], "/me")
    assert me.status_code == 200 and me.json()["id"] == seed.EMI_ID


def test_admin_id_token_carries_role_wids(emu):
    _app, result = emu.sign_in(AIKO)
    assert result["id_token_claims"]["wids"] == [seed.ROLE_GLOBAL_ADMIN, seed.ROLE_USER]
    assert claims(result["access_token"])["wids"] == [seed.ROLE_GLOBAL_ADMIN, seed.ROLE_USER]


def test_organizations_authority_issues_for_the_users_home_tenant(emu):
    _app, result = emu.sign_in(HANA, tenant="organizations")
    assert result["id_token_claims"]["tid"] == FABRIKAM
    assert result["id_token_claims"]["iss"] == f"{emu.base}/{FABRIKAM}/v2.0"


def test_refresh_rotates_and_the_old_refresh_token_stays_valid(emu):
    app, result = emu.sign_in(EMI)
    first_rt = result["refresh_token"]
    [account] = app.get_accounts()
    again = app.acquire_token_silent(SCOPES, account=account)
    assert again["access_token"] == result["access_token"]  # from MSAL's cache, no call
    refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert refreshed and refreshed["access_token"] != result["access_token"]
    [rt_item] = app.token_cache.search(app.token_cache.CredentialType.REFRESH_TOKEN)
    assert rt_item["secret"] != first_rt  # rotated
    # Docs: "Refresh tokens aren't revoked when used to acquire new access tokens."
    r = emu.http.post(
        f"{emu.base}/{CONTOSO}/oauth2/v2.0/token",
        data={
            "client_id": seed.CLIENT_ID,
            "client_secret": seed.CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": first_rt,
            "scope": "User.Read offline_access",
        },
    )
    assert r.status_code == 200 and r.json()["refresh_token"] not in (first_rt, rt_item["secret"])
    assert emu.graph(refreshed["access_token"], "/me").status_code == 200


@pytest.mark.parametrize("action, code", [("delete", 50034), ("disable", 50057), ("revoke-sessions", 50173)])
def test_refresh_is_refused_after_user_changes(emu, action, code):
    app, _ = emu.sign_in(EMI)
    [account] = app.get_accounts()
    emu.control("POST", f"users/{seed.EMI_ID}/{action}")
    result = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [code], result
    assert app.acquire_token_silent(SCOPES, account=account, force_refresh=True) is None


def test_refresh_after_inactivity_expiry_and_new_sign_in_after_revoke(emu):
    app, _ = emu.sign_in(EMI)
    [account] = app.get_accounts()
    emu.control("POST", "tokens/expire-refresh")
    result = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [700082]
    emu.control("POST", f"users/{seed.EMI_ID}/revoke-sessions")
    app2, _ = emu.sign_in(EMI)  # signing in again after revocation works
    [acc2] = app2.get_accounts()
    assert app2.acquire_token_silent(SCOPES, account=acc2, force_refresh=True)["access_token"]


def test_authorization_code_is_single_use(emu):
    code = raw_code(emu, EMI)
    assert redeem(emu, code).status_code == 200
    assert_oauth_error(redeem(emu, code), 400, "invalid_grant", 54005)


def test_pkce_verifier_must_match(emu):
    code = raw_code(emu, EMI, verifier="a" * 43)
    assert_oauth_error(redeem(emu, code, verifier="b" * 43), 400, "invalid_grant", 501481)
    assert_oauth_error(redeem(emu, code, verifier=None), 400, "invalid_grant", 501481)
    assert redeem(emu, code, verifier="a" * 43).status_code == 200


def test_code_is_bound_to_redirect_uri_tenant_and_lifetime(emu):
    code = raw_code(emu, EMI)
    assert_oauth_error(
        redeem(emu, code, redirect_uri="http://localhost:9/api/outlook/callback"), 400, "invalid_grant", 500112
    )
    assert_oauth_error(redeem(emu, code, tenant=FABRIKAM), 400, "invalid_grant", 700005)
    emu.control("POST", "tokens/expire-codes")
    assert_oauth_error(redeem(emu, code), 400, "invalid_grant", 70008)
    assert_oauth_error(redeem(emu, "not-a-code"), 400, "invalid_grant", 9002313)


def test_client_authentication(emu):
    code = raw_code(emu, EMI)
    assert_oauth_error(redeem(emu, code, client_secret="wrong"), 401, "invalid_client", 7000215)
    assert_oauth_error(redeem(emu, code, client_secret=None), 401, "invalid_client", 7000218)
    assert_oauth_error(
        redeem(emu, code, client_id="00000000-0000-0000-0000-000000000000"), 400, "unauthorized_client", 700016
    )
    # HTTP Basic (client_secret_basic) works as well.
    basic = emu.http.post(
        f"{emu.base}/{CONTOSO}/oauth2/v2.0/token",
        auth=(seed.CLIENT_ID, seed.CLIENT_SECRET),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": "v" * 50,
        },
    )
    assert basic.status_code == 200 and basic.json()["access_token"]
    assert_oauth_error(redeem(emu, code, grant_type="password"), 400, "unsupported_grant_type", 70003)
    assert_oauth_error(redeem(emu, code, grant_type=None), 400, "invalid_request", 900144)


# --- sign-in page errors ----------------------------------------------------------------------
def authorize_url(emu, tenant=CONTOSO, **overrides):
    params = {
        "client_id": seed.CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid User.Read",
        "state": "st-9",
    }
    params.update(overrides)
    return f"{emu.base}/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}"


def test_sign_in_page_lists_the_tenants_users_and_repeats_the_query(emu):
    page = emu.http.get(authorize_url(emu))
    assert page.status_code == 200 and '<form method="post">' in page.text
    assert f'name="username" value="{EMI}"' in page.text and HANA not in page.text
    assert 'name="action" value="cancel"' in page.text and 'name="state" value="st-9"' in page.text
    orgs = emu.http.get(authorize_url(emu, tenant="organizations")).text
    assert EMI in orgs and HANA in orgs


def test_wrong_redirect_uri_or_client_is_shown_not_redirected(emu):
    r = emu.http.get(authorize_url(emu, redirect_uri="https://evil.example/cb"), allow_redirects=False)
    assert r.status_code == 400 and "Location" not in r.headers and "AADSTS50011" in r.text
    r = emu.http.get(authorize_url(emu, client_id="11111111-1111-1111-1111-111111111111"))
    assert r.status_code == 400 and "AADSTS700016" in r.text
    # Entra ignores the port of localhost redirect URIs; extra URIs come from the environment.
    assert (
        emu.http.get(authorize_url(emu, redirect_uri="http://127.0.0.1:5555/api/outlook/callback")).status_code == 200
    )
    assert emu.http.get(authorize_url(emu, redirect_uri=EXTRA_REDIRECT_URI)).status_code == 200
    assert emu.http.get(authorize_url(emu, redirect_uri="http://localhost/api/outlook/other")).status_code == 400


def test_user_of_another_tenant_is_sent_back_with_aadsts50020(emu):
    r = emu.http.post(authorize_url(emu, tenant=FABRIKAM), data={"username": AIKO}, allow_redirects=False)
    q = query(r.headers["Location"])
    assert r.headers["Location"].startswith(REDIRECT_URI + "?")
    assert q["error"] == "access_denied" and q["error_description"].startswith("AADSTS50020:")
    assert q["state"] == "st-9" and "code" not in q


def test_cancel_is_access_denied_65004(emu):
    r = emu.http.post(authorize_url(emu), data={"action": "cancel"}, allow_redirects=False)
    q = query(r.headers["Location"])
    assert q["error"] == "access_denied" and q["error_description"].startswith("AADSTS65004:")
    assert q["state"] == "st-9"


@pytest.mark.parametrize("action, code", [("delete", "AADSTS50034"), ("disable", "AADSTS50057")])
def test_deleted_or_disabled_user_cannot_sign_in(emu, action, code):
    emu.control("POST", f"users/{seed.FUMI_ID}/{action}")
    r = emu.http.post(authorize_url(emu), data={"username": FUMI}, allow_redirects=False)
    assert r.status_code == 200 and "Location" not in r.headers and code in r.text
    emu.control("POST", f"users/{seed.FUMI_ID}/enable")
    after = emu.http.post(authorize_url(emu), data={"username": FUMI}, allow_redirects=False)
    assert (after.status_code == 302) == (action == "disable")


def test_response_mode_other_than_query_is_refused_on_the_page(emu):
    r = emu.http.post(authorize_url(emu, response_mode="fragment"), data={"username": EMI}, allow_redirects=False)
    assert r.status_code == 400 and "Location" not in r.headers and "AADSTS70007" in r.text


def test_prompt_none_without_session_is_login_required(emu):
    r = emu.http.get(authorize_url(emu, prompt="none"), allow_redirects=False)
    assert query(r.headers["Location"])["error"] == "login_required"


# --- admin consent ----------------------------------------------------------------------------
def test_admin_consent_success_records_a_tenant_grant(emu):
    scope = "https://graph.microsoft.com/Place.Read.All https://graph.microsoft.com/User.Read"
    r = emu.admin_consent(AIKO, scope=scope)
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?admin_consent=True&tenant=")
    assert query(location) == {"admin_consent": "True", "tenant": CONTOSO, "scope": scope, "state": "consent-state"}
    tenants = {t["id"]: t for t in emu.control("GET", "state")["tenants"]}
    assert "Place.Read.All" in tenants[CONTOSO]["consented_scopes"]
    assert tenants[FABRIKAM]["consented_scopes"] == []
    assert emu.admin_consent(BEN, scope=scope).status_code == 302  # Application Administrator may too


@pytest.mark.parametrize("upn", [EMI, DANA])
def test_admin_consent_by_a_non_admin_ends_in_an_error_redirect(emu, upn):
    page = emu.admin_consent(upn)
    assert page.status_code == 200 and "AADSTS90093" in page.text  # Entra's approval-required page
    url = (
        f"{emu.base}/organizations/v2.0/adminconsent?client_id={seed.CLIENT_ID}"
        f"&redirect_uri={REDIRECT_URI}&state=consent-state&scope=Place.Read.All"
    )
    back = emu.http.post(url, data={"username": upn, "action": "cancel"}, allow_redirects=False)
    q = query(back.headers["Location"])
    assert q["error"] == "access_denied" and q["error_description"].startswith("AADSTS90093:")
    assert q["state"] == "consent-state" and q["admin_consent"] == "True" and "tenant" not in q
    assert {t["id"]: t for t in emu.control("GET", "state")["tenants"]}[CONTOSO]["consented_scopes"] == []


def test_admin_consent_cancel_and_wrong_tenant(emu):
    url = (
        f"{emu.base}/{FABRIKAM}/v2.0/adminconsent?client_id={seed.CLIENT_ID}"
        f"&redirect_uri={REDIRECT_URI}&state=s&scope=Place.Read.All"
    )
    q = query(emu.http.post(url, data={"action": "cancel"}, allow_redirects=False).headers["Location"])
    assert q["error"] == "access_denied" and q["error_description"].startswith("AADSTS65004:")
    q = query(emu.http.post(url, data={"username": AIKO}, allow_redirects=False).headers["Location"])
    assert q["error_description"].startswith("AADSTS50020:") and q["state"] == "s"


def test_member_needs_admin_approval_for_place_read_all_until_the_tenant_consents(emu):
    app = emu.msal_app()
    flow = app.initiate_auth_code_flow(PLACES_SCOPES, redirect_uri=REDIRECT_URI)
    r = emu.http.post(flow["auth_uri"], data={"username": EMI}, allow_redirects=False)
    assert r.status_code == 200 and "AADSTS90094" in r.text and "Place.Read.All" in r.text
    back = emu.http.post(flow["auth_uri"], data={"username": EMI, "action": "cancel"}, allow_redirects=False)
    assert query(back.headers["Location"])["error_description"].startswith("AADSTS90094:")
    assert emu.admin_consent(AIKO).status_code == 302
    _app, result = emu.sign_in(EMI, scopes=PLACES_SCOPES)
    assert "Place.Read.All" in claims(result["access_token"])["scp"].split()


# --- Graph ------------------------------------------------------------------------------------
def test_me_and_select(emu):
    _app, result = emu.sign_in(GORO)
    token = result["access_token"]
    me = emu.graph(token, "/me").json()
    assert me["@odata.context"] == f"{emu.base}/v1.0/$metadata#users/$entity"
    assert me["mail"] is None and me["userPrincipalName"] == GORO  # clients fall back to the UPN
    sel = emu.graph(token, "/me", params={"$select": "displayName,mail"}).json()
    assert sel == {
        "@odata.context": f"{emu.base}/v1.0/$metadata#users(displayName,mail)/$entity",
        "displayName": "Goro Yamada",
        "mail": None,
    }
    assert_graph_error(emu.graph(token, "/me", params={"$select": "nope"}), 400, "BadRequest")
    assert_graph_error(emu.graph(token, "/bogus"), 400, "BadRequest")


def test_organization(emu):
    _app, result = emu.sign_in(AIKO)
    r = emu.graph(result["access_token"], "/organization")
    assert r.status_code == 200 and r.headers["request-id"]
    body = r.json()
    assert body["@odata.context"] == f"{emu.base}/v1.0/$metadata#organization"
    [org] = body["value"]
    assert org["id"] == CONTOSO and org["displayName"] == "Contoso Ltd."
    assert org["verifiedDomains"][0]["name"] == seed.CONTOSO_DOMAIN
    assert org["tenantType"] is None  # User.Read sees id, displayName, verifiedDomains only
    sel = emu.graph(result["access_token"], "/organization", params={"$select": "id,displayName"}).json()
    assert sel["value"] == [{"id": CONTOSO, "displayName": "Contoso Ltd."}]


def test_calendars_paging_and_fields(emu):
    _app, result = emu.sign_in(EMI)
    token = result["access_token"]
    first = emu.graph(token, "/me/calendars", params={"$top": "2"}).json()
    assert first["@odata.context"] == f"{emu.base}/v1.0/$metadata#me/calendars"
    assert len(first["value"]) == 2 and first["@odata.nextLink"].startswith(f"{emu.base}/v1.0/me/calendars?")
    second = emu.graph(token, first["@odata.nextLink"]).json()
    assert "@odata.nextLink" not in second
    cals = first["value"] + second["value"]
    assert [c["name"] for c in cals] == ["Calendar", "Interviews", "Ben Tanaka"]  # + Ben's, shared
    default = cals[0]
    assert default["isDefaultCalendar"] and not cals[1]["isDefaultCalendar"]
    for field in (
        "id",
        "color",
        "hexColor",
        "changeKey",
        "canShare",
        "canViewPrivateItems",
        "canEdit",
        "allowedOnlineMeetingProviders",
        "defaultOnlineMeetingProvider",
        "isTallyingResponses",
        "isRemovable",
        "owner",
    ):
        assert field in default
    assert default["allowedOnlineMeetingProviders"] == ["teamsForBusiness"]
    assert default["owner"] == {"name": "Emi Suzuki", "address": EMI}
    one = emu.graph(token, "/me/calendar").json()
    assert one["id"] == default["id"] and one["@odata.context"].endswith("/calendar/$entity")
    assert emu.graph(token, f"/me/calendars/{cals[1]['id']}").json()["name"] == "Interviews"
    assert_graph_error(emu.graph(token, "/me/calendars/AAMkAGnope"), 404, "ErrorItemNotFound")


def test_calendar_without_teams(emu):
    _app, result = emu.sign_in(FUMI)
    cal = emu.graph(result["access_token"], "/me/calendar").json()
    assert "teamsForBusiness" not in cal["allowedOnlineMeetingProviders"]


def test_no_mailbox_is_mailbox_not_enabled_for_rest_api(emu):
    _app, result = emu.sign_in(CARL)
    for path in ("/me/calendar", "/me/calendars"):
        assert_graph_error(emu.graph(result["access_token"], path), 404, "MailboxNotEnabledForRESTAPI")
    assert emu.graph(result["access_token"], "/me").status_code == 200


def test_places_need_place_read_all(emu):
    _app, result = emu.sign_in(AIKO)  # no Place.Read.All in the token
    for path in ("/places/microsoft.graph.room", "/places/microsoft.graph.roomlist"):
        assert_graph_error(emu.graph(result["access_token"], path), 403, "ErrorAccessDenied")


def test_replacing_a_tenants_rooms(emu):
    rooms = [{"emailAddress": f"r{i}@{seed.FABRIKAM_DOMAIN}", "displayName": f"R{i}", "capacity": i} for i in range(3)]
    emu.control("POST", f"tenants/{FABRIKAM}/rooms", json={"rooms": rooms})
    assert [r["displayName"] for r in emu.control("GET", f"tenants/{FABRIKAM}/rooms")["rooms"]] == ["R0", "R1", "R2"]
    emu.control("POST", f"tenants/{FABRIKAM}/consent", json={"scopes": ["Place.Read.All"]})
    _app, result = emu.sign_in(seed.UPN[seed.IVAN_ID], scopes=PLACES_SCOPES, tenant=FABRIKAM)
    got = emu.graph(result["access_token"], "/places/microsoft.graph.room").json()["value"]
    assert [(r["emailAddress"], r["capacity"]) for r in got] == [(r["emailAddress"], r["capacity"]) for r in rooms]


# --- Graph authentication, throttling, faults -------------------------------------------------
def test_bad_or_missing_tokens_are_401(emu):
    _app, result = emu.sign_in(EMI)
    good = result["access_token"]
    for token in (None, "garbage", good[:-6] + "AAAAAA"):
        r = emu.graph(token, "/me")
        assert_graph_error(r, 401, "InvalidAuthenticationToken")
        assert r.headers["WWW-Authenticate"].startswith("Bearer ")
    forged = jwt.encode(
        {**claims(good), "oid": seed.AIKO_ID}, "not-the-emulator-signing-key-0123456789", algorithm="HS256"
    )
    assert_graph_error(emu.graph(forged, "/me"), 401, "InvalidAuthenticationToken")
    assert emu.graph(good, "/me").status_code == 200


def test_expired_access_token_then_refresh(emu):
    app, result = emu.sign_in(EMI)
    emu.control("POST", "tokens/expire-access")
    assert_graph_error(emu.graph(result["access_token"], "/me"), 401, "InvalidAuthenticationToken")
    [account] = app.get_accounts()
    fresh = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert emu.graph(fresh["access_token"], "/me").status_code == 200


def test_token_of_a_deleted_user_is_401(emu):
    _app, result = emu.sign_in(EMI)
    emu.control("POST", f"users/{seed.EMI_ID}/delete")
    assert_graph_error(emu.graph(result["access_token"], "/me/calendars"), 401, "InvalidAuthenticationToken")


def test_throttling_429_with_retry_after_then_success(emu):
    _app, result = emu.sign_in(EMI)
    emu.control("DELETE", "calls")
    emu.control(
        "POST", "throttle", json={"count": 2, "status": 429, "retry_after": 3, "path_contains": "/me/calendars"}
    )
    for _ in range(2):
        r = emu.graph(result["access_token"], "/me/calendars")
        assert_graph_error(r, 429, "TooManyRequests")
        assert r.headers["Retry-After"] == "3"
    assert emu.graph(result["access_token"], "/me").status_code == 200  # other paths untouched
    assert emu.graph(result["access_token"], "/me/calendars").status_code == 200
    calls = emu.control("GET", "calls")["calls"]
    assert [(c["kind"], c["path"], c["status"]) for c in calls] == [
        ("graph", "/v1.0/me/calendars", 429),
        ("graph", "/v1.0/me/calendars", 429),
        ("graph", "/v1.0/me", 200),
        ("graph", "/v1.0/me/calendars", 200),
    ]
    assert all(c["user_id"] == seed.EMI_ID and c["tenant_id"] == CONTOSO for c in calls)


def test_faults_503_on_graph_and_on_the_token_endpoint(emu):
    _app, result = emu.sign_in(EMI)
    emu.control("POST", "throttle", json={"count": 1, "status": 503, "retry_after": 1})
    r = emu.graph(result["access_token"], "/organization")
    assert_graph_error(r, 503, "serviceNotAvailable")
    assert r.headers["Retry-After"] == "1"
    emu.control(
        "POST", "throttle", json={"count": 1, "status": 429, "retry_after": 2, "path_contains": "/oauth2/v2.0/token"}
    )
    assert emu.graph(result["access_token"], "/me").status_code == 200  # a token rule spares Graph
    code = raw_code(emu, EMI)
    t = redeem(emu, code)
    assert_oauth_error(t, 429, "temporarily_unavailable", 90055)
    assert t.headers["Retry-After"] == "2"
    assert redeem(emu, code).status_code == 200


def test_latency_and_call_log(emu):
    _app, result = emu.sign_in(EMI)
    kinds = [c["kind"] for c in emu.control("GET", "calls")["calls"]]
    assert kinds == ["authorize", "authorize", "token"]
    emu.control("POST", "latency", json={"ms": 300})
    start = time.monotonic()
    assert emu.graph(result["access_token"], "/me").status_code == 200
    assert time.monotonic() - start >= 0.3
    emu.control("POST", "latency", json={"ms": 0})
    assert emu.control("DELETE", "calls") == {"calls": []}


def test_control_state_set_roles_and_reset(emu):
    users = {u["id"]: u for u in emu.control("GET", "state")["users"]}
    assert users[seed.CARL_ID]["has_mailbox"] is False and users[seed.AIKO_ID]["roles"] == [seed.ROLE_GLOBAL_ADMIN]
    emu.control("POST", f"users/{seed.EMI_ID}/set-roles", json={"role_ids": [seed.ROLE_CLOUD_APP_ADMIN]})
    _app, result = emu.sign_in(EMI)
    assert result["id_token_claims"]["wids"] == [seed.ROLE_CLOUD_APP_ADMIN, seed.ROLE_USER]
    assert emu.admin_consent(EMI).status_code == 302  # now allowed to grant tenant-wide consent
    emu.control("POST", "reset")
    users = {u["id"]: u for u in emu.control("GET", "state")["users"]}
    assert users[seed.EMI_ID]["roles"] == [] and emu.control("GET", "calls") == {"calls": []}
    r = emu.http.post(f"{emu.base}/_emulator/users/{seed.EMI_ID}/set-roles", json={"role_ids": "x"})
    assert r.status_code == 400


def test_an_ai_administrator_may_grant_tenant_wide_consent(emu):
    """Entra "Grant tenant-wide admin consent": AI Administrator is one of the roles that may."""
    assert emu.admin_consent(EMI).status_code != 302  # a member may not
    emu.control("POST", f"users/{seed.EMI_ID}/set-roles", json={"role_ids": [seed.ROLE_AI_ADMIN]})
    assert emu.admin_consent(EMI).status_code == 302


def test_concurrent_graph_calls(emu):
    _app, result = emu.sign_in(EMI)
    statuses = []

    def call():
        statuses.append(
            emu.session()
            .get(f"{emu.base}/v1.0/me/calendars", headers={"Authorization": f"Bearer {result['access_token']}"})
            .status_code
        )

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 16
    assert len([c for c in emu.control("GET", "calls")["calls"] if c["kind"] == "graph"]) == 16


def test_no_secrets_in_the_log(emu):
    _app, result = emu.sign_in(EMI)
    emu.graph(result["access_token"], "/me")
    text = emu.log.read_text()
    for secret in (result["access_token"], result["refresh_token"], seed.CLIENT_SECRET, "code="):
        assert secret not in text
    assert "POST /" + CONTOSO + "/oauth2/v2.0/token -> 200" in text


def test_a_silent_client_does_not_stall_the_server(emu):
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(emu.base).port
    with socket.create_connection(("127.0.0.1", port)):  # connects, never starts TLS
        time.sleep(0.2)
        assert emu.session().get(f"{emu.base}/_emulator/health", timeout=5).json() == {"status": "ok"}
