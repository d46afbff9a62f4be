"""Dates people type are days bizbot can plan with — from 1900 up to ten years ahead — or a clear refusal in
the reader's language; no date arithmetic ever leaves the calendar (OverflowError) on the way to a reply."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from domain.kernel.dates import parse_birthday, parse_date
from domain.kernel.errors import Invalid
from domain.kernel.i18n import translate, use_locale
from domain.store.models import Callback, Visit
from handlers.registry import translate_error

MONDAY = date(2026, 11, 23)
EARLIEST = date(1900, 1, 1)


def latest_day(today: date) -> date:
    """Ten years after today (29 February: the 28th)."""
    try:
        return today.replace(year=today.year + 10)
    except ValueError:
        return today.replace(year=today.year + 10, day=28)
CN_NUMERALS = "零〇一二两三四五六七八九十百千万亿"

DATE_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)),
    st.builds("{}年{}月{}日".format, st.integers(0, 99999), st.integers(0, 13), st.integers(0, 32)),
    st.builds("{}{}{}".format, st.sampled_from(["", "+"]), st.integers(0, 10**12), st.sampled_from("dwmDWM")),
    st.builds("{}{}后".format, st.one_of(st.integers(0, 10**9).map(str), st.text(CN_NUMERALS, min_size=1, max_size=8)),
              st.sampled_from(["天", "日", "周", "星期", "个月", "個月"])),
    st.builds("in {} {}".format, st.integers(0, 10**9), st.sampled_from(["days", "weeks", "months", "years"])),
    st.builds("{} {} ago".format, st.integers(0, 10**9), st.sampled_from(["days", "years"])),
    st.sampled_from(["9999-12-31", "0001-01-01", "1899-12-31", "+99999999d", "3000000天后", "九百九十九个月后",
                     "999m", "dec 31 9999", "year 10000", "12月31日", "2月29日", "下下周日"]),
)
TODAY = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


def _refusal_is_translated(exc: Invalid) -> None:
    with use_locale("zh"):
        assert translate(exc.msgid) != exc.msgid, exc.msgid         # a Chinese reader gets Chinese
        assert translate_error(exc)


@pytest.mark.fast
@given(DATE_TEXT, TODAY)
@settings(max_examples=400, deadline=None)
def test_any_text_gives_a_day_in_range_or_a_translated_refusal(text: str, today: date) -> None:
    try:
        day = parse_date(text, today)
    except Invalid as exc:
        _refusal_is_translated(exc)
        return
    assert EARLIEST <= day <= latest_day(today)


@pytest.mark.fast
@given(DATE_TEXT, TODAY)
@settings(max_examples=200, deadline=None)
def test_any_birthday_text_gives_a_day_in_range_or_a_translated_refusal(text: str, today: date) -> None:
    try:
        day = parse_birthday(text, today)
    except Invalid as exc:
        _refusal_is_translated(exc)
        return
    assert EARLIEST <= day <= latest_day(today)


@pytest.mark.fast
@pytest.mark.parametrize(("text", "refused"), [
    ("9999-12-31", True), ("2036-11-23", False), ("2036-11-24", True), ("1900-01-01", False),
    ("1899-12-31", True), ("0500-01-01", True), ("+999m", True), ("+120m", False), ("999个月后", True),
    ("九十九周后", False), ("120个月后", False),
])
def test_the_range_runs_from_1900_to_ten_years_ahead(text: str, refused: bool) -> None:
    if not refused:
        assert EARLIEST <= parse_date(text, MONDAY) <= date(2036, 11, 23)
        return
    with pytest.raises(Invalid) as caught:
        parse_date(text, MONDAY)
    assert caught.value.msgid.startswith("'{text}' is too far away")


def test_far_dates_are_refused_in_every_command_and_change_nothing(bot, app) -> None:
    bot("/customer new Acme")
    with app.uow() as uow:
        before = (uow.session.scalar(select(func.count(Visit.id))), uow.session.scalar(select(func.count(Callback.id))))
    answers = {
        "/visit Acme note=x next=9999-12-31": "too far away",
        "/visit Acme note=x next=+99999999d": "Cannot read",
        "/visit Acme note=x next=3000000天后": "Cannot read",
        "/visit Acme note=x next=+999m": "too far away",
        "/lead new Acme next=2040-01-01": "too far away",
        "/customer new Beta birthday=1850-01-01": "too far away",
        "/export complaints to=9999-12-31": "too far away",
        "/export ledger from=0001-01-01": "too far away",
        "/holiday add 9999-12-30 9999-12-31": "too far away",
        "/holiday add 2026-12-24 2040-12-31": "too far away",                 # a date, not the holiday's name
    }
    for line, answer in answers.items():
        out = bot(line)
        assert answer in out and "between Jan 1, 1900 and Nov 23, 2036" in out or answer == "Cannot read", (line, out)
        assert "Traceback" not in out and "Error" not in out, line
    with app.uow() as uow:
        assert (uow.session.scalar(select(func.count(Visit.id))),
                uow.session.scalar(select(func.count(Callback.id)))) == before
    out = bot("/settings lang zh", "/visit Acme note=x next=9999-12-31")
    assert "9999-12-31" in out and "1900年1月1日" in out and "2036年11月23日" in out
    assert "too far" not in out


def test_a_form_cannot_slip_a_far_date_past_the_parser(bot, app) -> None:
    bot("/customer new Acme")
    ctx = bot.console.actor_ctx()
    visit = app.registry.commands["visit"]
    problems = app.registry.submit(ctx, visit, {"customer": "Acme", "note": "x", "next": date(9999, 12, 31)})
    assert isinstance(problems, dict) and "too far away" in problems["next"]
    reply = app.registry.submit(ctx, visit, {"customer": "Acme", "note": "x", "next": date(2027, 1, 4)})
    assert not isinstance(reply, dict) and "Callback CB2 scheduled for Jan 4, 2027" in reply.text


def test_the_export_commands_refuse_far_days_without_a_traceback(bot, db_url) -> None:
    from fakes.cli import run

    bot("/customer new Acme")
    env = {"BIZBOT_DATABASE_URL": db_url}
    for what, option in (("complaints", "--to"), ("ledger", "--from")):
        day = "9999-12-31" if option == "--to" else "0001-01-01"
        result = run(["export", what, "--as", "wang", "--format", "csv", option, day], env=env)
        assert result.returncode != 0 and "is too far away" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
