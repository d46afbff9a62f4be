"""Contracts (合同审核): drafted by sales, approved on the one engine, signed into the ledger (合同台账).

A signed contract changes only through a change request (变更申请: reason, content, impact) that
follows the same chain; approving it applies the new terms.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from domain.approvals import engine as approvals
from domain.crm.callbacks import KIND as CALLBACK
from domain.crm.callbacks import reminder_at, schedule_callback
from domain.crm.customers import MAX_VALUE, _record_stage, find_customer, find_lead
from domain.delivery.calendar import workday_on_or_after
from domain.delivery.due import schedule
from domain.delivery.outbox import Money, Msg
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.dates import check_span
from domain.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label, fmt_date, fmt_money, translate, use_locale
from domain.kernel.vocab import CLOSED_STAGES
from domain.kernel.wiring import Key
from domain.reporting.exports import write_table
from domain.reporting.figures import Figure, Scope, count_of
from domain.risk.levels import marked
from domain.store.models import (
    ApprovalRequest,
    Callback,
    Contract,
    Customer,
    Lead,
    Member,
    Organisation,
)
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import amount_owner_ids, parse_ref, ref, require_visible, visible_owner_ids
from domain.team.members import exporter

CONTRACT_STATES = {"draft": N_("draft"), "pending": N_("in approval"), "signed": N_("signed"),
                   "rejected": N_("rejected"), "changes": N_("changes requested")}


def kref(contract: Contract) -> str:
    return ref("K", contract.number)


# --- what happens to a contract after its signature ---------------------------------------------

SIGNED, DELIVERED, ACCEPTED = "signed", "delivered", "accepted"  # the events a contract goes through


@dataclass(frozen=True)
class ContractPart:
    """One thing shown in a contract's view: a field (label and value) or a section (label and items)."""
    label: Label
    value: str | None = None
    items: list[str] | None = None


@dataclass(frozen=True)
class FollowUp:
    """What an area that carries contracts on after their signature (orders, payments) adds to them: the
    events it hears (signed, delivered, accepted, each with its local day), the fields and sections it adds
    to a contract's view (formatted in the reader's language), and the columns it adds to the ledger
    (values by contract id, in the columns' order; `money` marks the columns holding amounts). `check_submit`
    may refuse a contract's submission (raising why); `terms` gives the payment terms its approval card shows."""
    name: str
    on_event: Callable[[UnitOfWork, Contract, str, date], None] | None = None
    parts: Callable[[UnitOfWork, Actor, Contract], list[ContractPart]] | None = None
    columns: tuple[Label, ...] = ()
    money: tuple[bool, ...] = ()
    values: Callable[[UnitOfWork, Sequence[Contract]], dict[int, tuple[Any, ...]]] | None = None
    check_submit: Callable[[UnitOfWork, Contract], None] | None = None
    terms: Callable[[UnitOfWork, Contract], Msg | None] | None = None


FOLLOW_UPS: Key[FollowUp] = Key("contract follow-ups")


def contract_event(uow: UnitOfWork, contract: Contract, event: str, day: date) -> None:
    """Tell every follow-up that `contract` was signed, delivered or accepted on `day` (a delivery may be told
    more than once: once for each order shipped)."""
    for follow in uow.wiring[FOLLOW_UPS].values():
        if follow.on_event is not None:
            follow.on_event(uow, contract, event, day)


def _check_amount(amount: Decimal) -> None:
    if not (Decimal(0) < amount < MAX_VALUE):
        raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))


@dataclass
class Terms:
    title: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    payment: str | None = None
    delivery: date | None = None
    term: date | None = None
    clauses: str | None = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


