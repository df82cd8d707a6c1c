"""A certificate as the app's client credential: the signed JWT Entra takes in client_assertion
(certificate-credentials), and each way Entra refuses one."""

from __future__ import annotations

import time
import uuid

import jwt
import msal
import pytest

from devtools.emulator import seed
from tests.certificates import app_certificate

from .conftest import REDIRECT_URI

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

CONTOSO = seed.CONTOSO_TENANT_ID
AIKO = seed.UPN[seed.AIKO_ID]
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def cert():
    return app_certificate()


def cert_app(emu, key_pem, cert_pem):
    return msal.ConfidentialClientApplication(
        seed.CLIENT_ID,
        client_credential={"private_key": key_pem, "public_certificate": cert_pem},
        authority=f"{emu.base}/{CONTOSO}",
        instance_discovery=False,
        http_client=emu.session(),
    )


def test_msal_signs_in_with_a_registered_certificate(emu, cert):
    view = emu.control("POST", "app/certificates", json={"certificate": cert[1]})
    assert len(view["keyCredentials"]) == 1
    _app, result = emu.sign_in(AIKO, app=cert_app(emu, *cert))
    assert "access_token" in result, result


def test_a_certificate_not_registered_is_refused(emu, cert):
    emu.control("POST", "app/certificates", json={"certificates": []})
    _app, result = emu.sign_in(AIKO, app=cert_app(emu, *cert))
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027], result
    assert "The key was not found" in result["error_description"]


def test_an_expired_certificate_is_refused(emu):
    key, pem = app_certificate(days=1, start_days_ago=3)
    emu.control("POST", "app/certificates", json={"certificate": pem})
    _app, result = emu.sign_in(AIKO, app=cert_app(emu, key, pem))
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027], result
    assert "expired" in result["error_description"]


def assertion(key_pem: str, cert_pem: str, aud: str, **overrides) -> str:
    """A client assertion made by hand (RS256 + SHA-1 x5t: the older form Entra still takes)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    x5t = jwt.utils.base64url_encode(cert.fingerprint(hashes.SHA1())).decode()  # noqa: S303
    now = int(time.time())
    claims = {
        "aud": aud,
        "iss": seed.CLIENT_ID,
        "sub": seed.CLIENT_ID,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(claims, key_pem, algorithm="RS256", headers={"x5t": x5t})


def redeem(emu, client_assertion: str) -> dict:
    r = emu.http.post(
        f"{emu.base}/{CONTOSO}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": seed.CLIENT_ID,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion,
            "code": "not-a-code",
            "redirect_uri": REDIRECT_URI,
        },
        timeout=10,
    )
    return r.json() | {"status": r.status_code}


def test_hand_made_assertions(emu, cert):
    emu.control("POST", "app/certificates", json={"certificates": [cert[1]]})
    aud = f"{emu.base}/{CONTOSO}/oauth2/v2.0/token"
    # A good assertion gets past client authentication: only the code is wrong.
    assert redeem(emu, assertion(*cert, aud=aud))["error"] == "invalid_grant"
    now = int(time.time())
    expired = redeem(emu, assertion(*cert, aud=aud, nbf=now - 7200, exp=now - 3600))
    assert (expired["status"], expired["error"], expired["error_codes"]) == (401, "invalid_client", [700024])
    other_key, _pem = app_certificate()
    forged = redeem(emu, assertion(other_key, cert[1], aud=aud))  # the registered thumbprint, another key
    assert forged["error_codes"] == [700027] and "did not match" in forged["error_description"]
    assert redeem(emu, assertion(*cert, aud=aud, iss="someone-else"))["error_codes"] == [700021]
    assert (
        redeem(emu, assertion(*cert, aud="https://login.microsoftonline.com/x/oauth2/v2.0/token"))["error"]
        == "invalid_client"
    )
    assert redeem(emu, "not.a.jwt")["error"] == "invalid_client"


def managed_identity_token(emu, resource="api://AzureADTokenExchange") -> str:
    r = emu.http.get(
        f"{emu.base}/_emulator/managed-identity/token",
        params={"api-version": "2019-08-01", "resource": resource, "client_id": seed.MANAGED_IDENTITY_CLIENT_ID},
        headers={"X-IDENTITY-HEADER": seed.MANAGED_IDENTITY_HEADER},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_managed_identity_endpoint_needs_its_header(emu):
    r = emu.http.get(
        f"{emu.base}/_emulator/managed-identity/token",
        params={"api-version": "2019-08-01", "resource": "api://AzureADTokenExchange"},
        timeout=10,
    )
    assert r.status_code == 401


def test_federated_credential_takes_the_managed_identity_token(emu):
    trust = {
        "issuer": f"{emu.base}/{CONTOSO}/v2.0",
        "subject": seed.MANAGED_IDENTITY_OBJECT_ID,
        "audiences": ["api://AzureADTokenExchange"],
    }
    emu.control("POST", "app/federated-credentials", json={"credentials": [trust]})
    assert redeem(emu, managed_identity_token(emu))["error"] == "invalid_grant"  # the client got through
    wrong_audience = redeem(emu, managed_identity_token(emu, "https://management.azure.com"))
    assert (wrong_audience["status"], wrong_audience["error_codes"]) == (401, [700212])
    emu.control("POST", "app/federated-credentials", json={"credentials": [{**trust, "subject": "other"}]})
    assert redeem(emu, managed_identity_token(emu))["error_codes"] == [700213]
    emu.control("POST", "app/federated-credentials", json={"credentials": []})
    # No trust at all: the token is no certificate assertion either.
    assert redeem(emu, managed_identity_token(emu))["error"] == "invalid_client"
