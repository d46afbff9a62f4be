"""Orders (订单): handed down (下达) from a signed contract through the department's routing steps, shipped,
and accepted by the customer (验收), with rectification (整改) after a failed acceptance.

Each step is owned by a member holding the step's role, or by a named contact of another department (then
the order's owner follows it up). Steps run in turn: when one is done the next is handed to its owner. A step
has days to be done once it starts; a day before its deadline its owner is reminded; at the deadline it is
late, and the order's owner hears of it; a day later the manager. Shipping records the carrier, the tracking
number and the ship date: the contract hears of the delivery (contract_event), and the customer's delivery
callback is moved to the first working day after the real ship date. A passed acceptance closes the order
(and when every order of the contract is accepted the contract hears it); a failed one records the
rectification required as a step with its owner and due date, after which a new acceptance is recorded.

Who sees an order (domain.team.access): the department's roles, customer service and finance all of them;
sales the orders of their own customers (a supervisor: of their line's) and the ones they handed down;
the owner of a step the orders they have a step in.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from domain.approvals.contracts import (
    ACCEPTED,
    DELIVERED,
    ContractPart,
    contract_event,
    kref,
)
from domain.crm.callbacks import KIND as CALLBACK
from domain.crm.callbacks import reminder_at, schedule_callback
from domain.delivery.calendar import workday_on_or_after
from domain.delivery.due import schedule
from domain.delivery.outbox import OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.dates import check_span
from domain.kernel.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label, fmt_date, fmt_number, translate, use_locale
from domain.orders.routes import DEFAULT_ROUTE, STEP_KINDS, RouteStep, parse_qty, parse_route, route_text
from domain.reporting.exports import write_table
from domain.reporting.figures import Figure, Scope, count_of, rate
from domain.store.models import (
    Callback,
    Contract,
    Customer,
    DueItem,
    Member,
    Order,
    OrderStep,
    Organisation,
)
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import TEAM_ADMIN_ROLES, can_access, parse_ref, ref, require_role, team_ids
from domain.team.agenda import AgendaEntry
from domain.team.members import department_manager, exporter, find_member, find_member_or_none

KIND = "order"
PREFIX = "O"

STATES = {"open": N_("in progress"), "shipped": N_("shipped, awaiting acceptance"),
          "rectifying": N_("under rectification"), "accepted": N_("accepted")}
STEP_STATES = {"waiting": N_("waiting"), "open": N_("handed down"), "acked": N_("acknowledged"),
               "done": N_("done")}
ACTIVE_STEP = ("open", "acked")
DEPARTMENT_WIDE = frozenset({"service", "finance"})  # who sees every order of the department (beside managers)
CREATORS = frozenset({"service", "sales"})
REMIND_BEFORE = timedelta(days=1)
MANAGER_AFTER = timedelta(days=1)
RECTIFY_DAYS = 7
ACCEPTANCE = {"passed": N_("passed"), "failed": N_("failed")}


def oref(order: Order) -> str:
    return ref(PREFIX, order.number)


def _org(uow: UnitOfWork, org_id: int) -> Organisation:
    org = uow.session.get(Organisation, org_id)
    assert org is not None
    return org


_T = TypeVar("_T")


def transition(fn: Callable[..., _T]) -> Callable[..., _T]:
    """A change checks the order's version in the same UPDATE: of two people pressing at once, one wins and the
    other is told, and nothing of theirs is written."""

    @wraps(fn)
    def run(uow: UnitOfWork, actor: Actor, text: str, *args: Any, **kwargs: Any) -> _T:
        try:
            return fn(uow, actor, text, *args, **kwargs)
        except StaleDataError:
            uow.rollback()
            raise Conflict(N_("{ref} was changed by someone else just now; look again with /order show {ref}."),
                           ref=text.strip().upper()) from None

    return run


# --- the route ---------------------------------------------------------------------------------


def route_of(org: Organisation) -> tuple[RouteStep, ...]:
    stored = (org.settings or {}).get("order_route")
    if not stored:
        return DEFAULT_ROUTE
    return tuple(RouteStep.from_settings(s) for s in stored)


def show_route(uow: UnitOfWork, actor: Actor) -> tuple[RouteStep, ...]:
    org = _org(uow, actor.org_id)
    uow.audit(actor.org_id, actor.member_id, "read", "order_route", None)
    uow.commit()
    return route_of(org)


def set_route(uow: UnitOfWork, actor: Actor, text: str) -> tuple[RouteStep, ...]:
    """The department's routing for orders handed down from now on (admins and managers); orders already
    handed down keep theirs."""
    require_role(actor, TEAM_ADMIN_ROLES)
    route = parse_route(text) if text.strip().lower() not in ("default", "默认") else DEFAULT_ROUTE
    org = _org(uow, actor.org_id)
    org.settings = {**(org.settings or {}), "order_route": [s.to_settings() for s in route]}
    uow.audit(actor.org_id, actor.member_id, "update", "order_route", None, route_text(route))
    uow.commit()
    return route


# --- access ------------------------------------------------------------------------------------


def sees_all(actor: Actor) -> bool:
    return actor.sees_department or actor.has_any(DEPARTMENT_WIDE)


def _has_step(uow: UnitOfWork, order: Order, member_id: int) -> bool:
    return uow.session.scalar(select(exists().where(OrderStep.order_id == order.id,
                                                    OrderStep.owner_id == member_id))) or False


def visible(uow: UnitOfWork, actor: Actor, order: Order, customer: Customer) -> bool:
    if sees_all(actor) or order.owner_id == actor.member_id:
        return True
    return (can_access(uow, actor, customer.owner_id) or can_access(uow, actor, order.owner_id)
            or _has_step(uow, order, actor.member_id))


def _visible_filter(uow: UnitOfWork, actor: Actor) -> Any:
    if sees_all(actor):
        return and_(True)
    line = team_ids(uow, actor.org_id, actor.member_id)
    mine = select(OrderStep.order_id).where(OrderStep.owner_id == actor.member_id)
    return or_(Customer.owner_id.in_(line), Order.owner_id.in_(line), Order.id.in_(mine))


def find_order(uow: UnitOfWork, actor: Actor, text: str) -> tuple[Order, Customer]:
    """By reference (O3); one the actor may not see is not found."""
    order = by_number(uow, Order, actor.org_id, parse_ref(text, PREFIX))
    if order is None:
        raise NotFound(N_("No order {ref}."), ref=text.strip().upper())
    customer = uow.session.get(Customer, order.customer_id)
    assert customer is not None
    if not visible(uow, actor, order, customer):
        raise Hidden(N_("No order {ref}."), ref=text.strip().upper())
    return order, customer


def _contract_for_order(uow: UnitOfWork, actor: Actor, text: str) -> Contract:
    """A contract the actor may hand an order down from: service all of them, sales those of their line."""
    contract = by_number(uow, Contract, actor.org_id, parse_ref(text, "K"))
    if contract is None:
        raise NotFound(N_("No contract {ref}."), ref=text.strip().upper())
    if not (sees_all(actor) or can_access(uow, actor, contract.owner_id)):
        raise Hidden(N_("No contract {ref}."), ref=text.strip().upper())
    return contract


# --- steps -------------------------------------------------------------------------------------


def _least_loaded(uow: UnitOfWork, org_id: int, role: str) -> Member | None:
    """The active member holding `role` with the fewest open steps."""
    members = [m for m in uow.session.scalars(select(Member).where(Member.org_id == org_id, Member.active)
                                              .order_by(Member.id)) if role in m.role_set]
    if not members:
        return None
    load = dict(uow.session.execute(
        select(OrderStep.owner_id, func.count(OrderStep.id))
        .where(OrderStep.org_id == org_id, OrderStep.state.in_(("waiting", *ACTIVE_STEP)))
        .group_by(OrderStep.owner_id)).all())
    return min(members, key=lambda m: (load.get(m.id, 0), m.id))




def responsible_id(order: Order, step: OrderStep) -> int:
    """Who answers for a step: its owner, or for a named contact's step the order's owner, who follows it up."""
    return step.owner_id if step.owner_id is not None else order.owner_id


def _steps(uow: UnitOfWork, order: Order) -> list[OrderStep]:
    return list(uow.session.scalars(select(OrderStep).where(OrderStep.order_id == order.id)
                                    .order_by(OrderStep.position, OrderStep.id)))


def current_step(uow: UnitOfWork, order: Order) -> OrderStep | None:
    return uow.session.scalar(select(OrderStep).where(OrderStep.order_id == order.id,
                                                      OrderStep.state.in_(ACTIVE_STEP))
                              .order_by(OrderStep.position).limit(1))


def _params(uow: UnitOfWork, order: Order, customer: Customer, step: OrderStep | None = None) -> dict[str, Any]:
    owner = uow.session.get(Member, order.owner_id)
    params: dict[str, Any] = {"ref": oref(order), "customer": customer.name, "items": order.items,
                              "qty": qty_text(order), "delivery": order.delivery,
                              "owner": owner.name if owner else "?"}
    if step is not None:
        params.update(step=Label(STEP_KINDS.labels[step.kind]), due=step.due_at, who=who_of(uow, step))
    return params


def who_of(uow: UnitOfWork, step: OrderStep) -> str:
    if step.owner_id is not None:
        member = uow.session.get(Member, step.owner_id)
        return member.name if member else "?"
    return step.contact or "—"


def qty_text(order: Order) -> str:
    qty = order.qty.normalize() if order.qty == order.qty.to_integral() else order.qty
    shown = fmt_number(qty.quantize(Decimal(1)) if qty == qty.to_integral() else qty)
    return f"{shown} {order.unit}" if order.unit else shown


def _step_buttons(order: Order, step: OrderStep) -> list[OutButton]:
    o, kind = oref(order), step.kind
    done = (OutButton(N_("Shipped"), f"/order ship {o}") if kind == "shipping"
            else OutButton(N_("Done"), f"/order done {o} {kind}", decision=True))
    return [OutButton(N_("Acknowledge"), f"/order ack {o} {kind}"), done, OutButton(N_("Show"), f"/order show {o}")]


def _start(uow: UnitOfWork, org: Organisation, order: Order, customer: Customer, step: OrderStep) -> None:
    """Hand a step to its owner: its deadline runs from now; its reminder and escalations are due items."""
    step.state, step.started_at = "open", uow.now
    if step.due_at is None:
        step.due_at = uow.now + timedelta(days=step.days)
    uow.session.flush()
    _schedule_ladder(uow, org, step)
    who = responsible_id(order, step)
    params = _params(uow, order, customer, step)
    params["requirements"] = order.requirements or "—"
    if step.kind == "rectify":
        params["what"] = step.what or "—"
        msgid = N_("Rectification of order {ref} for {customer} is yours: {what}. Due {due}.")
    elif step.owner_id is None:
        msgid = N_("Order {ref} for {customer} ({items}, {qty}) is at {step}, owned by {who} of another department: "
                   "follow it up with them and record it here. Due {due}.")
    else:
        msgid = N_("Order {ref} for {customer} is handed to you for {step}: {items}, {qty}, delivery {delivery}. "
                   "Requirements: {requirements}. Due {due}.")
    enqueue(uow, org_id=order.org_id, key=f"{KIND}:{step.id}:handed:{who}", recipient_id=who, kind=KIND,
            msgid=msgid, params=params, buttons=_step_buttons(order, step))


def _schedule_ladder(uow: UnitOfWork, org: Organisation, step: OrderStep) -> None:
    assert step.due_at is not None
    if step.due_at - REMIND_BEFORE > uow.now:
        schedule(uow, org.id, KIND, step.id, step.due_at - REMIND_BEFORE, key=f"{KIND}:{step.id}:remind")
    schedule(uow, org.id, KIND, step.id, step.due_at, key=f"{KIND}:{step.id}:owner")
    schedule(uow, org.id, KIND, step.id, step.due_at + MANAGER_AFTER, key=f"{KIND}:{step.id}:manager")


def _stop_ladder(uow: UnitOfWork, step: OrderStep) -> None:
    for item in uow.session.scalars(select(DueItem).where(DueItem.kind == KIND, DueItem.subject_id == step.id,
                                                          DueItem.state == "pending")):
        item.state = "cancelled"


def fire(uow: UnitOfWork, item: DueItem) -> None:
    """A step's reminder before its deadline; at it, the step is late and the order's owner hears it; a day after
    it, the manager."""
    phase = item.key.rsplit(":", 1)[1]
    step = uow.session.get(OrderStep, item.subject_id)
    if step is None or step.state not in ACTIVE_STEP:
        return
    order = uow.session.get(Order, step.order_id)
    assert order is not None
    customer = uow.session.get(Customer, order.customer_id)
    assert customer is not None
    who = responsible_id(order, step)
    params = _params(uow, order, customer, step)
    buttons = _step_buttons(order, step)
    if phase == "remind":
        enqueue(uow, org_id=order.org_id, key=f"{item.key}:{who}", recipient_id=who, kind=KIND,
                msgid=N_("Reminder: step {step} of order {ref} for {customer} is due by {due}."), params=params,
                buttons=buttons)
        return
    if phase == "owner":
        step.late, step.escalated = True, 1
        enqueue(uow, org_id=order.org_id, key=f"{item.key}:{who}", recipient_id=who, kind=KIND,
                msgid=N_("Late: step {step} of order {ref} for {customer} was due by {due}."), params=params,
                buttons=buttons)
        if order.owner_id != who:
            enqueue(uow, org_id=order.org_id, key=f"{item.key}:{order.owner_id}", recipient_id=order.owner_id,
                    msgid=N_("Late: step {step} of your order {ref} for {customer}, owned by {who}, was due by {due} "
                             "and is not done."), params=params, buttons=[OutButton(N_("Show"), f"/order show "
                                                                                             f"{oref(order)}")])
        return
    step.escalated = 2
    manager = department_manager(uow, order.org_id)
    if manager is None or manager.id in (who, order.owner_id):
        return  # told already as the step's or the order's owner
    enqueue(uow, org_id=order.org_id, key=f"{item.key}:{manager.id}", recipient_id=manager.id,
            msgid=N_("Escalation: step {step} of order {ref} for {customer} (owner {owner}; step with {who}) was "
                     "due by {due} and is still not done; delivery is promised for {delivery}."),
            params=params, buttons=[OutButton(N_("Show"), f"/order show {oref(order)}")])


# --- handing down ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrder:
    order: Order
    customer: Customer
    contract: Contract
    steps: list[OrderStep]


def new_order(uow: UnitOfWork, actor: Actor, contract_text: str, *, items: str, qty: str, delivery: date,
              requirements: str | None = None) -> NewOrder:
    """Hand an order down (订单下达) from a signed contract: its routing steps are made from the department's
    route, the first is handed to its owner."""
    if not (actor.has_any(CREATORS) or actor.sees_department):
        raise Forbidden(N_("Only customer service and sales members hand orders down."))
    contract = _contract_for_order(uow, actor, contract_text)
    if contract.state != "signed":
        raise Conflict(N_("{ref} is not signed; an order is handed down from a signed contract."),
                       ref=kref(contract))
    amount, unit = parse_qty(qty)
    if not items.strip():
        raise Invalid(N_("Say what is ordered: items=\"...\"."))
    customer = uow.session.get(Customer, contract.customer_id)
    assert customer is not None
    org = _org(uow, actor.org_id)
    order = uow.add(Order(
        org_id=org.id, number=next_number(uow, Order, org.id), contract_id=contract.id, customer_id=customer.id,
        owner_id=actor.member_id, items=items.strip()[:2000], qty=amount, unit=unit, delivery=delivery,
        requirements=requirements.strip() if requirements and requirements.strip() else None, state="open",
        round=1, created_at=uow.now, updated_at=uow.now))
    uow.session.flush()
    steps = []
    for position, rs in enumerate(route_of(org), 1):
        member = _least_loaded(uow, org.id, rs.role) if rs.role else None
        steps.append(uow.add(OrderStep(
            org_id=org.id, order_id=order.id, position=position, kind=rs.kind,
            owner_id=member.id if member else None,
            contact=None if member else (rs.contact or None), days=rs.days, state="waiting", late=False,
            escalated=0)))
    uow.session.flush()
    _start(uow, org, order, customer, steps[0])
    uow.audit(actor.org_id, actor.member_id, "create", "order", oref(order),
              f"{kref(contract)} {customer.name} qty={amount} delivery={delivery.isoformat()}")
    uow.commit()
    return NewOrder(order, customer, contract, steps)


def _step_of(uow: UnitOfWork, order: Order, kind_text: str | None) -> OrderStep:
    """The step named (production, 质检 …), else the order's current one."""
    if kind_text:
        kind = STEP_KINDS.parse(kind_text)
        step = uow.session.scalar(select(OrderStep).where(OrderStep.order_id == order.id, OrderStep.kind == kind)
                                  .order_by(OrderStep.position.desc()).limit(1))
        if step is None:
            raise NotFound(N_("{ref} has no step {step}."), ref=oref(order), step=Label(STEP_KINDS.labels[kind]))
        return step
    step = current_step(uow, order)
    if step is None:
        raise Invalid(N_("{ref} has no step in progress."), ref=oref(order))
    return step


