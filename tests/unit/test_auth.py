import json
import time

import azure.functions as func
import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import authenticate
from shared.errors import Forbidden, Unauthenticated
from tests.conftest import JWT_AUDIENCE, JWT_ISSUER, herp_token


def request(token: str | None) -> func.HttpRequest:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return func.HttpRequest("GET", "http://x/api/outlook/tenant-links", headers=headers, body=b"")


def test_valid_token_gives_the_caller(app_env):
    caller = authenticate(request(herp_token("co-1", "acct-1", "member")))
    assert (caller.company_id, caller.account_id, caller.role, caller.is_admin) == ("co-1", "acct-1", "member", False)


def test_admin_role_is_enforced(app_env):
    with pytest.raises(Forbidden):
        authenticate(request(herp_token("co-1", "acct-1", "member")), role="admin")
    assert authenticate(request(herp_token("co-1", "acct-1", "admin")), role="admin").is_admin
    with pytest.raises(Forbidden):  # a recruiter manages interviews, not the company's links
        authenticate(request(herp_token("co-1", "acct-1", "recruiter")), role="admin")


@pytest.mark.parametrize("role,manages_every_interview", [("admin", True), ("recruiter", True), ("member", False)])
def test_recruiters_and_admins_manage_every_interview(app_env, role, manages_every_interview):
    caller = authenticate(request(herp_token("co-1", "acct-1", role)))
    assert (caller.role, caller.manages_every_interview) == (role, manages_every_interview)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-jwt",
        herp_token("co", "a", lifetime=-120),  # expired (beyond leeway)
        herp_token("co", "a", secret="another-secret-0123456789abcdef-xyz"),
        herp_token("co", "a", iss="https://evil.test"),
        herp_token("co", "a", aud="someone-else"),
        herp_token("co", "a", role="owner"),  # unknown role
        herp_token("co", "a", role="Recruiter"),  # roles are exact
        herp_token(None, "a"),  # missing company_id
        herp_token("co", None),  # missing sub
        herp_token("co", "a", exp=None),  # no expiry
    ],
)
def test_bad_tokens_are_unauthenticated(app_env, token):
    with pytest.raises(Unauthenticated):
        authenticate(request(token))


def test_alg_none_is_refused(app_env):
    now = int(time.time())
    claims = {"sub": "a", "company_id": "co", "role": "admin", "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "exp": now + 60}
    token = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(Unauthenticated):
        authenticate(request(token))


def test_non_bearer_scheme_is_refused(app_env):
    req = func.HttpRequest("GET", "http://x/", headers={"Authorization": "Basic " + herp_token("co", "a")}, body=b"")
    with pytest.raises(Unauthenticated):
        authenticate(req)


@responses.activate
def test_jwks_mode_verifies_rs256_and_refuses_hs256(app_env):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    responses.get("https://herp.example.test/jwks.json", json={"keys": [jwk]})
    app_env(HERP_JWT_JWKS_URL="https://herp.example.test/jwks.json")
    now = int(time.time())
    claims = {"sub": "a", "company_id": "co", "role": "admin", "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "exp": now + 60}
    good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    assert authenticate(request(good)).company_id == "co"
    # The HS256 secret is ignored in JWKS mode: a token signed with it is refused.
    forged = jwt.encode(
        claims, "test-herp-jwt-secret-0123456789abcdef-0123456789", algorithm="HS256", headers={"kid": "k1"}
    )
    with pytest.raises(Unauthenticated):
        authenticate(request(forged))
