"""POST /me/calendar/getSchedule.

Docs followed:
- microsoft-graph-docs-contrib api-reference/v1.0/api/calendar-getschedule.md: Calendars.Read or
  Calendars.ReadWrite; body schedules, startTime, endTime (dateTimeTimeZone),
  availabilityViewInterval (default 30, minimum 5, maximum 1440); `Prefer: outlook.timezone`
  sets the time zone of start/end in the response, UTC without it; 200 with
  {"value": [scheduleInformation]} in the order of `schedules`. startTime/endTime and the Prefer
  header take the names of resources/datetimetimezone.md only (timezones.py).
- resources/scheduleinformation.md, scheduleitem.md, freebusyerror.md, workinghours.md.
- concepts/outlook-get-free-busy-schedule.md: availabilityView digits 0 free, 1 tentative, 2 busy,
  3 oof, 4 workingElsewhere, one per slot; the rest of the period is free; subject, location and
  isPrivate only where the requested user lets the caller see them (here: the caller's own
  schedule; others, rooms included, show availability only, Exchange's default permission);
  "the time period to look up must be less than 42 days"; an address it cannot identify gives
  one item with `error`.
- Error codes (Exchange availability service, EWS ResponseCode reference): ErrorMailboxDataArrayEmpty
  (no schedules), ErrorMailboxDataArrayTooBig (more than 100 entries; the 400 Graph answers for
  101 addresses is quoted in microsoft-graph-docs-contrib issue #5895 - the concept page's
  "up to 20" is the older, lower figure), ErrorInvalidMergedFreeBusyInterval (outside 5..1440),
  ErrorInvalidTimeInterval (end not after start), ErrorTimeIntervalTooBig (42 days or more).
- Unknown address: {"scheduleId", "error": {"message": "Unable to resolve e-mail address <x> to an
  Active Directory object.", "responseCode": "5009"}} (microsoft-graph-docs issue #11225).
"""

from __future__ import annotations

import datetime as dt
import math

from . import events as ev
from .graph import mailbox_owner
from .graph_http import Caller, GraphError, GraphResult, read_json
from .timezones import parse_local, prefer, preference_applied, require_known_to_exchange
from .timezones import render as render_time

MAX_SCHEDULES = 100
MAX_PERIOD = dt.timedelta(days=42)
WORKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def _bad(code, message):
    return GraphError(400, code, message)


def _when(params, name):
    value = params.get(name.lower())
    if not isinstance(value, dict):
        raise _bad("ErrorInvalidRequest", f"The parameter '{name}' is missing or not a dateTimeTimeZone.")
    v = {k.lower(): x for k, x in value.items()}
    return parse_local(v.get("datetime"), v.get("timezone") or "UTC", name)


def _working_hours(tz_name="Tokyo Standard Time"):
    """The seeded mailboxes keep Outlook's default working hours in their own zone (Japan)."""
    return {
        "daysOfWeek": list(WORKDAYS),
        "startTime": "08:00:00.0000000",
        "endTime": "17:00:00.0000000",
        "timeZone": {"name": tz_name},
    }


def _view(items, start, end, interval):
    slots = math.ceil((end - start) / dt.timedelta(minutes=interval))
    out = []
    for i in range(slots):
        s = start + dt.timedelta(minutes=interval * i)
        e = s + dt.timedelta(minutes=interval)
        hits = [it[2] for it in items if ev.overlaps(it[0], it[1], s, e)]
        best = max(hits, key=lambda st: ev.PRECEDENCE[st], default="free")
        out.append(ev.STATUS_DIGIT[best])
    return "".join(out)


def get_schedule(state, request, caller: Caller):
    tz, _body = prefer(request, state.accept_2026_ids)
    owner = mailbox_owner(caller)  # permissions and mailbox first, as Graph does
    params = {k.lower(): v for k, v in read_json(request).items()}
    schedules = params.get("schedules")
    if not isinstance(schedules, list) or not all(isinstance(s, str) for s in schedules):
        raise _bad("ErrorInvalidRequest", "The parameter 'Schedules' must be a collection of strings.")
    if not schedules:
        raise _bad("ErrorMailboxDataArrayEmpty", "MailboxData array is empty.")
    if len(schedules) > MAX_SCHEDULES:
        raise _bad(
            "ErrorMailboxDataArrayTooBig",
            "There are too many target users in the EmailAddress array. The allowed size = "
            f"{MAX_SCHEDULES}; the actual size = {len(schedules)}.",
        )
    start, end = _when(params, "startTime"), _when(params, "endTime")
    require_known_to_exchange(
        state.accept_2026_ids,
        *({k.lower(): v for k, v in params[n].items()}.get("timezone") for n in ("starttime", "endtime")),
    )
    interval = params.get("availabilityviewinterval", 30)
    if isinstance(interval, str) and interval.strip().isdigit():
        interval = int(interval)  # the concept page's example sends "15"
    if interval is None:
        interval = 30
    if not isinstance(interval, int) or isinstance(interval, bool) or not 5 <= interval <= 1440:
        raise _bad(
            "ErrorInvalidMergedFreeBusyInterval",
            "The MergedFreeBusyIntervalInMinutes value must be between 5 and 1440.",
        )
    if end <= start:
        raise _bad(
            "ErrorInvalidTimeInterval",
            "The specified time interval is invalid. The end time must be later than the start time.",
        )
    if end - start >= MAX_PERIOD:
        raise _bad(
            "ErrorTimeIntervalTooBig", "The specified time interval is larger than the allowed limit of 42 days."
        )
    with state.lock:
        tid, me = owner.tenant_id, owner.address.lower()
        value = []
        for address in schedules:
            user = state.user_by_address(tid, address)
            if (user is None or not user.has_mailbox) and state.room_by_address(tid, address) is None:
                value.append(
                    {
                        "scheduleId": address,
                        "error": {
                            "message": f"Unable to resolve e-mail address {address} to an Active Directory object.",
                            "responseCode": "5009",
                        },
                    }
                )
                continue
            own = user is not None and (user.id == owner.id or address.lower() == me)
            items = ev.schedule_items(state, tid, address, start, end)
            rendered = []
            for s, e, status, subject, location, private in items:
                item = {"isPrivate": private, "status": status} if own else {"status": status}
                if own:
                    item.update(subject=subject or "", location=location or "")
                item.update(start=render_time(s, tz), end=render_time(e, tz))
                rendered.append(item)
            value.append(
                {
                    "scheduleId": address,
                    "availabilityView": _view(items, start, end, interval),
                    "scheduleItems": rendered,
                    "workingHours": _working_hours(),
                }
            )
    body = {
        "@odata.context": f"{state.base_url}/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)",
        "value": value,
    }
    return GraphResult(body, 200, preference_applied(tz, None))
