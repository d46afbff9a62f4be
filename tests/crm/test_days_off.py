"""Days off move deadlines: a deadline or window that falls on a day off moves to the next working day, its
reminder comes on the working day before it, non-urgent reminders wait for a working day, and the days off
the law fixes by date count even in a year whose holiday schedule bizbot does not know yet. The calendar says
exactly what it knows.

2099 stands for a year the installed chinesecalendar does not cover (so these tests hold whatever release of it
is installed); 2026 is one it covers (National Day 1–7 October, 10 October a make-up working Saturday)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.appraisals.reviews import period_of, window
from domain.delivery.calendar import (
    holiday_name,
    is_workday,
    national_covers,
    unknown_holidays,
    workday_before,
    workday_on_or_after,
)
from domain.store.models import Callback, DueItem, Organisation, Review

SH = ZoneInfo("Asia/Shanghai")


def _org(**settings: str) -> Organisation:
    return Organisation(timezone="Asia/Shanghai", settings=settings)


def _reminders(text: str, who: str | None = None) -> list[str]:
    return [line for line in text.splitlines() if "→ @" in line and (who is None or f"→ @{who}:" in line)]


@pytest.fixture
def bot(bot):
    """The console driver, with babel's thin and narrow no-break spaces read as spaces."""
    return lambda *lines: bot(*lines).replace("\u2009", " ").replace("\u202f", " ")


def test_the_days_off_fixed_by_law_count_in_a_year_not_yet_published() -> None:
    assert not national_covers(2099)
    org = _org()
    fixed = [date(2099, 1, 1), date(2099, 5, 1), date(2099, 5, 2), date(2099, 10, 1), date(2099, 10, 2),
             date(2099, 10, 3)]
    assert [day.weekday() < 5 for day in fixed] == [True, True, False, True, True, False]  # most are weekdays
    assert not any(is_workday(org, day) for day in fixed)
    assert is_workday(org, date(2099, 10, 5)) and is_workday(org, date(2099, 1, 2))       # the days around work
    assert [holiday_name(org, day) for day in fixed] == ["New Year's Day"] + ["Labour Day"] * 2 + ["National Day"] * 3
    assert is_workday(_org(calendar="none"), date(2099, 1, 1))                           # not following China's
    assert workday_on_or_after(org, date(2099, 10, 1)) == date(2099, 10, 5)               # Thu–Sat off, then Sunday
    assert workday_before(org, date(2099, 10, 5)) == date(2099, 9, 30)


def test_a_deadline_on_a_day_off_moves_and_its_reminder_comes_before_it() -> None:
    org = _org()
    # September's self-review was due on 5 October, in the National Day week: now on Thursday 8 October
    sep = window(org, period_of("monthly", date(2026, 9, 15)))
    assert (sep.self_due, sep.closes) == (date(2026, 10, 8), date(2026, 10, 10))          # 10 Oct: a make-up Saturday
    assert workday_before(org, sep.self_due) == date(2026, 9, 30)
    # November's was due on Saturday 5 December: now Monday the 7th
    assert window(org, period_of("monthly", date(2026, 11, 5))).self_due == date(2026, 12, 7)
    # the annual review of 2098 does not open on New Year's Day 2099 (a Thursday), nor its deadlines fall on a Sunday
    annual = window(org, period_of("annual", date(2098, 6, 1)))
    assert annual.opens_at.astimezone(SH).date() == date(2099, 1, 2)
    assert (annual.self_due, annual.closes) == (date(2099, 1, 12), date(2099, 1, 15))     # 10 Jan 2099: a Saturday


