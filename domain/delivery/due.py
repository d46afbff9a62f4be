"""Due items are data: each kind says how it fires (areas add theirs to DUE_KINDS); the sweep only finds what is due."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from domain.kernel.wiring import Key
from domain.store.models import DueItem, Organisation
from domain.store.uow import UnitOfWork, UowFactory

FireFn = Callable[[UnitOfWork, DueItem], None]
RecomputeFn = Callable[[UnitOfWork, Organisation, DueItem], datetime | None]
OwnerFn = Callable[[UnitOfWork, int], int | None]


@dataclass(frozen=True)
class DueKind:
    """What happens when an item of this kind falls due.

    `recompute` gives its time again after the department's time changed, `prefix` is the reference people
    type for its subjects (CB7), `owner` who may snooze it, `label` a message id naming the kind for /remind.
    """

    name: str
    fire: FireFn
    recompute: RecomputeFn | None = None
    prefix: str | None = None
    owner: OwnerFn | None = None
    label: str | None = None
    model: type[Any] | None = None  # the records its subjects are, numbered per department (the prefix's number)


FirstDueFn = Callable[[Organisation, datetime], "datetime | None"]


@dataclass(frozen=True)
class Recurring:
    """A per-organisation job kept as one self-rescheduling due item of kind `name` (subject = org id).

    `first_due` gives the first time the job falls due for an organisation (None: not yet); the kind's fire
    function moves the item on each time, so restarts neither skip nor double.
    """

    name: str
    first_due: FirstDueFn


DUE_KINDS: Key[DueKind] = Key("due kinds")
RECURRING: Key[Recurring] = Key("recurring jobs")


def ensure_recurring(uow: UnitOfWork) -> int:
    """Give every organisation each of its recurring jobs (idempotent; new organisations get theirs)."""
    added = 0
    for job in uow.wiring[RECURRING].values():
        have = select(DueItem.org_id).where(DueItem.kind == job.name)
        for org in uow.session.scalars(select(Organisation).where(Organisation.id.not_in(have))):
            when = job.first_due(org, uow.now)
            if when is not None:
                schedule(uow, org.id, job.name, org.id, when)
                added += 1
    if added:
        uow.commit()
    return added


def schedule(
    uow: UnitOfWork, org_id: int, kind: str, subject_id: int, due_at: datetime, key: str | None = None
) -> DueItem:
    """Schedule (or move) the pending item of this kind for this subject; overdue fires at once."""
    key = key or f"{kind}:{subject_id}"
    item = uow.session.scalar(select(DueItem).where(DueItem.key == key))
    when = max(due_at, uow.now)
    if item is None:
        item = uow.add(
            DueItem(org_id=org_id, kind=kind, subject_id=subject_id, due_at=when, state="pending", key=key)
        )
    else:
        item.due_at, item.state, item.fired_at = when, "pending", None
    return item


def cancel(uow: UnitOfWork, kind: str, subject_id: int, key: str | None = None) -> None:
    item = uow.session.scalar(select(DueItem).where(DueItem.key == (key or f"{kind}:{subject_id}")))
    if item is not None and item.state == "pending":
        item.state = "cancelled"


def reschedule_org(uow: UnitOfWork, org: Organisation) -> None:
    """After a change to the department's time, pending items that know how recompute their time: a new
    time zone keeps their wall-clock time, a new reminder hour or day off moves them (the weekly meeting
    off a new holiday)."""
    pending = uow.session.scalars(
        select(DueItem).where(DueItem.org_id == org.id, DueItem.state == "pending")
    )
    kinds = uow.wiring[DUE_KINDS]
    for item in pending:
        kind = kinds.get(item.kind)
        if kind is not None and kind.recompute is not None:
            when = kind.recompute(uow, org, item)
            if when is not None:
                item.due_at = max(when, uow.now)


def next_due_at(uow_factory: UowFactory) -> datetime | None:
    with uow_factory() as uow:
        return uow.session.scalar(
            select(DueItem.due_at)
            .where(DueItem.state == "pending")
            .order_by(DueItem.due_at)
            .limit(1)
        )


def sweep(uow_factory: UowFactory, batch: int = 200, fence: Callable[[UnitOfWork], bool] | None = None) -> int:
    """Fire every pending item due by now; each in the transaction that marks it fired. An item that a firing
    schedules for now (a review's reminder due the morning it opens) is fired in the same sweep, so its notice
    is merged with the others the dispatcher finds due together. `fence`, asked first in each batch's
    transaction, stops the sweep when it answers False (whoever sweeps no longer may)."""
    fired = 0
    while True:
        with uow_factory() as uow:
            if fence is not None and not fence(uow):
                return fired
            items = list(
                uow.session.scalars(
                    select(DueItem)
                    .where(DueItem.state == "pending", DueItem.due_at <= uow.now)
                    .order_by(DueItem.due_at, DueItem.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            kinds = uow.wiring[DUE_KINDS]
            for item in items:
                kind = kinds.get(item.kind)  # a kind this installation does not have: marked fired, unsent
                due = item.due_at
                if kind is not None:
                    kind.fire(uow, item)
                if item.due_at == due:  # a recurring kind moved its item on to the next time
                    item.state, item.fired_at = "fired", uow.now
            uow.commit()
        fired += len(items)
        if not items:
            return fired
