"""A contract's payment milestones (付款节点) and the receivables they become.

Terms are set on a contract before it is signed (`/contract terms`), or on a signed one that has received no
payment yet. At signing each milestone takes its amount (a share of the contract's amount, or its fixed amount)
and its owner — the contract's owner, who collects it. A milestone falls due when its trigger happens:

* on signing (and N days after signing): the day the contract was signed;
* on delivery (and N days after it): the FIRST delivery the orders area tells of (a contract shipped in parts
  falls due with its first shipment; later deliveries change nothing);
* on acceptance (and N days after it): the acceptance told, e.g. "10% 验收后90天" falls due 90 days after it;
* on a date: that date, once the contract is signed.

Until a milestone is paid in full it is open: it is reminded to its owner a few days before its due date, and
once overdue it climbs a ladder of due items (owner, then the owner's supervisor, then the manager); past the
department's risk age (`/settings overduerisk`, default 30 days) it raises its customer's risk to orange
(medium) with the reason, once per milestone. Each step is a due item of its own, so the sweep touches only
what falls due.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update

from domain.approvals.contracts import ACCEPTED, DELIVERED, SIGNED, ContractPart, find_contract, kref
from domain.delivery.due import schedule
from domain.delivery.outbox import Money, Msg, OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label, fmt_date, fmt_money, translate, use_locale
from domain.receivables import terms as T
from domain.risk import indicators
from domain.risk.indicators import Reading
from domain.store.models import (
    Contract,
    Customer,
    DueItem,
    Invoice,
    Member,
    Milestone,
    Organisation,
    Payment,
)
from domain.store.numbers import by_number
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref, require_role, team_ids
from domain.team.members import DEFAULT_ORG_SETTINGS, department_manager

KIND = "receivable"
FINANCE_ROLES = frozenset({"finance"})
SETTINGS_ADMIN = frozenset({"admin", "manager"})
REMIND_DAYS = 3  # a milestone is reminded to its owner this many days before it falls due
LADDER = (("owner", 1), ("supervisor", 15), ("manager", 30))  # days overdue at which each is told
STATES = {"planned": N_("planned"), "waiting": N_("waiting for its trigger"), "open": N_("due"),
          "paid": N_("paid")}
OPEN_STATES = ("planned", "waiting", "open")


# --- settings ------------------------------------------------------------------------------------


def terms_required(org: Organisation) -> bool:
    return (org.settings or {}).get("contract_terms", "required") != "optional"


INDICATOR = "receivables_overdue"  # the risk indicator (domain.risk.indicators) this area measures


def risk_days(org: Organisation) -> int:
    """After how many days overdue a receivable turns its customer orange: the risk threshold
    `overdue_orange_days` (/risk thresholds), which /settings overduerisk also sets."""
    return indicators.limits(org)["overdue_orange_days"]


def set_terms_policy(uow: UnitOfWork, actor: Actor, value: str) -> str:
    """Whether a contract needs its delivery date and payment terms before it is submitted (managers, admins)."""
    require_role(actor, SETTINGS_ADMIN)
    words = {"required": "required", "optional": "optional", "必填": "required", "必须": "required",
             "必需": "required", "可选": "optional", "选填": "optional"}
    key = words.get(value.strip().lower())
    if key is None:
        raise Invalid(N_("Write required or optional (必填 or 可选), not '{value}'."), value=value)
    org = _org(uow, actor.org_id)
    org.settings = {**(org.settings or {}), "contract_terms": key}
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"contract_terms={key}")
    uow.commit()
    return key


def set_risk_days(uow: UnitOfWork, actor: Actor, days: int) -> int:
    """After how many days overdue a receivable raises its customer's risk (1–365); for milestones that fall
    due from now on."""
    require_role(actor, SETTINGS_ADMIN)
    if not 1 <= days <= 365:
        raise Invalid(N_("{value} is out of range ({low}–{high})."), value=days, low=1, high=365)
    org = _org(uow, actor.org_id)
    merged = {**indicators.limits(org), "overdue_orange_days": days}
    if days > merged["overdue_red_days"]:
        raise Invalid(N_("The orange threshold {low} cannot be above the red one {high}."),
                      low="overdue_orange_days", high="overdue_red_days")
    org.settings = {**(org.settings or {}), "risk_thresholds": merged}
    uow.audit(actor.org_id, actor.member_id, "update", "settings", "risk thresholds", f"overdue_orange_days={days}")
    uow.commit()
    return days


# --- access ---------------------------------------------------------------------------------------


def _org(uow: UnitOfWork, org_id: int) -> Organisation:
    org = uow.session.get(Organisation, org_id)
    assert org is not None
    return org


def owner_ids(uow: UnitOfWork, actor: Actor) -> set[int] | None:
    """Whose receivables the actor sees: finance and the department's roles all (None); everyone else their
    own, and a supervisor their line's."""
    if actor.sees_department or actor.has_any(FINANCE_ROLES):
        return None
    return team_ids(uow, actor.org_id, actor.member_id)


