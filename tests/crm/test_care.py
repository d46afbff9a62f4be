"""Customer care: birthdays and the first day of a public holiday, each morning, once."""
from __future__ import annotations

from datetime import UTC, datetime

from fakes.notices import notices
from sqlalchemy import select

from domain.store.models import DueItem


def _reminders(text: str) -> list[str]:
    """Each notice sent, also those merged with others due at the same time for the same person."""
    return notices(text)


def test_birthday_reminds_the_owner_that_morning_once(bot) -> None:
    bot("/team add alice role=sales", ":as alice", "/customer new Acme birthday=1980-11-25 cadence=90d")
    assert _reminders(bot(":advance 1d")) == []
    lines = _reminders(bot(":advance 1d"))
    assert lines == ["[2026-11-25 09:00] → @alice: Acme's birthday or anniversary is on Nov 25, 2026: "
                     "a good day for a care message."]
    assert _reminders(bot(":advance 2d")) == []


def test_holiday_greetings_for_key_accounts_on_the_working_day_before(bot, clock) -> None:
    clock.set(datetime(2026, 9, 29, 2, 0, tzinfo=UTC))                 # Tuesday 10:00
    bot("/customer new Acme level=key cadence=90d", "/customer new Minor level=minor cadence=90d")
    out = bot(":advance 2d")
    (line,) = [x for x in _reminders(out) if "National Day" in x]
    assert line == "[2026-09-30 09:00] → @wang: National Day begins on Oct 1, 2026: send Acme your greetings."
    assert not [x for x in _reminders(bot(":advance 9d")) if "National Day" in x]


def test_weekend_birthday_is_prepared_on_friday(bot) -> None:
    bot("/customer new Acme birthday=1990-11-29 cadence=90d")          # Sunday 29 November 2026
    lines = _reminders(bot(":advance 5d"))
    assert lines == ["[2026-11-27 09:00] → @wang: Acme's birthday or anniversary is on Nov 29, 2026: "
                     "a good day for a care message."]


def test_daily_job_keeps_its_local_hour_across_daylight_saving(bot, app, clock) -> None:
    clock.set(datetime(2026, 10, 29, 14, 0, tzinfo=UTC))
    bot("/settings timezone America/New_York")
    seen = []
    for _ in range(6):
        bot(":advance 1d")
        with app.uow() as uow:
            item = uow.session.scalar(select(DueItem).where(DueItem.kind == "care"))
            seen.append(item.due_at)
    local = [d.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")) for d in seen]
    assert [x.hour for x in local] == [9] * 6
    days = [x.date() for x in local]
    assert days == sorted(set(days)) and len(days) == 6      # one a day: none skipped, none doubled


def test_a_birthday_without_its_year_recurs_and_is_shown_without_one(bot, clock) -> None:
    """`生日=3月5日` is a month and day (kept in a leap year, so 2月29日 can be said too), not the next
    5 March; the archive shows no year, and 29 February is remembered on the 28th in other years."""
    bot("/customer new Acme 生日=11月25日 cadence=90d", "/customer new Leap birthday=2月29日 cadence=90d",
        "/customer new Beta birthday=1985-06-18 cadence=90d")
    assert "Birthday: Nov 25\n" in bot("/customer show Acme") and "Birthday: Feb 29\n" in bot("/customer show Leap")
    assert "Birthday: Jun 18, 1985" in bot("/customer show Beta")
    assert "生日: 11月25日" in bot("/settings lang zh", "/customer show Acme")
    bot("/settings lang en")
    lines = _reminders(bot(":advance 2d"))
    assert lines == ["[2026-11-25 09:00] → @wang: Acme's birthday or anniversary is on Nov 25, 2026: "
                     "a good day for a care message."]
    clock.set(datetime(2027, 2, 25, 2, 0, tzinfo=UTC))                 # Thursday 25 February 2027, 10:00
    lines = [x for x in _reminders(bot(":advance 4d")) if "Leap's birthday" in x]
    assert lines == ["[2027-02-26 09:00] → @wang: Leap's birthday or anniversary is on Feb 28, 2027: "
                     "a good day for a care message."]                 # Sunday the 28th: on Friday
    assert "Cannot read '02-30' as a date" in bot("/customer new Bad birthday=02-30")
