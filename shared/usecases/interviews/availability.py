"""Free/busy of interviewers and rooms (`getSchedule`) with the caller's link, in a time zone."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from shared.auth import Caller
from shared.domain.event_input import EventInput, email_address, graph_zone, local_datetime, utc_slot, zone
from shared.domain.event_view import local_time
from shared.errors import SlotConflict, ValidationFailed
from shared.mailbox import credentials
from shared.mailbox.links import own_link

MAX_PER_CALL = 20  # getSchedule: at most 20 schedules per request
MAX_DAYS = 42  # getSchedule refuses longer periods (ErrorTimeIntervalTooBig)
MAX_EMAILS = 100
PER_MAILBOX_PARALLEL = 4  # Graph: at most 4 concurrent requests per mailbox
# getSchedule's `status` arrives in either case ("busy", "Busy"): compared case-insensitively.
STATUSES = {s.lower(): s for s in ("busy", "tentative", "oof", "workingElsewhere")}
NOT_BLOCKING = {"free", "workingelsewhere"}  # blocks_slot
T = TypeVar("T")


def _parse(body: dict) -> dict:
    if not isinstance(body.get("link_id"), str) or not body["link_id"]:
        raise ValidationFailed("link_id is required.", code="invalid_link_id")
    emails = body.get("emails")
    if not isinstance(emails, list) or not 0 < len(emails) <= MAX_EMAILS:
        raise ValidationFailed(f"emails must be a list of 1 to {MAX_EMAILS} addresses.", code="invalid_emails")
    interval = body.get("interval_minutes", 30)
    if not isinstance(interval, int) or isinstance(interval, bool) or not 5 <= interval <= 1440:
        raise ValidationFailed("interval_minutes must be an integer from 5 to 1440.", code="invalid_interval")
    tz = body.get("time_zone")
    zone(tz)
    start, end = local_datetime(body.get("start"), "start"), local_datetime(body.get("end"), "end")
    if end <= start:
        raise ValidationFailed("end must be after start.", code="invalid_time_range")
    if datetime.fromisoformat(end) - datetime.fromisoformat(start) > timedelta(days=MAX_DAYS):
        raise ValidationFailed(f"The period may be at most {MAX_DAYS} days.", code="invalid_time_range")
    unique = list(dict.fromkeys(email_address(e, "an e-mail in emails") for e in emails))
    return {
        "link_id": body["link_id"],
        "emails": unique,
        "start": start,
        "end": end,
        "time_zone": tz,
        "interval": interval,
    }


@dataclass(frozen=True)
class Busy:
    start: str | None
    end: str | None
    status: str


@dataclass(frozen=True)
class Schedule:
    """One address's free/busy, local to the asked zone; `error` when Outlook had none for it."""

    email: str
    availability_view: str = ""
    busy: tuple[Busy, ...] = ()
    error: str | None = None  # why Outlook gave no schedule (its message, shortened)

    def to_json(self) -> dict:
        return {
            "email": self.email,
            "availability_view": self.availability_view,
            "busy": [{"start": b.start, "end": b.end, "status": b.status} for b in self.busy],
            "error": {"code": "schedule_unavailable", "message": self.error} if self.error is not None else None,
        }


@dataclass(frozen=True)
class Availability:
    time_zone: str
    interval_minutes: int
    schedules: list[Schedule]

    def to_json(self) -> dict:
        return {
            "time_zone": self.time_zone,
            "interval_minutes": self.interval_minutes,
            "schedules": [s.to_json() for s in self.schedules],
        }


def _schedule(info: dict, tz: str) -> Schedule:
    error = info.get("error")
    return Schedule(
        email=info.get("scheduleId") or "",
        availability_view=info.get("availabilityView") or "",
        busy=tuple(
            Busy(
                local_time(item.get("start"), tz),
                local_time(item.get("end"), tz),
                STATUSES[str(item.get("status")).lower()],
            )
            for item in info.get("scheduleItems") or []
            if str(item.get("status")).lower() in STATUSES
        ),
        error=str(error.get("message") or "")[:200] if error else None,
    )


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
    return box.post("/me/calendar/getSchedule", json=payload).get("value", [])


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


def availability(caller: Caller, body: dict) -> Availability:
    q = _parse(body)
    link = own_link(caller, q["link_id"])
    box = credentials.mailbox(link.company_id, link.tenant_id, link.account_id)
    tz = q["time_zone"]

    def fetch(chunk: list[str]) -> list[Schedule]:
        infos = get_schedule(box, chunk, q["start"], q["end"], graph_zone(tz), q["interval"])
        return [_schedule(info, tz) for info in infos]

    results = in_chunks(fetch, q["emails"])
    by_email = {s.email.lower(): s for part in results for s in part if s.email}
    missing = "Outlook returned no schedule for this address."
    schedules = [by_email.get(e.lower()) or Schedule(e, error=missing) for e in q["emails"]]
    return Availability(tz, q["interval"], schedules)
