"""Natural dates in English and Chinese (`tomorrow`, `next friday`, `12.15`, `下周三`, `月底`, `下个月5号`) and
durations. A date is read whole or refused with examples of what works: nothing is guessed."""
from __future__ import annotations

import re
import unicodedata
import warnings
from calendar import monthrange
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from typing import Literal

import cn2an

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, NO_YEAR

_CN_NUM = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1_000}
_CN_SECTIONS = {"万": 10_000, "亿": 100_000_000}
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
        N_("Cannot read '{text}' as a date. Try 2026-12-15, 12.15, 15号, tomorrow, next friday, 下周五, 月底, "
           "下个月5号 or 两周后."),
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


class Past(Invalid):
    """A date read, but one that has passed where a day to come is meant (a next step, a deadline)."""


def _too_far(text: str, today: date) -> TooFar:
    return TooFar(N_("'{text}' is too far away: give a day between {earliest} and {latest}."),
                   text=text, earliest=EARLIEST, latest=latest_day(today))


def in_range(day: date, today: date, text: str | None = None) -> date:
    """`day` if it lies between 1900 and ten years from today; else a refusal that says which days do."""
    if EARLIEST <= day <= latest_day(today):
        return day
    raise _too_far(day.isoformat() if text is None else text, today)


def not_past(day: date, today: date, text: str | None = None) -> date:
    """`day` if it is today or later: where a date means "next" (a next step, a follow-up, a deadline) a day
    that has passed is refused, with the day it was read as."""
    if day < today:
        raise Past(N_("'{text}' is {date}, which has passed: give today or a later day, e.g. tomorrow, next friday or "
                      "{example}."), text=day.isoformat() if text is None else text, date=day,
                   example=f"{(today + timedelta(days=7)).month}.{(today + timedelta(days=7)).day}")
    return day


def not_future(day: date, today: date, text: str | None = None) -> date:
    """`day` if it is today or earlier: something that happened (a visit recorded afterwards, 补录) did not
    happen on a day to come."""
    if day > today:
        raise Invalid(N_("'{text}' is {date}, which has not come yet: what happened is recorded on or after its "
                         "day."),
                      text=day.isoformat() if text is None else text, date=day)
    return day


def check_span(start: date | None, end: date | None) -> None:
    """A span of days given the wrong way round is refused (when both ends are given)."""
    if start is not None and end is not None and end < start:
        raise Invalid(N_("The end {end} is before the start {start}."), end=end.isoformat(), start=start.isoformat())


def parse_birthday(text: str, today: date) -> date:
    """A birthday or anniversary: a month and day without a year (`3月5日`, `03-05`) is kept in NO_YEAR,
    not moved to its next occurrence (it recurs; the archive shows it without a year); a whole date
    (`1985-03-05`) is kept as it is, in the past or not."""
    m = _MONTH_DAY.match(_normal(text))
    if m and not m["rel"]:
        try:
            return date(NO_YEAR, int(m["m"]), int(m["d"]))
        except ValueError:
            raise _bad(text) from None
    return parse_date(text, today)


Prefer = Literal["future", "past", "nearest"]


def parse_date(text: str, today: date, prefer: Prefer = "future") -> date:
    """Read a date relative to today (the reader's local day), or refuse it: nothing is guessed. A date
    given without its year or month (12.15, 15号, 周五) is its next occurrence (`prefer="past"`: its last,
    for something that happened; `"nearest"`: the closer one, for a span of days to report on). A day
    before 1900 or more than ten years ahead is refused: nothing bizbot plans lies there, and arithmetic on
    it (a cadence added, the day after an export's last) could leave the calendar."""
    try:
        day = _read_date(text, today, prefer)
    except OverflowError:
        raise _too_far(text, today) from None
    return in_range(day, today, text)


def parse_next_date(text: str, today: date) -> date:
    """A date that means "next" (a next step, a follow-up, a deadline): as `parse_date`, and a day that has
    passed is refused with the reason."""
    return not_past(parse_date(text, today), today, text)


# --- the forms people type ----------------------------------------------------------------------------
#
# Chinese numerals become digits first (cn2an: 下个月五号 → 下个月5号, 十二月十五日 → 12月15日, 两周后 → 2周后);
# then each form below is read whole, or the text is refused. English words go to dateparser, and only a
# single whole day it reads from words is taken (not a time: `12.15` is not a quarter past noon today).

