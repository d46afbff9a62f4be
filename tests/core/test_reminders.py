"""Callback reminders: due items as rows, an outbox, an injected clock — once, on time, in the reader's language."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.delivery import DeliveryError, Dispatcher, Outgoing
from domain.delivery.due import sweep
from domain.delivery.outbox import enqueue
from domain.store.models import DueItem, OutboxMessage


def _reminders(text: str) -> list[str]:
    """Lines bizbot said on its own, apart from the monthly appraisal prompts (tests/appraisals/test_appraisals.py)."""
    return [line for line in text.splitlines() if "→ @" in line and "self-review" not in line and "自评" not in line]


def test_reminder_at_nine_local_exactly_once(bot, clock) -> None:
    # the admin hears of callbacks only here, not (in December) of next year's unknown holidays
    bot("/remind mute calendar", "/team add bob role=sales", ":as bob", "/customer new Acme")
    bot('/visit Acme note="pricing" next=2026-12-01')
    assert _reminders(bot(":advance 7d")) == []          # Nov 30 10:00: not yet
    out = bot(":advance 1d")                              # Dec 1 10:00: fired at 09:00 on the way
    assert _reminders(out) == [
        '[2026-12-01 09:00] → @bob: Callback due Dec 1, 2026: Acme (after visit). '
        'When done: /callback done CB2 result="..."'
    ]
    assert _reminders(bot(":advance 1d", ":advance 3d")) == []  # never twice


def test_reminder_reads_in_the_recipients_language(bot) -> None:
    bot("/remind mute calendar", "/team add 小李 role=sales lang=zh", ":as 小李", "/customer new 华为")
    bot(":as wang")   # the manager (English) logs a visit to 小李's customer
    bot('/visit 华为 note="介绍方案" next=下周三')
    out = bot(":advance 10d")
    (line,) = _reminders(out)
    assert line.startswith("[2026-12-02 09:00] → @小李: ")
    assert "华为" in line and "2026年12月2日" in line and "Callback due" not in line


def test_reminder_across_daylight_saving_change(bot, app, clock) -> None:
    clock.set(datetime(2026, 10, 29, 14, 0, tzinfo=UTC))      # Thu 10:00 EDT
    bot("/settings timezone America/New_York", "/customer new Acme")
    bot('/visit Acme note="x" next=2026-11-02')               # Monday after DST ends (Nov 1)
    with app.uow() as uow:
        item = uow.session.scalar(select(DueItem).where(DueItem.key == "callback:2"))
        assert item.due_at == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST, not 13:00 UTC
    out = bot(":advance 5d")
    assert _reminders(out)[0].startswith("[2026-11-02 09:00] → @wang:")


def test_changing_time_zone_keeps_the_local_hour(bot, app) -> None:
    bot("/customer new Acme", '/visit Acme note="x" next=2026-12-01')
    bot("/settings timezone Europe/Berlin")
    with app.uow() as uow:
        item = uow.session.scalar(select(DueItem).where(DueItem.key == "callback:2"))
        assert item.due_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert "Unknown time zone 'Mars/Base'" in bot("/settings timezone Mars/Base")


def test_overdue_reminder_is_sent_at_once(bot, clock) -> None:
    bot("/customer new Acme")
    out = bot('/visit Acme note="x" next=today')     # it is already 10:00, past the 09:00 reminder
    assert _reminders(out) == [
        '[2026-11-23 10:00] → @wang: Callback due Nov 23, 2026: Acme (after visit). '
        'When done: /callback done CB2 result="..."'
    ]


def test_done_callback_is_not_reminded_and_schedules_next(bot, app) -> None:
    bot("/customer new Acme cadence=14d", '/visit Acme note="x" next=2026-11-25')
    out = bot('/callback done CB2 result="happy"')
    assert "Callback CB2 with Acme recorded." in out
    assert "Next callback" not in out                  # the cadence callback CB1 is still open
    assert _reminders(bot(":advance 3d")) == []
    assert "Next callback CB3 due Dec 17, 2026." in bot(':advance 1w', '/callback done CB1 result="ok"')
    assert "Callback CB1 was already done by wang." in bot('/callback done CB1 result="again"')


def test_callback_list_due_first(bot) -> None:
    bot("/customer new Acme", "/customer new Beta")
    bot('/visit Beta note="x" next=2026-11-30', '/visit Acme note="x" next=2026-11-24')
    out = bot("/callback list")
    assert out.index("CB4 · Nov 24") < out.index("CB3 · Nov 30") < out.index("CB1 · Jan 22, 2027")


def test_outbox_key_makes_a_second_insert_a_no_op(app) -> None:
    from domain.team.members import ensure_org

    with app.uow() as uow:
        org = ensure_org(uow, "console", "x", "x", "Asia/Shanghai", "en")
        for _ in range(3):
            enqueue(uow, org_id=org.id, key="callback:1:2026-12-01", msgid="Hello", channel="general")
        uow.commit()
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_sweep_twice_fires_once(bot, app) -> None:
    bot("/customer new Acme", '/visit Acme note="x" next=2026-11-24')
    app.clock.advance(timedelta(days=2))
    assert sweep(app.services.uow) == 4          # the callback, and the department's daily care, calendar and
    #                                              stale-lead jobs
    assert sweep(app.services.uow) == 0
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


class FlakySender:
    def __init__(self, failures: int, retry_after: float | None = None) -> None:
        self.failures = failures
        self.retry_after = retry_after
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError("rate limited", self.retry_after)
        self.sent.append(message)


def _one_message(app):
    from domain.team.members import ensure_org

    with app.uow() as uow:
        org = ensure_org(uow, "console", "x", "x", "Asia/Shanghai", "en")
        enqueue(uow, org_id=org.id, key="k1", msgid="Hello {name}", params={"name": "Ann"}, channel="general")
        uow.commit()


def test_dispatcher_honours_retry_after_then_sends_once(app) -> None:
    _one_message(app)
    sender = FlakySender(failures=1, retry_after=120)
    dispatcher = Dispatcher(app.services.uow, {"console": sender})
    assert dispatcher.run_once() == 0
    app.clock.advance(timedelta(seconds=60))
    assert dispatcher.run_once() == 0                 # still inside Retry-After
    app.clock.advance(timedelta(seconds=61))
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0
    assert [m.text for m in sender.sent] == ["Hello Ann"]


def test_dispatcher_parks_after_bounded_failures(app) -> None:
    _one_message(app)
    dispatcher = Dispatcher(app.services.uow, {"console": FlakySender(failures=99)})
    for _ in range(10):
        dispatcher.run_once()
        app.clock.advance(timedelta(hours=1))
    with app.uow() as uow:
        msg = uow.session.scalar(select(OutboxMessage))
        assert (msg.status, msg.attempts, msg.last_error) == ("parked", 5, "rate limited")


class FailingFor:
    """Fails every message to one recipient (a blocked bot, a deleted account)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        if message.recipient and message.recipient.name == self.name:
            raise DeliveryError("bot was blocked by the user")
        self.sent.append(message)


