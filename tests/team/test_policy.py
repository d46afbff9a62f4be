"""The policy text format and the hours argument: what admins type reads back the same, bad input is refused."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.approvals.policy import DEFAULT_RULES, OPS, Step, format_chain, from_rules, parse_chain
from domain.kernel.errors import Invalid
from domain.kernel.vocab import ROLES
from handlers.approvals.requests import parse_hours

pytestmark = pytest.mark.fast  # no database: approval chains and thresholds

roles = st.sampled_from([*ROLES.labels, "supervisor"])
conditions = st.one_of(st.none(), st.tuples(st.sampled_from(["amount", "days"]), st.sampled_from(OPS),
                                            st.integers(min_value=0, max_value=10**11)))
steps = st.builds(lambda r, c: Step(r) if c is None else Step(r, c[0], c[1], Decimal(c[2])), roles, conditions)


@given(st.lists(steps, min_size=1, max_size=8))
def test_format_then_parse_gives_the_same_chain(chain: list[Step]) -> None:
    assert parse_chain(format_chain(chain)) == chain
    assert [Step.from_data(s.as_data()) for s in chain] == chain


@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_clearly(text: str) -> None:
    try:
        chain = parse_chain(text)
    except Invalid as exc:
        assert exc.msgid
    else:
        assert 1 <= len(chain) <= 8


def test_chinese_roles_arrows_and_units() -> None:
    chain = parse_chain("业务经理 → 法务 → 部门负责人 if amount >= 50万")
    assert chain == [Step("manager"), Step("legal"), Step("head", "amount", ">=", Decimal(500000))]
    assert parse_chain("上级, manager when days > 3") == [Step("supervisor"), Step("manager", "days", ">", Decimal(3))]
    for bad in ("", "manager if color > 3", "manager if amount >= lots", "boss", ",".join(["manager"] * 9)):
        with pytest.raises(Invalid):
            parse_chain(bad)


def test_thresholds_apply_at_the_boundary() -> None:
    policy = from_rules(0, DEFAULT_RULES)
    head = policy.chains["contract"][2]
    assert head.applies({"amount": Decimal(500000)}) and not head.applies({"amount": Decimal("499999.99")})
    assert not policy.chains["leave"][1].applies({"days": Decimal(3)})
    assert policy.chains["leave"][1].applies({"days": Decimal(4)})
    assert not head.applies({"amount": None})


@given(st.integers(min_value=1, max_value=1440))
def test_hours_read_back(hours: int) -> None:
    assert parse_hours(str(hours)) == hours == parse_hours(f"{hours}h")
    if hours <= 60:
        assert parse_hours(f"{hours}d") == hours * 24


@given(st.text(max_size=12))
def test_any_hours_text_reads_or_is_refused(text: str) -> None:
    try:
        hours = parse_hours(text)
    except Invalid:
        return
    assert 1 <= hours <= 1440
