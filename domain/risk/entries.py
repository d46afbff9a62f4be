"""The risk register (风险登记 / 风险识别): risks people name — a category (市场、项目、客户/信用、法律、内部管理),
a likelihood and an impact from 1 to 5, an estimated loss where known, a response (规避、降低、转移、接受) with an
owner and a due date, and follow-ups — attached to a customer, lead, contract or project.

Today's level comes from likelihood × impact: 15 and above red (high), 8 to 14 orange (medium), below 8 yellow
(low). Each month the managers are reminded to review the open register (风险识别).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from domain.delivery.calendar import workday_on_or_after
from domain.delivery.due import schedule
from domain.delivery.outbox import OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from domain.kernel.i18n import N_
from domain.kernel.vocab import Vocabulary
from domain.reporting.figures import MEASURES, Figure, Scope, rate
from domain.store.models import Customer, DueItem, Member, Organisation, RiskEntry, RiskFollowUp, RiskSignal
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref, ref, visible_owner_ids
from domain.team.members import find_member, org_setting, require_active

PREFIX = "RK"
REVIEW = "risk-review"
MANAGER_ROLES = frozenset({"admin", "manager", "deputy", "head"})
MAX_TEXT = 1000

CATEGORIES = Vocabulary(N_("risk category"), {
    "market": N_("market"), "project": N_("project"), "credit": N_("customer/credit"), "legal": N_("legal"),
    "internal": N_("internal management"),
}, {"市场": "market", "项目": "project", "客户": "credit", "信用": "credit", "客户/信用": "credit",
    "客户信用": "credit", "法律": "legal", "内部": "internal", "内部管理": "internal", "管理": "internal",
    "customer": "credit"})
RESPONSES = Vocabulary(N_("risk response"), {
    "avoid": N_("avoid"), "reduce": N_("reduce"), "transfer": N_("transfer"), "accept": N_("accept"),
}, {"规避": "avoid", "降低": "reduce", "减轻": "reduce", "转移": "transfer", "接受": "accept"})
STATUSES = {"open": N_("open"), "closed": N_("closed")}


def level_of(likelihood: int, impact: int) -> str:
    score = likelihood * impact
    return "high" if score >= 15 else "medium" if score >= 8 else "low"


def check_scale(value: int, what: str) -> int:
    if not 1 <= value <= 5:
        raise Invalid(N_("{what} runs from 1 to 5."), what=what)
    return value


@dataclass(frozen=True)
class NewRisk:
    record: str  # C3, L12, K4, or a project's reference
    record_owner_id: int | None
    what: str
    category: str
    likelihood: int
    impact: int
    response: str
    owner: str | None
    due: date | None
    loss: Decimal | None


def create(uow: UnitOfWork, actor: Actor, new: NewRisk) -> tuple[RiskEntry, Member]:
    """Register a risk; its owner (default: whoever registers it) is told when someone else registers it."""
    what = new.what.strip()
    if not what:
        raise Invalid(N_("Say what the risk is: what=\"...\"."))
    if len(what) > MAX_TEXT:
        raise Invalid(N_("The text is too long ({count} characters; at most {max})."), count=len(what), max=MAX_TEXT)
    check_scale(new.likelihood, N_("Likelihood"))
    check_scale(new.impact, N_("Impact"))
    if new.loss is not None and not Decimal(0) <= new.loss < Decimal("1000000000000"):
        raise Invalid(N_("The value must be between 0 and 1,000,000,000,000."))
    owner = require_active(find_member(uow, actor.org_id, new.owner)) if new.owner else \
        uow.session.get(Member, actor.member_id)
    assert owner is not None
    entry = uow.add(RiskEntry(
        org_id=actor.org_id, number=next_number(uow, RiskEntry, actor.org_id), record=new.record,
        record_owner_id=new.record_owner_id, what=what, category=new.category, likelihood=new.likelihood,
        impact=new.impact, loss=new.loss, response=new.response, owner_id=owner.id, due=new.due, status="open",
        created_by_id=actor.member_id, created_at=uow.now, updated_at=uow.now))
    uow.session.flush()
    rref = ref(PREFIX, entry.number)
    uow.audit(actor.org_id, actor.member_id, "create", "risk", rref,
              f"{new.record} {new.category} L{new.likelihood}xI{new.impact} {new.response}")
    if owner.id != actor.member_id:
        enqueue(uow, org_id=actor.org_id, key=f"risk-entry:{entry.id}:owner", recipient_id=owner.id, kind="risk",
                msgid=N_("{by} registered risk {ref} on {record} and made you its owner: {what} (respond by "
                         "{due})."),
                params={"by": actor.name, "ref": rref, "record": new.record, "what": what,
                        "due": new.due or "—"},
                buttons=[OutButton(N_("Show"), f"/risk show {rref}")])
    uow.commit()
    return entry, owner


def _visible(uow: UnitOfWork, actor: Actor) -> set[int] | None:
    return visible_owner_ids(uow, actor)


def _may_see(actor: Actor, entry: RiskEntry, owners: set[int] | None) -> bool:
    return owners is None or entry.owner_id in owners or entry.created_by_id == actor.member_id or (
        entry.record_owner_id is not None and entry.record_owner_id in owners)


def find(uow: UnitOfWork, actor: Actor, text: str) -> RiskEntry:
    number = parse_ref(text.strip(), PREFIX)
    if number is None:
        raise Invalid(N_("'{text}' is not a risk reference; write RK3."), text=text)
    entry = by_number(uow, RiskEntry, actor.org_id, number)
    if entry is None or not _may_see(actor, entry, _visible(uow, actor)):
        raise NotFound(N_("No risk {ref}."), ref=text.strip().upper())
    return entry


@dataclass(frozen=True)
class EntryView:
    entry: RiskEntry
    owner: str
    follow_ups: list[tuple[RiskFollowUp, str]]


def show(uow: UnitOfWork, actor: Actor, text: str) -> EntryView:
    entry = find(uow, actor, text)
    names = dict(uow.session.execute(select(Member.id, Member.name).where(Member.org_id == actor.org_id)).all())
    notes = [(f, names.get(f.actor_id, "?")) for f in uow.session.scalars(
        select(RiskFollowUp).where(RiskFollowUp.entry_id == entry.id).order_by(RiskFollowUp.at, RiskFollowUp.id))]
    uow.audit(actor.org_id, actor.member_id, "read", "risk", ref(PREFIX, entry.number))
    uow.commit()
    return EntryView(entry, names.get(entry.owner_id, "?"), notes)


def follow_up(uow: UnitOfWork, actor: Actor, text: str, note: str, close: bool = False) -> RiskEntry:
    """Note what was done (风险跟踪); `close` closes the risk. The owner, who registered it, or a manager."""
    entry = find(uow, actor, text)
    note = note.strip()
    if not note:
        raise Invalid(N_("Say what was done: note=\"...\"."))
    if len(note) > MAX_TEXT:
        raise Invalid(N_("The text is too long ({count} characters; at most {max})."), count=len(note), max=MAX_TEXT)
    if actor.member_id not in (entry.owner_id, entry.created_by_id) and not actor.has_any(MANAGER_ROLES):
        raise Forbidden(N_("Only the risk's owner, who registered it, or a manager may follow it up."))
    if entry.status != "open":
        raise Conflict(N_("{ref} is closed."), ref=ref(PREFIX, entry.number))
    uow.add(RiskFollowUp(org_id=actor.org_id, entry_id=entry.id, actor_id=actor.member_id, note=note, at=uow.now))
    entry.updated_at = uow.now
    if close:
        entry.status, entry.closed_at = "closed", uow.now
    uow.audit(actor.org_id, actor.member_id, "update", "risk", ref(PREFIX, entry.number),
              ("closed: " if close else "follow-up: ") + note)
    uow.commit()
    return entry


@dataclass(frozen=True)
class RegisterRow:
    entry: RiskEntry
    level: str
    owner: str


def open_register(uow: UnitOfWork, actor: Actor | None, org_id: int) -> list[RegisterRow]:
    """The open risks (those `actor` may see; None: all), the reddest and then the earliest due first."""
    q = select(RiskEntry).where(RiskEntry.org_id == org_id, RiskEntry.status == "open")
    owners = _visible(uow, actor) if actor is not None else None
    if owners is not None and actor is not None:
        q = q.where(or_(RiskEntry.owner_id.in_(owners), RiskEntry.created_by_id == actor.member_id,
                        RiskEntry.record_owner_id.in_(owners)))
    names = dict(uow.session.execute(select(Member.id, Member.name).where(Member.org_id == org_id)).all())
    rows = [RegisterRow(e, level_of(e.likelihood, e.impact), names.get(e.owner_id, "?"))
            for e in uow.session.scalars(q)]
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(rows, key=lambda r: (order[r.level], r.entry.due or date.max, r.entry.number))


# --- the monthly review (风险识别) -------------------------------------------------------------------


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def review_at(org: Organisation, now: datetime) -> datetime:
    """The first working day of next month, at the department's reminder hour."""
    day = workday_on_or_after(org, _first_of_next_month(local_today(now, org.timezone)))
    return at_local(day, time(org_setting(org, "reminder_hour")), org.timezone)


