"""What receivables add to the application, in one place."""
from __future__ import annotations

from domain.approvals.contracts import FOLLOW_UPS, FollowUp
from domain.approvals.engine import REQUEST_TYPES, RequestType
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.receivables import ageing, invoices, milestones
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.reporting.figures import MEASURES, Measure
from domain.risk.indicators import RISK_INDICATORS, Indicator
from domain.team.agenda import AGENDA_SOURCES, AgendaSource
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """A contract's payment terms and what follows them: the milestones fall due on the contract's events
    (signed, delivered, accepted) and show in its view, its approval card and the ledger; a contract is
    submitted with its terms unless the department's policy makes them optional; invoices are requests on
    the approval engine; open milestones are reminded and escalated, and raise their customer's risk past the
    department's age; receivables on the agenda (finance: invoices to issue), as a table to export, in the
    figures (回款额, 回款率, 逾期账款率), and handed over when their owner leaves."""
    wiring[FOLLOW_UPS].add(FollowUp(
        "receivables", on_event=milestones.on_event, parts=milestones.contract_parts,
        columns=milestones.LEDGER_COLUMNS, money=(False, True, True, True), values=milestones.ledger_values,
        check_submit=milestones.check_submit, terms=milestones.terms_text))
    wiring[REQUEST_TYPES].add(RequestType("invoice", invoices.describe_invoice, invoices.invoice_decided))
    wiring[DUE_KINDS].add(DueKind(milestones.KIND, milestones.fire, recompute=milestones.recompute,
                                  label=N_("payment reminders and overdue escalations")))
    wiring[AGENDA_SOURCES].add(
        AgendaSource("invoice", N_("Invoices to issue"), invoices.agenda_entries),
        AgendaSource(milestones.KIND, N_("Payments due and overdue"), ageing.agenda_entries))
    wiring[EXPORT_TABLES].add(ExportTable("receivables", N_("receivables"), ageing.receivables_table,
                                          no_dates=N_("The receivables are exported as they stand today, without "
                                                      "dates.")))
    wiring[HANDOVERS].add(Handover("receivables", ageing.hand_over))
    wiring[RISK_INDICATORS].add(Indicator(milestones.INDICATOR, N_("receivables overdue"), "C",
                                          milestones.overdue_reading))
    wiring[MEASURES].add(
        Measure("collected_value", N_("Collected value"), "money", ageing.collected_value, order=48),
        Measure("overdue_value", N_("Overdue receivables"), "money", ageing.overdue_value, order=49),
        Measure("collection_rate", N_("Collection rate"), "rate", ageing.collection_rate, order=54, digest=False),
        Measure("overdue_rate", N_("Overdue receivables rate"), "rate", ageing.overdue_rate, order=55),
    )
