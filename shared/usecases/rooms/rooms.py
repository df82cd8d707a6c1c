"""Outlook meeting rooms: cached per tenant in Table Storage, refreshed through the queue.

The timer only fans out (one `room-sync` message per tenant link); `sync_tenant` refreshes one
tenant with the tenant admin's delegated token and writes only what changed. Reads come from
the cache alone. A dead admin credential marks the tenant `renewal_required` and keeps the old
cache (docs/architecture.md "Room cache": Outlook keeps working, only the newest rooms cannot be fetched until renewal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import quote

from shared import graph, reactions
from shared.errors import (
    ClientCredentialRejected,
    GraphError,
    GraphTimeout,
    GraphUnavailable,
    LinkRemoved,
    ReauthRequired,
    TenantNotLinked,
)
from shared.mailbox import credentials
from shared.models import Room, TenantLink, TenantStatus, iso, utcnow
from shared.settings import get_settings
from shared.storage import queues
from shared.storage.base import ConcurrentUpdate
from shared.storage.rooms import Rooms
from shared.storage.tenant_links import TenantLinks

log = logging.getLogger("outlook.rooms")
T = TypeVar("T")

SYNC_BUDGET_SECONDS = 60.0  # Graph retries inside one queue invocation
# Places page by $top/$skip only; 999 a page is what field reports show Graph serving
# (msgraph-sdk-powershell issue 2260), so 1,200 rooms are 2 calls. A lower server cap still works.
PLACES_PAGE = 999
PLACES_EMPTY = "places_empty"  # rooms.last_error of a sync whose answer had too few rooms (CONTRACT 4)


@dataclass(frozen=True)
class SyncResult:
    tenant_id: str
    rooms: int
    written: int


def _places(box: credentials.Mailbox, path: str) -> list[dict]:
    pages = graph.pages_by_skip(box.get, path, page_size=PLACES_PAGE, budget=SYNC_BUDGET_SECONDS)
    return list(graph.items(pages))


def _fetch_rooms(box: credentials.Mailbox) -> list[Room]:
    """Every room of the tenant, each with the room list it belongs to and its building."""
    places = [p for p in _places(box, "/places/microsoft.graph.room") if p.get("emailAddress")]
    list_of: dict[str, str] = {}
    for room_list in _places(box, "/places/microsoft.graph.roomlist"):
        list_email = room_list.get("emailAddress")
        if not list_email:
            continue
        for member in _places(box, f"/places/{quote(list_email, safe='@')}/microsoft.graph.roomlist/rooms"):
            if member.get("emailAddress"):
                list_of.setdefault(member["emailAddress"].lower(), list_email)
    building_of = _buildings_above(box, places)
    return [_room(p, list_of, building_of) for p in places]


HIERARCHY = ("section", "floor", "building")
MAX_DEPTH = 4  # room -> section -> floor -> building, and a spare step


def _buildings_above(box: credentials.Mailbox, rooms: list[dict]) -> dict[str, str]:
    """Room parentId -> the name of the building above it, for rooms that name no building of
    their own (resources/room.md 2026-09: parentId links room -> floor or section -> building).
    The hierarchy is read only when such a room exists: sections, floors and buildings, one
    paged list each (3 calls for most tenants), never per room."""
    wanted = {p["parentId"] for p in rooms if not p.get("building") and isinstance(p.get("parentId"), str)}
    if not wanted:
        return {}
    nodes: dict[str, tuple[str, dict]] = {}
    for kind in HIERARCHY:
        for place in _places(box, f"/places/microsoft.graph.{kind}"):
            for ident in {place.get("id"), place.get("placeId")} - {None}:
                nodes[str(ident)] = (kind, place)
    found: dict[str, str] = {}
    for start in wanted:
        key: str | None = start
        for _ in range(MAX_DEPTH):
            kind, place = nodes.get(key or "", ("", {}))
            if not place:
                break
            if kind == "building":
                if place.get("displayName"):
                    found[start] = place["displayName"]
                break
            key = place.get("parentId")
    return found


def _room(place: dict, list_of: dict[str, str], building_of: dict[str, str] | None = None) -> Room:
    floor = place.get("floorLabel")
    if not floor and place.get("floorNumber") is not None:
        floor = str(place["floorNumber"])
    capacity = place.get("capacity")
    accessible = place.get("isWheelChairAccessible")
    tags = place.get("tags") or []
    return Room(
        email=place["emailAddress"],
        display_name=place.get("displayName") or place["emailAddress"],
        capacity=capacity if isinstance(capacity, int) else None,
        building=place.get("building") or (building_of or {}).get(place.get("parentId") or "") or None,
        floor=floor or None,
        room_list=list_of.get(place["emailAddress"].lower()),
        wheelchair_accessible=accessible if isinstance(accessible, bool) else None,
        bookable=str(place.get("bookingType") or "").lower() != "reserved",
        tags=tuple(t for t in tags if isinstance(t, str)),
    )


def _record_sync_status(company_id: str, tenant_id: str, **changes) -> None:
    """Apply `changes` to the tenant link under its ETag. A status the link kept changing under is
    dropped with a warning: the next sync records a fresh one, and the cache itself is written."""

    def change(link: TenantLink) -> bool:
        for name, value in changes.items():
            setattr(link, name, value)
        return True

    try:
        TenantLinks().update_linked(company_id, tenant_id, change)
    except ConcurrentUpdate:
        log.warning("room sync status of tenant %s not recorded: the link kept changing", tenant_id)


def sync_tenant(company_id: str, tenant_id: str) -> SyncResult | None:
    """Refresh one tenant's room cache. Idempotent. Raises only for transient trouble (the
    queue retries); a refused credential is recorded, not raised."""
    link = TenantLinks().get_linked(company_id, tenant_id)
    if link is None:
        log.info("room sync of tenant %s skipped: not linked by this company any more", tenant_id)
        return None
    try:
        rooms = _fetch_rooms(credentials.mailbox(company_id, tenant_id, link.admin.id))
    except (ReauthRequired, LinkRemoved):
        reactions.tenant_needs_renewal(
            company_id, tenant_id, rooms_last_error="The tenant admin's sign-in is no longer valid; renew the link."
        )
        log.warning("room sync of tenant %s: admin credential refused -> renewal_required", tenant_id)
        return None
    except (GraphUnavailable, GraphTimeout) as exc:
        _record_sync_status(
            company_id, tenant_id, rooms_last_error=f"Microsoft Graph unavailable ({exc.code}); will retry."
        )
        raise
    except ClientCredentialRejected:  # our secret, not the admin's sign-in: no renewal asked
        _record_sync_status(
            company_id,
            tenant_id,
            rooms_last_error="Microsoft refused the service's own credential; "
            "an operator must renew the client secret.",
        )
        raise
    except GraphError as exc:
        if exc.status in (401, 403):
            reactions.tenant_needs_renewal(
                company_id,
                tenant_id,
                rooms_last_error=f"Access to rooms was refused ({exc.status} {exc.graph_code}); renew the link.",
            )
            log.warning("room sync of tenant %s: places refused (%s) -> renewal_required", tenant_id, exc.status)
            return None
        _record_sync_status(
            company_id, tenant_id, rooms_last_error=f"Microsoft Graph error ({exc.status} {exc.graph_code})."
        )
        if exc.status >= 500:
            raise
        return None
    fresh = {r.email.lower(): r for r in rooms}
    cached = {r.email.lower(): r for r in Rooms().list(tenant_id)}
    if cached and len(fresh) * 2 < len(cached):
        # Places answers no (or few) rooms until its settings are set up in the tenant, and its
        # cache is built per tenant (places-api-overview.md; microsoft-graph-docs issue 7475):
        # that is no evidence the rooms were removed. Keep the cache; the next run tries again.
        _record_sync_status(company_id, tenant_id, rooms_last_error=PLACES_EMPTY)
        log.warning(
            "room sync of tenant %s: places answered %d rooms while %d are cached; cache kept",
            tenant_id,
            len(fresh),
            len(cached),
        )
        return None
    upserts = [room for key, room in fresh.items() if cached.get(key) != room]
    deletes = [cached[key].email for key in cached.keys() - fresh.keys()]
    written = Rooms().apply(tenant_id, upserts, deletes)
    _record_sync_status(
        company_id,
        tenant_id,
        status=TenantStatus.ACTIVE,
        rooms_count=len(fresh),
        rooms_synced_at=utcnow(),
        rooms_last_error=None,
    )
    log.info("room sync of tenant %s: %d rooms, %d rows written", tenant_id, len(fresh), written)
    return SyncResult(tenant_id, len(fresh), written)


def request_sync(company_id: str, tenant_id: str) -> None:
    """Queue one tenant's refresh now."""
    queues.enqueue(queues.ROOM_SYNC, {"company_id": company_id, "tenant_id": tenant_id})


