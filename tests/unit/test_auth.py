import json
import time

import azure.functions as func
import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared import auth
from shared.auth import authenticate
from shared.errors import ConfigurationError, Forbidden, Unauthenticated
from shared.settings import SAMPLE_JWT_SECRET
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
    # Named, not by value: the tokens hold the time of import, which pytest-xdist workers do not share.
    ids=[
        "none",
        "not-a-jwt",
        "expired",
        "another-secret",
        "another-issuer",
        "another-audience",
        "unknown-role",
        "role-case",
        "no-company",
        "no-subject",
        "no-expiry",
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


# ---- HS256 is the sandbox's only (CONTRACT 2)


@pytest.mark.parametrize("environment", [None, "Production", "Staging", "development"])
def test_hs256_outside_development_is_a_configuration_error_never_an_open_door(app_env, environment):
    app_env(AZURE_FUNCTIONS_ENVIRONMENT=environment)
    with pytest.raises(ConfigurationError, match="HERP_JWT_JWKS_URL"):
        authenticate(request(herp_token("co-1", "acct-1", "admin")))
    with pytest.raises(ConfigurationError):  # checked before the token: every route, token or not
        authenticate(request(None))


@pytest.mark.parametrize(
    "secret,why",
    [("x" * 31, "shorter than 32 bytes"), (SAMPLE_JWT_SECRET, "sample"), ("ü" * 15, "shorter than 32 bytes")],
)
# The token is signed with the short secret on purpose.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_unsafe_hs256_secrets_are_refused(app_env, secret, why):
    app_env(HERP_JWT_SECRET=secret)
    with pytest.raises(ConfigurationError, match=why):
        authenticate(request(herp_token("co-1", "acct-1", "admin", secret=secret)))


def test_a_32_byte_secret_is_enough(app_env):
    secret = "s" * 32
    app_env(HERP_JWT_SECRET=secret)
    assert authenticate(request(herp_token("co-1", "acct-1", "admin", secret=secret))).company_id == "co-1"


def test_the_refused_sample_secret_is_the_sample_files():
    from pathlib import Path

    sample = json.loads((Path(__file__).parents[2] / "local.settings.sample.json").read_text())
    assert sample["Values"]["HERP_JWT_SECRET"] == SAMPLE_JWT_SECRET


# ---- JWKS: key types, stale on error, no global stall

CLAIMS = {"sub": "a", "company_id": "co", "role": "admin", "iss": JWT_ISSUER, "aud": JWT_AUDIENCE}


def claims() -> dict:
    return {**CLAIMS, "exp": int(time.time()) + 60}


def public_jwk(key, kid: str) -> dict:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig")
    return jwk


@pytest.fixture
def jwks_env(app_env, monkeypatch):
    """JWKS mode with a fresh key cache; yields the JWKS URL."""
    monkeypatch.setattr(auth, "_jwks", auth._Jwks())
    url = "https://herp.example.test/jwks.json"
    app_env(HERP_JWT_JWKS_URL=url, AZURE_FUNCTIONS_ENVIRONMENT=None)  # Azure: JWKS needs no Development
    return url


@responses.activate
def test_an_alg_that_does_not_fit_its_key_is_401_not_500(jwks_env):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    responses.get(jwks_env, json={"keys": [public_jwk(rsa_key, "rsa-1"), public_jwk(ec_key, "ec-1")]})
    assert authenticate(request(jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})))
    assert authenticate(request(jwt.encode(claims(), ec_key, algorithm="ES256", headers={"kid": "ec-1"})))
    # ES256 header naming the RSA key, and the reverse: each signed correctly with its own key.
    es_on_rsa = jwt.encode(claims(), ec_key, algorithm="ES256", headers={"kid": "rsa-1"})
    rs_on_ec = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "ec-1"})
    for token in (es_on_rsa, rs_on_ec):
        with pytest.raises(Unauthenticated):
            authenticate(request(token))


@responses.activate
def test_jwks_fetch_errors_keep_the_keys_last_fetched(jwks_env, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    responses.get(jwks_env, json={"keys": [public_jwk(key, "k1")]})
    assert authenticate(request(token)).company_id == "co"
    # An hour later the keys are due, and HERP's JWKS endpoint is down.
    clock = [time.monotonic() + auth._Jwks.TTL + 1]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    responses.replace(responses.GET, jwks_env, status=503)
    assert authenticate(request(token)).company_id == "co"  # stale on error
    fetches = len(responses.calls)
    for _ in range(5):
        assert authenticate(request(token)).company_id == "co"
    assert len(responses.calls) == fetches  # no refetch storm: once a minute at most


@responses.activate
def test_an_unknown_kid_refetches_at_most_once_a_minute(jwks_env, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    responses.get(jwks_env, json={"keys": [public_jwk(key, "k1")]})
    assert authenticate(request(jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})))
    unknown = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k-unknown"})
    clock = [time.monotonic() + auth._Jwks.REFETCH_GAP + 1]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            authenticate(request(unknown))
    assert len(responses.calls) == 2  # the first fetch, then one refetch for the unknown kid


def test_requests_do_not_queue_behind_one_jwks_fetch(jwks_env, monkeypatch):
    """While one request refetches (slowly), the others go on with the keys at hand."""
    import threading

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = auth._jwks
    good = {"k1": (key.public_key(), "RS256")}
    release, fetching = threading.Event(), threading.Event()

    def slow_fetch(url):
        fetching.set()
        release.wait(10)
        return good

    monkeypatch.setattr(auth._Jwks, "_fetch", staticmethod(lambda url: good))
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    assert authenticate(request(token))
    clock = [time.monotonic() + auth._Jwks.TTL + 1]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(auth._Jwks, "_fetch", staticmethod(slow_fetch))
    fetcher = threading.Thread(target=authenticate, args=(request(token),))
    fetcher.start()
    try:
        assert fetching.wait(5)
        done = []
        others = [threading.Thread(target=lambda: done.append(authenticate(request(token)))) for _ in range(3)]
        for t in others:
            t.start()
        for t in others:
            t.join(2)
        assert len(done) == 3  # answered while the fetch still hangs
    finally:
        release.set()
        fetcher.join(5)
    assert jwks is auth._jwks
