"""Due items are data: each kind says how it fires (areas add theirs to DUE_KINDS); the sweep only finds what is due."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from domain.delivery.outbox import enqueue, inserted_together
from domain.kernel.i18n import N_
from domain.kernel.wiring import Key
from domain.store.models import DueItem, Member, Organisation
from domain.store.uow import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
FireFn = Callable[[UnitOfWork, DueItem], None]
RecomputeFn = Callable[[UnitOfWork, Organisation, DueItem], datetime | None]
OwnerFn = Callable[[UnitOfWork, int], int | None]
PrefetchFn = Callable[[UnitOfWork, list[Any]], list[Any]]


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
    alone: bool = False  # fired in a transaction of its own (a department's weekly digest): a job, not a batch
    # given a batch's subjects (of `model`), loads what firing them reads (their customers, their owners) in a
    # statement or two for them all, and returns it: firing then finds it in the session
    prefetch: PrefetchFn | None = None


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


MAX_FIRE_ATTEMPTS = 5  # failed firings before an item is parked and the department's admins told
RETRY_AFTER = timedelta(seconds=30)  # the first retry's delay; each next one doubles it
DUE_PARKED = N_("A scheduled item ({kind}, {key}) failed {attempts} times and was set aside: {error}. "
                "Nothing else was held up; an operator can look into it (due item {id}).")


def failure_reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
    return reason[:500]


def _failed(uow: UnitOfWork, item: DueItem, exc: Exception) -> None:
    """One item's firing failed (its savepoint rolled back): try it again later, doubling the delay, and
    after MAX_FIRE_ATTEMPTS park it and tell the department's admins once."""
    item.attempts = (item.attempts or 0) + 1
    item.last_error = failure_reason(exc)
    log.error("due item %s (%s) failed (attempt %s)", item.key, item.kind, item.attempts, exc_info=exc)
    if item.attempts < MAX_FIRE_ATTEMPTS:
        item.due_at = uow.now + RETRY_AFTER * 2 ** (item.attempts - 1)
        return
    item.state = "parked"
    admins = uow.session.scalars(select(Member.id).where(
        Member.org_id == item.org_id, Member.roles.contains("admin"), Member.active))
    for admin_id in admins:
        enqueue(uow, org_id=item.org_id, key=f"due-parked:{item.id}:{admin_id}", recipient_id=admin_id,
                msgid=DUE_PARKED, urgent=True,
                params={"kind": item.kind, "key": item.key, "attempts": item.attempts,
                        "error": item.last_error[:200], "id": item.id})


def _begin(uow: UnitOfWork) -> None:
    """The batch's transaction begun for real before its first savepoint: SQLite's Python driver begins one
    only before a write, and a savepoint outside a transaction would commit as it is released."""
    conn = uow.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore
        conn.exec_driver_sql("BEGIN")


def sweep_batch(uow_factory: UowFactory, batch: int = 200, fence: Callable[[UnitOfWork], bool] | None = None,
                ) -> tuple[int, bool]:
    """Fire up to `batch` items due by now in one transaction. An item whose firing fails is rolled back alone,
    retried later and parked after repeated failures, and the others go on: the batch is first fired as a
    whole (a savepoint per item costs SQLite about three times the firing itself), and only when an item
    fails is it fired again, each item in a savepoint of its own; fired whole, the batch's messages are
    inserted in one statement. An item of a kind that runs `alone` (a weekly digest) is fired in a batch of
    its own, once no other item is due. Items are claimed with FOR UPDATE SKIP LOCKED, so several replicas
    may sweep at once. Returns how many were fired (or failed) and whether more may be due."""
    try:
        return _sweep_batch(uow_factory, batch, fence, isolate=False)
    except Exception:  # which item failed is found by firing each in a savepoint of its own
        return _sweep_batch(uow_factory, batch, fence, isolate=True)


def _sweep_batch(uow_factory: UowFactory, batch: int, fence: Callable[[UnitOfWork], bool] | None,
                 isolate: bool) -> tuple[int, bool]:
    with uow_factory() as uow:
        if fence is not None and not fence(uow):
            return 0, False
        if isolate:
            _begin(uow)
        kinds = uow.wiring[DUE_KINDS]
        due = (select(DueItem).where(DueItem.state == "pending", DueItem.due_at <= uow.now)
               .order_by(DueItem.due_at, DueItem.id).with_for_update(skip_locked=True))
        # the kinds that run alone (a department's weekly digest) are claimed one at a time, once nothing else
        # is due: a batch of them locked to fire one would keep the other replicas from the rest
        alone = [kind.name for kind in kinds.values() if kind.alone]
        items = list(uow.session.scalars(due.where(DueItem.kind.not_in(alone)).limit(batch)))
        if not items and alone:
            items = list(uow.session.scalars(due.where(DueItem.kind.in_(alone)).limit(1)))
        held = _prefetch(uow, kinds, items)  # kept while the batch fires: the session holds its objects weakly
        if isolate:
            for item in items:
                try:
                    with uow.session.begin_nested():
                        _fire(uow, kinds.get(item.kind), item)
                except Exception as exc:  # this item's failure alone: its savepoint is rolled back
                    _failed(uow, item, exc)
        else:
            with inserted_together(uow):  # the batch's messages in one statement
                for item in items:  # a failure rolls the batch back: it is fired again, item by item
                    _fire(uow, kinds.get(item.kind), item)  # a kind this installation lacks: marked fired
        del held
        uow.commit()
    return len(items), bool(items)


def _prefetch(uow: UnitOfWork, kinds: Mapping[str, DueKind], items: list[DueItem]) -> list[Any]:
    """What firing a batch reads, loaded for all its items at once: their departments, and each kind's
    subjects (and what its `prefetch` adds) in a statement or two a kind, not a few an item."""
    if not items:
        return []
    held: list[Any] = list(uow.session.scalars(
        select(Organisation).where(Organisation.id.in_({item.org_id for item in items}))))
    subjects: dict[str, set[int]] = {}
    for item in items:
        subjects.setdefault(item.kind, set()).add(item.subject_id)
    for name, ids in subjects.items():
        kind = kinds.get(name)
        if kind is None or kind.model is None:
            continue
        loaded = list(uow.session.scalars(select(kind.model).where(kind.model.id.in_(ids))))
        held += loaded
        if kind.prefetch is not None and loaded:
            held += kind.prefetch(uow, loaded)
    return held


def _fire(uow: UnitOfWork, kind: DueKind | None, item: DueItem) -> None:
    due = item.due_at
    if kind is not None:
        kind.fire(uow, item)
    if item.due_at == due:  # a recurring kind moved its item on to the next time
        item.state, item.fired_at = "fired", uow.now


def sweep(uow_factory: UowFactory, batch: int = 200, fence: Callable[[UnitOfWork], bool] | None = None,
          limit: int | None = None) -> int:
    """Fire every pending item due by now (at most about `limit`, when given), batch by batch. An item that
    a firing schedules for now (a review's reminder due the morning it opens) is fired in the same sweep, so
    its notice is merged with the others the dispatcher finds due together. `fence`, asked first in each
    batch's transaction, stops the sweep when it answers False (whoever sweeps no longer may)."""
    fired = 0
    while limit is None or fired < limit:
        done, more = sweep_batch(uow_factory, batch, fence)
        fired += done
        if not more:
            break
    return fired
