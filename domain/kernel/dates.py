"""Natural dates in English and Chinese (`tomorrow`, `next friday`, `下周三`, `12月1日`) and durations."""
from __future__ import annotations

import re
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, NO_YEAR

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "日": 7, "天": 7, "末": 6}
_CN_NUM = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1_000}
_CN_SECTIONS = {"万": 10_000, "亿": 100_000_000}
_RELATIVE = {
    "today": 0, "tomorrow": 1, "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "後天": 2,
    "大后天": 3, "yesterday": -1, "昨天": -1,
}
_WEEK = re.compile(r"^(下下|下|本|这|這|上)?(?:个)?(?:周|星期|礼拜|禮拜)([一二三四五六日天末1-7])$")
_MONTH_DAY = re.compile(r"^(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?$")
_MONTH_DAY_DIGITS = re.compile(r"^()(\d{1,2})[-/](\d{1,2})$")  # 03-05, 3/5: a month and day, no year
_AFTER = re.compile(r"^(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(天|日|周|星期|个月|個月)\s*(?:后|後|以后|之后)$")
_PLUS = re.compile(r"^\+?(\d{1,3})\s*([dwm])$", re.I)
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DURATION = re.compile(r"^(\d{1,4})\s*(d|day|days|w|wk|week|weeks|m|month|months|天|日|周|星期|个月|個月|月)?$", re.I)



