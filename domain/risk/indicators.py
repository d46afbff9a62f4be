"""Risk indicators that watch by themselves (风险预警指标): each reads one kind of record against thresholds the
department sets, and raises a warning — once, at its threshold, and not again until it has cleared.

An indicator is checked only when something about its record changed or a time it named fell due: the area
that changes a record calls `watch(uow, org_id, indicator, subject_id)` in the same transaction, which schedules
(or moves) one due item per indicator and record; the check answers with a reading — a level or none, why, and
when to look again (a key account's 60 days without contact run out on a known day). The sweep therefore costs
what changed or fell due, never a scan of every record.

Indicators and their thresholds (defaults; `/risk thresholds` shows and sets them):

* `no_contact` — a key account with no visit or callback for `contact_days` (60) days → orange;
* `complaints` — `complaints_count` (3) complaints from one customer within `complaints_days` (90) days → orange;
* `lead_idle` — a lead in negotiation or follow-up with no activity for `idle_days` (30) days → orange;
* `credit` — a customer's credit rating lowered by `credit_orange_steps` (1) steps → orange, by
  `credit_red_steps` (3) → red (AAA, AA, A, BBB, BB, B, C);
* `receivables_overdue` — a receivable overdue `overdue_orange_days` (30) days → orange, `overdue_red_days` (90)
  → red: its thresholds are here; its check is added by the area that keeps receivables (see `Indicator`).

A warning tells the record's owner and their supervisor (red: the managers too), names the indicator and says
why, and raises the record's own risk level to the indicator's when it is lower. When the indicator clears, the
record's level is left for a person to lower.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from domain.delivery.due import schedule
from domain.delivery.outbox import Msg, OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.errors import Forbidden, Invalid
from domain.kernel.i18n import N_, Label, translate, use_locale
from domain.kernel.vocab import CREDIT_RATINGS, RISKS
from domain.kernel.wiring import Key
from domain.store.models import (
    Callback,
    Complaint,
    Customer,
    DueItem,
    Lead,
    Member,
    Organisation,
    RiskSignal,
    StageChange,
    Visit,
)
from domain.store.uow import UnitOfWork
from domain.team.access import ref, visible_owner_ids

KIND = "risk-indicator"
ORDER = {None: 0, "low": 0, "unassessed": -1, "medium": 1, "high": 2}
MARKS = {"high": "🔴", "medium": "🟠"}
LATE_STAGES = ("negotiation", "followup")
EDITOR_ROLES = frozenset({"admin", "manager", "deputy"})


@dataclass(frozen=True)
class Reading:
    """What a check found: `level` medium (orange) or high (red), or None (nothing to warn of — it clears);
    `why` a msgid with named `params`; `recheck_at` when to look again though nothing changes; `memo` what to
    keep for the next check (e.g. the credit rating before a lowering)."""

    level: str | None = None
    why: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    recheck_at: datetime | None = None
    memo: str | None = None


CheckFn = Callable[[UnitOfWork, Organisation, int, Mapping[str, int], "str | None"], "Reading | None"]


@dataclass(frozen=True)
class Indicator:
    """An automatic indicator: `check(uow, org, subject_id, limits, memo) -> Reading | None` reads the record
    (`prefix` C: a customer id, L: a lead id) against the department's `limits` (every threshold, by name);
    None means the record is gone. An area adds its own to RISK_INDICATORS in its `register(wiring)` and calls
    `watch` whenever the record changes."""

    name: str
    label: str  # msgid
    prefix: str  # "C" (subject_id is a customer's id) or "L" (a lead's)
    check: CheckFn


RISK_INDICATORS: Key[Indicator] = Key("risk indicators")


@dataclass(frozen=True)
class Threshold:
    name: str
    indicator: str
    default: int
    label: str  # msgid


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("contact_days", "no_contact", 60, N_("key account with no visit or callback for this many days → "
                                                   "orange")),
    Threshold("complaints_count", "complaints", 3, N_("this many complaints from one customer … → orange")),
    Threshold("complaints_days", "complaints", 90, N_("… within this many days")),
    Threshold("idle_days", "lead_idle", 30, N_("lead idle this many days in negotiation or follow-up → orange")),
    Threshold("credit_orange_steps", "credit", 1, N_("credit rating lowered by this many steps → orange")),
    Threshold("credit_red_steps", "credit", 3, N_("credit rating lowered by this many steps → red")),
    Threshold("overdue_orange_days", "receivables_overdue", 30, N_("receivable overdue this many days → orange")),
    Threshold("overdue_red_days", "receivables_overdue", 90, N_("receivable overdue this many days → red")),
)
BY_NAME = {t.name: t for t in THRESHOLDS}
# the names as a Chinese reader types and reads them
ZH_NAMES = {"contact_days": "联系天数", "complaints_count": "投诉次数", "complaints_days": "投诉天数",
            "idle_days": "停滞天数", "credit_orange_steps": "信用橙色级数", "credit_red_steps": "信用红色级数",
            "overdue_orange_days": "逾期橙色天数", "overdue_red_days": "逾期红色天数"}
_FROM_ZH = {v: k for k, v in ZH_NAMES.items()}


def limits(org: Organisation) -> dict[str, int]:
    stored = (org.settings or {}).get("risk_thresholds") or {}
    return {t.name: int(stored.get(t.name, t.default)) for t in THRESHOLDS}


def parse_thresholds(text: str) -> dict[str, int]:
    """`contact_days:45 idle_days:20` (or =) → {name: days}; names as /risk thresholds lists them."""
    out: dict[str, int] = {}
    for part in text.replace("，", " ").replace(",", " ").split():
        name, sep, value = (re.split(r"([=:：])", part, maxsplit=1) + ["", ""])[:3]
        raw = value.strip()
        name = _FROM_ZH.get(name.strip(), name.strip().lower())
        if not sep or name not in BY_NAME:
            raise Invalid(N_("Cannot read '{text}'; write name:number with a name /risk thresholds lists."),
                          text=part)
        if not raw.isdecimal() or not 1 <= int(raw) <= 3650:
            raise Invalid(N_("A threshold is a whole number from 1 to 3650; '{text}' is not one."), text=raw)
        out[name] = int(raw)
    return out


def current_limits(uow: UnitOfWork, actor: Actor) -> dict[str, int]:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    uow.audit(actor.org_id, actor.member_id, "read", "settings", "risk thresholds")
    uow.commit()
    return limits(org)


def set_thresholds(uow: UnitOfWork, actor: Actor, changes: dict[str, int]) -> dict[str, int]:
    """Change thresholds (managers); every record an affected indicator watches is checked again now."""
    if not actor.has_any(EDITOR_ROLES):
        raise Forbidden(N_("Only the managers change the risk thresholds."))
    if not changes:
        raise Invalid(N_("Give thresholds to change, e.g. contact_days:45."))
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    merged = {**limits(org), **changes}
    for low, high in (("credit_orange_steps", "credit_red_steps"), ("overdue_orange_days", "overdue_red_days")):
        if merged[low] > merged[high]:
            raise Invalid(N_("The orange threshold {low} cannot be above the red one {high}."), low=low, high=high)
    org.settings = {**(org.settings or {}), "risk_thresholds": merged}
    for name in {BY_NAME[n].indicator for n in changes}:
        uow.session.execute(update(DueItem).where(
            DueItem.org_id == org.id, DueItem.kind == KIND, DueItem.state == "pending",
            DueItem.key.like(f"{KIND}:{name}:%")).values(due_at=uow.now))
    uow.audit(actor.org_id, actor.member_id, "update", "settings", "risk thresholds",
              " ".join(f"{k}={v}" for k, v in changes.items()))
    uow.commit()
    return merged


def watch(uow: UnitOfWork, org_id: int, indicator: str, subject_id: int, at: datetime | None = None) -> None:
    """Check `indicator` for this record at `at` (default: at the next sweep); called in the transaction that
    changed the record. An indicator this installation does not have is checked by nobody."""
    schedule(uow, org_id, KIND, subject_id, at or uow.now, key=f"{KIND}:{indicator}:{subject_id}")


def customer_touched(uow: UnitOfWork, org_id: int, customer_id: int, key_account: bool = True) -> None:
    """A visit or callback to the customer: its no-contact indicator (which watches key accounts only: the
    caller that knows the customer is not one says so and saves the check), and the idle indicator of those
    of its leads where one has fired, look again."""
    if key_account:
        watch(uow, org_id, "no_contact", customer_id)
    for lead_id in uow.connection().execute(_FIRED_IDLE_LEADS, {"org_id": org_id, "customer_id": customer_id}
                                             ).scalars():
        watch(uow, org_id, "lead_idle", lead_id)


# built once: a visit or a callback asks it every time, and building the statement costs more than running it
_FIRED_IDLE_LEADS = select(RiskSignal.subject_id).join(Lead, Lead.id == RiskSignal.subject_id).where(
    RiskSignal.org_id == bindparam("org_id"), RiskSignal.indicator == "lead_idle", RiskSignal.level.is_not(None),
    Lead.customer_id == bindparam("customer_id"))


def fire(uow: UnitOfWork, item: DueItem) -> None:
    """A check fell due: read the record, warn when it crossed a threshold, note when it cleared."""
    _kind, name, _subject = item.key.split(":", 2)
    indicator = uow.wiring[RISK_INDICATORS].get(name)
    org = uow.session.get(Organisation, item.org_id)
    if indicator is None or org is None:
        return
    signal = uow.session.scalar(select(RiskSignal).where(
        RiskSignal.org_id == org.id, RiskSignal.indicator == name, RiskSignal.subject_id == item.subject_id))
    reading = indicator.check(uow, org, item.subject_id, limits(org), signal.memo if signal else None)
    if reading is None:
        if signal is not None:
            signal.level, signal.cleared_at = None, uow.now
        return
    if signal is None:
        signal = uow.add(RiskSignal(org_id=org.id, indicator=name, subject_id=item.subject_id))
    signal.memo = reading.memo
    if reading.level is not None and ORDER[reading.level] > ORDER[signal.level]:
        _warn(uow, org, indicator, signal, reading)
    elif reading.level is None and signal.level is not None:
        signal.level, signal.cleared_at = None, uow.now
        uow.audit(org.id, None, "update", "risk", f"{indicator.prefix}{item.subject_id}", f"{name} cleared")
    if reading.recheck_at is not None:
        watch(uow, org.id, name, item.subject_id, reading.recheck_at)


def _warn(uow: UnitOfWork, org: Organisation, indicator: Indicator, signal: RiskSignal, reading: Reading) -> None:
    assert reading.level is not None
    record: Customer | Lead | None = (uow.session.get(Customer, signal.subject_id) if indicator.prefix == "C"
                                      else uow.session.get(Lead, signal.subject_id))
    if record is None:
        return
    customer = record if isinstance(record, Customer) else uow.session.get(Customer, record.customer_id)
    name = customer.name if customer else "?"
    rref = ref(indicator.prefix, record.number)
    with use_locale(org.locale):
        why = translate(reading.why).format(**reading.params)
        label = translate(indicator.label)
    signal.level, signal.reason, signal.fired_at, signal.cleared_at = reading.level, why, uow.now, None
    signal.owner_id = record.owner_id
    if ORDER[record.risk] < ORDER[reading.level]:
        old = record.risk
        record.risk, record.risk_note, record.updated_at = reading.level, f"{label}: {why}", uow.now
        uow.audit(org.id, None, "update", "customer" if indicator.prefix == "C" else "lead", rref,
                  f"risk {old} -> {reading.level}: {indicator.name}")
    uow.audit(org.id, None, "update", "risk", rref, f"{indicator.name} fired {reading.level}: {why}")
    owner = uow.session.get(Member, record.owner_id)
    people: list[Member] = [owner] if owner is not None else []
    supervisor = uow.session.get(Member, owner.supervisor_id) if owner is not None and owner.supervisor_id else None
    if supervisor is not None:
        people.append(supervisor)
    if reading.level == "high" or supervisor is None:
        people += [m for m in uow.session.scalars(select(Member).where(Member.org_id == org.id, Member.active)
                                                  .order_by(Member.id)) if m.role_set & {"manager", "deputy"}]
    seen: set[int] = set()
    show = "/customer show" if indicator.prefix == "C" else "/lead show"
    for person in people:
        if person.id in seen:
            continue
        seen.add(person.id)
        enqueue(uow, org_id=org.id, key=f"{KIND}:{indicator.name}:{signal.subject_id}:{reading.level}:"
                                        f"{uow.now.isoformat()}:{person.id}",
                recipient_id=person.id, urgent=reading.level == "high", kind="risk",
                msgid=N_("{mark} Risk indicator — {indicator} ({level}): {ref} {name}, owner {owner}. Why: {why}"),
                params={"mark": MARKS[reading.level], "indicator": Label(indicator.label),
                        "level": Label(RISKS.labels[reading.level]), "ref": rref, "name": name,
                        "owner": owner.name if owner else "?", "why": Msg(reading.why, reading.params)},
                buttons=[OutButton(N_("Show"), f"{show} {rref}")])


# --- the indicators this area measures ------------------------------------------------------------


def _days(delta: timedelta) -> int:
    return int(delta.total_seconds() // 86400)


def no_contact(uow: UnitOfWork, org: Organisation, customer_id: int, lim: Mapping[str, int],
               memo: str | None) -> Reading | None:
    customer = uow.session.get(Customer, customer_id)
    if customer is None:
        return None
    if customer.level != "key":
        return Reading()
    visit = uow.session.scalar(select(func.max(Visit.at)).where(Visit.customer_id == customer_id))
    called = uow.session.scalar(select(func.max(Callback.done_at)).where(Callback.customer_id == customer_id,
                                                                         Callback.status == "done"))
    last = max(t for t in (customer.created_at, visit, called) if t is not None)
    limit = lim["contact_days"]
    due = last + timedelta(days=limit)
    if uow.now < due:
        return Reading(recheck_at=due)
    return Reading("medium", N_("no visit or callback for {days} days (last contact {date}; the threshold is "
                                "{limit} days)"),
                   {"days": _days(uow.now - last), "date": local_today(last, org.timezone).isoformat(),
                    "limit": limit})


def complaints(uow: UnitOfWork, org: Organisation, customer_id: int, lim: Mapping[str, int],
               memo: str | None) -> Reading | None:
    count, days = lim["complaints_count"], lim["complaints_days"]
    since = uow.now - timedelta(days=days)
    times = list(uow.session.scalars(select(Complaint.created_at).where(
        Complaint.customer_id == customer_id, Complaint.created_at > since).order_by(Complaint.created_at.desc())))
    if len(times) < count:
        return Reading()
    return Reading("medium", N_("{count} complaints in the last {days} days (the threshold is {limit})"),
                   {"count": len(times), "days": days, "limit": count},
                   recheck_at=times[count - 1] + timedelta(days=days))


def lead_idle(uow: UnitOfWork, org: Organisation, lead_id: int, lim: Mapping[str, int],
              memo: str | None) -> Reading | None:
    lead = uow.session.get(Lead, lead_id)
    if lead is None:
        return None
    if lead.stage not in LATE_STAGES:
        return Reading()
    moved = uow.session.scalar(select(func.max(StageChange.at)).where(StageChange.lead_id == lead_id))
    visit = uow.session.scalar(select(func.max(Visit.at)).where(Visit.customer_id == lead.customer_id))
    last = max(t for t in (lead.updated_at, moved, visit) if t is not None)
    limit = lim["idle_days"]
    due = last + timedelta(days=limit)
    if uow.now < due:
        return Reading(recheck_at=due)
    return Reading("medium", N_("no activity for {days} days at {stage} (the threshold is {limit} days)"),
                   {"days": _days(uow.now - last), "stage": Label(_stage_label(lead.stage)), "limit": limit})


def _stage_label(stage: str) -> str:
    from_vocab = {"negotiation": N_("negotiation"), "followup": N_("follow-up")}
    return from_vocab.get(stage, stage)


def credit(uow: UnitOfWork, org: Organisation, customer_id: int, lim: Mapping[str, int],
           memo: str | None) -> Reading | None:
    customer = uow.session.get(Customer, customer_id)
    if customer is None:
        return None
    rating = customer.credit_rating
    if rating not in CREDIT_RATINGS:
        return Reading(memo=None)
    if memo not in CREDIT_RATINGS:
        return Reading(memo=rating)  # the first rating seen: what a later lowering is measured from
    steps = CREDIT_RATINGS.index(rating) - CREDIT_RATINGS.index(memo)
    if steps <= 0:
        return Reading(memo=rating)  # kept or raised: the new reference, and any warning clears
    level = ("high" if steps >= lim["credit_red_steps"] else "medium" if steps >= lim["credit_orange_steps"]
             else None)
    if level is None:
        return Reading(memo=memo)
    return Reading(level, N_("credit rating lowered from {old} to {new} ({steps} steps)"),
                   {"old": memo, "new": rating, "steps": steps}, memo=memo)


BUILT_IN = (
    Indicator("no_contact", N_("key account without contact"), "C", no_contact),
    Indicator("complaints", N_("repeated complaints"), "C", complaints),
    Indicator("lead_idle", N_("lead idle in a late stage"), "L", lead_idle),
    Indicator("credit", N_("credit rating lowered"), "C", credit),
)
# the label /risk thresholds shows for an indicator whose check another area adds
LABELS = {"receivables_overdue": N_("receivables overdue"), **{i.name: i.label for i in BUILT_IN}}


@dataclass(frozen=True)
class SignalRow:
    ref: str
    indicator: str  # msgid
    level: str
    why: str
    owner: str


def active_signals(uow: UnitOfWork, actor: Actor) -> list[SignalRow]:
    """The indicators that hold now, on records the actor may see, the reddest first."""
    owners = visible_owner_ids(uow, actor)
    q = select(RiskSignal).where(RiskSignal.org_id == actor.org_id, RiskSignal.level.is_not(None))
    if owners is not None:
        q = q.where(RiskSignal.owner_id.in_(owners))
    names = dict(uow.session.execute(select(Member.id, Member.name).where(Member.org_id == actor.org_id)).all())
    kinds = uow.wiring[RISK_INDICATORS]
    rows = []
    for s in uow.session.scalars(q.order_by(RiskSignal.fired_at.desc())):
        ind = kinds.get(s.indicator)
        prefix = ind.prefix if ind else "C"
        model = Customer if prefix == "C" else Lead
        number = uow.session.scalar(select(model.number).where(model.id == s.subject_id))
        rows.append(SignalRow(ref(prefix, number or 0), LABELS.get(s.indicator, s.indicator), s.level or "",
                              s.reason or "", names.get(s.owner_id or 0, "?")))
    return sorted(rows, key=lambda r: -ORDER[r.level])