def find_receivable_contract(uow: UnitOfWork, actor: Actor, text: str) -> Contract:
    """A contract by reference, for its money: its owner's line, finance and the department see it; those who
    collect one of its milestones too. One the actor may not see is not found."""
    contract = by_number(uow, Contract, actor.org_id, parse_ref(text, "K"))
    if contract is None:
        raise NotFound(N_("No contract {ref}."), ref=text.strip().upper())
    owners = owner_ids(uow, actor)
    if owners is not None and contract.owner_id not in owners and uow.session.scalar(
            select(Milestone.id).where(Milestone.contract_id == contract.id, Milestone.owner_id.in_(owners))
            .limit(1)) is None:
        raise Hidden(N_("No contract {ref}."), ref=text.strip().upper())
    return contract


def milestones_of(uow: UnitOfWork, contract_id: int) -> list[Milestone]:
    return list(uow.session.scalars(select(Milestone).where(Milestone.contract_id == contract_id)
                                    .order_by(Milestone.seq)))


def mref(contract: Contract, m: Milestone) -> str:
    return f"{kref(contract)}#{m.seq}"


# --- terms ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermsSet:
    contract: Contract
    milestones: list[Milestone]


def set_terms(uow: UnitOfWork, actor: Actor, text: str, terms_text: str) -> TermsSet:
    """Give a contract its payment terms (replacing any before): its owner, before it is signed, or on a signed
    contract that has received nothing yet."""
    contract = find_contract(uow, actor, text)
    if contract.owner_id != actor.member_id:
        owner = uow.session.get(Member, contract.owner_id)
        raise Forbidden(N_("Only {name}, who drafted {ref}, can do that."), name=owner.name if owner else "?",
                        ref=kref(contract))
    if contract.state == "pending":
        raise Conflict(N_("{ref} is in approval; its terms change when it comes back, or by /contract change."),
                       ref=kref(contract))
    if uow.session.scalar(select(Payment.id).where(Payment.contract_id == contract.id).limit(1)) is not None:
        raise Conflict(N_("{ref} has received payments; its terms no longer change here."), ref=kref(contract))
    if uow.session.scalar(select(Invoice.id).where(Invoice.contract_id == contract.id,
                                                   Invoice.milestone_id.is_not(None)).limit(1)) is not None:
        raise Conflict(N_("{ref} has invoices on its milestones; its terms no longer change here."),
                       ref=kref(contract))
    parsed = T.parse_terms(terms_text, local_today(uow.now, actor.timezone))
    why = T.check_total(parsed, contract.amount, contract.currency)
    if why is not None:
        raise Invalid(N_("{why} Nothing was changed."), why=T.render(why))
    uow.session.execute(update(DueItem).where(DueItem.kind == KIND, DueItem.state == "pending",
                                              DueItem.subject_id.in_(select(Milestone.id).where(
                                                  Milestone.contract_id == contract.id)))
                        .values(state="cancelled"))
    uow.session.execute(delete(Milestone).where(Milestone.contract_id == contract.id))
    made = []
    for seq, (term, amount) in enumerate(zip(parsed, T.amounts(parsed, contract.amount), strict=True), 1):
        made.append(uow.add(Milestone(
            org_id=contract.org_id, contract_id=contract.id, customer_id=contract.customer_id,
            owner_id=contract.owner_id, seq=seq, share=term.share if term.fixed is None else None, fixed=term.fixed,
            amount=amount, currency=contract.currency, trigger=term.trigger, days=term.days, on_date=term.on_date,
            received=Decimal(0), invoiced=Decimal(0), state="planned", risk_raised=False, created_at=uow.now,
            updated_at=uow.now)))
    uow.session.flush()
    if contract.state == "signed" and contract.signed_on is not None:
        _signed(uow, contract, contract.signed_on)
    uow.audit(actor.org_id, actor.member_id, "update", "contract", kref(contract), f"terms {len(made)} milestones")
    uow.commit()
    return TermsSet(contract, made)


