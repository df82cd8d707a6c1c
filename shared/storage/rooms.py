"""The room cache: PartitionKey tenant_id, RowKey room email (lower case)."""

from __future__ import annotations

import json
from typing import Any

from shared.models import Room
from shared.storage import base
from shared.storage.base import escape_key, unescape_key

TABLE = "Rooms"
# What a room row holds besides its keys: reads fetch only these (a 250-room read parses a third
# fewer properties than the whole rows, keys and timestamps included).
FIELDS = [
    "email",
    "display_name",
    "capacity",
    "building",
    "floor",
    "room_list",
    "wheelchair_accessible",
    "bookable",
    "tags",
]


def from_entity(e) -> Room:
    capacity = e.get("capacity")
    return Room(
        email=e.get("email") or unescape_key(e["RowKey"]),
        display_name=e.get("display_name") or "",
        capacity=int(capacity) if capacity is not None else None,
        building=e.get("building"),
        floor=e.get("floor"),
        room_list=e.get("room_list"),
        wheelchair_accessible=e.get("wheelchair_accessible"),
        bookable=e.get("bookable") is not False,  # rows cached before the field existed
        tags=tuple(json.loads(e.get("tags") or "[]")),
    )


def to_entity(tenant_id: str, room: Room) -> dict:
    return {
        "PartitionKey": escape_key(tenant_id),
        "RowKey": escape_key(room.email.lower()),
        "email": room.email,
        "display_name": room.display_name,
        "capacity": room.capacity,
        "building": room.building,
        "floor": room.floor,
        "room_list": room.room_list,
        "wheelchair_accessible": room.wheelchair_accessible,
        "bookable": room.bookable,
        "tags": json.dumps(list(room.tags), ensure_ascii=False),
    }


class Rooms:
    def get(self, tenant_id: str, email: str) -> Room | None:
        e = base.read(TABLE, tenant_id, email.lower())
        return from_entity(e) if e else None

    def find(
        self,
        tenant_id: str,
        *,
        min_capacity: int | None = None,
        building: str | None = None,
        floor: str | None = None,
        room_list: str | None = None,
        wheelchair_accessible: bool | None = None,
    ) -> list[Room]:
        """The bookable rooms that match every given filter, in one partition query (values as
        parameters). `bookable ne false` keeps rows cached before the field existed (a comparison
        with a missing property is false, so `not` makes it true); a capacity filter leaves out
        rooms of unknown capacity, which cannot be known to fit."""
        clauses: list[str] = ["not (bookable eq false)"]
        params: dict[str, Any] = {}
        for name, value in (
            ("building", building),
            ("floor", floor),
            ("room_list", room_list),
            ("wheelchair_accessible", wheelchair_accessible),
        ):
            if value is not None:
                clauses.append(f"{name} eq @{name}")
                params[name] = value
        if min_capacity is not None:
            clauses.append("capacity ge @min_capacity")
            params["min_capacity"] = min_capacity
        rows = base.query(TABLE, tenant_id, " and ".join(clauses), select=FIELDS, **params)
        return [from_entity(e) for e in rows]

    def apply(self, tenant_id: str, upserts: list[Room], deletes: list[str]) -> int:
        """Write changed rooms and delete gone ones (by email) in transactions of <= 100;
        returns the number of rows written. Repeating it, or racing a twin, does no harm."""
        from azure.data.tables import UpdateMode

        ops: list[tuple] = [("upsert", to_entity(tenant_id, r), {"mode": UpdateMode.REPLACE}) for r in upserts]
        ops += [
            ("delete", {"PartitionKey": escape_key(tenant_id), "RowKey": escape_key(email.lower())})
            for email in deletes
        ]
        return base.submit_batches(TABLE, ops)

    def delete_tenant(self, tenant_id: str) -> int:
        return base.delete_many(TABLE, base.query(TABLE, tenant_id))

    def list(self, tenant_id: str) -> list[Room]:
        return [from_entity(e) for e in base.query(TABLE, tenant_id, select=FIELDS)]
