"""Projects through a hand-over: a member who leaves hands the successor their open milestones and rectification
items, the projects they manage that are under way, the cross-department requests they are the contact of (not
yet accepted by their requester), and the supporting departments they answer for (the hand-over's own message
tells the successor which)."""
from __future__ import annotations

from sqlalchemy import select

from domain.approvals import engine as approvals
from domain.kernel.actor import Actor
from domain.kernel.i18n import N_
from domain.projects import collab, projects
from domain.store.models import ApprovalRequest, CollabCase, Member, Project, ProjectItem
from domain.store.uow import UnitOfWork
from domain.team.handover import Handed

ITEMS = N_("Project milestones and rectification items")
MANAGED = N_("Projects managed")
CASES = N_("Cross-department requests")
ROUTES = N_("Supporting departments answered for")


def _join(p: Project, member_id: int) -> None:
    """The successor becomes one of the project's people (so they see it and are asked for its progress)."""
    if member_id not in projects.people(p):
        p.team = [*(p.team or []), member_id]


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    items = []
    for item, p in uow.session.execute(
            select(ProjectItem, Project).join(Project, Project.id == ProjectItem.project_id)
            .where(Project.org_id == leaver.org_id, Project.state == "active", ProjectItem.owner_id == leaver.id,
                   ProjectItem.state == "open")
            .order_by(Project.number, ProjectItem.kind, ProjectItem.number)).all():
        item.owner_id = successor.id  # its reminders and escalations go to whoever owns it when they fall due
        _join(p, successor.id)
        p.updated_at = uow.now
        projects.record_event(uow, p, "handover", actor.member_id, None, item=projects.iref(item),
                              owner=successor.name, left=leaver.name)
        items.append(f"{projects.pref(p)} {projects.iref(item)}")
    managed = []
    for p in uow.session.scalars(select(Project).where(Project.org_id == leaver.org_id, Project.state == "active",
                                                       Project.manager_id == leaver.id).order_by(Project.number)):
        p.manager_id, p.updated_at = successor.id, uow.now
        p.team = [i for i in p.team or [] if int(i) != successor.id]
        projects.record_event(uow, p, "handover", actor.member_id, None, manager=successor.name, left=leaver.name)
        managed.append(projects.pref(p))
    cases = []
    for c, req in uow.session.execute(
            select(CollabCase, ApprovalRequest).join(ApprovalRequest, ApprovalRequest.id == CollabCase.request_id)
            .where(CollabCase.org_id == leaver.org_id, CollabCase.contact_id == leaver.id,
                   CollabCase.state != "accepted").order_by(ApprovalRequest.number)).all():
        c.contact_id, c.updated_at = successor.id, uow.now
        collab.record_step(uow, c, "assigned", actor.member_id, successor.name)
        cases.append(approvals.rref(req))
    routes = collab.hand_over_routes(uow, leaver, successor)
    if items or managed or cases or routes:
        uow.audit(actor.org_id, actor.member_id, "update", "project", None,
                  f"handed from {leaver.name} to {successor.name}: {' '.join(managed + items + cases + routes)}"[:2000])
    return [(MANAGED, managed), (ITEMS, items), (CASES, cases), (ROUTES, routes)]
