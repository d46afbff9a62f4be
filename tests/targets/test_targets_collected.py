"""A target's money collected is read through the figures registry: "not measured" in an application without
the receivables area, and whatever the registered measure says when one is there."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from domain import approvals, crm, reporting, risk, targets, team
from domain.kernel.clock import FakeClock
from domain.kernel.wiring import Wiring
from domain.reporting.figures import MEASURES, Figure, Measure, Scope


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[App]:
    """The application without the receivables area (the `bot` fixture drives it)."""
    wiring = Wiring()
    for area in (reporting, team, risk, crm, approvals, targets):
        area.register(wiring)
    application = bootstrap(Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins=""), clock,
                            wiring=wiring)
    yield application
    application.close()


def test_collected_is_read_through_the_figures_registry_when_something_measures_it(bot, app) -> None:
    def collected(uow, scope: Scope) -> Figure:
        return Figure("collected_value", Decimal(30_000) * len(scope.members or ()), "money")

    bot("/team add alice role=sales", "/target set alice 2026-11 collected=4万")
    assert "collected not measured" in bot("/target")
    app.wiring[MEASURES].add(Measure("collected_value", "Money collected", "money", collected))
    assert "collected CN¥30,000.00 of CN¥40,000.00 (75%)" in bot("/target")
