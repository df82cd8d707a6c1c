"""Free/busy of interviewers and rooms (`getSchedule`) with the caller's link, in a time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.auth import Caller
from shared.domain.event_input import email_address, graph_zone, local_datetime, utc_local, zone
from shared.domain.event_view import local_time
from shared.errors import GraphError, ValidationFailed
from shared.mailbox import credentials
from shared.mailbox.free_busy import MAX_DAYS, get_schedule, in_chunks
from shared.mailbox.links import own_link
from shared.time_zones import zone_refused

MAX_EMAILS = 100
# getSchedule's `status` arrives in either case ("busy", "Busy"): compared case-insensitively.
STATUSES = {s.lower(): s for s in ("busy", "tentative", "oof", "workingElsewhere")}


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


def availability(caller: Caller, body: dict) -> Availability:
    q = _parse(body)
    link = own_link(caller, q["link_id"])
    box = credentials.mailbox(link.company_id, link.tenant_id, link.account_id)
    tz = q["time_zone"]

    def fetch(chunk: list[str]) -> list[Schedule]:
        try:
            infos = get_schedule(box, chunk, q["start"], q["end"], graph_zone(tz), q["interval"])
        except GraphError as exc:
            if not zone_refused(exc):
                raise
            # An Exchange without the latest Windows zone ids (shared/time_zones.py): the same
            # period in UTC; the answer comes in UTC either way and the view starts at the same instant.
            start, end = utc_local(q["start"], tz), utc_local(q["end"], tz)
            infos = get_schedule(box, chunk, start, end, "UTC", q["interval"])
        return [_schedule(info, tz) for info in infos]

    results = in_chunks(fetch, q["emails"])
    by_email = {s.email.lower(): s for part in results for s in part if s.email}
    missing = "Outlook returned no schedule for this address."
    schedules = [by_email.get(e.lower()) or Schedule(e, error=missing) for e in q["emails"]]
    return Availability(tz, q["interval"], schedules)