_CN_NUMERAL = re.compile("[零〇一二两三四五六七八九十廿卅百千]")
_CJK = re.compile(r"[\u3400-\u9fff]")
# numerals read digit by digit are a year (二〇二六年); elsewhere (三三天后) they are no number, and stay unread
_DIGIT_RUN = re.compile("[一二两三四五六七八九][零〇一二两三四五六七八九]+(?![零〇一二两三四五六七八九]*年)")
_SEP = r"[-/.]"
_ISO = re.compile(rf"^(?P<y>\d{{4}})(?:{_SEP}|年)(?P<m>\d{{1,2}})(?:{_SEP}|月)(?P<d>\d{{1,2}})[日号]?$")
_COMPACT = re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$")  # 20261215
_MONTH_DAY = re.compile(rf"^(?P<rel>今年|明年|去年)?(?P<m>\d{{1,2}})(?:月|{_SEP})(?P<d>\d{{1,2}})[日号]?$")
_MONTH_WORDS = {"本": 0, "这个": 0, "这": 0, "下个": 1, "下": 1, "下下个": 2, "下下": 2, "上个": -1, "上": -1}
_DAY_OF_MONTH = re.compile(r"^(?P<rel>本月|这个月|这月|下下个月|下下月|下个月|下月|上个月|上月)?(?P<d>\d{1,2})[日号]$")
_MONTH_EDGE = re.compile(r"^(?P<rel>下下个|下下|下个|下|这个|这|本|上个|上)?月(?P<edge>底|末|初)$")
_YEAR_END = re.compile(r"^(?P<rel>今|明|去)?年(?:底|末)$")
_WEEKDAY = re.compile(r"^(?P<rel>下下|下|本|这|這|上)?(?:个)?(?:周|星期|礼拜|禮拜)(?P<d>[1-7日天末])"
                      r"(?:前|之前|以前)?$")
_SPAN = re.compile(r"^(?P<n>\d{1,3})(?:个|個)?(?P<unit>天|日|周|星期|礼拜|月|年)(?P<dir>后|後|以后|之后|前|以前|之前)$")
_IN_SPAN = re.compile(r"^(?:in\s+(?P<n>\d{1,3})\s*(?P<unit>day|week|month|year)s?"
                      r"|(?P<n2>\d{1,3})\s*(?P<unit2>day|week|month|year)s?\s+(?P<dir>ago|later|from now))$")
_PLUS = re.compile(r"^\+?(\d{1,3})\s*([dwm])$")
_RELATIVE = {
    "today": 0, "tomorrow": 1, "yesterday": -1, "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "後天": 2,
    "大后天": 3, "昨天": -1, "昨日": -1, "前天": -2,
}
_WEEKDAY_NUMBER = {"日": 7, "天": 7, "末": 6}
_YEAR_WORDS = {None: 0, "今年": 0, "今": 0, "明年": 1, "明": 1, "去年": -1, "去": -1}