def first_review(org: Organisation, now: datetime) -> datetime | None:
    return review_at(org, now)


def fire_review(uow: UnitOfWork, item: DueItem) -> None:
    """Remind the managers to review the open register, with it; then move on to next month."""
    org = uow.session.get(Organisation, item.subject_id)
    if org is None:
        return
    rows = open_register(uow, None, org.id)
    month = local_today(item.due_at, org.timezone).strftime("%Y-%m")
    if not rows:  # nothing open to review: no message, the next month's review is still due
        schedule(uow, org.id, REVIEW, org.id, review_at(org, item.due_at + timedelta(days=1)))
        return
    lines = "\n".join(f"• {ref(PREFIX, r.entry.number)} · {r.entry.record} · {r.entry.what} · {r.owner}"
                      + (f" · {r.entry.due.isoformat()}" if r.entry.due else "") for r in rows[:20]) or "—"
    managers = [m for m in uow.session.scalars(select(Member).where(Member.org_id == org.id, Member.active)
                                               .order_by(Member.id)) if m.role_set & {"manager", "deputy"}]
    for m in managers:
        enqueue(uow, org_id=org.id, key=f"{REVIEW}:{org.id}:{month}:{m.id}", recipient_id=m.id, kind="risk",
                msgid=N_("Monthly risk review (风险识别): {count} open risks in the register. Review each, "
                         "register new ones with /risk new, and follow up with /risk follow.\n{lines}"),
                params={"count": len(rows), "lines": lines},
                buttons=[OutButton(N_("Risk list"), "/risk list")])
    schedule(uow, org.id, REVIEW, org.id, review_at(org, item.due_at + timedelta(days=1)))


