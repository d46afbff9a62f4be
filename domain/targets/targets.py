"""Targets (销售任务 / 工作目标): what each member, or a team, is to achieve in a month, quarter or year — contract
value signed, value collected, new customers — with completion, the period's elapsed share (时间进度) and a
ranking (排行榜).

A member's target for a period is the one set for that period; a quarter or year with none of its own adds up
the member's month targets inside it. A team's target (a member's whole reporting line) is the one set for the
team, or else the sum of its members' targets.

Completion reads the records: contracts signed into the ledger (CNY; bizbot keeps no exchange rates), customers
created, and the money collected through the figures registry's `collected_value` measure — where no area
measures collections, collected shows as "not measured".

A member who joined during the period is measured against the target set for them (a manager sets it knowing
the date); their time progress counts from the day they joined, so "on pace" compares their completion with the
share of their own days in the period that has passed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from domain.kernel import periods
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.errors import Forbidden, Invalid
from domain.kernel.i18n import N_
from domain.reporting.figures import MEASURES, Figure, Scope
from domain.store.models import Contract, Customer, Member, Organisation, Target
from domain.store.uow import UnitOfWork
from domain.team.access import team_ids, visible_owner_ids
from domain.team.members import find_member, require_active

SETTER_ROLES = frozenset({"admin", "manager", "deputy", "head"})
FIELDS = ("signed", "collected", "customers")
MAX_MONEY = Decimal("1000000000000")
DAY = timedelta(days=1)
COLLECTED = "collected_value"  # the figures registry's key for money collected (the receivables area's)


@dataclass(frozen=True)
class Period:
    key: str  # 2027-01 · 2027-Q1 · 2027
    kind: str  # month | quarter | year
    first: date
    end_day: date


def period_of(kind: str, day: date) -> Period:
    if kind == "month":
        first = day.replace(day=1)
        end = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return Period(f"{day.year}-{day.month:02d}", kind, first, end)
    if kind == "quarter":
        q = (day.month - 1) // 3
        first = date(day.year, q * 3 + 1, 1)
        end = date(day.year + (q == 3), (q * 3 + 3) % 12 + 1, 1)
        return Period(f"{day.year}-Q{q + 1}", kind, first, end)
    return Period(str(day.year), "year", date(day.year, 1, 1), date(day.year + 1, 1, 1))


def parse_period(text: str | None, today: date) -> Period:
    """A target's period: a month, quarter or year (2027-01, 2027年1月, 2027-Q1, 2027年第一季度, 2027, month,
    quarter, year, …); default this month. Anything else is refused, translated."""
    first, end_day = periods.parse_period(text, today)
    for kind in ("month", "quarter", "year"):
        period = period_of(kind, first)
        if (period.first, period.end_day) == (first, end_day):
            return period
    raise Invalid(N_("'{text}' is not a target period; write a month (2027-01), a quarter (2027-Q1) or a year "
                     "(2027)."), text=text or "")


@dataclass(frozen=True)
class Values:
    signed: Decimal | None = None
    collected: Decimal | None = None
    customers: int | None = None

    def __add__(self, other: Values) -> Values:
        def add(a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else a + b
        return Values(add(self.signed, other.signed), add(self.collected, other.collected),
                      add(self.customers, other.customers))

    @property
    def empty(self) -> bool:
        return self.signed is None and self.collected is None and self.customers is None


def check_values(values: Values) -> None:
    if values.empty:
        raise Invalid(N_("Give at least one of signed=…, collected=… or customers=…."))
    for money in (values.signed, values.collected):
        if money is not None and not (Decimal(0) <= money < MAX_MONEY):
            raise Invalid(N_("The value must be between 0 and 1,000,000,000,000."))
    if values.customers is not None and not 0 <= values.customers <= 100_000:
        raise Invalid(N_("New customers run from 0 to 100,000."))


def _org(uow: UnitOfWork, actor: Actor) -> Organisation:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    return org


def _may_set(uow: UnitOfWork, actor: Actor, member: Member) -> None:
    """Managers set anyone's target; a supervisor sets those of their reporting line (not their own)."""
    if actor.has_any(SETTER_ROLES):
        return
    if member.id != actor.member_id and member.id in team_ids(uow, actor.org_id, actor.member_id):
        return
    raise Forbidden(N_("Targets are set by the managers, or by a supervisor for their team."))


@dataclass(frozen=True)
class TargetSet:
    subject: str  # the member's name
    team: bool
    period: Period
    values: Values
    summed: Values  # for a team: what its members' targets add up to