def _may_act(uow: UnitOfWork, actor: Actor, order: Order, step: OrderStep) -> None:
    if actor.member_id in (step.owner_id, order.owner_id) or actor.sees_department or actor.has_any({"service"}):
        return
    raise Forbidden(N_("Only {who}, the order's owner, customer service or a manager can do that."),
                    who=who_of(uow, step))


def _check_active(order: Order, step: OrderStep) -> None:
    if step.state == "waiting":
        raise Conflict(N_("Step {step} of {ref} has not started: an earlier step is not done."),
                       step=Label(STEP_KINDS.labels[step.kind]), ref=oref(order))
    if step.state == "done":
        raise Conflict(N_("Step {step} of {ref} is done already."), step=Label(STEP_KINDS.labels[step.kind]),
                       ref=oref(order))


@transition
def acknowledge(uow: UnitOfWork, actor: Actor, text: str, kind: str | None = None) -> tuple[Order, OrderStep]:
    """The step's owner has it (确认接单)."""
    order, _customer = find_order(uow, actor, text)
    step = _step_of(uow, order, kind)
    _may_act(uow, actor, order, step)
    _check_active(order, step)
    if step.state == "acked":
        raise Conflict(N_("Step {step} of {ref} is acknowledged already."), step=Label(STEP_KINDS.labels[step.kind]),
                       ref=oref(order))
    step.state, step.acked_at = "acked", uow.now
    order.updated_at = uow.now
    uow.audit(actor.org_id, actor.member_id, "update", "order", oref(order), f"ack {step.kind}")
    uow.commit()
    return order, step


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking: str
    day: date


