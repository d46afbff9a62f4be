"""Names and free text lose the characters that show nothing (bidirectional overrides, zero-width characters)
however they come in, and a customer whose name only looks different is the same customer."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import select

from domain.kernel.errors import Invalid
from domain.store.models import Customer, Member, Visit
from handlers.args import Text

TEXT = TypeAdapter(Text)  # a typed value as the commands read it
HIDDEN = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b",
          "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u061c", "\u00ad", "\U000e0041"]


def _shown(text: str) -> bool:
    """Whether every character of `text` is one a reader sees (or plain white space)."""
    return not any(ch in HIDDEN for ch in text)


@pytest.mark.parametrize(("first", "second"), [
    ("Huawei", "ＨＵＡＷＥＩ"),                 # full-width letters
    ("Huawei", "HUAWEI"),
    ("华为", "华为\u200b"),                     # a zero-width space after it
    ("华为", "\u202e华为"),                     # a right-to-left override before it
    ("华为", "华\u2060为"),                     # a word joiner inside it
    ("华为", "华 为"),                          # a space inside it
    ("华为技术", "华为技术\u3000"),             # an ideographic space after it
    ("Acme Ltd", "acme\u00a0ltd"),              # a no-break space
    ("Café", "Cafe\u0301"),                    # the accent as a combining mark
    ("ﬁnance", "finance"),                     # a ligature
])
def test_a_customer_that_only_looks_different_is_caught(bot, app, first: str, second: str) -> None:
    assert "created" in bot(f'/customer new "{first}"')
    out = bot(f'/customer new "{second}"')
    assert f"Customer {first} already exists (C1, owner wang)." in out
    with app.uow() as uow:
        assert uow.session.scalar(select(Customer.name)) == first and len(uow.session.scalars(
            select(Customer)).all()) == 1


def test_names_that_differ_stay_apart(bot) -> None:
    assert "created" in bot("/customer new 华为")
    assert "created" in bot("/customer new 华为技术")
    assert "created" in bot("/customer new Huawei")             # another script: not a look-alike
    assert "(C3)" in bot("/customer show Huawei")


def test_a_hidden_character_is_dropped_from_what_is_kept_and_looked_up(bot, app) -> None:
    out = bot("/customer new Acme\u202eTXT.exe", '/visit "Acme\u200bTXT.exe" note="call\u202e back\u2066 soon\ufeff"',
              "/team add \u2067alice\u2069 role=sales", "/customer show \u200bAcmeTXT.exe")
    assert "Customer AcmeTXT.exe (C1) created" in out and "alice joined" in out and "AcmeTXT.exe (C1)" in out
    with app.uow() as uow:
        assert uow.session.scalar(select(Customer.name)) == "AcmeTXT.exe"
        assert uow.session.scalar(select(Visit.note)) == "call back soon"
        assert uow.session.scalar(select(Member.name).where(Member.name_key == "alice")) == "alice"


def test_a_look_alike_member_is_refused(bot) -> None:
    bot("/team add alice role=sales")
    assert "There is already a member named alice." in bot("/team add ａｌｉｃｅ role=sales")
    assert "There is already a member named wang." in bot("/team add WANG\u200b role=sales")


def test_a_form_loses_hidden_characters_too(bot, app) -> None:
    bot("/customer new Acme")
    ctx = bot.console.actor_ctx()
    reply = app.registry.submit(ctx, app.registry.commands["visit"],
                                {"customer": "\u202dAcme", "note": "pri\u200bcing\u202e"})
    assert not isinstance(reply, dict) and "Visit V1 to Acme recorded" in reply.text, reply
    with app.uow() as uow:
        assert uow.session.scalar(select(Visit.note)) == "pricing"


def test_a_platform_name_loses_hidden_characters_and_cannot_pass_for_another(app) -> None:
    from conftest import ConsoleDriver

    from bot.console.app import PLATFORM, WORKSPACE
    from domain.store.models import Organisation
    from domain.team.members import resolve_member

    first = ConsoleDriver(app, app.clock, user="\u202eWang\u200b")
    assert "Welcome, Wang!" in first.out.getvalue()
    with app.uow() as uow:
        org = uow.session.get(Organisation, first.console.org_id)
        other = resolve_member(uow, org, PLATFORM, WORKSPACE, "u2", "ＷＡＮＧ", frozenset({f"{PLATFORM}:u2"}))
        assert other.member is not None and other.member.name == "ＷＡＮＧ 2"
    with app.uow() as uow:
        assert sorted(uow.session.scalars(select(Member.name))) == ["Wang", "ＷＡＮＧ 2"]


@pytest.mark.fast
@given(st.text(alphabet=st.one_of(st.sampled_from(HIDDEN), st.characters()), max_size=40))
@settings(max_examples=300)
def test_any_typed_value_is_kept_without_hidden_characters(value: str) -> None:
    try:
        kept = TEXT.validate_python(value)
    except Invalid:
        return
    assert kept and _shown(kept) and kept == kept.strip()