def new_contract(uow: UnitOfWork, actor: Actor, customer_text: str, terms: Terms, lead_text: str | None = None
                 ) -> Contract:
    """Draft a contract for a customer the actor sees (not yet submitted)."""
    customer = find_customer(uow, actor, customer_text)
    if not terms.title or terms.amount is None:
        raise Invalid(N_("A contract needs a title and an amount: title=\"...\" amount=800000."))
    _check_amount(terms.amount)
    lead = find_lead(uow, actor, lead_text) if lead_text else None
    if lead is not None and lead.customer_id != customer.id:
        raise Invalid(N_("{lead} is a lead of another customer."), lead=ref("L", lead.number))
    contract = uow.add(Contract(
        org_id=actor.org_id, number=next_number(uow, Contract, actor.org_id), customer_id=customer.id,
        lead_id=lead.id if lead else None, owner_id=actor.member_id,
        title=terms.title.strip()[:200], amount=terms.amount, currency=terms.currency or "CNY",
        payment=terms.payment, delivery=terms.delivery, term=terms.term, clauses=terms.clauses, state="draft",
        risk=customer.risk, created_at=uow.now, updated_at=uow.now))  # the customer's risk, as a lead's
    uow.session.flush()
    req = approvals.create_request(uow, actor, "contract", {}, contract.amount, contract.currency, contract.id)
    contract.request_id = req.id
    uow.audit(actor.org_id, actor.member_id, "create", "contract", kref(contract),
              f"{customer.name} {contract.amount} {contract.currency}")
    uow.commit()
    return contract


def find_contract(uow: UnitOfWork, actor: Actor, text: str) -> Contract:
    """By reference (K4); one the actor may not see is not found."""
    contract = by_number(uow, Contract, actor.org_id, parse_ref(text, "K"))
    if contract is None:
        raise NotFound(N_("No contract {ref}."), ref=text.strip().upper())
    require_visible(uow, actor, contract.owner_id, N_("No contract {ref}."), ref=text.strip().upper())
    return contract


def _own(uow: UnitOfWork, actor: Actor, contract: Contract) -> None:
    if contract.owner_id != actor.member_id:
        owner = uow.session.get(Member, contract.owner_id)
        raise Forbidden(N_("Only {name}, who drafted {ref}, can do that."), name=owner.name if owner else "?",
                        ref=kref(contract))


def edit_contract(uow: UnitOfWork, actor: Actor, text: str, terms: Terms) -> Contract:
    """Revise a draft, or a contract sent back or rejected; then submit it again."""
    contract = find_contract(uow, actor, text)
    _own(uow, actor, contract)
    if contract.state not in ("draft", "changes", "rejected"):
        raise Conflict(N_("{ref} is {state}; a signed contract changes by /contract change."), ref=kref(contract),
                       state=Label(CONTRACT_STATES[contract.state]))
    changes = terms.given()
    if not changes:
        raise Invalid(N_("Nothing to change."))
    if terms.amount is not None:
        _check_amount(terms.amount)
    for key, value in changes.items():
        setattr(contract, key, value)
    contract.updated_at = uow.now
    req = uow.session.get(ApprovalRequest, contract.request_id)
    assert req is not None
    req.amount, req.currency = contract.amount, contract.currency
    uow.audit(actor.org_id, actor.member_id, "update", "contract", kref(contract),
              " ".join(f"{k}={v}" for k, v in changes.items()))
    uow.commit()
    return contract


def submit_contract(uow: UnitOfWork, actor: Actor, text: str) -> tuple[Contract, ApprovalRequest]:
    """Send a draft (or a revised contract) into its approval chain; the chain starts from the top."""
    contract = find_contract(uow, actor, text)
    _own(uow, actor, contract)
    req = uow.session.get(ApprovalRequest, contract.request_id)
    assert req is not None
    if req.type != "contract" or contract.state == "signed":
        raise Conflict(N_("{ref} is {state}; a signed contract changes by /contract change."), ref=kref(contract),
                       state=Label(CONTRACT_STATES[contract.state]))
    for follow in uow.wiring[FOLLOW_UPS].values():
        if follow.check_submit is not None:
            follow.check_submit(uow, contract)
    approvals.submit(uow, actor, req)
    contract.state, contract.updated_at = "pending", uow.now
    uow.audit(actor.org_id, actor.member_id, "update", "contract", kref(contract), f"submitted {approvals.rref(req)}")
    uow.commit()
    return contract, req