def cn_number(text: str) -> int | None:
    """A whole number written in Chinese numerals — 五十万, 一千二百万, 一亿五千万, 十五 — or None. A digit
    straight after a unit counts in the next unit down, as people say it: 三千五 is 3500, 两万五 25000.
    Arabic digits are read as they are."""
    if text.isdecimal():
        return int(text)
    if not text or any(ch not in _CN_NUM and ch not in _CN_UNITS and ch not in _CN_SECTIONS for ch in text):
        return None
    total = section = 0
    digit: int | None = None
    last_unit = 0  # the unit just passed, when a digit follows it directly
    for ch in text:
        if ch in _CN_NUM:
            if digit is not None:
                return None  # two digits in a row (一二) is not a number
            digit = _CN_NUM[ch]
            if digit == 0:
                last_unit, digit = 0, None
            continue
        if ch in _CN_UNITS:
            if digit is None and not (ch == "十" and section == 0 and total == 0):
                return None  # a unit needs its digit, except a leading 十 (十五 = 15)
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            last_unit, digit = _CN_UNITS[ch], None
        else:
            if digit is None and section == 0:
                return None  # 万 or 亿 with nothing before it
            section += digit or 0
            total += section * _CN_SECTIONS[ch]
            last_unit, section, digit = _CN_SECTIONS[ch], 0, None
    if digit is not None:
        section += digit * (last_unit // 10 if last_unit >= 10 else 1)
    return total + section


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError("date value out of range")
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _bad(text: str) -> Invalid:
    return Invalid(
        N_("Cannot read '{text}' as a date. Try 2026-12-01, tomorrow, next friday, 下周三 or 12月1日."),
        text=text,
    )


EARLIEST = date(1900, 1, 1)
YEARS_AHEAD = 10


def latest_day(today: date) -> date:
    """The furthest day ahead bizbot plans with (a follow-up, a deadline, a contract's term): ten years on."""
    try:
        return _add_months(today, 12 * YEARS_AHEAD)
    except OverflowError:
        return date.max


class TooFar(Invalid):
    """A date read, but not one bizbot plans with (before 1900, or more than ten years ahead)."""


def _too_far(text: str, today: date) -> TooFar:
    return TooFar(N_("'{text}' is too far away: give a day between {earliest} and {latest}."),
                   text=text, earliest=EARLIEST, latest=latest_day(today))


def in_range(day: date, today: date, text: str | None = None) -> date:
    """`day` if it lies between 1900 and ten years from today; else a refusal that says which days do."""
    if EARLIEST <= day <= latest_day(today):
        return day
    raise _too_far(day.isoformat() if text is None else text, today)


def check_span(start: date | None, end: date | None) -> None:
    """A span of days given the wrong way round is refused (when both ends are given)."""
    if start is not None and end is not None and end < start:
        raise Invalid(N_("The end {end} is before the start {start}."), end=end.isoformat(), start=start.isoformat())




def parse_birthday(text: str, today: date) -> date:
    """A birthday or anniversary: a month and day without a year (`3月5日`, `03-05`) is kept in NO_YEAR,
    not moved to its next occurrence (it recurs; the archive shows it without a year); a whole date
    (`1985-03-05`) is kept as it is, in the past or not."""
    raw = text.strip()
    m = _MONTH_DAY.match(raw) or _MONTH_DAY_DIGITS.match(raw)
    if m and not m[1]:
        try:
            return date(NO_YEAR, int(m[2]), int(m[3]))
        except ValueError:
            raise _bad(text) from None
    return parse_date(text, today)


def parse_date(text: str, today: date) -> date:
    """Read a date relative to today (the reader's local day); future dates are preferred. A day before 1900
    or more than ten years ahead is refused: nothing bizbot plans lies there, and arithmetic on it (a cadence
    added, the day after an export's last) could leave the calendar."""
    try:
        day = _read_date(text, today)
    except OverflowError:
        raise _too_far(text, today) from None
    return in_range(day, today, text)


def _read_date(text: str, today: date) -> date:
    raw = text.strip()
    low = raw.lower()
    if not raw or len(raw) > 40:
        raise _bad(text)
    if low in _RELATIVE:
        return today + timedelta(days=_RELATIVE[low])
    if m := _ISO.match(raw):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise _bad(text) from None
    if m := _PLUS.match(raw):
        n, unit = int(m[1]), m[2].lower()
        return _add_months(today, n) if unit == "m" else today + timedelta(days=n * (7 if unit == "w" else 1))
    if m := _WEEK.match(raw):
        which, day = m[1], m[2]
        weekday = (int(day) if day.isdigit() else _CN_DIGITS[day]) - 1
        monday = today - timedelta(days=today.weekday())
        offset = {"下": 7, "下下": 14, "上": -7}.get(which or "", 0)
        result = monday + timedelta(days=offset + weekday)
        if which is None and result < today:
            result += timedelta(days=7)
        return result
    if m := _MONTH_DAY.match(raw):
        year = int(m[1]) if m[1] else today.year
        try:
            result = date(year, int(m[2]), int(m[3]))
        except ValueError:
            raise _bad(text) from None
        if not m[1] and result < today:
            result = _next_occurrence(result)
        return result
    if m := _AFTER.match(raw):
        count, unit = cn_number(m[1]), m[2]
        if count is None:  # 三三天后
            raise _bad(text)
        if unit in ("个月", "個月"):
            return _add_months(today, count)
        return today + timedelta(days=count * (7 if unit in ("周", "星期") else 1))
    return _dateparser(raw, today)


def _next_occurrence(day: date) -> date:
    """The same month and day in a later year: the next year, or for 29 February the next leap year."""
    for year in range(day.year + 1, day.year + 9):
        try:
            return day.replace(year=year)
        except ValueError:
            continue
    raise OverflowError("date value out of range")


def _dateparser(raw: str, today: date) -> date:
    import dateparser

    try:
        parsed = dateparser.parse(
            raw,
            languages=["en", "zh"],
            settings={
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": datetime.combine(today, datetime.min.time()),
                "STRICT_PARSING": False,
            },
        )
    except (ValueError, OverflowError, TypeError, KeyError, IndexError, AttributeError):
        parsed = None
    if parsed is None or not (1900 <= parsed.year <= 2200):
        raise _bad(raw)
    return parsed.date()


def parse_days(text: str) -> int:
    """A cadence such as `30d`, `4w`, `2m`, `30天`, `30` (days), as a number of days."""
    raw = text.strip()
    m = _DURATION.match(raw)
    if not m:
        raise Invalid(N_("Cannot read '{text}' as a number of days. Try 30d, 4w or 2m."), text=text)
    n, unit = int(m[1]), (m[2] or "d").lower()
    days = n * (7 if unit in ("w", "wk", "week", "weeks", "周", "星期") else 30 if unit in (
        "m", "month", "months", "个月", "個月", "月") else 1)
    if not 1 <= days <= 3660:
        raise Invalid(N_("A cadence must be between 1 day and 10 years."))
    return days


_DELTA = re.compile(r"^(\d{1,5})\s*(m|min|h|d|w)$", re.I)


def parse_delta(text: str) -> timedelta:
    """A span of time for moving a clock: `90m`, `2h`, `3d`, `1w`."""
    m = _DELTA.match(text.strip())
    if not m:
        raise Invalid(N_("Cannot read '{text}' as a duration. Try 2h, 3d or 1w."), text=text)
    n, unit = int(m[1]), m[2].lower()
    return {"m": timedelta(minutes=n), "min": timedelta(minutes=n), "h": timedelta(hours=n),
            "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
