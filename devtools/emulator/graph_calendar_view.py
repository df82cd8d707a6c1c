"""GET /me/calendarView: the signed-in user's items in a time range, as the slot search reads an
interviewer's own calendar.

Docs and reports followed:
- microsoft-graph-docs-contrib api-reference/v1.0/api/user-list-calendarview.md: the occurrences,
  exceptions and single instances of events of the user's default calendar in the range
  startDateTime..endDateTime (query parameters, ISO 8601, required); Calendars.Read or
  Calendars.ReadWrite; `$select`; `Prefer: outlook.timezone` renders start/end (UTC without it).
- Without the range Graph answers 400 ErrorInvalidParameter "This request requires a time window
  specified by the query string parameters StartDateTime and EndDateTime."
  (microsoft-graph-docs-contrib issue 8385; msgraph-metadata issue 49).
- Items that overlap the range are listed, including ones that start before it or end after it
  (microsoft-graph-docs-contrib issue 387).
- concepts/paging.md: Outlook collections page at 10 items by default, `$top` sets the page size,
  `@odata.nextLink` (with `$skip`) leads to the next page until none is left.
- resources/event.md: `showAs`, `isCancelled`, `responseStatus` (the mailbox owner's own response:
  `organizer` on their own events, `declined` etc. on copies of others' meetings); the owner sees
  every subject of their own calendar. A declined copy stays in the calendar (README Deviations),
  a cancelled copy shows `isCancelled: true` until its owner removes it.
Chosen where no source pins it down: the items come in start order; `$top` above 1000 is refused
like a bad value (field reports page Outlook collections at up to 1000).
"""

from __future__ import annotations

from . import events as ev
from .graph import _page, calendars_of, mailbox_owner, select_option
from .graph_events import EVENT_PROPS, render
from .graph_http import Caller, GraphError, immutable_ids
from .timezones import parse_local, prefer, preference_applied

MAX_TOP = 1000
NO_WINDOW = (
    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
)


def _arg(request, name):
    """Query option names are case-insensitive (startDateTime, StartDateTime)."""
    return next((v for k, v in request.args.items() if k.lower() == name.lower()), None)


def calendar_view(state, request, caller: Caller):
    tz, body_type = prefer(request)
    immutable = immutable_ids(request)
    with state.lock:
        owner = mailbox_owner(caller)
        raw_start, raw_end = _arg(request, "startDateTime"), _arg(request, "endDateTime")
        if not raw_start or not raw_end:
            raise GraphError(400, "ErrorInvalidParameter", NO_WINDOW)
        start = parse_local(raw_start, "UTC", "startDateTime")
        end = parse_local(raw_end, "UTC", "endDateTime")
        top = request.args.get("$top")
        if top is not None and top.isdigit() and int(top) > MAX_TOP:
            raise GraphError(400, "BadRequest", f"Invalid value '{top}' for query option '$top'.")
        selected = select_option(request, EVENT_PROPS, "microsoft.graph.event")
        default_cal = calendars_of(state, owner)[0].id
        items = sorted(
            (
                rec
                for rec in state.events.values()
                if rec.owner == owner.id
                and rec.live
                and rec.calendar_id == default_cal
                and rec.start is not None
                and rec.end is not None
                and ev.overlaps(rec.start, rec.end, start, end)
            ),
            key=lambda rec: (rec.start, rec.end, rec.key),
        )
        context = f"{state.base_url}/v1.0/$metadata#users('{owner.id}')/calendarView"

        def shape(rec):
            out = render(state, rec, tz, body_type, selected, context=False, immutable=immutable)
            return {"@odata.etag": f'W/"{rec.change_key}"', **out}

        result = _page(state, request, items, 10, context, shape)
    result.headers = {**(result.headers or {}), **preference_applied(tz, body_type if selected is None else None)}
    return result
