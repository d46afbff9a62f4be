"""The shared argument grammar, dates and amounts — examples and properties."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from domain.kernel.dates import cn_number, parse_date, parse_days, parse_delta
from domain.kernel.errors import Invalid
from domain.kernel.text import INVISIBLE
from handlers.args import Money
from handlers.parsing import parse_line

MONEY = TypeAdapter(Money)  # an amount as the commands read it

MONDAY = date(2026, 11, 23)


@pytest.mark.fast
def test_words_options_and_quotes() -> None:
    p = parse_line('/visit Acme Corp channel=phone note="discussed pricing" next=下周三')
    assert p.words == ["/visit", "Acme", "Corp"]
    assert p.options == {"channel": "phone", "note": "discussed pricing", "next": "下周三"}


@pytest.mark.fast
def test_chinese_quotes_keys_and_fullwidth_equals() -> None:
    p = parse_line("/visit 华为　备注＝“介绍 方案” 下次=下周三")
    assert p.words == ["/visit", "华为"]
    assert p.options == {"备注": "介绍 方案", "下次": "下周三"}


@pytest.mark.fast
def test_quoted_word_with_equals_is_positional() -> None:
    assert parse_line('/customer new "A=B Ltd"').words == ["/customer", "new", "A=B Ltd"]


@pytest.mark.fast
def test_escaped_quote_inside_quotes() -> None:
    assert parse_line(r'/x note="say \"hi\""').options == {"note": 'say "hi"'}


@pytest.mark.fast
@pytest.mark.parametrize("line", ['/visit note="open', "/visit note=“open", "/x 'a"])
def test_unclosed_quote_is_a_clear_error(line: str) -> None:
    with pytest.raises(Invalid):
        parse_line(line)


@pytest.mark.fast
def test_option_twice_is_an_error() -> None:
    with pytest.raises(Invalid):
        parse_line("/lead new X value=1 value=2")


@pytest.mark.fast
@given(st.text(max_size=300))
@settings(max_examples=400)
def test_any_line_parses_or_raises_invalid(line: str) -> None:
    try:
        parsed = parse_line(line)
    except Invalid:
        return
    assert all(isinstance(w, str) for w in parsed.words)
    assert all(k == k.lower() for k in parsed.options)


@pytest.mark.fast
@given(
    st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\')
                     .filter(lambda ch: not re.fullmatch(INVISIBLE, ch)),     # dropped, as they show nothing
                     min_size=1, max_size=20), min_size=1, max_size=5),
)
def test_quoted_values_round_trip(values: list[str]) -> None:
    line = "/cmd " + " ".join(f'k{i}="{v}"' for i, v in enumerate(values))
    assert parse_line(line).options == {f"k{i}": v for i, v in enumerate(values)}


@pytest.mark.fast
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow", date(2026, 11, 24)),
        ("明天", date(2026, 11, 24)),
        ("后天", date(2026, 11, 25)),
        ("下周三", date(2026, 12, 2)),
        ("下星期一", date(2026, 11, 30)),
        ("周五", date(2026, 11, 27)),
        ("本周一", date(2026, 11, 23)),
        ("12月1日", date(2026, 12, 1)),
        ("11月1日", date(2027, 11, 1)),
        ("2027年1月5日", date(2027, 1, 5)),
        ("3天后", date(2026, 11, 26)),
        ("三天后", date(2026, 11, 26)),
        ("二十五天后", date(2026, 12, 18)),
        ("两周后", date(2026, 12, 7)),
        ("2026-12-01", date(2026, 12, 1)),
        ("+2w", date(2026, 12, 7)),
        ("next friday", date(2026, 11, 27)),
        ("dec 5", date(2026, 12, 5)),
    ],
)
def test_natural_dates(text: str, expected: date) -> None:
    assert parse_date(text, MONDAY) == expected


@pytest.mark.fast
@pytest.mark.parametrize("text", ["", "someday", "2026-02-30", "13月1日", "x" * 50, "下周八",
                                  "三三天后", "十十天后"])  # the last two raised KeyError before numbers had one parser
def test_bad_dates_are_invalid(text: str) -> None:
    with pytest.raises(Invalid):
        parse_date(text, MONDAY)


@pytest.mark.fast
@given(st.text(max_size=60), st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
@settings(max_examples=300, deadline=None)
def test_any_date_text_gives_a_date_or_invalid(text: str, today: date) -> None:
    try:
        result = parse_date(text, today)
    except Invalid:
        return
    assert isinstance(result, date)


@pytest.mark.fast
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
       st.sampled_from("一二三四五六日"))
def test_next_week_weekday_is_in_next_week(today: date, day: str) -> None:
    result = parse_date(f"下周{day}", today)
    next_monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    assert next_monday <= result < next_monday + timedelta(days=7)


@pytest.mark.fast
@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("4w", 28), ("2m", 60), ("30天", 30), ("30", 30)])
def test_cadence(text: str, days: int) -> None:
    assert parse_days(text) == days


@pytest.mark.fast
@pytest.mark.parametrize("text", ["0d", "forever", "-3d", "99999d"])
def test_bad_cadence(text: str) -> None:
    with pytest.raises(Invalid):
        parse_days(text)


@pytest.mark.fast
def test_delta() -> None:
    assert parse_delta("2h") == timedelta(hours=2)
    assert parse_delta("1w") == timedelta(weeks=1)
    with pytest.raises(Invalid):
        parse_delta("soon")


@pytest.mark.fast
@pytest.mark.parametrize(("text", "amount"), [("200000", "200000.00"), ("20万", "200000.00"),
                                              ("1.5m", "1500000.00"), ("¥1,200", "1200.00"), ("3k", "3000.00"),
                                              ("3千", "3000.00"), ("五十万", "500000.00"), ("五十万元", "500000.00"),
                                              ("一百万", "1000000.00"), ("两万五", "25000.00"),
                                              ("三千五", "3500.00"), ("十万", "100000.00"), ("十五", "15.00"),
                                              ("一千二百万", "12000000.00"), ("一亿五千万", "150000000.00"),
                                              ("一千零五", "1005.00"), ("二百零三万", "2030000.00")])
def test_money(text: str, amount: str) -> None:
    assert str(MONEY.validate_python(text)) == amount


@pytest.mark.fast
@pytest.mark.parametrize("text", ["万", "亿", "一二", "百", "五万亿万", "千五"])
def test_chinese_numerals_that_are_not_amounts(text: str) -> None:
    with pytest.raises(Invalid):
        MONEY.validate_python(text)


@pytest.mark.fast
@given(st.integers(0, 999_999_999))
def test_chinese_numerals_read_back_as_written(n: int) -> None:
    """Every whole number, written out in Chinese numerals the standard way, reads back as itself."""
    assert cn_number(_write_chinese(n)) == n


def _write_chinese(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n == 0:
        return "零"

    def below_10000(m: int, pad: bool) -> str:
        out, zero = "", pad
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = m // value % 10
            if d:
                out += ("零" if zero and out != "" or (zero and pad and out == "") else "") + digits[d] + unit
                zero = False
            else:
                zero = True
        return out

    parts = []
    for size, name in ((100_000_000, "亿"), (10_000, "万"), (1, "")):
        chunk = n // size % 10_000
        if chunk:
            parts.append(below_10000(chunk, pad=bool(parts) and chunk < 1000) + name)
        elif parts:
            parts.append("")
    return "".join(parts)


@pytest.mark.fast
@given(st.text(max_size=30))
def test_any_money_text_gives_amount_or_invalid(text: str) -> None:
    try:
        value = MONEY.validate_python(text)
    except Invalid:
        return
    assert value >= 0


def test_channels_are_written_with_or_without_a_hash(bot) -> None:
    assert "Requests will also be posted to C0123ABC." in bot("/policy channel #C0123ABC")
    assert "Requests will also be posted to approvals." in bot("/policy channel approvals")
    assert "Channel: C9SALES01" in bot("/meeting set channel=#C9SALES01")
    assert "A value is empty" in bot("/policy channel #")
