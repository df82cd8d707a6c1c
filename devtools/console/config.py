"""Settings and demo identities of the sandbox console.

Settings come from the environment; `local.settings.json` `Values` (or
`local.settings.sample.json` when the former is absent) supply defaults, as for the host.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # the repo root (parent of devtools/)
DEFAULT_API = "http://localhost:7071"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
CALLBACK_SUFFIX = "/api/outlook/callback"


@dataclass(frozen=True)
class Identity:
    account_id: str
    company_id: str
    role: str  # "admin" | "member"
    name: str


# The fixed list of demo HERP accounts (two companies; the second one checks company scoping).
IDENTITIES = (
    Identity("u-admin-1", "herp-demo-1", "admin", "管理者 山田"),
    Identity("u-member-1", "herp-demo-1", "member", "メンバー 佐藤"),
    Identity("u-member-2", "herp-demo-1", "member", "メンバー 鈴木"),
    Identity("u-admin-9", "herp-demo-2", "admin", "別会社 管理者"),
)
IDENTITIES_BY_ID = {i.account_id: i for i in IDENTITIES}


@dataclass(frozen=True)
class ConsoleConfig:
    api_base: str  # e.g. http://localhost:7071 (no /api)
    jwt_secret: str  # "" when not configured: the proxy then answers 500
    jwt_issuer: str
    jwt_audience: str
    emulator_url: str = ""  # "" disables the emulator note
    ca_bundle: str | bool = True  # `verify=` for the emulator call
    token_lifetime: int = 3600
    jwks_url: str = ""  # HERP_JWT_JWKS_URL: set means production keys, so the console mints nothing


def read_local_values(root: Path = ROOT) -> dict:
    """`Values` of local.settings.json, else of local.settings.sample.json, else {}."""
    for name in ("local.settings.json", "local.settings.sample.json"):
        path = Path(root) / name
        if path.is_file():
            try:
                values = json.loads(path.read_text(encoding="utf-8-sig")).get("Values") or {}
            except (ValueError, AttributeError):
                return {}
            return {str(k): str(v) for k, v in values.items() if v is not None} if isinstance(values, dict) else {}
    return {}


def _api_from_redirect_uri(redirect_uri: str) -> str:
    """The API base is where MS_REDIRECT_URI lives (`<base>/api/outlook/callback`)."""
    uri = redirect_uri.strip().rstrip("/")
    return uri[: -len(CALLBACK_SUFFIX)] if uri.endswith(CALLBACK_SUFFIX) else ""


def _ca_bundle(value: str, root: Path) -> str | bool:
    candidates = [value] if value else []
    candidates.append(".devtools/emulator/ca-bundle.pem")
    for candidate in candidates:
        path = Path(candidate)
        path = path if path.is_absolute() else Path(root) / path
        if path.is_file():
            return str(path)
    return True


def load_config(
    api_base: str | None = None, environ: Mapping[str, str] | None = None, root: Path = ROOT
) -> ConsoleConfig:
    """`api_base` (the --api flag) wins; else env CONSOLE_API_URL; else the base of
    MS_REDIRECT_URI; else http://localhost:7071."""
    env = os.environ if environ is None else environ
    values = read_local_values(root)

    def setting(name: str, default: str = "") -> str:
        value = env.get(name)
        if value is None or value == "":
            value = values.get(name, default)
        return (value or default).strip()

    base = api_base or env.get("CONSOLE_API_URL") or _api_from_redirect_uri(setting("MS_REDIRECT_URI")) or DEFAULT_API
    return ConsoleConfig(
        api_base=base.rstrip("/"),
        jwt_secret=setting("HERP_JWT_SECRET"),
        jwt_issuer=setting("HERP_JWT_ISSUER"),
        jwt_audience=setting("HERP_JWT_AUDIENCE"),
        emulator_url=setting("MS_AUTHORITY_HOST", DEFAULT_AUTHORITY).rstrip("/"),
        ca_bundle=_ca_bundle(setting("REQUESTS_CA_BUNDLE"), root),
        jwks_url=setting("HERP_JWT_JWKS_URL"),
    )
