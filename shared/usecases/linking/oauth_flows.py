"""Microsoft sign-in flows through one callback: tenant link, tenant renewal, user link.

Tenant link = admin consent leg (on /organizations) then sign-in leg (auth code + PKCE on the
tenant's own authority). Renewal and user links are the sign-in leg only. Each leg has its own
single-use state row (10 minutes, bound to the HERP company and account that started it); the
state row says which leg a callback belongs to. The consent leg's `tenant` parameter is only a
claim: the tenant becomes trusted when the id token of the sign-in leg carries the same `tid`.

The last leg links nothing: it verifies the Microsoft side (tid, roles, mailbox), then leaves
the result sealed in a pending completion that only the starter's HERP session can confirm
(shared.usecases.linking.link_completions), and redirects with `result=confirm&completion=<code>`.

`handle_callback` never raises: every outcome is a redirect to HERP_APP_URL (or, after the
consent leg, to the identity platform's sign-in page), failures with a `reason` code.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlencode

from shared import crypto, graph, identity
from shared.auth import Caller
from shared.errors import DomainError, GraphError, TenantNotLinked
from shared.models import (
    Account,
    Flow,
    Leg,
    OAuthState,
    utcnow,
)
from shared.settings import get_settings
from shared.storage import oauth_states
from shared.storage.oauth_states import OAuthStates
from shared.storage.tenant_links import TenantLinks
from shared.usecases.linking import link_completions, tenant_links

log = logging.getLogger("outlook.oauth")

STATE_LIFETIME = timedelta(minutes=10)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_AADSTS = re.compile(r"AADSTS(\d+)")
MAILBOX_ERRORS = ("MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI")


class FlowFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---- starting flows


def _new_state(caller: Caller, flow: str, leg: str, tenant_id: str | None) -> OAuthState:
    return OAuthState(
        state_id=secrets.token_urlsafe(32),
        flow=flow,
        leg=leg,
        company_id=caller.company_id,
        herp_account_id=caller.account_id,
        tenant_id=tenant_id,
        expires_at=utcnow() + STATE_LIFETIME,
    )


def _sign_in_leg(state: OAuthState) -> str:
    """Store the state of a sign-in leg with its sealed MSAL flow; the URL to send the browser to."""
    if not state.tenant_id:
        raise ValueError("a sign-in leg runs on a tenant's authority")
    flow = identity.start_sign_in(state.tenant_id, state.state_id)
    state.auth_flow = crypto.seal(
        json.dumps(flow).encode("utf-8"),
        table=oauth_states.TABLE,
        partition_key=state.state_id,
        row_key=oauth_states.ROW_KEY,
    )
    OAuthStates().create(state)
    return flow["auth_uri"]


def start_tenant_link(caller: Caller) -> str:
    state = OAuthStates().create(_new_state(caller, Flow.TENANT_LINK, Leg.CONSENT, None))
    return identity.admin_consent_url(state.state_id)


def start_tenant_renew(caller: Caller, tenant_id: str) -> str:
    link = tenant_links.get_link(caller.company_id, tenant_id)
    return _sign_in_leg(_new_state(caller, Flow.TENANT_RENEW, Leg.SIGNIN, link.tenant_id))


def start_user_link(caller: Caller, tenant_id: str) -> str:
    if TenantLinks().get_linked(caller.company_id, tenant_id) is None:
        raise TenantNotLinked()
    return _sign_in_leg(_new_state(caller, Flow.USER_LINK, Leg.SIGNIN, tenant_id))


def purge_unfinished() -> tuple[int, int]:
    """States of flows never finished and completions never confirmed: (states, completions)."""
    return OAuthStates().delete_expired(utcnow()), link_completions.purge_expired()


# ---- the callback


@dataclass(frozen=True)
class _Landing:
    """Where a flow ends in HERP Hire."""

    flow: str | None
    tenant_id: str | None = None  # a tenant the company has linked already (renewal)

    def page(self) -> str:
        if self.flow == Flow.USER_LINK:
            return "/settings/accounts/outlook"
        if self.tenant_id:
            return f"/settings/integrations/outlook/{quote(self.tenant_id, safe='')}"
        return "/settings/integrations/outlook"


def _herp_url(path: str, **query: str) -> str:
    return f"{get_settings().require('herp_app_url')}{path}?{urlencode(query)}"


def reason_for(error: str, description: str = "", codes: list[int] | tuple = ()) -> str:
    """OAuth `error` first; an AADSTS number only refines it (numbers and texts change)."""
    reason = {
        "access_denied": "consent_denied",
        "permission_denied": "consent_denied",
        "consent_required": "admin_required",
    }.get(error, "microsoft_error")
    numbers = {int(n) for n in _AADSTS.findall(description or "")} | {int(c) for c in codes or ()}
    if 65004 in numbers:
        reason = "consent_denied"
    if numbers & {90093, 90094, 65001}:
        reason = "admin_required"
    if 50020 in numbers:
        reason = "tenant_mismatch"
    return reason


def handle_callback(params: dict) -> str:
    """The redirect location for a callback request with query `params`."""
    target = _Landing(None)
    try:
        state_id = params.get("state") or ""
        state = OAuthStates().consume(state_id) if 0 < len(state_id) <= 256 else None
        if state is None:
            raise FlowFailed("state_invalid")
        target = _Landing(state.flow, state.tenant_id if state.flow == Flow.TENANT_RENEW else None)
        if state.expires_at <= utcnow():
            raise FlowFailed("state_expired")
        if params.get("error"):
            reason = reason_for(params["error"], params.get("error_description", ""))
            log.info("callback of %s flow: Microsoft returned %s -> %s", state.flow, params["error"][:64], reason)
            raise FlowFailed(reason)
        if state.leg == Leg.CONSENT:
            return _after_consent(state, params)
        return _after_sign_in(state, params)
    except FlowFailed as failed:
        return _herp_url(target.page(), result="error", reason=failed.reason)
    except DomainError as exc:  # configuration or Graph trouble: logged, the user told generically
        log.error("callback of %s flow failed: %s", target.flow, exc.code)
    except Exception as exc:  # noqa: BLE001 - storage and the like; the browser still gets a page
        log.error("callback of %s flow failed unexpectedly: %s", target.flow, type(exc).__name__)
    return _herp_url(target.page(), result="error", reason="microsoft_error")


def _after_consent(state: OAuthState, params: dict) -> str:
    tenant = params.get("tenant") or ""
    if params.get("admin_consent", "").lower() != "true" or not _GUID.match(tenant):
        raise FlowFailed("microsoft_error")
    # `tenant` is untrusted here; the sign-in leg's id token must confirm it (tid).
    signin = OAuthState(
        state_id=secrets.token_urlsafe(32),
        flow=state.flow,
        leg=Leg.SIGNIN,
        company_id=state.company_id,
        herp_account_id=state.herp_account_id,
        tenant_id=tenant.lower(),
        expires_at=utcnow() + STATE_LIFETIME,
    )
    return _sign_in_leg(signin)


def _after_sign_in(state: OAuthState, params: dict) -> str:
    if not params.get("code") or not state.auth_flow or not state.tenant_id:
        raise FlowFailed("microsoft_error")
    try:
        flow = json.loads(
            crypto.open_sealed(
                state.auth_flow, table=oauth_states.TABLE, partition_key=state.state_id, row_key=oauth_states.ROW_KEY
            )
        )
        result = identity.finish_sign_in(state.tenant_id, flow, params)
    except crypto.DecryptionFailed:
        raise FlowFailed("state_invalid") from None
    except identity.Refused as failed:
        log.info("code redemption failed: %s %s", failed.error, failed.error_codes)
        raise FlowFailed(reason_for(failed.error, codes=failed.error_codes)) from None
    except identity.IdentityUnavailable:
        raise FlowFailed("microsoft_error") from None
    claims = result.claims
    tenant_id = str(claims["tid"]).lower()
    if tenant_id != state.tenant_id:
        raise FlowFailed("tenant_mismatch")
    tenant_flow = state.flow in (Flow.TENANT_LINK, Flow.TENANT_RENEW)
    if tenant_flow:
        _check_consent_role(claims)
    if state.flow != Flow.TENANT_LINK and TenantLinks().get_linked(state.company_id, tenant_id) is None:
        raise FlowFailed("tenant_not_linked")
    profile = _profile(result.access_token, claims)
    name = _tenant_name(result.access_token) if tenant_flow else ""
    # Nothing is linked here: the starter's own HERP session confirms (link_completions).
    code = link_completions.create(
        state.flow,
        state.company_id,
        state.herp_account_id,
        link_completions.SignInResult(tenant_id, name, profile, result.token_cache),
    )
    return _herp_url(_Landing(state.flow, tenant_id).page(), result="confirm", completion=code)


def _check_consent_role(claims: dict) -> None:
    """The signed-in admin must hold a role that may grant tenant-wide consent (`wids`). No
    `wids` claim at all means our app registration does not emit directory roles, not that
    the person is no admin."""
    if "wids" not in claims:
        log.error(
            'the id token carries no wids claim: set groupMembershipClaims: "DirectoryRole" '
            'in the app registration\'s manifest (or the "Directory roles" groups claim)'
        )
        raise FlowFailed("app_not_configured")
    if not set(claims.get("wids") or ()) & identity.CONSENT_ADMIN_ROLES:
        raise FlowFailed("admin_required")


def _profile(token: str, claims: dict) -> Account:
    """The account's profile; also proves it has a mailbox (a calendar read)."""
    try:
        me = graph.get("/me", token, params={"$select": "id,displayName,mail,userPrincipalName"})
        graph.get("/me/calendar", token, params={"$select": "id"})
    except GraphError as exc:
        if exc.graph_code in MAILBOX_ERRORS:
            raise FlowFailed("mailbox_unavailable") from None
        raise FlowFailed("microsoft_error") from None
    return Account(
        id=str(claims["oid"]),
        email=me.get("mail") or me.get("userPrincipalName") or claims.get("preferred_username") or "",
        display_name=me.get("displayName") or claims.get("name") or "",
    )


def _tenant_name(token: str) -> str:
    try:
        orgs = graph.get("/organization", token, params={"$select": "id,displayName"})
    except GraphError:
        return ""
    return next((o.get("displayName") or "" for o in orgs.get("value", [])), "")
