"""A member who leaves hands their open action items to the successor (reminded to them from then on)."""
from __future__ import annotations

from sqlalchemy import select

from domain.kernel.actor import Actor
from domain.kernel.i18n import N_
from domain.store.models import ActionItem, Member
from domain.store.uow import UnitOfWork
from domain.team.access import ref
from domain.team.handover import Handed


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    items = list(uow.session.scalars(select(ActionItem).where(
        ActionItem.owner_id == leaver.id, ActionItem.status == "open").order_by(ActionItem.number)))
    for item in items:
        item.owner_id = successor.id
    return [(N_("Action items"), [ref("A", item.number) for item in items])]