def check_submit(uow: UnitOfWork, contract: Contract) -> None:
    """A contract is submitted with its delivery date and payment terms, unless the department's policy makes
    them optional; terms it has must make up its amount."""
    org = _org(uow, contract.org_id)
    found = milestones_of(uow, contract.id)
    if found:
        why = T.check_total(found, contract.amount, contract.currency)
        if why is not None:
            raise Invalid(N_("{ref}'s payment terms no longer make up its amount: {why} Set them again with "
                             "/contract terms {ref} \"...\"."), ref=kref(contract), why=T.render(why))
        for m, amount in zip(found, T.amounts(found, contract.amount), strict=True):
            m.amount = amount
    if not terms_required(org):
        return
    if contract.delivery is None:
        raise Invalid(N_("{ref} needs a delivery date before it is submitted: /contract edit {ref} "
                         "delivery=2027-01-15."), ref=kref(contract))
    if not found:
        raise Invalid(N_("{ref} needs payment terms before it is submitted: /contract terms {ref} \"30% on signing, "
                         "60% on delivery, 10% 90 days after acceptance\"."), ref=kref(contract))


def terms_text(uow: UnitOfWork, contract: Contract) -> Msg | None:
    """The contract's terms as a message (for its approval card), or None when it has none."""
    return T.describe_all(milestones_of(uow, contract.id), contract.currency)


# --- events: when milestones fall due ----------------------------------------------------------------


def on_event(uow: UnitOfWork, contract: Contract, event: str, day: date) -> None:
    if event == SIGNED:
        _signed(uow, contract, day)
    elif event in (DELIVERED, ACCEPTED):
        trigger = T.DELIVERY if event == DELIVERED else T.ACCEPTANCE
        org = _org(uow, contract.org_id)
        for m in milestones_of(uow, contract.id):
            if m.trigger == trigger and m.due_date is None and m.state in ("waiting", "planned"):
                _falls_due(uow, org, m, day + timedelta(days=m.days))


def _signed(uow: UnitOfWork, contract: Contract, day: date) -> None:
    org = _org(uow, contract.org_id)
    found = milestones_of(uow, contract.id)
    for m, amount in zip(found, T.amounts(found, contract.amount), strict=True):
        m.amount, m.owner_id, m.customer_id, m.currency = amount, contract.owner_id, contract.customer_id, \
            contract.currency
        if m.state != "planned":
            continue
        m.state, m.updated_at = "waiting", uow.now
        if m.trigger == T.SIGNING:
            _falls_due(uow, org, m, day + timedelta(days=m.days))
        elif m.trigger == T.DATE and m.on_date is not None:
            _falls_due(uow, org, m, m.on_date)


def _falls_due(uow: UnitOfWork, org: Organisation, m: Milestone, due: date) -> None:
    m.due_date, m.updated_at = due, uow.now
    if m.received >= m.amount:
        m.state = "paid"
        return
    m.state = "open"
    uow.session.flush()
    _schedule_ladder(uow, org, m)


def _at(org: Organisation, day: date) -> datetime:
    hour = int((org.settings or {}).get("reminder_hour", DEFAULT_ORG_SETTINGS["reminder_hour"]))
    return at_local(day, time(hour), org.timezone)


def step_time(org: Organisation, m: Milestone, step: str) -> datetime | None:
    """When a step of the milestone's ladder falls due."""
    if m.due_date is None:
        return None
    if step == "remind":
        return _at(org, m.due_date - timedelta(days=REMIND_DAYS))
    if step == "risk":
        return _at(org, m.due_date + timedelta(days=risk_days(org)))
    return _at(org, m.due_date + timedelta(days=dict(LADDER)[step]))


def _schedule_ladder(uow: UnitOfWork, org: Organisation, m: Milestone) -> None:
    for step in ("remind", *(s for s, _d in LADDER), "risk"):
        when = step_time(org, m, step)
        assert when is not None
        if step == "remind" and when <= uow.now:
            continue  # falls due within days already: no reminder before it
        schedule(uow, org.id, KIND, m.id, when, key=f"{KIND}:{m.id}:{step}")


def stop_ladder(uow: UnitOfWork, m: Milestone) -> None:
    uow.session.execute(update(DueItem).where(DueItem.kind == KIND, DueItem.subject_id == m.id,
                                              DueItem.state == "pending").values(state="cancelled"))


def recompute(uow: UnitOfWork, org: Organisation, item: DueItem) -> datetime | None:
    m = uow.session.get(Milestone, item.subject_id)
    return step_time(org, m, item.key.rsplit(":", 1)[1]) if m is not None else None


