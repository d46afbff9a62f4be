"""Due items are data: each kind registers how it fires; the sweep only finds what is due."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.store.models import DueItem, Organisation
from domain.store.uow import UnitOfWork, UowFactory

if TYPE_CHECKING:
    from domain.team.access import Actor

FireFn = Callable[[UnitOfWork, DueItem], None]
RecomputeFn = Callable[[UnitOfWork, Organisation, DueItem], datetime | None]
OwnerFn = Callable[[UnitOfWork, int], int | None]


@dataclass(frozen=True)
class DueKind:
    name: str
    fire: FireFn
    recompute: RecomputeFn | None = None
    prefix: str | None = None
    owner: OwnerFn | None = None
    label: str | None = None
    model: type[Any] | None = None  # the records its subjects are, numbered per department (the prefix's number)


KINDS: dict[str, DueKind] = {}


def due_kind(
    name: str,
    recompute: RecomputeFn | None = None,
    prefix: str | None = None,
    owner: OwnerFn | None = None,
    label: str | None = None,
    model: type[Any] | None = None,
) -> Callable[[FireFn], FireFn]:
    """Register what happens when an item of this kind falls due.

    `prefix` is the reference people type for its subjects (CB7), numbering records of `model` in the
    department; `owner` who may snooze it, `label` a message id naming the kind for /remind.
    """

    def register(fn: FireFn) -> FireFn:
        KINDS[name] = DueKind(name, fn, recompute, prefix, owner, label, model)
        return fn

    return register


FirstDueFn = Callable[[Organisation, datetime], "datetime | None"]
RECURRING: dict[str, FirstDueFn] = {}


def recurring(kind: str) -> Callable[[FirstDueFn], FirstDueFn]:
    """Register a per-organisation job kept as one self-rescheduling due item (subject = org id).

    The decorated function gives the first time the job falls due for an organisation (None: not
    yet); the kind's fire function moves the item on each time, so restarts neither skip nor double.
    """

    def register(fn: FirstDueFn) -> FirstDueFn:
        RECURRING[kind] = fn
        return fn

    return register


def ensure_recurring(uow: UnitOfWork) -> int:
    """Give every organisation each of its recurring jobs (idempotent; new organisations get theirs)."""
    added = 0
    for kind, first_due in RECURRING.items():
        have = select(DueItem.org_id).where(DueItem.kind == kind)
        for org in uow.session.scalars(select(Organisation).where(Organisation.id.not_in(have))):
            when = first_due(org, uow.now)
            if when is not None:
                schedule(uow, org.id, kind, org.id, when)
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
    for item in pending:
        kind = KINDS.get(item.kind)
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
    """Fire every pending item due by now; each in the transaction that marks it fired. `fence`, asked first
    in each batch's transaction, stops the sweep when it answers False (whoever sweeps no longer may)."""
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
            for item in items:
                kind = KINDS.get(item.kind)
                due = item.due_at
                if kind is not None:
                    kind.fire(uow, item)
                if item.due_at == due:  # a recurring kind moved its item on to the next time
                    item.state, item.fired_at = "fired", uow.now
            uow.commit()
        fired += len(items)
        if len(items) < batch:
            return fired


@dataclass(frozen=True)
class AgendaEntry:
    """One thing due for a member, as their agenda (or Slack's Home tab) lists it."""

    ref: str
    title: str
    due: date
    overdue: bool
    command: str | None = None


AgendaFn = Callable[[UnitOfWork, "Actor"], list[AgendaEntry]]
AGENDA: dict[str, tuple[str, AgendaFn]] = {}


def agenda_source(kind: str, title: str) -> Callable[[AgendaFn], AgendaFn]:
    """Register where a kind's open items for a member come from; `title` is a message id."""

    def register(fn: AgendaFn) -> AgendaFn:
        AGENDA[kind] = (title, fn)
        return fn

    return register


def agenda(uow: UnitOfWork, actor: Actor) -> list[tuple[str, list[AgendaEntry]]]:
    return [(title, fn(uow, actor)) for title, fn in AGENDA.values()]


def snooze(uow: UnitOfWork, actor: Actor, text: str, until: str) -> datetime:
    """Send a reminder again later: in an hour, or on the next working morning."""
    from domain.delivery.calendar import next_working_morning
    from domain.kernel.errors import Invalid, NotFound
    from domain.kernel.i18n import N_
    from domain.store.numbers import id_of
    from domain.team.access import parse_ref, require_visible

    for kind in KINDS.values():
        number = parse_ref(text, kind.prefix) if kind.prefix and kind.model is not None else None
        if number is not None:
            break
    else:
        raise NotFound(N_("Nothing to snooze is called {ref}."), ref=text)
    subject = id_of(uow, kind.model, actor.org_id, number)
    item = uow.session.scalar(select(DueItem).where(DueItem.key == f"{kind.name}:{subject}")) if subject else None
    owner = kind.owner(uow, subject) if kind.owner and subject else None
    if item is None or item.org_id != actor.org_id or owner is None:
        raise NotFound(N_("Nothing to snooze is called {ref}."), ref=text)
    require_visible(uow, actor, owner, N_("Nothing to snooze is called {ref}."), ref=text)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    if until in ("1h", "hour"):
        when = uow.now + timedelta(hours=1)
    elif until in ("tomorrow", "morning", "明天"):
        local = uow.now.astimezone(ZoneInfo(org.timezone))
        end_of_day = datetime.combine(local.date(), time(23, 59), tzinfo=ZoneInfo(org.timezone))
        when = next_working_morning(org, end_of_day)
    else:
        raise Invalid(N_("Snooze for 1h or until tomorrow."))
    schedule(uow, actor.org_id, kind.name, subject, when)
    uow.audit(actor.org_id, actor.member_id, "update", kind.name, text.strip().upper(), f"snoozed to {when}")
    uow.commit()
    return when


def kinds_named(text: str) -> list[str]:
    """The kinds of reminder `text` names: a kind (callback), or its label in the reader's language, whole or in
    part ("客户回访", "回访"; "考核提醒" names all four appraisal reminders)."""
    from domain.kernel.errors import Invalid
    from domain.kernel.i18n import N_, translate

    text = text.strip().lower()
    if text in KINDS:
        return [text]
    labels = {k.name: translate(k.label).lower() for k in KINDS.values() if k.label}
    for match in (lambda label: label == text, lambda label: text in label):
        found = sorted(name for name, label in labels.items() if match(label))
        if found and len({labels[name] for name in found}) == 1:
            return found
    raise Invalid(N_("Unknown reminder kind '{kind}'. Choose one of: {choices}."), kind=text,
                  choices=", ".join(sorted(KINDS)))


def set_muted(uow: UnitOfWork, actor: Actor, text: str, muted: bool) -> list[str]:
    """Stop (or resume) the kinds of reminder `text` names for oneself; returns those kinds."""
    from domain.store.models import Member

    kinds = kinds_named(text)
    member = uow.session.get(Member, actor.member_id)
    assert member is not None
    current = set(member.muted)
    current = current | set(kinds) if muted else current - set(kinds)
    member.prefs = {**(member.prefs or {}), "muted": sorted(current)}
    uow.audit(actor.org_id, actor.member_id, "update", "member", member.name, f"muted={sorted(current)}")
    uow.commit()
    return kinds
