"""Free/busy through one mailbox (`getSchedule`): whether a slot is free for given addresses, and
which rooms of the tenant's cache are free for a slot. The availability use case, the check of
an event create, the room finder and the room fallback all read free/busy through this.

`find_free_rooms`: one partition query filters the cache (bookable, capacity, building, floor,
room list, wheelchair access); the candidates are ranked (smallest capacity that fits, then
display name; rooms of unknown capacity after every room of known capacity, and left out
altogether when a `min_capacity` is asked, because they cannot be known to fit). Their free/busy
is then read with the caller's mailbox through getSchedule, 20 rooms a call, until `limit` free
rooms are found: the first call reads the first 20 candidates (so `checked` is 20 when they hold
enough); each later wave runs as many calls at once as the free rate seen so far says are needed
(at most 4, Graph's per-mailbox limit), doubling 1, 2, 4 while no room was free yet. A room whose
schedule answers an error is not free. At most MAX_SCHEDULE_CALLS calls (200 candidates) are made
per search, so its worst case is 10 getSchedule calls in 4 waves (1, 2, 4, 3); `more` says it
stopped there with fewer free rooms than `limit` while candidates were left unread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from shared.domain.event_input import EventInput, utc_slot
from shared.domain.event_view import local_time
from shared.errors import SlotConflict
from shared.mailbox import credentials
from shared.models import Room
from shared.storage.rooms import Rooms

MAX_PER_CALL = 20  # getSchedule: at most 20 schedules per request
MAX_DAYS = 42  # getSchedule refuses longer periods (ErrorTimeIntervalTooBig)
PER_MAILBOX_PARALLEL = 4  # Graph: at most 4 concurrent requests per mailbox
NOT_BLOCKING = {"free", "workingelsewhere"}  # blocks_slot
T = TypeVar("T")
DEFAULT_LIMIT = 5  # free rooms found when no limit is asked
MAX_SCHEDULE_CALLS = 10  # per search: at most 200 candidates' free/busy is read


def get_schedule(box: credentials.Mailbox, emails: list[str], start: str, end: str, graph_tz: str, interval: int):
    """One getSchedule call (at most MAX_PER_CALL addresses; `start`/`end` local date-times in the
    Windows or listed IANA zone `graph_tz`): Graph's scheduleInformation list, times in UTC
    (the Mailbox's Prefer header)."""
    payload = {
        "schedules": emails,
        "startTime": {"dateTime": start, "timeZone": graph_tz},
        "endTime": {"dateTime": end, "timeZone": graph_tz},
        "availabilityViewInterval": interval,
    }
    return box.post("/me/calendar/getSchedule", json=payload, idempotent=True).get("value", [])  # a read


def in_chunks(fetch: Callable[[list[str]], list[T]], emails: list[str]) -> list[list[T]]:
    """`fetch` over the addresses in chunks of MAX_PER_CALL, the chunks concurrently within the
    per-mailbox limit; results in chunk order."""
    chunks = [emails[i : i + MAX_PER_CALL] for i in range(0, len(emails), MAX_PER_CALL)]
    if len(chunks) == 1:
        return [fetch(chunks[0])]
    with ThreadPoolExecutor(max_workers=min(PER_MAILBOX_PARALLEL, len(chunks))) as pool:
        return list(pool.map(fetch, chunks))


def view_interval(minutes: int) -> int | None:
    """An availabilityViewInterval whose digits tile a slot of `minutes` exactly (then every
    digit lies inside the slot), or None when no interval of 5-1440 does."""
    for interval in (minutes, *range(min(1440, minutes // 2), 4, -1)):
        if 5 <= interval <= 1440 and minutes % interval == 0:
            return interval
    return None


def blocks_slot(info: dict, start_utc: str, end_utc: str, *, exact_view: bool) -> bool:
    """Whether a scheduleInformation shows its address unavailable in [start, end) (UTC,
    "YYYY-MM-DDTHH:MM:SS"). resources/scheduleinformation.md / scheduleitem.md: the status is
    free, tentative, busy, oof, workingElsewhere or unknown. `busy`, `tentative` (a meeting
    request not yet answered, or accepted tentatively) and `oof` block; `free` and
    `workingElsewhere` (working, just not at the office) do not, and an unknown status blocks (not
    known to be free). With `exact_view` (the view's digits tile the slot) availabilityView counts
    too, for a mailbox that shows no scheduleItems: digits 1 tentative, 2 busy, 3 oof block."""
    for item in info.get("scheduleItems") or []:
        if str(item.get("status")).lower() in NOT_BLOCKING:
            continue
        item_start, item_end = local_time(item.get("start"), "UTC"), local_time(item.get("end"), "UTC")
        if item_start is None or item_end is None or (item_start < end_utc and start_utc < item_end):
            return True
    return exact_view and any(digit in "123" for digit in info.get("availabilityView") or "")


@dataclass(frozen=True)
class UtcSlot:
    """A slot [start, end) asked of getSchedule in UTC, with a view interval that tiles it when
    one exists (then availabilityView counts as well as scheduleItems)."""

    start: str  # "YYYY-MM-DDTHH:MM:SS", UTC
    end: str
    interval: int | None

    @classmethod
    def of(cls, start: datetime, end: datetime) -> UtcSlot:
        seconds = (end - start).total_seconds()
        text = lambda moment: moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")  # noqa: E731
        return cls(text(start), text(end), view_interval(int(seconds // 60)) if seconds % 60 == 0 else None)

    def schedules(self, box: credentials.Mailbox, emails: list[str]) -> dict[str, dict]:
        """One getSchedule call: scheduleInformation by lower-cased address."""
        infos = get_schedule(box, emails, self.start, self.end, "UTC", self.interval or 30)
        return {str(info.get("scheduleId") or "").lower(): info for info in infos}

    def blocked(self, info: dict) -> bool:
        return blocks_slot(info, self.start, self.end, exact_view=self.interval is not None)


def busy_addresses(box: credentials.Mailbox, emails: list[str], start: datetime, end: datetime) -> list[str]:
    """The addresses (as given) whose free/busy blocks the slot [start, end) (aware datetimes),
    one getSchedule call per MAX_PER_CALL addresses. An address Outlook has no schedule for (an
    external guest: error 5009) is not known to be busy, so it is not listed."""
    slot = UtcSlot.of(start, end)

    def fetch(chunk: list[str]) -> list[str]:
        return [
            email for email, info in slot.schedules(box, chunk).items() if not info.get("error") and slot.blocked(info)
        ]

    busy = {email for part in in_chunks(fetch, emails) for email in part}
    return [e for e in emails if e.lower() in busy]


def require_free_slot(box: credentials.Mailbox, event: EventInput) -> None:
    """`check_conflicts` of an event create: one free/busy read of its attendees and rooms (one
    getSchedule call per 20 addresses); 409 slot_conflict listing the busy ones."""
    emails = [a.email for a in event.attendees] + list(event.rooms)
    if not emails:
        return
    start, end = utc_slot(event.start, event.end, event.time_zone)
    busy = busy_addresses(box, emails, start, end)
    if busy:
        raise SlotConflict(f"{len(busy)} of the attendees and rooms are busy at this time.", details={"busy": busy})


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


def schedules_over(box: credentials.Mailbox, emails: list[str], start: datetime, end: datetime) -> dict[str, dict]:
    """The scheduleInformation of each address over [start, end) (aware; any length): one
    getSchedule call per MAX_PER_CALL addresses and MAX_DAYS period, the calls concurrently within
    the per-mailbox limit; by lower-cased address, the items of every period together (an error
    in any period is the address's error). Times in UTC."""
    periods, at = [], start
    while at < end:
        periods.append((at, min(end, at + timedelta(days=MAX_DAYS - 1))))
        at = periods[-1][1]
    chunks = [emails[i : i + MAX_PER_CALL] for i in range(0, len(emails), MAX_PER_CALL)]
    calls = [(chunk, s, e) for chunk in chunks for s, e in periods]
    text = lambda moment: moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")  # noqa: E731

    def fetch(call: tuple[list[str], datetime, datetime]) -> list[dict]:
        chunk, s, e = call
        return get_schedule(box, chunk, text(s), text(e), "UTC", 30)

    if len(calls) == 1:
        answers = [fetch(calls[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(PER_MAILBOX_PARALLEL, len(calls))) as pool:
            answers = list(pool.map(fetch, calls))
    merged: dict[str, dict] = {}
    for answer in answers:
        for info in answer:
            key = str(info.get("scheduleId") or "").lower()
            known = merged.setdefault(key, {"scheduleId": info.get("scheduleId"), "scheduleItems": []})
            if info.get("error"):
                known["error"] = info["error"]
            known["scheduleItems"] += info.get("scheduleItems") or []
    return merged
