"""Working calendar and quiet hours: reminders wait for a working morning unless urgent."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.delivery.calendar import deliver_at, is_workday, next_working_morning
from domain.delivery.outbox import enqueue
from domain.store.models import Organisation


def _org(**settings: str) -> Organisation:
    return Organisation(timezone="Asia/Shanghai", settings=settings)


def _reminders(text: str) -> list[str]:
    return [line for line in text.splitlines() if "→ @" in line]


@pytest.mark.fast
def test_chinese_holidays_and_make_up_working_days() -> None:
    org = _org()
    assert not is_workday(org, date(2026, 10, 1))        # National Day
    assert is_workday(org, date(2026, 10, 10))           # a Saturday made a working day
    assert not is_workday(org, date(2026, 11, 28))       # an ordinary Saturday
    assert is_workday(_org(calendar="none"), date(2026, 10, 1))
    assert not is_workday(org, date(2027, 1, 2))         # beyond the library's data: weekends still count


@pytest.mark.fast
def test_quiet_hours_and_days_off_defer_to_the_next_working_morning() -> None:
    org = _org()
    friday_night = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)       # 21:00 Friday in Shanghai
    assert deliver_at(org, friday_night) == datetime(2026, 11, 30, 0, 30, tzinfo=UTC)   # Monday 08:30
    assert deliver_at(org, friday_night, urgent=True) == friday_night
    monday_noon = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    assert deliver_at(org, monday_noon) == monday_noon
    early = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)                # 08:00 Monday
    assert next_working_morning(org, early) == datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    holiday = datetime(2026, 10, 1, 4, 0, tzinfo=UTC)
    assert deliver_at(org, holiday).astimezone(UTC).date() == date(2026, 10, 8)


def test_reminder_due_on_saturday_arrives_monday_morning(bot) -> None:
    bot("/customer new Acme", '/visit Acme note="x" next=2026-11-28')
    assert _reminders(bot(":advance 6d")) == []                    # Sunday: held back
    # Monday is also when wang's own monthly self-review opens (09:00): only the callback is measured here
    (line,) = [x for x in _reminders(bot(":advance 1d")) if "Callback due" in x]
    assert line.startswith("[2026-11-30 08:30] → @wang: Callback due Nov 28, 2026")


def test_make_up_working_saturday_is_a_working_day(bot, clock) -> None:
    clock.set(datetime(2026, 10, 9, 2, 0, tzinfo=UTC))            # Friday 10:00
    bot("/customer new Acme", '/visit Acme note="x" next=2026-10-10')
    (line,) = _reminders(bot(":advance 1d"))
    assert line.startswith("[2026-10-10 09:00] → @wang:")


def test_a_late_reminder_hour_waits_for_the_morning(bot) -> None:
    bot("/settings reminderhour 21", "/customer new Acme", '/visit Acme note="x" next=2026-11-24')
    (line,) = _reminders(bot(":advance 2d"))
    assert line.startswith("[2026-11-25 08:30] → @wang:")


def test_urgent_messages_ignore_quiet_hours(app, clock) -> None:
    from domain.team.members import ensure_org

    clock.set(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))           # Saturday 23:00
    with app.uow() as uow:
        org = ensure_org(uow, "console", "x", "x", "Asia/Shanghai", "en")
        enqueue(uow, org_id=org.id, key="u", msgid="Escalation", channel="c", urgent=True)
        enqueue(uow, org_id=org.id, key="n", msgid="Digest", channel="c")
        uow.commit()
    from sqlalchemy import select

    from domain.store.models import OutboxMessage

    with app.uow() as uow:
        times = {m.key: m.available_at for m in uow.session.scalars(select(OutboxMessage))}
    assert times["u"] == clock.now()
    assert times["n"] == datetime(2026, 11, 30, 0, 30, tzinfo=UTC) and times["n"] - clock.now() > timedelta(days=1)