@transition
def complete(uow: UnitOfWork, actor: Actor, text: str, kind: str | None = None, note: str | None = None,
             shipment: Shipment | None = None) -> tuple[Order, OrderStep, OrderStep | None]:
    """A step is done, with a note; the next one is handed down. Shipping needs the carrier and the tracking
    number; it tells the contract of the delivery and moves the customer's delivery callback."""
    order, customer = find_order(uow, actor, text)
    step = _step_of(uow, order, kind)
    _may_act(uow, actor, order, step)
    _check_active(order, step)
    if step.kind == "shipping" and shipment is None:
        raise Invalid(N_("Shipping records the carrier and the tracking number: /order ship {ref} carrier=… "
                         "tracking=…"), ref=oref(order))
    if shipment is not None and step.kind != "shipping":
        raise Invalid(N_("Carrier and tracking number belong to the shipping step."))
    org = _org(uow, actor.org_id)
    today = local_today(uow.now, org.timezone)
    if shipment is not None and shipment.day > today:
        raise Invalid(N_("The ship date cannot be after today."))
    if shipment is not None and shipment.day < local_today(order.created_at, org.timezone):
        raise Invalid(N_("The ship date cannot be before the order was handed down."))
    step.state, step.done_at, step.done_by_id = "done", uow.now, actor.member_id
    step.acked_at = step.acked_at or uow.now
    step.note = note.strip() if note and note.strip() else None
    if step.due_at is not None and uow.now > step.due_at:
        step.late = True
    _stop_ladder(uow, step)
    order.updated_at = uow.now
    detail = f"done {step.kind}"
    nxt = uow.session.scalar(select(OrderStep).where(OrderStep.order_id == order.id, OrderStep.state == "waiting")
                             .order_by(OrderStep.position).limit(1))
    if shipment is not None:
        order.state, order.shipped_on, order.shipped_at = "shipped", shipment.day, uow.now
        order.carrier, order.tracking = shipment.carrier.strip()[:120], shipment.tracking.strip()[:120]
        detail += f" {order.carrier} {order.tracking} {shipment.day.isoformat()}"
        contract = uow.session.get(Contract, order.contract_id)
        assert contract is not None
        _move_delivery_callback(uow, org, contract, customer, shipment.day)
        contract_event(uow, contract, DELIVERED, shipment.day)
        if order.owner_id != actor.member_id:
            enqueue(uow, org_id=order.org_id, key=f"{KIND}:{order.id}:{order.round}:shipped", kind=KIND,
                    recipient_id=order.owner_id,
                    msgid=N_("Order {ref} for {customer} shipped on {day} by {carrier}, tracking number {tracking}."),
                    params={**_params(uow, order, customer), "day": shipment.day, "carrier": order.carrier,
                            "tracking": order.tracking},
                    buttons=[OutButton(N_("Show"), f"/order show {oref(order)}")])
    elif step.kind == "rectify":
        order.state = "shipped"  # rectified: the customer's new acceptance is awaited
        if nxt is not None:
            _start(uow, org, order, customer, nxt)
    elif nxt is not None:
        _start(uow, org, order, customer, nxt)
    uow.audit(actor.org_id, actor.member_id, "update", "order", oref(order), detail)
    uow.commit()
    return order, step, nxt


