"""Timer schedules for the host: the project's NCRONTAB/TimeSpan parser (shared.ncrontab), with
its errors reported as the host's SettingError."""

from __future__ import annotations

from datetime import datetime

from shared import ncrontab as _schedules

from .settings import SettingError

CronSchedule = _schedules.CronSchedule
IntervalSchedule = _schedules.IntervalSchedule


class ScheduleError(SettingError):
    pass


def parse_schedule(expression: str):
    try:
        return _schedules.parse_schedule(expression)
    except _schedules.ScheduleError as exc:
        raise ScheduleError(str(exc)) from None


def next_occurrences(expression: str, after: datetime, count: int) -> list[datetime]:
    try:
        return _schedules.next_occurrences(expression, after, count)
    except _schedules.ScheduleError as exc:
        raise ScheduleError(str(exc)) from None
