"""The slot search of 日程調整 on Outlook (CONTRACT 7, `POST /slots/find`).

Every refusal comes before any Graph call: the body is validated whole
(shared.domain.slot_search), then the tenant, the caller's link and the interviewers are looked
up in storage. Then one read per
interviewer for the whole window: an interviewer with an active link of their own in the
tenant is read from their own calendar (`calendarView`, which shows their subjects, so
`[面接可]` counts), concurrently; everyone else with getSchedule through the caller's link (20
addresses a call). The rules run in memory (shared.domain.slots). Rooms are read last, only for
the itineraries that survive, best first, in waves of getSchedule calls over the whole window,
stopping once `limit` slots have a room. A window with fewer than `min_slots` slots grows to 30
days, reading only the days not read yet.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NoReturn
from zoneinfo import ZoneInfo

from shared.auth import Caller
from shared.domain import slots as rules
from shared.domain.event_input import EventInput, instant_of
from shared.domain.slot_search import MAX_DAYS, RoomNeeds, SlotSearch, Who, parse
from shared.errors import LinkRemoved, ReauthRequired, TenantNotLinked, ValidationFailed
from shared.mailbox import calendar_view, credentials
from shared.mailbox.free_busy import MAX_PER_CALL, PER_MAILBOX_PARALLEL, rank, schedules_over
from shared.mailbox.links import own_link
from shared.models import AccountStatus, Room
from shared.storage.events import Events
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.rooms import Rooms
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks


def _fail(code: str, message: str) -> NoReturn:
    raise ValidationFailed(message, code=code)


# ---- who is read how ---------------------------------------------------------------------------


@dataclass
class Reader:
    """How one interviewer is read: their own mailbox (an active link of theirs in the tenant),
    else their address through the caller's getSchedule."""

    who: Who
    email: str
    oid: str | None = None  # the Entra object id when known (their own link)
    own: credentials.Mailbox | None = None
    busy: list[rules.Interval] = field(default_factory=list)


def _readers(caller: Caller, search: SlotSearch) -> list[Reader]:
    """Storage only: 422 interviewer_not_found for a HERP account with no link in the tenant
    and no e-mail."""
    accounts = {a.account.email.lower(): a for a in MicrosoftAccounts().of_tenant(caller.company_id, search.tenant_id)}
    linked_oids: dict[str, bool] = {}

    def has_link(oid: str) -> bool:
        if oid not in linked_oids:
            linked_oids[oid] = bool(UserLinks().of_microsoft_account(caller.company_id, search.tenant_id, oid))
        return linked_oids[oid]

    out = []
    for who in search.people:
        candidates = []
        if who.herp_account_id:
            links = [
                link
                for link in UserLinks().of_herp_account(caller.company_id, who.herp_account_id)
                if link.tenant_id == search.tenant_id
            ]
            by_oid = {a.account.id: a for a in accounts.values()}
            candidates = [by_oid[link.account_id] for link in links if link.account_id in by_oid]
            if not candidates and who.email is None:
                _fail("interviewer_not_found", "An interviewer has no link in this tenant and no email was given.")
        if who.email and who.email.lower() in accounts and has_link(accounts[who.email.lower()].account.id):
            candidates.insert(0, accounts[who.email.lower()])
        active = [a for a in candidates if a.status == AccountStatus.ACTIVE and a.token_cache]
        if active:
            account = active[0]
            out.append(Reader(who, account.account.email, account.account.id, credentials.Mailbox(account)))
        elif candidates:
            out.append(Reader(who, who.email or candidates[0].account.email, candidates[0].account.id))
        else:
            assert who.email is not None
            out.append(Reader(who, who.email))
    return out


def _read(readers: list[Reader], box: credentials.Mailbox, start: datetime, end: datetime) -> None:
    """Each reader's busy intervals over [start, end), added to what they hold: calendarView of the
    linked ones (concurrently, each in their own mailbox) beside getSchedule of the rest through
    `box`. A linked credential that turns out dead is read through getSchedule instead."""
    own = [r for r in readers if r.own is not None]
    others = [r for r in readers if r.own is None]

    def view(reader: Reader) -> list[dict] | None:
        assert reader.own is not None
        try:
            return calendar_view.items(reader.own, start, end)
        except (ReauthRequired, LinkRemoved):
            return None

    def schedule(group: list[Reader]) -> dict[str, dict]:
        return schedules_over(box, [r.email for r in group], start, end) if group else {}

    with ThreadPoolExecutor(max_workers=max(1, min(len(own) + 1, 16)), thread_name_prefix="slots") as pool:
        views = pool.map(view, own)
        infos = pool.submit(schedule, others)
        fallen = []
        for reader, items in zip(own, views, strict=True):
            if items is None:
                reader.own = None
                fallen.append(reader)
            else:
                reader.busy += rules.busy_from_calendar(items)
        answered = infos.result()
    answered.update(schedule(fallen))
    for reader in others + fallen:
        busy = rules.busy_from_schedule(answered.get(reader.email.lower(), {"error": "missing"}))
        if busy is None:
            _fail("interviewer_not_found", f"Outlook has no calendar for the interviewer {reader.email}.")
        reader.busy += busy or []


