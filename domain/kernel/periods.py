"""Periods people name for figures: `week`, `lastmonth`, `2026-11`, `2026-Q4`, `2026年第四季度`, `30d`, `本月`, …

A period is a run of local days [first, end_day), as domain.reporting.figures.Scope reads it.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_

_ALIASES = {
    "week": "week", "thisweek": "week", "本周": "week", "这周": "week",
    "lastweek": "lastweek", "上周": "lastweek",
    "month": "month", "thismonth": "month", "本月": "month", "这个月": "month",
    "lastmonth": "lastmonth", "上月": "lastmonth", "上个月": "lastmonth",
    "quarter": "quarter", "thisquarter": "quarter", "本季度": "quarter",
    "lastquarter": "lastquarter", "上季度": "lastquarter",
    "year": "year", "thisyear": "year", "今年": "year", "本年": "year",
    "lastyear": "lastyear", "去年": "lastyear",
}
_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")
_QUARTER = re.compile(r"^(\d{4})\s*(?:[-/ ]?|年)\s*(?:q([1-4])|第?([1-4一二三四])\s*季度?)$", re.I)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
_YEAR = re.compile(r"^(\d{4})年?$")
_DAYS = re.compile(r"^(\d{1,3})\s*(d|天)$", re.I)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _bad(text: str) -> Invalid:
    return Invalid(N_("Cannot read '{text}' as a period. Try week, lastweek, month, lastmonth, quarter, year, "
                      "2026-11, 2026-Q4 or 30d."), text=text)


def parse_period(text: str | None, today: date) -> tuple[date, date]:
    """The local days [first, end_day) a period names; the default is this month."""
    raw = (text or "month").strip()
    key = re.sub(r"[\s_\-]", "", raw.lower())
    which = _ALIASES.get(key)
    if which in ("week", "lastweek"):
        monday = today - timedelta(days=today.weekday()) - timedelta(days=7 if which == "lastweek" else 0)
        return monday, monday + timedelta(days=7)
    if which in ("month", "lastmonth"):
        first = _month_start(today.year, today.month - (1 if which == "lastmonth" else 0))
        return first, _month_start(first.year, first.month + 1)
    if which in ("quarter", "lastquarter"):
        q = (today.month - 1) // 3 - (1 if which == "lastquarter" else 0)
        first = _month_start(today.year, q * 3 + 1)
        return first, _month_start(first.year, first.month + 3)
    if which in ("year", "lastyear"):
        year = today.year - (1 if which == "lastyear" else 0)
        return date(year, 1, 1), date(year + 1, 1, 1)
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not (1 <= month <= 12 and 1900 <= year <= 2200):
            raise _bad(raw)
        first = date(year, month, 1)
        return first, _month_start(year, month + 1)
    if m := _QUARTER.match(raw):
        digit = m[2] or m[3]
        year, q = int(m[1]), int(digit) if digit.isdecimal() else _CN_DIGITS[digit]
        if not 1900 <= year <= 2200:
            raise _bad(raw)
        first = date(year, (q - 1) * 3 + 1, 1)
        return first, _month_start(year, first.month + 3)
    if m := _YEAR.match(raw):
        year = int(m[1])
        if not 1900 <= year <= 2200:
            raise _bad(raw)
        return date(year, 1, 1), date(year + 1, 1, 1)
    if m := _DAYS.match(raw):
        n = int(m[1])
        if not 1 <= n <= 366:
            raise _bad(raw)
        return today - timedelta(days=n - 1), today + timedelta(days=1)
    raise _bad(raw)