def _normal(text: str) -> str:
    """The text as the forms read it: full-width characters made plain (１２．１５ → 12.15), lower case, spaces
    only between words, and Chinese numerals as digits."""
    raw = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).strip().lower())
    if _CJK.search(raw):
        raw = re.sub(r"\s+(?=[\u3400-\u9fff\d])|(?<=[\u3400-\u9fff\d])\s+", "", raw)
    if _CN_NUMERAL.search(raw) and not _DIGIT_RUN.search(raw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cn2an warns of each part it leaves as it was
            try:
                raw = cn2an.transform(raw.replace("两", "二"), "cn2an")
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                pass
    return raw


def _month(today: date, months: int) -> date:
    """The first day of the month `months` after today's."""
    return _add_months(today.replace(day=1), months)


def _last_day(first: date) -> date:
    return first.replace(day=monthrange(first.year, first.month)[1])


def _pick(candidates: list[date], today: date, prefer: Prefer) -> date:
    """Of the days a text without a year (or month) can mean, the next one, the last one or the closest."""
    if prefer == "future":
        return min((d for d in candidates if d >= today), default=max(candidates))
    if prefer == "past":
        return max((d for d in candidates if d <= today), default=min(candidates))
    return min(candidates, key=lambda d: (abs((d - today).days), d < today))


def _day(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _bad(text) from None


def _read_date(text: str, today: date, prefer: Prefer) -> date:
    raw = _normal(text)
    if not raw or len(raw) > 40:
        raise _bad(text)
    if raw in _RELATIVE:
        return today + timedelta(days=_RELATIVE[raw])
    if m := _ISO.match(raw) or _COMPACT.match(raw):
        return _day(int(m["y"]), int(m["m"]), int(m["d"]), text)
    if m := _MONTH_DAY.match(raw):
        month, day = int(m["m"]), int(m["d"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise _bad(text)  # 15/12 is not month/day; bizbot does not guess it means 15 December
        if m["rel"]:
            return _day(today.year + _YEAR_WORDS[m["rel"]], month, day, text)
        # the years around (for 29 February, the leap years around)
        candidates = [d for k in range(-4, 5) if (d := _yearly(today.year + k, month, day)) is not None]
        if not candidates:
            raise _bad(text)
        return _pick(candidates, today, prefer)
    if m := _DAY_OF_MONTH.match(raw):
        day = int(m["d"])
        if m["rel"]:
            first = _month(today, _DAY_MONTHS[m["rel"]])
            return _day(first.year, first.month, day, text)
        candidates = [d for k in (-1, 0, 1, 2) if (d := _in_month(_month(today, k), day)) is not None]
        if not candidates:
            raise _bad(text)
        return _pick(candidates, today, prefer)
    if m := _MONTH_EDGE.match(raw):
        rel = m["rel"]
        if m["edge"] == "初":
            if rel is None:  # 月初 on the 10th is early next month (on the 1st: today)
                return _pick([_month(today, 0), _month(today, 1)], today, prefer)
            return _month(today, _MONTH_WORDS[rel])
        if rel is None:
            return _last_day(_month(today, 0))
        return _last_day(_month(today, _MONTH_WORDS[rel]))
    if m := _YEAR_END.match(raw):
        return date(today.year + _YEAR_WORDS[m["rel"]], 12, 31)
    if m := _WEEKDAY.match(raw):
        which, named = m["rel"], m["d"]
        weekday = (int(named) if named.isdecimal() else _WEEKDAY_NUMBER[named]) - 1
        monday = today - timedelta(days=today.weekday())
        offset = {"下": 7, "下下": 14, "上": -7}.get(which or "", 0)
        result = monday + timedelta(days=offset + weekday)
        if which is None:
            result = _pick([result - timedelta(days=7), result, result + timedelta(days=7)], today, prefer)
        return result
    if m := _SPAN.match(raw):
        n = int(m["n"]) * (-1 if "前" in m["dir"] else 1)
        return _shift(today, n, {"天": "d", "日": "d", "周": "w", "星期": "w", "礼拜": "w", "月": "m",
                                 "年": "y"}[m["unit"]])
    if m := _IN_SPAN.match(raw):
        n = int(m["n"] or m["n2"]) * (-1 if m["dir"] == "ago" else 1)
        return _shift(today, n, (m["unit"] or m["unit2"])[0])
    if m := _PLUS.match(raw):
        return _shift(today, int(m[1]), m[2])
    if _CJK.search(raw) or not re.search(r"[a-z]", raw):
        raise _bad(text)  # nothing else in Chinese, and no bare numbers (15? 12.15?): bizbot does not guess
    return _dateparser(raw, text, today, prefer)


_DAY_MONTHS = {"本月": 0, "这个月": 0, "这月": 0, "下个月": 1, "下月": 1, "下下个月": 2, "下下月": 2, "上个月": -1,
               "上月": -1}


def _in_month(first: date, day: int) -> date | None:
    try:
        return first.replace(day=day)
    except ValueError:
        return None


def _yearly(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None



def _shift(today: date, n: int, unit: str) -> date:
    if unit == "m":
        return _add_months(today, n)
    if unit == "y":
        return _add_months(today, 12 * n)
    return today + timedelta(days=n * (7 if unit == "w" else 1))


def _dateparser(raw: str, text: str, today: date, prefer: Prefer) -> date:
    """English words (next friday, dec 15, 15 december 2026) through dateparser: taken only when it reads
    one whole day — not a week or a month (next week, december), and not a time of day."""
    import dateparser  # heavy (~60 ms to import): loaded the first time a date is written in English words

    parser = dateparser.date.DateDataParser(languages=["en"], settings={
        "PREFER_DATES_FROM": "past" if prefer == "past" else "future",
        "RELATIVE_BASE": datetime.combine(today, datetime.min.time()),
        "RETURN_TIME_AS_PERIOD": True,
        "STRICT_PARSING": False,
    })
    try:
        found = parser.get_date_data(raw)
    except (ValueError, OverflowError, TypeError, KeyError, IndexError, AttributeError):
        raise _bad(text) from None
    if found is None or found.date_obj is None or found.period != "day" or not (1900 <= found.date_obj.year <= 2200):
        raise _bad(text)
    return found.date_obj.date()


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
