"""The order parsers: a quantity with its unit, and the department's route — examples and properties."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.kernel.errors import Invalid
from domain.orders.routes import DEFAULT_ROUTE, ROUTABLE, RouteStep, parse_qty, parse_route, route_text

pytestmark = pytest.mark.fast  # no database


@pytest.mark.parametrize(("text", "qty", "unit"), [
    ("100", Decimal(100), None), ("100台", Decimal(100), "台"), ("2.5 t", Decimal("2.5"), "t"),
    ("1,200 pcs", Decimal(1200), "pcs"), ("１００件", Decimal(100), "件"), (" 7 套 ", Decimal(7), "套"),
])
def test_quantities(text: str, qty: Decimal, unit: str | None) -> None:
    assert parse_qty(text) == (qty, unit)


@pytest.mark.parametrize("text", ["", "zero", "-3", "0", "0台", "1.2345", "台100", "1e5", "10000000000000", "5 = 6"])
def test_bad_quantities_are_refused(text: str) -> None:
    with pytest.raises(Invalid):
        parse_qty(text)


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999999999"), places=3),
       st.sampled_from(["", "台", " pcs", "套", " kg"]))
def test_a_written_quantity_reads_back(qty: Decimal, unit: str) -> None:
    assert parse_qty(f"{qty}{unit}") == (qty, unit.strip() or None)


@given(st.text(max_size=30))
def test_any_text_is_a_quantity_or_a_clear_refusal(text: str) -> None:
    try:
        qty, unit = parse_qty(text)
    except Invalid:
        return
    assert Decimal(0) < qty < Decimal(10) ** 12 and (unit is None or 0 < len(unit) <= 20)


def test_routes_in_both_languages() -> None:
    assert parse_route("production:5d, purchasing:3d, quality:2d, shipping:2d") == DEFAULT_ROUTE
    assert parse_route("生产安排:生产:5天，采购协调:采购:3，质量检验:质检:2，发货:物流:2") == DEFAULT_ROUTE
    assert parse_route("质检 → 发货:张师傅 138:1") == (
        RouteStep("quality", "quality", None, 2), RouteStep("shipping", None, "张师傅 138", 1))


@pytest.mark.parametrize(("text", "says"), [
    ("", "needs its steps"), ("shipping, production", "ends with shipping"), ("quality, quality, shipping", "once"),
    ("painting, shipping", "Unknown step"), ("rectify, shipping", "not a routing step"),
    ("production:5d:x, shipping", "number of days"), ("production:0d, shipping", "1 to 365"),
    ("production:a:b:c, shipping", "STEP:OWNER:DAYS"), ('production:a"b, shipping', "neither a role"),
])
def test_bad_routes_are_refused(text: str, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_route(text)
    assert says in refused.value.msgid.format(**{k: str(v) for k, v in refused.value.params.items()})


STEP = st.builds(RouteStep, st.sampled_from(ROUTABLE[:-1]),
                 st.sampled_from([None, "production", "quality", "logistics"]),
                 st.just(None), st.integers(1, 365))


@given(st.lists(STEP, min_size=0, max_size=3, unique_by=lambda s: s.kind), st.integers(1, 365),
       st.sampled_from(["logistics", "王师傅", "Mr Li ext 21"]))
def test_a_route_reads_back_from_its_text(steps: list[RouteStep], days: int, owner: str) -> None:
    ship = RouteStep("shipping", owner if owner == "logistics" else None, None if owner == "logistics" else owner, days)
    route = tuple(RouteStep(s.kind, s.role or {"production": "production", "purchasing": "purchasing",
                                               "quality": "quality"}[s.kind], None, s.days) for s in steps) + (ship,)
    assert parse_route(route_text(route)) == route


@given(st.text(max_size=60))
def test_any_text_is_a_route_or_a_clear_refusal(text: str) -> None:
    try:
        route = parse_route(text)
    except Invalid:
        return
    assert route[-1].kind == "shipping" and all(1 <= s.days <= 365 for s in route)
