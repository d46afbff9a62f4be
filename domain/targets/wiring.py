"""What targets add to the application, in one place."""
from __future__ import annotations

from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.figures import MEASURES, Measure
from domain.targets import targets


def register(wiring: Wiring) -> None:
    """Target completion as a figure: in the weekly digest (the month to date) and for appraisal templates."""
    wiring[MEASURES].add(Measure("target_completion", N_("Target completion (contract value signed)"), "rate",
                                 targets.target_completion, order=48))