# --- figures ---------------------------------------------------------------------------------------


def risk_event_rate(uow: UnitOfWork, scope: Scope) -> Figure:
    """风险事件发生率: risks registered and indicator warnings fired in the period, per customer of the scope."""
    registered = int(uow.session.scalar(select(func.count(RiskEntry.id)).where(
        RiskEntry.org_id == scope.org_id, scope.during(RiskEntry.created_at),
        or_(scope.owned(RiskEntry.owner_id), scope.owned(RiskEntry.record_owner_id)))) or 0)
    fired = int(uow.session.scalar(select(func.count(RiskSignal.id)).where(
        RiskSignal.org_id == scope.org_id, scope.during(RiskSignal.fired_at), scope.owned(RiskSignal.owner_id))) or 0)
    customers = int(uow.session.scalar(select(func.count(Customer.id)).where(
        Customer.org_id == scope.org_id, scope.owned(Customer.owner_id), Customer.created_at < scope.end)) or 0)
    return Figure("risk_event_rate", rate(registered + fired, customers), "rate",
                  N_("{registered} risks registered and {fired} indicator warnings over {customers} customers"),
                  {"registered": registered, "fired": fired, "customers": customers})


RISK_FIGURES = ("risk_event_rate", "overdue_rate")  # 逾期账款率 where the receivables area measures it


def risk_figures(uow: UnitOfWork, actor: Actor, first: date, end_day: date) -> tuple[dict[str, Figure], int, int]:
    """/kpi risk: the risk figures over what the actor may see, with the open register and the indicators that
    hold."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    owners = visible_owner_ids(uow, actor)
    scope = Scope(org.id, first, end_day, org.timezone, frozenset(owners) if owners is not None else None)
    measures = uow.wiring[MEASURES]
    figures = {key: measures[key].fn(uow, scope) for key in RISK_FIGURES if key in measures}
    open_count = len(open_register(uow, actor, org.id))
    held = select(func.count(RiskSignal.id)).where(RiskSignal.org_id == org.id, RiskSignal.level.is_not(None))
    if owners is not None:
        held = held.where(RiskSignal.owner_id.in_(owners))
    uow.audit(actor.org_id, actor.member_id, "read", "kpi", "risk", f"{first} {end_day}")
    uow.commit()
    return figures, open_count, int(uow.session.scalar(held) or 0)
