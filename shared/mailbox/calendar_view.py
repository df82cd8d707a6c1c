"""One account's own calendar items in a time range (`calendarView`), with the fields the slot
search judges them by: the owner sees every subject, `showAs`, `isCancelled` and their own
`responseStatus` (api-reference/v1.0/api/user-list-calendarview.md; resources/event.md).

One call per `PAGE` items: Outlook pages at 10 by default and follows with `@odata.nextLink`
(concepts/paging.md), so a `$top` large enough for a month of a busy calendar keeps the read at
one call in the normal case. The Mailbox's Prefer header asks UTC times and immutable ids.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared import graph
from shared.mailbox import credentials

SELECT = "subject,showAs,isCancelled,responseStatus,start,end"
PAGE = 500  # items a page (Outlook's own default is 10)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def items(box: credentials.Mailbox, start: datetime, end: datetime) -> list[dict]:
    """Every item of the account's default calendar that overlaps [start, end) (aware)."""
    params = {"startDateTime": _instant(start), "endDateTime": _instant(end), "$select": SELECT, "$top": str(PAGE)}
    out: list[dict] = []
    for page in graph.pages(box.get, "/me/calendarView", params=params):
        out += page.get("value") or []
    return out
