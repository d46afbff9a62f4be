"""Figures measured from the records over a period, for a set of members (or the department).

One registry serves the weekly digest (last week's figures and the change from the
week before) and the appraisal indicators (new customers, negotiation success,
complaint timeliness, ... each shown with its figure and what it was computed from). Each area
adds its own measures to MEASURES in its `register(wiring)`, so the digest and the appraisals
never reach into another area's tables:

    wiring[MEASURES].add(Measure("visits", N_("Visits"), "count", visits, order=30))

A scope is a run of local days ``[first, end)`` in the organisation's time zone; a measure
reads rows whose instant falls in ``[scope.start, scope.end)`` (the UTC instants of those local
midnights) or whose date falls in ``[scope.first, scope.end_day)``, and that belong to
``scope.members`` (``None`` = the whole organisation).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, select

from domain.kernel.clock import at_local
from domain.kernel.i18n import N_, _, fmt_money, fmt_number, fmt_percent
from domain.kernel.wiring import Key
from domain.store.models import Callback, Customer, Lead, StageChange, Visit
from domain.store.uow import UnitOfWork

Unit = Literal["count", "rate", "money"]


@dataclass(frozen=True)
class Scope:
    org_id: int
    first: date  # first local day of the period
    end_day: date  # the local day after the period
    tz: str
    members: frozenset[int] | None = None  # None: everyone in the organisation

    @property
    def start(self) -> datetime:
        return at_local(self.first, time(0), self.tz)

    @property
    def end(self) -> datetime:
        return at_local(self.end_day, time(0), self.tz)

    def previous(self) -> Scope:
        """The period of the same length just before this one (for week-over-week changes)."""
        length = self.end_day - self.first
        return replace(self, first=self.first - length, end_day=self.first)

    def owned(self, column: Any) -> ColumnElement[bool]:
        """`column` (a member id column) belongs to the scope's members."""
        return column.in_(self.members) if self.members is not None else and_(True)

    def during(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)


@dataclass(frozen=True)
class Figure:
    """A measured value; `basis` says what it was computed from, as a msgid with named params."""

    key: str
    value: Decimal | int | float | None  # None: nothing to measure (a rate over zero cases)
    unit: Unit = "count"
    basis: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    currency: str = "CNY"

    def shown(self) -> str:
        """The value for people, in the current locale."""
        if self.value is None:
            return "—"
        if self.unit == "rate":
            return fmt_percent(float(self.value))
        if self.unit == "money":
            return fmt_money(Decimal(self.value), self.currency)
        return fmt_number(self.value)

    def explain(self) -> str:
        """What the figure was computed from, in the current locale."""
        return _(self.basis).format(**self.params) if self.basis else ""


MeasureFn = Callable[[UnitOfWork, Scope], Figure]


@dataclass(frozen=True)
class Measure:
    key: str
    label: str  # msgid
    unit: Unit
    fn: MeasureFn
    order: int = 100
    digest: bool = True  # shown among the weekly digest's figures

    @property
    def name(self) -> str:
        return self.key


MEASURES: Key[Measure] = Key("measures")


def in_order(measures: Mapping[str, Measure]) -> list[Measure]:
    """The measures in the order they are shown (digest, appraisals)."""
    return sorted(measures.values(), key=lambda m: m.order)


def compute(uow: UnitOfWork, scope: Scope, keys: Iterable[str] | None = None) -> dict[str, Figure]:
    """The figures for `keys` (default: every measure, in order)."""
    measures = uow.wiring[MEASURES]
    wanted = list(keys) if keys is not None else [m.key for m in in_order(measures)]
    return {key: measures[key].fn(uow, scope) for key in wanted}


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def count_of(uow: UnitOfWork, key: str, basis: str, stmt: Any) -> Figure:
    """A count figure: the number a `SELECT count(...)` gives, explained by `basis` (a msgid with {count})."""
    n = int(uow.session.scalar(stmt) or 0)
    return Figure(key, n, basis=basis, params={"count": n})


def new_customers(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "new_customers", N_("customers created in the period: {count}"),
                    select(func.count(Customer.id)).where(
        Customer.org_id == scope.org_id, scope.owned(Customer.owner_id), scope.during(Customer.created_at)))


