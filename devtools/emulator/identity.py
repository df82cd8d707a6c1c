"""Browser-facing identity endpoints: /authorize, /v2.0/adminconsent, OIDC discovery, JWKS.

Docs followed (Microsoft identity platform, learn.microsoft.com/entra/identity-platform):
- "Microsoft identity platform and OAuth 2.0 authorization code flow" (v2-oauth2-auth-code-flow)
- "Admin consent on the Microsoft identity platform" (v2-admin-consent)
- "OpenID Connect on the Microsoft identity platform" (v2-protocols-oidc)
- "Microsoft Entra authentication and authorization error codes" (reference-error-codes)
- Observed responses recorded in MicrosoftDocs/azure-docs issue #114009 (adminconsent:
  cancel -> error=access_denied + AADSTS65004; user of another tenant -> access_denied +
  AADSTS50020, both redirected with admin_consent=True and state).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from . import oauth, pages, scopes, seed
from .jwt_keys import b64url
from .oauth import OAuthError, error_page, html, json_response, redirect
from .records import AuthCode

CODE_TTL = 600  # "Authorization codes are short lived. Typically, they expire after about 10 minutes."
PROMPTS = ("login", "none", "consent", "select_account")


def _tenant_or_page(state, request, tenant):
    resolved = state.resolve_tenant(tenant)
    if resolved is None:
        if tenant.lower() == "consumers":
            return None, error_page(
                request,
                400,
                9002332,
                f"Application '{seed.CLIENT_ID}'({seed.APP_DISPLAY_NAME}) is "
                "configured for use by Microsoft Entra users only. Please do not "
                "use the /consumers endpoint to serve this request.",
            )
        return None, error_page(
            request,
            400,
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the "
            "correct tenant ID and are signing into the correct cloud.",
        )
    return resolved, None


def _pick_user(state, request, p, resolved, heading, note):
    """The POSTed `username` as a signed-in user, or the sign-in page again with the error."""
    user = state.user_by_upn(p.get("username"))
    error = None
    if user is None or user.deleted:
        error = oauth.describe(
            request,
            50034,
            f"The user account {p.get('username') or '{EmailHidden}'} does not "
            "exist in the directory. To sign into this application, the account "
            "must be added to the directory.",
        )
    elif user.disabled:
        error = oauth.describe(request, 50057, "The user account is disabled.")
    if error:
        users = state.tenant_users(resolved[1] if resolved[0] == "tenant" else None)
        return None, html(pages.sign_in(p, users, heading, note, error=error))
    return user, None


def wrong_tenant_message(state, user, tid) -> str:
    return (
        f"User account '{user.upn}' from identity provider "
        f"'{state.base_url}/{user.tenant_id}/' does not exist in tenant "
        f"'{state.tenants[tid].display_name}' and cannot access the application "
        f"'{seed.CLIENT_ID}'({seed.APP_DISPLAY_NAME}) in that tenant. The account needs to be "
        "added as an external user in the tenant first. Sign out and sign in again with a "
        "different Azure Active Directory user account."
    )


def _can_grant_tenant_consent(user) -> bool:
    return bool(set(user.roles) & seed.CONSENT_GRANTING_ROLES)


def _not_user_consentable(state, user, needed: set) -> set:
    """What the signed-in user may not consent to for themselves. An admin who may grant
    tenant-wide consent may consent to anything. Others follow the tenant's user consent setting
    (configure-user-consent): "Do not allow user consent" leaves only what an admin granted; the
    default still excludes permissions whose consent type is Admin."""
    if _can_grant_tenant_consent(user):
        return set()
    if state.tenants[user.tenant_id].user_consent_allowed:
        return scopes.admin_only(needed)
    return set(needed)


def _browser_request(state, request, tenant, info, kind):
    """What authorize and adminconsent check first: the tenant, then client_id and redirect_uri
    (errors shown on Entra's own page). Returns (resolved tenant, params, error page or None)."""
    info.kind = kind
    resolved, page = _tenant_or_page(state, request, tenant)
    if page:
        return None, None, page
    if resolved[0] == "tenant":
        info.tenant_id = resolved[1]
    p = oauth.params(request)
    return resolved, p, oauth.check_client_and_redirect(request, p, tenant)


# --- /{tenant}/oauth2/v2.0/authorize ----------------------------------------------------------
def authorize(state, request, tenant, info):
    resolved, p, page = _browser_request(state, request, tenant, info, "authorize")
    if page:
        return page
    mode = p.get("response_mode") or "query"
    if mode != "query":  # fragment and form_post are not emulated: the app uses query
        return error_page(request, 400, 70007, f"The application requested an unsupported response mode '{mode}'.")
    redirect_uri = p["redirect_uri"]

    def fail(error, code, message, **extra):
        return redirect(
            redirect_uri,
            {
                "error": error,
                **extra,
                "error_description": oauth.describe(request, code, message),
                "error_uri": oauth.ERROR_URI.format(code),
                "state": p.get("state"),
            },
        )

    rtype = p.get("response_type")
    if not rtype:
        return fail(
            "invalid_request", 900144, "The request body must contain the following parameter: 'response_type'."
        )
    if set(rtype.split()) != {"code"}:
        # The hybrid/implicit flows need "ID tokens" enabled on the registration; it is not.
        return fail("unsupported_response_type", 700054, "response_type 'id_token' is not enabled for the application.")
    try:
        sreq = scopes.parse(p.get("scope"))
    except OAuthError as e:
        return fail(e.error, e.code, e.message)
    challenge, method = p.get("code_challenge"), p.get("code_challenge_method")
    if method and not challenge:
        return fail(
            "invalid_request", 900144, "The request body must contain the following parameter: 'code_challenge'."
        )
    if challenge:
        method = method or "plain"  # docs: without a method the challenge is plain
        if method not in ("S256", "plain"):
            return fail("invalid_request", 90100, "The parameter 'code_challenge_method' is not valid.")
        if not 43 <= len(challenge) <= 128:
            return fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
    prompt = p.get("prompt")
    if prompt and prompt not in PROMPTS:
        return fail("invalid_request", 90100, "The parameter 'prompt' is not valid.")
    if prompt == "none":
        # No browser session exists in the emulator, so silent sign-in always needs a login.
        return fail("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")

    heading = f"Sign in to {seed.APP_DISPLAY_NAME}"
    note = "Pick an account. Signing in also accepts the permissions requested: " + p["scope"]
    if request.method == "GET":
        users = state.tenant_users(resolved[1] if resolved[0] == "tenant" else None)
        return html(pages.sign_in(p, users, heading, note))

    cancelled = oauth.action(request) == "cancel"
    if cancelled and not p.get("username"):
        # docs: access_denied = "Resource owner denied consent"; AADSTS65004 UserDeclinedConsent.
        return fail("access_denied", 65004, "User declined to consent to access the app.", error_subcode="cancel")
    user, page = _pick_user(state, request, p, resolved, heading, note)
    if page:
        return page
    info.user_id, info.tenant_id = user.id, user.tenant_id
    tid = user.tenant_id
    if resolved[0] == "tenant" and resolved[1] != tid:
        return fail("access_denied", 50020, wrong_tenant_message(state, user, resolved[1]))

    graph = sreq.resolve(None)
    with state.lock:
        # Every requested permission needs consent, the OIDC ones included: they are delegated
        # permissions like any other, and admin consent grants exactly what its `scope` listed
        # (v2-admin-consent).
        needed = (graph | sreq.oidc) - state.granted(tid, user.id)
        refused = _not_user_consentable(state, user, needed)
        if refused:
            # Entra interrupts with "Need admin approval"; the only way on is back to the app,
            # which then learns why. The docs give AADSTS90093 for a tenant whose policy stops
            # user consent (application-sign-in-unexpected-user-consent-error), but users of such
            # tenants report the AADSTS90094 page and text (Azure-Samples/
            # active-directory-aspnetcore-webapp-openidconnect-v2#44, ms-identity-python-webapp#19):
            # the emulator shows that one for both causes.
            message = (
                f"{seed.APP_DISPLAY_NAME} needs permission to access resources in your "
                "organization that only an admin can grant. Please ask an admin to grant "
                "permission to this app before you can use it."
            )
            if cancelled:
                return fail("access_denied", 90094, message)
            return html(pages.need_admin_approval(p, user, oauth.describe(request, 90094, message), sorted(refused)))
        if cancelled:
            return fail("access_denied", 65004, "User declined to consent to access the app.", error_subcode="cancel")
        if needed:  # signing in on the page also accepts the consent prompt
            state.grant(tid, needed, user.id)
        code = "1.A" + secrets.token_urlsafe(96)
        state.codes[code] = AuthCode(
            redirect_uri=redirect_uri,
            scope_req=sreq,
            graph=graph,
            nonce=p.get("nonce"),
            code_challenge=challenge,
            code_challenge_method=method,
            oid=user.id,
            tid=tid,
            authority=resolved,
            issued_at=time.time(),
            session_id=secrets.token_hex(16),
        )
    fields = {"code": code}
    if p.get("client_info") == "1":
        fields["client_info"] = client_info(user)
    fields.update({"state": p.get("state"), "session_state": secrets.token_hex(16)})
    return redirect(redirect_uri, fields)


def client_info(user) -> str:
    """base64url JSON {"uid": oid, "utid": tid}; MSAL builds home_account_id from it."""
    return b64url(json.dumps({"uid": user.id, "utid": user.tenant_id}, separators=(",", ":")).encode())


# --- /{tenant}/v2.0/adminconsent --------------------------------------------------------------
def adminconsent(state, request, tenant, info):
    resolved, p, page = _browser_request(state, request, tenant, info, "adminconsent")
    if page:
        return page
    redirect_uri = p["redirect_uri"]

    def fail(error, code, message):
        return redirect(
            redirect_uri,
            {
                "error": error,
                "error_description": oauth.describe(request, code, message),
                "error_uri": oauth.ERROR_URI.format(code),
                "admin_consent": "True",
                "state": p.get("state"),
            },
        )

    try:
        sreq = scopes.parse(p.get("scope"))  # `scope` is Required on the v2 endpoint
    except OAuthError as e:
        return fail(e.error, e.code, e.message)
    heading = f"Permissions requested: {seed.APP_DISPLAY_NAME}"
    note = "An administrator signs in and accepts these permissions for the whole organization: " + p["scope"]
    if request.method == "GET":
        users = state.tenant_users(resolved[1] if resolved[0] == "tenant" else None)
        return html(pages.sign_in(p, users, heading, note))
    cancelled = oauth.action(request) == "cancel"
    if cancelled and not p.get("username"):
        return fail("access_denied", 65004, "User declined to consent to access the app.")
    user, page = _pick_user(state, request, p, resolved, heading, note)
    if page:
        return page
    info.user_id, info.tenant_id = user.id, user.tenant_id
    tid = user.tenant_id
    if resolved[0] == "tenant" and resolved[1] != tid:
        return fail("access_denied", 50020, wrong_tenant_message(state, user, resolved[1]))
    if not _can_grant_tenant_consent(user):
        # The signed-in user holds no role that may grant tenant-wide consent: Entra shows an
        # approval-required page (AADSTS90093 GraphUserUnauthorized) and the return to the
        # application carries the error.
        message = "Calling principal cannot consent due to lack of permissions."
        if cancelled:
            return fail("access_denied", 90093, message)
        return html(pages.need_admin_approval(p, user, oauth.describe(request, 90093, message)))
    if cancelled:
        return fail("access_denied", 65004, "User declined to consent to access the app.")
    # Exactly the permissions `scope` listed (OIDC ones included) become the tenant-wide grant;
    # consenting also recreates a deleted service principal.
    state.grant(tid, sreq.resolve(None) | sreq.oidc)
    return redirect(
        redirect_uri, {"admin_consent": "True", "tenant": tid, "scope": p["scope"], "state": p.get("state")}
    )


# --- OIDC discovery and keys -------------------------------------------------------------------
def _discovery_tenant(state, request, tenant):
    resolved = state.resolve_tenant(tenant)
    if resolved is None:
        return (
            None,
            None,
            oauth.error_json(
                request,
                OAuthError(
                    "invalid_tenant",
                    90002,
                    f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                    "and are signing into the correct cloud.",
                ),
            ),
        )
    if resolved[0] == "tenant":
        return resolved[1], f"{state.base_url}/{resolved[1]}/v2.0", None
    # Multi-tenant metadata carries the literal {tenantid} template, like Entra's.
    return resolved[1], state.base_url + "/{tenantid}/v2.0", None


def openid_configuration(state, request, tenant, info):
    seg, issuer, err = _discovery_tenant(state, request, tenant)
    if err:
        return err
    base = f"{state.base_url}/{seg}"
    host = state.base_url.split("://", 1)[1]
    # Fields of the v2.0 metadata document. Endpoints the emulator does not serve (device
    # code, logout, kerberos, userinfo) are left out rather than advertised.
    return json_response(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "tenant_region_scope": "AS",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": host,
        },
        headers={"Cache-Control": "max-age=86400, private"},
    )


def jwks(state, request, tenant, info):
    _seg, issuer, err = _discovery_tenant(state, request, tenant)
    if err:
        return err
    return json_response({"keys": [state.key.jwk(issuer)]}, headers={"Cache-Control": "max-age=86400, private"})


def pkce_ok(verifier: str | None, challenge: str, method: str) -> bool:
    if not verifier:
        return False
    if method == "S256":
        return secrets.compare_digest(b64url(hashlib.sha256(verifier.encode()).digest()), challenge)
    return secrets.compare_digest(verifier, challenge)
