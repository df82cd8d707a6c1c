"""POST /{tenant}/oauth2/v2.0/token: authorization_code and refresh_token grants.

Docs followed:
- "OAuth 2.0 authorization code flow" (redeem a code, refresh the access token, error codes
  for token endpoint errors; "Refresh tokens aren't revoked when used to acquire new access
  tokens" - so the old refresh token stays valid after rotation).
- "Microsoft Entra authentication and authorization error codes" for every AADSTS number.
- "ID token claims reference" and "Access token claims reference" for the JWT claims.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from urllib.parse import unquote_plus

from . import client_assertions, identity, oauth, scopes, seed
from .jwt_keys import b64url
from .oauth import OAuthError
from .records import RefreshToken
from .state import utc_iso

INACTIVE_RT_DAYS = 90
_MFA_TEXT = (
    "Due to a configuration change made by your administrator, or because you moved to a "
    "new location, you must {} to access '" + seed.GRAPH_APP_ID + "'."
)
# Sign-in requirements a refresh token cannot meet (control API `users/{oid}/interrupt`):
# reason -> (AADSTS number, text, extra fields). Observed on refresh: 50076 with
# suberror basic_action and a claims challenge (microsoft-authentication-library-for-js#5491),
# 50079 (FormidableLabs/react-native-app-auth#309), 53003 (OfficeDev/BotBuilder-MicrosoftTeams#284).
INTERRUPTS = {
    "mfa": (
        50076,
        _MFA_TEXT.format("use multi-factor authentication"),
        {
            "suberror": "basic_action",
            "claims": '{"access_token":{"capolids":{"essential":true,"values":'
            '["5e4c1f2a-6f3b-4c8e-9d7a-2b1c0e9f8a70"]}}}',
        },
    ),
    "mfa-registration": (50079, _MFA_TEXT.format("enroll in multi-factor authentication"), {}),
    "conditional-access": (
        53003,
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        {},
    ),
}
# The same refresh comes back as `invalid_grant` (#5491, #284) or as `interaction_required`
# (microsoft/vscode-azureappservice#2592 and react-native-app-auth#309 for 50076/50079), which
# v2-oauth2-auth-code-flow lists for the token endpoint: "Non-standard ... The request requires
# user interaction. For example, another authentication step is required."
INTERRUPT_ERRORS = ("invalid_grant", "interaction_required")


def _missing(name):
    return OAuthError("invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")


def _authenticate_client(state, request, form, tenant):
    """client_secret in the body (client_secret_post) or HTTP Basic (client_secret_basic; both
    parts form-urlencoded first, RFC 6749 2.3.1), or a certificate's signed JWT in
    client_assertion (client_assertions.py)."""
    basic_id = basic_secret = None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        basic_id = unquote_plus(auth.username or "")
        basic_secret = unquote_plus(auth.password or "")
    client_id = form.get("client_id") or basic_id
    if not client_id:
        raise _missing("client_id")
    if client_id.lower() != seed.CLIENT_ID:
        raise OAuthError("unauthorized_client", 700016, oauth.app_not_found_message(client_id, tenant))
    secrets_given = [s for s in (form.get("client_secret"), basic_secret) if s]
    if form.get("client_assertion") and not secrets_given:
        if form.get("client_assertion_type") != client_assertions.JWT_BEARER:
            raise OAuthError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            )
        with state.lock:
            certificates = list(state.app.certificates)
            federated = list(state.app.federated_credentials)
        if client_assertions.federated_issuer(form["client_assertion"], federated):
            # Tokens of our own tenants (a managed identity's) are signed with the emulator's key.
            keys = {f"{state.base_url}/{tid}/v2.0": state.key.public_key for tid in state.tenants}
            client_assertions.verify_federated(form["client_assertion"], federated, keys)
            return seed.CLIENT_ID
        endpoints = {f"{state.base_url}/{t}/oauth2/v2.0/token" for t in (tenant, tenant.lower())}
        client_assertions.verify(form["client_assertion"], certificates, endpoints)
        return seed.CLIENT_ID
    if not secrets_given:
        raise OAuthError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            status=401,
        )
    with state.lock:
        secret, expired = state.app.secret, state.app.secret_expired
    if not all(secrets.compare_digest(s, secret) for s in secrets_given):
        raise OAuthError(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the "
            "request is the client secret value, not the client secret ID, for a "
            f"secret added to app '{seed.CLIENT_ID}'.",
            status=401,
        )
    if expired:
        # Text and 401 as observed (liprec/vsts-release-aas#119, dotnet/sign#849).
        raise OAuthError(
            "invalid_client",
            7000222,
            f"The provided client secret keys for app '{seed.CLIENT_ID}' are expired. "
            "Visit the Azure portal to create new keys for your app: "
            "https://aka.ms/NewClientSecret, or consider using certificate credentials "
            "for added security: https://aka.ms/certCreds.",
            status=401,
        )
    return seed.CLIENT_ID


def _check_user(state, user):
    if user is None or user.deleted:
        raise OAuthError(
            "invalid_grant",
            50034,
            "The user account {EmailHidden} does not exist in the directory. To sign "
            "into this application, the account must be added to the directory.",
        )
    if user.disabled:
        raise OAuthError("invalid_grant", 50057, "The user account is disabled.")


def _check_app_installed(state, tid):
    """The customer deleted our enterprise app (service principal): the tenant no longer knows
    the client, so its grants fail like an unknown client (400 unauthorized_client, AADSTS700016;
    field reports name the directory by display name, e.g. data-safe-haven#2263)."""
    tenant = state.tenants[tid]
    if not tenant.app_installed:
        raise OAuthError(
            "unauthorized_client", 700016, oauth.app_not_found_message(seed.CLIENT_ID, tenant.display_name)
        )
    if tenant.app_disabled:
        # The service principal disabled in the tenant: 400 unauthorized_client, "AADSTS7000112:
        # Application '{appId}'({name}) is disabled." (Worklytics/psoxy PR 74, with the cure
        # `az ad sp update --set accountEnabled=true`; MicrosoftDocs/azure-docs issue 28469).
        raise OAuthError(
            "unauthorized_client", 7000112, f"Application '{seed.CLIENT_ID}'({seed.APP_DISPLAY_NAME}) is disabled."
        )


def token(state, request, tenant, info):
    info.kind = "token"
    try:
        if request.method != "POST":
            raise OAuthError(
                "invalid_request",
                900561,
                f"The endpoint only accepts (POST, OPTIONS) requests. Received a {request.method} request.",
            )
        resolved = state.resolve_tenant(tenant)
        if resolved is None:
            raise OAuthError(
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct "
                "tenant ID and are signing into the correct cloud.",
            )
        if resolved[0] == "tenant":
            info.tenant_id = resolved[1]
        form = request.form
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _missing("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(
                "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
            )
        _authenticate_client(state, request, form, tenant)
        if grant_type == "authorization_code":
            user, sreq, graph, extra = _redeem_code(state, form, resolved)
        else:
            user, sreq, graph, extra = _redeem_refresh_token(state, form, resolved)
        info.user_id, info.tenant_id = user.id, user.tenant_id
        return oauth.json_response(issue(state, user, sreq, graph, form, **extra))
    except OAuthError as e:
        return oauth.error_json(request, e)


def _redeem_code(state, form, resolved):
    code = form.get("code")
    if not code:
        raise _missing("code")
    with state.lock:
        rec = state.codes.get(code)
        if rec is None:
            raise OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if rec.used:
            raise OAuthError(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a "
                "new valid code or use an existing refresh token.",
            )
        if rec.expired or time.time() > rec.issued_at + identity.CODE_TTL:
            raise OAuthError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to "
                "inactivity. Send a new interactive authorization request for this "
                "user and resource.",
            )
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise _missing("redirect_uri")
        if redirect_uri != rec.redirect_uri:
            raise OAuthError(
                "invalid_grant",
                500112,
                f"The reply address '{redirect_uri}' does not match the reply address "
                f"'{rec.redirect_uri}' provided when requesting Authorization code.",
            )
        # docs (AADSTS700005): a code must be redeemed against the tenant it was issued for.
        if (resolved[0] == "tenant" and resolved[1] != rec.tid) or (
            rec.authority[0] == "tenant" and resolved[0] != "tenant"
        ):
            raise OAuthError(
                "invalid_grant",
                700005,
                "Provided Authorization Code is intended to use against other tenant, thus rejected.",
            )
        _check_app_installed(state, rec.tid)
        if rec.code_challenge and not identity.pkce_ok(
            form.get("code_verifier"), rec.code_challenge, rec.code_challenge_method
        ):
            raise OAuthError(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
        user = state.users.get(rec.oid)
        _check_user(state, user)
        sreq, graph = rec.scope_req, rec.graph
        if form.get("scope"):
            asked = scopes.parse(form["scope"])
            asked_graph = asked.resolve(rec.graph)
            if not asked_graph <= rec.graph:
                # docs: consent_required - "a scope parameter was used on the code redemption
                # flow that the client app doesn't have permission to request".
                raise OAuthError("consent_required", 65001, _no_consent_message())
            sreq, graph = asked, asked_graph
        rec.used = True
    return user, sreq, graph, {"nonce": rec.nonce, "session_id": rec.session_id, "auth_time": rec.issued_at}


def _no_consent_message():
    return (
        f"The user or administrator has not consented to use the application with ID "
        f"'{seed.CLIENT_ID}' named '{seed.APP_DISPLAY_NAME}'. Send an interactive "
        "authorization request for this user and resource."
    )


def _redeem_refresh_token(state, form, resolved):
    rt = form.get("refresh_token")
    if not rt:
        raise _missing("refresh_token")
    with state.lock:
        rec = state.refresh_tokens.get(rt)
        if rec is None:
            raise OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        user = state.users.get(rec.oid)
        if resolved[0] == "tenant" and resolved[1] != rec.tid:
            raise OAuthError("invalid_grant", 50020, identity.wrong_tenant_message(state, user, resolved[1]))
        _check_app_installed(state, rec.tid)
        _check_user(state, user)
        if rec.issued_at < user.revoked_before:
            raise OAuthError(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth "
                "token is needed. The user might have changed or reset their password. "
                f"The grant was issued on '{utc_iso(rec.issued_at)}' and the "
                "TokensValidFrom date (before which tokens are not valid) for this "
                f"user is '{utc_iso(user.revoked_before)}'.",
            )
        if rec.inactive:
            raise OAuthError(
                "invalid_grant",
                700082,
                "The refresh token has expired due to inactivity. The token was issued "
                f"on {utc_iso(rec.issued_at)} and was inactive for "
                f"{INACTIVE_RT_DAYS}.00:00:00.",
            )
        interrupt = user.interrupt
        if interrupt and rec.issued_at < interrupt.since:
            code, message, extra = INTERRUPTS[interrupt.reason]
            raise OAuthError(interrupt.error, code, message, extra=extra)
        granted = state.granted(rec.tid, rec.oid)
        sreq, graph = rec.scope_req, rec.graph
        if form.get("scope"):
            sreq = scopes.parse(form["scope"])
            graph = sreq.resolve(granted)
        # docs: refresh tokens are valid for all permissions the client already has consent for;
        # a consent withdrawn since (grant revoked, OIDC ones included) answers invalid_grant
        # AADSTS65001 with suberror consent_required (O365/python-o365#323,
        # MicrosoftDocs/azure-docs#39189).
        if not graph | sreq.oidc <= granted:
            raise OAuthError("invalid_grant", 65001, _no_consent_message(), extra={"suberror": "consent_required"})
    return user, sreq, graph, {"nonce": None, "session_id": rec.session_id, "auth_time": rec.auth_time, "rotate": True}


def _pairwise_sub(tid, oid, audience) -> str:
    return b64url(hashlib.sha256(f"{audience}|{tid}|{oid}".encode()).digest())


def issue(state, user, sreq, graph, form, nonce=None, session_id=None, auth_time=None, rotate=False) -> dict:
    """Token response: access token for Graph (v1.0 token format, as Graph uses), refresh token
    when offline_access was asked (always on refresh), id token when openid was asked."""
    now = int(time.time())
    lifetime = state.token_lifetime
    tid, oid = user.tenant_id, user.id
    wids = list(dict.fromkeys(user.roles + [seed.ROLE_USER]))
    with state.lock:
        id_token_wids = state.app.group_membership_claims in seed.WIDS_GROUP_MEMBERSHIP_CLAIMS
    scp = sorted(graph, key=str.lower) + [s for s in ("openid", "profile", "email") if s in sreq.oidc]
    uti = b64url(secrets.token_bytes(16))
    access = state.key.sign(
        {
            "aud": seed.GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{tid}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "acct": 0,
            "amr": ["pwd"],
            "app_displayname": seed.APP_DISPLAY_NAME,
            "appid": seed.CLIENT_ID,
            "appidacr": "1",
            "family_name": user.surname,
            "given_name": user.given_name,
            "idtyp": "user",
            "ipaddr": "127.0.0.1",
            "name": user.display_name,
            "oid": oid,
            "scp": " ".join(scp),
            "sid": session_id,
            "sub": _pairwise_sub(tid, oid, seed.GRAPH_APP_ID),
            "tenant_region_scope": "AS",
            "tid": tid,
            "unique_name": user.upn,
            "upn": user.upn,
            # Graph, the resource, decides the claims of its access tokens (they carry `wids`
            # whatever our manifest says); our manifest decides only the id token's.
            "uti": uti,
            "ver": "1.0",
            "wids": wids,
        }
    )
    body = {
        "token_type": "Bearer",
        "scope": sreq.echo(graph),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access,
    }
    with state.lock:
        state.access_tokens.add(uti)
        if rotate or "offline_access" in sreq.oidc:
            rt = "1.A" + secrets.token_urlsafe(120)
            state.refresh_tokens[rt] = RefreshToken(
                oid, tid, sreq, set(graph), time.time(), auth_time or time.time(), session_id
            )
            body["refresh_token"] = rt
    if sreq.openid:
        claims = {
            "aud": seed.CLIENT_ID,
            "iss": f"{state.base_url}/{tid}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "sid": session_id,
            "sub": _pairwise_sub(tid, oid, seed.CLIENT_ID),
            "tid": tid,
            "uti": b64url(secrets.token_bytes(16)),
            "ver": "2.0",
        }
        if id_token_wids:  # no claim at all otherwise (id-token-claims-reference lists no wids)
            claims["wids"] = wids
        if "profile" in sreq.oidc:  # docs: name, oid, preferred_username need `profile`
            claims.update(name=user.display_name, oid=oid, preferred_username=user.upn)
        if "email" in sreq.oidc and user.mail:
            claims["email"] = user.mail
        if nonce:
            claims["nonce"] = nonce
        body["id_token"] = state.key.sign(claims)
    if form.get("client_info") == "1":
        body["client_info"] = identity.client_info(user)
    return body
