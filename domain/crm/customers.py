"""Customers, leads and visits (客户开发流程): the archive a sales department lives on."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, case, func, insert, or_, select

from domain.crm import followup
from domain.crm.callbacks import cadence_days, move_cadence, schedule_callback
from domain.crm.handover import Moved, change_owner
from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.dates import not_future, not_past
from domain.kernel.errors import Ambiguous, Conflict, Forbidden, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, sort_key, translate, use_locale
from domain.kernel.notes import note_text
from domain.kernel.text import lookalike_key
from domain.kernel.vocab import CLOSED_STAGES, PIPELINE, RISKS, SOURCES, STAGES, WINNABLE_FROM
from domain.kernel.wiring import Key
from domain.reporting.exports import write_table
from domain.risk import indicators
from domain.risk.levels import MAX_NOTE, warn_if_raised
from domain.store.models import Callback, Customer, Lead, Member, Organisation, StageChange, Visit
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import (
    LINE,
    READ,
    SERVE,
    TEAM_ADMIN_ROLES,
    Reach,
    amount_owner_ids,
    can_access,
    can_reach,
    customer_owner_ids,
    parse_ref,
    ref,
    require_access,
    require_reach,
    require_role,
    require_visible,
    team_ids,
    visible_owner_ids,
)
from domain.team.members import clean_name, exporter, find_member, name_key, org_setting, require_active

MAX_VALUE = Decimal("1000000000000")


def _org(uow: UnitOfWork, actor: Actor) -> Organisation:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    return org


def _owner_for(uow: UnitOfWork, actor: Actor, owner: str | None) -> Member:
    if owner is None:
        member = uow.session.get(Member, actor.member_id)
        assert member is not None
        return member
    member = require_active(find_member(uow, actor.org_id, owner))
    if member.id != actor.member_id:
        require_access(uow, actor, member.id, member.name)
    return member


# --- customers -------------------------------------------------------------------------


@dataclass
class CustomerFields:
    industry: str | None = None
    scale: str | None = None
    level: str | None = None
    credit_rating: str | None = None
    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None
    birthday: date | None = None
    cadence_days: int | None = None
    risk: str | None = None
    risk_note: str | None = None  # why the risk is what it is, given with it


def _check_risk(fields: CustomerFields) -> None:
    if fields.risk_note is not None and fields.risk is None:
        raise Invalid(N_("A reason goes with a risk level: risk=high reason=\"...\"."))
    if fields.risk_note is not None and len(fields.risk_note) > MAX_NOTE:
        raise Invalid(N_("The reason is too long ({count} characters; at most {max})."), count=len(fields.risk_note),
                      max=MAX_NOTE)


def _lookalike(uow: UnitOfWork, org_id: int, name: str) -> Customer | None:
    """The department's customer whose name a reader could not tell from `name`: ＨＵＡＷＥＩ and Huawei, 华 为 and
    华为. Compared here rather than in SQL, which has no NFKC; a department has a few thousand customers."""
    key = lookalike_key(name)
    for customer_id, other in uow.session.execute(select(Customer.id, Customer.name).where(Customer.org_id == org_id)):
        if lookalike_key(other) == key:
            return uow.session.get(Customer, customer_id)
    return None


def create_customer(
    uow: UnitOfWork, actor: Actor, name: str, fields: CustomerFields, owner: str | None = None
) -> tuple[Customer, Callback]:
    """Open a customer archive; the first regular callback follows from its cadence."""
    name = clean_name(name, 200)
    existing = uow.session.scalar(
        select(Customer).where(Customer.org_id == actor.org_id, Customer.name_key == name_key(name))
    ) or _lookalike(uow, actor.org_id, name)
    if existing is not None:
        holder = uow.session.get(Member, existing.owner_id)
        if not can_reach(uow, actor, existing.owner_id, READ):  # who holds it, but not its reference
            raise Conflict(N_("Customer {name} already exists (owner {owner})."), name=existing.name,
                           owner=holder.name if holder else "?")
        raise Conflict(
            N_("Customer {name} already exists ({ref}, owner {owner})."),
            name=existing.name,
            ref=ref("C", existing.number),
            owner=holder.name if holder else "?",
        )
    _check_risk(fields)
    member = _owner_for(uow, actor, owner)
    customer = uow.add(
        Customer(
            org_id=actor.org_id,
            number=next_number(uow, Customer, actor.org_id),
            name=name,
            name_key=name_key(name),
            owner_id=member.id,
            level=fields.level or "regular",
            risk=fields.risk or "unassessed",  # not a yellow warning nobody gave
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    _apply(customer, fields)
    uow.session.flush()
    warn_if_raised(uow, actor, customer, "unassessed")  # created orange or red: the warning signal (domain.risk.levels)
    org = _org(uow, actor)
    first = schedule_callback(
        uow,
        org,
        customer,
        local_today(uow.now, org.timezone) + timedelta(days=cadence_days(customer)),
        "cadence",
        None,
    )
    _watch_customer(uow, customer, credit=customer.credit_rating is not None, level=customer.level == "key")
    uow.audit(actor.org_id, actor.member_id, "create", "customer", ref("C", customer.number), name)
    uow.commit()
    return customer, first


def _watch_customer(uow: UnitOfWork, customer: Customer, *, credit: bool, level: bool) -> None:
    """The risk indicators that read what changed look again (domain.risk.indicators)."""
    if credit:
        indicators.watch(uow, customer.org_id, "credit", customer.id)
    if level:
        indicators.watch(uow, customer.org_id, "no_contact", customer.id)


def _apply(customer: Customer, fields: CustomerFields) -> None:
    for key, value in vars(fields).items():
        if value is not None:
            setattr(customer, key, value)


# Statements the commands run most, built once (building one costs more than running it on SQLite).
_CUSTOMER_BY_KEY = select(Customer).where(Customer.org_id == bindparam("org_id"),
                                          Customer.name_key == bindparam("key"))
_CUSTOMER_BY_NUMBER = select(Customer).where(Customer.org_id == bindparam("org_id"),
                                             Customer.number == bindparam("number"))
_CUSTOMER_REF_BY_KEY = select(Customer.id, Customer.name, Customer.owner_id, Customer.level).where(
    Customer.org_id == bindparam("org_id"), Customer.name_key == bindparam("key"))
_INSERT_VISIT = insert(Visit)
# the customer's one open lead, if it has exactly one, found by the INSERT itself (ids only: the lead is loaded
# when it changes); stage != each closed stage rather than NOT IN, which is re-rendered on every execution
_TWO_OPEN_LEADS = select(Lead.id).where(Lead.customer_id == bindparam("lead_customer"),
                                        *(Lead.stage != stage for stage in CLOSED_STAGES)).limit(2).subquery()
_INSERT_VISIT_TO_ITS_LEAD = insert(Visit).values(lead_id=select(
    case((func.count() == 1, func.max(_TWO_OPEN_LEADS.c.id)))).scalar_subquery())
# the same, handing back the lead it was recorded against, for a visit that sets the lead's next date
_WITH_ITS_LEAD = {stmt: stmt.returning(Visit.lead_id) for stmt in (_INSERT_VISIT, _INSERT_VISIT_TO_ITS_LEAD)}


@dataclass(frozen=True)
class CustomerRef:
    """Which customer, for a use case that only records something against them."""

    id: int
    name: str
    owner_id: int
    level: str | None = None  # key, normal, ... (a key account is watched for contact)


def find_customer_ref(uow: UnitOfWork, actor: Actor, text: str, reach: Reach = LINE) -> CustomerRef:
    """As `find_customer`, for use cases that need only the customer's id, name and owner: the usual
    case, an exact name, is one Core read instead of loading the whole archive record."""
    text = text.strip()
    if parse_ref(text, "C") is not None:
        customer = find_customer(uow, actor, text, reach)
    else:
        row = uow.connection().execute(_CUSTOMER_REF_BY_KEY, {"org_id": actor.org_id, "key": name_key(text)}).first()
        if row is not None:
            row_id, row_name, owner_id, level = row
            if can_reach(uow, actor, owner_id, reach):
                return CustomerRef(row_id, row_name, owner_id, level)
        customer = find_customer(uow, actor, text, reach)
    return CustomerRef(customer.id, customer.name, customer.owner_id, customer.level)


def find_customer(uow: UnitOfWork, actor: Actor, text: str, reach: Reach = LINE) -> Customer:
    """By reference (C12), exact name, or a unique part of a name among what the actor reaches for this kind of
    work (domain.team.access: their line by default; the archive; serving the customer). A customer out of
    reach is not found, in the words used for one that does not exist."""
    text = text.strip()
    number = parse_ref(text, "C")
    if number is not None:
        customer = uow.session.scalar(_CUSTOMER_BY_NUMBER, {"org_id": actor.org_id, "number": number})
        if customer is None:
            raise NotFound(N_("No customer {ref}."), ref=text.upper())
        _require_reach(uow, actor, customer, reach, N_("No customer {ref}."), ref=text.upper())
        return customer
    exact = uow.session.scalar(_CUSTOMER_BY_KEY, {"org_id": actor.org_id, "key": name_key(text)})
    if exact is None or can_reach(uow, actor, exact.owner_id, reach):
        return exact or _customer_by_part(uow, actor, text, reach)
    try:
        return _customer_by_part(uow, actor, text, reach)  # "华为" typed for one's own 华为云
    except NotFound:
        _require_reach(uow, actor, exact, reach, N_("No customer matches '{text}'."), text=text)
        raise


def _require_reach(uow: UnitOfWork, actor: Actor, customer: Customer, reach: Reach, msgid: str,
                   **params: object) -> None:
    """A customer the actor may read but not work on this way is refused in so many words; one they may not even
    read is not found (`msgid`)."""
    if can_reach(uow, actor, customer.owner_id, reach):
        return
    if reach != READ and can_reach(uow, actor, customer.owner_id, READ):
        owner = uow.session.get(Member, customer.owner_id)
        raise Forbidden(N_("{customer} is {owner}'s customer: you may read its archive, but that is for {owner}'s "
                           "line to do."), customer=customer.name, owner=owner.name if owner else "?")
    require_reach(uow, actor, customer.owner_id, reach, msgid, **params)


def _customer_by_part(uow: UnitOfWork, actor: Actor, text: str, reach: Reach) -> Customer:
    """The one customer the actor reaches whose name contains `text` (after no exact match among them)."""
    q = select(Customer).where(
        Customer.org_id == actor.org_id, Customer.name_key.contains(name_key(text), autoescape=True)
    )
    owners = customer_owner_ids(uow, actor, reach)
    if owners is not None:
        q = q.where(Customer.owner_id.in_(owners))
    matches = list(uow.session.scalars(q.order_by(Customer.name_key).limit(9)))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise Ambiguous(
            N_("'{text}' matches several customers: {matches}. Use the reference."),
            text=text,
            matches=", ".join(f"{c.name} ({ref('C', c.number)})" for c in matches[:8]),
        )
    raise NotFound(N_("No customer matches '{text}'."), text=text)


def search_customers(uow: UnitOfWork, actor: Actor, text: str, limit: int = 20) -> list[Customer]:
    """Customers the actor may read whose name contains the text (for pickers), by name."""
    q = select(Customer).where(Customer.org_id == actor.org_id)
    if text.strip():
        q = q.where(Customer.name_key.contains(name_key(text), autoescape=True))
    owners = customer_owner_ids(uow, actor, READ)
    if owners is not None:
        q = q.where(Customer.owner_id.in_(owners))
    return list(uow.session.scalars(q.order_by(Customer.name_key).limit(limit)))


@dataclass(frozen=True)
class CustomerUpdate:
    """A customer changed: with a new owner, what went with it; with a new cadence, the regular callback moved."""

    customer: Customer
    moved: Moved | None = None
    callback: Callback | None = None


# What customer service may change on a customer outside its line (domain.team.access): the archive's details, not
# the judgements its owner's line makes (level, cadence, credit rating, risk) nor, without a managing role, the owner.
SERVED_DETAILS = frozenset({"industry", "scale", "contact_name", "phone", "email", "birthday"})


def update_customer(
    uow: UnitOfWork, actor: Actor, text: str, fields: CustomerFields, owner: str | None = None
) -> CustomerUpdate:
    """Change a customer's details. A new owner takes what is open with it (domain.crm.handover); a new level
    or cadence moves the pending regular callback."""
    customer = find_customer(uow, actor, text, SERVE)
    changes = {k: v for k, v in vars(fields).items() if v is not None}
    moved = None
    if not changes and owner is None:
        raise Invalid(N_("Nothing to change."))
    if set(changes) - SERVED_DETAILS and not can_access(uow, actor, customer.owner_id):
        holder = uow.session.get(Member, customer.owner_id)
        raise Forbidden(N_("{customer} is {owner}'s customer: you may keep its details up to date (industry, scale, "
                           "contact, phone, e-mail, birthday), but its level, callback cadence, credit rating and "
                           "risk are for {owner}'s line to change."), customer=customer.name,
                        owner=holder.name if holder else "?")
    if owner is not None:
        require_role(actor, TEAM_ADMIN_ROLES | {"deputy"})
        moved = change_owner(uow, actor, customer, find_member(uow, actor.org_id, owner))
        changes["owner"] = moved.new.name
    _check_risk(fields)
    old_risk, old_cadence = customer.risk, cadence_days(customer)
    old_credit, old_level = customer.credit_rating, customer.level
    _apply(customer, fields)
    _watch_customer(uow, customer, credit=customer.credit_rating != old_credit, level=customer.level != old_level)
    if customer.risk != old_risk:
        # the reason given with the old level no longer holds; the new one's, if given with it
        customer.risk_note = fields.risk_note
        warn_if_raised(uow, actor, customer, old_risk)
    callback = move_cadence(uow, _org(uow, actor), customer) if cadence_days(customer) != old_cadence else None
    customer.updated_at = uow.now
    uow.audit(
        actor.org_id, actor.member_id, "update", "customer", ref("C", customer.number),
        " ".join(f"{k}={v}" for k, v in changes.items()) + (f" moved={','.join(moved.refs)}" if moved else ""),
    )
    uow.commit()
    return CustomerUpdate(customer, moved, callback)


@dataclass
class Archive:
    customer: Customer
    owner: Member
    leads: list[Lead] = field(default_factory=list)
    visits: list[tuple[Visit, Member]] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    more: list[tuple[str, list[str]]] = field(default_factory=list)  # (title msgid, lines): other areas' parts
    values_hidden: frozenset[int] = frozenset()  # leads whose value the reader may not see (domain.team.access)


ArchiveFn = Callable[[UnitOfWork, Actor, Customer], list[str]]


@dataclass(frozen=True)
class ArchiveSection:
    """A part of the customer archive that another area keeps (contracts, complaints), shown in `order` after
    the visits: `title` is a message id; `lines` gives its lines for one customer, newest first, in the
    reader's language."""

    name: str
    title: str
    order: int
    lines: ArchiveFn


