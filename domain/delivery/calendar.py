"""Working days and quiet hours, per organisation (China's statutory holidays via chinesecalendar).

A year the installed chinesecalendar does not cover yet still has the days off the law fixes by date; the
holidays that move with the lunar calendar or the solar terms are known once the department marks them."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from domain.kernel.i18n import N_
from domain.store.models import Organisation

DEFAULTS = {"calendar": "CN", "quiet_start": "20:00", "quiet_end": "08:30"}

# the names China's calendar gives its holidays, as message ids
HOLIDAY_NAMES = {
    "New Year's Day": N_("New Year's Day"), "Spring Festival": N_("Spring Festival"),
    "Tomb-sweeping Day": N_("Tomb-sweeping Day"), "Labour Day": N_("Labour Day"),
    "Dragon Boat Festival": N_("Dragon Boat Festival"), "Mid-autumn Festival": N_("Mid-autumn Festival"),
    "National Day": N_("National Day"),
}


# Days off the law fixes on one date every year (全国年节及纪念日放假办法 as amended for 2025): 元旦 1 January,
# 劳动节 1–2 May, 国庆节 1–3 October. They are days off even before a year's schedule is published.
FIXED_DAYS_OFF = {(1, 1): "New Year's Day", (5, 1): "Labour Day", (5, 2): "Labour Day", (10, 1): "National Day",
                  (10, 2): "National Day", (10, 3): "National Day"}

# The holidays that move from year to year, and the days they always fall within: a department that marked a
# day off there has given the year's date (its own name for it is its own).
MOVABLE_HOLIDAYS = {"Spring Festival": ((1, 20), (2, 28)), "Tomb-sweeping Day": ((4, 3), (4, 6)),
                    "Dragon Boat Festival": ((5, 28), (6, 25)), "Mid-autumn Festival": ((9, 7), (10, 8))}


def setting(org: Organisation, key: str) -> str:
    return str((org.settings or {}).get(key, DEFAULTS[key]))


def is_workday(org: Organisation, day: date) -> bool:
    """The department's own days first (`/holiday`); then China's calendar, which knows holidays and
    make-up working days (in a year it does not cover yet, the days off fixed by date); elsewhere Monday to
    Friday."""
    own = org.calendar_days.get(day)
    if own is not None:
        return own.working
    if setting(org, "calendar") == "CN":
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year the library does not cover yet
            if (day.month, day.day) in FIXED_DAYS_OFF:
                return False
    return day.weekday() < 5


def holiday_name(org: Organisation, day: date) -> str | None:
    """The name of the holiday `day` belongs to, if it is a day off that has one (the department's own
    name first, else China's calendar's English name, which `HOLIDAY_NAMES` translates)."""
    own = org.calendar_days.get(day)
    if own is not None:
        return None if own.working else own.name
    if setting(org, "calendar") != "CN":
        return None
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return FIXED_DAYS_OFF.get((day.month, day.day))
    return name if off and name else None


def national_covers(year: int) -> bool:
    """Whether China's calendar (the installed chinesecalendar) knows `year`'s holidays."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def national_days(year: int) -> dict[date, tuple[bool, str | None]]:
    """China's holidays and make-up working days in `year`: day -> (working, English name); for a year the
    calendar does not cover, the days off fixed by date. Ordinary weekends are not listed."""
    if not national_covers(year):
        return {date(year, month, day): (False, name) for (month, day), name in FIXED_DAYS_OFF.items()}
    days: dict[date, tuple[bool, str | None]] = {}
    for day, name in chinese_calendar.holidays.items():
        if day.year == year:
            days[day] = (False, name)
    for day, name in chinese_calendar.workdays.items():
        if day.year == year and day.weekday() >= 5:
            days[day] = (True, name)
    return days


def unknown_holidays(org: Organisation, year: int) -> list[str]:
    """The movable holidays of `year` (English names, as `HOLIDAY_NAMES` has them) that neither China's
    calendar as installed nor the department knows: none for a year the calendar covers, or for a department
    that does not follow it; else each one in whose days the department marked no day off."""
    if setting(org, "calendar") != "CN" or national_covers(year):
        return []
    marked = [day for day, own in org.calendar_days.items() if day.year == year and not own.working]
    return [name for name, (first, last) in MOVABLE_HOLIDAYS.items()
            if not any(date(year, *first) <= day <= date(year, *last) for day in marked)]


def workday_before(org: Organisation, day: date) -> date:
    """The last working day before `day` (looking at most 60 days back): when to remind of a deadline, so
    that the reminder is not held back past it by the days off in between."""
    for _ in range(60):
        day -= timedelta(days=1)
        if is_workday(org, day):
            break
    return day


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet(org: Organisation, when: datetime) -> bool:
    """Outside working hours: in the quiet hours, or on a day off."""
    local = when.astimezone(ZoneInfo(org.timezone))
    start, end = _clock(setting(org, "quiet_start")), _clock(setting(org, "quiet_end"))
    in_quiet = local.time() >= start or local.time() < end if start > end else start <= local.time() < end
    return in_quiet or not is_workday(org, local.date())


def workday_on_or_after(org: Organisation, day: date) -> date:
    """`day` if it is a working day, else the next one (looking at most 60 days ahead)."""
    for _ in range(60):
        if is_workday(org, day):
            break
        day += timedelta(days=1)
    return day


def next_working_morning(org: Organisation, when: datetime) -> datetime:
    """When a message held back at `when` may go: the end of the quiet hours on a working day."""
    tz = ZoneInfo(org.timezone)
    local = when.astimezone(tz)
    end = _clock(setting(org, "quiet_end"))
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(workday_on_or_after(org, day), end, tzinfo=tz)


def deliver_at(org: Organisation, when: datetime, urgent: bool = False) -> datetime:
    """Urgent messages go at once; others wait for working hours."""
    if urgent or not quiet(org, when):
        return when
    return next_working_morning(org, when)
