"""Locale follows the reader: a ContextVar holds the locale of whoever the text is for.

Catalogs are read from ``locales/*/LC_MESSAGES/bizbot.po`` and compiled in memory on first
use, so a clean clone needs no compile step.
"""
from __future__ import annotations

import gettext
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    format_time,
    get_datetime_format,
)
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

NO_YEAR = 1904  # a leap year: a birthday given without its year (3月5日, 2月29日) is kept in it
LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "bizbot"
SUPPORTED = ("en", "zh")
_CATALOG_DIRS = {"en": "en", "zh": "zh_Hans"}
_BABEL_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}
_ALIASES = {
    "en": "en", "english": "en", "en_us": "en", "en-us": "en", "en_gb": "en", "en-gb": "en",
    "zh": "zh", "cn": "zh", "zh_cn": "zh", "zh-cn": "zh", "zh_hans": "zh", "zh-hans": "zh",
    "chinese": "zh", "中文": "zh", "简体中文": "zh", "汉语": "zh", "英文": "en", "英语": "en", "中文简体": "zh",
}

_current: ContextVar[str] = ContextVar("bizbot_locale", default="en")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, in the reader's locale."""
    return message


def normalize_locale(value: str | None) -> str | None:
    """Map what people and platforms call a language to one of SUPPORTED, or None."""
    if not value:
        return None
    key = value.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    head = key.replace("-", "_").split("_")[0]
    return head if head in SUPPORTED else None


@cache
def translations(locale: str) -> gettext.NullTranslations:
    po = LOCALES_DIR / _CATALOG_DIRS.get(locale, locale) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=_BABEL_LOCALES.get(locale, locale))
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def first_language(platform_locale: str | None, name: str) -> str:
    """The language to greet someone in when nobody chose one: their platform's (a Slack profile's locale, a
    Telegram client's language), else the script of their name (王经理 reads Chinese), else English."""
    return normalize_locale(platform_locale) or ("zh" if _HAN.search(name or "") else "en")


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    chosen = normalize_locale(locale) or "en"
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def _(message: str) -> str:
    return translations(_current.get()).gettext(message)


def translate(msgid: str) -> str:
    """Translate a message id held in a variable (marked with N_ where it was written)."""
    return translations(_current.get()).gettext(msgid)


class Label(str):
    """A parameter that is itself a message id, translated for whoever reads the message."""

    __slots__ = ()


class Labels(tuple):
    """Several labels, translated and listed for the reader as alternatives ("admin or manager",
    "管理员或经理")."""

    __slots__ = ()


class Choices(tuple):
    """Values a person types, listed for the reader as alternatives as they are, untranslated ("1h or
    tomorrow", "1h或tomorrow")."""

    __slots__ = ()


def localize(value: object) -> object:
    if isinstance(value, Label):
        return translate(value)
    if isinstance(value, Labels):
        return format_list([translate(v) for v in value], style="or", locale=babel_locale())
    if isinstance(value, Choices):
        return format_list(list(value), style="or", locale=babel_locale())
    if isinstance(value, date) and not isinstance(value, datetime):
        return fmt_date(value)
    return value


def fmt_list(items: list[str] | tuple[str, ...]) -> str:
    """Names or labels as the reader's language lists them ("alice, bob, and carol", "小李、小王和小张")."""
    return format_list(list(items), locale=babel_locale()) if items else ""


def sentences(*parts: str) -> str:
    """Join sentences the way the reader's script does (no space between Chinese sentences)."""
    return ("" if _current.get() == "zh" else " ").join(p for p in parts if p)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def babel_code(locale: str | None = None) -> str:
    """babel's name for a language of bizbot's (the current one by default)."""
    return _BABEL_LOCALES.get(locale or _current.get(), "en_US")


def babel_locale(locale: str | None = None) -> Locale:
    return _babel_locale(babel_code(locale))


@cache
def _babel_locale(code: str) -> Locale:
    """One Locale per language, parsed once: every date and amount in a reply is formatted through it."""
    return Locale.parse(code)


def fmt_date(value: date) -> str:
    return format_date(value, format="medium", locale=babel_locale())


def fmt_birthday(value: date) -> str:
    """A birthday: without a year when none was given (domain.kernel.dates.NO_YEAR): "Mar 5", "3月5日"."""
    if value.year == NO_YEAR:
        return format_skeleton("MMMd", value, locale=babel_locale())
    return fmt_date(value)


def fmt_date_range(first: date, last: date) -> str:
    """A span of days, as the reader's locale writes one ("Feb 6 – 12, 2027", "2027年2月6日至12日")."""
    if first == last:
        return fmt_date(first)
    return format_interval(first, last, skeleton="yMMMd", locale=babel_locale())


def fmt_datetime(value: datetime, tz: str) -> str:
    """A moment in the reader's locale, to the minute: bizbot's times are minutes (a deadline at 14:00,
    a meeting at 09:30), so the seconds of babel's medium format ("2:00:00 PM") would only be noise."""
    locale = babel_locale()
    local = value.astimezone(ZoneInfo(tz))
    # babel types the pattern as a DateTimePattern; it is the locale's "{1}, {0}" string
    return str(get_datetime_format("medium", locale=locale)).format(
        format_time(local, "short", locale=locale), format_date(local, "medium", locale=locale))


def fmt_money(amount: Decimal | int | float, currency: str) -> str:
    return _money(amount, currency, babel_code())


@lru_cache(maxsize=4096)
def _money(amount: Decimal | int | float, currency: str, locale: str) -> str:
    """babel's currency formatting is exact but slow (a pattern applied from scratch each time); a list or a
    digest shows the same amounts again and again, so each is formatted once per locale (a pure function),
    the locale keyed by its code (naming a babel Locale as a string costs more than the cache saves)."""
    return format_currency(amount, currency, locale=_babel_locale(locale))


def fmt_number(value: Decimal | int | float) -> str:
    return format_decimal(value, locale=babel_locale())


def fmt_percent(value: float) -> str:
    return format_percent(value, locale=babel_locale())


def sort_key(text: str) -> tuple[tuple[str, ...], str]:
    """How the reader's language orders names: a Chinese reader's by pinyin (阿里, 百度, 华为 — not by code
    point, which puts 华为 first), anyone else's by letters, case aside."""
    return _pinyin_key(text) if _current.get() == "zh" else ((text.casefold(),), text)


def sorted_for_reader(items: list[str] | tuple[str, ...]) -> list[str]:
    """Names in the reader's order (sort_key)."""
    return sorted(items, key=sort_key)


@lru_cache(maxsize=8192)
def _pinyin_key(text: str) -> tuple[tuple[str, ...], str]:
    from pypinyin import Style, lazy_pinyin  # heavy (~150 ms, its dictionaries): loaded when names are sorted

    # each character its own syllable with its tone number (hua2), so 华为 sorts before 华夏 by tone, then
    # by the character; letters and digits keep their place among the syllables
    return tuple(s.casefold() for s in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)), text


_NATIVE_NAMES = {"en": "English", "zh": "简体中文"}


def lang_name(locale: str) -> str:
    """A language by its own name, as language pickers show it."""
    return _NATIVE_NAMES.get(locale, locale)