ARCHIVE_SECTIONS: Key[ArchiveSection] = Key("customer archive sections")


def customer_archive(uow: UnitOfWork, actor: Actor, text: str) -> Archive:
    """Everything about one customer, newest first (客户档案); amounts only of what the reader's line owns."""
    customer = find_customer(uow, actor, text, READ)
    owner = uow.session.get(Member, customer.owner_id)
    assert owner is not None
    archive = Archive(customer, owner)
    archive.leads = list(
        uow.session.scalars(
            select(Lead).where(Lead.customer_id == customer.id).order_by(Lead.created_at.desc(), Lead.id.desc())
        )
    )
    shown = amount_owner_ids(uow, actor)
    archive.values_hidden = frozenset(lead.id for lead in archive.leads
                                      if shown is not None and lead.owner_id not in shown)
    archive.visits = [
        (v, m)
        for v, m in uow.session.execute(
            select(Visit, Member)
            .join(Member, Member.id == Visit.member_id)
            .where(Visit.customer_id == customer.id)
            .order_by(Visit.at.desc(), Visit.id.desc())
            .limit(20)
        ).all()
    ]
    archive.callbacks = list(
        uow.session.scalars(
            select(Callback)
            .where(Callback.customer_id == customer.id)
            .order_by(Callback.due_date.desc(), Callback.id.desc())
            .limit(20)
        )
    )
    sections = sorted(uow.wiring[ARCHIVE_SECTIONS].values(), key=lambda s: s.order)
    archive.more = [(section.title, section.lines(uow, actor, customer)) for section in sections]
    uow.audit(actor.org_id, actor.member_id, "read", "customer", ref("C", customer.number))
    uow.commit()
    return archive