def _interviews_per_day(caller: Caller, search: SlotSearch, readers: list[Reader]) -> dict[str, dict[date, int]]:
    """Interviews made through this service (active rows of the events table) per interviewer
    and local day: those made with the interviewer's account and those they attend."""
    tz = ZoneInfo(search.time_zone)
    counts: dict[str, dict[date, int]] = {r.who.key: {} for r in readers}
    for row in Events().active_of_tenant(caller.company_id, search.tenant_id):
        try:
            event = EventInput.from_json_text(row.input_json)
            day = instant_of(event.start, event.time_zone).astimezone(tz).date()
        except (ValueError, TypeError, KeyError):
            continue
        attending = {a.email.lower() for a in event.attendees}
        for r in readers:
            if row.account_id == r.oid or r.email.lower() in attending:
                per = counts[r.who.key]
                per[day] = per.get(day, 0) + 1
    return counts


# ---- rooms -------------------------------------------------------------------------------------


@dataclass
class Itinerary:
    placed: list[rules.Placed]
    rooms: list[Room | None] = field(default_factory=list)


class RoomReader:
    """Rooms of the cache per filter, ranked, whose free/busy is read in waves over a range."""

    def __init__(
        self,
        box: credentials.Mailbox,
        tenant_id: str,
        start: datetime,
        end: datetime,
        candidates: dict[RoomNeeds, list[Room]],
    ):
        self.box, self.tenant_id, self.start, self.end = box, tenant_id, start, end
        self.candidates = candidates  # ranked, per filter (read from the cache while people are read)
        self.read: dict[RoomNeeds, int] = {n: 0 for n in candidates}  # candidates read, per filter
        self.busy: dict[str, list[rules.Interval] | None] = {}
        self.waves: dict[RoomNeeds, int] = {}

    def checked(self) -> int:
        return len(self.busy)

    def ranked(self, needs: RoomNeeds) -> list[Room]:
        if needs not in self.candidates:
            self.candidates.update(_candidates(self.tenant_id, [needs]))
            self.read[needs] = 0
        return self.candidates[needs]

    def known(self, needs: RoomNeeds) -> list[Room]:
        return self.ranked(needs)[: self.read[needs]]

    def exhausted(self, needs: RoomNeeds) -> bool:
        return self.read[needs] >= len(self.ranked(needs))

    def wave(self, needs: RoomNeeds) -> None:
        """Read the next wave of candidates: 1 getSchedule call, then 2, then 4 (the per-mailbox
        limit) at once, 20 rooms each; rooms already read (under another filter) are not read again."""
        width = min(PER_MAILBOX_PARALLEL, 2 ** self.waves.get(needs, 0))
        self.waves[needs] = self.waves.get(needs, 0) + 1
        ranked = self.ranked(needs)
        todo: list[str] = []
        at = self.read[needs]
        while at < len(ranked) and len(todo) < width * MAX_PER_CALL:
            if ranked[at].email.lower() not in self.busy:
                todo.append(ranked[at].email)
            at += 1
        self.read[needs] = at
        if not todo:
            return
        for email, info in schedules_over(self.box, todo, self.start, self.end).items():
            self.busy[email] = rules.busy_from_schedule(info)
        for email in todo:
            self.busy.setdefault(email.lower(), None)

    def free(self, room: Room, start: datetime, end: datetime) -> bool:
        busy = self.busy.get(room.email.lower())
        return busy is not None and not any(b.overlaps(start, end) for b in busy)


def _candidates(tenant_id: str, needs: list[RoomNeeds | None]) -> dict[RoomNeeds, list[Room]]:
    """The cache's bookable rooms matching each filter, ranked (the finder's order)."""
    return {n: rank(Rooms().find(tenant_id, **n.__dict__)) for n in dict.fromkeys(needs) if n is not None}


def _assign(it: Itinerary, needs: list[RoomNeeds | None], reader: RoomReader) -> bool | None:
    """Rooms for an itinerary among the rooms read so far: True when every session that needs a
    room has one (one room for the whole loop when one is free for all of it), False when some
    session can have none (its candidates are all read), None when more must be read."""
    if all(n is None for n in needs):
        it.rooms = [None] * len(it.placed)
        return True
    wanted = [n for n in needs if n is not None]
    if len(set(wanted)) == 1 and len(wanted) == len(needs) and len(needs) > 1:
        shared = next(
            (r for r in reader.known(wanted[0]) if all(reader.free(r, p.start, p.end) for p in it.placed)), None
        )
        if shared is not None:
            it.rooms = [shared] * len(it.placed)
            return True
    rooms: list[Room | None] = []
    for placed, n in zip(it.placed, needs, strict=True):
        if n is None:
            rooms.append(None)
            continue
        room = next((r for r in reader.known(n) if reader.free(r, placed.start, placed.end)), None)
        if room is None:
            return False if reader.exhausted(n) else None
        rooms.append(room)
    it.rooms = rooms
    return True


