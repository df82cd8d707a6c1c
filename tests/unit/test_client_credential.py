"""MS_CLIENT_CREDENTIAL: which credential MSAL gets, and bad values as configuration errors that
name the setting, never its value."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from shared import identity
from shared.errors import ConfigurationError
from tests.certificates import app_certificate

KEY, CERT = app_certificate(days=90)


def test_secret_is_the_default(app_env):
    assert identity.client_credential() == "unit-test-client-secret"
    assert identity.client_credential_status() == identity.CredentialStatus("secret", None)


def test_secret_expiry_is_shown(app_env):
    app_env(MS_CLIENT_SECRET_EXPIRES_AT="2027-03-01T00:00:00Z")
    status = identity.client_credential_status()
    assert status.expires_at == dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    app_env(MS_CLIENT_SECRET_EXPIRES_AT="next spring")
    with pytest.raises(ConfigurationError, match="MS_CLIENT_SECRET_EXPIRES_AT"):
        identity.client_credential_status()


def test_certificate_pem_gives_msal_the_key_and_certificate(app_env):
    app_env(MS_CLIENT_CREDENTIAL="certificate", MS_CLIENT_CERTIFICATE=KEY + CERT, MS_CLIENT_SECRET=None)
    cred = identity.client_credential()
    assert set(cred) == {"private_key", "public_certificate"}  # no SHA-1 "thumbprint": MSAL uses x5t#S256
    assert x509.load_pem_x509_certificate(cred["public_certificate"].encode()) == x509.load_pem_x509_certificate(
        CERT.encode()
    )
    status = identity.client_credential_status()
    assert status.kind == "certificate"
    assert status.expires_at == x509.load_pem_x509_certificate(CERT.encode()).not_valid_after_utc


def test_certificate_from_key_vault_pkcs12(app_env):
    key = serialization.load_pem_private_key(KEY.encode(), None)
    cert = x509.load_pem_x509_certificate(CERT.encode())
    pfx = pkcs12.serialize_key_and_certificates(None, key, cert, None, serialization.NoEncryption())
    app_env(MS_CLIENT_CREDENTIAL="certificate", MS_CLIENT_CERTIFICATE=base64.b64encode(pfx).decode())
    assert identity.client_credential()["public_certificate"] == CERT


@pytest.mark.parametrize(
    "value",
    [
        CERT,  # no key
        KEY,  # no certificate
        "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n" + CERT,
        "bm90IGEgcGZ4",  # base64, not PKCS#12
        app_certificate()[0] + CERT,  # a key that is not the certificate's
    ],
    # Named, not by value: the keys are made at import, so each pytest-xdist worker would name them apart.
    ids=["certificate-only", "key-only", "key-not-base64", "not-pkcs12", "key-of-another-certificate"],
)
def test_bad_certificate_names_the_setting_not_the_value(app_env, value, caplog):
    app_env(MS_CLIENT_CREDENTIAL="certificate", MS_CLIENT_CERTIFICATE=value)
    with pytest.raises(ConfigurationError) as raised:
        identity.client_credential()
    assert "MS_CLIENT_CERTIFICATE" in raised.value.detail
    assert "BEGIN" not in raised.value.detail and value not in raised.value.detail


@pytest.mark.parametrize(
    "env, setting",
    [
        ({"MS_CLIENT_CREDENTIAL": "password"}, "MS_CLIENT_CREDENTIAL"),
        ({"MS_CLIENT_CREDENTIAL": "certificate"}, "MS_CLIENT_CERTIFICATE"),
        ({"MS_CLIENT_CREDENTIAL": "federated"}, "MS_FEDERATED_IDENTITY_CLIENT_ID"),
        ({"MS_CLIENT_SECRET": None}, "MS_CLIENT_SECRET"),
    ],
)
def test_missing_or_unknown(app_env, env, setting):
    app_env(**env)
    with pytest.raises(ConfigurationError, match=setting):
        identity.client_credential()


@responses.activate
def test_federated_sends_the_managed_identity_token_as_client_assertion(app_env, monkeypatch):
    """MSAL gets {client_assertion: callable}; the token request carries what the callable returns."""
    app_env(MS_CLIENT_CREDENTIAL="federated", MS_FEDERATED_IDENTITY_CLIENT_ID="mi-client-id", MS_CLIENT_SECRET=None)
    asked = []

    def fake_assertion(client_id):
        asked.append(client_id)
        return lambda: "managed-identity-token-for-token-exchange"

    monkeypatch.setattr(identity, "managed_identity_assertion", fake_assertion)
    cred = identity.client_credential()
    assert asked == ["mi-client-id"] and cred["client_assertion"]() == "managed-identity-token-for-token-exchange"

    base = "https://login.example.test/contoso-tid"
    token_url = f"{base}/oauth2/v2.0/token"
    responses.get(
        f"{base}/v2.0/.well-known/openid-configuration",
        json={
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": token_url,
            "issuer": f"{base}/v2.0",
        },
    )
    responses.post(token_url, json={"error": "invalid_grant", "error_codes": [9002313]}, status=400)
    flow = {"state": "s", "redirect_uri": "http://localhost:7071/api/outlook/callback", "scope": ["User.Read"]}
    flow |= {"auth_uri": "x", "code_verifier": "v" * 43, "nonce": "n", "claims_challenge": None}
    with pytest.raises(identity.Refused):
        identity.finish_sign_in("contoso-tid", flow, {"state": "s", "code": "c"})
    body = dict(p.split("=", 1) for p in responses.calls[-1].request.body.split("&"))
    assert body["client_assertion"] == "managed-identity-token-for-token-exchange"
    assert body["client_assertion_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    assert "client_secret" not in body


def test_managed_identity_assertion_asks_for_the_token_exchange_audience(monkeypatch):
    calls = []

    class FakeCredential:
        def __init__(self, client_id):
            calls.append(("init", client_id))

        def get_token(self, scope):
            calls.append(("get_token", scope))
            return type("T", (), {"token": "mi-token"})()

    import azure.identity

    monkeypatch.setattr(azure.identity, "ManagedIdentityCredential", FakeCredential)
    identity.managed_identity_assertion.cache_clear()
    try:
        assert identity.managed_identity_assertion("uami-id")() == "mi-token"
    finally:
        identity.managed_identity_assertion.cache_clear()
    assert calls == [("init", "uami-id"), ("get_token", "api://AzureADTokenExchange/.default")]


def test_expiry_is_warned_30_days_ahead_once(app_env, caplog):
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).replace(microsecond=0)
    app_env(MS_CLIENT_SECRET_EXPIRES_AT=soon.isoformat())
    with caplog.at_level("WARNING", logger="outlook"):
        identity.client_credential()
        identity.client_credential()
    warnings = [r.getMessage() for r in caplog.records if "expires at" in r.getMessage()]
    assert warnings == [f"client credential (secret) expires at {soon.strftime('%Y-%m-%dT%H:%M:%SZ')}: rotate it"]
    assert "unit-test-client-secret" not in caplog.text
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=45)
    assert identity.CredentialStatus("secret", soon).expiring() is True
    assert identity.CredentialStatus("secret", later).expiring() is False
    assert identity.CredentialStatus("federated", None).expiring() is False