def _move_delivery_callback(uow: UnitOfWork, org: Organisation, contract: Contract, customer: Customer,
                            day: date) -> None:
    """The callback after a delivery is due the first working day after the real ship date: the open one moves
    there, or (the earlier one made) a new one is opened."""
    due = max(workday_on_or_after(org, day + timedelta(days=1)), local_today(uow.now, org.timezone))
    open_one = uow.session.scalar(select(Callback).where(
        Callback.org_id == contract.org_id, Callback.customer_id == contract.customer_id,
        Callback.source_ref == kref(contract), Callback.reason == "delivery", Callback.status == "open"))
    if open_one is not None:
        open_one.due_date = due
        schedule(uow, org.id, CALLBACK, open_one.id, reminder_at(org, due))
        return
    schedule_callback(uow, org, customer, due, "delivery", kref(contract))


@transition
def accept(uow: UnitOfWork, actor: Actor, text: str, passed: bool, note: str | None = None,
           rectify: str | None = None, owner: str | None = None, due: date | None = None
           ) -> tuple[Order, OrderStep | None]:
    """The customer's acceptance (验收) of a shipped order: passed closes it; failed records the rectification
    required (整改), a step with its owner (a member, or a named contact) and due date, reminded and escalated as
    any step; once done a new acceptance is recorded."""
    order, customer = find_order(uow, actor, text)
    if not (actor.member_id == order.owner_id or actor.has_any(CREATORS) or actor.sees_department):
        raise Forbidden(N_("Only the order's owner, sales, customer service or a manager record an acceptance."))
    if order.state != "shipped":
        raise Conflict(N_("{ref} is {state}; an acceptance follows its shipment."), ref=oref(order),
                       state=Label(STATES[order.state]))
    org = _org(uow, actor.org_id)
    today = local_today(uow.now, org.timezone)
    note = note.strip() if note and note.strip() else None
    contract = uow.session.get(Contract, order.contract_id)
    assert contract is not None
    if passed:
        if rectify or owner or due:
            raise Invalid(N_("A passed acceptance needs no rectification."))
        order.state, order.acceptance, order.accepted_on, order.updated_at = "accepted", "passed", today, uow.now
        uow.audit(actor.org_id, actor.member_id, "update", "order", oref(order),
                  f"acceptance passed (round {order.round})" + (f": {note}" if note else ""))
        others = uow.session.scalar(select(func.count(Order.id)).where(
            Order.contract_id == contract.id, Order.id != order.id, Order.state != "accepted")) or 0
        if not others:
            contract_event(uow, contract, ACCEPTED, today)
        uow.commit()
        return order, None
    if not rectify or not rectify.strip():
        raise Invalid(N_("A failed acceptance says what must be rectified: rectify=\"...\"."))
    if due is not None and due < today:
        raise Invalid(N_("The rectification cannot be due before today."))
    member = None
    contact = None
    if owner:
        member = find_member_or_none(uow, actor.org_id, owner.lstrip("@"))
        if member is None:
            try:
                member = find_member(uow, actor.org_id, owner)
            except NotFound:
                contact = owner.strip()[:200]
        if member is not None and not member.active:
            raise Invalid(N_("{name} is not active."), name=member.name)
    else:
        member = uow.session.get(Member, order.owner_id)
    position = (uow.session.scalar(select(func.max(OrderStep.position)).where(OrderStep.order_id == order.id))
                or 0) + 1
    days = (due - today).days if due is not None else RECTIFY_DAYS
    step = uow.add(OrderStep(
        org_id=org.id, order_id=order.id, position=position, kind="rectify",
        owner_id=member.id if member else None, contact=contact, days=max(days, 0), state="waiting",
        what=rectify.strip()[:2000], late=False, escalated=0,
        due_at=at_local(due, time(18), org.timezone) if due is not None else None))
    order.state, order.acceptance, order.updated_at = "rectifying", "failed", uow.now
    order.round += 1
    uow.session.flush()
    _start(uow, org, order, customer, step)
    uow.audit(actor.org_id, actor.member_id, "update", "order", oref(order),
              f"acceptance failed (round {order.round - 1}): {rectify.strip()}" + (f"; {note}" if note else ""))
    uow.commit()
    return order, step


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepRow:
    step: OrderStep
    who: str
    done_by: str | None


