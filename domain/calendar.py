"""Working days and quiet hours, per organisation (China's statutory holidays via chinesecalendar)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from domain.models import Organisation

DEFAULTS = {"calendar": "CN", "quiet_start": "20:00", "quiet_end": "08:30"}


def setting(org: Organisation, key: str) -> str:
    return str((org.settings or {}).get(key, DEFAULTS[key]))


def is_workday(org: Organisation, day: date) -> bool:
    """China's calendar knows holidays and make-up working days; elsewhere, Monday to Friday."""
    if setting(org, "calendar") == "CN":
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year the library does not cover yet
            pass
    return day.weekday() < 5


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet(org: Organisation, when: datetime) -> bool:
    """Outside working hours: in the quiet hours, or on a day off."""
    local = when.astimezone(ZoneInfo(org.timezone))
    start, end = _clock(setting(org, "quiet_start")), _clock(setting(org, "quiet_end"))
    in_quiet = local.time() >= start or local.time() < end if start > end else start <= local.time() < end
    return in_quiet or not is_workday(org, local.date())


def next_working_morning(org: Organisation, when: datetime) -> datetime:
    """When a message held back at `when` may go: the end of the quiet hours on a working day."""
    tz = ZoneInfo(org.timezone)
    local = when.astimezone(tz)
    end = _clock(setting(org, "quiet_end"))
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    for _ in range(60):
        if is_workday(org, day):
            break
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)


def deliver_at(org: Organisation, when: datetime, urgent: bool = False) -> datetime:
    """Urgent messages go at once; others wait for working hours."""
    if urgent or not quiet(org, when):
        return when
    return next_working_morning(org, when)