def request_change(uow: UnitOfWork, actor: Actor, text: str, reason: str, content: str, impact: str | None,
                   terms: Terms) -> tuple[Contract, ApprovalRequest]:
    """A change request (变更申请) on a signed contract, submitted at once into the same chain."""
    contract = find_contract(uow, actor, text)
    _own(uow, actor, contract)
    if contract.state != "signed":
        raise Conflict(N_("Only a signed contract takes a change request; {ref} is {state}."), ref=kref(contract),
                       state=Label(CONTRACT_STATES[contract.state]))
    current = uow.session.get(ApprovalRequest, contract.request_id) if contract.request_id else None
    if current is not None and current.type == "change" and current.state == "pending":
        raise Conflict(N_("{ref} already has a change request in approval ({req})."), ref=kref(contract),
                       req=approvals.rref(current))
    if terms.amount is not None:
        _check_amount(terms.amount)
    new = {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in terms.given().items()}
    fields = {"reason": reason.strip(), "content": content.strip(), "impact": (impact or "").strip(), "new": new}
    amount = terms.amount if terms.amount is not None else contract.amount
    req = approvals.create_request(uow, actor, "change", fields, amount, contract.currency, contract.id)
    approvals.submit(uow, actor, req)
    contract.request_id = req.id
    uow.audit(actor.org_id, actor.member_id, "create", "contract", kref(contract),
              f"change request {approvals.rref(req)}: {reason.strip()}")
    uow.commit()
    return contract, req


