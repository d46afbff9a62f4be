"""What complaint handling adds to the application, in one place."""
from __future__ import annotations

from domain.complaints import cases
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.team.agenda import AGENDA_SOURCES, AgendaSource


def register(wiring: Wiring) -> None:
    """The deadlines and escalation ladder of open complaints, and a member's open complaints on their agenda."""
    wiring[DUE_KINDS].add(DueKind(cases.KIND, cases.fire, label=N_("complaint deadlines and escalations")))
    wiring[AGENDA_SOURCES].add(AgendaSource(cases.KIND, N_("Complaints"), cases.agenda_entries))
