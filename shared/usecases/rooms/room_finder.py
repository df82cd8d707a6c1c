"""The room finder: bookable rooms of the cache that fit a slot's needs and are free for all of it.

The search itself (the cache query, the ranking, the waves of getSchedule calls) is
`shared.mailbox.free_busy.find_free_rooms`, which the room fallback uses too; this module is the
HTTP use case (validation before any Graph call, the caller's link).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.auth import Caller
from shared.domain.event_input import bounded_int, utc_slot
from shared.errors import TenantNotLinked, ValidationFailed
from shared.mailbox import credentials
from shared.mailbox.free_busy import DEFAULT_LIMIT, MAX_DAYS, find_free_rooms
from shared.mailbox.links import own_link
from shared.models import Room, iso
from shared.storage.tenant_links import TenantLinks
from shared.usecases.rooms.rooms import is_stale

MAX_LIMIT = 20
MAX_CAPACITY = 100_000
MAX_FILTER_TEXT = 255


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
        "min_capacity": bounded_int(body, "min_capacity", 1, MAX_CAPACITY, None, "invalid_min_capacity"),
        "building": _text(body, "building"),
        "floor": _text(body, "floor"),
        "room_list": _text(body, "room_list"),
        "wheelchair_accessible": accessible,
    }
    limit = bounded_int(body, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT, "invalid_limit")
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
