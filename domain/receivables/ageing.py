"""Receivables (应收账款) and their ageing (账龄): what is open, by how long it is overdue — not yet due, 1–30,
31–60, 61–90, over 90 days — per customer and owner, in each contract's currency (amounts in different
currencies are never added: bizbot keeps no exchange rates).

The list is summed by the database (one grouped query over the open milestones, on the index of organisation,
state and due date), so a department with tens of thousands of milestones is answered at once. The figures
(回款额, 回款率, 逾期账款率) serve the weekly digest and the appraisals."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal, select

from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.i18n import N_, fmt_money, translate, use_locale
from domain.receivables import terms as T
from domain.receivables.milestones import STATES, owner_ids
from domain.reporting.exports import write_table
from domain.reporting.figures import Figure, Scope, rate
from domain.store.models import Allocation, Contract, Customer, Member, Milestone, Payment
from domain.store.uow import UnitOfWork
from domain.team.access import ref, team_ids
from domain.team.agenda import AgendaEntry
from domain.team.handover import Handed

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
BUCKET_LABELS = {"current": N_("not yet due"), "1-30": N_("1–30 days"), "31-60": N_("31–60 days"),
                 "61-90": N_("61–90 days"), "90+": N_("over 90 days")}
TOP = 15  # customers and overdue milestones listed; the export has every one


def bucket_of(due: date, today: date) -> str:
    days = (today - due).days
    if days <= 0:
        return "current"
    return "1-30" if days <= 30 else "31-60" if days <= 60 else "61-90" if days <= 90 else "90+"


def _bucket_sql(today: date) -> Any:
    return case((Milestone.due_date >= today, literal("current")),
                (Milestone.due_date >= today - timedelta(days=30), literal("1-30")),
                (Milestone.due_date >= today - timedelta(days=60), literal("31-60")),
                (Milestone.due_date >= today - timedelta(days=90), literal("61-90")), else_=literal("90+"))


Amounts = dict[str, Decimal]  # by bucket


@dataclass
class Ageing:
    today: date
    scope: str
    totals: dict[str, Amounts] = field(default_factory=dict)  # by currency
    owners: list[tuple[str, str, Amounts]] = field(default_factory=list)  # owner, currency, buckets
    customers: list[tuple[str, str, str, Amounts]] = field(default_factory=list)  # name (C3), owner, currency
    customer_count: int = 0
    overdue: list[tuple[str, str, str, date, int, Decimal, str]] = field(default_factory=list)
    # milestone ref, customer, owner, due date, days overdue, outstanding, currency


def _scope_owners(uow: UnitOfWork, actor: Actor, scope: str) -> set[int] | None:
    if scope == "mine":
        return {actor.member_id}
    if scope == "team":
        return team_ids(uow, actor.org_id, actor.member_id)
    return owner_ids(uow, actor)


def ageing(uow: UnitOfWork, actor: Actor, scope: str = "all") -> Ageing:
    """The open receivables the actor may see in the scope (mine, team, all), aged at the actor's today."""
    today = local_today(uow.now, actor.timezone)
    owners = _scope_owners(uow, actor, scope)
    bucket = _bucket_sql(today).label("bucket")
    outstanding = func.sum(Milestone.amount - Milestone.received)
    where = [Milestone.org_id == actor.org_id, Milestone.state == "open"]
    if owners is not None:
        where.append(Milestone.owner_id.in_(owners))
    # the department's sums by currency, owner and bucket: a few hundred rows at most
    rows = uow.session.execute(
        select(Milestone.currency, Milestone.owner_id, bucket, outstanding)
        .where(*where).group_by(Milestone.currency, Milestone.owner_id, bucket)).all()
    out = Ageing(today, scope)
    by_owner: dict[tuple[int, str], Amounts] = defaultdict(lambda: defaultdict(Decimal))
    for currency, owner_id, b, amount in rows:
        value = Decimal(amount or 0)
        out.totals.setdefault(currency, defaultdict(Decimal))[b] += value
        by_owner[(owner_id, currency)][b] += value
    names = dict(uow.session.execute(select(Member.id, Member.name).where(Member.org_id == actor.org_id)).all())
    out.owners = sorted(((names.get(o, "?"), cur, dict(v)) for (o, cur), v in by_owner.items()),
                        key=lambda r: (r[1], -_overdue(r[2]), r[0]))
    # the customers owing most overdue first, ranked by the database; their buckets for those shown only
    overdue_sum = func.sum(case((Milestone.due_date < today, Milestone.amount - Milestone.received), else_=0))
    ranked = uow.session.execute(
        select(Milestone.customer_id, Milestone.currency, func.count().over()).where(*where)
        .group_by(Milestone.customer_id, Milestone.currency)
        .order_by(overdue_sum.desc(), outstanding.desc(), Milestone.customer_id).limit(TOP)).all()
    top = [(cid, cur) for cid, cur, _n in ranked]
    out.customer_count = int(ranked[0][2]) if ranked else 0  # customers (in each of their currencies)
    by_customer: dict[tuple[int, str], Amounts] = {(cid, cur): defaultdict(Decimal) for cid, cur in top}
    customer_owner: dict[int, int] = {}
    if top:
        for cid, currency, owner_id, b, amount in uow.session.execute(
                select(Milestone.customer_id, Milestone.currency, Milestone.owner_id, bucket, outstanding)
                .where(*where, Milestone.customer_id.in_([cid for cid, _cur in top]))
                .group_by(Milestone.customer_id, Milestone.currency, Milestone.owner_id, bucket)):
            if (cid, currency) in by_customer:
                by_customer[(cid, currency)][b] += Decimal(amount or 0)
                customer_owner[cid] = owner_id
    customers = {c.id: c for c in uow.session.scalars(select(Customer).where(
        Customer.id.in_([cid for cid, _cur in top])))} if top else {}
    out.customers = [(f"{customers[cid].name} ({ref('C', customers[cid].number)})",
                      names.get(customer_owner.get(cid, 0), "?"), cur, dict(by_customer[(cid, cur)]))
                     for cid, cur in top]
    late = uow.session.execute(
        select(Milestone, Contract.number, Customer.name).join(Contract, Contract.id == Milestone.contract_id)
        .join(Customer, Customer.id == Milestone.customer_id)
        .where(*where, Milestone.due_date < today).order_by(Milestone.due_date, Milestone.id).limit(TOP)).all()
    out.overdue = [(f"K{number}#{m.seq}", name, names.get(m.owner_id, "?"), m.due_date, (today - m.due_date).days,
                    m.amount - m.received, m.currency) for m, number, name in late if m.due_date is not None]
    uow.audit(actor.org_id, actor.member_id, "read", "receivable", None, f"list {scope}")
    uow.commit()
    return out


