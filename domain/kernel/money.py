"""Amounts and currencies as people write them: 200000, 200,000.50, 20万, 1.5万, ¥50万, RMB100000, 五十万,
壹拾万元整 (the formal numerals of contracts and invoices), 三万五; currencies as ISO 4217 codes or their names
(人民币, 美元, RMB).

Chinese numerals are read by cn2an; digits with a unit (万, 亿, k, m) are reckoned here in Decimal, so no
amount passes through a float.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import get_territory_currencies

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_

LIMIT = Decimal("1e12")
_UNITS = {"万": Decimal(10_000), "w": Decimal(10_000), "亿": Decimal(100_000_000), "千": Decimal(1_000),
          "k": Decimal(1_000), "m": Decimal(1_000_000), "百万": Decimal(1_000_000), "千万": Decimal(10_000_000),
          "十万": Decimal(100_000)}
# a currency written before or after the amount: it is not the amount (the currency is its own argument)
_CURRENCY_AROUND = re.compile(r"^(?:rmb|cny|人民币|¥|\$|€|£|us\$)|(?:rmb|cny|人民币|元整|圆整|元|圆|块钱|块|整)$")
_DIGITS = re.compile(r"(-?\d+(?:\.\d+)?)(百万|千万|十万|万|亿|千|[kwm])?")
# two numerals in a row with no unit between them (一二) are no amount; after 零 or a decimal point they are
_RUN = re.compile(r"[一二两三四五六七八九壹贰叁肆伍陆柒捌玖]{2}")
_CHINESE = re.compile(r"[零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟点元圆角分]+")
_MIXED = re.compile(r"[\d.零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟点元圆角分]+")  # 3万5千


def parse_amount(text: str) -> Decimal:
    """An amount of money, to the cent, from 0 up to (not including) a million million."""
    raw = unicodedata.normalize("NFKC", str(text)).strip().lower()  # full-width digits and signs too
    raw = re.sub(r"[\s,_'，、]", "", raw)
    for _round in range(3):  # "RMB ¥100000元" has more than one
        raw = _CURRENCY_AROUND.sub("", raw)
    amount = _read(raw)
    if amount is None:
        raise Invalid(N_("Cannot read '{text}' as an amount. Try 200000, 20万, 1.5万, 五十万 or 壹拾万元."), text=text)
    if not amount.is_finite() or amount < 0 or amount >= LIMIT:
        raise Invalid(N_("The value must be between 0 and 1,000,000,000,000."))
    return amount.quantize(Decimal("0.01"))


def _read(raw: str) -> Decimal | None:
    if not raw:
        return None
    digits = _DIGITS.fullmatch(raw)
    if digits:
        try:
            return Decimal(digits[1]) * (_UNITS[digits[2]] if digits[2] else 1)
        except InvalidOperation:
            return None
    if _CHINESE.fullmatch(raw) or _MIXED.fullmatch(raw):
        import cn2an  # heavy (~100 ms): loaded the first time an amount is written in Chinese numerals

        if _RUN.search(raw.split("点", 1)[0]):
            return None
        try:
            value = cn2an.cn2an(raw, "smart")
        except (ValueError, KeyError, IndexError):
            return None
        return Decimal(str(value))
    return None


# what people call a currency besides its code (babel's Chinese names, 人民币 and 美元 among them, come too)
_CURRENCY_WORDS = {"rmb": "CNY", "元": "CNY", "块": "CNY", "¥": "CNY", "￥": "CNY", "人民币元": "CNY",
                   "$": "USD", "us$": "USD", "美金": "USD", "€": "EUR", "£": "GBP", "港币": "HKD", "港纸": "HKD",
                   "台币": "TWD", "日币": "JPY", "韩币": "KRW"}


@cache
def current_codes() -> frozenset[str]:
    """The ISO 4217 codes of the currencies some country pays in today (babel's CLDR data)."""
    today = date.today()
    codes: set[str] = set()
    for territory in Locale.parse("en").territories:
        if isinstance(territory, str) and territory.isalpha():
            codes.update(get_territory_currencies(territory, start_date=today, end_date=today, tender=True))
    return frozenset(codes)


@cache
def _names() -> dict[str, str]:
    names = {name.casefold(): code for code, name in Locale.parse("zh_Hans_CN").currencies.items()
             if code in current_codes()}
    names.update({name.casefold(): code for code, name in Locale.parse("en_US").currencies.items()
                  if code in current_codes()})
    return names | _CURRENCY_WORDS


def parse_currency(text: str) -> str:
    """A currency's ISO 4217 code from its code or its name (CNY, usd, 人民币, 美元, RMB, ¥)."""
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    code = raw.upper()
    if code in current_codes():
        return code
    found = _names().get(raw.casefold())
    if found is None:
        raise Invalid(N_("Unknown currency '{text}'. Use a code such as CNY, USD or EUR."), text=text)
    return found
