"""Invoices (开票): asked for on the approval engine (finance decides by default, /policy set invoice ...), and
issued by finance, who records the invoice's number and date. A contract is invoiced up to its amount, a
milestone up to its own; rejected requests and those sent back count for nothing (ask again)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from domain.approvals import engine as approvals
from domain.approvals.contracts import kref
from domain.delivery.outbox import Money, Msg, OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.errors import Conflict, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label, fmt_money
from domain.kernel.text import visible
from domain.receivables.milestones import (
    FINANCE_ROLES,
    find_receivable_contract,
    milestones_of,
    mref,
    owner_ids,
)
from domain.store.models import ApprovalRequest, Contract, Customer, Invoice, Member, Milestone
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref, ref, require_role
from domain.team.agenda import AgendaEntry

PREFIX = "I"
COUNTING = ("pending", "approved", "issued")
INVOICE_STATES = {"pending": N_("in approval"), "approved": N_("approved, to be issued"), "issued": N_("issued"),
                  "rejected": N_("rejected"), "changes": N_("sent back")}


def iref(invoice: Invoice) -> str:
    return ref(PREFIX, invoice.number)


def _asked(uow: UnitOfWork, contract_id: int, milestone_id: int | None = None) -> Decimal:
    q = select(func.sum(Invoice.amount)).where(Invoice.contract_id == contract_id, Invoice.state.in_(COUNTING))
    if milestone_id is not None:
        q = q.where(Invoice.milestone_id == milestone_id)
    return Decimal(uow.session.scalar(q) or 0)


def request_invoice(uow: UnitOfWork, actor: Actor, text: str, amount: Decimal, milestone: int | None
                    ) -> tuple[Invoice, ApprovalRequest]:
    """Ask for an invoice on a signed contract (of one milestone, or of the contract), submitted at once into
    the invoice chain."""
    contract = find_receivable_contract(uow, actor, text)
    if contract.state != "signed":
        raise Conflict(N_("{ref} is not signed; an invoice is asked for on a signed contract."), ref=kref(contract))
    if amount <= 0:
        raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))
    target: Milestone | None = None
    if milestone is not None:
        target = next((m for m in milestones_of(uow, contract.id) if m.seq == milestone), None)
        if target is None:
            raise Invalid(N_("{ref} has no milestone {seq}; see /contract show {ref}."), ref=kref(contract),
                          seq=milestone)
        left = target.amount - _asked(uow, contract.id, target.id)
        where = mref(contract, target)
    else:
        found = milestones_of(uow, contract.id)
        total = sum((m.amount for m in found), Decimal(0)) if found else contract.amount
        left = total - _asked(uow, contract.id)
        where = kref(contract)
    if amount > left:
        raise Invalid(N_("{ref} can be invoiced for at most {left} more; {amount} is too much."), ref=where,
                      left=fmt_money(left, contract.currency), amount=fmt_money(amount, contract.currency))
    invoice = uow.add(Invoice(org_id=actor.org_id, number=next_number(uow, Invoice, actor.org_id),
                              contract_id=contract.id, milestone_id=target.id if target else None, amount=amount,
                              currency=contract.currency, state="pending", requested_by_id=actor.member_id,
                              created_at=uow.now, updated_at=uow.now))
    uow.session.flush()
    req = approvals.create_request(uow, actor, "invoice", {"invoice": iref(invoice)}, amount, contract.currency,
                                   invoice.id)
    invoice.request_id = req.id
    approvals.submit(uow, actor, req)
    uow.audit(actor.org_id, actor.member_id, "create", "invoice", iref(invoice), f"{where} {amount} {req.currency}")
    uow.commit()
    return invoice, req


def describe_invoice(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    invoice = uow.session.get(Invoice, req.subject_id)
    assert invoice is not None
    contract = uow.session.get(Contract, invoice.contract_id)
    assert contract is not None
    customer = uow.session.get(Customer, contract.customer_id)
    milestone = uow.session.get(Milestone, invoice.milestone_id) if invoice.milestone_id else None
    who = uow.session.get(Member, invoice.requested_by_id)
    return Msg(N_("Invoice {ref} for {what} ({customer}, {title}): {amount}. Requested by {name}."),
               {"ref": iref(invoice), "what": mref(contract, milestone) if milestone else kref(contract),
                "customer": customer.name if customer else "?", "title": contract.title,
                "amount": Money(invoice.amount, invoice.currency), "name": who.name if who else "?"})


def invoice_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    invoice = uow.session.get(Invoice, req.subject_id)
    assert invoice is not None
    invoice.state, invoice.updated_at = state, uow.now
    uow.audit(invoice.org_id, actor.member_id, "update", "invoice", iref(invoice), state)


def find_invoice(uow: UnitOfWork, actor: Actor, text: str) -> Invoice:
    invoice = by_number(uow, Invoice, actor.org_id, parse_ref(text, PREFIX))
    if invoice is None:
        raise NotFound(N_("No invoice {ref}."), ref=text.strip().upper())
    contract = uow.session.get(Contract, invoice.contract_id)
    assert contract is not None
    try:
        find_receivable_contract(uow, actor, f"K{contract.number}")
    except NotFound:
        raise Hidden(N_("No invoice {ref}."), ref=text.strip().upper()) from None
    return invoice


def issue_invoice(uow: UnitOfWork, actor: Actor, text: str, invoice_no: str, day: date) -> Invoice:
    """Finance records an approved invoice as issued: its number and date. The requester is told."""
    require_role(actor, FINANCE_ROLES)
    invoice = find_invoice(uow, actor, text)
    if invoice.state != "approved":
        raise Conflict(N_("{ref} is {state}; only an approved invoice is issued."), ref=iref(invoice),
                       state=Label(INVOICE_STATES[invoice.state]))
    number = visible(invoice_no).strip()
    if not number or len(number) > 60:
        raise Invalid(N_("Give the invoice's number: number=\"...\" (at most 60 characters)."))
    if day > local_today(uow.now, actor.timezone):
        raise Invalid(N_("{date} has not come yet."), date=day.isoformat())
    invoice.state, invoice.invoice_no, invoice.issued_on = "issued", number, day
    invoice.issued_by_id, invoice.updated_at = actor.member_id, uow.now
    if invoice.milestone_id is not None:
        milestone = uow.session.get(Milestone, invoice.milestone_id)
        assert milestone is not None
        milestone.invoiced += invoice.amount
    contract = uow.session.get(Contract, invoice.contract_id)
    assert contract is not None
    if invoice.requested_by_id != actor.member_id:
        enqueue(uow, org_id=invoice.org_id, key=f"invoice:{invoice.id}:issued", recipient_id=invoice.requested_by_id,
                msgid=N_("Invoice {ref} for contract {contract} issued by {name}: number {number}, {date}, {amount}."),
                params={"ref": iref(invoice), "contract": kref(contract), "name": actor.name, "number": number,
                        "date": day, "amount": Money(invoice.amount, invoice.currency)},
                buttons=[OutButton(N_("Show"), f"/contract show {kref(contract)}")])
    uow.audit(actor.org_id, actor.member_id, "update", "invoice", iref(invoice), f"issued {number} {day}")
    uow.commit()
    return invoice


def invoices_of(uow: UnitOfWork, contract_id: int) -> list[Invoice]:
    return list(uow.session.scalars(select(Invoice).where(Invoice.contract_id == contract_id).order_by(Invoice.number)))


def list_invoices(uow: UnitOfWork, actor: Actor, scope: str) -> list[tuple[Invoice, Contract, str]]:
    """Invoices the actor may see: `open` (in approval or to be issued) or `all` (the latest 200)."""
    owners = owner_ids(uow, actor)
    q = (select(Invoice, Contract, Customer.name).join(Contract, Contract.id == Invoice.contract_id)
         .join(Customer, Customer.id == Contract.customer_id).where(Invoice.org_id == actor.org_id)
         .order_by(Invoice.number.desc()))
    if owners is not None:
        q = q.where(Contract.owner_id.in_(owners))
    if scope == "open":
        q = q.where(Invoice.state.in_(("pending", "approved")))
    rows = [(i, c, n) for i, c, n in uow.session.execute(q.limit(200)).all()]
    uow.audit(actor.org_id, actor.member_id, "read", "invoice", None, f"list {scope}")
    uow.commit()
    return rows


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    """For finance: the approved invoices waiting to be issued."""
    if not actor.has_any(FINANCE_ROLES):
        return []
    rows = uow.session.execute(
        select(Invoice, Contract, Customer.name).join(Contract, Contract.id == Invoice.contract_id)
        .join(Customer, Customer.id == Contract.customer_id)
        .where(Invoice.org_id == actor.org_id, Invoice.state == "approved").order_by(Invoice.number).limit(50)).all()
    return [AgendaEntry(iref(i), f"{name} · {kref(c)}", local_today(i.updated_at, actor.timezone), False,
                        f"/invoice issued {iref(i)}") for i, c, name in rows]