def new_leads(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "new_leads", N_("leads created in the period: {count}"),
                    select(func.count(Lead.id)).where(
        Lead.org_id == scope.org_id, scope.owned(Lead.owner_id), scope.during(Lead.created_at)))


def visits(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "visits", N_("visits logged in the period: {count}"),
                    select(func.count(Visit.id)).where(
        Visit.org_id == scope.org_id, scope.owned(Visit.member_id), scope.during(Visit.at)))


def stage_moves(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "stage_moves", N_("lead stage changes in the period: {count}"),
                    select(func.count(StageChange.id)).join(Lead, Lead.id == StageChange.lead_id).where(
        StageChange.org_id == scope.org_id, scope.owned(Lead.owner_id), scope.during(StageChange.at),
        StageChange.from_stage.is_not(None)))


def negotiation_success(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the leads that reached negotiation and were closed in the period, the share won."""
    reached = select(StageChange.lead_id).where(
        StageChange.org_id == scope.org_id, StageChange.to_stage == "negotiation")
    closed = select(StageChange.to_stage).join(Lead, Lead.id == StageChange.lead_id).where(
        StageChange.org_id == scope.org_id, scope.owned(Lead.owner_id), scope.during(StageChange.at),
        StageChange.to_stage.in_(("won", "lost")), StageChange.lead_id.in_(reached))
    stages = list(uow.session.scalars(closed))
    won, total = stages.count("won"), len(stages)
    return Figure("negotiation_success", rate(won, total), "rate",
                  N_("{won} won of {total} leads closed after reaching negotiation"),
                  {"won": won, "total": total})


def callbacks_due(uow: UnitOfWork, scope: Scope) -> Figure:
    start, end = scope.first, scope.end_day
    return count_of(uow, "callbacks_due", N_("callbacks due in the period: {count}"),
                    select(func.count(Callback.id)).where(
        Callback.org_id == scope.org_id, scope.owned(Callback.owner_id), Callback.status != "cancelled",
        Callback.due_date >= start, Callback.due_date < end))


def callbacks_done(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "callbacks_done", N_("callbacks done in the period: {count}"),
                    select(func.count(Callback.id)).where(
        Callback.org_id == scope.org_id, scope.owned(Callback.owner_id), Callback.status == "done",
        scope.during(Callback.done_at)))


def callback_completion(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the callbacks due in the period, the share done (by the end of the period)."""
    start, end = scope.first, scope.end_day
    rows = list(uow.session.execute(select(Callback.status, Callback.done_at).where(
        Callback.org_id == scope.org_id, scope.owned(Callback.owner_id), Callback.status != "cancelled",
        Callback.due_date >= start, Callback.due_date < end)))
    done = sum(1 for status, at in rows if status == "done" and at is not None and at < scope.end)
    return Figure("callback_completion", rate(done, len(rows)), "rate",
                  N_("{done} of {total} callbacks due in the period were done"),
                  {"done": done, "total": len(rows)})


SATISFIED_FROM = 4  # a score of 4 or 5 counts as satisfied


def satisfaction_rate(uow: UnitOfWork, scope: Scope) -> Figure:
    """客户满意度: of the callbacks (regular and after complaints) done in the period with a satisfaction score,
    the share scored 4 or 5."""
    good, total = uow.session.execute(select(
        func.count(Callback.id).filter(Callback.satisfaction >= SATISFIED_FROM), func.count(Callback.id)).where(
        Callback.org_id == scope.org_id, scope.owned(Callback.owner_id), Callback.status == "done",
        Callback.satisfaction.is_not(None), scope.during(Callback.done_at))).one()
    return Figure("satisfaction_rate", rate(int(good), int(total)), "rate",
                  N_("{good} of {total} callbacks scored satisfied (4 or 5 of 5)"),
                  {"good": int(good), "total": int(total)})


def satisfaction_average(uow: UnitOfWork, scope: Scope) -> Figure:
    """The average satisfaction score (1–5) of the callbacks done in the period."""
    avg, total = uow.session.execute(select(func.avg(Callback.satisfaction), func.count(Callback.id)).where(
        Callback.org_id == scope.org_id, scope.owned(Callback.owner_id), Callback.status == "done",
        Callback.satisfaction.is_not(None), scope.during(Callback.done_at))).one()
    value = round(float(avg), 2) if avg is not None else None
    return Figure("satisfaction_average", value, "count", N_("average of {total} scores"), {"total": int(total)})
