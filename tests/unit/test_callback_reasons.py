"""The callback's outcomes: Microsoft's error values -> `reason`, and the checks of the last leg."""

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from shared import crypto, identity
from shared.models import Flow, Leg, OAuthState, utcnow
from shared.storage import oauth_states
from shared.usecases.linking import oauth_flows
from shared.usecases.linking.oauth_flows import reason_for
from tests.conftest import HERP_APP_URL


@pytest.mark.parametrize(
    "error,description,codes,reason",
    [
        ("access_denied", "AADSTS65004: User declined to consent to access the app.", (), "consent_denied"),
        ("access_denied", "", (), "consent_denied"),
        ("access_denied", "AADSTS90094: The grant requires admin permission.", (), "admin_required"),
        ("consent_required", "AADSTS65001: The user or administrator has not consented", (), "admin_required"),
        ("invalid_request", "AADSTS90093: Graph returned an error", (), "admin_required"),
        (
            "invalid_request",
            "AADSTS50020: User account from identity provider does not exist in tenant",
            (),
            "tenant_mismatch",
        ),
        ("invalid_grant", "", [50020], "tenant_mismatch"),
        ("server_error", "AADSTS99999: something new", (), "microsoft_error"),  # unknown number: safe fallback
        ("access_denied", "AADSTS12345: renumbered", (), "consent_denied"),
        ("temporarily_unavailable", "", (), "microsoft_error"),
        ("weird<script>", "", (), "microsoft_error"),
    ],
)
def test_error_value_first_then_number(error, description, codes, reason):
    assert reason_for(error, description, codes) == reason


# ---- the sign-in leg's own checks: wids, tid, admin roles; nothing linked, a completion made

TENANT = "c0a1c0a1-0000-4000-8000-000000000001"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
ROLE_USER = "b79fbf4d-3ef9-4689-8143-76b194e85509"


@pytest.fixture
def last_leg(app_env, monkeypatch):
    """A sign-in leg's callback with the id token claims given; storage and Graph faked.
    Returns (run, made) where `made` collects the completions the leg created."""
    made: list[dict] = []

    def run(flow: str, claims: dict, *, tenant_linked: bool = True):
        state = OAuthState(
            state_id="st-1",
            flow=flow,
            leg=Leg.SIGNIN,
            company_id="co-1",
            herp_account_id="herp-1",
            tenant_id=TENANT,
            expires_at=utcnow() + timedelta(minutes=5),
        )
        state.auth_flow = crypto.seal(
            b'{"state": "st-1"}', table=oauth_states.TABLE, partition_key="st-1", row_key="state"
        )
        monkeypatch.setattr(oauth_flows.OAuthStates, "consume", lambda self, sid: state if sid == "st-1" else None)
        monkeypatch.setattr(
            oauth_flows.TenantLinks, "get_linked", lambda self, c, t: object() if tenant_linked else None
        )
        monkeypatch.setattr(
            identity,
            "finish_sign_in",
            lambda tenant, f, params: identity.SignIn(
                claims={"tid": TENANT, "oid": "oid-1", **claims}, access_token="at", token_cache="{}"
            ),
        )
        answers = {
            "/me": {"id": "oid-1", "displayName": "Aiko", "mail": "aiko@contoso.test"},
            "/me/calendar": {"id": "c"},
            "/organization": {"value": [{"displayName": "Contoso Ltd."}]},
        }
        monkeypatch.setattr(oauth_flows.graph, "get", lambda path, token, params=None: answers[path])

        def create(flow_, company, herp, result):
            made.append({"flow": flow_, "company": company, "herp": herp, "result": result})
            return "the-code"

        monkeypatch.setattr(oauth_flows.link_completions, "create", create)
        return oauth_flows.handle_callback({"state": "st-1", "code": "abc"})

    return run, made


def _query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize("flow", [Flow.TENANT_LINK, Flow.TENANT_RENEW])
def test_id_token_without_wids_is_app_not_configured_and_names_the_manifest_setting(last_leg, caplog, flow):
    run, made = last_leg
    with caplog.at_level(logging.ERROR, logger="outlook.oauth"):
        url = run(flow, {})
    assert (
        url == f"{HERP_APP_URL}/settings/integrations/outlook{'/' + TENANT if flow == Flow.TENANT_RENEW else ''}"
        "?result=error&reason=app_not_configured"
    )
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert 'groupMembershipClaims: "DirectoryRole"' in line
    assert made == []


