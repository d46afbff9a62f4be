"""What customer development adds to the application, in one place."""
from __future__ import annotations

from domain.crm import callbacks, care, customers, followup, handover, holidays
from domain.delivery.due import DUE_KINDS, RECURRING, DueKind, Recurring
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.store.models import Callback, Lead
from domain.team.agenda import AGENDA_SOURCES, AgendaSource
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """Callbacks (due, and on the agenda), the daily customer care, the notice of a year whose holidays are
    unknown, leads' next steps (due, and on the agenda) and stale leads (flagged each morning, listed to the
    supervisors each Monday), a leaving member's customers, leads and callbacks handed over, and the leads as a
    table to export."""
    wiring[DUE_KINDS].add(
        DueKind(callbacks.KIND, callbacks.fire, callbacks.recompute, prefix="CB", owner=callbacks.owner_of,
                label=N_("customer callbacks"), model=Callback, prefetch=callbacks.prefetch),
        DueKind(care.KIND, care.fire, label=N_("customer care (birthdays, holidays)")),
        DueKind(holidays.NOTICE, holidays.notice, label=N_("calendar notices")),
        DueKind(followup.STEP, followup.fire_step, followup.step_recompute, prefix="L", owner=followup.lead_owner,
                label=N_("lead next steps"), model=Lead),
        DueKind(followup.STALE, followup.fire_stale, label=N_("stale leads")),
        DueKind(followup.STALE_WEEK, followup.fire_stale_week, label=N_("stale leads: the weekly list")),
    )
    wiring[RECURRING].add(Recurring(care.KIND, care.next_morning), Recurring(holidays.NOTICE, care.next_morning),
                          Recurring(followup.STALE, followup.next_morning),
                          Recurring(followup.STALE_WEEK, followup.next_monday))
    wiring[AGENDA_SOURCES].add(AgendaSource(callbacks.KIND, N_("Callbacks due"), callbacks.agenda_entries),
                               AgendaSource(followup.STEP, N_("Next steps of leads"), followup.agenda_entries))
    wiring[HANDOVERS].add(Handover("crm", handover.hand_over))
    wiring[EXPORT_TABLES].add(ExportTable("leads", N_("leads"), customers.leads_table,
                                          no_dates=N_("The leads export has every lead; it takes no dates.")))
