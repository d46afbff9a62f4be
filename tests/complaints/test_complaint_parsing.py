"""The complaint module's parsers and working-time arithmetic — examples and properties."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.complaints.cases import add_working, after, parse_span
from domain.delivery.calendar import is_workday
from domain.kernel.errors import Invalid
from domain.kernel.periods import parse_period
from domain.store.models import Organisation

pytestmark = pytest.mark.fast  # no database: periods, spans and SLA arithmetic

MONDAY = date(2026, 11, 23)
SH = ZoneInfo("Asia/Shanghai")
ORG = Organisation(timezone="Asia/Shanghai", settings={})


@pytest.mark.parametrize(("text", "first", "end"), [
    ("week", date(2026, 11, 23), date(2026, 11, 30)),
    ("last week", date(2026, 11, 16), date(2026, 11, 23)),
    ("month", date(2026, 11, 1), date(2026, 12, 1)),
    ("上月", date(2026, 10, 1), date(2026, 11, 1)),
    ("quarter", date(2026, 10, 1), date(2027, 1, 1)),
    ("lastquarter", date(2026, 7, 1), date(2026, 10, 1)),
    ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
    ("2026年12月", date(2026, 12, 1), date(2027, 1, 1)),
    ("2025-Q4", date(2025, 10, 1), date(2026, 1, 1)),
    ("2025", date(2025, 1, 1), date(2026, 1, 1)),
    ("30d", date(2026, 10, 25), date(2026, 11, 24)),
    (None, date(2026, 11, 1), date(2026, 12, 1)),
])
def test_period_examples(text: str | None, first: date, end: date) -> None:
    assert parse_period(text, MONDAY) == (first, end)


@pytest.mark.parametrize("text", ["someday", "2026-13", "0d", "999d", "1800", "q5", ""])
def test_bad_periods_say_so(text: str) -> None:
    if text == "":
        assert parse_period(text, MONDAY) == (date(2026, 11, 1), date(2026, 12, 1))
        return
    with pytest.raises(Invalid):
        parse_period(text, MONDAY)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)))
def test_any_period_text_is_a_period_or_a_clear_error(text: str, today: date) -> None:
    try:
        first, end = parse_period(text, today)
    except Invalid as exc:
        assert exc.msgid and exc.params["text"] is not None
        return
    assert first < end and (end - first).days <= 366


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2150, 12, 31)),
       st.sampled_from(["week", "lastweek", "month", "lastmonth", "quarter", "lastquarter", "year", "lastyear"]))
def test_named_periods_contain_or_precede_today(today: date, name: str) -> None:
    first, end = parse_period(name, today)
    if name.startswith("last"):
        assert end <= today
    else:
        assert first <= today < end


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_any_span_text_is_a_span_or_a_clear_error(text: str) -> None:
    try:
        n, unit = parse_span(text)
    except Invalid:
        return
    assert n > 0 and unit in ("m", "h", "d", "w")


def test_span_examples() -> None:
    assert parse_span("90min") == (90, "m") and parse_span(" 4H ") == (4, "h") and parse_span("2d") == (2, "d")
    for bad in ("0h", "4", "h", "1y", "-2h"):
        with pytest.raises(Invalid):
            parse_span(bad)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31)),
       st.integers(min_value=1, max_value=60 * 9 * 15))
def test_working_time_lands_in_working_hours_and_grows_with_the_span(start: datetime, minutes: int) -> None:
    begin = start.replace(tzinfo=SH)
    end = add_working(ORG, begin, timedelta(minutes=minutes))
    local = end.astimezone(SH)
    assert end > begin.astimezone(UTC)
    assert is_workday(ORG, local.date()) and time(9) < local.time() <= time(18)
    assert add_working(ORG, begin, timedelta(minutes=minutes + 1)) > end


def test_calendar_and_working_spans() -> None:
    friday_five = datetime(2026, 11, 27, 17, 0, tzinfo=SH)
    assert after(ORG, friday_five, "2h", working=False) == datetime(2026, 11, 27, 19, 0, tzinfo=SH)
    assert after(ORG, friday_five, "2h", working=True) == datetime(2026, 11, 30, 10, 0, tzinfo=SH)
    assert after(ORG, friday_five, "1d", working=True) == datetime(2026, 11, 30, 17, 0, tzinfo=SH)
