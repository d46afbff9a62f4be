"""What complaint handling adds to the application, in one place."""
from __future__ import annotations

from domain.complaints import cases
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring


def register(wiring: Wiring) -> None:
    """The deadlines and escalation ladder of open complaints."""
    wiring[DUE_KINDS].add(DueKind(cases.KIND, cases.fire, label=N_("complaint deadlines and escalations")))
