"""The emulator's token signing key, its JWKS, and JWT signing/verification (RS256).

The key is persisted in the state dir so tokens and cached JWKS survive a restart.
JWKS shape follows the v2.0 `discovery/v2.0/keys` document of the Microsoft identity
platform (kty, use, kid, x5t, n, e, x5c, issuer).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

KEY_FILE, CERT_FILE = "signing-key.pem", "signing-cert.pem"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class SigningKey:
    def __init__(self, state_dir):
        d = Path(state_dir)
        d.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = d / KEY_FILE, d / CERT_FILE
        try:
            self.key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            self.cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (OSError, ValueError):
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.emulator.local")])
            now = dt.datetime.now(dt.UTC)
            self.cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(self.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=3650))
                .sign(self.key, hashes.SHA256())
            )
            key_path.write_bytes(
                self.key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            key_path.chmod(0o600)
            cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        der = self.cert.public_bytes(serialization.Encoding.DER)
        # Entra uses the base64url SHA-1 thumbprint of the signing cert as both kid and x5t.
        self.kid = b64url(hashlib.sha1(der).digest())
        self._x5c = base64.b64encode(der).decode("ascii")
        self.public_key = self.key.public_key()

    def jwk(self, issuer: str) -> dict:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _int_b64(numbers.n),
            "e": _int_b64(numbers.e),
            "x5c": [self._x5c],
            "issuer": issuer,
        }

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"typ": "JWT", "kid": self.kid, "x5t": self.kid})

    def verify(self, token: str, audiences) -> dict:
        """Signature, exp/nbf/iat and audience; raises jwt.PyJWTError subclasses."""
        return jwt.decode(
            token,
            self.public_key,
            algorithms=["RS256"],
            audience=list(audiences),
            options={"require": ["exp", "iat", "aud", "tid", "oid"]},
            leeway=0,
        )
