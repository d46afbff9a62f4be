"""What risk management adds to the application, in one place."""
from __future__ import annotations

from domain.delivery.due import DUE_KINDS, RECURRING, DueKind, Recurring
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.figures import MEASURES, Measure
from domain.risk import entries as risks
from domain.risk import indicators


def register(wiring: Wiring) -> None:
    """A level is shown with its record and warned of when raised, in the same transaction. The automatic
    indicators are checked as due items when their records change or a time falls due; the monthly risk review
    reminds the managers; the risk event rate is a figure (digest, /kpi risk)."""
    wiring[DUE_KINDS].add(
        DueKind(indicators.KIND, indicators.fire, label=N_("risk indicator checks")),
        DueKind(risks.REVIEW, risks.fire_review, label=N_("monthly risk review")),
    )
    wiring[RECURRING].add(Recurring(risks.REVIEW, risks.first_review))
    wiring[indicators.RISK_INDICATORS].add(*indicators.BUILT_IN)
    wiring[MEASURES].add(Measure("risk_event_rate", N_("Risk event rate"), "rate", risks.risk_event_rate, order=90))