def test_parked_message_is_reported_to_admins_once_and_can_be_retried(bot, app) -> None:
    from domain.delivery.outbox import retry_parked

    bot("/team add alice role=sales", ":as alice", "/customer new Acme", '/visit Acme note="x" next=tomorrow')
    sender = FailingFor("alice")
    dispatcher = Dispatcher(app.services.uow, {"console": sender})
    app.clock.advance(timedelta(days=1))
    sweep(app.services.uow)
    for _ in range(8):
        dispatcher.run_once()
        app.clock.advance(timedelta(hours=1))
    notices = [m for m in sender.sent if "could not be delivered" in m.text]
    assert [m.recipient.name for m in notices] == ["wang"]
    assert "@alice" in notices[0].text and "bot was blocked by the user" in notices[0].text
    with app.uow() as uow:
        parked = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.status == "parked"))
        assert parked.key.startswith("callback:")
        assert retry_parked(uow, [parked.id]) == 1
    with app.uow() as uow:
        assert uow.session.get(OutboxMessage, parked.id).status == "pending"


def test_snooze_sends_again_later_and_tomorrow_means_the_next_working_morning(bot) -> None:
    bot("/customer new Acme")
    first = bot('/visit Acme note="x" next=today')
    assert "[In 1 hour: /remind snooze CB2 1h]" in first
    assert "Snoozed CB2 until" in bot("/remind snooze CB2 1h")
    assert _reminders(bot(":advance 59m")) == []
    (again,) = _reminders(bot(":advance 2m"))
    assert again.startswith("[2026-11-23 11:00] → @wang: Callback due")
    bot("/remind snooze CB2 tomorrow")
    (morning,) = _reminders(bot(":advance 1d"))
    assert morning.startswith("[2026-11-24 08:30] → @wang:")
    assert "Nothing to snooze is called CB99" in bot("/remind snooze CB99")


