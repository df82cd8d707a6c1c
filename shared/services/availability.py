"""Free/busy of interviewers and rooms (`getSchedule`) with the caller's link, in a time zone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from shared.auth import Caller
from shared.errors import ValidationFailed
from shared.services import credentials
from shared.services.event_input import email_address, graph_zone, local_datetime, zone
from shared.services.event_view import local_time
from shared.services.user_links import own_link

MAX_PER_CALL = 20  # getSchedule: at most 20 schedules per request
MAX_DAYS = 42  # getSchedule refuses longer periods (ErrorTimeIntervalTooBig)
MAX_EMAILS = 100
PER_MAILBOX_PARALLEL = 4  # Graph: at most 4 concurrent requests per mailbox
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


def _schedule(info: dict, tz: str) -> dict:
    error = info.get("error")
    return {
        "email": info.get("scheduleId"),
        "availability_view": info.get("availabilityView") or "",
        "busy": [
            {
                "start": local_time(item.get("start"), tz),
                "end": local_time(item.get("end"), tz),
                "status": STATUSES[str(item.get("status")).lower()],
            }
            for item in info.get("scheduleItems") or []
            if str(item.get("status")).lower() in STATUSES
        ],
        "error": {"code": "schedule_unavailable", "message": str(error.get("message") or "")[:200]} if error else None,
    }


def availability(caller: Caller, body: dict) -> dict:
    q = _parse(body)
    link = own_link(caller, q["link_id"])
    box = credentials.mailbox(link.company_id, link.tenant_id, link.account_id)
    tz = q["time_zone"]

    def fetch(chunk: list[str]) -> list[dict]:
        payload = {
            "schedules": chunk,
            "startTime": {"dateTime": q["start"], "timeZone": graph_zone(tz)},
            "endTime": {"dateTime": q["end"], "timeZone": graph_zone(tz)},
            "availabilityViewInterval": q["interval"],
        }
        found = box.post("/me/calendar/getSchedule", json=payload)
        return [_schedule(info, tz) for info in found.get("value", [])]

    chunks = [q["emails"][i : i + MAX_PER_CALL] for i in range(0, len(q["emails"]), MAX_PER_CALL)]
    with ThreadPoolExecutor(max_workers=min(PER_MAILBOX_PARALLEL, len(chunks))) as pool:
        results = list(pool.map(fetch, chunks))
    by_email = {s["email"].lower(): s for part in results for s in part if s.get("email")}
    missing = {"code": "schedule_unavailable", "message": "Outlook returned no schedule for this address."}
    schedules = [
        by_email.get(e.lower()) or {"email": e, "availability_view": "", "busy": [], "error": missing}
        for e in q["emails"]
    ]
    return {"time_zone": tz, "interval_minutes": q["interval"], "schedules": schedules}
