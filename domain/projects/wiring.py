"""What projects and cross-department follow-through add to the application, in one place."""
from __future__ import annotations

from domain.approvals.engine import DECISION_LISTENERS, REQUEST_TYPES, DecisionListener, RequestType
from domain.delivery.due import DUE_KINDS, RECURRING, DueKind, Recurring
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.projects import collab, handover, projects
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.reporting.figures import MEASURES, Measure
from domain.risk.levels import RISK_SUBJECTS, RiskSubject
from domain.team.agenda import AGENDA_SOURCES, AgendaSource
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """The plan review on the approval engine; what an approved initiation and an approved cross-department request
    become; the milestones' and requests' reminders and escalations, the weekly progress; the items waiting for a
    member on their agenda; the projects and their files to export; the project figures (appraisal indicators and
    the digest); what a leaving member hands over; projects as records that carry a risk (the risk list, the
    register)."""
    wiring[REQUEST_TYPES].add(RequestType("plan", projects.describe_plan, projects.plan_decided,
                                                      projects.resubmit))
    wiring[DECISION_LISTENERS].add(DecisionListener("projects", "project", projects.project_decided),
                                   DecisionListener("collab", "collab", collab.collab_decided))
    wiring[HANDOVERS].add(Handover("projects", handover.hand_over))
    wiring[RISK_SUBJECTS].add(RiskSubject(projects.PREFIX, projects.risk_subject, projects.risk_rows,
                                          projects.risk_subject_name))
    wiring[DUE_KINDS].add(
        DueKind(projects.ITEM, projects.fire_item, label=N_("project milestones: reminders and escalations")),
        DueKind(projects.ASK, projects.fire_ask, label=N_("project progress: the weekly question")),
        DueKind(projects.SUMMARY, projects.fire_summary, label=N_("project progress: the weekly summary")),
        DueKind(collab.KIND, collab.fire, label=N_("cross-department requests: reminders and escalations")),
    )
    wiring[RECURRING].add(Recurring(projects.ASK, projects.next_thursday),
                          Recurring(projects.SUMMARY, projects.next_friday))
    wiring[AGENDA_SOURCES].add(AgendaSource(projects.ITEM, N_("Project milestones"), projects.agenda_entries),
                               AgendaSource(collab.KIND, N_("Cross-department requests"), collab.agenda_entries))
    wiring[EXPORT_TABLES].add(ExportTable("projects", N_("projects"), projects.projects_table),
                              ExportTable("projectfile", N_("project files"), projects.project_file_table))
    wiring[MEASURES].add(
        Measure("active_projects", N_("Active projects"), "count", projects.active_projects, order=80),
        Measure("late_milestones", N_("Late milestones"), "count", projects.late_milestones, order=81),
        Measure("open_collab", N_("Open cross-department requests"), "count", projects.open_collab, order=82),
        Measure("project_schedule", N_("Schedule completion rate"), "rate", projects.project_schedule, order=83,
                digest=False),
        Measure("project_quality", N_("Quality pass rate (first acceptance)"), "rate", projects.project_quality,
                order=84, digest=False),
        Measure("project_cost", N_("Cost against budget"), "rate", projects.project_cost, order=85, digest=False),
        Measure("project_documentation", N_("Deliverables filed"), "rate", projects.project_documentation,
                order=86, digest=False),
    )
