"""Client authentication with a certificate: a signed JWT in `client_assertion`.

Docs followed: learn.microsoft.com "Microsoft identity platform application authentication
certificate credentials" (entra/identity-platform/certificate-credentials): `client_assertion_type`
is `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`; the header carries `alg` RS256 or
PS256 and the certificate's thumbprint as `x5t` (SHA-1) or `x5t#S256` (SHA-256, preferred); the
claims are aud (the token endpoint), iss = sub = the client id, exp, nbf, jti (iat optional).
Refusals are `invalid_client` 401 with the AADSTS numbers of "Microsoft Entra authentication and
authorization error codes": 700027 (signature: key not found / key expired / signature mismatch),
700024 (outside the valid time range), 700021 (issuer or subject is not the client id), 50027
(malformed); an audience other than the token endpoint the request went to is refused too
(MSAL.NET#3352 "ESTS errors out if the aud claim != token endpoint"; microsoft-identity-web#16).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from . import seed
from .oauth import OAuthError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "PS256")
CLOCK_SKEW = 300  # seconds Entra tolerates either side (the docs' 5 minutes)


class Certificate:
    """A certificate uploaded to the app registration (keyCredentials, type AsymmetricX509Cert)."""

    def __init__(self, pem: str):
        self.cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        der = self.cert.public_bytes(Encoding.DER)
        self.x5t = _b64url(hashlib.sha1(der).digest())  # noqa: S324 - the x5t header is SHA-1 by definition
        self.x5t_s256 = _b64url(hashlib.sha256(der).digest())
        self.hex_thumbprint = hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - as the portal shows it

    @property
    def expired(self) -> bool:
        return self.cert.not_valid_after_utc < dt.datetime.now(dt.UTC)

    def view(self) -> dict:
        return {
            "thumbprint": self.hex_thumbprint,
            "x5t#S256": self.x5t_s256,
            "endDateTime": self.cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _invalid(code: int, message: str) -> OAuthError:
    return OAuthError("invalid_client", code, message, status=401)


def _signature_error(reason: str, thumbprint: str) -> OAuthError:
    return _invalid(
        700027,
        f"Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by "
        f"client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph "
        f"to see configured keys for app Id '{seed.CLIENT_ID}'.]",
    )


def verify(assertion: str, certificates: list[Certificate], token_endpoints: set[str]) -> None:
    """Accept the assertion or raise OAuthError as Entra refuses it."""
    malformed = _invalid(50027, "JWT token is invalid or malformed.")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise malformed from None
    if header.get("alg") not in ALGORITHMS:
        raise malformed
    s256, s1 = header.get("x5t#S256"), header.get("x5t")
    if not (isinstance(s256, str) or isinstance(s1, str)):
        raise malformed
    # MSAL Python keeps the base64url padding ("...="), and Entra takes it: compare without it.
    s256, s1 = (v.rstrip("=") if isinstance(v, str) else None for v in (s256, s1))
    cert = next((c for c in certificates if (s256 and c.x5t_s256 == s256) or (not s256 and c.x5t == s1)), None)
    used = s256 or s1
    if cert is None:
        raise _signature_error("The key was not found.", used)
    if cert.expired:
        raise _signature_error("The key used is expired.", used)
    try:
        jwt.decode(
            assertion,
            cert.cert.public_key(),
            algorithms=[header["alg"]],
            options={"verify_exp": False, "verify_nbf": False, "verify_aud": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise _signature_error(
            "The provided signature value did not match the expected signature value.", used
        ) from None
    for name in ("aud", "iss", "sub", "exp", "jti"):
        if not claims.get(name):
            raise malformed
    if claims["iss"] != seed.CLIENT_ID or claims["sub"] != seed.CLIENT_ID:
        raise _invalid(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not any(a in token_endpoints for a in audiences):
        # The text as reported (microsoft-identity-web#16); the number is not documented for it.
        raise _invalid(50027, "Client assertion audience claim does not match Realm issuer.")
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
        raise malformed
    if now > exp + CLOCK_SKEW or now < nbf - CLOCK_SKEW:
        iso = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        raise _invalid(
            700024,
            f"Client assertion is not within its valid time range. Current time: {iso(now)}, assertion "
            f"valid from {iso(nbf)}, expiry time of assertion {iso(exp)}. Review the documentation at "
            "https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
        )


# --- federated identity credentials (workload identity federation) -----------------------------
# learn.microsoft.com "Workload identity federation" / "Configure an application to trust a managed
# identity": the app registration lists federatedIdentityCredentials {issuer, subject, audiences};
# a client assertion whose `iss` is one of them is checked against it: signature by the issuer's
# keys, `sub` and `aud` must match the credential (AADSTS700211 issuer, 700213 subject, 700212
# audience: "No matching federated identity record found for presented assertion ...").


def federated_issuer(assertion: str, credentials: list[dict]) -> bool:
    """Whether the assertion claims an issuer the app trusts (then `verify_federated` decides)."""
    try:
        iss = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return False
    return any(c["issuer"] == iss for c in credentials)


def verify_federated(assertion: str, credentials: list[dict], issuer_keys: dict) -> None:
    """`issuer_keys`: issuer -> public key of the tokens it signs (the emulator's own tenants)."""
    claims = jwt.decode(assertion, options={"verify_signature": False})
    iss, sub, aud = claims.get("iss"), claims.get("sub"), claims.get("aud")
    by_issuer = [c for c in credentials if c["issuer"] == iss]
    if not by_issuer:
        raise _invalid(700211, f"No matching federated identity record found for presented assertion issuer '{iss}'.")
    key = issuer_keys.get(iss)
    try:
        if key is None:
            raise jwt.InvalidSignatureError("no key")
        jwt.decode(assertion, key, algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False})
    except jwt.PyJWTError:
        raise _invalid(700027, "Client assertion failed signature validation.") from None
    by_subject = [c for c in by_issuer if c["subject"] == sub]
    if not by_subject:
        raise _invalid(700213, f"No matching federated identity record found for presented assertion subject '{sub}'.")
    audiences = aud if isinstance(aud, list) else [aud]
    if not any(a in c["audiences"] for c in by_subject for a in audiences):
        raise _invalid(700212, f"No matching federated identity record found for presented assertion audience '{aud}'.")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or time.time() > exp + CLOCK_SKEW:
        raise _invalid(700024, "Client assertion is not within its valid time range.")
