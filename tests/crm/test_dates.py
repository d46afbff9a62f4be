"""Dates as Chinese and English speakers type them: read whole, or refused with examples — never guessed. A date
that means "next" is refused once it has passed, in every command alike; a visit can be recorded for an
earlier day (补录)."""
from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta

import cn2an
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from domain.kernel.dates import Past, parse_date, parse_next_date
from domain.kernel.errors import Invalid
from domain.store.models import Callback, Lead, Visit

MONDAY = date(2026, 11, 23)
TODAY = st.dates(min_value=date(2001, 1, 1), max_value=date(2090, 12, 31))


@pytest.mark.fast
@pytest.mark.parametrize(("text", "expected"), [
    ("12.15", date(2026, 12, 15)),
    ("12/15", date(2026, 12, 15)),
    ("12-15", date(2026, 12, 15)),
    ("１２．１５", date(2026, 12, 15)),              # typed with a full-width input method
    ("3.5", date(2027, 3, 5)),                       # the next 5 March
    ("12 月 15 日", date(2026, 12, 15)),
    ("十二月十五日", date(2026, 12, 15)),
    ("二〇二七年一月五日", date(2027, 1, 5)),
    ("20261215", date(2026, 12, 15)),
    ("月底", date(2026, 11, 30)),
    ("本月底", date(2026, 11, 30)),
    ("下个月底", date(2026, 12, 31)),
    ("月初", date(2026, 12, 1)),                     # early next month: this month's start has passed
    ("下月初", date(2026, 12, 1)),
    ("年底", date(2026, 12, 31)),
    ("下个月5号", date(2026, 12, 5)),
    ("下个月五号", date(2026, 12, 5)),
    ("下月15日", date(2026, 12, 15)),
    ("25号", date(2026, 11, 25)),
    ("20号", date(2026, 12, 20)),                    # the 20th has passed this month
    ("十五日", date(2026, 12, 15)),
    ("周五前", date(2026, 11, 27)),
    ("下周五前", date(2026, 12, 4)),
    ("星期天", date(2026, 11, 29)),
    ("两周后", date(2026, 12, 7)),
    ("一个月后", date(2026, 12, 23)),
    ("十天后", date(2026, 12, 3)),
    ("明年1月5号", date(2027, 1, 5)),
    ("in 2 weeks", date(2026, 12, 7)),
    ("next friday", date(2026, 11, 27)),
    ("dec 15", date(2026, 12, 15)),
    ("15 december 2026", date(2026, 12, 15)),
])
def test_the_forms_people_type(text: str, expected: date) -> None:
    assert parse_date(text, MONDAY) == expected


@pytest.mark.fast
@pytest.mark.parametrize("text", [
    "15",            # the 15th? fifteen days? — 15号 says it
    "2",
    "12.15下午",
    "下周",          # a week, not a day: 下周一 says which
    "下个月",
    "next week",
    "december",
    "tomorrow 3pm",
    "15/12",         # day/month is not how bizbot reads dates; it does not guess
    "13.1",
    "下个月31号",     # December has one, but November's next month is… December: 31 is fine; see below
    "三三天后",
    "2月30日",
    "someday",
])
def test_what_cannot_be_read_with_certainty_is_refused_with_examples(text: str) -> None:
    today = date(2026, 1, 10) if text == "下个月31号" else MONDAY   # February has no 31st
    with pytest.raises(Invalid) as caught:
        parse_date(text, today)
    assert "12.15" in caught.value.msgid and "下个月5号" in caught.value.msgid


@pytest.mark.fast
def test_a_date_that_means_next_refuses_the_past_with_the_day_it_read() -> None:
    assert parse_next_date("今天", MONDAY) == MONDAY
    with pytest.raises(Past) as caught:
        parse_next_date("昨天", MONDAY)
    assert caught.value.params["date"] == date(2026, 11, 22) and caught.value.params["text"] == "昨天"
    with pytest.raises(Past):
        parse_next_date("2026-11-01", MONDAY)


# --- properties -------------------------------------------------------------------------------------


MONTH_DAY = st.integers(1, 12).flatmap(lambda m: st.tuples(st.just(m), st.integers(1, monthrange(2023, m)[1])))


@pytest.mark.fast
@given(MONTH_DAY, st.sampled_from(["{m}.{d}", "{m}/{d}", "{m}-{d}", "{m}月{d}日", "{m}月{d}号"]), TODAY)
@settings(max_examples=300, deadline=None)
def test_a_month_and_day_is_that_day_next_time_it_comes(md: tuple[int, int], form: str, today: date) -> None:
    month, day = md
    result = parse_date(form.format(m=month, d=day), today)
    assert (result.month, result.day) == (month, day)
    assert today <= result < today + timedelta(days=366)
    past = parse_date(form.format(m=month, d=day), today, prefer="past")
    assert (past.month, past.day) == (month, day) and today - timedelta(days=366) < past <= today


@pytest.mark.fast
@given(MONTH_DAY, TODAY)
@settings(max_examples=200, deadline=None)
def test_chinese_numerals_read_as_their_digits(md: tuple[int, int], today: date) -> None:
    month, day = md
    words = f"{cn2an.an2cn(month)}月{cn2an.an2cn(day)}日"
    assert parse_date(words, today) == parse_date(f"{month}.{day}", today)


