"""Argument types shared by the commands: each reads what people type and says clearly when it can't."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, GetCoreSchemaHandler, ValidationInfo
from pydantic.fields import FieldInfo
from pydantic_core import core_schema

from domain.kernel.dates import (
    in_range,
    not_future,
    not_past,
    parse_birthday,
    parse_date,
    parse_days,
)
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, normalize_locale
from domain.kernel.money import parse_amount, parse_currency
from domain.kernel.text import visible
from domain.kernel.vocab import (
    CREDIT_RATINGS,
    LEVELS,
    RISKS,
    SCALES,
    SOURCES,
    STAGES,
    VISIT_CHANNELS,
    Vocabulary,
)
from handlers.parsing import CONTROL


@dataclass(frozen=True)
class Widget:
    """How a form should ask for a field: `date`, `choice` (with choices), `member`, `customer`, `longtext`.

    Platform-neutral hints for the adapters that build forms (Slack modals, Telegram conversations).
    """

    kind: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, label msgid)


@dataclass(frozen=True, eq=False)
class OneOf:
    """A field taking one of a vocabulary's choices: its key, its label in either language or an alias.

    Metadata of an `Annotated[str, OneOf(vocab)]` field: pydantic reads the value with the vocabulary before
    validating it, and forms offer the vocabulary's choices.
    """

    vocab: Vocabulary

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(lambda v: self.vocab.parse(str(v)), handler(source))


def _widget(meta: Any) -> Widget | None:
    if isinstance(meta, OneOf):
        return choices_of(meta.vocab)
    return meta if isinstance(meta, Widget) else None


def widget_of(info: FieldInfo) -> Widget | None:
    """The form hint of a field, also when it is optional (`Annotated[...] | None`)."""
    metadata = list(info.metadata)
    for arg in get_args(info.annotation):
        metadata += getattr(arg, "__metadata__", ())
    found = [w for w in map(_widget, metadata) if w is not None]
    return found[0] if found else None


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text(value: Any) -> str:
    # a form's fields do not pass through the line parser, which drops control and invisible characters;
    # drop them here too
    text = visible(CONTROL.sub("", str(value))).strip()
    if not text:
        raise Invalid(N_("A value is empty."))
    if len(text) > 2000:
        raise Invalid(N_("A value is too long (at most {limit} characters)."), limit=2000)
    return text


def today_of(info: ValidationInfo) -> date:
    """The actor's today, which every command's arguments are validated with (as context)."""
    assert info.context is not None, "arguments are validated with the actor's today as context"
    today: date = info.context["today"]
    return today


def _date(value: Any, info: ValidationInfo) -> date:
    if isinstance(value, date):
        return in_range(value.date() if isinstance(value, datetime) else value, today_of(info))
    return parse_date(str(value), today_of(info))


def _next_date(value: Any, info: ValidationInfo) -> date:
    """A date that means "next" (a next step, a follow-up, a deadline): a day that has passed is refused."""
    today = today_of(info)
    return not_past(_date(value, info), today, None if isinstance(value, date) else str(value))


def _past_date(value: Any, info: ValidationInfo) -> date:
    """The day something happened (a visit recorded afterwards): a date without its year is the last such day,
    and a day to come is refused."""
    today = today_of(info)
    if isinstance(value, date):
        return not_future(_date(value, info), today)
    return not_future(parse_date(str(value), today, prefer="past"), today, str(value))


def _birthday(value: Any, info: ValidationInfo) -> date:
    if isinstance(value, date):
        return in_range(value.date() if isinstance(value, datetime) else value, today_of(info))
    return parse_birthday(str(value), today_of(info))


def _money(value: Any) -> Decimal:
    return parse_amount(str(value))


def _currency(value: Any) -> str:
    return parse_currency(str(value))


def _score(value: Any) -> int:
    raw = str(value).strip()
    if not re.fullmatch(r"[1-5]", raw):
        raise Invalid(N_("Scores run from 1 to 5; '{text}' is not one."), text=value)
    return int(raw)


def _email(value: Any) -> str:
    raw = str(value).strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", raw) or len(raw) > 200:
        raise Invalid(N_("'{text}' is not an e-mail address."), text=value)
    return raw


def _phone(value: Any) -> str:
    raw = str(value).strip()
    if not re.fullmatch(r"\+?[\d\s()\-]{5,30}", raw):
        raise Invalid(N_("'{text}' is not a phone number."), text=value)
    return raw


def _credit(value: Any) -> str:
    raw = str(value).strip().upper()
    if raw not in CREDIT_RATINGS:
        raise Invalid(
            N_("Unknown credit rating '{text}'. Choose one of: {choices}."),
            text=value, choices=", ".join(CREDIT_RATINGS),
        )
    return raw


def _lang(value: Any) -> str:
    lang = normalize_locale(str(value))
    if lang is None:
        raise Invalid(N_("Unknown language '{lang}'. Choose en or zh."), lang=value)
    return lang


def choice(vocab: Vocabulary) -> BeforeValidator:
    return BeforeValidator(lambda v: vocab.parse(str(v)))


def choices_of(vocab: Vocabulary) -> Widget:
    return Widget("choice", tuple(vocab.labels.items()))


Text = Annotated[str, BeforeValidator(_text)]
DateArg = Annotated[date, BeforeValidator(_date), Widget("date")]
NextDate = Annotated[date, BeforeValidator(_next_date), Widget("date")]  # today or later
PastDate = Annotated[date, BeforeValidator(_past_date), Widget("date")]  # today or earlier
Birthday = Annotated[date, BeforeValidator(_birthday), Widget("date")]
Money = Annotated[Decimal, BeforeValidator(_money)]
Currency = Annotated[str, BeforeValidator(_currency)]
Days = Annotated[int, BeforeValidator(lambda v: parse_days(str(v)))]
Score = Annotated[int, BeforeValidator(_score), Widget("choice", tuple((str(i), str(i)) for i in range(1, 6)))]
Email = Annotated[str, BeforeValidator(_email)]
Phone = Annotated[str, BeforeValidator(_phone)]
Credit = Annotated[str, BeforeValidator(_credit), Widget("choice", tuple((c, c) for c in CREDIT_RATINGS))]
Lang = Annotated[str, BeforeValidator(_lang), Widget("choice", (("en", "English"), ("zh", "简体中文")))]


_SCOPE_LABELS = {"mine": N_("mine"), "team": N_("my team"), "all": N_("all"), "open": N_("in progress"),
                 "overdue": N_("overdue"), "pending": N_("pending"), "signed": N_("signed"),
                 "waiting": N_("waiting for me")}
_SCOPE_ALIASES = {"我的": "mine", "我": "mine", "自己": "mine", "团队": "team", "我的团队": "team", "本组": "team",
                  "全部": "all", "所有": "all", "处理中": "open", "未结": "open", "超时": "overdue",
                  "逾期": "overdue", "已逾期": "overdue", "审批中": "pending", "待审批": "pending", "已签": "signed",
                  "已签订": "signed", "签约": "signed", "待我审批": "waiting", "待审": "waiting", "待办": "waiting",
                  "team's": "team"}


def scope(*keys: str) -> OneOf:
    """What a list command shows: some of mine, team, all, open, overdue, pending, signed, waiting."""
    return OneOf(Vocabulary(N_("scope"), {k: _SCOPE_LABELS[k] for k in keys},
                            {alias: k for alias, k in _SCOPE_ALIASES.items() if k in keys}))


Stage = Annotated[str, choice(STAGES), choices_of(STAGES)]
Source = Annotated[str, choice(SOURCES), choices_of(SOURCES)]
Channel = Annotated[str, choice(VISIT_CHANNELS), choices_of(VISIT_CHANNELS)]
Level = Annotated[str, choice(LEVELS), choices_of(LEVELS)]
Scale = Annotated[str, choice(SCALES), choices_of(SCALES)]
Risk = Annotated[str, choice(RISKS), choices_of(RISKS)]
def _channel(value: Any) -> str:
    """A chat channel as people write it: `#sales` or `sales`, a channel id, a chat id."""
    text = _text(value).removeprefix("#").strip()
    if not text:
        raise Invalid(N_("A value is empty."))
    return text


ChannelRef = Annotated[str, BeforeValidator(_channel)]
CustomerRef = Annotated[str, BeforeValidator(_text), Widget("customer")]
MemberName = Annotated[str, BeforeValidator(_text), Widget("member")]
LongText = Annotated[str, BeforeValidator(_text), Widget("longtext")]


_NAME_SEPARATORS = re.compile(r"[,，、;；\s]+")


def parse_names(value: Any) -> list[str]:
    """Members' names as a list: `alice,bob`, `alice、bob`, `alice bob`; each name once, at most 30."""
    raw = value if isinstance(value, list) else _NAME_SEPARATORS.split(_text(value))
    names = list(dict.fromkeys(n for n in (visible(CONTROL.sub("", str(v))).strip() for v in raw) if n))
    if not names:
        raise Invalid(N_("A value is empty."))
    if len(names) > 30:
        raise Invalid(N_("At most {limit} names."), limit=30)
    return names


Names = Annotated[list[str], BeforeValidator(parse_names), Widget("longtext")]
