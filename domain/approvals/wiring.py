"""What approvals add to the application, in one place."""
from __future__ import annotations

from domain.approvals import contracts, engine, handover, requests
from domain.approvals.engine import REQUEST_TYPES, RequestType
from domain.crm.customers import ARCHIVE_SECTIONS, ArchiveSection
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.reporting.figures import MEASURES, Measure
from domain.team.agenda import AGENDA_SOURCES, AgendaSource
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """The request types the engine decides, reminders and escalations of pending steps, the steps waiting
    for a member on their agenda, a customer's contracts in their archive, the contract ledger to export, and
    the figures of contracts; the steps waiting on a member who leaves are routed again."""
    wiring[REQUEST_TYPES].add(
        RequestType("contract", contracts.describe_contract, contracts.contract_decided),
        RequestType("change", contracts.describe_contract, contracts.change_decided),
        RequestType("expense", requests.describe_expense, requests.expense_decided),
        RequestType("leave", requests.describe_leave, requests.leave_decided),
        RequestType("project", requests.describe_project),  # the requester hears of every decision from the engine
        RequestType("collab", requests.describe_collab),  # the other department is reached outside bizbot
    )
    wiring[DUE_KINDS].add(
        DueKind(engine.NUDGE, engine.nudge, label=N_("approval reminders")),
        DueKind(engine.ESCALATE, engine.escalate, label=N_("approval escalations")),
    )
    wiring[AGENDA_SOURCES].add(AgendaSource("approval", N_("Approvals waiting for me"), engine.agenda_entries))
    wiring[ARCHIVE_SECTIONS].add(ArchiveSection("contracts", N_("Contracts"), 1, contracts.in_archive))
    wiring[EXPORT_TABLES].add(ExportTable("ledger", N_("contract ledger"), contracts.ledger_table))
    wiring[MEASURES].add(
        Measure("contracts_submitted", N_("Contracts submitted"), "count", contracts.contracts_submitted, order=41),
        Measure("contracts_approved", N_("Contracts approved"), "count", contracts.contracts_approved, order=42),
        Measure("contracts_pending", N_("Contracts pending"), "count", contracts.contracts_pending, order=43),
        Measure("contract_value_signed", N_("Contract value signed"), "money", contracts.contract_value_signed,
                order=44),
    )
    wiring[HANDOVERS].add(Handover("approvals", handover.hand_over))
