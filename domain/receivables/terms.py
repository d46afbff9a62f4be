"""Payment terms as people write them, read into milestones: a share or an amount, and when it falls due.

    30% 签约, 60% 发货, 10% 验收后90天
    30% on signing, 60% on delivery, 10% 90 days after acceptance
    ¥200,000 on 2027-01-31, 600000 on delivery
    百分之三十 签约后三十天；七成 验收

A milestone is one item of the list (separated by commas, semicolons or 、; a comma between digits, as in
200,000, is a thousands separator). Its amount is a share (30%, 30 %, 百分之三十, 三成) or an amount of
money (anything domain.kernel.money reads); its trigger is signing (签约), delivery (发货) or acceptance (验收),
optionally N days after it (验收后90天, 90 days after acceptance), or a date (on 2027-01-31, 2027年1月31日前).
The shares (and amounts) must make up the contract's amount exactly; otherwise the terms are refused with
what they add up to.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from domain.delivery.outbox import Money, Msg, decode, encode
from domain.kernel.dates import cn_number, parse_date
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_
from domain.kernel.money import parse_amount

SIGNING, DELIVERY, ACCEPTANCE, DATE = "signing", "delivery", "acceptance", "date"
EVENT_TRIGGERS = (SIGNING, DELIVERY, ACCEPTANCE)
MAX_MILESTONES = 12
MAX_DAYS = 3650
HUNDRED = Decimal(100)
CENT = Decimal("0.01")

_EVENT_WORDS: dict[str, str] = {
    # Chinese
    "签约": SIGNING, "签订": SIGNING, "签合同": SIGNING, "合同签订": SIGNING, "签署": SIGNING, "合同签署": SIGNING,
    "预付": SIGNING, "首付": SIGNING, "定金": SIGNING,
    "发货": DELIVERY, "交货": DELIVERY, "到货": DELIVERY, "交付": DELIVERY,
    "验收": ACCEPTANCE, "验收合格": ACCEPTANCE, "终验": ACCEPTANCE,
    # English
    "signing": SIGNING, "signature": SIGNING, "sign": SIGNING, "signed": SIGNING, "advance": SIGNING,
    "delivery": DELIVERY, "shipment": DELIVERY, "shipping": DELIVERY, "delivered": DELIVERY,
    "acceptance": ACCEPTANCE, "accepted": ACCEPTANCE,
}
_EVENT_ALT = "|".join(sorted((re.escape(w) for w in _EVENT_WORDS), key=len, reverse=True))
_SPLIT = re.compile(r"\s*(?:[;；、，\n]|,(?!\d{3}(?!\d)))\s*")
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d{1,4})?)\s*[%％]"
                      r"|百分之([零〇一二两三四五六七八九十百点\d.]+)|([一二两三四五六七八九十\d])\s*成")
_LEAD_WORDS = "upon|on|at|after|by|due|within|before|payable|paid|pay|于|在|付款|支付|付"
_LEAD = re.compile(rf"^(?:(?:{_LEAD_WORDS})\s*)+", re.I)
_TAIL = re.compile(r"(?:\s*(?:时|后付|付款|支付|付|款|前|之前|以前|内|时付))+$")
_AFTER_ZH = re.compile(rf"^({_EVENT_ALT})\s*后\s*([\d零〇一二两三四五六七八九十百]+)\s*(?:天|日|个工作日)$", re.I)
_AFTER_EN = re.compile(rf"^([\d]+)\s*days?\s+(?:after|from|following)\s+(?:the\s+)?({_EVENT_ALT})$", re.I)
_PLUS = re.compile(rf"^({_EVENT_ALT})\s*\+\s*(\d+)\s*(?:d|days?|天)?$", re.I)
_EVENT = re.compile(rf"^(?:the\s+)?({_EVENT_ALT})$", re.I)


@dataclass(frozen=True)
class MilestoneTerm:
    """One milestone as written: `share` (percent) or `fixed` (an amount), and its trigger."""

    trigger: str  # signing, delivery, acceptance, date
    share: Decimal | None = None
    fixed: Decimal | None = None
    days: int = 0
    on_date: date | None = None


def parse_terms(text: str, today: date) -> list[MilestoneTerm]:
    """The milestones of payment terms, in the order written; bad terms are refused, saying which item."""
    raw = unicodedata.normalize("NFKC", str(text or "")).strip().strip("\"'“”")
    items = [item for item in _SPLIT.split(raw) if item.strip()]
    if not items:
        raise Invalid(N_("Write the payment terms as milestones, e.g. \"30% on signing, 60% on delivery, 10% 90 days "
                         "after acceptance\" or \"30% 签约, 60% 发货, 10% 验收后90天\"."))
    if len(items) > MAX_MILESTONES:
        raise Invalid(N_("At most {limit} milestones in a contract's terms."), limit=MAX_MILESTONES)
    return [_item(item.strip(), today) for item in items]


def _item(item: str, today: date) -> MilestoneTerm:
    share, rest = _share(item)
    fixed = None
    if share is None:
        fixed, rest = _fixed(item, today)
    trigger, days, on_date = _trigger(rest, item, today)
    return MilestoneTerm(trigger, share, fixed, days, on_date)


def _share(item: str) -> tuple[Decimal | None, str]:
    m = _PERCENT.search(item)
    if m is None:
        return None, item
    try:
        if m.group(1) is not None:
            value = Decimal(m.group(1))
        elif m.group(2) is not None:
            value = _chinese_decimal(m.group(2))
        else:
            digit = m.group(3)
            value = Decimal(10 * (int(digit) if digit.isdecimal() else (cn_number(digit) or 0)))
    except (InvalidOperation, ValueError):
        raise Invalid(N_("Cannot read the share in '{item}'."), item=item) from None
    if not (Decimal(0) < value <= HUNDRED):
        raise Invalid(N_("A share is above 0% and at most 100%; '{item}' is not."), item=item)
    return value, (item[:m.start()] + " " + item[m.end():]).strip()


def _chinese_decimal(text: str) -> Decimal:
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return Decimal(text)
    import cn2an  # heavy (~100 ms): loaded the first time a share is written in Chinese numerals

    return Decimal(str(cn2an.cn2an(text, "smart")))


def _fixed(item: str, today: date) -> tuple[Decimal, str]:
    """An amount at the start or the end of the item (`¥200,000 on 2027-01-31`, `发货 20万`)."""
    words = item.split()
    candidates = [(words[0], " ".join(words[1:])), (words[-1], " ".join(words[:-1]))] if len(words) > 1 else []
    m = re.match(r"^([¥￥$]?[\d.,]+(?:万|亿|千|[kKwWmM])?元?)\s*(.*)$", item)  # 20万签约 (no space)
    if m:
        candidates.append((m.group(1), m.group(2)))
    for amount_text, rest in candidates:
        if not rest.strip() or _looks_like_date(amount_text, today):
            continue
        try:
            amount = parse_amount(amount_text)
        except Invalid:
            continue
        if amount <= 0:
            raise Invalid(N_("A milestone's amount must be above 0; '{item}' is not."), item=item)
        return amount, rest
    raise Invalid(N_("Cannot read '{item}' as a milestone: give a share (30%) or an amount (¥200,000) and when it "
                     "falls due (on signing, on delivery, 90 days after acceptance, on 2027-01-31)."), item=item)


def _looks_like_date(text: str, today: date) -> bool:
    if not re.search(r"[-/年月.]", text) or re.fullmatch(r"[¥￥$]?\d[\d,]*(?:\.\d{1,2})?", text):
        return False
    try:
        parse_date(text, today)
    except Invalid:
        return False
    return True


def _trigger(rest: str, item: str, today: date) -> tuple[str, int, date | None]:
    text = " ".join(rest.split())
    text = _TAIL.sub("", _LEAD.sub("", text)).strip()
    for pattern, event_at, days_at in ((_AFTER_ZH, 1, 2), (_AFTER_EN, 2, 1), (_PLUS, 1, 2)):
        m = pattern.match(text)
        if m:
            days = cn_number(m.group(days_at))
            if days is None or not (0 <= days <= MAX_DAYS):
                raise Invalid(N_("'{item}': the days after the event run from 0 to {limit}."), item=item,
                              limit=MAX_DAYS)
            return _EVENT_WORDS[m.group(event_at).lower()], days, None
    m = _EVENT.match(text)
    if m:
        return _EVENT_WORDS[m.group(1).lower()], 0, None
    if text:
        try:
            return DATE, 0, parse_date(text, today)
        except Invalid:
            pass
    raise Invalid(N_("Cannot read when '{item}' falls due: write on signing, on delivery, on acceptance, N days after "
                     "one of them, or a date (签约, 发货, 验收, 验收后90天, 2027-01-31)."), item=item)


def amounts(terms: list[Any], total: Decimal) -> list[Decimal]:
    """Each milestone's amount of a contract of `total`: a share of it, rounded to the cent, or its fixed amount;
    the last share takes what rounding left over, so that they make up the total exactly."""
    out = [m.fixed if m.fixed is not None else (total * m.share / HUNDRED).quantize(CENT, ROUND_HALF_UP)
           for m in terms]
    shared = [i for i, m in enumerate(terms) if m.fixed is None]
    if shared and check_total(terms, total) is None:
        out[shared[-1]] += total - sum(out, Decimal(0))
    return out


def check_total(terms: list[Any], total: Decimal, currency: str = "CNY") -> Msg | None:
    """None when the milestones make up the contract's amount exactly; else why not, as a message."""
    shares = sum((m.share for m in terms if m.share is not None), Decimal(0))
    fixed = sum((m.fixed for m in terms if m.fixed is not None), Decimal(0))
    if fixed == 0:
        if shares == HUNDRED:
            return None
        return Msg(N_("The shares add up to {sum}%, not 100%."), {"sum": _plain(shares)})
    if shares == 0:
        if fixed == total:
            return None
        return Msg(N_("The amounts add up to {sum}, not the contract's {amount}."),
                   {"sum": Money(fixed, currency), "amount": Money(total, currency)})
    if shares < HUNDRED and (total * (HUNDRED - shares) / HUNDRED).quantize(CENT) == fixed:
        return None
    return Msg(N_("The shares ({shares}%) and the amounts ({sum}) do not make up the contract's {amount}."),
               {"shares": _plain(shares), "sum": Money(fixed, currency), "amount": Money(total, currency)})


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def shown_share(m: Any, currency: str) -> Any:
    """A milestone's share (30%) or amount (¥200,000.00), for a message."""
    return f"{_plain(m.share)}%" if m.fixed is None and m.share is not None else Money(m.fixed, currency)


