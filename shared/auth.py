"""Caller authentication: the HERP Hire frontend's bearer JWT.

Production verifies RS256/ES256 signatures with HERP's JWKS (`HERP_JWT_JWKS_URL`); local and
sandbox runs use an HS256 shared secret (`HERP_JWT_SECRET`), only when no JWKS URL is set.
The accepted algorithms are pinned per mode, so `alg: none` or an HS256 token signed with a
public key is refused. PyJWT (and through it cryptography) is imported on first use only.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import azure.functions as func

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


@functools.lru_cache(maxsize=4)
def _jwks_client(url: str):
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def _verification_key(token: str) -> tuple[object, list[str]]:
    settings = get_settings()
    if settings.jwt_jwks_url:
        import jwt

        try:
            return _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key, ASYMMETRIC_ALGORITHMS
        except jwt.PyJWKClientConnectionError:
            raise Unauthenticated("HERP signing keys could not be fetched; retry later.") from None
        except jwt.PyJWKClientError:
            raise Unauthenticated() from None
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
    if role == "admin" and not caller.is_admin:
        raise Forbidden("Only a HERP admin may do this.")
    return caller
