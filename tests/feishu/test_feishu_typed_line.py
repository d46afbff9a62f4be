"""Properties of the reduction of a Feishu text or rich-text (post) message to the line that was typed."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feishu.app import typed_line

pytestmark = pytest.mark.fast

BOT = "ou_bot0000000000000000000000000000"
words = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="@"), max_size=12)
spaces = st.sampled_from([" ", "  ", "\t", "\n", "\u3000", " \n "])
names = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Lo")), min_size=1, max_size=8)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str, list[dict], list[str], list[str]]:
    """A message as Feishu delivers it, the words typed, and the names of the people (not the bot) mentioned."""
    parts: list[tuple[str, str]] = []  # ("word", text) or ("at", key)
    mentions: list[dict] = []
    people: list[str] = []
    for i in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            key = f"@_user_{i + 1}"
            to_bot = draw(st.booleans())
            name = "bizbot" if to_bot else draw(names)
            mentions.append({"key": key, "name": name,
                             "id": {"open_id": BOT if to_bot else f"ou_person{i:026d}"}})
            if not to_bot:
                people.append(name)
            parts.append(("at", key))
        else:
            parts.append(("word", draw(words)))
    kind = draw(st.sampled_from(["text", "post"]))
    if kind == "text":
        content = json.dumps({"text": draw(spaces).join(v for _, v in parts)})
    else:
        nodes = [{"tag": "at", "user_id": v} if k == "at" else {"tag": "text", "text": v} for k, v in parts]
        content = json.dumps({"zh_cn": {"title": "", "content": [nodes]}} if draw(st.booleans())
                             else {"title": "", "content": [nodes]})
    typed = [v for k, v in parts if k == "word"]
    return kind, content, mentions, typed, people


@settings(max_examples=300, deadline=None)
@given(messages())
def test_mentions_are_reduced_and_whitespace_normalised(case: tuple) -> None:
    kind, content, mentions, typed, people = case
    found = typed_line(kind, content, mentions, BOT)
    assert found is not None
    line, links, to_bot = found
    assert to_bot == any(m["id"]["open_id"] == BOT for m in mentions)
    assert "@_user_" not in line and BOT not in line            # the bot's mention is gone, keys replaced
    assert line == " ".join(line.split())                        # whitespace normalised
    for name in people:                                           # other people kept, by name
        assert name in line and links[name].startswith("ou_person")
    for word in typed:                                            # every typed word is still there
        for piece in word.split():
            assert piece in line


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["text", "post", "image", "file", ""]), st.text(max_size=60),
       st.lists(st.dictionaries(st.sampled_from(["key", "name", "id", "mentioned_type"]),
                                st.one_of(st.text(max_size=10), st.none(),
                                          st.fixed_dictionaries({"open_id": st.one_of(st.text(max_size=8),
                                                                                      st.none())}))),
                max_size=3),
       st.one_of(st.none(), st.just(BOT)))
def test_never_raises_on_any_content(kind: str, content: str, mentions: list, bot: str | None) -> None:
    found = typed_line(kind, content, mentions, bot)
    if found is not None:
        line, links, to_bot = found
        assert isinstance(line, str) and line == " ".join(line.split())


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.sampled_from(["content", "tag", "text", "user_id",
                                                                             "zh_cn"]), inner, max_size=3)),
                    max_leaves=12))
def test_never_raises_on_any_post_shape(body: object) -> None:
    typed_line("post", json.dumps(body), [], BOT)
    typed_line("text", json.dumps(body), [], BOT)