def describe_contract(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    contract = uow.session.get(Contract, req.subject_id)
    assert contract is not None
    customer = uow.session.get(Customer, contract.customer_id)
    owner = uow.session.get(Member, contract.owner_id)
    terms = [t for f in uow.wiring[FOLLOW_UPS].values() if f.terms is not None
             for t in [f.terms(uow, contract)] if t is not None]
    payment: Any = contract.payment or "—"
    if terms:  # the structured terms, and the free-text payment note after them
        payment = Msg(N_("{terms} ({note})"), {"terms": terms[0], "note": contract.payment}) if contract.payment \
            else terms[0]
    params = {"ref": kref(contract), "customer": customer.name if customer else "?", "title": contract.title,
              "amount": Money(contract.amount, contract.currency), "payment": payment,
              "delivery": contract.delivery or "—", "term": contract.term or "—", "owner": owner.name if owner else "?"}
    if req.type == "change":
        new = req.fields.get("new") or {}
        params.update(reason=req.fields.get("reason", ""), content=req.fields.get("content", ""),
                      impact=req.fields.get("impact") or "—",
                      amount=Money(Decimal(new["amount"]), contract.currency) if "amount" in new else params["amount"])
        return Msg(N_("Change to contract {ref} ({customer}, {title}) by {owner}: {content}. Reason: {reason}. "
                      "Impact: {impact}. Amount: {amount}."), params)
    return Msg(N_("Contract {ref} with {customer}: {title}, {amount}. Payment: {payment}; delivery {delivery}; "
                  "term {term}. Drafted by {owner}."), params)


def contract_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    contract = uow.session.get(Contract, req.subject_id)
    assert contract is not None
    contract.updated_at = uow.now
    if state != "approved":
        contract.state = state
        return
    org = uow.session.get(Organisation, contract.org_id)
    assert org is not None
    contract.state, contract.signed_on, contract.signed_at = "signed", local_today(uow.now, org.timezone), uow.now
    uow.audit(contract.org_id, actor.member_id, "create", "ledger", kref(contract), "signed into the ledger")
    _plan_delivery_callback(uow, org, contract)
    contract_event(uow, contract, SIGNED, contract.signed_on)
    lead = uow.session.get(Lead, contract.lead_id) if contract.lead_id else None
    if lead is not None and lead.stage not in CLOSED_STAGES:
        _record_stage(uow, actor, lead, lead.stage, "won", f"contract {kref(contract)} signed")
        lead.closed_reason = f"contract {kref(contract)}"
        uow.audit(contract.org_id, actor.member_id, "update", "lead", ref("L", lead.number), f"won by {kref(contract)}")


def change_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    if state != "approved":
        return
    contract = uow.session.get(Contract, req.subject_id)
    assert contract is not None
    new = req.fields.get("new") or {}
    for key, value in new.items():
        if key == "amount":
            contract.amount = Decimal(value)
        elif key in ("delivery", "term"):
            setattr(contract, key, date.fromisoformat(value))
        else:
            setattr(contract, key, value)
    contract.updated_at = uow.now
    if "delivery" in new:
        org = uow.session.get(Organisation, contract.org_id)
        assert org is not None
        _plan_delivery_callback(uow, org, contract)
    uow.audit(contract.org_id, actor.member_id, "update", "contract", kref(contract),
              f"change {approvals.rref(req)} applied: " + " ".join(f"{k}={v}" for k, v in new.items()))


def _plan_delivery_callback(uow: UnitOfWork, org: Organisation, contract: Contract) -> None:
    """A callback is due after a delivery — the first working day after the contract's delivery
    date (交货期), to the customer's owner. A new delivery date moves the open one."""

    if contract.delivery is None:
        return
    due = max(workday_on_or_after(org, contract.delivery + timedelta(days=1)), local_today(uow.now, org.timezone))
    open_one = uow.session.scalar(select(Callback).where(
        Callback.org_id == contract.org_id, Callback.customer_id == contract.customer_id,
        Callback.source_ref == kref(contract), Callback.reason == "delivery", Callback.status == "open"))
    if open_one is not None:
        open_one.due_date = due
        schedule(uow, org.id, CALLBACK, open_one.id, reminder_at(org, due))
        return
    customer = uow.session.get(Customer, contract.customer_id)
    assert customer is not None
    schedule_callback(uow, org, customer, due, "delivery", kref(contract))


@dataclass(frozen=True)
class ContractView:
    contract: Contract
    customer: Customer
    owner: Member
    request: ApprovalRequest | None
    decisions: list[tuple[Any, Member]]
    lead: Lead | None = None
    request_refs: dict[int, str] = field(default_factory=dict)  # by request id: its reference (A3)
    parts: list[ContractPart] = field(default_factory=list)  # what follow-ups add (orders, payments)


def show_contract(uow: UnitOfWork, actor: Actor, text: str) -> ContractView:
    contract = find_contract(uow, actor, text)
    customer = uow.session.get(Customer, contract.customer_id)
    owner = uow.session.get(Member, contract.owner_id)
    assert customer is not None and owner is not None
    req = uow.session.get(ApprovalRequest, contract.request_id) if contract.request_id else None
    reqs = list(uow.session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.subject_id == contract.id, ApprovalRequest.type.in_(("contract", "change")),
        ApprovalRequest.org_id == contract.org_id).order_by(ApprovalRequest.id)))
    decisions = [d for r in reqs for d in approvals.history(uow, r)]
    lead = uow.session.get(Lead, contract.lead_id) if contract.lead_id else None
    parts = [part for follow in uow.wiring[FOLLOW_UPS].values() if follow.parts is not None
             for part in follow.parts(uow, actor, contract)]
    uow.audit(actor.org_id, actor.member_id, "read", "contract", kref(contract))
    uow.commit()
    return ContractView(contract, customer, owner, req, decisions, lead, {r.id: approvals.rref(r) for r in reqs},
                        parts)


def list_contracts(uow: UnitOfWork, actor: Actor, scope: str) -> list[tuple[Contract, Customer, Member]]:
    q = (select(Contract, Customer, Member).join(Customer, Customer.id == Contract.customer_id)
         .join(Member, Member.id == Contract.owner_id).where(Contract.org_id == actor.org_id)
         .order_by(Contract.updated_at.desc(), Contract.id.desc()))
    if scope == "mine":
        q = q.where(Contract.owner_id == actor.member_id)
    else:
        owners = visible_owner_ids(uow, actor)
        if owners is not None:
            q = q.where(Contract.owner_id.in_(owners))
        if scope in ("pending", "signed"):
            q = q.where(Contract.state == scope)
    rows = [(c, cu, m) for c, cu, m in uow.session.execute(q.limit(200)).all()]
    uow.audit(actor.org_id, actor.member_id, "read", "contract", None, f"list {scope}")
    uow.commit()
    return rows


