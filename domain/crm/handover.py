"""A customer changes owner (`/customer set 华为 owner=小赵`), or its owner leaves: what is open about it goes
with it — the owner's open leads, pending callbacks and care reminders — and both people are told. Other
areas add what they move to OWNER_MOVES (complaints whose assignee can no longer open the customer)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from domain.crm import followup
from domain.crm.callbacks import KIND as CALLBACK
from domain.delivery.outbox import enqueue
from domain.kernel.actor import Actor
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_
from domain.kernel.vocab import CLOSED_STAGES
from domain.kernel.wiring import Key
from domain.store.models import Callback, Customer, Lead, Member, OutboxMessage
from domain.store.uow import UnitOfWork
from domain.team.access import ref
from domain.team.handover import Handed
from domain.team.members import require_active

OwnerMoveFn = Callable[[UnitOfWork, Actor, Customer, Member, Member], list[str]]


@dataclass(frozen=True)
class OwnerMove:
    """What another area moves when a customer goes from one owner to another: `move(uow, actor, customer,
    old owner, new owner)` returns the references of what it moved; `title` (a message id) names them."""

    name: str
    title: str
    move: OwnerMoveFn


OWNER_MOVES: Key[OwnerMove] = Key("customer owner moves")

LEADS, CALLBACKS, CUSTOMERS = N_("Leads"), N_("Callbacks"), N_("Customers")


@dataclass
class Moved:
    """What went with a customer to its new owner, by kind (title message id → references)."""

    old: Member
    new: Member
    kinds: dict[str, list[str]] = field(default_factory=dict)

    def add(self, title: str, refs: list[str]) -> None:
        if refs:
            self.kinds.setdefault(title, []).extend(refs)

    @property
    def refs(self) -> list[str]:
        return [r for refs in self.kinds.values() for r in refs]


TOLD_NEW = N_("{actor} made you the owner of customer {customer} ({ref}), until now {old}'s. What was open went "
              "with it: {moved}.")
TOLD_NEW_NOTHING = N_("{actor} made you the owner of customer {customer} ({ref}), until now {old}'s.")
TOLD_OLD = N_("{actor} made {new} the owner of customer {customer} ({ref}); its open leads, callbacks and care "
              "reminders go to {new} now.")


def change_owner(uow: UnitOfWork, actor: Actor, customer: Customer, new_owner: Member, tell: bool = True) -> Moved:
    """Give the customer to `new_owner` with what is open: the old owner's open leads and pending callbacks
    (and the reminders already waiting for them), its care reminders, and what other areas move."""
    require_active(new_owner)
    old = uow.session.get(Member, customer.owner_id)
    assert old is not None
    if old.id == new_owner.id:
        raise Invalid(N_("{name} already owns {customer}."), name=old.name, customer=customer.name)
    customer.owner_id = new_owner.id
    moved = Moved(old, new_owner)
    moved.add(LEADS, [ref("L", lead.number) for lead in _move_leads(uow, old, new_owner, customer.id)])
    moved.add(CALLBACKS, [ref("CB", cb.number) for cb in _move_callbacks(uow, old, new_owner, customer.id)])
    _redirect(uow, old.id, new_owner.id, f"care:birthday:{customer.id}:", f"care:holiday:{customer.id}:")
    uow.session.flush()
    for hook in uow.wiring[OWNER_MOVES].values():
        moved.add(hook.title, hook.move(uow, actor, customer, old, new_owner))
    if tell:
        _tell(uow, actor, customer, moved)
    return moved


def _move_leads(uow: UnitOfWork, old: Member, new: Member, customer_id: int | None) -> list[Lead]:
    """Open leads of `old` (of one customer, or all) to `new`, with their waiting reminders. A lead's last
    change is not touched: a change of hands is no activity on it."""
    q = select(Lead).where(Lead.owner_id == old.id, *(Lead.stage != s for s in CLOSED_STAGES)).order_by(Lead.number)
    if customer_id is not None:
        q = q.where(Lead.customer_id == customer_id)
    leads = list(uow.session.scalars(q))
    for lead in leads:
        lead.owner_id = new.id
        _redirect(uow, old.id, new.id, *followup.message_prefixes(lead))
    return leads


def _move_callbacks(uow: UnitOfWork, old: Member, new: Member, customer_id: int | None) -> list[Callback]:
    q = select(Callback).where(Callback.owner_id == old.id, Callback.status == "open").order_by(Callback.number)
    if customer_id is not None:
        q = q.where(Callback.customer_id == customer_id)
    callbacks = list(uow.session.scalars(q))
    for cb in callbacks:
        cb.owner_id = new.id
        _redirect(uow, old.id, new.id, f"{CALLBACK}:{cb.id}:")
    return callbacks


def _redirect(uow: UnitOfWork, old_id: int, new_id: int, *prefixes: str) -> None:
    """Reminders already made for `old_id` about a moved item, not yet sent (waiting for working hours), go to
    `new_id` instead."""
    for prefix in prefixes:
        uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient_id == old_id, OutboxMessage.status == "pending",
                   OutboxMessage.key.startswith(prefix, autoescape=True))
            .values(recipient_id=new_id).execution_options(synchronize_session=False))


def _tell(uow: UnitOfWork, actor: Actor, customer: Customer, moved: Moved) -> None:
    """Both owners hear of the change, each in their own language (the actor sees the reply instead)."""
    cref = ref("C", customer.number)
    key = f"customer:owner:{customer.id}:{moved.new.id}:{uow.now.isoformat()}"
    params = {"actor": actor.name, "customer": customer.name, "ref": cref, "old": moved.old.name,
              "new": moved.new.name, "moved": ", ".join(moved.refs)}
    if moved.new.id != actor.member_id:
        enqueue(uow, org_id=customer.org_id, key=f"{key}:new", recipient_id=moved.new.id,
                msgid=TOLD_NEW if moved.refs else TOLD_NEW_NOTHING, params=params)
    if moved.old.id != actor.member_id:
        enqueue(uow, org_id=customer.org_id, key=f"{key}:old", recipient_id=moved.old.id, msgid=TOLD_OLD,
                params=params)


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    """A member leaves: their open leads and callbacks (whichever customer's), then their customers, go to
    the successor."""
    leads = [ref("L", lead.number) for lead in _move_leads(uow, leaver, successor, None)]
    callbacks = [ref("CB", cb.number) for cb in _move_callbacks(uow, leaver, successor, None)]
    uow.session.flush()
    customers: list[str] = []
    more: dict[str, list[str]] = {}
    for customer in uow.session.scalars(select(Customer).where(Customer.owner_id == leaver.id)
                                        .order_by(Customer.number)).all():
        moved = change_owner(uow, actor, customer, successor, tell=False)
        customers.append(f"{customer.name} ({ref('C', customer.number)})")
        for title, refs in moved.kinds.items():
            more.setdefault(title, []).extend(refs)
    handed = [(CUSTOMERS, customers), (LEADS, leads + more.pop(LEADS, [])),
              (CALLBACKS, callbacks + more.pop(CALLBACKS, []))]
    return handed + list(more.items())
