"""Splitting a long reply into Telegram messages: within the limit, nothing lost, breaks at line ends."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.render import split

pytestmark = pytest.mark.fast  # no database: rendering replies as Telegram HTML

LINES = st.lists(st.text(alphabet=st.sampled_from("ab 中\n"), max_size=120), max_size=30)


def _visible(text: str) -> str:
    return "".join(text.split())


@given(LINES, st.integers(min_value=8, max_value=200))
def test_every_part_fits_and_no_character_is_lost(lines: list[str], limit: int) -> None:
    parts = split(lines, limit)
    assert parts and all(len(part) <= limit for part in parts)
    assert _visible("".join(parts)) == _visible("".join(lines))


@given(st.lists(st.text(alphabet="ab", min_size=1, max_size=20), min_size=1, max_size=60))
def test_a_long_text_breaks_between_its_lines(words: list[str]) -> None:
    text = "\n".join(words)
    parts = split([text], 50)
    assert "\n".join(parts) == text
