"""Risk (风险管理): customers, leads and contracts carry a level — high, medium, low — shown as red,
orange and yellow warnings (红/橙/黄); other areas add their own records that carry one (a project) through the
wiring (RISK_SUBJECTS), which also lets the register attach a risk to them.

Raising a record to orange or red sends the warning signal the risk procedure asks for (预警信号, "so that the
people concerned act in time"): orange to the owner's supervisor, red to the supervisor and the managers,
and to the owner when someone else raised it. Lowering it, or keeping it, says nothing. `/risk list` is
the department's risk list (风险清单): the orange and red records the member may see, the reddest first,
each with why.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from domain.delivery.outbox import OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, Label
from domain.kernel.vocab import CLOSED_STAGES, RISKS
from domain.kernel.wiring import Key
from domain.store.models import Contract, Customer, Lead, Member
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref, ref, visible_owner_ids

# "unassessed": a new record's risk until someone assesses it (未评估) — no warning, not even yellow
ORDER = {"unassessed": -1, "low": 0, "medium": 1, "high": 2}
MARKS = {"high": "🔴", "medium": "🟠", "low": "🟡"}
KINDS = {"C": N_("customer"), "L": N_("lead"), "K": N_("contract")}
SHOW = {"C": "/customer show", "L": "/lead show", "K": "/contract show"}
MAX_NOTE = 500

Record = Customer | Lead | Contract


def prefix_of(record: Record) -> str:
    return "C" if isinstance(record, Customer) else "L" if isinstance(record, Lead) else "K"


def marked(reference: str, level: str) -> str:
    """A reference in a list, with the warning colour of an orange or red risk in front ("🔴 C3"); low risk
    (yellow) and a risk not assessed yet are left unmarked."""
    return f"{MARKS[level]} {reference}" if ORDER.get(level, 0) > 0 else reference


@dataclass(frozen=True)
class RiskChange:
    ref: str
    kind: str  # msgid
    name: str
    old: str
    new: str
    warned: list[str]  # names of those told


def set_risk(uow: UnitOfWork, actor: Actor, record: Record, level: str, reason: str | None) -> RiskChange:
    """Set the risk level of a record the actor may see, with why; raising it to orange or red warns (see the
    module)."""
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_NOTE:
        raise Invalid(N_("The reason is too long ({count} characters; at most {max})."), count=len(reason),
                      max=MAX_NOTE)
    if ORDER[level] > 0 and reason is None:
        raise Invalid(N_("Say why it is a risk: reason=\"...\"."))
    old = record.risk
    if level == old and reason == record.risk_note:
        raise Invalid(N_("{ref} is already at {level}."), ref=ref(prefix_of(record), record.number),
                      level=Label(RISKS.labels[level]))
    record.risk, record.risk_note = level, reason
    record.updated_at = uow.now
    rref = ref(prefix_of(record), record.number)
    uow.audit(actor.org_id, actor.member_id, "update", _entity(record), rref,
              f"risk {old} -> {level}" + (f": {reason}" if reason else ""))
    warned = warn_if_raised(uow, actor, record, old)
    uow.commit()
    return RiskChange(rref, KINDS[prefix_of(record)], _name(uow, record), old, level, warned)


def warn_if_raised(uow: UnitOfWork, actor: Actor, record: Record, old: str) -> list[str]:
    """The warning signal, when a record's risk went up to orange or red (called in the change's
    transaction, also by `/customer set risk=…` and a new record's risk=); the names of those told."""
    new = record.risk
    if ORDER[new] <= ORDER.get(old, 0) or ORDER[new] == 0:
        return []
    owner = uow.session.get(Member, record.owner_id)
    assert owner is not None
    people: list[Member] = []
    supervisor = uow.session.get(Member, owner.supervisor_id) if owner.supervisor_id else None
    if supervisor is not None and supervisor.active:
        people.append(supervisor)
    if new == "high" or not people:
        people += [m for m in uow.session.scalars(select(Member).where(Member.org_id == record.org_id,
                                                                         Member.active).order_by(Member.id))
                   if m.role_set & {"manager", "deputy"}]
    people.append(owner)
    told: list[Member] = []
    for person in people:
        if person.id != actor.member_id and person.id not in {t.id for t in told}:
            told.append(person)
    prefix = prefix_of(record)
    rref = ref(prefix, record.number)
    params: dict[str, Any] = {"mark": MARKS[new], "level": Label(RISKS.labels[new]), "kind": Label(KINDS[prefix]),
                              "ref": rref, "name": _name(uow, record), "owner": owner.name, "by": actor.name,
                              "reason": record.risk_note or "—"}
    for person in told:
        enqueue(uow, org_id=record.org_id, key=f"risk:{prefix}{record.id}:{new}:{uow.now.isoformat()}:{person.id}",
                recipient_id=person.id, urgent=new == "high",
                msgid=N_("{mark} Risk warning — {level}: {kind} {name} ({ref}), owner {owner}. Why: {reason} "
                         "(set by {by})"),
                params=params, buttons=[OutButton(N_("Show"), f"{SHOW[prefix]} {rref}")])
    return [p.name for p in told]


