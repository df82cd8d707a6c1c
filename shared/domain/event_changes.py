"""What changed in Outlook: the snapshot of an event that this service keeps, and the Changes
between two snapshots (pure: no I/O; tests/unit/test_event_changes.py).

The snapshot holds exactly what the mapping compares: times (UTC), subject, location, the
people with their type and response, the rooms with their response, and whether the event is
cancelled or gone. Graph is asked for these fields only (`SELECT`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.domain.event_view import RESPONSES, answer_zone
from shared.models import ChangeType

SELECT = (
    "start,end,subject,location,attendees,isCancelled,isOnlineMeeting,onlineMeeting,webLink,changeKey,parentFolderId"
)
# What a GET through the API shows (event_view.OutlookEvent), and the folder that says whether the
# event is still in a calendar (not in Deleted Items).
READ_SELECT = "id,subject,start,end,attendees,isCancelled,isOnlineMeeting,onlineMeeting,webLink,parentFolderId"


def _utc(when: dict | None) -> str | None:
    if not when or not when.get("dateTime"):
        return None
    local = datetime.fromisoformat(when["dateTime"].split(".")[0]).replace(tzinfo=answer_zone(when.get("timeZone")))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Snapshot:
    start: str | None = None
    end: str | None = None
    subject: str = ""
    location: str = ""
    people: dict[str, tuple[str, str]] = field(default_factory=dict)  # lower email -> (type, response)
    rooms: dict[str, str] = field(default_factory=dict)  # lower email -> response
    cancelled: bool = False
    deleted: bool = False

    @classmethod
    def from_graph(cls, event: dict) -> Snapshot:
        people: dict[str, tuple[str, str]] = {}
        rooms: dict[str, str] = {}
        for a in event.get("attendees") or []:
            email = ((a.get("emailAddress") or {}).get("address") or "").lower()
            response = RESPONSES.get(((a.get("status") or {}).get("response")) or "none", "none")
            if not email:
                continue
            if a.get("type") == "resource":
                rooms[email] = response
            else:
                people[email] = (a.get("type") or "required", response)
        return cls(
            start=_utc(event.get("start")),
            end=_utc(event.get("end")),
            subject=event.get("subject") or "",
            location=((event.get("location") or {}).get("displayName")) or "",
            people=people,
            rooms=rooms,
            cancelled=bool(event.get("isCancelled")),
        )

    @classmethod
    def gone(cls, before: Snapshot) -> Snapshot:
        return cls(**{**before.__dict__, "deleted": True})

    def to_json_text(self) -> str:
        data = dict(self.__dict__)
        data["people"] = {k: list(v) for k, v in sorted(self.people.items())}
        data["rooms"] = dict(sorted(self.rooms.items()))
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json_text(cls, text: str) -> Snapshot:
        data = json.loads(text)
        data["people"] = {k: (v[0], v[1]) for k, v in data.get("people", {}).items()}
        return cls(**data)


def differences(old: Snapshot, new: Snapshot) -> list[tuple[ChangeType, tuple[str, ...]]]:
    """The Changes from `old` to `new`, in the order they are reported. Gone or cancelled says
    it all; otherwise `event.updated` (the fields that changed) and `event.responses_changed`
    (the emails whose answer changed)."""
    if new.deleted:
        return [] if old.deleted else [(ChangeType.DELETED_IN_OUTLOOK, ())]
    if new.cancelled:
        return [] if old.cancelled or old.deleted else [(ChangeType.CANCELLED_IN_OUTLOOK, ())]
    out: list[tuple[ChangeType, tuple[str, ...]]] = []
    fields = [name for name in ("start", "end", "subject", "location") if getattr(old, name) != getattr(new, name)]
    if {k: v[0] for k, v in old.people.items()} != {k: v[0] for k, v in new.people.items()}:
        fields.append("attendees")
    if old.rooms.keys() != new.rooms.keys():
        fields.append("rooms")
    if fields:
        out.append((ChangeType.EVENT_UPDATED, tuple(fields)))
    answered = sorted(
        [e for e, (_t, r) in new.people.items() if e in old.people and old.people[e][1] != r]
        + [e for e, r in new.rooms.items() if e in old.rooms and old.rooms[e] != r]
    )
    if answered:
        out.append((ChangeType.RESPONSES_CHANGED, tuple(answered)))
    return out