def test_the_self_review_reminder_arrives_before_a_deadline_moved_past_national_day(bot, app, clock) -> None:
    clock.set(datetime(2026, 9, 29, 2, 0, tzinfo=UTC))                # Tuesday 29 September, 10:00
    bot("/remind mute calendar", "/team add bob role=sales")
    out = bot(":advance 1d")                                          # the window opens on Wednesday 30 September
    # the opening and the reminder due that morning (the last working day before the 8th) go as one message
    (notices,) = _reminders(out, "bob")
    assert notices.startswith("[2026-09-30 09:00] → @bob: Notices (2):")
    assert "1. Your 2026-09 self-review is open until Oct 8, 2026." in out
    assert "2. Reminder: your 2026-09 self-review" in out
    with app.uow() as uow:
        review = uow.session.scalar(select(Review))
        assert review.self_due == date(2026, 10, 8)
        due = {item.kind: item.due_at.astimezone(SH) for item in uow.session.scalars(
            select(DueItem).where(DueItem.subject_id == review.id, DueItem.kind.like("review%")))}
    assert due["review_self"].date() == date(2026, 9, 30)     # the last working day before the 8th
    out += bot(":advance 8d")                                         # to Thursday 8 October
    reminders = [line for line in out.splitlines() if "Reminder: your 2026-09 self-review" in line]
    assert reminders and not [line for line in _reminders(out, "bob") if line[1:11] > "2026-10-08"], out


def test_a_regular_callback_due_on_a_day_off_is_due_on_the_next_working_day(bot, app, clock) -> None:
    clock.set(datetime(2026, 9, 1, 2, 0, tzinfo=UTC))                 # Tuesday 1 September
    bot("/customer new Acme cadence=30d")                             # 30 days on: 1 October
    with app.uow() as uow:
        assert uow.session.scalar(select(Callback.due_date)) == date(2026, 10, 8)


def test_a_reminder_on_new_years_day_of_an_unpublished_year_waits_for_the_next_working_day(bot, clock) -> None:
    clock.set(datetime(2098, 12, 30, 2, 0, tzinfo=UTC))               # Tuesday 30 December 2098
    bot("/remind mute calendar", "/customer new Acme", '/visit Acme note="x" next=2099-01-01')
    out = _reminders(bot(":advance 2d", ":advance 1h"))
    assert not [line for line in out if "Callback due" in line]      # Thursday 1 January: a day off
    (line,) = [line for line in _reminders(bot(":advance 1d")) if "Callback due" in line]
    assert line.startswith("[2099-01-02 08:30]")


def test_the_calendar_says_which_days_it_knows(bot, app, clock) -> None:
    clock.set(datetime(2098, 11, 16, 2, 0, tzinfo=UTC))
    out = bot("/holiday list 2099")
    assert "Jan 1, 2099 (New Year's Day) — fixed by law" in out
    assert "May 1 – 2, 2099 (Labour Day) — fixed by law" in out
    assert "Oct 1 – 3, 2099 (National Day) — fixed by law" in out
    assert "does not know Spring Festival, Tomb-sweeping Day, Dragon Boat Festival, and Mid-autumn Festival yet" in out
    bot("/holiday add 2099-01-20 2099-01-26 春节")
    out = bot("/holiday list 2099")
    assert "does not know Tomb-sweeping Day, Dragon Boat Festival, and Mid-autumn Festival yet" in out
    assert "Jan 20 – 26, 2099 (春节) — set by the department" in out
    bot("/holiday add 2099-04-04 2099-04-06 清明", "/holiday add 2099-06-01 端午", "/holiday add 2099-09-29 中秋")
    with app.uow() as uow:
        assert unknown_holidays(uow.session.scalar(select(Organisation)), 2099) == []
    out = bot("/holiday list 2099")
    assert "does not know" not in out and "the department has marked its holidays" in out
    out = bot("/holiday list 2026")
    assert "not in bizbot's calendar" not in out and "fixed by law" not in out
    out = bot("/settings lang zh", "/holiday list 2099")
    assert "法定" in out and "fixed" not in out


def test_a_review_window_opening_and_deadlines_stay_at_their_hour(app) -> None:
    org = _org()
    nov = window(org, period_of("monthly", date(2026, 11, 5)))
    assert nov.opens_at.astimezone(SH).time() == time(9, 0)
