"""What approvals add to the application, in one place."""
from __future__ import annotations

from domain.approvals import engine
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring


def register(wiring: Wiring) -> None:
    """Reminders and escalations of pending steps."""
    wiring[DUE_KINDS].add(
        DueKind(engine.NUDGE, engine.nudge, label=N_("approval reminders")),
        DueKind(engine.ESCALATE, engine.escalate, label=N_("approval escalations")),
    )
