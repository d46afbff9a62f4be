"""Customer callbacks (回访): due on a local day, reminded at the reminder hour, done with a result."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from domain.delivery.calendar import workday_on_or_after
from domain.delivery.due import schedule
from domain.delivery.outbox import Label, OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.errors import Conflict, Invalid, NotFound
from domain.kernel.i18n import N_
from domain.kernel.notes import note_text
from domain.kernel.vocab import CALLBACK_REASONS, DEFAULT_CADENCE_DAYS
from domain.risk import indicators
from domain.store.models import Callback, Customer, DueItem, Member, Organisation
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import SERVE, customer_owner_ids, parse_ref, ref, require_reach
from domain.team.agenda import AgendaEntry
from domain.team.members import org_setting

KIND = "callback"


def cadence_days(customer: Customer) -> int:
    return customer.cadence_days or DEFAULT_CADENCE_DAYS.get(customer.level, 60)


def reminder_at(org: Organisation, due: date) -> datetime:
    return at_local(due, time(org_setting(org, "reminder_hour")), org.timezone)


def schedule_callback(
    uow: UnitOfWork, org: Organisation, customer: Customer, due: date, reason: str, source_ref: str | None
) -> Callback:
    """Open a callback for the customer's owner and schedule its reminder. A regular callback (its day worked out
    from the cadence) that would fall on a day off is due on the next working day."""
    if reason == "cadence":
        due = workday_on_or_after(org, due)
    cb = uow.add(
        Callback(
            org_id=org.id,
            number=next_number(uow, Callback, org.id),
            customer_id=customer.id,
            owner_id=customer.owner_id,
            due_date=due,
            reason=reason,
            source_ref=source_ref,
            status="open",
            created_at=uow.now,
        )
    )
    uow.session.flush()
    schedule(uow, org.id, KIND, cb.id, reminder_at(org, due))
    return cb


def recompute(uow: UnitOfWork, org: Organisation, item: DueItem) -> datetime | None:
    cb = uow.session.get(Callback, item.subject_id)
    return reminder_at(org, cb.due_date) if cb is not None else None


def owner_of(uow: UnitOfWork, callback_id: int) -> int | None:
    cb = uow.session.get(Callback, callback_id)
    return cb.owner_id if cb is not None else None


def prefetch(uow: UnitOfWork, callbacks: list[Callback]) -> list[Customer | Member]:
    """A sweep's callbacks' customers and owners, in two statements (fire reads them)."""
    customers = uow.session.scalars(select(Customer).where(Customer.id.in_({cb.customer_id for cb in callbacks})))
    owners = uow.session.scalars(select(Member).where(Member.id.in_({cb.owner_id for cb in callbacks})))
    return [*customers, *owners]


def fire(uow: UnitOfWork, item: DueItem) -> None:
    cb = uow.session.get(Callback, item.subject_id)
    if cb is None or cb.status != "open":
        return
    customer = uow.session.get(Customer, cb.customer_id)
    assert customer is not None
    cref = ref("CB", cb.number)
    if cb.reason == "complaint" and cb.source_ref:
        _fire_complaint_callback(uow, cb, customer, item)
        return
    enqueue(
        uow,
        org_id=cb.org_id,
        key=f"callback:{cb.id}:{item.due_at.isoformat()}",
        recipient_id=cb.owner_id,
        kind=KIND,
        msgid=N_(
            "Callback due {due}: {customer} ({reason}). When done: /callback done {ref} result=\"...\""
        ),
        params={
            "due": cb.due_date,
            "customer": customer.name,
            "reason": Label(CALLBACK_REASONS.get(cb.reason, cb.reason)),
            "ref": cref,
        },
        buttons=[
            OutButton(N_("Done"), f"/callback done {cref}", decision=True),
            OutButton(N_("In 1 hour"), f"/remind snooze {cref} 1h", decision=True),
            OutButton(N_("Tomorrow morning"), f"/remind snooze {cref} tomorrow", decision=True),
            OutButton(N_("Customer archive"), f"/customer show {ref('C', customer.number)}"),
        ],
    )


def _fire_complaint_callback(uow: UnitOfWork, cb: Callback, customer: Customer, item: DueItem) -> None:
    """The satisfaction callback after a complaint is recorded on the complaint (satisfied or not)."""
    qref = cb.source_ref
    enqueue(
        uow,
        org_id=cb.org_id,
        key=f"callback:{cb.id}:{item.due_at.isoformat()}",
        recipient_id=cb.owner_id,
        kind=KIND,
        msgid=N_("Satisfaction callback due {due}: ask {customer} whether complaint {complaint} is settled, then: "
                 "/complaint callback {complaint} satisfied|unsatisfied note=\"...\""),
        params={"due": cb.due_date, "customer": customer.name, "complaint": qref},
        buttons=[
            OutButton(N_("Satisfied"), f"/complaint callback {qref} satisfied", decision=True),
            OutButton(N_("Unsatisfied"), f"/complaint callback {qref} unsatisfied"),
            OutButton(N_("Show"), f"/complaint show {qref}"),
        ],
    )


@dataclass(frozen=True)
class CallbackRow:
    callback: Callback
    customer: Customer
    owner: Member


def list_callbacks(uow: UnitOfWork, actor: Actor, scope: str = "mine") -> list[CallbackRow]:
    """Open callbacks, the most overdue first: the actor's own, or all they may make (their line's; every
    customer's for customer service and the department's roles)."""
    q = (
        select(Callback, Customer, Member)
        .join(Customer, Customer.id == Callback.customer_id)
        .join(Member, Member.id == Callback.owner_id)
        .where(Callback.org_id == actor.org_id, Callback.status == "open")
        .order_by(Callback.due_date, Callback.id)
    )
    if scope == "mine":
        q = q.where(Callback.owner_id == actor.member_id)
    else:
        owners = customer_owner_ids(uow, actor, SERVE)
        if owners is not None:
            q = q.where(Callback.owner_id.in_(owners))
    rows = [CallbackRow(*r) for r in uow.session.execute(q.limit(200)).all()]
    uow.audit(actor.org_id, actor.member_id, "read", "callback", None, f"list {scope}")
    uow.commit()
    return rows


@dataclass(frozen=True)
class CallbackDone:
    callback: Callback
    customer: Customer
    next_callback: Callback | None


def open_callback(uow: UnitOfWork, actor: Actor, cb_ref: str) -> Callback:
    """The callback, if the actor may record it (its owner's line, or customer service) and nobody has yet; one
    out of their reach is not found."""
    cb = by_number(uow, Callback, actor.org_id, parse_ref(cb_ref, "CB"))
    if cb is None:
        raise NotFound(N_("No callback {ref}."), ref=cb_ref)
    require_reach(uow, actor, cb.owner_id, SERVE, N_("No callback {ref}."), ref=cb_ref)
    if cb.status != "open":
        by = uow.session.get(Member, cb.done_by_id) if cb.done_by_id else None
        if cb.status == "cancelled":
            raise Conflict(N_("Callback {ref} was called off by {name}: {reason}"), ref=ref("CB", cb.number),
                           name=by.name if by else "?", reason=note_text(cb.result) or "—")
        raise Conflict(N_("Callback {ref} was already done by {name}."), ref=ref("CB", cb.number),
                       name=by.name if by else "?")
    return cb


def check_satisfaction(score: int | None, comment: str | None) -> str | None:
    """A satisfaction score runs from 1 to 5; a comment goes with a score."""
    comment = comment.strip() if comment and comment.strip() else None
    if score is not None and not 1 <= score <= 5:
        raise Invalid(N_("Satisfaction runs from 1 to 5."))
    if comment is not None and score is None:
        raise Invalid(N_("A comment goes with a satisfaction score: satisfaction=4 comment=\"...\"."))
    if comment is not None and len(comment) > 1000:
        raise Invalid(N_("The comment is too long ({count} characters; at most {max})."), count=len(comment),
                      max=1000)
    return comment


def complete_callback(uow: UnitOfWork, actor: Actor, cb_ref: str, result: str,
                      channel: str | None = None, satisfaction: int | None = None,
                      comment: str | None = None) -> CallbackDone:
    """Record the result (and how the customer was reached, and the customer's satisfaction 1–5 with a
    comment); the next regular callback follows from the customer's cadence."""
    comment = check_satisfaction(satisfaction, comment)
    cb = open_callback(uow, actor, cb_ref)
    if cb.reason == "complaint" and cb.source_ref:
        raise Invalid(N_("{ref} is the satisfaction callback of complaint {complaint}: record it with "
                         "/complaint callback {complaint} satisfied|unsatisfied note=\"...\"."),
                      ref=ref("CB", cb.number), complaint=cb.source_ref)
    if not result.strip():
        raise Invalid(N_("Say what came of the callback: result=\"...\"."))
    org = uow.session.get(Organisation, actor.org_id)
    customer = uow.session.get(Customer, cb.customer_id)
    assert org is not None and customer is not None
    cb.status, cb.result, cb.done_at, cb.done_by_id = "done", result.strip(), uow.now, actor.member_id
    cb.channel = channel
    cb.satisfaction, cb.satisfaction_note = satisfaction, comment
    indicators.customer_touched(uow, actor.org_id, customer.id)
    uow.session.flush()
    next_cb = None
    has_open = uow.session.scalar(
        select(Callback.id).where(Callback.customer_id == customer.id, Callback.status == "open").limit(1)
    )
    if has_open is None:
        today = local_today(uow.now, org.timezone)
        next_cb = schedule_callback(
            uow, org, customer, today + timedelta(days=cadence_days(customer)), "cadence", ref("CB", cb.number)
        )
    uow.audit(actor.org_id, actor.member_id, "update", "callback", ref("CB", cb.number),
              "done" + (f" satisfaction={satisfaction}" if satisfaction is not None else ""))
    uow.commit()
    return CallbackDone(cb, customer, next_cb)


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    today = local_today(uow.now, actor.timezone)
    rows = uow.session.execute(
        select(Callback, Customer.name, Customer.number)
        .join(Customer, Customer.id == Callback.customer_id)
        .where(Callback.owner_id == actor.member_id, Callback.status == "open")
        .order_by(Callback.due_date, Callback.id)
        .limit(50)
    ).all()
    return [
        AgendaEntry(ref("CB", cb.number), name, cb.due_date, cb.due_date < today,
                    f"/customer show {ref('C', customer_number)}")
        for cb, name, customer_number in rows
    ]


def move_cadence(uow: UnitOfWork, org: Organisation, customer: Customer) -> Callback | None:
    """After the customer's level or cadence changed: its pending regular callback falls due the new number of
    days after the day it was set (its last callback, or the archive's opening), and not before today."""
    cb = uow.session.scalar(
        select(Callback).where(Callback.customer_id == customer.id, Callback.status == "open",
                               Callback.reason == "cadence").order_by(Callback.due_date.desc()).limit(1))
    if cb is None:
        return None
    today = local_today(uow.now, org.timezone)
    due = max(local_today(cb.created_at, org.timezone) + timedelta(days=cadence_days(customer)), today)
    if due == cb.due_date:
        return None
    cb.due_date = due
    schedule(uow, org.id, KIND, cb.id, reminder_at(org, due))
    return cb

