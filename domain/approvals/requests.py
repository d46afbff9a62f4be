"""Expense claims (费用报销), leave (请假), project initiation (立项) and cross-department requests
(跨部门协作需求) on the approval engine; finance is told to pay approved claims, the hand-over colleague of
approved leave, and the requester of every decision (by the engine)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from domain.approvals import engine as approvals
from domain.crm.customers import find_customer
from domain.delivery.outbox import Money, Msg, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.dates import check_span
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, Label
from domain.kernel.vocab import Vocabulary
from domain.store.models import ApprovalRequest, Member
from domain.store.uow import UnitOfWork
from domain.team.members import find_member

EXPENSE_CATEGORIES = {"travel": N_("travel"), "entertainment": N_("business entertainment"),
                      "communication": N_("communication")}
EXPENSES = Vocabulary(
    N_("expense type"), EXPENSE_CATEGORIES,
    {"差旅": "travel", "差旅费": "travel", "出差": "travel", "招待": "entertainment", "业务招待": "entertainment",
     "业务招待费": "entertainment", "招待费": "entertainment", "通讯": "communication", "通讯费": "communication",
     "话费": "communication", "通信费": "communication"},
)
MAX_LEAVE_DAYS = 90


def claim_expense(uow: UnitOfWork, actor: Actor, category: str, amount: Decimal, currency: str, note: str,
                  invoice: str | None) -> ApprovalRequest:
    """File an expense claim and submit it into the expense chain."""
    category = EXPENSES.parse(category)
    if amount <= 0:
        raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))
    fields = {"category": category, "note": note.strip(), "invoice": (invoice or "").strip()}
    req = approvals.create_request(uow, actor, "expense", fields, amount, currency)
    approvals.submit(uow, actor, req)
    uow.audit(actor.org_id, actor.member_id, "create", "expense", approvals.rref(req), f"{category} {amount}")
    uow.commit()
    return req


def request_leave(uow: UnitOfWork, actor: Actor, start: date, end: date, reason: str, handover: str
                  ) -> ApprovalRequest:
    """Ask for leave (a hand-over to a colleague is required) and submit it into the leave chain."""
    today = local_today(uow.now, actor.timezone)
    check_span(start, end)
    if start < today:
        raise Invalid(N_("Leave cannot start in the past ({date})."), date=start.isoformat())
    days = (end - start).days + 1
    if days > MAX_LEAVE_DAYS:
        raise Invalid(N_("At most {limit} days of leave in one request."), limit=MAX_LEAVE_DAYS)
    colleague = find_member(uow, actor.org_id, handover)
    if colleague.id == actor.member_id:
        raise Invalid(N_("Hand over to someone else, not yourself."))
    fields = {"from": start.isoformat(), "to": end.isoformat(), "days": days, "reason": reason.strip(),
              "handover_id": colleague.id}
    req = approvals.create_request(uow, actor, "leave", fields, None)
    approvals.submit(uow, actor, req)
    uow.audit(actor.org_id, actor.member_id, "create", "leave", approvals.rref(req), f"{start}..{end} ({days} d)")
    uow.commit()
    return req


def propose_project(uow: UnitOfWork, actor: Actor, name: str, budget: Decimal, currency: str, start: date,
                    reason: str, customer: str | None, manager: str | None = None,
                    team: list[str] | None = None) -> ApprovalRequest:
    """Ask for a project to be set up (立项): its name, budget, start and why, its project manager (a member
    with that role; by default the requester) and team; submitted into its chain."""
    if budget <= 0:
        raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))
    if start < local_today(uow.now, actor.timezone):
        raise Invalid(N_("The project cannot start in the past ({date})."), date=start.isoformat())
    fields: dict[str, object] = {"name": name.strip(), "start": start.isoformat(), "reason": reason.strip()}
    if customer:

        found = find_customer(uow, actor, customer)
        fields["customer_id"], fields["customer"] = found.id, found.name
    pm = find_member(uow, actor.org_id, manager) if manager else uow.session.get(Member, actor.member_id)
    assert pm is not None
    if manager and "project_manager" not in pm.role_set:
        raise Invalid(N_("{name} is not a project manager; name one with manager=NAME (an admin gives the role "
                         "with /team set NAME role=project_manager)."), name=pm.name)
    members = [find_member(uow, actor.org_id, n) for n in (team or [])]
    fields["manager_id"] = pm.id
    fields["team_ids"] = list(dict.fromkeys(m.id for m in members if m.id != pm.id))
    req = approvals.create_request(uow, actor, "project", fields, budget, currency)
    approvals.submit(uow, actor, req)
    uow.audit(actor.org_id, actor.member_id, "create", "project", approvals.rref(req), f"{name} {budget}")
    uow.commit()
    return req


def request_collaboration(uow: UnitOfWork, actor: Actor, department: str, what: str, due: date,
                          goal: str | None = None) -> ApprovalRequest:
    """Ask another department for help (跨部门协作需求): which, what is needed, the expected goal (预期目标),
    by when."""
    if due < local_today(uow.now, actor.timezone):
        raise Invalid(N_("The due date {date} has passed."), date=due.isoformat())
    fields = {"department": department.strip(), "what": what.strip(), "due": due.isoformat()}
    if goal and goal.strip():
        fields["goal"] = goal.strip()
    req = approvals.create_request(uow, actor, "collab", fields, None)
    approvals.submit(uow, actor, req)
    uow.audit(actor.org_id, actor.member_id, "create", "collab", approvals.rref(req), department.strip())
    uow.commit()
    return req


def revise_claim(uow: UnitOfWork, actor: Actor, text: str, *, amount: Decimal | None = None,
                 note: str | None = None, invoice: str | None = None, start: date | None = None,
                 end: date | None = None, reason: str | None = None, handover: str | None = None
                 ) -> ApprovalRequest:
    """Revise an expense claim or leave that was sent back or rejected, and submit it again: the chain
    restarts from its first step."""
    req = approvals.find_request(uow, actor, text)
    kind = uow.wiring[approvals.REQUEST_TYPES].get(req.type)
    if kind is not None and kind.resubmit is not None:  # an area's own request (a project's plan)
        kind.resubmit(uow, actor, req)
        uow.commit()
        return req
    if req.type in ("project", "collab"):
        fields = dict(req.fields)
        if amount is not None and req.type == "project":
            if amount <= 0:
                raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))
            req.amount = amount
        for key, value in (("reason", reason), ("what", note)):
            if value is not None and key in fields:
                fields[key] = value.strip()
        req.fields = fields
        approvals.submit(uow, actor, req)
        uow.audit(actor.org_id, actor.member_id, "update", req.type, approvals.rref(req),
                  f"resubmitted round {req.round}")
        uow.commit()
        return req
    if req.type not in ("expense", "leave"):
        raise Invalid(N_("{ref} is a contract request; revise it with /contract edit and /contract submit."),
                      ref=approvals.rref(req))
    fields = dict(req.fields)
    if req.type == "expense":
        if amount is not None:
            if amount <= 0:
                raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))
            req.amount = amount
        for key, value in (("note", note), ("invoice", invoice)):
            if value is not None:
                fields[key] = value.strip()
    else:
        first = start or date.fromisoformat(fields["from"])
        last = end or date.fromisoformat(fields["to"])
        check_span(first, last)
        fields.update({"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1})
        if reason is not None:
            fields["reason"] = reason.strip()
        if handover is not None:
            colleague = find_member(uow, actor.org_id, handover)
            if colleague.id == actor.member_id:
                raise Invalid(N_("Hand over to someone else, not yourself."))
            fields["handover_id"] = colleague.id
    req.fields = fields
    approvals.submit(uow, actor, req)
    uow.audit(actor.org_id, actor.member_id, "update", req.type, approvals.rref(req), f"resubmitted round {req.round}")
    uow.commit()
    return req


def _name(uow: UnitOfWork, member_id: int | None) -> str:
    member = uow.session.get(Member, member_id) if member_id else None
    return member.name if member else "?"


def describe_expense(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    f = req.fields
    return Msg(N_("Expense claim ({category}) by {name}: {amount}, {note}. Invoice: {invoice}."),
               {"category": Label(EXPENSE_CATEGORIES.get(f.get("category", ""), f.get("category", ""))),
                "name": _name(uow, req.requester_id), "amount": Money(req.amount or Decimal(0), req.currency),
                "note": f.get("note", ""), "invoice": f.get("invoice") or "—"})


def expense_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    if state != "approved":
        return
    finance = uow.session.scalars(select(Member).where(Member.org_id == req.org_id, Member.active,
                                                       Member.roles.contains("finance")))
    for member in finance:
        if "finance" in member.role_set:
            enqueue(uow, org_id=req.org_id, key=f"approval:{req.id}:{req.round}:pay:{member.id}",
                    recipient_id=member.id, msgid=N_("Approved for payment: {ref} · {summary}"),
                    params={"ref": approvals.rref(req), "summary": describe_expense(uow, req)})


def describe_leave(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    f = req.fields
    return Msg(N_("Leave for {name}: {start} to {end} ({days} days), {reason}. Hand-over to {handover}."),
               {"name": _name(uow, req.requester_id), "start": date.fromisoformat(f["from"]),
                "end": date.fromisoformat(f["to"]), "days": f["days"], "reason": f.get("reason", ""),
                "handover": _name(uow, f.get("handover_id"))})


def leave_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    if state == "approved":
        f = req.fields
        enqueue(uow, org_id=req.org_id, key=f"approval:{req.id}:{req.round}:handover",
                recipient_id=f.get("handover_id"),
                msgid=N_("{name} is on leave from {start} to {end}; you take over their work (hand-over of {ref})."),
                params={"name": _name(uow, req.requester_id), "start": date.fromisoformat(f["from"]),
                        "end": date.fromisoformat(f["to"]), "ref": approvals.rref(req)})


def describe_project(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    f = req.fields
    params = {"name": _name(uow, req.requester_id), "project": f.get("name", ""),
              "amount": Money(req.amount or Decimal(0), req.currency), "start": date.fromisoformat(f["start"]),
              "customer": f" ({f['customer']})" if f.get("customer") else "", "reason": f.get("reason", "")}
    if "manager_id" not in f:
        return Msg(N_("Project initiation by {name}: {project}, budget {amount}, from {start}{customer}. "
                      "Why: {reason}."), params)
    team = ", ".join(_name(uow, i) for i in f.get("team_ids", [])) or "—"
    return Msg(N_("Project initiation by {name}: {project}, budget {amount}, from {start}{customer}. Why: {reason}. "
                  "Project manager: {manager}; team: {team}."),
               {**params, "manager": _name(uow, f["manager_id"]), "team": team})


def describe_collab(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    f = req.fields
    params = {"name": _name(uow, req.requester_id), "department": f.get("department", ""),
              "what": f.get("what", ""), "due": date.fromisoformat(f["due"])}
    if f.get("goal"):
        return Msg(N_("Cross-department request by {name} to {department}: {what}, needed by {due}. "
                      "Expected goal: {goal}."), {**params, "goal": f["goal"]})
    return Msg(N_("Cross-department request by {name} to {department}: {what}, needed by {due}."), params)
