"""Open complaints through a hand-over: they keep their assignee when a customer changes owner, unless the
assignee can no longer serve that customer (then the new owner takes them); a member who leaves hands theirs
to the successor. The timeline records each hand-over; the people concerned hear of it in the hand-over's
own message (domain.crm.handover, domain.team.handover), not once per complaint."""
from __future__ import annotations

from sqlalchemy import ColumnElement, select

from domain.complaints import cases
from domain.kernel.actor import Actor
from domain.kernel.i18n import N_
from domain.store.models import Complaint, ComplaintStep, Customer, Member
from domain.store.uow import UnitOfWork
from domain.team.access import SERVE, can_reach, ref
from domain.team.handover import Handed
from domain.team.members import actor_for

TITLE = N_("Complaints")


def _give(uow: UnitOfWork, actor: Actor, c: Complaint, member: Member) -> str:
    c.assignee_id, c.updated_at = member.id, uow.now
    if c.escalated and c.acked != c.escalated:
        c.acked = c.escalated  # the new assignee starts from a seen escalation, as on any assignment
    uow.add(ComplaintStep(org_id=c.org_id, complaint_id=c.id, kind="assign", actor_id=actor.member_id,
                          target_id=member.id, at=uow.now))  # on its timeline, as any assignment
    return ref(cases.PREFIX, c.number)


def _open(uow: UnitOfWork, *where: ColumnElement[bool]) -> list[Complaint]:
    return list(uow.session.scalars(select(Complaint).where(Complaint.status.in_(cases.ACTIVE), *where)
                                    .order_by(Complaint.number)))


def owner_moved(uow: UnitOfWork, actor: Actor, customer: Customer, old: Member, new: Member) -> list[str]:
    """The customer's open complaints whose assignee can no longer serve it go to its new owner."""
    moved = []
    for c in _open(uow, Complaint.customer_id == customer.id):
        if c.assignee_id == new.id:
            continue
        assignee = uow.session.get(Member, c.assignee_id)
        if assignee is None or not assignee.active \
                or not can_reach(uow, actor_for(uow, assignee), customer.owner_id, SERVE):
            moved.append(_give(uow, actor, c, new))
    return moved


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    """A member leaves: the open complaints assigned to them go to the successor."""
    refs = [_give(uow, actor, c, successor) for c in _open(uow, Complaint.assignee_id == leaver.id)]
    return [(TITLE, refs)]
