"""Microsoft identity platform (Entra ID v2.0) through MSAL: consent URL, sign-in, tokens.

One MSAL token cache per Microsoft account: callers hand in the serialized cache and get back
the new serialization only when MSAL changed it (`has_state_changed`). MSAL apps are cheap to
build because tenant discovery is kept in one process-wide `http_cache` and the HTTPS session
is shared. msal is imported on first use, never at indexing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from shared.errors import ConfigurationError
from shared.outbound import session
from shared.settings import get_settings

log = logging.getLogger("outlook")

# Delegated Microsoft Graph permissions, each for the calls that need it (README "What an admin
# grants"): User.Read for /me and /organization, Calendars.ReadWrite for calendars, events and
# getSchedule, Place.Read.All for the room lists. MSAL adds the OIDC scopes to every sign-in.
SCOPES = ["User.Read", "Calendars.ReadWrite", "Place.Read.All"]
# Admin consent grants exactly what it lists. Without the OIDC scopes, members of a tenant where
# users may not consent are refused at sign-in even after the admin consented (v2-admin-consent.md).
OIDC_SCOPES = ["openid", "profile", "offline_access"]
GRAPH_RESOURCE = "https://graph.microsoft.com"

# Entra role template ids that may grant tenant-wide admin consent (id token `wids`).
CONSENT_ADMIN_ROLES = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
        "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
        "158c047a-c907-4556-b7ef-446551a6b5f7",  # Cloud Application Administrator
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",  # Application Administrator
        "d2562ede-74db-457e-a7b6-544e236ebb61",  # AI Administrator (Entra "Grant tenant-wide admin consent")
    }
)

# Public Microsoft clouds MSAL knows; any other host (the local emulator) skips instance discovery.
_KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
    }
)

_http_cache: dict = {}  # MSAL's own cache of discovery documents; never holds tokens


class Refused(Exception):
    """The identity platform refused a sign-in's code or an account's refresh token; `error` and
    the AADSTS codes say why."""

    def __init__(self, error: str, error_codes: list[int] | None = None):
        super().__init__(error)
        self.error = error
        self.error_codes = error_codes or []


class IdentityUnavailable(Exception):
    """The token endpoint failed for a reason that is not the account's fault."""


class ClientRejected(Exception):
    """The identity platform refused our own client credential (`invalid_client`: the secret is
    wrong or expired, AADSTS7000215 / 7000222). Our configuration, not the account's."""

    def __init__(self, error_codes: list[int] | None = None):
        super().__init__("invalid_client")
        self.error_codes = error_codes or []


# A refused refresh that only a new sign-in (tenant: renewal) heals. `invalid_grant` covers
# AADSTS50173 (revoked), 700082 (unused 90 days), 50076/50079 (MFA), 53003 (Conditional Access),
# 65001 (consent withdrawn); `unauthorized_client` with AADSTS700016 is our enterprise app removed
# from the tenant, with AADSTS7000112 ("Application ... is disabled") our enterprise app disabled
# there (Worklytics/psoxy PR 74). Microsoft warns that AADSTS numbers change: the `error` value
# decides, the number only refines `unauthorized_client` (docs/architecture.md "Microsoft as it
# really behaves").
DEAD_CREDENTIAL_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})
APP_REMOVED_CODES = frozenset({700016, 7000112, 65001})


@dataclass(frozen=True)
class SignIn:
    """A finished auth code flow: verified id token claims, an access token, the new cache."""

    claims: dict
    access_token: str
    token_cache: str


def authority(tenant: str) -> str:
    return f"{get_settings().authority_host}/{tenant}"


# --- the app's own credential (MS_CLIENT_CREDENTIAL) --------------------------------------------
CREDENTIAL_KINDS = ("secret", "certificate", "federated")
# The audience of a managed identity token that Entra accepts as a federated client assertion
# (learn.microsoft.com: workload-identity-federation-config-app-trust-managed-identity).
TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"


@dataclass(frozen=True)
class CredentialStatus:
    """What the health route shows of the app's credential: its kind and, for a secret or a
    certificate, when it expires (None: unknown, or a federated credential that never does)."""

    kind: str
    expires_at: dt.datetime | None

    def expiring(self, now: dt.datetime | None = None) -> bool:
        """True from EXPIRY_WARNING before the end date on (and after it)."""
        now = now or dt.datetime.now(dt.UTC)
        return self.expires_at is not None and self.expires_at - now <= EXPIRY_WARNING