def _overdue(amounts: Amounts) -> Decimal:
    return sum((v for b, v in amounts.items() if b != "current"), Decimal(0))


# --- the table to export ------------------------------------------------------------------------------

EXPORT_HEADER = (N_("Milestone"), N_("Contract"), N_("Customer"), N_("Owner"), N_("Terms"), N_("Due date"),
                 N_("Days overdue"), N_("Ageing"), N_("Amount"), N_("Collected"), N_("Outstanding"), N_("Invoiced"),
                 N_("Currency"), N_("State"))


def receivables_table(uow: UnitOfWork, actor: Actor, fmt: str) -> tuple[bytes, int]:
    """Every milestone of a signed contract the actor may see that is not paid in full; audited."""
    today = local_today(uow.now, actor.timezone)
    owners = owner_ids(uow, actor)
    q = (select(Milestone, Contract.number, Customer.name, Member.name)
         .join(Contract, Contract.id == Milestone.contract_id).join(Customer, Customer.id == Milestone.customer_id)
         .join(Member, Member.id == Milestone.owner_id)
         .where(Milestone.org_id == actor.org_id, Milestone.state.in_(("open", "waiting")))
         .order_by(Milestone.due_date.is_(None), Milestone.due_date, Contract.number, Milestone.seq))
    if owners is not None:
        q = q.where(Milestone.owner_id.in_(owners))
    found = uow.session.execute(q.limit(200_000)).all()
    with use_locale(actor.locale):
        header = [translate(h) for h in EXPORT_HEADER]
        rows = [[f"K{number}#{m.seq}", f"K{number}", customer, owner, T.render(T.describe(m, m.currency)),
                 m.due_date, max((today - m.due_date).days, 0) if m.due_date else None,
                 translate(BUCKET_LABELS[bucket_of(m.due_date, today)]) if m.due_date else None,
                 m.amount, m.received, m.amount - m.received, m.invoiced, m.currency, translate(STATES[m.state])]
                for m, number, customer, owner in found]
        title = translate(N_("Receivables"))
    data = write_table(header, rows, fmt, title, money_columns=(8, 9, 10, 11))
    uow.audit(actor.org_id, actor.member_id, "export", "receivable", None, f"{fmt} {len(rows)} rows")
    uow.commit()
    return data, len(rows)


# --- the agenda and the hand-over ------------------------------------------------------------------------


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    """The owner's milestones overdue or falling due within a week."""
    today = local_today(uow.now, actor.timezone)
    rows = uow.session.execute(
        select(Milestone, Contract.number, Customer.name).join(Contract, Contract.id == Milestone.contract_id)
        .join(Customer, Customer.id == Milestone.customer_id)
        .where(Milestone.org_id == actor.org_id, Milestone.owner_id == actor.member_id, Milestone.state == "open",
               Milestone.due_date <= today + timedelta(days=7))
        .order_by(Milestone.due_date).limit(50)).all()
    return [AgendaEntry(f"K{number}#{m.seq}", f"{name} · {_money(m.amount - m.received, m.currency)}", m.due_date,
                        m.due_date < today, f"/contract show K{number}") for m, number, name in rows
            if m.due_date is not None]


def _money(amount: Decimal, currency: str) -> str:
    return fmt_money(amount, currency)