@dataclass(frozen=True)
class OrderView:
    order: Order
    customer: Customer
    contract: Contract
    owner: Member
    steps: list[StepRow]


def _step_rows(uow: UnitOfWork, order: Order) -> list[StepRow]:
    members = {m.id: m.name for m in uow.session.scalars(select(Member).where(Member.org_id == order.org_id))}
    return [StepRow(s, members.get(s.owner_id, "?") if s.owner_id is not None else (s.contact or "—"),
                    members.get(s.done_by_id) if s.done_by_id else None) for s in _steps(uow, order)]


def show(uow: UnitOfWork, actor: Actor, text: str) -> OrderView:
    order, customer = find_order(uow, actor, text)
    contract = uow.session.get(Contract, order.contract_id)
    owner = uow.session.get(Member, order.owner_id)
    assert contract is not None and owner is not None
    rows = _step_rows(uow, order)
    uow.audit(actor.org_id, actor.member_id, "read", "order", oref(order))
    uow.commit()
    return OrderView(order, customer, contract, owner, rows)


def is_late(order: Order, today: date) -> bool:
    """Past its delivery date and not shipped, or shipped after it."""
    if order.shipped_on is not None:
        return order.shipped_on > order.delivery
    return today > order.delivery


@dataclass(frozen=True)
class Tracked:
    order: Order
    customer: Customer
    contract: Contract
    current: StepRow | None
    steps: list[StepRow]


