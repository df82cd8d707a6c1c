"""How a room mailbox answers a meeting request: the booking decision of Exchange's Resource
Booking Attendant, as far as the emulator plays it. `events.deliver_room_answers` asks it once
a room's answer is due.

Sources (Microsoft docs):
- resources/room.md (microsoft-graph-docs-contrib): `bookingType` `reserved` = "the room is
  reserved for ... first-come, first-served" and "can't be reserved": declined.
- api/user-post-events.md: "On behalf of the resource, the server accepts or rejects the meeting
  request based on the free/busy schedule of the resource."
- Exchange PowerShell `Set-CalendarProcessing` (learn.microsoft.com/powershell/module/exchange/
  set-calendarprocessing): `AllowConflicts` default `$false` (a request that overlaps a meeting the
  room already holds is declined); `MaximumDurationInMinutes` default 1440 (one day), "a value of 0
  indicates that the maximum duration of a meeting is unlimited": a longer request is declined.
  `AutomateProcessing` `AutoAccept` is what room mailboxes do by default in Exchange Online.

Not played: `BookingWindowInDays` (180), `AllowRecurringMeetings`, working hours, delegates,
`ConflictPercentageAllowed`; see README "Deviations".
"""

from __future__ import annotations

import datetime as dt

from .records import Event, Room

DEFAULT_MAX_DURATION_MINUTES = 1440  # Set-CalendarProcessing -MaximumDurationInMinutes default


def max_duration(room: Room) -> dt.timedelta | None:
    """The longest meeting the room accepts; None = unlimited (0)."""
    minutes = room.maximum_duration_in_minutes
    if minutes is None:
        minutes = DEFAULT_MAX_DURATION_MINUTES
    return None if minutes == 0 else dt.timedelta(minutes=minutes)


def decline_reason(room: Room, meeting: Event, conflicts: bool) -> str | None:
    """Why the room declines `meeting` (`conflicts`: another booking of the room overlaps), or
    None when it accepts."""
    if room.booking_type == "reserved":
        return "reserved"
    limit = max_duration(room)
    if limit is not None and meeting.end - meeting.start > limit:
        return "duration"
    if conflicts:
        return "conflict"
    return None
