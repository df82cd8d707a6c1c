"""Caller authentication: the HERP Hire frontend's bearer JWT.

Production verifies RS256/ES256 signatures with HERP's JWKS (`HERP_JWT_JWKS_URL`); local and
sandbox runs use an HS256 shared secret (`HERP_JWT_SECRET`), only when no JWKS URL is set and
`AZURE_FUNCTIONS_ENVIRONMENT` is `Development` (anywhere else: 503 `configuration_error` on every
authenticated route, checked before the token is looked at). The accepted algorithm is pinned
per key (RS256 for an RSA key, ES256 for an EC key, HS256 for the secret), so `alg: none`, an
HS256 token signed with a public key or an `alg` that does not fit its key is refused. PyJWT (and through it cryptography) is imported on first use only.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from shared import correlation
from shared.errors import Forbidden, Unauthenticated
from shared.settings import get_settings

log = logging.getLogger("outlook.auth")

# `recruiter` is HERP's リクルーター and アシスタント: they manage every interview of the company;
# a `member` (an interviewer) manages the interviews it created. Any other role is refused (401).
ROLES = ("admin", "recruiter", "member")
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

    @property
    def manages_every_interview(self) -> bool:
        """Whether the caller may edit and cancel interviews others created (CONTRACT 3)."""
        return self.role in ("admin", "recruiter")


class _Jwks:
    """HERP's signing keys (kid -> (key, algorithm)), fetched through the shared HTTPS session and
    kept for an hour; an unknown `kid` refetches at most once a minute (key rotation without a
    restart). No request ever waits behind another's fetch while keys are at hand: one request
    fetches, the others go on with the keys last fetched. A failed fetch keeps those keys
    working (stale on error) and is not retried for a minute. Only the very first fetch, with
    no keys yet, is waited for (bounded by the HTTP timeout)."""

    TTL, REFETCH_GAP = 3600.0, 60.0
    FIRST_FETCH_WAIT = 15.0

    def __init__(self):
        self._state = threading.Lock()  # guards the fields below; never held during a fetch
        self._fetching = threading.Lock()  # held by the one request that fetches
        self._url = ""
        self._keys: dict[str, tuple[Any, str]] = {}
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")

    def key(self, url: str, kid: str) -> tuple[Any, str] | None:
        """(key, its one algorithm) for `kid`, or None (unknown key)."""
        keys, due = self._lookup(url, kid)
        if not due:
            return keys.get(kid)
        if keys:
            fetcher = self._fetching.acquire(blocking=False)  # busy: go on with the keys at hand
        else:
            fetcher = self._fetching.acquire(timeout=self.FIRST_FETCH_WAIT)
        if fetcher:
            try:
                keys, due = self._lookup(url, kid)  # the request before may have just fetched
                if due:
                    keys = self._refresh(url, keys)
            finally:
                self._fetching.release()
        elif not keys:
            raise Unauthenticated("HERP signing keys could not be fetched; retry later.")
        return keys.get(kid)

    def _lookup(self, url: str, kid: str) -> tuple[dict, bool]:
        with self._state:
            if url != self._url:  # another JWKS URL (settings changed): start over
                self._url, self._keys = url, {}
                self._fetched_at = self._tried_at = float("-inf")
            now = time.monotonic()
            wanted = now - self._fetched_at > self.TTL or kid not in self._keys
            return self._keys, wanted and now - self._tried_at > self.REFETCH_GAP

    def _refresh(self, url: str, keys: dict) -> dict:
        with self._state:
            self._tried_at = time.monotonic()
        try:
            fresh = self._fetch(url)
        except _FetchFailed as exc:
            log.warning("HERP JWKS fetch failed (%s); %d keys last fetched stay in use", exc, len(keys))
            if not keys:
                raise Unauthenticated("HERP signing keys could not be fetched; retry later.") from None
            return keys
        with self._state:
            if url == self._url:
                self._keys, self._fetched_at = fresh, time.monotonic()
        return fresh

    @staticmethod
    def _fetch(url: str) -> dict[str, tuple[Any, str]]:
        import jwt
        import requests

        from shared.outbound import session

        try:
            response = session().get(url)
            response.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            raise _FetchFailed(type(exc).__name__) from None
        keys = {}
        for k in keyset.keys:
            algorithm = _ALGORITHM_OF_KTY.get(k.key_type or "")
            # algorithm_name comes from the JWK's `alg`, else its curve: a P-384 key is ES384.
            if k.key_id and algorithm and k.algorithm_name == algorithm:
                keys[k.key_id] = (k.key, algorithm)
        return keys


class _FetchFailed(Exception):
    pass


# Each key verifies with the one algorithm of its type: an ES256 header naming an RSA key (or the
# reverse) is an InvalidAlgorithmError (401), never a key-type error deep in PyJWT (500).
_ALGORITHM_OF_KTY = {"RSA": "RS256", "EC": "ES256"}

_jwks = _Jwks()


def _verification_key(token: str) -> tuple[Any, list[str]]:
    settings = get_settings()
    if settings.jwt_jwks_url:
        import jwt

        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthenticated() from None
        found = _jwks.key(settings.jwt_jwks_url, kid) if isinstance(kid, str) else None
        if found is None:
            raise Unauthenticated()
        key, algorithm = found
        return key, [algorithm]
    return settings.hs256_secret(), ["HS256"]


def _check_configuration() -> tuple[str, str]:
    """(issuer, audience), once the settings allow authenticating anyone at all: without a JWKS
    URL only the sandbox's HS256 (ConfigurationError otherwise, before any token is read)."""
    settings = get_settings()
    issuer, audience = settings.require("jwt_issuer"), settings.require("jwt_audience")
    if not settings.jwt_jwks_url:
        settings.hs256_secret()
    return issuer, audience


def verify_token(token: str) -> Caller:
    import jwt

    issuer, audience = _check_configuration()
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
    _check_configuration()  # a misconfigured app is 503 on every route, token or not
    header = req.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    caller = verify_token(token.strip())
    correlation.set_actor(caller.account_id)  # the actor of this request's writes in Outlook (audit)
    if role == "admin" and not caller.is_admin:
        raise Forbidden("Only a HERP admin may do this.")
    return caller
