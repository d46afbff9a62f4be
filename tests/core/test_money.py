"""Amounts and currencies as people write them, exact to the cent; anything else is refused with an example."""
from __future__ import annotations

from decimal import Decimal

import cn2an
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.kernel.errors import Invalid
from domain.kernel.money import LIMIT, current_codes, parse_amount, parse_currency

pytestmark = pytest.mark.fast  # no database: reading amounts and currencies

CENTS = st.decimals(min_value=0, max_value=LIMIT - Decimal("0.01"), places=2, allow_nan=False,
                    allow_infinity=False)
WHOLE = st.integers(min_value=0, max_value=10**12 - 1)


@given(CENTS)
def test_digits_read_back_exactly_with_or_without_separators_and_currency(amount: Decimal) -> None:
    for text in (str(amount), f"{amount:,}", f"¥{amount}", f"RMB{amount}", f"RMB {amount:,}元", f"{amount}元"):
        assert parse_amount(text) == amount, text


@given(WHOLE)
@settings(max_examples=300)
def test_chinese_numerals_plain_and_formal_read_back(n: int) -> None:
    assert parse_amount(cn2an.an2cn(n, "low")) == n          # 十二万三千
    assert parse_amount(cn2an.an2cn(n, "up")) == n           # 壹拾贰万叁仟
    assert parse_amount(cn2an.an2cn(n, "rmb")) == n          # 壹拾贰万叁仟元整, as a contract writes it


@given(st.decimals(min_value=0, max_value=Decimal("99999999.9999"), places=4, allow_nan=False,
                   allow_infinity=False))
def test_digits_with_wan_are_ten_thousands_without_a_float(x: Decimal) -> None:
    assert parse_amount(f"{x}万") == (x * 10000).quantize(Decimal("0.01"))
    assert parse_amount(f"{x}w") == (x * 10000).quantize(Decimal("0.01"))


@given(st.text(max_size=30))
@settings(max_examples=500)
def test_anything_else_is_an_amount_or_a_clear_refusal(text: str) -> None:
    try:
        amount = parse_amount(text)
    except Invalid:
        return
    assert Decimal(0) <= amount < LIMIT and amount == amount.quantize(Decimal("0.01"))


@pytest.mark.parametrize(("text", "amount"), [
    ("壹拾万元", "100000"), ("壹拾万元整", "100000"), ("1.5万", "15000"), ("RMB100000", "100000"),
    ("五十万", "500000"), ("三万五", "35000"), ("3万5千", "35000"), ("２０万", "200000"), ("20k", "20000"),
    ("1.5m", "1500000"), ("一百元五角", "100.50"), ("200,000.50", "200000.50"), ("0", "0"),
])
def test_the_forms_salespeople_type(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "lots", "-5", "1e5", "一万亿", "10000亿", "五十万美金和", "NaN"])
def test_what_is_no_amount_or_too_much_is_refused(text: str) -> None:
    with pytest.raises(Invalid):
        parse_amount(text)


def test_currencies_are_current_iso_4217_codes_or_their_names() -> None:
    assert {"CNY", "USD", "EUR", "HKD", "JPY"} <= current_codes()
    assert not {"XXX", "DEM", "XYZ"} & current_codes()
    for text, code in [("cny", "CNY"), ("RMB", "CNY"), ("人民币", "CNY"), ("¥", "CNY"), ("美元", "USD"),
                       ("港币", "HKD"), ("港元", "HKD"), ("欧元", "EUR"), ("英镑", "GBP"), ("Euro", "EUR")]:
        assert parse_currency(text) == code
    for text in ("XYZ", "DEM", "XXX", "钱"):
        with pytest.raises(Invalid):
            parse_currency(text)
