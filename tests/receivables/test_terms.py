"""Payment terms read in both languages: shares, amounts, events, N days after an event, dates; terms that do not
make up the contract's amount are refused with what they add up to; any text is read or refused, never a crash."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.kernel.errors import Invalid
from domain.kernel.i18n import use_locale
from domain.receivables.terms import (
    ACCEPTANCE,
    DATE,
    DELIVERY,
    SIGNING,
    MilestoneTerm,
    amounts,
    check_total,
    describe_all,
    parse_terms,
    render,
)

TODAY = date(2026, 11, 23)
ZH = {SIGNING: "签约", DELIVERY: "发货", ACCEPTANCE: "验收"}
EN = {SIGNING: "signing", DELIVERY: "delivery", ACCEPTANCE: "acceptance"}


def _read(text: str) -> list[tuple[str, Decimal | None, Decimal | None, int, date | None]]:
    return [(m.trigger, m.share, m.fixed, m.days, m.on_date) for m in parse_terms(text, TODAY)]


@pytest.mark.fast
def test_the_same_terms_in_chinese_and_english() -> None:
    expected = [(SIGNING, Decimal(30), None, 0, None), (DELIVERY, Decimal(60), None, 0, None),
                (ACCEPTANCE, Decimal(10), None, 90, None)]
    assert _read("30% 签约, 60% 发货, 10% 验收后90天") == expected
    assert _read("30% on signing, 60% on delivery, 10% 90 days after acceptance") == expected
    assert _read("30%签约，60%发货；10%验收后九十天") == expected
    assert _read("百分之三十 签约、六成 发货, 10％ acceptance + 90 days") == expected


@pytest.mark.fast
def test_amounts_dates_and_days_after_an_event() -> None:
    assert _read("¥200,000 on 2027-01-31, 600000 on delivery") == [
        (DATE, None, Decimal("200000.00"), 0, date(2027, 1, 31)), (DELIVERY, None, Decimal("600000.00"), 0, None)]
    assert _read("20万 签约后30天, 60万 2027年3月1日前") == [
        (SIGNING, None, Decimal("200000.00"), 30, None), (DATE, None, Decimal("600000.00"), 0, date(2027, 3, 1))]
    assert _read("50% 30 days after delivery, 50% by 2027-06-30") == [
        (DELIVERY, Decimal(50), None, 30, None), (DATE, Decimal(50), None, 0, date(2027, 6, 30))]


@pytest.mark.fast
def test_terms_that_do_not_make_up_the_amount_are_refused_with_the_sum() -> None:
    total = Decimal(800000)
    assert check_total(parse_terms("30% 签约, 60% 发货, 10% 验收后90天", TODAY), total) is None
    why = check_total(parse_terms("30% 签约, 60% 发货", TODAY), total)
    assert why is not None and render(why) == "The shares add up to 90%, not 100%."
    why = check_total(parse_terms("30% on signing, 80% on delivery", TODAY), total)
    assert why is not None and render(why) == "The shares add up to 110%, not 100%."
    why = check_total(parse_terms("¥200,000 on signing, ¥500,000 on delivery", TODAY), total)
    assert why is not None and render(why) == "The amounts add up to CN¥700,000.00, not the contract's CN¥800,000.00."
    with use_locale("zh"):
        assert render(why) == "各节点金额合计 ¥700,000.00，不等于合同金额 ¥800,000.00。"
    assert check_total(parse_terms("¥200,000 on signing, 75% on delivery", TODAY), total) is None


@pytest.mark.fast
def test_bad_terms_say_which_item() -> None:
    for text, words in (("", "Write the payment terms"), ("30% someday", "'30% someday'"),
                        ("0% 签约, 100% 发货", "above 0%"), ("150% on signing", "at most 100%"),
                        ("lots of money", "Cannot read 'lots of money'"),
                        ("30% 验收后99999天", "from 0 to 3650")):
        with pytest.raises(Invalid) as caught:
            parse_terms(text, TODAY)
        assert words in caught.value.msgid.format(**caught.value.params), text


@pytest.mark.fast
def test_terms_read_back_in_each_language() -> None:
    terms = parse_terms("30% 签约, 60% 发货, 10% 验收后90天", TODAY)
    assert render(describe_all(terms, "CNY")) == "30% on signing, 60% on delivery, 10% 90 days after acceptance"
    with use_locale("zh"):
        assert render(describe_all(terms, "CNY")) == "30% 签约，60% 发货，10% 验收后90天"


_EVENT = st.sampled_from((SIGNING, DELIVERY, ACCEPTANCE))


@st.composite
def _shares(draw: st.DrawFn) -> list[int]:
    n = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 100]
    return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]


@given(_shares(), st.lists(st.tuples(_EVENT, st.integers(0, 365)), min_size=6, max_size=6),
       st.sampled_from(("zh", "en")), st.sampled_from((", ", "，", "; ", "、")))
@settings(max_examples=300, deadline=None)
@pytest.mark.fast
def test_written_terms_read_back_the_same(shares: list[int], events: list[tuple[str, int]], lang: str,
                                          sep: str) -> None:
    items = []
    for share, (event, days) in zip(shares, events, strict=False):
        if lang == "zh":
            items.append(f"{share}% {ZH[event]}后{days}天" if days else f"{share}% {ZH[event]}")
        else:
            items.append(f"{share}% {days} days after {EN[event]}" if days else f"{share}% on {EN[event]}")
    got = parse_terms(sep.join(items), TODAY)
    assert [(m.share, m.trigger, m.days) for m in got] == [
        (Decimal(s), e, d) for s, (e, d) in zip(shares, events, strict=False)]
    assert check_total(got, Decimal(800000)) is None
    assert sum(amounts(got, Decimal("123456.78")), Decimal(0)) == Decimal("123456.78")


@given(st.lists(st.integers(1, 100), min_size=1, max_size=6))
@settings(max_examples=200, deadline=None)
@pytest.mark.fast
def test_shares_not_adding_to_100_are_refused_with_their_sum(shares: list[int]) -> None:
    terms = [MilestoneTerm(SIGNING, Decimal(s)) for s in shares]
    why = check_total(terms, Decimal(800000))
    assert (why is None) == (sum(shares) == 100)
    if why is not None:
        assert render(why) == f"The shares add up to {sum(shares)}%, not 100%."


@given(st.text(max_size=120))
@settings(max_examples=400, deadline=None)
@pytest.mark.fast
def test_any_text_is_read_or_refused(text: str) -> None:
    try:
        terms = parse_terms(text, TODAY)
    except Invalid:
        return
    assert 1 <= len(terms) <= 12
    for m in terms:
        assert (m.share is None) != (m.fixed is None)
        assert m.trigger in (SIGNING, DELIVERY, ACCEPTANCE, DATE)
