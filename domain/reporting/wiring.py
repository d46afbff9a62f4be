"""The measures reporting has of its own, in one place."""
from __future__ import annotations

from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting import figures
from domain.reporting.figures import MEASURES, Measure


def register(wiring: Wiring) -> None:
    """The figures of customers, leads, visits and callbacks (with the satisfaction scores callbacks record)."""
    wiring[MEASURES].add(
        Measure("new_customers", N_("New customers"), "count", figures.new_customers, order=10),
        Measure("new_leads", N_("New leads"), "count", figures.new_leads, order=20),
        Measure("visits", N_("Visits"), "count", figures.visits, order=30),
        Measure("stage_moves", N_("Stage moves"), "count", figures.stage_moves, order=40),
        Measure("negotiation_success", N_("Negotiation success rate"), "rate", figures.negotiation_success,
                order=50, digest=False),
        Measure("callbacks_due", N_("Callbacks due"), "count", figures.callbacks_due, order=60),
        Measure("callbacks_done", N_("Callbacks done"), "count", figures.callbacks_done, order=70),
        Measure("callback_completion", N_("Callback completion rate"), "rate", figures.callback_completion,
                order=80, digest=False),
        Measure("satisfaction_rate", N_("Customer satisfaction rate"), "rate", figures.satisfaction_rate, order=82),
        Measure("satisfaction_average", N_("Average satisfaction score"), "count", figures.satisfaction_average,
                order=83, digest=False),
    )
