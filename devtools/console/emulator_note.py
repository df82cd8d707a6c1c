"""The header note listing the emulator's demo Microsoft 365 tenants and users.

Fetched server-side from `GET {MS_AUTHORITY_HOST}/_emulator/state`, only when that host is
local (the real Microsoft identity platform has no such endpoint). Any failure just hides
the list. The result is cached for a few seconds so a stopped emulator never slows pages.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
CACHE_SECONDS = 10.0
TIMEOUT = (1.0, 2.0)
# Entra role templates that may grant tenant-wide admin consent (Global, Privileged Role,
# Cloud Application, Application, AI Administrator): "admin" for this integration.
ADMIN_ROLES = {
    "62e90394-69f5-4237-9190-012177145e10",
    "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "158c047a-c907-4556-b7ef-446551a6b5f7",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "d2562ede-74db-457e-a7b6-544e236ebb61",
}


@dataclass
class DemoUser:
    upn: str
    name: str
    is_admin: bool
    has_mailbox: bool


@dataclass
class DemoTenant:
    tenant_id: str
    name: str
    domain: str
    users: list[DemoUser] = field(default_factory=list)


@dataclass
class EmulatorSummary:
    url: str
    reachable: bool
    tenants: list[DemoTenant] = field(default_factory=list)


def _items(value) -> list[dict]:
    """A collection that may be a list of objects or an object keyed by id."""
    if isinstance(value, dict):
        return [dict(v, id=v.get("id", k)) for k, v in value.items() if isinstance(v, dict)]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def summarize(state: dict, url: str) -> EmulatorSummary:
    tenants = {}
    for t in _items(state.get("tenants")):
        tid = str(t.get("id") or t.get("tenant_id") or "")
        tenants[tid] = DemoTenant(tid, str(t.get("displayName") or t.get("name") or tid), str(t.get("domain") or ""))
    for u in _items(state.get("users")):
        if u.get("deleted"):
            continue
        tid = str(u.get("tenant_id") or u.get("tenantId") or "")
        roles = {str(r) for r in (u.get("roles") or [])}
        admin = bool(roles & ADMIN_ROLES) or any(
            r.lower()
            in (
                "global administrator",
                "application administrator",
                "cloud application administrator",
                "privileged role administrator",
            )
            for r in roles
        )
        user = DemoUser(
            str(u.get("userPrincipalName") or u.get("upn") or ""),
            str(u.get("displayName") or ""),
            admin,
            bool(u.get("has_mailbox", u.get("mail") is not None)),
        )
        tenants.setdefault(tid, DemoTenant(tid, tid, "")).users.append(user)
    return EmulatorSummary(url, True, list(tenants.values()))


class EmulatorNote:
    def __init__(self, url: str, verify: str | bool = True):
        self.url = url.rstrip("/")
        self.verify = verify
        self._lock = threading.Lock()
        self._cached: tuple[float, EmulatorSummary | None] = (0.0, None)
        self._session = requests.Session()
        self._session.trust_env = False  # REQUESTS_CA_BUNDLE of the machine must not override verify=

    @property
    def enabled(self) -> bool:
        return bool(self.url) and (urlsplit(self.url).hostname or "") in LOCAL_HOSTS

    def get(self) -> EmulatorSummary | None:
        if not self.enabled:
            return None
        with self._lock:
            at, summary = self._cached
            if summary is not None and time.monotonic() - at < CACHE_SECONDS:
                return summary
        try:
            r = self._session.get(f"{self.url}/_emulator/state", timeout=TIMEOUT, verify=self.verify)
            r.raise_for_status()
            data = r.json()
            summary = summarize(data if isinstance(data, dict) else {}, self.url)
        except (requests.RequestException, ValueError):
            summary = EmulatorSummary(self.url, False)
        with self._lock:
            self._cached = (time.monotonic(), summary)
        return summary
