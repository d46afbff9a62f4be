"""A member who leaves: the approval steps waiting on them (or on a delegate acting for them) are routed again
by the policy — a supervisor's step to the successor, who takes over the team; a role's step to the next active
holder of the role up the requester's line, then in the department — and the new approver is asked at once.
Delegations to the leaver end."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from domain.approvals import engine
from domain.approvals.policy import SUPERVISOR
from domain.delivery.due import schedule
from domain.delivery.outbox import OutButton, enqueue, revise
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.i18n import N_
from domain.store.models import ApprovalRequest, Contract, Delegation, Member, Organisation
from domain.store.uow import UnitOfWork
from domain.team.handover import Handed

TO_SUCCESSOR = N_("Approval steps waiting for you")
DRAFTS = N_("Unsigned contracts and requests now yours")
ELSEWHERE = N_("Approval steps routed to others")


def _line(uow: UnitOfWork, member: Member) -> Iterator[Member]:
    """The member's supervisor, theirs, and so on up."""
    cursor = uow.session.get(Member, member.supervisor_id) if member.supervisor_id else None
    seen: set[int] = set()
    while cursor is not None and cursor.id not in seen:
        seen.add(cursor.id)
        yield cursor
        cursor = uow.session.get(Member, cursor.supervisor_id) if cursor.supervisor_id else None


def _candidates(uow: UnitOfWork, requester: Member, role: str, leaver: Member, successor: Member
                ) -> Iterator[Member]:
    """Who may take the step, in the policy's order: for a supervisor's step the successor (who takes over the
    team), then the leaver's own line; for a role's, up the requester's line first, then anyone, then the
    successor."""
    if role == SUPERVISOR:
        yield successor
        yield from _line(uow, leaver)
        return
    yield from _line(uow, requester)
    yield from uow.session.scalars(select(Member).where(Member.org_id == requester.org_id, Member.active.is_(True))
                                   .order_by(Member.id)).all()
    yield successor


def _delegate(uow: UnitOfWork, member: Member, today: date) -> Member | None:
    """Who decides for `member` while they are away (their latest delegation still running), if anyone."""
    row = uow.session.scalar(select(Delegation).where(Delegation.member_id == member.id, Delegation.until >= today)
                             .order_by(Delegation.id.desc()).limit(1))
    return uow.session.get(Member, row.delegate_id) if row is not None else None


def _reroute(uow: UnitOfWork, org: Organisation, req: ApprovalRequest, leaver: Member, successor: Member
             ) -> list[int]:
    """The request's steps still to come that wait on the leaver, routed again; the new approvers' ids."""
    requester = uow.session.get(Member, req.requester_id)
    assert requester is not None
    decided = engine.deciders(uow, req) if req.state == "pending" else set()
    today = local_today(uow.now, org.timezone)
    chain: list[dict[str, Any]] = [dict(s) for s in req.chain]
    routed, current = [], False
    for i in range(req.step, len(chain)):
        step = chain[i]
        if leaver.id not in (step.get("approver_id"), step.get("for_id")):
            continue
        role = step["role"]
        new = next((m for m in _candidates(uow, requester, role, leaver, successor)
                    if m.active and m.id != requester.id and m.id not in decided
                    and (role == SUPERVISOR or role in m.role_set or m.id == successor.id)), None)
        if new is None:
            continue
        delegate = _delegate(uow, new, today)
        if delegate is not None and delegate.active and delegate.id not in (requester.id, *decided):
            chain[i] = {**step, "approver_id": delegate.id, "for_id": new.id}
        else:
            chain[i] = {**step, "approver_id": new.id, "for_id": None}
        routed.append(chain[i]["approver_id"])
        current = current or i == req.step
    if routed:
        req.chain, req.version = chain, req.version + 1
        uow.session.flush()
        revise(uow, org_id=req.org_id, subject=engine.subject(req), msgid=engine.CARD, params=engine.card(uow, req))
        if current:
            _ask(uow, req)
    return routed


def _ask(uow: UnitOfWork, req: ApprovalRequest) -> None:
    """The current step's new approver gets the request with its buttons; its reminder and escalation start
    again from now."""
    step = req.chain[req.step]
    base = f"approval:{req.id}:{req.round}:{req.step}"
    at, r = f"{req.round}.{req.step + 1}", engine.rref(req)
    buttons = [OutButton(N_("Approve"), f"/approve {r} step={at}", decision=True),
               OutButton(N_("Reject"), f"/reject {r} step={at}", decision=True),
               OutButton(N_("Request changes"), f"/changes {r} step={at}", decision=True)]
    enqueue(uow, org_id=req.org_id, key=f"{base}:dm:{step['approver_id']}", recipient_id=step["approver_id"],
            msgid=engine.CARD, params=engine.card(uow, req), buttons=buttons, subject=engine.subject(req))
    policy = engine.policy_of(uow, req.org_id, req.policy_version)
    schedule(uow, req.org_id, engine.NUDGE, req.id, uow.now + timedelta(hours=policy.nudge_hours),
             key=f"{engine.NUDGE}:{base}")
    schedule(uow, req.org_id, engine.ESCALATE, req.id, uow.now + timedelta(hours=policy.escalate_hours),
             key=f"{engine.ESCALATE}:{base}")


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    """Delegations to the leaver end; every pending request with a step still to come that waits on them is
    routed again."""
    org = uow.session.get(Organisation, leaver.org_id)
    assert org is not None
    today = local_today(uow.now, org.timezone)
    uow.session.execute(update(Delegation).where(Delegation.delegate_id == leaver.id, Delegation.until >= today)
                        .values(until=today - timedelta(days=1)).execution_options(synchronize_session=False))
    mine: list[str] = []
    others: list[str] = []
    pending = uow.session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.org_id == org.id, ApprovalRequest.state == "pending").order_by(ApprovalRequest.number))
    for req in pending.all():
        routed = _reroute(uow, org, req, leaver, successor)
        if routed:
            (mine if successor.id in routed else others).append(engine.rref(req))
            uow.audit(org.id, actor.member_id, "update", "approval", engine.rref(req),
                      f"routed again: {leaver.name} left")
    drafts: list[str] = []
    for contract in uow.session.scalars(select(Contract).where(
            Contract.org_id == org.id, Contract.owner_id == leaver.id, Contract.state != "signed")
            .order_by(Contract.number)).all():
        contract.owner_id = successor.id
        drafts.append(f"K{contract.number}")
        uow.audit(org.id, actor.member_id, "update", "contract", f"K{contract.number}",
                  f"owner {leaver.name} -> {successor.name}: {leaver.name} left")
    for req in uow.session.scalars(select(ApprovalRequest).where(
            ApprovalRequest.org_id == org.id, ApprovalRequest.requester_id == leaver.id,
            ApprovalRequest.state != "approved").order_by(ApprovalRequest.number)).all():
        approvers = {s.get(key) for s in req.chain for key in ("approver_id", "for_id")}
        if req.state == "pending" and successor.id in approvers:
            continue  # the successor decides a step of it: it stays the leaver's, as who asked for it
        req.requester_id = successor.id
        drafts.append(engine.rref(req))
        uow.audit(org.id, actor.member_id, "update", "approval", engine.rref(req),
                  f"requester {leaver.name} -> {successor.name}: {leaver.name} left")
    return [(TO_SUCCESSOR, mine), (ELSEWHERE, others), (DRAFTS, drafts)]
