"""The room finder: bookable rooms of the cache that fit a slot's needs and are free for all of it.

One partition query filters the cache (bookable, capacity, building, floor, room list,
wheelchair access); the candidates are ranked (smallest capacity that fits, then display name;
rooms of unknown capacity after every room of known capacity, and left out altogether when a
`min_capacity` is asked, because they cannot be known to fit). Their free/busy is then read with
the caller's mailbox through getSchedule, 20 rooms a call, until `limit` free rooms are found:
the first call reads the first 20 candidates (so `checked` is 20 when they hold enough); each
later wave runs as many calls at once as the free rate seen so far says are needed (at most 4,
Graph's per-mailbox limit), doubling 1, 2, 4 while no room was free yet. A room whose schedule answers an error is not free.
At most MAX_SCHEDULE_CALLS calls (200 candidates) are made per search, so its worst case is 10
getSchedule calls in 4 waves (1, 2, 4, 3); `more` says it stopped there with fewer free rooms than
`limit` while candidates were left unread.

`find_free_rooms` takes a Mailbox the caller already holds (the room fallback reuses it);
`find_rooms` is the HTTP use case (validation before any Graph call, the caller's link).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.auth import Caller
from shared.errors import TenantNotLinked, ValidationFailed
from shared.models import Room, iso
from shared.services import credentials
from shared.services.availability import MAX_DAYS, MAX_PER_CALL, PER_MAILBOX_PARALLEL, UtcSlot
from shared.services.event_input import utc_slot
from shared.services.rooms import is_stale
from shared.services.user_links import own_link
from shared.storage.rooms import Rooms
from shared.storage.tenant_links import TenantLinks

MAX_LIMIT = 20
DEFAULT_LIMIT = 5
MAX_CAPACITY = 100_000
MAX_FILTER_TEXT = 255
MAX_SCHEDULE_CALLS = 10  # per search: at most 200 candidates' free/busy is read


@dataclass(frozen=True)
class FreeRooms:
    """The free rooms, best first, how many candidates' free/busy was read, and whether the search
    stopped at MAX_SCHEDULE_CALLS with fewer than `limit` free rooms and candidates left."""

    rooms: list[Room]
    checked: int
    more: bool = False


def rank(rooms: list[Room]) -> list[Room]:
    """Smallest capacity first (rooms of unknown capacity last), then display name, then email."""
    return sorted(rooms, key=lambda r: (r.capacity is None, r.capacity or 0, r.display_name, r.email.lower()))


def find_free_rooms(
    box: credentials.Mailbox,
    tenant_id: str,
    start_utc: datetime,
    end_utc: datetime,
    *,
    min_capacity: int | None = None,
    building: str | None = None,
    floor: str | None = None,
    room_list: str | None = None,
    wheelchair_accessible: bool | None = None,
    exclude: tuple[str, ...] | list[str] = (),
    limit: int = DEFAULT_LIMIT,
) -> FreeRooms:
    """Up to `limit` rooms of the tenant's cache that match every given filter, are bookable and
    are free for all of [start_utc, end_utc) (aware datetimes), best first. `exclude`: room
    e-mails never to offer (e.g. the room that just declined)."""
    skip = {e.lower() for e in exclude}
    found = Rooms().find(
        tenant_id,
        min_capacity=min_capacity,
        building=building,
        floor=floor,
        room_list=room_list,
        wheelchair_accessible=wheelchair_accessible,
    )
    candidates = rank([r for r in found if r.email.lower() not in skip])
    return _first_free(box, candidates, start_utc, end_utc, limit)


def _first_free(
    box: credentials.Mailbox, candidates: list[Room], start: datetime, end: datetime, limit: int
) -> FreeRooms:
    slot = UtcSlot.of(start, end)

    def free_of(chunk: list[Room]) -> list[Room]:
        by_email = slot.schedules(box, [r.email for r in chunk])
        return [
            r
            for r in chunk
            if (info := by_email.get(r.email.lower())) is not None and not info.get("error") and not slot.blocked(info)
        ]

    all_chunks = [candidates[i : i + MAX_PER_CALL] for i in range(0, len(candidates), MAX_PER_CALL)]
    chunks = all_chunks[:MAX_SCHEDULE_CALLS]
    free: list[Room] = []
    checked = taken = width = 0
    with ThreadPoolExecutor(max_workers=PER_MAILBOX_PARALLEL, thread_name_prefix="room-finder") as pool:
        while taken < len(chunks) and len(free) < limit:
            width = _wave_width(limit - len(free), len(free), checked, width)
            wave = chunks[taken : taken + width]
            for chunk, free_here in zip(wave, pool.map(free_of, wave), strict=True):  # results in rank order
                free += free_here
                checked += len(chunk)
            taken += len(wave)
    return FreeRooms(free[:limit], checked, more=len(free) < limit and taken < len(all_chunks))


def _wave_width(needed: int, free_so_far: int, checked: int, last: int) -> int:
    """How many getSchedule calls the next wave runs: one first; then as many as the free rate
    seen so far says are needed for the rooms still missing. While no room was free yet the rate
    is unknown: the waves double (1, 2, 4), so a busy building costs few round trips and at most
    about twice the minimal reads."""
    if checked == 0:
        return 1
    if free_so_far == 0:
        return min(PER_MAILBOX_PARALLEL, 2 * last)
    per_chunk = free_so_far / checked * MAX_PER_CALL
    return max(1, min(PER_MAILBOX_PARALLEL, math.ceil(needed / per_chunk)))


# ---- the HTTP use case


@dataclass(frozen=True)
class RoomSearch:
    link_id: str
    start: datetime
    end: datetime
    limit: int
    filters: dict


@dataclass(frozen=True)
class FoundRooms:
    """The finder's answer: the free rooms, how many were checked, and how fresh the cache is."""

    rooms: list[Room]
    checked: int
    synced_at: datetime | None
    stale: bool
    more: bool = False

    def to_json(self) -> dict:
        return {
            "rooms": [r.to_json() for r in self.rooms],
            "checked": self.checked,
            "more": self.more,
            "synced_at": iso(self.synced_at),
            "stale": self.stale,
        }


