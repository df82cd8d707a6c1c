"""All mutable emulator state, in memory, behind one re-entrant lock.

The server is threaded: every read-modify-write of these structures happens inside
`with state.lock:`. Handlers copy what they need out of the lock before slow work.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import time

from . import events, seed

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
MULTI_TENANT_SEGMENTS = ("organizations", "common")


def utc_iso(ts: float | None = None) -> str:
    t = dt.datetime.fromtimestamp(ts if ts is not None else time.time(), dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, base_url: str, signing_key):
        self.lock = threading.RLock()
        self.base_url = base_url.rstrip("/")
        self.key = signing_key
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            # `app_installed`: our service principal (enterprise app) exists in the tenant. The
            # first consent creates it; the customer deleting it removes every grant with it.
            self.tenants = {t["id"]: dict(t, app_installed=False) for t in seed.TENANTS}
            # The app registration in our home tenant: manifest setting and client secret.
            self.app = {"groupMembershipClaims": seed.APP_GROUP_MEMBERSHIP_CLAIMS,
                        "secret": seed.CLIENT_SECRET, "secret_expired": False}
            self.users = {}
            for u in seed.USERS:
                # `interrupt`: a sign-in requirement (MFA, Conditional Access) that refresh tokens
                # issued before it cannot satisfy (control API).
                self.users[u["id"]] = dict(copy.deepcopy(u), deleted=False, disabled=False,
                                           revoked_before=0.0, interrupt=None)
            self.rooms, self.room_lists = {}, {}
            for tid, (rooms, lists) in seed.seed_places().items():
                self.rooms[tid], self.room_lists[tid] = rooms, lists
            self.tenant_grants = {tid: set() for tid in self.tenants}   # admin consent
            self.user_grants = {}                                        # (tid, oid) -> set
            self.codes = {}            # code -> grant record (single use)
            self.refresh_tokens = {}   # opaque token -> grant record
            self.access_tokens = {}    # uti -> issued_at
            self.expired_utis = set()  # access tokens expired by the control API
            self.throttles = []        # fault rules, first match wins
            self.latency_ms = 0
            self.calls = []
            self.events = {}           # immutable item id -> record (see events.py)
            self.busy_blocks = {}      # lower-cased address -> [busy block] (control API)
            self.room_requests = {}    # (organizer item key, room address) -> when the room answers
            self.room_answer_delay = events.ROOM_ANSWER_DELAY_S

    # --- directory lookups --------------------------------------------------------------
    def resolve_tenant(self, segment: str):
        """Path tenant -> ("tenant", tid) | ("multi", "organizations"|"common") | None."""
        low = segment.lower()
        if low in MULTI_TENANT_SEGMENTS:
            return ("multi", low)
        with self.lock:
            for tid, t in self.tenants.items():
                if low == tid.lower() or low == t["domain"].lower():
                    return ("tenant", tid)
        return None

    def user_by_upn(self, upn: str | None):
        if not upn:
            return None
        low = upn.strip().lower()
        with self.lock:
            for u in self.users.values():
                if u["userPrincipalName"].lower() == low:
                    return u
        return None

    def user_by_id_or_upn(self, tid: str, ident: str):
        """Graph `/users/{id | userPrincipalName}` within one tenant (deleted users excluded)."""
        low = ident.lower()
        with self.lock:
            for u in self.users.values():
                if u["tenant_id"] == tid and not u["deleted"] and (
                        u["id"].lower() == low or u["userPrincipalName"].lower() == low):
                    return u
        return None

    def tenant_users(self, tid: str | None):
        with self.lock:
            return [u for u in self.users.values()
                    if (tid is None or u["tenant_id"] == tid) and not u["deleted"]]

    def granted(self, tid: str, oid: str) -> set:
        with self.lock:
            return set(self.tenant_grants.get(tid, set())) | set(self.user_grants.get((tid, oid), set()))

    def grant(self, tid: str, scopes: set, oid: str | None = None) -> None:
        """Record consent: tenant-wide (admin consent) or for one user. Consent creates the
        service principal when it does not exist (how-applications-are-added)."""
        with self.lock:
            self.tenants[tid]["app_installed"] = True
            target = self.tenant_grants[tid] if oid is None else self.user_grants.setdefault((tid, oid), set())
            target.update(scopes)

    def remove_app(self, tid: str) -> None:
        """The customer deletes our enterprise app: its delegated grants go with it."""
        with self.lock:
            self.tenants[tid]["app_installed"] = False
            self.tenant_grants[tid].clear()
            for key in [k for k in self.user_grants if k[0] == tid]:
                del self.user_grants[key]

    @staticmethod
    def is_guid(value: str) -> bool:
        return bool(_GUID.match(value or ""))

    # --- faults, latency, call log ------------------------------------------------------
    def take_fault(self, kind: str, method: str, path_qs: str):
        """Consume one matching fault rule. Graph calls match any rule whose filters match;
        token calls only rules whose `path_contains` names a token path."""
        with self.lock:
            for rule in self.throttles:
                if rule["method"] and rule["method"].upper() != method.upper():
                    continue
                needle = rule["path_contains"]
                if kind == "token" and not needle:
                    continue
                if needle and needle not in path_qs:
                    continue
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.throttles.remove(rule)
                return dict(rule)
        return None

    def log_call(self, kind, method, path, status, tenant_id=None, user_id=None) -> None:
        with self.lock:
            self.calls.append({"kind": kind, "method": method, "path": path, "status": status,
                               "tenant_id": tenant_id, "user_id": user_id,
                               "time": dt.datetime.now(dt.timezone.utc).isoformat(
                                   timespec="milliseconds").replace("+00:00", "Z")})