def list_customers(uow: UnitOfWork, actor: Actor, scope: str = "all") -> list[tuple[Customer, Member]]:
    q = (
        select(Customer, Member)
        .join(Member, Member.id == Customer.owner_id)
        .where(Customer.org_id == actor.org_id)
        .order_by(Customer.name_key)
    )
    if scope == "mine":
        q = q.where(Customer.owner_id == actor.member_id)
    else:
        owners = customer_owner_ids(uow, actor, READ)
        if owners is not None:
            q = q.where(Customer.owner_id.in_(owners))
    with use_locale(actor.locale):  # in the reader's order: by pinyin for a Chinese reader
        rows = sorted(((c, m) for c, m in uow.session.execute(q.limit(500)).all()), key=lambda r: sort_key(r[0].name))
    uow.audit(actor.org_id, actor.member_id, "read", "customer", None, f"list {scope}")
    uow.commit()
    return rows


# --- leads -----------------------------------------------------------------------------


def _check_value(value: Decimal | None) -> None:
    if value is not None and not (Decimal(0) <= value < MAX_VALUE):
        raise Invalid(N_("The value must be between 0 and 1,000,000,000,000."))


def create_lead(
    uow: UnitOfWork,
    actor: Actor,
    customer_text: str,
    *,
    value: Decimal | None = None,
    currency: str = "CNY",
    source: str | None = None,
    contact: str | None = None,
    stage: str = "research",
    next_step: str | None = None,
    next_date: date | None = None,
    owner: str | None = None,
) -> Lead:
    customer = find_customer(uow, actor, customer_text)
    _check_value(value)
    if next_date is not None:
        not_past(next_date, local_today(uow.now, actor.timezone))
    if stage in CLOSED_STAGES:
        raise Invalid(N_("A new lead cannot start as {stage}."), stage=STAGES.label(stage))
    member = _owner_for(uow, actor, owner) if owner else uow.session.get(Member, customer.owner_id)
    assert member is not None
    lead = uow.add(
        Lead(
            org_id=actor.org_id,
            number=next_number(uow, Lead, actor.org_id),
            customer_id=customer.id,
            owner_id=member.id,
            stage=stage,
            source=source,
            contact=contact,
            value=value,
            currency=currency,
            next_step=next_step,
            next_date=next_date,
            risk=customer.risk,
            version=1,
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    uow.session.flush()
    _record_stage(uow, actor, lead, None, stage)
    followup.schedule_step(uow, _org(uow, actor), lead)  # its owner is reminded on the next step's day
    uow.audit(actor.org_id, actor.member_id, "create", "lead", ref("L", lead.number), customer.name)
    uow.commit()
    return lead


def find_lead(uow: UnitOfWork, actor: Actor, text: str) -> Lead:
    """By reference (L12), or by customer when that customer has exactly one open lead. A lead the actor
    may not see is not found, in the words used for one that does not exist."""
    number = parse_ref(text, "L")
    if number is not None:
        lead = by_number(uow, Lead, actor.org_id, number)
        if lead is None:
            raise NotFound(N_("No lead {ref}."), ref=text.strip().upper())
        require_visible(uow, actor, lead.owner_id, N_("No lead {ref}."), ref=text.strip().upper())
        return lead
    customer = find_customer(uow, actor, text, READ)
    leads = list(
        uow.session.scalars(
            select(Lead).where(Lead.customer_id == customer.id, Lead.stage.not_in(CLOSED_STAGES))
            .order_by(Lead.number)
        )
    )
    seen = [x for x in leads if can_access(uow, actor, x.owner_id)]
    if len(seen) == 1:
        return seen[0]
    if not seen:
        raise (Hidden if leads else NotFound)(N_("{customer} has no open lead."), customer=customer.name)
    raise Ambiguous(
        N_("{customer} has several open leads: {refs}. Use the reference."),
        customer=customer.name,
        refs=", ".join(ref("L", x.number) for x in seen),
    )


def move_stage(uow: UnitOfWork, actor: Actor, lead_text: str, stage: str, reason: str | None) -> tuple[Lead, str]:
    """Move a lead along the pipeline; closed leads stay closed, going back or losing needs a reason."""
    lead = find_lead(uow, actor, lead_text)
    old = lead.stage
    lref = ref("L", lead.number)
    if old in CLOSED_STAGES:
        raise Invalid(N_("{ref} is closed ({stage}); it cannot move."), ref=lref, stage=STAGES.label(old))
    if stage == old:
        raise Invalid(N_("{ref} is already at {stage}."), ref=lref, stage=STAGES.label(old))
    if stage == "won" and old not in WINNABLE_FROM:
        raise Invalid(
            N_("A lead is won from negotiation or follow-up; {ref} is at {stage}."),
            ref=lref,
            stage=STAGES.label(old),
        )
    backwards = stage in PIPELINE and PIPELINE.index(stage) < PIPELINE.index(old)
    if (stage == "lost" or backwards) and not (reason and reason.strip()):
        raise Invalid(
            N_("Moving {ref} to {stage} needs a reason: reason=\"...\"."), ref=lref, stage=STAGES.label(stage)
        )
    _record_stage(uow, actor, lead, old, stage, reason)
    if stage in CLOSED_STAGES:
        lead.closed_reason = reason
        followup.schedule_step(uow, _org(uow, actor), lead)  # a closed lead has no next step to remind of
    uow.audit(actor.org_id, actor.member_id, "update", "lead", lref, f"stage {old}->{stage}")
    uow.commit()
    return lead, old


def _record_stage(
    uow: UnitOfWork, actor: Actor, lead: Lead, old: str | None, new: str, reason: str | None = None
) -> None:
    """Set the stage and keep its history: the weekly digest counts stage moves from these rows."""
    if old is not None:
        lead.stage = new
        lead.version += 1
        lead.updated_at = uow.now
    uow.add(
        StageChange(
            org_id=actor.org_id, lead_id=lead.id, from_stage=old, to_stage=new,
            actor_id=actor.member_id, reason=reason, at=uow.now,
        )
    )
    if new in indicators.LATE_STAGES or old in indicators.LATE_STAGES:
        indicators.watch(uow, actor.org_id, "lead_idle", lead.id)  # idle in a late stage: the clock starts anew


@dataclass(frozen=True)
class Screening:
    lead: Lead
    total: int
    threshold: int
    key_account: bool
    moved: bool


def screen_lead(
    uow: UnitOfWork, actor: Actor, lead_text: str, scale: int, position: int, potential: int, intent: int
) -> Screening:
    """Score the four screening criteria (客户筛选); above the threshold it is a key account."""
    for score in (scale, position, potential, intent):
        if not 1 <= score <= 5:
            raise Invalid(N_("Scores run from 1 to 5."))
    lead = find_lead(uow, actor, lead_text)
    if lead.stage in CLOSED_STAGES:
        raise Invalid(N_("{ref} is closed; it cannot be screened."), ref=ref("L", lead.number))
    org = _org(uow, actor)
    lead.score_scale, lead.score_position, lead.score_potential, lead.score_intent = (
        scale, position, potential, intent,
    )
    total = scale + position + potential + intent
    threshold = org_setting(org, "key_account_score")
    lead.key_account = total >= threshold
    moved = lead.stage == "research"
    if moved:
        _record_stage(uow, actor, lead, "research", "screening")
    else:
        lead.version += 1
        lead.updated_at = uow.now
    if lead.key_account:
        customer = uow.session.get(Customer, lead.customer_id)
        assert customer is not None
        if customer.level != "key":
            customer.level = "key"
            indicators.watch(uow, customer.org_id, "no_contact", customer.id)
    uow.audit(actor.org_id, actor.member_id, "update", "lead", ref("L", lead.number), f"screen total={total}")
    uow.commit()
    return Screening(lead, total, threshold, lead.key_account, moved)


@dataclass(frozen=True)
class LeadView:
    lead: Lead
    customer: Customer
    owner: Member
    history: list[tuple[StageChange, Member]]


def show_lead(uow: UnitOfWork, actor: Actor, text: str) -> LeadView:
    lead = find_lead(uow, actor, text)
    customer = uow.session.get(Customer, lead.customer_id)
    owner = uow.session.get(Member, lead.owner_id)
    assert customer is not None and owner is not None
    history = [
        (s, m)
        for s, m in uow.session.execute(
            select(StageChange, Member)
            .join(Member, Member.id == StageChange.actor_id)
            .where(StageChange.lead_id == lead.id)
            .order_by(StageChange.at.desc(), StageChange.id.desc())
        ).all()
    ]
    uow.audit(actor.org_id, actor.member_id, "read", "lead", ref("L", lead.number))
    uow.commit()
    return LeadView(lead, customer, owner, history)


class LeadListing(NamedTuple):
    """A lead as a list shows it: its own fields with its customer's and owner's names."""

    number: int
    stage: str
    value: Decimal | None
    currency: str
    key_account: bool
    customer_name: str
    owner_name: str
    risk: str


def list_leads(uow: UnitOfWork, actor: Actor, scope: str = "mine", stage: str | None = None) -> list[LeadListing]:
    if scope == "all" and not actor.sees_department:
        raise Forbidden(N_("Only managers see the whole department's leads; try 'team'."))
    params: dict[str, object] = {"org_id": actor.org_id, "member_id": actor.member_id, "stage": stage,
                                 "since": uow.now - timedelta(days=30)}
    if scope == "team":
        params["team"] = sorted(_team(uow, actor))
    stmt = _lead_list_statement(scope, stage is not None)
    rows = [LeadListing(*row) for row in uow.connection().execute(stmt, params)]
    uow.audit(actor.org_id, actor.member_id, "read", "lead", None, f"list {scope} {stage or ''}".strip())
    uow.commit()
    return rows


@cache
def _lead_list_statement(scope: str, by_stage: bool) -> Select[*tuple[Any, ...]]:
    """The lead list's query for a scope, with or without a stage, built once each (it is asked often);
    a Core read of the columns a list shows, not three whole records per lead."""
    q = (
        select(Lead.number, Lead.stage, Lead.value, Lead.currency, Lead.key_account, Customer.name, Member.name,
               Lead.risk)
        .join(Customer, Customer.id == Lead.customer_id)
        .join(Member, Member.id == Lead.owner_id)
        .where(Lead.org_id == bindparam("org_id"))
        .order_by(Lead.updated_at.desc(), Lead.id.desc())
    )
    if scope == "mine":
        q = q.where(Lead.owner_id == bindparam("member_id"))
    elif scope == "team":
        q = q.where(Lead.owner_id.in_(bindparam("team", expanding=True)))
    if by_stage:
        q = q.where(Lead.stage == bindparam("stage"))
    else:
        # open leads, and closed ones for a month after they closed
        q = q.where(or_(and_(*(Lead.stage != s for s in CLOSED_STAGES)), Lead.updated_at >= bindparam("since")))
    return q.limit(200)


def _team(uow: UnitOfWork, actor: Actor) -> set[int]:

    return team_ids(uow, actor.org_id, actor.member_id)


# --- visits ----------------------------------------------------------------------------


def record_visit(
    uow: UnitOfWork,
    actor: Actor,
    customer_text: str,
    *,
    channel: str = "onsite",
    note: str | None = None,
    purpose: str | None = None,
    needs: str | None = None,
    next_date: date | None = None,
    lead_text: str | None = None,
    day: date | None = None,
) -> tuple[int, CustomerRef, Callback | None]:
    """Log a customer visit (客户拜访); a next date schedules a callback for the owner. A visit made on an
    earlier `day` is recorded afterwards (补录) on that day. Returns the visit's number (V5), its customer and
    the callback scheduled."""
    customer = find_customer_ref(uow, actor, customer_text, SERVE)
    today = local_today(uow.now, actor.timezone)
    if next_date is not None:
        not_past(next_date, today)
    at = uow.now
    if day is not None and not_future(day, today) < today:
        at = at_local(day, uow.now.astimezone(ZoneInfo(actor.timezone)).time(), actor.timezone)
    if not (note or purpose or needs):
        raise Invalid(N_("Say what happened: note=\"...\"."))
    lead = find_lead(uow, actor, lead_text) if lead_text else None
    number = next_number(uow, Visit, actor.org_id)
    row = {"org_id": actor.org_id, "number": number, "customer_id": customer.id, "member_id": actor.member_id,
           "channel": channel, "purpose": purpose, "needs": needs, "note": note, "next_date": next_date,
           "at": at}
    # written with one Core INSERT: a visit is only ever added, and this is the command people run most; what it
    # was recorded against is read back only when the lead is to change (a next date)
    stmt, params = ((_INSERT_VISIT, {**row, "lead_id": lead.id}) if lead is not None
                    else (_INSERT_VISIT_TO_ITS_LEAD, {**row, "lead_customer": customer.id}))
    callback = None
    if next_date is None:
        uow.connection().execute(stmt, params)
    else:
        lead_id = uow.connection().execute(_WITH_ITS_LEAD[stmt], params).scalar_one()
        record = uow.session.get(Customer, customer.id)
        assert record is not None
        callback = schedule_callback(uow, _org(uow, actor), record, next_date, "visit", ref("V", number))
        if lead is None and lead_id is not None:
            lead = uow.session.get(Lead, lead_id)
        if lead is not None:
            lead.next_date = next_date
            lead.updated_at = uow.now
            followup.covered(uow, lead)  # the callback reminds of that day
    indicators.customer_touched(uow, actor.org_id, customer.id, key_account=customer.level == "key")
    uow.audit(actor.org_id, actor.member_id, "create", "visit", ref("V", number), customer.name)
    uow.commit()
    return number, customer, callback


# --- export ------------------------------------------------------------------------------

LEADS_HEADER = (N_("Lead"), N_("Customer"), N_("Stage"), N_("Value"), N_("Currency"), N_("Source"), N_("Owner"),
                N_("Contact"), N_("Next step"), N_("Next date"), N_("Screening total"), N_("Key account"),
                N_("Risk"), N_("Created"), N_("Last change"), N_("Reason closed"))


def export_leads(uow: UnitOfWork, member_name: str, org_id: int | None, fmt: str) -> tuple[bytes, int, str]:
    """Every lead this member may see (open and closed), as xlsx or csv in their language; audited."""

    actor = exporter(uow, org_id, member_name, "leads", roles=None)  # they get the leads they may see
    return (*leads_table(uow, actor, fmt), actor.locale)


def leads_table(uow: UnitOfWork, actor: Actor, fmt: str) -> tuple[bytes, int]:
    """The leads the actor may see as a table file, and how many rows; audited."""

    q = (select(Lead, Customer.name, Member.name).join(Customer, Customer.id == Lead.customer_id)
         .join(Member, Member.id == Lead.owner_id).where(Lead.org_id == actor.org_id).order_by(Lead.id))
    owners = visible_owner_ids(uow, actor)
    if owners is not None:
        q = q.where(Lead.owner_id.in_(owners))
    found = uow.session.execute(q.limit(100_000)).all()
    tz = actor.timezone
    with use_locale(actor.locale):
        header = [translate(h) for h in LEADS_HEADER]
        yes, no = translate(N_("yes")), translate(N_("no"))
        rows = [[ref("L", lead.number), customer, STAGES.label(lead.stage), lead.value, lead.currency,
                 SOURCES.label(lead.source) if lead.source else None, owner, lead.contact, lead.next_step,
                 lead.next_date, lead.score_total, yes if lead.key_account else no, RISKS.label(lead.risk),
                 local_today(lead.created_at, tz), local_today(lead.updated_at, tz), note_text(lead.closed_reason)]
                for lead, customer, owner in found]
        title = translate(N_("Leads"))
    data = write_table(header, rows, fmt, title, money_columns=(3,))
    uow.audit(actor.org_id, actor.member_id, "export", "lead", None, f"{fmt} {len(rows)} rows")
    uow.commit()
    return data, len(rows)