def set_target(uow: UnitOfWork, actor: Actor, who: str, period_text: str, values: Values,
               team: bool = False) -> TargetSet:
    """Set (or change) the target of a member — or, with `team`, of the member's reporting line — for a month,
    quarter or year; fields not given keep what was set."""
    check_values(values)
    org = _org(uow, actor)
    period = parse_period(period_text, local_today(uow.now, org.timezone))
    member = require_active(find_member(uow, actor.org_id, who))
    if team and not actor.has_any(SETTER_ROLES):
        if member.id != actor.member_id:
            _may_set(uow, actor, member)
    elif not team:
        _may_set(uow, actor, member)
    target = uow.session.scalar(select(Target).where(
        Target.org_id == actor.org_id, Target.member_id == member.id, Target.team.is_(team),
        Target.period == period.key))
    if target is None:
        target = uow.add(Target(org_id=actor.org_id, member_id=member.id, team=team, period=period.key,
                                first=period.first, end_day=period.end_day, set_by_id=actor.member_id,
                                updated_at=uow.now))
    for name in FIELDS:
        value = getattr(values, name)
        if value is not None:
            setattr(target, name, value)
    target.set_by_id, target.updated_at = actor.member_id, uow.now
    uow.session.flush()
    shown = Values(target.signed, target.collected, target.customers)
    summed = _members_sum(uow, actor.org_id, team_ids(uow, actor.org_id, member.id), period) if team else Values()
    uow.audit(actor.org_id, actor.member_id, "update", "target", f"{'team ' if team else ''}{member.name}",
              f"{period.key} " + " ".join(f"{k}={getattr(values, k)}" for k in FIELDS
                                          if getattr(values, k) is not None))
    uow.commit()
    return TargetSet(member.name, team, period, shown, summed)


def _own_targets(uow: UnitOfWork, org_id: int, member_ids: set[int] | None, period: Period,
                 team: bool = False) -> dict[int, Values]:
    """Each member's own target for the period; failing that, the sum of their month targets inside it."""
    q = select(Target).where(Target.org_id == org_id, Target.team.is_(team), Target.first >= period.first,
                             Target.end_day <= period.end_day)
    if member_ids is not None:
        q = q.where(Target.member_id.in_(member_ids))
    exact: dict[int, Values] = {}
    months: dict[int, Values] = {}
    for t in uow.session.scalars(q):
        v = Values(t.signed, t.collected, t.customers)
        if t.period == period.key:
            exact[t.member_id] = v
        elif len(t.period) == 7 and "Q" not in t.period:  # a month inside a quarter or year
            months[t.member_id] = months.get(t.member_id, Values()) + v
    return {**months, **exact}


def _members_sum(uow: UnitOfWork, org_id: int, members: set[int], period: Period) -> Values:
    total = Values()
    for v in _own_targets(uow, org_id, members, period).values():
        total = total + v
    return total


# --- completion ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actual:
    signed: Decimal
    collected: Decimal | None  # None: nothing in this installation measures collections
    customers: int


def actuals(uow: UnitOfWork, org: Organisation, members: set[int], period: Period) -> dict[int, Actual]:
    """What each member achieved in the period (so far): one grouped query per kind of record."""
    scope = Scope(org.id, period.first, period.end_day, org.timezone, frozenset(members))
    signed = dict(uow.session.execute(
        select(Contract.owner_id, func.sum(Contract.amount)).where(
            Contract.org_id == org.id, Contract.owner_id.in_(members), Contract.currency == "CNY",
            scope.during(Contract.signed_at)).group_by(Contract.owner_id)).all())
    customers = dict(uow.session.execute(
        select(Customer.owner_id, func.count(Customer.id)).where(
            Customer.org_id == org.id, Customer.owner_id.in_(members), scope.during(Customer.created_at))
        .group_by(Customer.owner_id)).all())
    measure = uow.wiring[MEASURES].get(COLLECTED)
    out = {}
    for mid in members:
        collected = None
        if measure is not None:
            fig = measure.fn(uow, Scope(org.id, period.first, period.end_day, org.timezone, frozenset({mid})))
            collected = None if fig.value is None else Decimal(str(fig.value))
        out[mid] = Actual(Decimal(signed.get(mid) or 0), collected, int(customers.get(mid) or 0))
    return out


def elapsed_share(period: Period, today: date, joined: date | None = None) -> float:
    """时间进度: the share of the period's days (today counted) that has passed — of the member's own days, for one
    who joined during it."""
    start = max(period.first, joined) if joined else period.first
    total = (period.end_day - start).days
    if total <= 0:
        return 1.0
    passed = (min(today, period.end_day - DAY) - start).days + 1
    return max(0.0, min(1.0, passed / total))