TRIGGER_TEXT = {
    SIGNING: N_("{share} on signing"),
    DELIVERY: N_("{share} on delivery"),
    ACCEPTANCE: N_("{share} on acceptance"),
}
TRIGGER_AFTER_TEXT = {
    SIGNING: N_("{share} {days} days after signing"),
    DELIVERY: N_("{share} {days} days after delivery"),
    ACCEPTANCE: N_("{share} {days} days after acceptance"),
}


def describe(m: Any, currency: str) -> Msg:
    """One milestone in the reader's words: `30% on signing`, `30% 签约`, `10% 验收后90天`."""
    share = shown_share(m, currency)
    if m.trigger == DATE:
        return Msg(N_("{share} on {date}"), {"share": share, "date": m.on_date})
    if m.days:
        return Msg(TRIGGER_AFTER_TEXT[m.trigger], {"share": share, "days": m.days})
    return Msg(TRIGGER_TEXT[m.trigger], {"share": share})


def describe_all(terms: list[Any], currency: str) -> Msg | None:
    """The whole terms as one message (each milestone, joined in the reader's way), or None when there are none."""
    if not terms:
        return None
    out = describe(terms[-1], currency)
    for m in reversed(terms[:-1]):
        out = Msg(N_("{first}, {rest}"), {"first": describe(m, currency), "rest": out})
    return out


def render(msg: Msg | None) -> str:
    """A message in the current reader's language (what a reply or an error shows)."""
    return "—" if msg is None else str(decode(encode(msg), "UTC"))
