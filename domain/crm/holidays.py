"""The department's working calendar (工作日历): its own days off and make-up working days (调休上班)
over China's calendar, and a notice to admins and managers when a year's public holidays are not known.

China's State Council publishes each year's holiday schedule in the autumn before; the chinesecalendar
package carries it only from its next release. Until then bizbot would count the Spring Festival as
working days: complaint deadlines would run through it, reminders and the weekly meeting would land
in it. So a department can mark the days itself, and is told when it has to.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from domain.crm.care import next_morning
from domain.delivery.calendar import national_covers, national_days, setting, unknown_holidays
from domain.delivery.due import reschedule_org, schedule
from domain.delivery.outbox import enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.dates import check_span
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_
from domain.store.models import CalendarDay, DueItem, Member, Organisation
from domain.store.uow import UnitOfWork
from domain.team.access import TEAM_ADMIN_ROLES, require_role

MAX_SPAN_DAYS = 31
NAME_LIMIT = 60
NOTICE = "calendar"


@dataclass(frozen=True)
class Span:
    """Consecutive days alike: off or working, the holiday's name, whether the department set them, and
    whether they are days off the law fixes by date (known before the year's schedule is)."""

    first: date
    last: date
    working: bool
    name: str | None
    own: bool
    fixed: bool = False


@dataclass(frozen=True)
class YearView:
    year: int
    known: bool  # China's calendar has this year's holidays (or the department does not follow it)
    spans: list[Span]
    # of a year China's calendar does not have yet: the movable holidays (English names) the department has not
    # marked either; the fixed days off and the department's own marks are known
    unknown: list[str]


def _days(first: date, last: date | None) -> list[date]:
    last = last or first
    check_span(first, last)
    if (last - first).days >= MAX_SPAN_DAYS:
        raise Invalid(N_("Mark at most {limit} days at a time."), limit=MAX_SPAN_DAYS)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _org(uow: UnitOfWork, actor: Actor) -> Organisation:
    # locked on PostgreSQL, so two admins marking days at once take turns instead of colliding
    org = uow.session.get(Organisation, actor.org_id, with_for_update=True)
    assert org is not None
    return org


def mark(uow: UnitOfWork, actor: Actor, first: date, last: date | None, *, working: bool,
         name: str | None = None) -> list[date]:
    """Mark days as days off or as working days; what falls due moves off the new days off."""
    require_role(actor, TEAM_ADMIN_ROLES)
    days = _days(first, last)
    name = (name or "").strip() or None
    if name and len(name) > NAME_LIMIT:
        raise Invalid(N_("A holiday's name has at most {limit} characters."), limit=NAME_LIMIT)
    org = _org(uow, actor)
    for day in days:
        own = org.calendar_days.get(day)
        if own is None:
            org.calendar_days[day] = CalendarDay(org_id=org.id, day=day, working=working, name=name,
                                                 created_by=actor.member_id, created_at=uow.now)
        else:
            own.working, own.name = working, name
    _replan(uow, org)
    uow.audit(actor.org_id, actor.member_id, "update", "calendar", None,
              f"{'working' if working else 'off'} {days[0]}..{days[-1]} {name or ''}".strip())
    uow.commit()
    return days


def unmark(uow: UnitOfWork, actor: Actor, first: date, last: date | None) -> list[date]:
    """Forget the department's own marks on these days (China's calendar applies again); the days
    that had a mark."""
    require_role(actor, TEAM_ADMIN_ROLES)
    days = _days(first, last)
    org = _org(uow, actor)
    removed = [day for day in days if org.calendar_days.pop(day, None) is not None]
    if removed:
        _replan(uow, org)
        uow.audit(actor.org_id, actor.member_id, "delete", "calendar", None, f"{days[0]}..{days[-1]}")
        uow.commit()
    return removed


def _replan(uow: UnitOfWork, org: Organisation) -> None:
    uow.session.flush()
    reschedule_org(uow, org)


def year_view(uow: UnitOfWork, actor: Actor, year: int) -> YearView:
    """A year's days off and make-up working days, China's and the department's own, as spans."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    follows_china = setting(org, "calendar") == "CN"
    by_law = follows_china and not national_covers(year)
    days: dict[date, tuple[bool, str | None, bool, bool]] = {}
    if follows_china:
        days = {day: (working, name, False, by_law) for day, (working, name) in national_days(year).items()}
    for day, marked in org.calendar_days.items():
        if day.year == year:
            days[day] = (marked.working, marked.name, True, False)
    spans: list[Span] = []
    for day in sorted(days):
        working, name, own, fixed = days[day]
        last = spans[-1] if spans else None
        if last and last.last == day - timedelta(days=1) and (last.working, last.name, last.own,
                                                             last.fixed) == days[day]:
            spans[-1] = Span(last.first, day, working, name, own, fixed)
        else:
            spans.append(Span(day, day, working, name, own, fixed))
    return YearView(year, not follows_china or national_covers(year), spans, unknown_holidays(org, year))


def unknown_years(org: Organisation, today: date) -> list[int]:
    """Years whose public holidays neither China's calendar (as installed) nor the department has:
    this year, and from December the next one. The department has a year once it marked days off at
    the Spring Festival (20 January to the end of February, where it always falls): a company day off
    elsewhere in the year does not say the year's public holidays are in."""
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    return [year for year in years if "Spring Festival" in unknown_holidays(org, year)]


def notice(uow: UnitOfWork, item: DueItem) -> None:
    """Each morning: if a year's holidays are unknown, tell the admins and managers (once a year each)."""
    org = uow.session.get(Organisation, item.subject_id)
    if org is None:
        return
    for year in unknown_years(org, local_today(uow.now, org.timezone)):
        for member in uow.session.scalars(select(Member).where(Member.org_id == org.id, Member.active)):
            if member.role_set & TEAM_ADMIN_ROLES:
                enqueue(uow, org_id=org.id, key=f"calendar:unknown:{year}:{member.id}", recipient_id=member.id,
                        kind=NOTICE, params={"year": str(year)},
                        msgid=N_("bizbot does not know China's public holidays for {year} yet, so for now only "
                                 "weekends and the days off fixed by law (1 January, 1–2 May, 1–3 October) count "
                                 "as days off: complaint deadlines, reminders and the weekly "
                                 "meeting would run through the Spring Festival. Once the holiday schedule is "
                                 "published, add the days off with /holiday add and the make-up working days "
                                 "with /holiday workday; /holiday list {year} shows what bizbot knows."))
    schedule(uow, org.id, NOTICE, org.id, next_morning(org, uow.now + timedelta(minutes=1)))