@dataclass(frozen=True)
class LedgerRow:
    ref: str
    signed_on: date
    customer: str
    title: str
    amount: Decimal
    currency: str
    term: date | None
    owner: str
    more: tuple[Any, ...] = ()  # the follow-ups' columns (delivered, invoiced, received, outstanding, ...)


LEDGER_HEADER = (N_("Contract"), N_("Sign date"), N_("Customer"), N_("Title"), N_("Amount"), N_("Currency"),
                 N_("Term"), N_("Owner"))


def ledger(uow: UnitOfWork, actor: Actor, start: date | None = None, end: date | None = None) -> list[LedgerRow]:
    """The contract ledger (合同台账): signed contracts the actor may see, by sign date."""
    q = (select(Contract, Customer.name, Member.name).join(Customer, Customer.id == Contract.customer_id)
         .join(Member, Member.id == Contract.owner_id)
         .where(Contract.org_id == actor.org_id, Contract.state == "signed")
         .order_by(Contract.signed_on, Contract.id))
    if start is not None:
        q = q.where(Contract.signed_on >= start)
    if end is not None:
        q = q.where(Contract.signed_on <= end)
    check_span(start, end)
    owners = visible_owner_ids(uow, actor)
    if owners is not None:
        q = q.where(Contract.owner_id.in_(owners))
    found = [(c, cname, oname) for c, cname, oname in uow.session.execute(q.limit(10000)).all()
             if c.signed_on is not None]
    follows = [f for f in uow.wiring[FOLLOW_UPS].values() if f.values is not None and f.columns]
    more = [f.values(uow, [c for c, _n, _o in found]) for f in follows if f.values is not None]
    blank = [(None,) * len(f.columns) for f in follows]
    rows = [LedgerRow(kref(c), c.signed_on or uow.now.date(), cname, c.title, c.amount, c.currency, c.term, oname,
                      tuple(v for values, empty in zip(more, blank, strict=True) for v in values.get(c.id, empty)))
            for c, cname, oname in found]
    uow.audit(actor.org_id, actor.member_id, "read", "ledger", None,
              f"{start or ''}..{end or ''} {len(rows)} rows")
    uow.commit()
    return rows


def ledger_columns(uow: UnitOfWork) -> tuple[list[Label], list[bool]]:
    """The ledger's columns after its own (LEDGER_HEADER), as the follow-ups add them, and which hold money."""
    follows = [f for f in uow.wiring[FOLLOW_UPS].values() if f.values is not None and f.columns]
    return ([c for f in follows for c in f.columns],
            [f.money[i] if i < len(f.money) else False for f in follows for i in range(len(f.columns))])


def export_ledger(uow: UnitOfWork, member_name: str, org_id: int | None, fmt: str, start: date | None,
                  end: date | None) -> tuple[bytes, int, str]:
    """The ledger rows this member may see, as xlsx or csv with headers in their language; audited."""

    actor = exporter(uow, org_id, member_name, "ledger", roles=None)  # they get the rows they may see
    return (*ledger_table(uow, actor, fmt, start, end), actor.locale)


def ledger_table(uow: UnitOfWork, actor: Actor, fmt: str, start: date | None, end: date | None
                 ) -> tuple[bytes, int]:
    """The ledger rows the actor may see as a table file, and how many rows; audited."""

    with use_locale(actor.locale):  # the follow-ups' columns may hold words (payment terms)
        rows = ledger(uow, actor, start, end)
    columns, money = ledger_columns(uow)
    with use_locale(actor.locale):
        header = [translate(h) for h in (*LEDGER_HEADER, *columns)]
        title = translate(N_("Contract ledger"))
    data = write_table(header, [[r.ref, r.signed_on, r.customer, r.title, r.amount, r.currency, r.term, r.owner,
                                 *r.more] for r in rows], fmt, title,
                       money_columns=(4, *(len(LEDGER_HEADER) + i for i, m in enumerate(money) if m)))
    uow.audit(actor.org_id, actor.member_id, "export", "ledger", None, f"{fmt} {len(rows)} rows")
    uow.commit()
    return data, len(rows)


