"""Forecast (销售预测) and funnel (销售漏斗).

The forecast weighs each open lead's estimated value by its stage's probability of being won — per department,
editable, with these defaults: research 5%, screening 10%, first contact 15%, needs 25%, proposal 40%,
negotiation 60%, follow-up 75%. A lead is expected to close by its next step's date: the month's forecast takes
the open leads whose next date falls before the month ends (a date already past included), the quarter's those
whose date falls before the quarter ends or that have no date. Beside the weighted pipeline stands what was
already signed in the month and quarter. Values in other currencies than CNY are left out (no exchange rates).

The funnel reads the leads' stage history for a period: the leads that moved in the period (the cohort), how
many of them ever reached each stage, the conversion from each stage to the next, the average days spent in a
stage by those that left it in the period, and the leads won and lost in the period with the reasons given
for the losses. Everything is added up in SQL in one grouped pass over the period's stage changes, read from an
index (each change carries when its lead entered the stage it leaves and the stages it had reached before), so a
department of 100,000 leads answers at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, case, cast, extract, func, or_, select

from domain.delivery.outbox import Attachment, attach, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.errors import Forbidden, Invalid
from domain.kernel.i18n import N_, _, use_locale
from domain.kernel.vocab import CLOSED_STAGES, PIPELINE, STAGES
from domain.reporting import chart
from domain.reporting.figures import Scope
from domain.store.models import STAGE_BITS, Contract, Lead, Member, Organisation, StageChange
from domain.store.uow import UnitOfWork
from domain.targets.targets import Period, parse_period, period_of
from domain.team.access import team_ids, visible_owner_ids

DEFAULT_PROBABILITIES: dict[str, int] = {"research": 5, "screening": 10, "contact": 15, "needs": 25,
                                         "proposal": 40, "negotiation": 60, "followup": 75}
EDITOR_ROLES = frozenset({"admin", "manager", "deputy"})


def probabilities(org: Organisation) -> dict[str, int]:
    stored = (org.settings or {}).get("stage_probabilities") or {}
    return {stage: int(stored.get(stage, default)) for stage, default in DEFAULT_PROBABILITIES.items()}


def current_probabilities(uow: UnitOfWork, actor: Actor) -> dict[str, int]:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    uow.audit(actor.org_id, actor.member_id, "read", "settings", "stage probabilities")
    uow.commit()
    return probabilities(org)


def set_probabilities(uow: UnitOfWork, actor: Actor, changes: dict[str, int]) -> dict[str, int]:
    """Change some stages' probabilities (0–100), for the department; managers only."""
    if not actor.has_any(EDITOR_ROLES):
        raise Forbidden(N_("Only the managers change the stage probabilities."))
    if not changes:
        raise Invalid(N_("Give stages and percentages, e.g. negotiation:70 proposal:45."))
    for stage, value in changes.items():
        if stage not in DEFAULT_PROBABILITIES:
            raise Invalid(N_("'{stage}' is not an open pipeline stage."), stage=stage)
        if not 0 <= value <= 100:
            raise Invalid(N_("A probability runs from 0 to 100; '{value}' is not one."), value=value)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    merged = {**probabilities(org), **changes}
    org.settings = {**(org.settings or {}), "stage_probabilities": merged}
    uow.audit(actor.org_id, actor.member_id, "update", "settings", "stage probabilities",
              " ".join(f"{k}={v}" for k, v in changes.items()))
    uow.commit()
    return merged


def parse_probabilities(text: str) -> dict[str, int]:
    """`negotiation=70 proposal=45` (stage words in either language, 谈判=70, a % sign allowed) → {stage: 70}."""
    out: dict[str, int] = {}
    for part in text.replace("，", " ").replace(",", " ").split():
        name, sep, value = part.partition("=")
        if not sep:
            name, sep, value = part.partition("：" if "：" in part else ":")
        raw = value.strip().rstrip("%％")
        if not sep or not raw.isdecimal() or len(raw) > 3:
            raise Invalid(N_("Cannot read '{text}'; write stage:percent, e.g. negotiation:70."), text=part)
        out[STAGES.parse(name)] = int(raw)
    return out


# --- forecast ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastRow:
    name: str
    open_leads: int
    weighted_month: Decimal
    weighted_quarter: Decimal
    signed_month: Decimal
    signed_quarter: Decimal


@dataclass(frozen=True)
class Forecast:
    month: Period
    quarter: Period
    rows: list[ForecastRow]  # by member
    total: ForecastRow
    by_stage: list[tuple[str, int, Decimal]]  # stage, open leads, weighted value (quarter)
    probabilities: dict[str, int]


