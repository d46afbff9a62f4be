"""What customer development adds to the application, in one place."""
from __future__ import annotations

from domain.crm import callbacks, care, customers, holidays
from domain.delivery.due import DUE_KINDS, RECURRING, DueKind, Recurring
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.store.models import Callback
from domain.team.agenda import AGENDA_SOURCES, AgendaSource


def register(wiring: Wiring) -> None:
    """Callbacks (due, and on the agenda), the daily customer care, the notice of a year whose holidays are
    unknown, and the leads as a table to export."""
    wiring[DUE_KINDS].add(
        DueKind(callbacks.KIND, callbacks.fire, callbacks.recompute, prefix="CB", owner=callbacks.owner_of,
                label=N_("customer callbacks"), model=Callback),
        DueKind(care.KIND, care.fire, label=N_("customer care (birthdays, holidays)")),
        DueKind(holidays.NOTICE, holidays.notice, label=N_("calendar notices")),
    )
    wiring[RECURRING].add(Recurring(care.KIND, care.next_morning), Recurring(holidays.NOTICE, care.next_morning))
    wiring[AGENDA_SOURCES].add(AgendaSource(callbacks.KIND, N_("Callbacks due"), callbacks.agenda_entries))
    wiring[EXPORT_TABLES].add(ExportTable("leads", N_("leads"), customers.leads_table,
                                          no_dates=N_("The leads export has every lead; it takes no dates.")))
