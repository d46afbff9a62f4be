"""/holiday: the department's own days off and make-up working days, over China's calendar.

Years the installed chinesecalendar does not cover are taken far ahead (2099), so these tests hold
whatever release of it is installed.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from fakes.notices import notices
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import func, select

from domain.crm.holidays import unknown_years
from domain.delivery.calendar import is_workday, national_covers
from domain.kernel.text import visible
from domain.store.models import AuditEntry, CalendarDay, Complaint, Organisation
from handlers.crm.holidays import MarkArgs, Year

SH = ZoneInfo("Asia/Shanghai")
NOTICE = "does not know China's public holidays"
YEAR = TypeAdapter(Year)  # a year as /holidays reads it


@pytest.fixture
def bot(bot):
    """The console driver, with babel's thin and narrow no-break spaces (in date spans, before AM/PM) read
    as spaces."""
    return lambda *lines: bot(*lines).replace("\u2009", " ").replace("\u202f", " ")


def _reminders(text: str) -> list[str]:
    """Each notice sent, also those merged with others due at the same time for the same person."""
    return notices(text)


def _callbacks(text: str) -> list[str]:
    """The callback reminders sent (not, say, the self-review of the month that opens meanwhile)."""
    return [line for line in notices(text) if "Callback due" in line]


def _org(app) -> Organisation:
    with app.uow() as uow:
        return uow.session.scalar(select(Organisation))


def _marks(app) -> dict[date, tuple[bool, str | None]]:
    with app.uow() as uow:
        return {d.day: (d.working, d.name) for d in uow.session.scalars(select(CalendarDay))}


def test_days_off_and_make_up_days_override_chinas_calendar(bot, app) -> None:
    out = bot("/holiday add 2026-12-24 2026-12-25 name=年会", "/holiday workday 2026-12-26")
    assert "Days off: Dec 24 – 25, 2026 (年会)." in out and "Working days: Dec 26, 2026." in out
    org = _org(app)                               # read in a unit of work that has ended: still knows its days
    assert not is_workday(org, date(2026, 12, 24)) and not is_workday(org, date(2026, 12, 25))
    assert is_workday(org, date(2026, 12, 26))    # a Saturday
    assert not is_workday(org, date(2026, 12, 27))
    assert _marks(app) == {date(2026, 12, 24): (False, "年会"), date(2026, 12, 25): (False, "年会"),
                           date(2026, 12, 26): (True, None)}
    # marking again changes the day rather than adding a second mark
    bot("/holiday workday 2026-12-25")
    assert is_workday(_org(app), date(2026, 12, 25)) and len(_marks(app)) == 3
    # a mark can override China's own holidays too (a department that works on 2 October)
    bot("/holiday workday 2026-10-02")
    assert is_workday(_org(app), date(2026, 10, 2))
    out = bot("/holiday remove 2026-12-24 2026-12-26")
    assert "China's calendar applies to those days again" in out
    assert is_workday(_org(app), date(2026, 12, 24)) and not is_workday(_org(app), date(2026, 12, 26))
    with app.uow() as uow:
        audited = uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.entity == "calendar")).all()
    assert audited == ["off 2026-12-24..2026-12-25 年会", "working 2026-12-26..2026-12-26",
                       "working 2026-12-25..2026-12-25", "working 2026-10-02..2026-10-02",
                       "2026-12-24..2026-12-26"]


def test_a_reminder_due_on_a_day_off_waits_and_a_make_up_saturday_is_worked(bot) -> None:
    bot("/remind mute calendar", "/holiday add 2026-12-01 name=团建", "/holiday workday 2026-12-05")
    bot("/customer new Acme", '/visit Acme note="x" next=2026-12-01', "/customer new Beta",
        '/visit Beta note="y" next=2026-12-05')
    out = _callbacks(bot(":advance 8d"))                        # to Tuesday 1 December, 10:00
    assert out == []                                            # held back: the department's day off
    out = _callbacks(bot(":advance 1d"))
    assert [line[:27] for line in out] == ["[2026-12-02 08:30] → @wang:"]
    out = _callbacks(bot(":advance 3d"))                        # Saturday 5 December, a make-up working day
    assert [line[:27] for line in out] == ["[2026-12-05 09:00] → @wang:"] and "Beta" in out[0]


def test_complaint_deadlines_in_working_time_skip_new_days_off(bot, app) -> None:
    bot("/team add alice role=sales", ":as alice", "/customer new Acme", ":as wang")
    bot("/holiday add 2026-11-24 2026-11-25 name=盘点")          # Tuesday and Wednesday off
    bot('/complaint new Acme severity=high what="late delivery" wants="delivery this week"')
    with app.uow() as uow:
        complaint = uow.session.get(Complaint, 1)
    # 4 working hours from Monday 10:00; 2 working days of 9 h from Monday 10:00 skip Tue and Wed
    assert complaint.respond_by.astimezone(SH).replace(tzinfo=None) == datetime(2026, 11, 23, 14)
    assert complaint.resolve_by.astimezone(SH).replace(tzinfo=None) == datetime(2026, 11, 27, 10)


def test_the_weekly_meeting_moves_off_a_day_marked_later(bot) -> None:
    bot("/team add alice role=sales")
    assert "Next meeting: Nov 24, 2026, 9:30 AM" in bot("/meeting set day=tuesday time=09:30 channel=sales")
    bot("/holiday add 2026-11-24 name=团建")
    assert "Next meeting: Nov 25, 2026, 9:30 AM" in bot("/meeting show")
    bot("/holiday remove 2026-11-24")
    assert "Next meeting: Nov 24, 2026, 9:30 AM" in bot("/meeting show")


def test_key_accounts_are_greeted_for_a_named_day_off_of_the_departments_own(bot, clock) -> None:
    bot("/remind mute calendar", "/customer new Acme level=key cadence=90d")
    bot("/holiday add 2026-12-31 2027-01-01 name=元旦")
    out = [line for line in _reminders(bot(":advance 38d")) if "元旦" in line]
    # prepared on the working day before, as for China's own holidays
    assert out == ["[2026-12-30 09:00] → @wang: 元旦 begins on Dec 31, 2026: send Acme your greetings."]


def test_year_list_shows_chinas_days_and_the_departments(bot) -> None:
    bot("/holiday add 2026-12-24 2026-12-25 name=年会")
    out = bot("/holiday list 2026")
    assert "Working calendar 2026" in out and "not in bizbot's calendar" not in out
    assert "• Oct 1 – 7, 2026 (National Day)" in out                 # China's calendar, translated
    assert "• Oct 10, 2026 (National Day)" in out                    # its make-up working Saturday
    assert "• Dec 24 – 25, 2026 (年会) — set by the department" in out
    out = bot("/holiday list 2099")
    assert "China's holiday schedule for 2099 is not in bizbot's calendar yet" in out
    assert "Jan 1, 2099 (New Year's Day) — fixed by law" in out and "Only weekends." not in out
    assert "2026年10月1日 – 7日（国庆节）" in bot("/settings lang zh", "/holiday list")


def test_bad_input_and_refusals_change_nothing(bot, app) -> None:
    bot("/team add alice role=sales")
    cases = {
        "/holiday add 2027-02-12 2027-02-06": "The end 2027-02-06 is before the start 2027-02-12.",
        "/holiday add 2027-01-01 2027-03-01": "Mark at most 31 days at a time.",
        "/holiday add": "Missing FIRST",
        "/holiday add someday": "Cannot read 'someday' as a date",
        "/holiday list 1999": "'1999' is not a year between 2000 and 2100.",
        "/holiday list next": "'next' is not a year",
        f"/holiday add 2027-02-06 name={'x' * 61}": "at most 60 characters",
    }
    for line, answer in cases.items():
        assert answer in bot(line), line
    assert "Only admin or manager may use /holiday add" in bot(":as alice", "/holiday add 2027-02-06")
    assert "Only admin or manager" in bot("/holiday workday 2027-02-06")
    assert "Only admin or manager" in bot("/holiday remove 2027-02-06")
    assert "Working calendar 2026" in bot("/holiday list")          # anyone may look
    assert "nothing changed" in bot(":as wang", "/holiday remove 2027-02-06")
    assert _marks(app) == {}
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(AuditEntry.entity == "calendar")) == 0


def _org(app) -> Organisation:
    with app.uow() as uow:
        org = uow.session.scalars(select(Organisation)).first()
        org.calendar_days  # noqa: B018 (loaded with it)
        return org


def test_an_unknown_years_notice_reaches_admins_and_managers_once(bot, app, clock) -> None:
    clock.set(datetime(2099, 11, 16, 2, 0, tzinfo=UTC))               # Monday 10:00; 2099 is not covered
    bot("/team add mgr role=manager", "/team add alice role=sales")
    out = [line for line in _reminders(bot(":advance 1d")) if NOTICE in line]
    assert sorted(line.split(":", 2)[1] for line in out) == ["00] → @mgr", "00] → @wang"]
    assert "public holidays for 2099 yet" in out[0] and "/holiday list 2099" in out[0]
    assert not [line for line in _reminders(bot(":advance 3d")) if NOTICE in line]    # once a year each
    bot("/holiday add 2099-12-25 name=Company day")                 # a company day off: 2099 still unknown
    assert unknown_years(_org(app), date(2099, 11, 20)) == [2099]
    bot("/holiday add 2099-01-20 2099-01-26 春节")                   # the Spring Festival: now it is known
    assert unknown_years(_org(app), date(2099, 11, 20)) == []
    out = [line for line in _reminders(bot(":advance 11d")) if NOTICE in line]        # into December
    assert len(out) == 2 and all("holidays for 2100 yet" in line for line in out)
    out = bot("/settings lang zh", ":advance 1d")
    assert NOTICE not in out


def test_unknown_years_are_this_one_and_from_december_the_next(app) -> None:
    org = Organisation(timezone="Asia/Shanghai", settings={})
    assert unknown_years(org, date(2099, 11, 30)) == [2099]
    assert unknown_years(org, date(2099, 12, 1)) == [2099, 2100]
    assert unknown_years(Organisation(timezone="UTC", settings={"calendar": "none"}), date(2099, 12, 1)) == []
    assert national_covers(2026) and unknown_years(org, date(2026, 6, 1)) == []


@pytest.mark.fast
@given(st.integers(min_value=-10_000, max_value=10_000))
def test_year_parser_takes_exactly_the_years_it_names(value: int) -> None:
    from domain.kernel.errors import Invalid

    for text in (str(value), f"{value}年", f" {value} "):
        if 2000 <= value <= 2100:
            assert YEAR.validate_python(text) == value
        else:
            with pytest.raises(Invalid):
                YEAR.validate_python(text)


@pytest.mark.fast
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)),     # its year ends within ten years
       st.text(alphabet=st.characters(categories=("L",)), min_size=1, max_size=20))
def test_a_word_after_one_date_is_the_name_and_a_date_is_the_last_day(first: date, word: str) -> None:
    context = {"today": date(2026, 12, 1), "now": datetime(2026, 12, 1, 2, tzinfo=UTC)}
    args = MarkArgs.model_validate({"first": first.isoformat(), "last": f"{first.year}-12-31"}, context=context)
    assert (args.first, args.last, args.name) == (first, date(first.year, 12, 31), None)
    try:
        from domain.kernel.dates import parse_date

        parse_date(word, context["today"])
    except Exception:  # not a date: the word is the holiday's name
        args = MarkArgs.model_validate({"first": first.isoformat(), "last": word, "name": "假期"}, context=context)
        # names are kept composed (NFC): a compatibility ideograph such as U+F900 reads as its unified form
        assert (args.first, args.last, args.name) == (first, None, f"{visible(word).strip()} 假期")