def list_orders(uow: UnitOfWork, actor: Actor, scope: str = "open", contract_text: str | None = None
                ) -> list[Tracked]:
    """open (default: not yet accepted), late, mine (handed down by me or with a step of mine), team, all; or the
    orders of one contract. Each with its steps, to show where it stands."""
    org = _org(uow, actor.org_id)
    today = local_today(uow.now, org.timezone)
    q = (select(Order, Customer, Contract).join(Customer, Customer.id == Order.customer_id)
         .join(Contract, Contract.id == Order.contract_id)
         .where(Order.org_id == actor.org_id, _visible_filter(uow, actor)).order_by(Order.delivery, Order.id))
    if contract_text:
        contract = _contract_for_order(uow, actor, contract_text)
        q = q.where(Order.contract_id == contract.id)
    elif scope == "mine":
        mine = select(OrderStep.order_id).where(OrderStep.owner_id == actor.member_id)
        q = q.where(or_(Order.owner_id == actor.member_id, Order.id.in_(mine)), Order.state != "accepted")
    elif scope == "team":
        line = team_ids(uow, actor.org_id, actor.member_id)
        q = q.where(or_(Order.owner_id.in_(line), Customer.owner_id.in_(line)), Order.state != "accepted")
    elif scope == "late":
        q = q.where(Order.state == "open", Order.delivery < today)
    elif scope != "all":
        q = q.where(Order.state != "accepted")
    found = uow.session.execute(q.limit(200)).all()
    out = []
    for order, customer, contract in found:
        rows = _step_rows(uow, order)
        current = next((r for r in rows if r.step.state in ACTIVE_STEP), None)
        out.append(Tracked(order, customer, contract, current, rows))
    uow.audit(actor.org_id, actor.member_id, "read", "order", contract_text.strip().upper() if contract_text else None,
              f"list {scope}")
    uow.commit()
    return out


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    """Steps waiting for me: mine, and the named contacts' steps of the orders I handed down."""
    rows = uow.session.execute(
        select(OrderStep, Order, Customer.name).join(Order, Order.id == OrderStep.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(OrderStep.org_id == actor.org_id, OrderStep.state.in_(ACTIVE_STEP),
               or_(OrderStep.owner_id == actor.member_id,
                   and_(OrderStep.owner_id.is_(None), Order.owner_id == actor.member_id)))
        .order_by(OrderStep.due_at).limit(50)).all()
    out = []
    for step, order, name in rows:
        due = step.due_at or uow.now
        out.append(AgendaEntry(oref(order), f"{name}: {STEP_KINDS.label(step.kind)}",
                               local_today(due, actor.timezone), due <= uow.now, f"/order show {oref(order)}"))
    return out


# --- what the contract shows (FollowUp) --------------------------------------------------------


def contract_parts(uow: UnitOfWork, actor: Actor, contract: Contract) -> list[ContractPart]:
    """The contract's orders, each with its state, and a line on its delivery: shipped / total, last ship date,
    acceptance."""
    if contract.state != "signed":
        return []
    orders = list(uow.session.scalars(select(Order).where(Order.contract_id == contract.id).order_by(Order.number)))
    if not orders:
        return [ContractPart(Label(N_("Delivered")), translate(N_("no order handed down yet")))]
    shipped = [o for o in orders if o.shipped_on is not None]
    accepted = [o for o in orders if o.state == "accepted"]
    value = translate(N_("{shipped} of {total} orders shipped")).format(shipped=len(shipped), total=len(orders))
    if shipped:
        value += "; " + translate(N_("last on {date}")).format(date=fmt_date(max(o.shipped_on for o in shipped
                                                                                  if o.shipped_on)))
    value += "; " + translate(N_("accepted: {accepted} of {total}")).format(accepted=len(accepted), total=len(orders))
    if any(o.state == "rectifying" for o in orders):
        value += "; " + translate(N_("under rectification"))
    items = []
    for o in orders:
        step = current_step(uow, o)
        state = translate(STATES[o.state])
        if step is not None and o.state == "open":
            state += " · " + STEP_KINDS.label(step.kind)
        items.append(" · ".join([oref(o), o.items if len(o.items) <= 40 else o.items[:39] + "…", qty_text(o),
                                 translate(N_("delivery {date}")).format(date=fmt_date(o.delivery)), state]))
    return [ContractPart(Label(N_("Delivered")), value), ContractPart(Label(N_("Orders")), items=items)]


LEDGER_COLUMNS = (Label(N_("Delivered on")), Label(N_("Accepted on")))


def ledger_values(uow: UnitOfWork, contracts: Sequence[Contract]) -> dict[int, tuple[Any, ...]]:
    """Per contract: the last ship date, and the day its last order was accepted once all of them are."""
    ids = [c.id for c in contracts]
    out: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), 500):
        rows = uow.session.execute(
            select(Order.contract_id, func.max(Order.shipped_on), func.max(Order.accepted_on),
                   func.count(Order.id), func.count(Order.accepted_on))
            .where(Order.contract_id.in_(ids[start:start + 500])).group_by(Order.contract_id)).all()
        for cid, shipped, accepted_on, total, n_accepted in rows:
            out[cid] = (shipped, accepted_on if n_accepted == total else None)
    return out


