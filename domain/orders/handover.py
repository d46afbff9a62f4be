"""Orders through a hand-over: a member who leaves hands the steps they own that are not done, and the orders
they handed down that are not yet accepted, to the successor (the hand-over's own message tells them which)."""
from __future__ import annotations

from sqlalchemy import select

from domain.kernel.actor import Actor
from domain.kernel.i18n import N_
from domain.orders import orders
from domain.store.models import Member, Order, OrderStep
from domain.store.uow import UnitOfWork
from domain.team.handover import Handed

STEPS = N_("Order steps")
ORDERS = N_("Orders")


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    steps = []
    for step, order in uow.session.execute(
            select(OrderStep, Order).join(Order, Order.id == OrderStep.order_id)
            .where(OrderStep.owner_id == leaver.id, OrderStep.state.in_(("waiting", *orders.ACTIVE_STEP)))
            .order_by(Order.number, OrderStep.position)).all():
        step.owner_id = successor.id
        steps.append(f"{orders.oref(order)} {step.kind}")
    owned = []
    for order in uow.session.scalars(select(Order).where(Order.owner_id == leaver.id, Order.state != "accepted")
                                     .order_by(Order.number)):
        order.owner_id, order.updated_at = successor.id, uow.now
        owned.append(orders.oref(order))
    if steps or owned:
        uow.audit(actor.org_id, actor.member_id, "update", "order", None,
                  f"handed from {leaver.name} to {successor.name}: {' '.join(owned + steps)}")
    return [(STEPS, steps), (ORDERS, owned)]