def _manager(uow: UnitOfWork, org_id: int, owner: Member | None = None) -> Member | None:
    """The manager above the owner in their reporting line; else the department's first manager."""
    seen: set[int] = set()
    cursor = owner
    while cursor is not None and cursor.id not in seen:
        seen.add(cursor.id)
        if cursor is not owner and cursor.active and cursor.role_set & {"manager", "deputy"}:
            return cursor
        cursor = uow.session.get(Member, cursor.supervisor_id) if cursor.supervisor_id else None
    return department_manager(uow, org_id)


def system_actor(org: Organisation) -> Actor:
    """bizbot itself, when it raises a risk on its own (nobody set it)."""
    return Actor(org_id=org.id, member_id=0, name="bizbot", roles=frozenset(), locale=org.locale,
                 timezone=org.timezone)


def fire(uow: UnitOfWork, item: DueItem) -> None:
    """A step of an open milestone's ladder: the reminder, an escalation, or the customer's risk raised."""
    step = item.key.rsplit(":", 1)[1]
    m = uow.session.get(Milestone, item.subject_id)
    if m is None or m.state != "open" or m.due_date is None:
        return
    contract = uow.session.get(Contract, m.contract_id)
    customer = uow.session.get(Customer, m.customer_id)
    org = _org(uow, m.org_id)
    owner = uow.session.get(Member, m.owner_id)
    assert contract is not None and customer is not None and owner is not None
    today = local_today(uow.now, org.timezone)
    k = kref(contract)
    params: dict[str, Any] = {
        "ref": mref(contract, m), "contract": k, "customer": customer.name, "title": contract.title,
        "amount": Money(m.amount - m.received, m.currency), "date": m.due_date,
        "days": (today - m.due_date).days, "owner": owner.name}
    show = [OutButton(N_("Show"), f"/contract show {k}")]
    if step == "remind":
        enqueue(uow, org_id=m.org_id, key=f"{item.key}:{owner.id}", recipient_id=owner.id, kind=KIND,
                msgid=N_("Payment due soon: {ref} of contract {contract} with {customer}, {amount}, falls due on "
                         "{date}."),
                params=params, buttons=[*show, OutButton(N_("Request invoice"),
                                                         f"/invoice request {k} milestone={m.seq}")])
        return
    if step == "risk":  # the customer's receivables are read again by their risk indicator, in this sweep
        m.risk_raised = True
        indicators.watch(uow, org.id, INDICATOR, customer.id)
        return
    if step == "owner":
        target: Member | None = owner
    elif step == "supervisor":
        target = uow.session.get(Member, owner.supervisor_id) if owner.supervisor_id else None
        target = target if target is not None and target.active else _manager(uow, m.org_id, owner)
    else:
        target = _manager(uow, m.org_id, owner)
    if target is None:
        return
    msgid = N_("Overdue payment: {ref} of contract {contract} with {customer}, {amount}, fell due on {date} "
               "({days} days ago). Collect it, and record it when it is paid.") if target.id == owner.id else N_(
        "Overdue payment escalated to you: {ref} of contract {contract} with {customer}, {amount}, fell due on "
        "{date} ({days} days ago); collected by {owner}.")
    enqueue(uow, org_id=m.org_id, key=f"{item.key}:{target.id}", recipient_id=target.id, kind=KIND,
            msgid=msgid, params=params, buttons=show)


def overdue_reading(uow: UnitOfWork, org: Organisation, customer_id: int, lim: Mapping[str, int],
                    memo: str | None) -> Reading | None:
    """The receivables-overdue indicator: the customer's oldest unpaid milestone past its due date, against the
    department's thresholds (30 days → orange, 90 → red by default); looked at again when the next threshold
    is reached, and whenever a payment is recorded."""
    found = uow.session.execute(
        select(Milestone, Contract).join(Contract, Contract.id == Milestone.contract_id)
        .where(Milestone.org_id == org.id, Milestone.customer_id == customer_id, Milestone.state == "open",
               Milestone.due_date.is_not(None))
        .order_by(Milestone.due_date, Milestone.id).limit(1)).first()
    if found is None:
        return Reading()
    m, contract = found
    assert m.due_date is not None
    today = local_today(uow.now, org.timezone)
    days, orange, red = (today - m.due_date).days, lim["overdue_orange_days"], lim["overdue_red_days"]
    if days < orange:
        return Reading(recheck_at=_at(org, m.due_date + timedelta(days=orange)))
    with use_locale(org.locale):  # the reason is kept once, in the department's language
        params = {"ref": mref(contract, m), "amount": fmt_money(m.amount - m.received, m.currency),
                  "date": fmt_date(m.due_date), "days": days, "limit": red if days >= red else orange}
    why = N_("receivable {ref} ({amount}) overdue since {date}: {days} days (the threshold is {limit} days)")
    if days >= red:
        return Reading("high", why, params)
    return Reading("medium", why, params, recheck_at=_at(org, m.due_date + timedelta(days=red)))