EXPIRY_WARNING = dt.timedelta(days=30)
_warned: set[tuple[str, dt.datetime]] = set()


def client_credential_status() -> CredentialStatus:
    """The kind of MS_CLIENT_CREDENTIAL and its expiry: MS_CLIENT_SECRET_EXPIRES_AT for a secret,
    the certificate's notAfter for a certificate. Raises ConfigurationError as `_app` would."""
    settings = get_settings()
    kind = _credential_kind()
    if kind == "certificate":
        return CredentialStatus(kind, _certificate(settings.require("client_certificate"))[2])
    if kind == "secret" and settings.client_secret_expires_at:
        try:
            expires = dt.datetime.fromisoformat(settings.client_secret_expires_at.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigurationError("setting MS_CLIENT_SECRET_EXPIRES_AT is not an ISO 8601 date") from None
        return CredentialStatus(kind, expires if expires.tzinfo else expires.replace(tzinfo=dt.UTC))
    return CredentialStatus(kind, None)


def _credential_kind() -> str:
    kind = get_settings().client_credential
    if kind not in CREDENTIAL_KINDS:
        raise ConfigurationError(f"setting MS_CLIENT_CREDENTIAL is not one of {', '.join(CREDENTIAL_KINDS)}")
    return kind


def client_credential() -> str | dict:
    """MSAL's `client_credential` for MS_CLIENT_CREDENTIAL: the secret; {private_key,
    public_certificate} (MSAL 1.35+ then signs PS256 with the `x5t#S256` thumbprint); or
    {client_assertion: callable} returning the managed identity's token (federated)."""
    settings = get_settings()
    kind = _credential_kind()
    warn_if_expiring()
    if kind == "certificate":
        key_pem, cert_pem, _expires = _certificate(settings.require("client_certificate"))
        return {"private_key": key_pem, "public_certificate": cert_pem}
    if kind == "federated":
        return {"client_assertion": managed_identity_assertion(settings.require("federated_identity_client_id"))}
    return settings.require("client_secret")


def warn_if_expiring() -> None:
    """One warning per process and end date, 30 days ahead: rotate (README "Client credential")."""
    try:
        status = client_credential_status()
    except ConfigurationError:
        return  # the credential itself names the bad setting
    expires = status.expires_at
    if expires is not None and status.expiring() and (status.kind, expires) not in _warned:
        _warned.add((status.kind, expires))
        log.warning(
            "client credential (%s) expires at %s: rotate it",
            status.kind,
            expires.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )


@functools.lru_cache(maxsize=2)
def _certificate(raw: str) -> tuple[str, str, dt.datetime]:
    """(private key PEM, certificate PEM, notAfter) of MS_CLIENT_CERTIFICATE: PEM text holding an
    unencrypted private key and its certificate, or the base64 PKCS#12 a Key Vault reference to a
    certificate of content type application/x-pkcs12 resolves to. The value is never logged."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    bad = ConfigurationError("setting MS_CLIENT_CERTIFICATE does not hold an RSA private key and its certificate")
    try:
        if "-----BEGIN" in raw:
            text = raw.replace("\\n", "\n").encode("ascii")
            key: object = serialization.load_pem_private_key(_pem_block(text, b"PRIVATE KEY"), password=None)
            cert: x509.Certificate | None = x509.load_pem_x509_certificate(_pem_block(text, b"CERTIFICATE"))
        else:
            key, cert, _extra = pkcs12.load_key_and_certificates(base64.b64decode(raw, validate=True), None)
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise bad from None
    # Entra takes RS256/PS256 assertions only (certificate-credentials): an RSA key.
    if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
        raise bad
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.PEM, pub) != cert.public_key().public_bytes(
        serialization.Encoding.PEM, pub
    ):
        raise ConfigurationError("setting MS_CLIENT_CERTIFICATE holds a private key that is not its certificate's")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), cert.not_valid_after_utc


def _pem_block(text: bytes, label: bytes) -> bytes:
    """The first PEM block whose label ends with `label` (PRIVATE KEY: PKCS#8, RSA or EC)."""
    for block in text.split(b"-----BEGIN ")[1:]:
        head = block.split(b"-----", 1)[0]
        if head.endswith(label):
            return b"-----BEGIN " + block.split(b"-----END", 1)[0] + b"-----END " + head + b"-----\n"
    raise ValueError(label.decode())


@functools.lru_cache(maxsize=2)
def managed_identity_assertion(identity_client_id: str) -> Callable[[], str]:
    """A callable returning the user-assigned managed identity's token for
    api://AzureADTokenExchange: the client assertion of a federated identity credential.
    azure-identity caches the token and renews it before it expires; it is imported on first use."""
    from azure.identity import ManagedIdentityCredential

    credential = ManagedIdentityCredential(client_id=identity_client_id)

    def assertion() -> str:
        return credential.get_token(TOKEN_EXCHANGE_SCOPE).token

    return assertion


def _app(tenant: str, cache=None):
    import msal

    settings = get_settings()
    host = settings.authority_host.split("://", 1)[-1].split("/", 1)[0].lower()
    return msal.ConfidentialClientApplication(
        settings.require("client_id"),
        client_credential=client_credential(),
        authority=authority(tenant),
        token_cache=cache,
        http_client=session(),
        http_cache=_http_cache,
        instance_discovery=host in _KNOWN_AUTHORITY_HOSTS,
    )


def admin_consent_url(state: str) -> str:
    """The v2 admin consent endpoint on /organizations: the admin's tenant consents to SCOPES
    and the OIDC scopes, everything a later sign-in of any member asks for."""
    settings = get_settings()
    query = urlencode(
        {
            "client_id": settings.require("client_id"),
            "redirect_uri": settings.require("redirect_uri"),
            "state": state,
            "scope": " ".join([f"{GRAPH_RESOURCE}/{s}" for s in SCOPES] + OIDC_SCOPES),
        }
    )
    return f"{authority('organizations')}/v2.0/adminconsent?{query}"


def start_sign_in(tenant: str, state: str) -> dict:
    """An MSAL auth code flow (PKCE, nonce) on the tenant's own authority; keep it secret."""
    return _app(tenant).initiate_auth_code_flow(
        SCOPES,
        redirect_uri=get_settings().require("redirect_uri"),
        state=state,
        prompt="select_account",
    )


def finish_sign_in(tenant: str, flow: dict, callback_params: dict) -> SignIn:
    """Redeem the code. MSAL checks `state` and `nonce`; the id token comes straight from the
    token endpoint over TLS with our client credential, so its claims are trusted."""
    import msal

    cache = msal.SerializableTokenCache()
    app = _app(tenant, cache)
    try:
        result = app.acquire_token_by_auth_code_flow(flow, callback_params)
    except ValueError:
        raise Refused("state_mismatch") from None
    except Exception as exc:  # requests errors from the token endpoint
        raise IdentityUnavailable(type(exc).__name__) from None
    if "error" in result:
        raise Refused(str(result["error"]), list(result.get("error_codes") or []))
    claims = result.get("id_token_claims") or {}
    if not result.get("access_token") or not claims.get("tid") or not claims.get("oid"):
        raise Refused("incomplete_token_response")
    return SignIn(claims=claims, access_token=result["access_token"], token_cache=cache.serialize())


def refusal(result: dict) -> Exception:
    """What a token endpoint error means for us (the answer body as MSAL hands it over)."""
    error = str(result.get("error") or "unknown")
    codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
    if error in DEAD_CREDENTIAL_ERRORS or (error == "unauthorized_client" and APP_REMOVED_CODES & set(codes)):
        return Refused(error, codes)
    if error == "invalid_client":
        return ClientRejected(codes)
    return IdentityUnavailable(error)


def acquire_token(tenant_id: str, oid: str, token_cache: str, *, force_refresh: bool = False) -> tuple[str, str | None]:
    """An access token for the account; returns (token, new cache or None when unchanged).
    `force_refresh` redeems the refresh token even if a cached access token looks valid (after
    Graph refused that access token with 401).

    Raises Refused when the refresh token is refused for good (DEAD_CREDENTIAL_ERRORS,
    the app removed from the tenant), ClientRejected when our own secret is refused,
    IdentityUnavailable when the platform fails otherwise (transient).
    """
    import msal

    cache = msal.SerializableTokenCache()
    cache.deserialize(token_cache)
    app = _app(tenant_id, cache)
    home_id = f"{oid}.{tenant_id}"
    account = next((a for a in app.get_accounts() if a.get("home_account_id") == home_id), None)
    if account is None:
        raise Refused("no_account_in_cache")
    try:
        result = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=force_refresh)
    except Exception as exc:  # requests errors from the token endpoint
        raise IdentityUnavailable(type(exc).__name__) from None
    if result is None:
        raise Refused("no_refresh_token")
    if "access_token" not in result:
        raise refusal(result)
    return result["access_token"], cache.serialize() if cache.has_state_changed else None