@pytest.mark.fast
@given(st.integers(1, 500), st.sampled_from([("天", 1), ("周", 7), ("星期", 7)]), TODAY)
@settings(max_examples=200, deadline=None)
def test_a_span_later_is_today_plus_the_span_in_digits_or_numerals(n: int, unit: tuple[str, int], today: date) -> None:
    word, days = unit
    expected = today + timedelta(days=n * days)
    assert parse_date(f"{n}{word}后", today) == expected
    assert parse_date(f"{cn2an.an2cn(n)}{word}后", today) == expected


@pytest.mark.fast
@given(st.integers(1, 31), TODAY)
@settings(max_examples=200, deadline=None)
def test_next_months_day_is_in_next_month(day: int, today: date) -> None:
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    try:
        result = parse_date(f"下个月{day}号", today)
    except Invalid:
        assert day > monthrange(first.year, first.month)[1]
        return
    assert result == first.replace(day=day)


@pytest.mark.fast
@given(TODAY)
def test_month_end_and_start(today: date) -> None:
    end = parse_date("月底", today)
    assert end == today.replace(day=monthrange(today.year, today.month)[1]) and end >= today
    start = parse_date("月初", today)
    assert start.day == 1 and today <= start <= today + timedelta(days=31)


@pytest.mark.fast
@given(st.sampled_from("一二三四五六日"), TODAY)
def test_by_a_weekday_is_that_weekday_this_coming_week(day: str, today: date) -> None:
    result = parse_date(f"周{day}前", today)
    assert result == parse_date(f"周{day}", today) and today <= result < today + timedelta(days=7)
    assert result.weekday() == "一二三四五六日".index(day)


@pytest.mark.fast
@given(st.integers(0, 10**6), TODAY)
def test_a_bare_number_is_never_a_date(n: int, today: date) -> None:
    with pytest.raises(Invalid):
        parse_date(str(n), today)


@pytest.mark.fast
@given(st.text(max_size=30), TODAY)
@settings(max_examples=300, deadline=None)
def test_a_next_date_is_today_or_later_or_refused(text: str, today: date) -> None:
    try:
        result = parse_next_date(text, today)
    except Invalid:
        return
    assert result >= today


# --- in the commands -----------------------------------------------------------------------------


def _reminders(text: str) -> list[str]:
    return [line for line in text.splitlines() if "→ @" in line]


def test_a_typed_month_and_day_is_not_read_as_today(bot, app) -> None:
    """下次=12.15 used to be read as today, 12:15, and the callback's reminder went out at once."""
    bot("/customer new Acme")
    out = bot("/visit Acme 备注=介绍方案 下次=12.15")
    assert "Callback CB2 scheduled for Dec 15, 2026" in out, out
    assert _reminders(bot(":advance 1h")) == []
    with app.uow() as uow:
        cb = uow.session.get(Callback, 2)
        assert cb.due_date == date(2026, 12, 15)


def test_a_past_next_date_is_refused_alike_everywhere_and_changes_nothing(bot, app) -> None:
    bot("/customer new Acme", "/team add bob role=sales")
    with app.uow() as uow:
        before = [uow.session.scalar(select(func.count()).select_from(m)) for m in (Lead, Visit, Callback)]
    for line in ("/lead new Acme next=昨天", "/visit Acme note=x next=昨天", "/visit Acme note=x 下次=上周五",
                 '/action bob "send the price list" due=昨天', "/delegate bob until=昨天"):
        out = bot(line)
        assert out.startswith("⚠") and "which has passed" in out and "Nov 22, 2026" in out or "上周五" in line, \
            (line, out)
    with app.uow() as uow:
        assert [uow.session.scalar(select(func.count()).select_from(m)) for m in (Lead, Visit, Callback)] == before
    out = bot("/settings lang zh", "/lead new Acme next=昨天")
    assert "已经过去了" in out and "2026年11月22日" in out and "passed" not in out


def test_a_visit_recorded_afterwards_keeps_its_own_day(bot, app) -> None:
    bot("/customer new Acme")
    out = bot('/visit Acme note="补录上周的拜访" 日期=上周五 下次=12.15')
    assert "Visit V1 to Acme recorded" in out and "It is recorded on Nov 20, 2026." in out
    assert "Callback CB2 scheduled for Dec 15, 2026" in out
    out = bot('/visit Acme note=x date=11.20')                    # the last 20 November, not the next
    assert "It is recorded on Nov 20, 2026." in out
    with app.uow() as uow:
        assert [v.at.date() for v in uow.session.scalars(select(Visit).order_by(Visit.id))] == [date(2026, 11, 20)] * 2
    assert "V1 · Nov 20, 2026" in bot("/customer show C1")
    out = bot("/visit Acme note=x date=明天")
    assert out.startswith("⚠") and "has not come yet" in out
    out = bot("/visit Acme note=x date=今天")
    assert "It is recorded on" not in out
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Visit)) == 3
