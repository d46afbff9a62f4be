"""The figures registry: counts and rates over local-day periods, per member set."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from domain.kernel.i18n import use_locale
from domain.reporting import figures
from domain.reporting.figures import Scope
from domain.store.models import Member


def test_builtin_figures_on_a_known_week(bot, app) -> None:
    bot("/team add alice role=sales", "/team add bob role=sales")
    bot(":as alice", "/customer new Acme", "/customer new Beta", "/lead new Acme", "/lead new Beta",
        "/lead stage L1 negotiation", "/lead stage L2 negotiation", "/lead stage L1 won",
        '/lead stage L2 lost reason="price"', '/visit Acme note=x next=2026-11-25', "/visit Beta note=y")
    bot(":as bob", "/customer new Gamma", "/visit Gamma note=z")
    with app.uow() as uow:
        ids = dict(uow.session.execute(select(Member.name, Member.id)).all())
    week = Scope(org_id=1, first=date(2026, 11, 23), end_day=date(2026, 11, 30), tz="Asia/Shanghai")
    alice = Scope(org_id=1, first=week.first, end_day=week.end_day, tz=week.tz, members=frozenset({ids["alice"]}))
    bot(":as alice", '/callback done CB3 result="called"')  # the visit's callback, due on the 25th
    with app.uow() as uow:
        dept = figures.compute(uow, week)
        mine = figures.compute(uow, alice)
        before = figures.compute(uow, week.previous())
    assert dept["new_customers"].value == 3 and mine["new_customers"].value == 2
    assert dept["new_leads"].value == 2 and dept["visits"].value == 3 and mine["visits"].value == 2
    assert mine["stage_moves"].value == 4  # two to negotiation, one won, one lost
    assert mine["negotiation_success"].value == 0.5
    assert before["visits"].value == 0 and before["negotiation_success"].value is None
    assert week.previous().first == date(2026, 11, 16)
    with use_locale("en"):
        assert mine["negotiation_success"].shown() == "50%"
        assert mine["negotiation_success"].explain() == "1 won of 2 leads closed after reaching negotiation"
        assert before["negotiation_success"].shown() == "—"
    with use_locale("zh"):
        assert app.wiring[figures.MEASURES]["visits"].label and mine["visits"].explain()
    done = mine["callbacks_done"].value
    assert done == 1 and mine["callback_completion"].value is not None
