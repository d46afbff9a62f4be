"""Keeping leads moving: a lead's next step (`next=`) is reminded to its owner on its day, like a callback; a
lead with no activity for the department's number of days (`/settings staledays`, default 30) is flagged to
its owner, and each Monday the supervisors get the list of their team's stale leads.

Activity on a lead: a change of the lead itself (its stage, screening, next step) or a visit recorded for it
— or for its customer without naming a lead. A change of owner is no activity.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from domain.crm.callbacks import reminder_at
from domain.delivery.calendar import is_workday
from domain.delivery.due import cancel, schedule
from domain.delivery.outbox import OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import as_utc, at_local, local_today
from domain.kernel.i18n import N_, Label, _, fmt_date, use_locale
from domain.kernel.vocab import CLOSED_STAGES, STAGES
from domain.store.models import Customer, DueItem, Lead, Member, Organisation, Visit
from domain.store.uow import UnitOfWork
from domain.team.access import ref
from domain.team.agenda import AgendaEntry
from domain.team.members import org_setting

STEP = "lead_step"
STALE = "lead_stale"
STALE_WEEK = "lead_stale_week"
SUPERVISING = ("manager", "deputy", "head")  # who gets the stale leads of members without a supervisor


# --- the next step's day ---------------------------------------------------------------------


def schedule_step(uow: UnitOfWork, org: Organisation, lead: Lead) -> None:
    """Remind the lead's owner of its next step at the reminder hour of its day (or stop, without one)."""
    if lead.next_date is None or lead.stage in CLOSED_STAGES:
        cancel(uow, STEP, lead.id)
    else:
        schedule(uow, org.id, STEP, lead.id, reminder_at(org, lead.next_date))


def covered(uow: UnitOfWork, lead: Lead) -> None:
    """The lead's next step is reminded otherwise (a visit's callback on that day): no second reminder."""
    cancel(uow, STEP, lead.id)


def step_recompute(uow: UnitOfWork, org: Organisation, item: DueItem) -> datetime | None:
    lead = uow.session.get(Lead, item.subject_id)
    return reminder_at(org, lead.next_date) if lead is not None and lead.next_date is not None else None


def lead_owner(uow: UnitOfWork, lead_id: int) -> int | None:
    lead = uow.session.get(Lead, lead_id)
    return lead.owner_id if lead is not None else None


def message_prefixes(lead: Lead) -> tuple[str, ...]:
    """How the reminders about a lead are keyed, so that they follow it to a new owner."""
    return f"{STEP}:{lead.id}:", f"{STALE}:{lead.id}:"


def fire_step(uow: UnitOfWork, item: DueItem) -> None:
    lead = uow.session.get(Lead, item.subject_id)
    if lead is None or lead.stage in CLOSED_STAGES or lead.next_date is None:
        return
    customer = uow.session.get(Customer, lead.customer_id)
    assert customer is not None
    lref = ref("L", lead.number)
    params = {"ref": lref, "customer": customer.name, "due": lead.next_date, "step": lead.next_step or ""}
    enqueue(uow, org_id=lead.org_id, key=f"{STEP}:{lead.id}:{item.due_at.isoformat()}", recipient_id=lead.owner_id,
            kind=STEP, params=params,
            msgid=N_("Next step of lead {ref} ({customer}) is due {due}: {step}") if lead.next_step
            else N_("Next step of lead {ref} ({customer}) is due {due}."),
            buttons=[OutButton(N_("Show"), f"/lead show {lref}"),
                     OutButton(N_("In 1 hour"), f"/remind snooze {lref} 1h", decision=True),
                     OutButton(N_("Tomorrow morning"), f"/remind snooze {lref} tomorrow", decision=True)])


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    today = local_today(uow.now, actor.timezone)
    rows = uow.session.execute(
        select(Lead, Customer.name).join(Customer, Customer.id == Lead.customer_id)
        .where(Lead.owner_id == actor.member_id, Lead.next_date.is_not(None),
               *(Lead.stage != s for s in CLOSED_STAGES))
        .order_by(Lead.next_date, Lead.number).limit(50)).all()
    return [AgendaEntry(ref("L", lead.number), f"{name} · {lead.next_step}" if lead.next_step else name,
                        lead.next_date, lead.next_date < today, f"/lead show {ref('L', lead.number)}")
            for lead, name in rows if lead.next_date is not None]


# --- stale leads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stale:
    """An open lead with no activity since `last` (UTC)."""

    lead: Lead
    customer: str
    customer_number: int
    owner: Member
    last: datetime