def _owners(uow: UnitOfWork, actor: Actor, which: str) -> set[int] | None:
    if which == "mine":
        return {actor.member_id}
    if which == "all":
        if not actor.sees_department:
            raise Forbidden(N_("Only managers see the whole department's forecast; try 'team'."))
        return None
    seen = visible_owner_ids(uow, actor)
    return team_ids(uow, actor.org_id, actor.member_id) if seen is not None else None


def forecast(uow: UnitOfWork, actor: Actor, which: str = "mine") -> Forecast:
    """The weighted pipeline and what was signed, for this month and quarter, per member of the scope."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    today = local_today(uow.now, org.timezone)
    month, quarter = period_of("month", today), period_of("quarter", today)
    owners = _owners(uow, actor, which)
    probs = probabilities(org)
    in_month = case((Lead.next_date < month.end_day, Lead.value), else_=0)
    in_quarter = case((or_(Lead.next_date.is_(None), Lead.next_date < quarter.end_day), Lead.value), else_=0)
    q = (select(Lead.owner_id, Lead.stage, func.count(Lead.id), func.sum(in_month), func.sum(in_quarter))
         .where(Lead.org_id == org.id, Lead.stage.in_(PIPELINE), or_(Lead.currency == "CNY", Lead.value.is_(None)))
         .group_by(Lead.owner_id, Lead.stage))
    if owners is not None:
        q = q.where(Lead.owner_id.in_(owners))
    per: dict[int, list[Any]] = {}
    stages: dict[str, list[Any]] = {s: [0, Decimal(0)] for s in PIPELINE}
    for owner, stage, n, vm, vq in uow.session.execute(q):
        p = Decimal(probs.get(stage, 0)) / 100
        row = per.setdefault(owner, [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        row[0] += n
        row[1] += Decimal(vm or 0) * p
        row[2] += Decimal(vq or 0) * p
        stages[stage][0] += n
        stages[stage][1] += Decimal(vq or 0) * p
    window = Scope(org.id, quarter.first, quarter.end_day, org.timezone)
    month_scope = Scope(org.id, month.first, month.end_day, org.timezone)
    signed_q = (select(Contract.owner_id, func.sum(case((month_scope.during(Contract.signed_at), Contract.amount),
                                                         else_=0)), func.sum(Contract.amount))
                .where(Contract.org_id == org.id, Contract.currency == "CNY", window.during(Contract.signed_at))
                .group_by(Contract.owner_id))
    if owners is not None:
        signed_q = signed_q.where(Contract.owner_id.in_(owners))
    for owner, sm, sq in uow.session.execute(signed_q):
        row = per.setdefault(owner, [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        row[3], row[4] = Decimal(sm or 0), Decimal(sq or 0)
    names = dict(uow.session.execute(select(Member.id, Member.name).where(Member.org_id == org.id)).all())
    rows = sorted((ForecastRow(names.get(mid, "?"), *(r[0:1] + [q2(v) for v in r[1:]])) for mid, r in per.items()),
                  key=lambda r: (-(r.signed_quarter + r.weighted_quarter), r.name))
    total = ForecastRow(_("Total"), sum(r.open_leads for r in rows),
                        *(q2(sum((getattr(r, f) for r in rows), Decimal(0)))
                          for f in ("weighted_month", "weighted_quarter", "signed_month", "signed_quarter")))
    uow.audit(actor.org_id, actor.member_id, "read", "forecast", None, which)
    uow.commit()
    return Forecast(month, quarter, rows, total, [(s, v[0], q2(v[1])) for s, v in stages.items()], probs)


def q2(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


# --- funnel --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    period: Period
    cohort: int
    reached: list[tuple[str, int]]  # pipeline stages and won, in order
    conversion: list[tuple[str, str, float | None]]  # from, to, share
    days: list[tuple[str, float | None, int]]  # stage, average days in it, leads that left it in the period
    won: int
    lost: int
    reasons: list[tuple[str, int]]


def _days_between(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "postgresql":
        return extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def funnel(uow: UnitOfWork, actor: Actor, period_text: str | None) -> Funnel:
    """The funnel of the leads the actor may see, for a period (default this month)."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    period = parse_period(period_text, local_today(uow.now, org.timezone))
    scope = Scope(org.id, period.first, period.end_day, org.timezone)
    owners = visible_owner_ids(uow, actor)
    dialect = uow.session.get_bind().dialect.name

    def mine(q: Any) -> Any:
        if owners is None:
            return q
        return q.join(Lead, Lead.id == StageChange.lead_id).where(Lead.owner_id.in_(owners))

    # One grouped pass over the period's changes, in the order of an index that holds all it reads. Each change
    # carries what is needed of the history before it: the first change of a lead in the period is the one it
    # entered before the period (so the cohort is their count), and the stages a lead reached by the period's
    # end are those its first change there had reached before (reached_before) plus those it arrived at for the
    # first time in the period (a change to a stage not in its reached_before).
    c = StageChange
    first = case((or_(c.entered_at.is_(None), c.entered_at < scope.start), 1), else_=0)
    spent = cast(_days_between(dialect, c.at, c.entered_at), Float)
    grouped = mine(select(c.from_stage, c.to_stage, c.reached_before, func.count(), func.sum(first), func.sum(spent),
                          func.count(c.entered_at))
                   .where(c.org_id == org.id, scope.during(c.at))
                   .group_by(c.from_stage, c.to_stage, c.reached_before))
    size = 0
    reached: dict[str, int] = {}
    spent_sum: dict[str, float] = {}
    days_n: dict[str, int] = {}
    for old, new, before, n, firsts, total, counted in uow.session.execute(grouped):
        before, firsts = int(before or 0), int(firsts or 0)
        if not before & STAGE_BITS.get(new, 0):  # the lead's first arrival at this stage
            reached[new] = reached.get(new, 0) + int(n)
        size += firsts  # one a lead: with the stages it had reached before the period
        for stage, bit in STAGE_BITS.items():
            if firsts and before & bit:
                reached[stage] = reached.get(stage, 0) + firsts
        if old is not None and counted:
            spent_sum[old] = spent_sum.get(old, 0.0) + float(total)
            days_n[old] = days_n.get(old, 0) + int(counted)
    order = [*PIPELINE, "won"]
    conversion = [(a, b, (reached.get(b, 0) / reached[a]) if reached.get(a) else None)
                  for a, b in zip(order, order[1:], strict=False)]
    days = {stage: (spent_sum[stage] / n, n) for stage, n in days_n.items()}
    closed = mine(select(c.to_stage, c.reason, func.count())
                  .where(c.org_id == org.id, c.to_stage.in_(CLOSED_STAGES), scope.during(c.at))
                  .group_by(c.to_stage, c.reason))
    won = lost = 0
    reasons: dict[str, int] = {}
    for stage, reason, n in uow.session.execute(closed):
        if stage == "won":
            won += int(n)
        else:
            lost += int(n)
            key = (reason or "").strip() or "—"
            reasons[key] = reasons.get(key, 0) + int(n)
    uow.audit(actor.org_id, actor.member_id, "read", "funnel", None, period.key)
    uow.commit()
    return Funnel(period, size, [(s, reached.get(s, 0)) for s in order], conversion,
                  [(s, days[s][0] if s in days else None, days[s][1] if s in days else 0) for s in PIPELINE],
                  won, lost, sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:10])