@dataclass(frozen=True)
class Row:
    name: str
    member_id: int
    team: bool
    target: Values
    actual: Actual
    elapsed: float
    joined: date | None  # the day a member joined during the period

    def completion(self, field: str) -> float | None:
        goal = getattr(self.target, field)
        done = getattr(self.actual, field)
        if goal is None or done is None:
            return None
        return float(done) / float(goal) if goal else (1.0 if done else None)


@dataclass(frozen=True)
class Board:
    period: Period
    today: date
    elapsed: float
    rows: list[Row]  # ranked: signed completion, then collected, then new customers
    teams: list[Row]
    collected_measured: bool


def _rank_key(row: Row) -> tuple[float, float, float, str]:
    def neg(v: float | None) -> float:
        return -(v if v is not None else -1.0)
    return (neg(row.completion("signed")), neg(row.completion("collected")), neg(row.completion("customers")),
            row.name)


def board(uow: UnitOfWork, actor: Actor, period_text: str | None) -> Board:
    """The targets the actor may see for a period (default this month): each member's completion and the
    ranking (排行榜), and the teams' (set, or summed from their members')."""
    org = _org(uow, actor)
    today = local_today(uow.now, org.timezone)
    period = parse_period(period_text, today)
    visible = visible_owner_ids(uow, actor)
    own = _own_targets(uow, org.id, visible, period)
    set_teams = _own_targets(uow, org.id, visible, period, team=True)
    members = {m.id: m for m in uow.session.scalars(select(Member).where(Member.org_id == org.id))}
    heads = set(set_teams)
    # a supervisor whose reporting line has targets is a team too, its target the members' sum
    lines = {mid: team_ids(uow, org.id, mid) for mid in members if (visible is None or mid in visible)}
    for mid, line in lines.items():
        if len(line) > 1 and line & set(own):
            heads.add(mid)
    wanted = set(own) | {m for h in heads for m in lines.get(h, {h})}
    got = actuals(uow, org, wanted, period) if wanted else {}

    def joined(mid: int) -> date | None:
        day = local_today(members[mid].created_at, org.timezone)
        return day if period.first < day < period.end_day else None

    rows = [Row(members[mid].name, mid, False, v, got[mid], elapsed_share(period, today, joined(mid)), joined(mid))
            for mid, v in own.items()]
    teams = []
    for head in heads:
        line = lines.get(head, {head})
        target = set_teams.get(head) or _members_sum(uow, org.id, line, period)
        acts = [got[m] for m in line if m in got]
        measured = all(a.collected is not None for a in acts)
        actual = Actual(sum((a.signed for a in acts), Decimal(0)),
                        sum((a.collected or Decimal(0) for a in acts), Decimal(0)) if measured and acts else None,
                        sum(a.customers for a in acts))
        teams.append(Row(members[head].name, head, True, target, actual, elapsed_share(period, today), None))
    uow.audit(actor.org_id, actor.member_id, "read", "target", None, period.key)
    uow.commit()
    return Board(period, today, elapsed_share(period, today), sorted(rows, key=_rank_key),
                 sorted(teams, key=_rank_key), COLLECTED in uow.wiring[MEASURES])


# --- the figure appraisal templates and the digest use ------------------------------------------


def target_completion(uow: UnitOfWork, scope: Scope) -> Figure:
    """Contract value signed against the target, for the scope's members (or the department's member targets):
    for a scope that is a month, quarter or year, that period's; otherwise the month of the scope's last day, to
    the scope's end (the digest's month to date)."""
    last = scope.end_day - DAY
    period = next((p for p in (period_of(k, scope.first) for k in ("month", "quarter", "year"))
                   if (p.first, p.end_day) == (scope.first, scope.end_day)), None)
    if period is None:
        month = period_of("month", last)
        period = Period(month.key, "month", month.first, month.end_day)
        upto = scope.end_day
    else:
        upto = period.end_day
    own = _own_targets(uow, scope.org_id, set(scope.members) if scope.members is not None else None, period)
    goal = sum((v.signed for v in own.values() if v.signed is not None), Decimal(0))
    members = {mid for mid, v in own.items() if v.signed is not None}
    done = Decimal(0)
    if members:
        window = Scope(scope.org_id, period.first, upto, scope.tz, frozenset(members))
        done = Decimal(uow.session.scalar(select(func.sum(Contract.amount)).where(
            Contract.org_id == scope.org_id, Contract.owner_id.in_(members), Contract.currency == "CNY",
            window.during(Contract.signed_at))) or 0)
    value = float(done / goal) if goal else None
    return Figure("target_completion", value, "rate",
                  N_("contract value signed {done} of the {period} target {goal} (CNY)"),
                  {"done": str(done), "goal": str(goal), "period": period.key})