# --- figures (订单按时交付率) -----------------------------------------------------------------


def _answering(scope: Scope) -> Any:
    """An order counts for the member who handed it down and tracks it (客服), and for the contract's owner."""
    return or_(scope.owned(Order.owner_id), scope.owned(Contract.owner_id))


def orders_handed_down(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "orders_handed_down", N_("orders handed down in the period: {count}"),
                    select(func.count(Order.id)).join(Contract, Contract.id == Order.contract_id).where(
        Order.org_id == scope.org_id, _answering(scope), scope.during(Order.created_at)))


def on_time_delivery(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the orders shipped in the period, the share shipped on or before their delivery date."""
    rows = list(uow.session.execute(select(Order.shipped_on, Order.delivery)
                                    .join(Contract, Contract.id == Order.contract_id).where(
        Order.org_id == scope.org_id, _answering(scope), Order.shipped_on >= scope.first,
        Order.shipped_on < scope.end_day)))
    on_time = sum(1 for shipped, due in rows if shipped is not None and shipped <= due)
    return Figure("on_time_delivery", rate(on_time, len(rows)), "rate",
                  N_("{on_time} of {total} orders shipped in the period were shipped by their delivery date"),
                  {"on_time": on_time, "total": len(rows)})


def orders_late(uow: UnitOfWork, scope: Scope) -> Figure:
    """Orders that were past their delivery date and not shipped at some time in the period."""
    return count_of(uow, "orders_late", N_("orders past their delivery date and not shipped in the period: {count}"),
                    select(func.count(Order.id)).join(Contract, Contract.id == Order.contract_id).where(
        Order.org_id == scope.org_id, _answering(scope), Order.created_at < scope.end,
        Order.delivery < scope.end_day - timedelta(days=1),
        or_(Order.shipped_on.is_(None), and_(Order.shipped_on > Order.delivery, Order.shipped_on >= scope.first))))


# --- export ------------------------------------------------------------------------------------

EXPORT_HEADER = (N_("Order"), N_("Contract"), N_("Customer"), N_("Items"), N_("Quantity"), N_("Unit"),
                 N_("Delivery date"), N_("Requirements"), N_("Status"), N_("Current step"), N_("Step owner"),
                 N_("Shipped on"), N_("Carrier"), N_("Tracking number"), N_("On time"), N_("Acceptance"),
                 N_("Accepted on"), N_("Owner"), N_("Handed down"))


def export_orders(uow: UnitOfWork, member_name: str, org_id: int | None, fmt: str, start: date | None,
                  end: date | None) -> tuple[bytes, int, str]:
    actor = exporter(uow, org_id, member_name, "orders", roles=None)  # they get what they may see
    return (*orders_table(uow, actor, fmt, start, end), actor.locale)


def orders_table(uow: UnitOfWork, actor: Actor, fmt: str, start: date | None, end: date | None
                 ) -> tuple[bytes, int]:
    """The orders the actor may see, handed down in the span (local days), as a table file; audited."""
    check_span(start, end)
    q = (select(Order, Customer.name, Contract, Member.name).join(Customer, Customer.id == Order.customer_id)
         .join(Contract, Contract.id == Order.contract_id).join(Member, Member.id == Order.owner_id)
         .where(Order.org_id == actor.org_id, _visible_filter(uow, actor)).order_by(Order.number))
    if start is not None:
        q = q.where(Order.created_at >= at_local(start, time(0), actor.timezone))
    if end is not None:
        q = q.where(Order.created_at < at_local(end + timedelta(days=1), time(0), actor.timezone))
    found = uow.session.execute(q.limit(100_000)).all()
    current = {s.order_id: s for s in uow.session.scalars(
        select(OrderStep).where(OrderStep.org_id == actor.org_id, OrderStep.state.in_(ACTIVE_STEP))
        .order_by(OrderStep.position.desc()))}
    names = {m.id: m.name for m in uow.session.scalars(select(Member).where(Member.org_id == actor.org_id))}
    tz = ZoneInfo(actor.timezone)

    def local(value: datetime | None) -> str | None:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else None

    with use_locale(actor.locale):
        header = [translate(h) for h in EXPORT_HEADER]
        yes, no = translate(N_("yes")), translate(N_("no"))
        rows = []
        for o, customer, contract, owner in found:
            step = current.get(o.id)
            who = (names.get(step.owner_id, "?") if step.owner_id else step.contact) if step else None
            rows.append([oref(o), kref(contract), customer, o.items, o.qty, o.unit, o.delivery, o.requirements,
                         translate(STATES[o.state]), STEP_KINDS.label(step.kind) if step else None, who,
                         o.shipped_on, o.carrier, o.tracking,
                         (yes if o.shipped_on <= o.delivery else no) if o.shipped_on else None,
                         translate(ACCEPTANCE[o.acceptance]) if o.acceptance else None, o.accepted_on, owner,
                         local(o.created_at)])
        title = translate(N_("Orders"))
    data = write_table(header, rows, fmt, title)
    uow.audit(actor.org_id, actor.member_id, "export", "order", None,
              f"{fmt} {start or ''}..{end or ''} {len(rows)} rows")
    uow.commit()
    return data, len(rows)
