"""What approvals add to the application, in one place."""
from __future__ import annotations

from domain.approvals import contracts, engine
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.figures import MEASURES, Measure
from domain.team.agenda import AGENDA_SOURCES, AgendaSource


def register(wiring: Wiring) -> None:
    """Reminders and escalations of pending steps, the steps waiting for a member on their agenda, and the
    figures of contracts."""
    wiring[DUE_KINDS].add(
        DueKind(engine.NUDGE, engine.nudge, label=N_("approval reminders")),
        DueKind(engine.ESCALATE, engine.escalate, label=N_("approval escalations")),
    )
    wiring[AGENDA_SOURCES].add(AgendaSource("approval", N_("Approvals waiting for me"), engine.agenda_entries))
    wiring[MEASURES].add(
        Measure("contracts_submitted", N_("Contracts submitted"), "count", contracts.contracts_submitted, order=41),
        Measure("contracts_approved", N_("Contracts approved"), "count", contracts.contracts_approved, order=42),
        Measure("contracts_pending", N_("Contracts pending"), "count", contracts.contracts_pending, order=43),
        Measure("contract_value_signed", N_("Contract value signed"), "money", contracts.contract_value_signed,
                order=44),
    )