def _fail(name: str, message: str):
    raise ValidationFailed(message, code=f"invalid_{name}")


def _integer(body: dict, name: str, low: int, high: int, default: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        _fail(name, f"{name} must be an integer from {low} to {high}.")
    return value


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_FILTER_TEXT:
        _fail(name, f"{name} must be a non-empty string of at most {MAX_FILTER_TEXT} characters.")
    return value.strip()


def parse_search(body: dict) -> RoomSearch:
    """Validate a finder body completely (no I/O)."""
    link_id = body.get("link_id")
    if not isinstance(link_id, str) or not link_id:
        raise ValidationFailed("link_id is required.", code="invalid_link_id")
    start, end = utc_slot(body.get("start"), body.get("end"), body.get("time_zone"))
    if end - start > timedelta(days=MAX_DAYS):
        raise ValidationFailed(f"The slot may be at most {MAX_DAYS} days.", code="invalid_time_range")
    accessible = body.get("wheelchair_accessible")
    if accessible is not None and not isinstance(accessible, bool):
        _fail("wheelchair_accessible", "wheelchair_accessible must be true or false.")
    filters = {
        "min_capacity": _integer(body, "min_capacity", 1, MAX_CAPACITY, None),
        "building": _text(body, "building"),
        "floor": _text(body, "floor"),
        "room_list": _text(body, "room_list"),
        "wheelchair_accessible": accessible,
    }
    limit = _integer(body, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    assert limit is not None
    return RoomSearch(link_id, start, end, limit, filters)


def find_rooms(caller: Caller, tenant_id: str, body: dict) -> FoundRooms:
    """POST /tenants/{tenant_id}/rooms/find: the caller's link must be of this tenant."""
    search = parse_search(body)
    tenant = TenantLinks().get_linked(caller.company_id, tenant_id)
    if tenant is None:
        raise TenantNotLinked()
    link = own_link(caller, search.link_id)
    if link.tenant_id != tenant.tenant_id:
        raise ValidationFailed("The link belongs to another Microsoft 365 tenant.", code="link_not_in_tenant")
    box = credentials.mailbox(link.company_id, link.tenant_id, link.account_id)
    found = find_free_rooms(box, tenant.tenant_id, search.start, search.end, limit=search.limit, **search.filters)
    return FoundRooms(found.rooms, found.checked, tenant.rooms_synced_at, is_stale(tenant), found.more)