# --- what the contract view and the ledger show ----------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    invoiced: Decimal
    received: Decimal
    outstanding: Decimal


def totals(uow: UnitOfWork, contract_ids: list[int]) -> dict[int, Totals]:
    """Invoiced (issued), received and outstanding by contract, in two aggregate queries."""
    if not contract_ids:
        return {}
    out: dict[int, Totals] = {}
    money = {cid: (amount, received) for cid, amount, received in uow.session.execute(
        select(Milestone.contract_id, func.sum(Milestone.amount), func.sum(Milestone.received))
        .where(Milestone.contract_id.in_(contract_ids)).group_by(Milestone.contract_id))}
    invoiced = dict(uow.session.execute(
        select(Invoice.contract_id, func.sum(Invoice.amount))
        .where(Invoice.contract_id.in_(contract_ids), Invoice.state == "issued").group_by(Invoice.contract_id)).all())
    for cid in contract_ids:
        amount, received = money.get(cid, (None, None))
        out[cid] = Totals(Decimal(invoiced.get(cid) or 0), Decimal(received or 0),
                          Decimal(amount or 0) - Decimal(received or 0))
    return out


def contract_parts(uow: UnitOfWork, actor: Actor, contract: Contract) -> list[ContractPart]:
    found = milestones_of(uow, contract.id)
    parts = [ContractPart(Label(N_("Payment terms")), T.render(T.describe_all(found, contract.currency)))]
    if contract.state == "signed" and found:
        t = totals(uow, [contract.id])[contract.id]
        parts += [ContractPart(Label(N_("Invoiced")), fmt_money(t.invoiced, contract.currency)),
                  ContractPart(Label(N_("Collected")), fmt_money(t.received, contract.currency)),
                  ContractPart(Label(N_("Outstanding")), fmt_money(t.outstanding, contract.currency))]
    today = local_today(uow.now, actor.timezone)
    parts.append(ContractPart(Label(N_("Payment milestones")),
                              items=[milestone_line(m, contract, today) for m in found]))
    return parts


def milestone_line(m: Milestone, contract: Contract, today: date) -> str:
    bits = [f"#{m.seq}", T.render(T.describe(m, m.currency)), fmt_money(m.amount, m.currency)]
    if m.due_date is not None:
        bits.append(translate(N_("due {date}")).format(date=fmt_date(m.due_date)))
    state = translate(STATES[m.state])
    if m.state == "open" and m.due_date is not None and m.due_date < today:
        state = translate(N_("overdue {days} days")).format(days=(today - m.due_date).days)
    bits.append(state)
    if m.received:
        bits.append(translate(N_("received {amount}")).format(amount=fmt_money(m.received, m.currency)))
    if m.invoiced:
        bits.append(translate(N_("invoiced {amount}")).format(amount=fmt_money(m.invoiced, m.currency)))
    return " · ".join(bits)


LEDGER_COLUMNS = tuple(Label(c) for c in (N_("Payment terms"), N_("Invoiced"), N_("Collected"),
                                          N_("Outstanding")))


def ledger_values(uow: UnitOfWork, contracts: list[Contract] | Any) -> dict[int, tuple[Any, ...]]:
    ids = [c.id for c in contracts]
    if not ids:
        return {}
    found: dict[int, list[Milestone]] = {}
    for chunk in range(0, len(ids), 500):
        for m in uow.session.scalars(select(Milestone).where(Milestone.contract_id.in_(ids[chunk:chunk + 500]))
                                     .order_by(Milestone.contract_id, Milestone.seq)):
            found.setdefault(m.contract_id, []).append(m)
    sums = {}
    for chunk in range(0, len(ids), 500):
        sums.update(totals(uow, ids[chunk:chunk + 500]))
    currency = {c.id: c.currency for c in contracts}
    return {cid: (T.render(T.describe_all(found[cid], currency[cid])) if cid in found else None,
                  sums[cid].invoiced, sums[cid].received, sums[cid].outstanding if cid in found else None)
            for cid in ids}