@dataclass(frozen=True)
class RiskRow:
    ref: str
    kind: str  # msgid
    name: str
    level: str
    reason: str | None
    owner: str
    show: str = ""  # the command that shows the record, e.g. "/customer show C3"


@dataclass(frozen=True)
class Subject:
    """A record of another area a risk is attached to: its reference, the member it belongs to, its name."""

    ref: str
    owner_id: int | None
    name: str


@dataclass(frozen=True)
class RiskSubject:
    """A kind of record of another area that carries a risk (a project, P3): `find(uow, actor, text)` gives the one
    a reference names if the actor may see it (else not found); `flagged(uow, actor, levels)` the ones the actor
    may see at those levels, for the risk list; `name(uow, org_id, reference)` a record's name, or None."""

    name: str  # the reference's prefix, e.g. "P"
    find: Callable[[UnitOfWork, Actor, str], Subject]
    flagged: Callable[[UnitOfWork, Actor, tuple[str, ...]], list[RiskRow]]
    named: Callable[[UnitOfWork, int, str], str | None]


RISK_SUBJECTS: Key[RiskSubject] = Key("risk subjects")


def subject_of(uow: UnitOfWork, text: str) -> RiskSubject | None:
    """The kind of record a reference names among those other areas registered (P3: a project), if any."""
    return next((s for s in uow.wiring[RISK_SUBJECTS].values() if parse_ref(text.strip(), s.name) is not None), None)


def subject_name(uow: UnitOfWork, org_id: int, reference: str) -> str | None:
    """The name of the record of another area a risk is attached to (None: not one of theirs, or gone)."""
    subject = subject_of(uow, reference)
    return subject.named(uow, org_id, reference) if subject is not None else None


def risk_list(uow: UnitOfWork, actor: Actor, only_high: bool = False) -> list[RiskRow]:
    """The risk list (风险清单): the orange and red customers, open leads and contracts the actor may see, and
    the records of other areas that carry a risk (projects), the reddest first."""
    levels = ("high",) if only_high else ("high", "medium")
    owners = visible_owner_ids(uow, actor)
    names = dict(uow.session.execute(select(Member.id, Member.name).where(Member.org_id == actor.org_id)).all())
    queries: list[tuple[str, Any]] = [
        ("C", select(Customer).where(Customer.org_id == actor.org_id, Customer.risk.in_(levels))),
        ("L", select(Lead).where(Lead.org_id == actor.org_id, Lead.risk.in_(levels),
                                 Lead.stage.not_in(CLOSED_STAGES))),
        ("K", select(Contract).where(Contract.org_id == actor.org_id, Contract.risk.in_(levels))),
    ]
    found = [(prefix, record) for prefix, query in queries for record in uow.session.scalars(query)
             if owners is None or record.owner_id in owners]
    wanted = {r.customer_id for _prefix, r in found if not isinstance(r, Customer)}
    customers = ({c.id: c for c in uow.session.scalars(select(Customer).where(Customer.id.in_(wanted)))}
                 if wanted else {})
    rows = [RiskRow(ref(prefix, r.number), KINDS[prefix], r.name if isinstance(r, Customer) else _title(r, customers),
                    r.risk, r.risk_note, names.get(r.owner_id, "?"), f"{SHOW[prefix]} {ref(prefix, r.number)}")
            for prefix, r in found]
    prefixes = ["C", "L", "K"]
    for subject in uow.wiring[RISK_SUBJECTS].values():
        rows += subject.flagged(uow, actor, levels)
        prefixes.append(subject.name)
    uow.audit(actor.org_id, actor.member_id, "read", "risk", None, f"{len(rows)} rows")
    uow.commit()
    return sorted(rows, key=lambda r: (-ORDER[r.level], *_sort_key(r.ref, prefixes)))


def _sort_key(reference: str, prefixes: list[str]) -> tuple[int, int]:
    for position, prefix in enumerate(prefixes):
        number = parse_ref(reference, prefix)
        if number is not None:
            return position, number
    return len(prefixes), 0


def _title(record: Lead | Contract, customers: dict[int, Customer]) -> str:
    customer = customers.get(record.customer_id)
    base = customer.name if customer else "?"
    return f"{base} · {record.title}" if isinstance(record, Contract) else base


def _name(uow: UnitOfWork, record: Record) -> str:
    if isinstance(record, Customer):
        return record.name
    customer = uow.session.get(Customer, record.customer_id)
    return _title(record, {customer.id: customer} if customer else {})


def _entity(record: Record) -> str:
    return {"C": "customer", "L": "lead", "K": "contract"}[prefix_of(record)]