TITLE = N_("Receivables")


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    """A member leaves: the milestones they collect that are not paid go to the successor."""
    moved = []
    for m, number in uow.session.execute(
            select(Milestone, Contract.number).join(Contract, Contract.id == Milestone.contract_id)
            .where(Milestone.org_id == leaver.org_id, Milestone.owner_id == leaver.id,
                   Milestone.state.in_(("planned", "waiting", "open"))).order_by(Contract.number, Milestone.seq)):
        m.owner_id, m.updated_at = successor.id, uow.now
        moved.append(f"K{number}#{m.seq}")
    if moved:
        uow.audit(actor.org_id, actor.member_id, "update", "receivable", None,
                  f"handed over {len(moved)} from {leaver.name} to {successor.name}")
    return [(TITLE, moved)]



# --- figures ------------------------------------------------------------------------------------------


def _cny(rows: list[tuple[Any, str]]) -> tuple[Decimal, int]:
    cny = [Decimal(a or 0) for a, c in rows if c == "CNY"]
    return sum(cny, Decimal(0)), len(rows) - len(cny)


def collected_value(uow: UnitOfWork, scope: Scope) -> Figure:
    """回款额: the money received in the period (in CNY; other currencies counted apart, not converted)."""
    rows = [(a, c) for a, c in uow.session.execute(select(Payment.amount, Payment.currency).where(
        Payment.org_id == scope.org_id, scope.owned(Payment.owner_id), Payment.received_on >= scope.first,
        Payment.received_on < scope.end_day)).all()]
    total, other = _cny(rows)
    if other:
        return Figure("collected_value", total, "money",
                      N_("payments received in the period: {count} in CNY, and {other} in other currencies that "
                         "this total leaves out"), {"count": len(rows) - other, "other": other}, "CNY")
    return Figure("collected_value", total, "money", N_("payments received in the period (CNY): {count}"),
                  {"count": len(rows)}, "CNY")


def collection_rate(uow: UnitOfWork, scope: Scope) -> Figure:
    """回款率: of the amounts (CNY) that fell due in the period, the share received by its end."""
    due = uow.session.execute(select(Milestone.id, Milestone.amount).where(
        Milestone.org_id == scope.org_id, scope.owned(Milestone.owner_id), Milestone.currency == "CNY",
        Milestone.due_date >= scope.first, Milestone.due_date < scope.end_day)).all()
    total = sum((Decimal(a) for _i, a in due), Decimal(0))
    got = Decimal(uow.session.scalar(select(func.sum(Allocation.amount)).join(
        Milestone, Milestone.id == Allocation.milestone_id).where(
        Milestone.org_id == scope.org_id, scope.owned(Milestone.owner_id), Milestone.currency == "CNY",
        Milestone.due_date >= scope.first, Milestone.due_date < scope.end_day,
        Allocation.received_on < scope.end_day)) or 0)
    return Figure("collection_rate", rate(int(got * 100), int(total * 100)), "rate",
                  N_("{collected} received of {due} that fell due in the period ({count} milestones)"),
                  {"collected": _fmt(got), "due": _fmt(total), "count": len(due)})


def _outstanding_at(uow: UnitOfWork, scope: Scope, overdue_only: bool) -> tuple[Decimal, int]:
    """What was open at the end of the period (CNY): due by then and not received by then."""
    end = scope.end_day
    got = (select(func.coalesce(func.sum(Allocation.amount), 0)).where(
        Allocation.milestone_id == Milestone.id, Allocation.received_on < end).scalar_subquery())
    where = [Milestone.org_id == scope.org_id, scope.owned(Milestone.owner_id), Milestone.currency == "CNY",
             Milestone.due_date.is_not(None), (Milestone.amount - got) > 0]
    if overdue_only:
        where.append(Milestone.due_date < end - timedelta(days=1))
    amount, count = uow.session.execute(select(func.sum(Milestone.amount - got), func.count(Milestone.id))
                                        .where(*where)).one()
    return Decimal(amount or 0), int(count or 0)


def overdue_value(uow: UnitOfWork, scope: Scope) -> Figure:
    """Overdue receivables at the end of the period (CNY)."""
    amount, count = _outstanding_at(uow, scope, True)
    return Figure("overdue_value", amount, "money", N_("overdue at the end of the period (CNY): {count} milestones"),
                  {"count": count}, "CNY")


def overdue_rate(uow: UnitOfWork, scope: Scope) -> Figure:
    """逾期账款率: of the receivables open at the end of the period (CNY), the share overdue."""
    overdue, _n = _outstanding_at(uow, scope, True)
    total, count = _outstanding_at(uow, scope, False)
    return Figure("overdue_rate", rate(int(overdue * 100), int(total * 100)), "rate",
                  N_("{overdue} overdue of {total} receivable at the end of the period ({count} milestones)"),
                  {"overdue": _fmt(overdue), "total": _fmt(total), "count": count})


def _fmt(value: Decimal) -> str:
    return fmt_money(value, "CNY")

