"""The slot search of 日程調整 on Outlook (CONTRACT 7, `POST /slots/find`).

Every refusal comes before any Graph call: the body is validated whole (`parse`), then the
tenant, the caller's link and the interviewers are looked up in storage. Then one read per
interviewer for the whole window: an interviewer with an active link of their own in the
tenant is read from their own calendar (`calendarView`, which shows their subjects, so
`[面接可]` counts), concurrently; everyone else with getSchedule through the caller's link (20
addresses a call). The rules run in memory (shared.domain.slots). Rooms are read last, only for
the itineraries that survive, best first, in waves of getSchedule calls over the whole window,
stopping once `limit` slots have a room. A window with fewer than `min_slots` slots grows to 30
days, reading only the days not read yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NoReturn
from zoneinfo import ZoneInfo

from shared.auth import Caller
from shared.domain import slots as rules
from shared.domain.event_input import EventInput, email_address, instant_of, zone
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

DURATIONS = (30, 45, 60, 90, 120)
MAX_INTERVIEWERS = 20
MAX_DAYS = 30  # HERP's window grows to 30 days at most
MAX_AHEAD = 366  # how far ahead `from` may be (Exchange's booking windows are shorter still)
DEFAULT_DAYS, DEFAULT_MIN_SLOTS, DEFAULT_LIMIT, MAX_LIMIT = 7, 10, 20, 100
SESSIONS = range(2, 7)
MAX_GAP, MAX_PER_DAY, MAX_CAPACITY, MAX_TEXT = 240, 50, 100_000, 255
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _fail(code: str, message: str) -> NoReturn:
    raise ValidationFailed(message, code=code)


# ---- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """An interviewer as given: a HERP account id and/or an e-mail, and their own hours."""

    herp_account_id: str | None
    email: str | None
    hours: tuple[time, time]

    @property
    def key(self) -> str:
        return f"herp:{self.herp_account_id}" if self.herp_account_id else f"email:{(self.email or '').lower()}"

    def to_json(self) -> dict:
        out: dict = {}
        if self.herp_account_id:
            out["herp_account_id"] = self.herp_account_id
        if self.email:
            out["email"] = self.email
        return out


@dataclass(frozen=True)
class RoomNeeds:
    min_capacity: int | None = None
    building: str | None = None
    floor: str | None = None
    room_list: str | None = None
    wheelchair_accessible: bool | None = None


@dataclass(frozen=True)
class SessionIn:
    who: tuple[Who, ...]
    minutes: int
    room: RoomNeeds | None


@dataclass(frozen=True)
class SlotSearch:
    tenant_id: str
    link_id: str
    sessions: tuple[SessionIn, ...]  # one for a single interview
    loop: bool
    time_zone: str
    first: date
    days: int
    min_slots: int
    holidays: Callable[[date], bool]
    days_off: frozenset[date]
    max_per_day: int | None
    gap: timedelta
    limit: int

    @property
    def people(self) -> list[Who]:
        seen: dict[str, Who] = {}
        for s in self.sessions:
            for w in s.who:
                seen.setdefault(w.key, w)
        return list(seen.values())


def _int(body: dict, name: str, low: int, high: int, default: int | None, code: str) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        _fail(code, f"{name} must be an integer from {low} to {high}.")
    return value


def _clock(value, what: str) -> time:
    if not isinstance(value, str) or not _CLOCK.match(value):
        _fail("invalid_hours", f"{what} must be a time like 08:00 (00:00-24:00).")
    return time.max if value == "24:00" else time.fromisoformat(value)


def _hours(value, default: tuple[time, time], what: str) -> tuple[time, time]:
    if value is None:
        return default
    if not isinstance(value, dict):
        _fail("invalid_hours", f"{what} must be an object {{start, end}}.")
    start, end = _clock(value.get("start"), f"{what}.start"), _clock(value.get("end"), f"{what}.end")
    if not start < end:
        _fail("invalid_hours", f"{what}: end must be after start.")
    return start, end


def _date(value, code: str, what: str) -> date:
    if not isinstance(value, str) or not _DATE.match(value):
        _fail(code, f"{what} must be a date like 2027-01-12.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(code, f"{what} is not a valid date.")


def _text(value, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        _fail("invalid_room", f"{what} must be a non-empty string of at most {MAX_TEXT} characters.")
    return value.strip()


def _room(value) -> RoomNeeds | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        _fail("invalid_room", "room must be an object of filters.")
    accessible = value.get("wheelchair_accessible")
    if accessible is not None and not isinstance(accessible, bool):
        _fail("invalid_room", "room.wheelchair_accessible must be true or false.")
    return RoomNeeds(
        _int(value, "min_capacity", 1, MAX_CAPACITY, None, "invalid_room"),
        _text(value.get("building"), "room.building"),
        _text(value.get("floor"), "room.floor"),
        _text(value.get("room_list"), "room.room_list"),
        accessible,
    )


def _who(value, hours: tuple[time, time]) -> Who:
    if not isinstance(value, dict):
        _fail("invalid_interviewers", "each interviewer must be an object with herp_account_id or email.")
    herp, email = value.get("herp_account_id"), value.get("email")
    if herp is not None and (not isinstance(herp, str) or not herp.strip() or len(herp) > MAX_TEXT):
        _fail("invalid_interviewers", "herp_account_id must be a non-empty string.")
    if herp is None and email is None:
        _fail("invalid_interviewers", "each interviewer needs herp_account_id or email.")
    return Who(
        herp.strip() if herp else None,
        email_address(email, "An interviewer's email") if email is not None else None,
        _hours(value.get("hours"), hours, "interviewer hours"),
    )


def _interviewers(value, hours: tuple[time, time]) -> tuple[Who, ...]:
    if not isinstance(value, list) or not value:
        _fail("invalid_interviewers", "interviewers must be a list of 1 to 20 interviewers.")
    if len(value) > MAX_INTERVIEWERS:
        _fail("too_many_interviewers", f"At most {MAX_INTERVIEWERS} interviewers.")
    return tuple(_who(v, hours) for v in value)


def _duration(value) -> int:
    if value not in DURATIONS or isinstance(value, bool):
        _fail("invalid_duration", "duration_minutes must be 30, 45, 60, 90 or 120.")
    return int(value)


def parse(body: dict, today: date | None = None) -> SlotSearch:
    """Validate a search body completely (no Graph call; the holiday calendar is loaded)."""
    tenant_id, link_id = body.get("tenant_id"), body.get("link_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        _fail("invalid_tenant_id", "tenant_id is required.")
    if not isinstance(link_id, str) or not link_id:
        _fail("invalid_link_id", "link_id is required.")
    tz_name = body.get("time_zone", "Asia/Tokyo")
    tz = zone(tz_name)
    hours = _hours(body.get("hours"), rules.DEFAULT_HOURS, "hours")
    room = _room(body.get("room"))
    raw_sessions = body.get("sessions")
    if raw_sessions is None:
        sessions: tuple[SessionIn, ...] = (
            SessionIn(_interviewers(body.get("interviewers"), hours), _duration(body.get("duration_minutes")), room),
        )
    else:
        if not isinstance(raw_sessions, list) or len(raw_sessions) not in SESSIONS:
            _fail("invalid_sessions", "sessions must be a list of 2 to 6 sessions.")
        if body.get("interviewers") is not None or body.get("duration_minutes") is not None:
            _fail("invalid_sessions", "With sessions, interviewers and duration_minutes go in each session.")
        if not all(isinstance(s, dict) for s in raw_sessions):
            _fail("invalid_sessions", "Each session must be an object.")
        sessions = tuple(
            SessionIn(
                _interviewers(s.get("interviewers"), hours),
                _duration(s.get("duration_minutes")),
                _room(s["room"]) if s.get("room") is not None else room,
            )
            for s in raw_sessions
        )
        if len({w.key for s in sessions for w in s.who}) > MAX_INTERVIEWERS:
            _fail("too_many_interviewers", f"At most {MAX_INTERVIEWERS} interviewers in all.")
    today = today or datetime.now(tz).date()
    first = _date(body["from"], "invalid_window", "from") if body.get("from") is not None else today + timedelta(1)
    if first < today:
        _fail("invalid_window", "from must not be in the past.")
    if first > today + timedelta(days=MAX_AHEAD):
        _fail("invalid_window", f"from must be within {MAX_AHEAD} days from today.")
    days = _int(body, "days", 1, MAX_DAYS, DEFAULT_DAYS, "invalid_window")
    raw_off = body.get("days_off") or []
    if not isinstance(raw_off, list) or len(raw_off) > 366:
        _fail("invalid_days_off", "days_off must be a list of dates.")
    days_off = frozenset(_date(d, "invalid_days_off", "each of days_off") for d in raw_off)
    code = body.get("holidays", "JP")
    try:
        is_holiday = rules.holiday_calendar(code)
    except rules.UnknownHolidayCalendar:
        _fail("unknown_holiday_calendar", "holidays must be a country code of the holidays calendar (e.g. JP) or null.")
    assert days is not None
    return SlotSearch(
        tenant_id=tenant_id,
        link_id=link_id,
        sessions=sessions,
        loop=raw_sessions is not None,
        time_zone=tz_name,
        first=first,
        days=days,
        min_slots=_int(body, "min_slots", 1, 1000, DEFAULT_MIN_SLOTS, "invalid_min_slots") or DEFAULT_MIN_SLOTS,
        holidays=is_holiday,
        days_off=days_off,
        max_per_day=_int(body, "max_per_day", 1, MAX_PER_DAY, None, "invalid_max_per_day"),
        gap=timedelta(minutes=_int(body, "gap_minutes", 0, MAX_GAP, 0, "invalid_gap_minutes") or 0),
        limit=_int(body, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT, "invalid_limit") or DEFAULT_LIMIT,
    )


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
