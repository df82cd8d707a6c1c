"""Settings: one frozen object, read from the environment on first use (never at import).

A missing or unsafe required setting never breaks function indexing; it fails the first request
that needs it with `ConfigurationError` (503 `configuration_error`, the setting named in the log
only, never in the response).
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from shared.errors import ConfigurationError

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com/v1.0"
DEFAULT_ROOM_REFRESH_SCHEDULE = "0 0 */6 * * *"
# HS256 (HERP_JWT_SECRET) is the sandbox's: honoured only in this Functions environment (Core
# Tools and devtools.host set it), never in Azure, where the variable is unset or another value.
DEVELOPMENT = "Development"
MIN_JWT_SECRET_BYTES = 32
# local.settings.sample.json's HERP_JWT_SECRET: public, so never accepted (make run writes a
# random one into local.settings.json; tests/unit/test_settings.py keeps the two in step).
SAMPLE_JWT_SECRET = "sandbox-herp-jwt-secret-change-me-0123456789"
DEFAULT_AUDIT_RETENTION_DAYS = 400
DEFAULT_EVENT_RETENTION_DAYS = 180

# Read through `Settings.require` so that a missing one names itself.
_ENV_NAMES = {
    "storage_connection": "AzureWebJobsStorage",
    "storage_account_name": "STORAGE_ACCOUNT_NAME",
    "client_id": "MS_CLIENT_ID",
    "client_secret": "MS_CLIENT_SECRET",
    "client_credential": "MS_CLIENT_CREDENTIAL",
    "client_certificate": "MS_CLIENT_CERTIFICATE",
    "client_secret_expires_at": "MS_CLIENT_SECRET_EXPIRES_AT",
    "federated_identity_client_id": "MS_FEDERATED_IDENTITY_CLIENT_ID",
    "redirect_uri": "MS_REDIRECT_URI",
    "herp_app_url": "HERP_APP_URL",
    "jwt_issuer": "HERP_JWT_ISSUER",
    "jwt_audience": "HERP_JWT_AUDIENCE",
    "jwt_jwks_url": "HERP_JWT_JWKS_URL",
    "jwt_secret": "HERP_JWT_SECRET",
    "token_encryption_keys": "TOKEN_ENCRYPTION_KEYS",
    "notification_url": "MS_NOTIFICATION_URL",
    "webhook_url": "HERP_WEBHOOK_URL",
    "webhook_secret": "HERP_WEBHOOK_SECRET",
}


@dataclass(frozen=True)
class Settings:
    storage_connection: str | None
    storage_account_name: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)
    authority_host: str
    graph_endpoint: str
    redirect_uri: str | None
    herp_app_url: str | None
    jwt_issuer: str | None
    jwt_audience: str | None
    jwt_jwks_url: str | None
    jwt_secret: str | None = field(repr=False)
    token_encryption_keys: str | None = field(repr=False)
    room_refresh_schedule: str
    notification_url: str | None = None  # MS_NOTIFICATION_URL; see `notifications_url()`
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    functions_environment: str | None = None  # AZURE_FUNCTIONS_ENVIRONMENT
    # MS_CLIENT_CREDENTIAL: how the app proves itself to Entra (shared/identity.py `client_credential`)
    client_credential: str = "secret"
    client_certificate: str | None = field(default=None, repr=False)  # PEM: private key + certificate
    client_secret_expires_at: str | None = None
    federated_identity_client_id: str | None = None
    appinsights_connection_string: str | None = field(default=None, repr=False)
    audit_retention_days: str | None = None  # AUDIT_RETENTION_DAYS; see `retention_days()`
    event_retention_days: str | None = None  # EVENT_RETENTION_DAYS

    def require(self, name: str) -> str:
        """The value of a required setting, or ConfigurationError naming it."""
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"setting {_ENV_NAMES.get(name, name)} is not set")
        return value

    def hs256_secret(self) -> str:
        """HERP_JWT_SECRET, when HS256 may be used at all: only in Development (and the caller
        asks only without a JWKS URL), at least 32 bytes, never the sample's public value."""
        if self.functions_environment != DEVELOPMENT:
            raise ConfigurationError(
                "setting HERP_JWT_JWKS_URL is not set: outside AZURE_FUNCTIONS_ENVIRONMENT=Development "
                "HS256 (HERP_JWT_SECRET) is never accepted, so no caller can be authenticated"
            )
        secret = self.require("jwt_secret")
        if len(secret.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
            raise ConfigurationError(f"setting HERP_JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes")
        if secret == SAMPLE_JWT_SECRET:
            raise ConfigurationError(
                "setting HERP_JWT_SECRET is local.settings.sample.json's public value: set a random one "
                "(make run writes one into a new local.settings.json)"
            )
        return secret

    def encryption_keys(self) -> tuple[bytes, ...]:
        """TOKEN_ENCRYPTION_KEYS: comma-separated base64url 32-byte keys; the first encrypts."""
        raw = self.require("token_encryption_keys")
        keys = []
        for part in (p.strip() for p in raw.split(",")):
            if not part:
                continue
            try:
                key = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != 32:
                raise ConfigurationError("setting TOKEN_ENCRYPTION_KEYS holds a key that is not base64url of 32 bytes")
            keys.append(key)
        if not keys:
            raise ConfigurationError("setting TOKEN_ENCRYPTION_KEYS is not set")
        return tuple(keys)

    def notifications_url(self) -> str:
        """Graph's `notificationUrl`: MS_NOTIFICATION_URL, else POST /api/outlook/notifications on
        MS_REDIRECT_URI's origin (its lifecycle twin is this URL + "/lifecycle")."""
        if self.notification_url:  # a trailing "/" of the path goes; a query (`?code=...`) stays
            parts = urlsplit(self.notification_url)
            return urlunsplit(parts._replace(path=parts.path.rstrip("/")))
        parts = urlsplit(self.require("redirect_uri"))
        return f"{parts.scheme}://{parts.netloc}/api/outlook/notifications"

    def webhook(self) -> tuple[str, str] | None:
        """(HERP_WEBHOOK_URL, HERP_WEBHOOK_SECRET), or None when no webhook is set; the secret is
        required with the URL."""
        if not self.webhook_url:
            return None
        return self.webhook_url, self.require("webhook_secret")

    def retention_days(self, kind: str) -> int:
        """AUDIT_RETENTION_DAYS (`kind` "audit", default 400) or EVENT_RETENTION_DAYS ("event",
        default 180): a whole number of days, at least 1."""
        raw = getattr(self, f"{kind}_retention_days")
        default = DEFAULT_AUDIT_RETENTION_DAYS if kind == "audit" else DEFAULT_EVENT_RETENTION_DAYS
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigurationError(f"setting {kind.upper()}_RETENTION_DAYS is not a whole number of days")
        return int(raw)

    def room_refresh_interval_seconds(self) -> float:
        """Seconds between two runs of the room refresh timer (the cache is stale after two)."""
        return _interval_seconds(self.room_refresh_schedule)


@functools.lru_cache(maxsize=4)
def _interval_seconds(schedule: str) -> float:
    """Worked out once per schedule: every rooms read asks (walking NCRONTAB runs costs ~0.5 ms)."""
    from shared.ncrontab import ScheduleError, interval_seconds

    try:
        return interval_seconds(schedule)
    except ScheduleError:
        raise ConfigurationError("setting ROOM_REFRESH_SCHEDULE is not a valid NCRONTAB expression") from None


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        storage_connection=_env("AzureWebJobsStorage"),
        storage_account_name=_env("STORAGE_ACCOUNT_NAME"),
        client_id=_env("MS_CLIENT_ID"),
        client_secret=_env("MS_CLIENT_SECRET"),
        authority_host=(_env("MS_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST).rstrip("/"),
        graph_endpoint=(_env("MS_GRAPH_ENDPOINT") or DEFAULT_GRAPH_ENDPOINT).rstrip("/"),
        redirect_uri=_env("MS_REDIRECT_URI"),
        herp_app_url=(_env("HERP_APP_URL") or "").rstrip("/") or None,
        jwt_issuer=_env("HERP_JWT_ISSUER"),
        jwt_audience=_env("HERP_JWT_AUDIENCE"),
        jwt_jwks_url=_env("HERP_JWT_JWKS_URL"),
        jwt_secret=_env("HERP_JWT_SECRET"),
        token_encryption_keys=_env("TOKEN_ENCRYPTION_KEYS"),
        room_refresh_schedule=_env("ROOM_REFRESH_SCHEDULE") or DEFAULT_ROOM_REFRESH_SCHEDULE,
        notification_url=_env("MS_NOTIFICATION_URL"),
        webhook_url=_env("HERP_WEBHOOK_URL"),
        webhook_secret=_env("HERP_WEBHOOK_SECRET"),
        functions_environment=_env("AZURE_FUNCTIONS_ENVIRONMENT"),
        client_credential=(_env("MS_CLIENT_CREDENTIAL") or "secret").lower(),
        client_certificate=_env("MS_CLIENT_CERTIFICATE"),
        client_secret_expires_at=_env("MS_CLIENT_SECRET_EXPIRES_AT"),
        federated_identity_client_id=_env("MS_FEDERATED_IDENTITY_CLIENT_ID"),
        appinsights_connection_string=_env("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        audit_retention_days=_env("AUDIT_RETENTION_DAYS"),
        event_retention_days=_env("EVENT_RETENTION_DAYS"),
    )
