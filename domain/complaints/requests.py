"""Enquiries (咨询) and suggestions (建议) from customers, logged like complaints: what the customer asked, who
answers, and the reply promised by when (告知回复时间). Whoever answers is reminded when the promise falls due
unanswered, and their supervisor is told. The share answered in time is a figure (reply timeliness).

The promised time defaults to the department's `enquiry_reply_hours` (24 hours).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from domain.crm.customers import find_customer
from domain.delivery.due import cancel, schedule
from domain.delivery.outbox import OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.errors import Conflict, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label
from domain.reporting.figures import Figure, Scope, rate
from domain.store.models import Customer, DueItem, Member, Organisation, ServiceRequest
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import SERVE, can_access, customer_owner_ids, parse_ref, reaches_department, ref
from domain.team.members import find_member, require_active

KIND = "service-request"
PREFIX = "E"
KINDS = {"enquiry": N_("enquiry"), "suggestion": N_("suggestion")}
DEFAULT_REPLY_HOURS = 24
MAX_TEXT = 2000


def _clean(text: str, msgid: str) -> str:
    text = text.strip()
    if not text:
        raise Invalid(msgid)
    if len(text) > MAX_TEXT:
        raise Invalid(N_("The text is too long ({count} characters; at most {max})."), count=len(text), max=MAX_TEXT)
    return text


def log_request(uow: UnitOfWork, actor: Actor, customer_text: str, what: str, kind: str = "enquiry",
                reply_by: datetime | None = None, assignee: str | None = None) -> tuple[ServiceRequest, Customer,
                                                                                          Member]:
    """Record an enquiry or suggestion; the reply is promised by `reply_by` (default: the department's reply
    time from now), and whoever answers (default: the one who logs it) is reminded then if it is unanswered."""
    if kind not in KINDS:
        raise Invalid(N_("An entry is an enquiry or a suggestion."))
    what = _clean(what, N_("Say what the customer asked: what=\"...\"."))
    customer = find_customer(uow, actor, customer_text, SERVE)
    member = require_active(find_member(uow, actor.org_id, assignee)) if assignee else \
        uow.session.get(Member, actor.member_id)
    assert member is not None
    org = customer.org_id
    department = uow.session.get(Organisation, org)
    assert department is not None
    hours = int((department.settings or {}).get("enquiry_reply_hours", DEFAULT_REPLY_HOURS))
    when = reply_by or uow.now + timedelta(hours=hours)
    if when <= uow.now:
        raise Invalid(N_("The promised reply time has already passed."))
    req = uow.add(ServiceRequest(org_id=org, number=next_number(uow, ServiceRequest, org), kind=kind,
                                 customer_id=customer.id, what=what, assignee_id=member.id, reply_by=when,
                                 status="open", created_by_id=actor.member_id, created_at=uow.now))
    uow.session.flush()
    schedule(uow, org, KIND, req.id, when)
    eref = ref(PREFIX, req.number)
    if member.id != actor.member_id:
        enqueue(uow, org_id=org, key=f"{KIND}:{req.id}:assigned", recipient_id=member.id, kind="complaint",
                msgid=N_("{customer}'s {kind} {ref} is yours to answer by {when}: {what}"),
                params={"customer": customer.name, "kind": _label(kind), "ref": eref, "when": when, "what": what},
                buttons=[OutButton(N_("Reply"), f"/enquiry reply {eref} answer=")])
    uow.audit(actor.org_id, actor.member_id, "create", "enquiry", eref, f"{kind} {customer.name}")
    uow.commit()
    return req, customer, member


def _label(kind: str) -> Label:
    return Label(KINDS[kind])


def _visible(uow: UnitOfWork, actor: Actor, req: ServiceRequest, customer: Customer) -> bool:
    if reaches_department(actor, SERVE) or actor.member_id in (req.created_by_id, req.assignee_id):
        return True
    return can_access(uow, actor, customer.owner_id) or can_access(uow, actor, req.assignee_id)


def find_request(uow: UnitOfWork, actor: Actor, text: str) -> tuple[ServiceRequest, Customer]:
    number = parse_ref(text.strip(), PREFIX)
    req = by_number(uow, ServiceRequest, actor.org_id, number) if number is not None else None
    if req is None:
        raise NotFound(N_("No enquiry {ref}."), ref=text.strip().upper())
    customer = uow.session.get(Customer, req.customer_id)
    assert customer is not None
    if not _visible(uow, actor, req, customer):
        raise Hidden(N_("No enquiry {ref}."), ref=text.strip().upper())
    return req, customer


def reply(uow: UnitOfWork, actor: Actor, text: str, answer: str) -> tuple[ServiceRequest, bool]:
    """Record the reply given to the customer; whether it was in time."""
    req, _customer = find_request(uow, actor, text)
    answer = _clean(answer, N_("Say what the customer was told: answer=\"...\"."))
    if req.status != "open":
        raise Conflict(N_("{ref} was already answered."), ref=ref(PREFIX, req.number))
    req.status, req.answer, req.replied_at = "replied", answer, uow.now
    cancel(uow, KIND, req.id)
    uow.audit(actor.org_id, actor.member_id, "update", "enquiry", ref(PREFIX, req.number), "replied")
    uow.commit()
    return req, req.replied_at <= req.reply_by


@dataclass(frozen=True)
class RequestRow:
    req: ServiceRequest
    customer: str
    assignee: str


def list_requests(uow: UnitOfWork, actor: Actor, scope: str = "open") -> list[RequestRow]:
    q = (select(ServiceRequest, Customer.name, Member.name).join(Customer, Customer.id == ServiceRequest.customer_id)
         .join(Member, Member.id == ServiceRequest.assignee_id).where(ServiceRequest.org_id == actor.org_id))
    if scope == "open":
        q = q.where(ServiceRequest.status == "open")
    owners = customer_owner_ids(uow, actor, SERVE)
    if owners is not None:
        q = q.where(or_(Customer.owner_id.in_(owners), ServiceRequest.assignee_id.in_(owners),
                        ServiceRequest.created_by_id == actor.member_id))
    rows = [RequestRow(r, c, m) for r, c, m in uow.session.execute(
        q.order_by(ServiceRequest.reply_by, ServiceRequest.id).limit(100))]
    uow.audit(actor.org_id, actor.member_id, "read", "enquiry", None, f"list {scope}")
    uow.commit()
    return rows


def fire(uow: UnitOfWork, item: DueItem) -> None:
    """The promised reply time came and the customer has no answer: remind whoever answers, tell their
    supervisor."""
    req = uow.session.get(ServiceRequest, item.subject_id)
    if req is None or req.status != "open":
        return
    customer = uow.session.get(Customer, req.customer_id)
    member = uow.session.get(Member, req.assignee_id)
    assert customer is not None and member is not None
    eref = ref(PREFIX, req.number)
    params = {"customer": customer.name, "kind": _label(req.kind), "ref": eref, "what": req.what,
              "when": req.reply_by, "member": member.name}
    enqueue(uow, org_id=req.org_id, key=f"{KIND}:{req.id}:due:{member.id}", recipient_id=member.id, kind="complaint",
            msgid=N_("The reply promised to {customer} for {ref} was due {when} and is still missing: {what}"),
            params=params, buttons=[OutButton(N_("Reply"), f"/enquiry reply {eref} answer=")])
    if member.supervisor_id:
        enqueue(uow, org_id=req.org_id, key=f"{KIND}:{req.id}:due:{member.supervisor_id}",
                recipient_id=member.supervisor_id, kind="complaint",
                msgid=N_("{member} has not answered {customer}'s {ref} promised by {when}: {what}"), params=params)


def reply_timeliness(uow: UnitOfWork, scope: Scope) -> Figure:
    """回复及时率: of the enquiries and suggestions whose promised reply time fell in the period, the share
    answered by then."""
    due = and_(ServiceRequest.org_id == scope.org_id, scope.during(ServiceRequest.reply_by),
               or_(scope.owned(ServiceRequest.assignee_id), scope.owned(ServiceRequest.created_by_id)))
    on_time, total = uow.session.execute(select(
        func.count(ServiceRequest.id).filter(ServiceRequest.replied_at <= ServiceRequest.reply_by),
        func.count(ServiceRequest.id)).where(due)).one()
    return Figure("reply_timeliness", rate(int(on_time), int(total)), "rate",
                  N_("{on_time} of {total} enquiries and suggestions answered by the time promised"),
                  {"on_time": int(on_time), "total": int(total)})