def _with_rooms(
    itineraries: list[Itinerary], needs: list[RoomNeeds | None], reader: RoomReader, limit: int
) -> list[Itinerary]:
    """The first `limit` itineraries (in order) that get a room for each session that asks one,
    reading more candidates only while an earlier itinerary is still undecided."""
    state: list[bool | None] = [None] * len(itineraries)
    while True:
        kept, pending = 0, None
        for i, it in enumerate(itineraries):
            if state[i] is None:
                state[i] = _assign(it, needs, reader)
            if state[i] is None:
                pending = i
                break
            kept += bool(state[i])
            if kept >= limit:
                break
        if pending is None:
            return [it for it, ok in zip(itineraries, state, strict=False) if ok][:limit]
        for n in {n for n in needs if n is not None}:
            if not reader.exhausted(n):
                reader.wave(n)
        # the undecided itineraries are looked at again with the rooms now read


# ---- the search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    slots: list[dict]
    time_zone: str
    first: date
    last: date
    interviewers: int
    rooms: int

    def to_json(self) -> dict:
        return {
            "slots": self.slots,
            "time_zone": self.time_zone,
            "window": {"from": self.first.isoformat(), "to": self.last.isoformat()},
            "checked": {"interviewers": self.interviewers, "rooms": self.rooms},
        }


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


def _render(it: Itinerary, search: SlotSearch, tz: ZoneInfo) -> dict:
    first, last = it.placed[0], it.placed[-1]
    one_room = it.rooms[0] if it.rooms and all(r == it.rooms[0] for r in it.rooms) else None
    parts = [(p.start, p.end, r.email if r else None) for p, r in zip(it.placed, it.rooms, strict=True)]
    out: dict = {
        "slot_id": rules.slot_id(parts),
        "start": _local(first.start, tz),
        "end": _local(last.end, tz),
        "room": one_room.to_json() if one_room else None,
    }
    if search.loop:
        out["sessions"] = [
            {
                "start": _local(p.start, tz),
                "end": _local(p.end, tz),
                "interviewers": [w.to_json() for w in s.who],
                "room": r.to_json() if r else None,
            }
            for p, s, r in zip(it.placed, search.sessions, it.rooms, strict=True)
        ]
    return out


def _itineraries(search: SlotSearch, readers: list[Reader], counts, first: date, count: int) -> list[Itinerary]:
    tz = ZoneInfo(search.time_zone)
    people = {
        r.who.key: rules.Person(r.who.key, r.who.hours, tuple(r.busy), counts.get(r.who.key, {})) for r in readers
    }
    sessions = [rules.Session(tuple(people[w.key] for w in s.who), s.minutes) for s in search.sessions]
    out = []
    for day in rules.business_days(first, count, search.holidays, search.days_off):
        out += [Itinerary(p) for p in rules.day_candidates(day, sessions, search.gap, tz, search.max_per_day)]
    return out


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def find_slots(caller: Caller, body: dict) -> Found:
    """POST /slots/find."""
    search = parse(body)
    tenant = TenantLinks().get_linked(caller.company_id, search.tenant_id)
    if tenant is None:
        raise TenantNotLinked()
    link = own_link(caller, search.link_id)
    if link.tenant_id != tenant.tenant_id:
        _fail("link_not_in_tenant", "The link belongs to another Microsoft 365 tenant.")
    readers = _readers(caller, search)
    box = credentials.mailbox(link.company_id, link.tenant_id, link.account_id)
    tz = ZoneInfo(search.time_zone)
    counts = _interviews_per_day(caller, search, readers) if search.max_per_day is not None else {}
    needs = [s.room for s in search.sessions]
    found: list[Itinerary] = []
    checked_rooms = 0
    parts = [(search.first, search.days)]
    if search.days < MAX_DAYS:
        parts.append((search.first + timedelta(days=search.days), MAX_DAYS - search.days))
    last = search.first
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slots-rooms") as pool:
        rooms_ahead = pool.submit(_candidates, tenant.tenant_id, needs)  # the cache query beside the reads
        for n, (first, count) in enumerate(parts):
            if n > 0 and len(found) >= min(search.min_slots, search.limit):
                break  # HERP's rule: the window grows only when it holds fewer than min_slots
            start, end = _midnight(first, tz), _midnight(first + timedelta(days=count), tz)
            _read(readers, box, start, end)
            last = first + timedelta(days=count - 1)
            itineraries = _itineraries(search, readers, counts, first, count)
            room_reader = RoomReader(box, tenant.tenant_id, start, end, dict(rooms_ahead.result()))
            found += _with_rooms(itineraries, needs, room_reader, search.limit - len(found))
            checked_rooms += room_reader.checked()
            for reader in readers:
                reader.busy = []  # the next part reads its own days
    slots = [_render(it, search, tz) for it in found[: search.limit]]
    return Found(slots, search.time_zone, search.first, last, len(readers), checked_rooms)