@pytest.mark.parametrize("wids", [[], [ROLE_USER], ["fe930be7-5e62-47db-91af-98c3a49a38b1"]])
def test_wids_without_a_consent_role_stays_admin_required(last_leg, caplog, wids):
    run, made = last_leg
    with caplog.at_level(logging.ERROR, logger="outlook.oauth"):
        assert _query(run(Flow.TENANT_LINK, {"wids": wids})) == {"result": "error", "reason": "admin_required"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR] and made == []


def test_an_ai_administrator_can_link_the_tenant(last_leg):
    """AI Administrator may grant tenant-wide admin consent (Entra "Grant tenant-wide admin consent")."""
    run, made = last_leg
    url = run(Flow.TENANT_LINK, {"wids": [ROLE_USER, "d2562ede-74db-457e-a7b6-544e236ebb61"]})
    assert _query(url)["result"] == "confirm" and [m["flow"] for m in made] == [Flow.TENANT_LINK]


def test_a_user_link_needs_no_wids(last_leg):
    run, made = last_leg
    url = run(Flow.USER_LINK, {})
    assert url == f"{HERP_APP_URL}/settings/accounts/outlook?result=confirm&completion=the-code"
    assert [m["flow"] for m in made] == [Flow.USER_LINK]


@pytest.mark.parametrize("flow", [Flow.TENANT_LINK, Flow.TENANT_RENEW])
def test_the_last_leg_links_nothing_and_asks_the_starter_to_confirm(last_leg, flow):
    run, made = last_leg
    url = run(flow, {"wids": [ROLE_USER, GLOBAL_ADMIN]})
    assert url == f"{HERP_APP_URL}/settings/integrations/outlook/{TENANT}?result=confirm&completion=the-code"
    [m] = made
    assert (m["flow"], m["company"], m["herp"]) == (flow, "co-1", "herp-1")
    assert m["result"].tenant_id == TENANT and m["result"].tenant_name == "Contoso Ltd."
    assert m["result"].account.to_json() == {"id": "oid-1", "email": "aiko@contoso.test", "display_name": "Aiko"}


def test_another_tid_is_tenant_mismatch_before_any_role_check(last_leg):
    run, made = last_leg
    assert _query(run(Flow.TENANT_LINK, {"tid": "d0d0d0d0-0000-4000-8000-000000000002"})) == {
        "result": "error",
        "reason": "tenant_mismatch",
    }
    assert made == []


@pytest.mark.parametrize("flow", [Flow.TENANT_RENEW, Flow.USER_LINK])
def test_a_tenant_unlinked_meanwhile_is_tenant_not_linked(last_leg, flow):
    run, made = last_leg
    url = run(flow, {"wids": [GLOBAL_ADMIN]}, tenant_linked=False)
    assert _query(url) == {"result": "error", "reason": "tenant_not_linked"} and made == []


def test_admin_consent_asks_for_every_scope_a_later_sign_in_needs(app_env):
    scope = _query(identity.admin_consent_url("st-1"))["scope"].split()
    assert scope == [
        "https://graph.microsoft.com/User.Read",
        "https://graph.microsoft.com/Calendars.ReadWrite",
        "https://graph.microsoft.com/Place.Read.All",
        "openid",
        "profile",
        "offline_access",
    ]
    assert identity.SCOPES == ["User.Read", "Calendars.ReadWrite", "Place.Read.All"]


def test_the_sign_in_leg_asks_for_the_same_scopes(app_env, monkeypatch):
    import msal

    monkeypatch.setattr(msal.ConfidentialClientApplication, "__init__", lambda self, *a, **k: None)
    seen = {}

    def initiate(self, scopes, **kwargs):
        seen["scopes"] = scopes
        return {"auth_uri": "https://x"}

    monkeypatch.setattr(msal.ConfidentialClientApplication, "initiate_auth_code_flow", initiate)
    identity.start_sign_in(TENANT, "st-1")
    assert seen["scopes"] == identity.SCOPES