def stale_leads(uow: UnitOfWork, org: Organisation) -> list[Stale]:
    """The department's open leads of active owners with no activity for its number of days, the longest idle
    first."""
    days = org_setting(org, "stale_lead_days")
    visit = (select(func.max(Visit.at))
             .where(or_(Visit.lead_id == Lead.id,
                        and_(Visit.lead_id.is_(None), Visit.customer_id == Lead.customer_id)))
             .correlate(Lead).scalar_subquery())
    rows = uow.session.execute(
        select(Lead, Customer.name, Customer.number, Member, visit)
        .join(Customer, Customer.id == Lead.customer_id).join(Member, Member.id == Lead.owner_id)
        .where(Lead.org_id == org.id, Member.active.is_(True), *(Lead.stage != s for s in CLOSED_STAGES),
               Lead.updated_at <= uow.now - timedelta(days=days))
        .order_by(Lead.updated_at, Lead.number)).all()
    found = []
    for lead, customer, number, owner, visited in rows:
        last = max(as_utc(lead.updated_at), as_utc(visited)) if visited is not None else as_utc(lead.updated_at)
        if last <= uow.now - timedelta(days=days):
            found.append(Stale(lead, customer, number, owner, last))
    return sorted(found, key=lambda s: (s.last, s.lead.number))


def next_morning(org: Organisation, now: datetime) -> datetime:
    """The next reminder hour after `now`, in the department's time zone."""
    hour = time(org_setting(org, "reminder_hour"))
    today = local_today(now, org.timezone)
    candidate = at_local(today, hour, org.timezone)
    return candidate if candidate > now else at_local(today + timedelta(days=1), hour, org.timezone)


def next_monday(org: Organisation, now: datetime) -> datetime:
    """The next Monday's reminder hour after `now`."""
    morning = next_morning(org, now)
    day = morning.astimezone(ZoneInfo(org.timezone)).date()
    return at_local(day + timedelta(days=(7 - day.weekday()) % 7), time(org_setting(org, "reminder_hour")),
                    org.timezone)


def fire_stale(uow: UnitOfWork, item: DueItem) -> None:
    """Each working morning: each lead that has just gone without activity for the set days is flagged to its
    owner, once for each spell of idleness."""
    org = uow.session.get(Organisation, item.subject_id)
    if org is None:
        return
    today = local_today(uow.now, org.timezone)
    if is_workday(org, today):
        for s in stale_leads(uow, org):
            lref = ref("L", s.lead.number)
            since = local_today(s.last, org.timezone)
            enqueue(uow, org_id=org.id, key=f"{STALE}:{s.lead.id}:{s.last.isoformat()}", recipient_id=s.owner.id,
                    kind=STALE,
                    msgid=N_("Lead {ref} ({customer}, {stage}) has had no activity for {days} days, since {date}. "
                             "Log a visit, move it on, or close it."),
                    params={"ref": lref, "customer": s.customer,
                            "stage": Label(STAGES.labels.get(s.lead.stage, s.lead.stage)),
                            "days": (today - since).days, "date": since},
                    buttons=[OutButton(N_("Show"), f"/lead show {lref}"),
                             OutButton(N_("Log visit"), f"/visit {ref('C', s.customer_number)} lead={lref}")])
    schedule(uow, org.id, STALE, org.id, next_morning(org, uow.now + timedelta(minutes=1)))


def fire_stale_week(uow: UnitOfWork, item: DueItem) -> None:
    """Each Monday: every supervisor gets the list of the stale leads of those who report to them; the leads
    of someone without a supervisor go to the department's managers."""
    org = uow.session.get(Organisation, item.subject_id)
    if org is None:
        return
    by_recipient: dict[int, list[Stale]] = {}
    managers = [m for m in uow.session.scalars(select(Member).where(Member.org_id == org.id,
                                                                    Member.active.is_(True)).order_by(Member.id))
                if m.role_set & set(SUPERVISING)]
    for s in stale_leads(uow, org):
        supervisor = uow.session.get(Member, s.owner.supervisor_id) if s.owner.supervisor_id else None
        recipients = [supervisor] if supervisor is not None and supervisor.active else \
            [m for m in managers if m.id != s.owner.id]
        for recipient in recipients:
            by_recipient.setdefault(recipient.id, []).append(s)
    week = local_today(uow.now, org.timezone)
    days = org_setting(org, "stale_lead_days")
    for recipient_id, leads in by_recipient.items():
        reader = uow.session.get_one(Member, recipient_id)
        with use_locale(reader.locale or org.locale):
            lines = "\n".join(_("{ref} · {customer} · {owner} · {stage} · no activity since {date}").format(
                ref=ref("L", s.lead.number), customer=s.customer, owner=s.owner.name, stage=STAGES.label(s.lead.stage),
                date=fmt_date(local_today(s.last, org.timezone))) for s in leads)
        enqueue(uow, org_id=org.id, key=f"{STALE_WEEK}:{org.id}:{week.isoformat()}:{recipient_id}",
                recipient_id=recipient_id, kind=STALE_WEEK,
                msgid=N_("Leads in your team with no activity for {days} days or more ({count}):\n{lines}"),
                params={"days": days, "count": len(leads), "lines": lines})
    schedule(uow, org.id, STALE_WEEK, org.id, next_monday(org, uow.now + timedelta(minutes=1)))

