"""Payments (回款): money received against a contract, recorded by finance (who sees the bank account), and
allocated to the contract's milestones, the oldest first — those already due by their due date, then those
still waiting for their trigger in the order of the terms. A payment of less than what is open leaves the rest
outstanding; a payment of more than the contract's outstanding amount is refused (bizbot keeps no customer
credit: an over-payment is a wrong amount, or money for another contract, and finance records it there)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.approvals.contracts import kref
from domain.delivery.outbox import Money, OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.errors import Conflict, Invalid
from domain.kernel.i18n import N_, fmt_money
from domain.kernel.text import visible
from domain.receivables.milestones import (
    FINANCE_ROLES,
    INDICATOR,
    find_receivable_contract,
    milestones_of,
    mref,
    stop_ladder,
)
from domain.risk import indicators
from domain.store.models import Allocation, Milestone, Payment
from domain.store.numbers import next_number
from domain.store.uow import UnitOfWork
from domain.team.access import ref, require_role

PREFIX = "P"
MAX_NOTE = 500


def pref(payment: Payment) -> str:
    return ref(PREFIX, payment.number)


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    settled: list[tuple[str, Decimal, bool]]  # milestone reference, amount allocated, paid in full
    outstanding: Decimal


def _oldest_first(m: Milestone) -> tuple[int, date, int]:
    return (0, m.due_date, m.seq) if m.due_date is not None else (1, date.max, m.seq)


def record_payment(uow: UnitOfWork, actor: Actor, text: str, amount: Decimal, day: date, note: str | None
                   ) -> Recorded:
    """Record money received (finance), allocate it to the open milestones oldest first; the owner is told."""
    require_role(actor, FINANCE_ROLES)
    contract = find_receivable_contract(uow, actor, text)
    if contract.state != "signed":
        raise Conflict(N_("{ref} is not signed; payments are recorded against signed contracts."), ref=kref(contract))
    if amount <= 0:
        raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))
    if day > local_today(uow.now, actor.timezone):
        raise Invalid(N_("{date} has not come yet."), date=day.isoformat())
    if contract.signed_on is not None and day < contract.signed_on:
        raise Invalid(N_("{ref} was signed on {date}; a payment for it comes after."), ref=kref(contract),
                      date=contract.signed_on.isoformat())
    note = visible(note).strip() if note else None
    if note and len(note) > MAX_NOTE:
        raise Invalid(N_("The note is too long ({count} characters; at most {max})."), count=len(note), max=MAX_NOTE)
    found = [m for m in milestones_of(uow, contract.id) if m.received < m.amount]
    if not milestones_of(uow, contract.id):
        raise Conflict(N_("{ref} has no payment terms to record a payment against: /contract terms {ref} \"...\"."),
                       ref=kref(contract))
    outstanding = sum((m.amount - m.received for m in found), Decimal(0))
    if amount > outstanding:
        raise Invalid(N_("{amount} is more than {ref} has outstanding ({outstanding}); nothing was recorded. "
                         "Record what belongs to this contract."), amount=fmt_money(amount, contract.currency),
                      ref=kref(contract), outstanding=fmt_money(outstanding, contract.currency))
    owner_id = found[0].owner_id
    payment = uow.add(Payment(org_id=actor.org_id, number=next_number(uow, Payment, actor.org_id),
                              contract_id=contract.id, owner_id=owner_id, amount=amount, currency=contract.currency,
                              received_on=day, note=note, recorded_by_id=actor.member_id, created_at=uow.now))
    uow.session.flush()
    left, settled = amount, []
    for m in sorted(found, key=_oldest_first):
        if left <= 0:
            break
        part = min(left, m.amount - m.received)
        left -= part
        m.received += part
        m.updated_at = uow.now
        uow.add(Allocation(payment_id=payment.id, milestone_id=m.id, amount=part, received_on=day))
        full = m.received >= m.amount
        if full:
            m.state, m.paid_on = "paid", day
            stop_ladder(uow, m)
        settled.append((mref(contract, m), part, full))
    remaining = outstanding - amount
    indicators.watch(uow, contract.org_id, INDICATOR, contract.customer_id)  # a warning may clear
    if owner_id != actor.member_id:
        enqueue(uow, org_id=actor.org_id, key=f"payment:{payment.id}:owner", recipient_id=owner_id,
                msgid=N_("Payment {ref} received for contract {contract}: {amount} on {date}. Still outstanding: "
                         "{outstanding}."),
                params={"ref": pref(payment), "contract": kref(contract), "amount": Money(amount, contract.currency),
                        "date": day, "outstanding": Money(remaining, contract.currency)},
                buttons=[OutButton(N_("Show"), f"/contract show {kref(contract)}")])
    uow.audit(actor.org_id, actor.member_id, "create", "payment", pref(payment),
              f"{kref(contract)} {amount} {contract.currency} {day}: "
              + ", ".join(f"{r} {a}" for r, a, _f in settled))
    uow.commit()
    return Recorded(payment, settled, remaining)
