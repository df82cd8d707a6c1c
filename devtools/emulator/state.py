"""All mutable emulator state, in memory, behind one re-entrant lock.

The server is threaded: every read-modify-write of these records happens inside
`with state.lock:`. Handlers copy what they need out of the lock before slow work.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from . import seed
from .records import (
    AppRegistration,
    AuthCode,
    BusyBlock,
    Call,
    Delivery,
    Event,
    FaultRule,
    NotifyConfig,
    Place,
    RefreshToken,
    Room,
    RoomList,
    Subscription,
    Tenant,
    User,
    from_graph,
)

# Entra's access tokens last 60-90 minutes (the docs' example expires_in: 3599); settable by the
# control API (`tokens/lifetime`) so that token expiry can be tested in seconds.
TOKEN_LIFETIME = 3599

MULTI_TENANT_SEGMENTS = ("organizations", "common")
ROOM_ANSWER_DELAY_S = 1.0  # how long a room mailbox takes to answer (control API changes it)


def utc_iso(ts: float | None = None) -> str:
    t = dt.datetime.fromtimestamp(ts if ts is not None else time.time(), dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, base_url: str, signing_key):
        self.lock = threading.RLock()
        self.base_url = base_url.rstrip("/")
        self.key = signing_key
        self.ca_bundle: str | None = None  # what deliveries to https endpoints trust (None: certifi)
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.tenants: dict[str, Tenant] = {
                t["id"]: Tenant(t["id"], t["displayName"], t["domain"], t["createdDateTime"], t["user_consent_allowed"])
                for t in seed.TENANTS
            }
            self.app = AppRegistration(seed.APP_GROUP_MEMBERSHIP_CLAIMS, seed.CLIENT_SECRET)
            self.users: dict[str, User] = {u["id"]: User.from_seed(u) for u in seed.USERS}
            self.rooms: dict[str, list[Room]] = {}
            self.room_lists: dict[str, list[RoomList]] = {}
            self.hierarchy: dict[str, list[Place]] = {}  # buildings, floors, sections
            self.places_off: set[str] = set()  # tenants whose Places answer empty (control API)
            for tid, (rooms, lists, hierarchy) in seed.seed_places().items():
                self.rooms[tid] = [from_graph(Room, r) for r in rooms]
                self.room_lists[tid] = [from_graph(RoomList, rl) for rl in lists]
                self.hierarchy[tid] = [from_graph(Place, p) for p in hierarchy]
            self.codes: dict[str, AuthCode] = {}  # single use
            self.refresh_tokens: dict[str, RefreshToken] = {}  # opaque token -> grant
            self.access_tokens: set[str] = set()  # uti of every access token issued
            self.expired_utis: set[str] = set()  # access tokens expired by the control API
            self.token_lifetime = TOKEN_LIFETIME  # seconds an access token lasts (control `tokens/lifetime`)
            self.faults: list[FaultRule] = []  # first match wins
            self.latency_ms = 0
            self.calls: list[Call] = []
            self.events: dict[str, Event] = {}  # immutable item id -> item (see events.py)
            self.busy_blocks: dict[str, list[BusyBlock]] = {}  # lower-cased address -> blocks
            self.room_requests: dict[tuple[str, str], dt.datetime] = {}  # (organizer key, room) -> due
            self.room_answer_delay = ROOM_ANSWER_DELAY_S
            # Whether this Exchange took Windows update KB5124010 (the 2026 time zone ids, timezones.py)
            self.accept_2026_ids = True
            # change notifications (notifications.py): subscriptions, what Graph owes endpoints
            self.subscriptions: dict[str, Subscription] = {}
            self.deliveries: list[Delivery] = []
            self.notify_config = NotifyConfig()

    # --- directory lookups --------------------------------------------------------------
    def resolve_tenant(self, segment: str) -> tuple[str, str] | None:
        """Path tenant -> ("tenant", tid) | ("multi", "organizations"|"common") | None."""
        low = segment.lower()
        if low in MULTI_TENANT_SEGMENTS:
            return ("multi", low)
        with self.lock:
            for tid, t in self.tenants.items():
                if low in (tid.lower(), t.domain.lower()):
                    return ("tenant", tid)
        return None

    def user_by_upn(self, upn: str | None) -> User | None:
        low = (upn or "").strip().lower()
        with self.lock:
            return next((u for u in self.users.values() if low and u.upn.lower() == low), None)

    def user_by_address(self, tid: str, address: str | None) -> User | None:
        low = (address or "").lower()
        return next(
            (
                u
                for u in self.users.values()
                if u.tenant_id == tid and not u.deleted and low in ((u.mail or "").lower(), u.upn.lower())
            ),
            None,
        )

    def room_by_address(self, tid: str, address: str | None) -> Room | None:
        low = (address or "").lower()
        return next((r for r in self.rooms.get(tid, []) if r.email_address.lower() == low), None)

    def tenant_users(self, tid: str | None) -> list[User]:
        with self.lock:
            return [u for u in self.users.values() if (tid is None or u.tenant_id == tid) and not u.deleted]

    def granted(self, tid: str, oid: str) -> set[str]:
        with self.lock:
            return self.tenants[tid].grants | self.users[oid].grants

    def grant(self, tid: str, scopes: set[str], oid: str | None = None) -> None:
        """Record consent: tenant-wide (admin consent) or for one user. Consent creates the
        service principal when it does not exist (how-applications-are-added)."""
        with self.lock:
            self.tenants[tid].app_installed = True
            (self.tenants[tid] if oid is None else self.users[oid]).grants.update(scopes)

    def remove_app(self, tid: str) -> None:
        """The customer deletes our enterprise app: its delegated grants go with it."""
        with self.lock:
            self.tenants[tid].app_installed = False
            self.tenants[tid].grants.clear()
            for u in self.users.values():
                if u.tenant_id == tid:
                    u.grants.clear()

    # --- events ---------------------------------------------------------------------------
    def find_item(self, item_id: str) -> Event | None:
        """The item an id names: its current default id or its immutable id (either kind addresses
        an item; a default id from before a move names nothing)."""
        return self.events.get(item_id) or next((e for e in self.events.values() if e.id == item_id), None)

    # --- faults, latency, call log ------------------------------------------------------
    def take_fault(self, kind: str, method: str, path_qs: str) -> FaultRule | None:
        """Consume one matching fault rule. Graph calls match any rule whose filters match;
        token calls only rules whose `path_contains` names a token path."""
        with self.lock:
            for rule in self.faults:
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if kind == "token" and not rule.path_contains:
                    continue
                if rule.path_contains and rule.path_contains not in path_qs:
                    continue
                rule.count -= 1
                if rule.count <= 0:
                    self.faults.remove(rule)
                return rule
        return None

    def log_call(
        self,
        kind,
        method,
        path,
        status,
        tenant_id=None,
        user_id=None,
        select=None,
        request_id=None,
        client_request_id=None,
    ) -> None:
        when = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self.lock:
            self.calls.append(
                Call(kind, method, path, status, tenant_id, user_id, when, select, request_id, client_request_id)
            )
