"""What the weekly meeting adds to the application, in one place."""
from __future__ import annotations

from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.meeting import handover, weekly
from domain.store.models import ActionItem
from domain.team.agenda import AGENDA_SOURCES, AgendaSource
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """The meeting's three weekly jobs, and its action items (due, on their owner's agenda, and handed over when
    their owner leaves)."""
    wiring[DUE_KINDS].add(
        DueKind(weekly.ASK, weekly.fire_ask, weekly.recompute, label=N_("weekly meeting: requests for updates")),
        DueKind(weekly.NUDGE, weekly.fire_nudge, weekly.recompute, label=N_("weekly meeting: reminders to answer")),
        DueKind(weekly.MEETING, weekly.fire_meeting, weekly.recompute, label=N_("weekly meeting: the digest"),
                alone=True),
        DueKind(weekly.ACTION, weekly.fire_action, weekly.action_recompute, prefix="A", owner=weekly.action_owner,
                label=N_("meeting action items"), model=ActionItem),
    )
    wiring[AGENDA_SOURCES].add(AgendaSource(weekly.ACTION, N_("Action items"), weekly.agenda_entries))
    wiring[HANDOVERS].add(Handover("meeting", handover.hand_over))
