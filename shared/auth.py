"""Caller authentication: the HERP Hire frontend's bearer JWT.

Production verifies RS256/ES256 signatures with HERP's JWKS (`HERP_JWT_JWKS_URL`); local and
sandbox runs use an HS256 shared secret (`HERP_JWT_SECRET`), only when no JWKS URL is set.
The accepted algorithms are pinned per mode, so `alg: none` or an HS256 token signed with a
public key is refused. PyJWT (and through it cryptography) is imported on first use only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from shared import correlation
from shared.errors import Forbidden, Unauthenticated
from shared.settings import get_settings

ROLES = ("admin", "member")
ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"]
CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True)
class Caller:
    account_id: str
    company_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class _Jwks:
    """HERP's signing keys, fetched through the shared HTTPS session and kept for an hour;
    an unknown `kid` refetches, at most once a minute (key rotation without a restart)."""

    TTL, REFETCH_GAP = 3600.0, 60.0

    def __init__(self):
        self._lock = threading.Lock()
        self._keys: dict[str, object] = {}
        self._fetched_at = float("-inf")

    def key(self, url: str, kid: str):
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > self.TTL or (kid not in self._keys and age > self.REFETCH_GAP):
                self._keys = self._fetch(url)
                self._fetched_at = time.monotonic()
            return self._keys.get(kid)

    @staticmethod
    def _fetch(url: str) -> dict:
        import jwt
        import requests

        from shared.outbound import session

        try:
            response = session().get(url)
            response.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWTError):
            raise Unauthenticated("HERP signing keys could not be fetched; retry later.") from None
        return {k.key_id: k.key for k in keyset.keys if k.key_id}


_jwks = _Jwks()


def _verification_key(token: str) -> tuple[Any, list[str]]:
    settings = get_settings()
    if settings.jwt_jwks_url:
        import jwt

        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthenticated() from None
        key = _jwks.key(settings.jwt_jwks_url, kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthenticated()
        return key, ASYMMETRIC_ALGORITHMS
    return settings.require("jwt_secret"), ["HS256"]


def verify_token(token: str) -> Caller:
    import jwt

    settings = get_settings()
    issuer, audience = settings.require("jwt_issuer"), settings.require("jwt_audience")
    try:
        key, algorithms = _verification_key(token)
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError:
        raise Unauthenticated() from None
    sub, company, role = claims.get("sub"), claims.get("company_id"), claims.get("role")
    if not (_is_id(sub) and _is_id(company)) or role not in ROLES:
        raise Unauthenticated()
    return Caller(account_id=str(sub), company_id=str(company), role=role)


def _is_id(value: object) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and 0 < len(str(value)) <= 128


def authenticate(req: func.HttpRequest, role: str | None = None) -> Caller:
    """The verified caller of `req`; `role="admin"` also demands a HERP admin (403 otherwise)."""
    header = req.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    caller = verify_token(token.strip())
    correlation.set_actor(caller.account_id)  # the actor of this request's writes in Outlook (audit)
    if role == "admin" and not caller.is_admin:
        raise Forbidden("Only a HERP admin may do this.")
    return caller