def request_sync_quietly(company_id: str, tenant_id: str) -> None:
    """After a link or renewal: a failed enqueue must not fail the flow (the timer catches up)."""
    try:
        request_sync(company_id, tenant_id)
    except Exception as exc:  # noqa: BLE001
        log.warning("room sync of tenant %s not queued (%s); the timer will refresh it", tenant_id, type(exc).__name__)


def fan_out() -> int:
    """One `room-sync` message per tenant link (the timer's whole job)."""
    messages = (
        {"company_id": company, "tenant_id": tenant}
        for company, tenant, status in TenantLinks().all()
        if status != TenantStatus.UNLINKING
    )
    return queues.enqueue_many(queues.ROOM_SYNC, messages)


def is_stale(link: TenantLink) -> bool:
    if link.rooms_synced_at is None or link.status == TenantStatus.RENEWAL_REQUIRED:
        return True
    limit = timedelta(seconds=2 * get_settings().room_refresh_interval_seconds())
    return utcnow() - link.rooms_synced_at > limit


@dataclass(frozen=True)
class RoomCache:
    """A tenant's cached rooms, and how fresh the cache is."""

    rooms: list[Room]
    synced_at: datetime | None
    stale: bool

    def to_json(self) -> dict:
        return {"rooms": [r.to_json() for r in self.rooms], "synced_at": iso(self.synced_at), "stale": self.stale}


_reader: ThreadPoolExecutor | None = None


def _in_background(fn: Callable[[], T]) -> Future[T]:
    global _reader
    if _reader is None:
        _reader = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rooms-read")
    return _reader.submit(fn)


def list_rooms(company_id: str, tenant_id: str) -> RoomCache:
    """The cached rooms of a tenant the company links: one point read + one partition query, run
    at the same time. The rooms are only answered once the link is confirmed, so an unlink still
    shows at once."""
    cached = _in_background(lambda: Rooms().list(tenant_id))
    link = TenantLinks().get_linked(company_id, tenant_id)
    if link is None:
        raise TenantNotLinked()
    rooms = sorted(cached.result(), key=lambda r: (r.room_list or "", r.display_name, r.email))
    return RoomCache(rooms, link.rooms_synced_at, is_stale(link))


def drop_cache_if_unused(company_id: str, tenant_id: str) -> None:
    """On unlink: the tenant's room cache goes when no other company of ours links it."""
    if not [c for c in TenantLinks().companies_linking(tenant_id) if c != company_id]:
        removed = Rooms().delete_tenant(tenant_id)
        log.info("room cache of tenant %s removed (%d rooms)", tenant_id, removed)
