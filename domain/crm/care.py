"""Customer care (客户关怀): on each working morning, owners are reminded of their customers'
birthdays, and of key accounts' public holidays, from today until the next working day — so a
Sunday birthday or a National Day greeting is prepared on the Friday before, not missed.

A daily job kept as data: one recurring due item per organisation, moved on to the next local
morning each time it fires, so a daylight-saving change neither skips nor doubles a day.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from domain.delivery.calendar import HOLIDAY_NAMES, holiday_name, is_workday
from domain.delivery.due import schedule
from domain.delivery.outbox import enqueue
from domain.kernel.clock import at_local, local_today
from domain.kernel.i18n import N_, Label
from domain.store.models import Customer, DueItem, Organisation
from domain.store.uow import UnitOfWork
from domain.team.members import org_setting

KIND = "care"


def next_morning(org: Organisation, now: datetime) -> datetime:
    """The next reminder hour, in the organisation's time zone, after `now`."""
    hour = time(org_setting(org, "reminder_hour"))
    today = local_today(now, org.timezone)
    candidate = at_local(today, hour, org.timezone)
    return candidate if candidate > now else at_local(today + timedelta(days=1), hour, org.timezone)


def _holiday(org: Organisation, day: date) -> str | None:
    """The name of the public holiday that starts on `day` (the department's calendar), if any."""
    name = holiday_name(org, day)
    return name if name and holiday_name(org, day - timedelta(days=1)) != name else None


def fire(uow: UnitOfWork, item: DueItem) -> None:
    org = uow.session.get(Organisation, item.subject_id)
    if org is None:
        return
    today = local_today(uow.now, org.timezone)
    if is_workday(org, today):
        day = today
        while True:  # today, and the days off that follow it
            _remind(uow, org, day)
            day += timedelta(days=1)
            if is_workday(org, day) or (day - today).days > 60:
                break
    schedule(uow, org.id, KIND, org.id, next_morning(org, uow.now + timedelta(minutes=1)))


def _remind(uow: UnitOfWork, org: Organisation, day: date) -> None:
    month, day_of_month = func.extract("month", Customer.birthday), func.extract("day", Customer.birthday)
    on_day = (month == day.month) & (day_of_month == day.day)
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        # a 29 February birthday is remembered on the 28th in the years without one
        on_day = on_day | ((month == 2) & (day_of_month == 29))
    birthdays = uow.session.scalars(select(Customer).where(Customer.org_id == org.id, on_day))
    for customer in birthdays:
        enqueue(uow, org_id=org.id, key=f"care:birthday:{customer.id}:{day.isoformat()}",
                recipient_id=customer.owner_id, kind=KIND,
                msgid=N_("{customer}'s birthday or anniversary is on {date}: a good day for a care message."),
                params={"customer": customer.name, "date": day})
    holiday = _holiday(org, day)
    if holiday:
        for customer in uow.session.scalars(
            select(Customer).where(Customer.org_id == org.id, Customer.level == "key")
        ):
            enqueue(uow, org_id=org.id, key=f"care:holiday:{customer.id}:{day.isoformat()}",
                    recipient_id=customer.owner_id, kind=KIND,
                    msgid=N_("{holiday} begins on {date}: send {customer} your greetings."),
                    params={"holiday": Label(HOLIDAY_NAMES.get(holiday, holiday)), "customer": customer.name,
                            "date": day})
