"""What complaint handling adds to the application, in one place."""
from __future__ import annotations

from domain.complaints import cases, handover, requests
from domain.crm.customers import ARCHIVE_SECTIONS, ArchiveSection
from domain.crm.handover import OWNER_MOVES, OwnerMove
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.reporting.figures import MEASURES, Measure
from domain.team.agenda import AGENDA_SOURCES, AgendaSource
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """The deadlines and escalation ladder of open complaints, a member's open complaints on their agenda,
    a customer's complaints in their archive, the complaints as a table to export, and the complaint figures
    (KPIs); through a hand-over, open complaints go to whoever can serve the customer."""
    wiring[DUE_KINDS].add(DueKind(cases.KIND, cases.fire, label=N_("complaint deadlines and escalations")),
                          DueKind(requests.KIND, requests.fire, label=N_("replies promised to enquiries")))
    wiring[AGENDA_SOURCES].add(AgendaSource(cases.KIND, N_("Complaints"), cases.agenda_entries))
    wiring[ARCHIVE_SECTIONS].add(ArchiveSection("complaints", N_("Complaints"), 2, cases.in_archive))
    wiring[OWNER_MOVES].add(OwnerMove("complaints", handover.TITLE, handover.owner_moved))
    wiring[HANDOVERS].add(Handover("complaints", handover.hand_over))
    wiring[EXPORT_TABLES].add(ExportTable("complaints", N_("complaints"), cases.complaints_table))
    wiring[MEASURES].add(
        Measure("complaints_opened", N_("Complaints opened"), "count", cases.complaints_opened, order=45),
        Measure("complaints_overdue", N_("Complaints overdue"), "count", cases.complaints_overdue, order=46),
        Measure("complaints_closed", N_("Complaints closed"), "count", cases.complaints_closed, order=47),
        Measure("complaint_timeliness", N_("Complaint handling timeliness rate"), "rate",
                cases.complaint_timeliness, order=52, digest=False),
        Measure("complaint_resolution", N_("Complaint resolution rate"), "rate", cases.complaint_resolution,
                order=53, digest=False),
        Measure("complaint_rate", N_("Complaint rate (per customer)"), "rate", cases.complaint_rate, order=56),
        Measure("reply_timeliness", N_("Enquiry reply timeliness rate"), "rate", requests.reply_timeliness,
                order=57, digest=False),
    )