# --- charts (sent as a message that follows the reply) ----------------------------------------------

CHART_MSG = N_("The chart of {what}.")


def send_chart(uow: UnitOfWork, actor: Actor, name: str, what: str, data: bytes) -> None:
    key = f"chart:{name}:{actor.member_id}:{uow.now.isoformat()}"
    enqueue(uow, org_id=actor.org_id, key=key, recipient_id=actor.member_id, msgid=CHART_MSG, urgent=True,
            params={"what": what})
    attach(uow, key, Attachment(f"{name}.png", "image/png", data))
    uow.commit()


def funnel_chart(f: Funnel, lang: str) -> bytes:
    with use_locale(lang):
        return chart.render(_("Leads that reached each stage"), [(STAGES.label(s), n) for s, n in f.reached],
                            _("Average days in stage"),
                            [(STAGES.label(s), avg or 0.0, 0.0) for s, avg, _n in f.days],
                            (_("days"), ""))


def forecast_chart(f: Forecast, lang: str) -> bytes:
    with use_locale(lang):
        return chart.render(_("Weighted pipeline by stage (10,000 CNY)"),
                            [(STAGES.label(s), int(v / 10000)) for s, _n, v in f.by_stage],
                            _("Signed and weighted (10,000 CNY)"),
                            [(r.name, float((r.signed_month + r.weighted_month) / 10000),
                              float((r.signed_quarter + r.weighted_quarter) / 10000)) for r in f.rows[:15]],
                            (_("this month"), _("this quarter")))