# --- figures for the weekly digest and the appraisals -------------------------------------------


def contracts_submitted(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "contracts_submitted", N_("contracts submitted for approval in the period: {count}"),
                    select(func.count(ApprovalRequest.id)).where(
        ApprovalRequest.org_id == scope.org_id, ApprovalRequest.type == "contract",
        scope.owned(ApprovalRequest.requester_id), scope.during(ApprovalRequest.submitted_at)))


def contracts_approved(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "contracts_approved", N_("contracts approved and signed in the period: {count}"),
                    select(func.count(Contract.id)).where(
        Contract.org_id == scope.org_id, scope.owned(Contract.owner_id), scope.during(Contract.signed_at)))


def contracts_pending(uow: UnitOfWork, scope: Scope) -> Figure:
    """Waiting in approval at the end of the period (submitted before it, decided after it or not yet),
    so an earlier week's digest shows what was pending then, not what is pending today."""
    return count_of(uow, "contracts_pending", N_("contracts waiting in approval at the end of the period: {count}"),
                    select(func.count(ApprovalRequest.id))
                    .join(Contract, Contract.id == ApprovalRequest.subject_id).where(
        ApprovalRequest.org_id == scope.org_id, ApprovalRequest.type == "contract",
        scope.owned(Contract.owner_id), ApprovalRequest.submitted_at < scope.end,
        or_(ApprovalRequest.decided_at.is_(None), ApprovalRequest.decided_at >= scope.end),
        ApprovalRequest.state != "draft"))


def contract_value_signed(uow: UnitOfWork, scope: Scope) -> Figure:
    rows = uow.session.execute(select(Contract.amount, Contract.currency).where(
        Contract.org_id == scope.org_id, scope.owned(Contract.owner_id), scope.during(Contract.signed_at))).all()
    cny = [amount for amount, currency in rows if currency == "CNY"]
    if len(cny) == len(rows):
        return Figure("contract_value_signed", sum(cny, Decimal(0)), "money",
                      N_("contracts signed into the ledger in the period (CNY): {count}"), {"count": len(cny)}, "CNY")
    # bizbot keeps no exchange rates: contracts in other currencies are counted apart, not converted
    return Figure("contract_value_signed", sum(cny, Decimal(0)), "money",
                  N_("contracts signed into the ledger in the period: {count} in CNY, and {other} in other "
                     "currencies that this total leaves out ({currencies})"),
                  {"count": len(cny), "other": len(rows) - len(cny),
                   "currencies": ", ".join(sorted({currency for _amount, currency in rows if currency != "CNY"}))},
                  "CNY")


def in_archive(uow: UnitOfWork, actor: Actor, customer: Customer) -> list[str]:
    """The customer's contracts in their archive, newest first: drafts, those in approval, signed ones; the amount
    only of contracts the reader's line owns (a customer service member reads every archive, not its money)."""

    hidden, shown = translate(N_("amount not shown")), amount_owner_ids(uow, actor)
    rows = uow.session.execute(
        select(Contract, Member.name).join(Member, Member.id == Contract.owner_id)
        .where(Contract.customer_id == customer.id).order_by(Contract.created_at.desc(), Contract.id.desc())
        .limit(20)).all()
    return [" · ".join([marked(kref(c), c.risk), fmt_date(c.signed_on or local_today(c.created_at, actor.timezone)),
                        c.title,
                        fmt_money(c.amount, c.currency) if shown is None or c.owner_id in shown else hidden,
                        translate(CONTRACT_STATES[c.state]), owner])
            for c, owner in rows]