def test_muted_kind_is_not_sent_but_stays_on_the_agenda(bot) -> None:
    assert "You will get no more reminders of customer callbacks" in bot("/remind mute callback")
    assert "Unknown reminder kind 'cake'" in bot("/remind mute cake")
    bot("/customer new Acme", '/visit Acme note="x" next=2026-11-24')
    assert _reminders(bot(":advance 2d")) == []
    listing = bot("/remind list")
    assert "customer callbacks · muted" in listing and "CB2" in listing and "callback —" not in listing
    bot("/remind unmute callback")
    assert "customer callbacks · on" in bot("/remind list")


def test_snooze_and_mute_in_the_words_people_use(bot) -> None:
    bot("/settings lang zh", "/customer new 华为", '/visit 华为 note="x" next=today')
    assert "已将 CB2 推迟到 2026年11月23日 11:00" in bot("/remind snooze CB2 1小时")
    assert "已将 CB2 推迟到 2026年11月24日 08:30" in bot("/remind snooze CB2 明天")
    assert "推迟到 的值「下周」无法识别。可选：1 小时后或明天早上。" in bot("/remind snooze CB2 下周")  # no English key
    assert "已将 CB2 推迟到 2026年11月24日 08:30" in bot("/remind snooze CB2 明天早上")       # a choice, typed as shown
    assert "你将不再收到 客户回访 提醒" in bot("/remind mute 回访")               # part of 客户回访
    out = bot("/remind mute 考核提醒", "/remind list")                            # all four appraisal reminders
    assert out.count("考核提醒 · 已静音") == 1                                     # one line for the four
    assert "未知的提醒类型「提醒」" in bot("/remind mute 提醒")                   # names many different kinds
    assert "Reminders of customer callbacks are on again" in bot("/settings lang en",
                                                                 "/remind unmute customer callbacks")
    assert "Unknown scope 'everyone'. Choose one of: mine, team (my team), or all." in bot("/lead list everyone")


class Crash(BaseException):
    """The process dies (killed, out of memory): not a failure the dispatcher records, it just stops."""


class Recording:
    def __init__(self, crash_before_send: bool = False, crash_after_send: bool = False) -> None:
        self.sent: list[str] = []
        self.crash_before_send, self.crash_after_send = crash_before_send, crash_after_send

    def send(self, message: Outgoing) -> None:
        if self.crash_before_send:
            raise Crash
        self.sent.append(message.key)
        if self.crash_after_send:
            raise Crash


def test_crash_between_claim_and_send_loses_nothing(bot, app) -> None:
    bot("/customer new Acme", '/visit Acme note="x" next=tomorrow')
    app.clock.advance(timedelta(days=1))
    sweep(app.services.uow)
    crashed = Dispatcher(app.services.uow, {"console": Recording(crash_before_send=True)})
    with pytest.raises(Crash):                   # claimed, then the process dies before sending
        crashed.run_once()
    survivor = Recording()
    restarted = Dispatcher(app.services.uow, {"console": survivor})
    assert restarted.run_once() == 0             # still claimed by the dead process
    app.clock.advance(timedelta(minutes=6))      # the claim goes stale
    assert restarted.run_once() == 1
    assert restarted.run_once() == 0
    assert len(survivor.sent) == 1


def test_crash_after_send_resends_once_inside_the_documented_window(bot, app) -> None:
    bot("/customer new Acme", '/visit Acme note="x" next=tomorrow')
    app.clock.advance(timedelta(days=1))
    sweep(app.services.uow)
    first = Recording(crash_after_send=True)
    with pytest.raises(Crash):
        Dispatcher(app.services.uow, {"console": first}).run_once()
    second = Recording()
    restarted = Dispatcher(app.services.uow, {"console": second})
    app.clock.advance(timedelta(minutes=6))
    assert restarted.run_once() == 1 and restarted.run_once() == 0
    assert len(first.sent) + len(second.sent) == 2   # the one duplicate docs/operations.md documents
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
