"""What approvals add to the application, in one place."""
from __future__ import annotations

from domain.approvals import engine
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.team.agenda import AGENDA_SOURCES, AgendaSource


def register(wiring: Wiring) -> None:
    """Reminders and escalations of pending steps, and the steps waiting for a member on their agenda."""
    wiring[DUE_KINDS].add(
        DueKind(engine.NUDGE, engine.nudge, label=N_("approval reminders")),
        DueKind(engine.ESCALATE, engine.escalate, label=N_("approval escalations")),
    )
    wiring[AGENDA_SOURCES].add(AgendaSource("approval", N_("Approvals waiting for me"), engine.agenda_entries))
