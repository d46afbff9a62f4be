"""Outbox claims carry their owner: a process whose heartbeat stopped has its claims released within the
heartbeat's TTL (not after five minutes), and a process sends its claims only while its heartbeat is live."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from bot.delivery import Dispatcher, Outgoing
from bot.leader import Replica
from domain.delivery.due import sweep
from domain.kernel.clock import FakeClock
from domain.store.models import OutboxMessage
from domain.store.uow import UnitOfWork

TTL = 30.0


class Crash(BaseException):
    """The process dies in the middle of its batch (nothing after this runs)."""


class Dying:
    def send(self, message: Outgoing) -> None:
        raise Crash


class Recorder:
    def __init__(self, during: Callable[[], None] | None = None) -> None:
        self.sent: list[str] = []
        self.during = during

    def send(self, message: Outgoing) -> None:
        self.sent.append(message.key)
        if self.during is not None:
            during, self.during = self.during, None
            during()


def _due(bot, app: App) -> list[str]:
    """Three callback reminders in the outbox, due now, to three people: each is a message of its own (notices
    to one person that fall due together would go as one)."""
    bot("/team add alice role=sales", "/team add bob role=sales")
    for i, who in enumerate(("wang", "alice", "bob")):
        bot(f":as {who}", f"/customer new C{who}", f'/visit C{who} note="v{i}" next=2026-11-24')
    app.clock.advance(timedelta(days=1))
    sweep(app.services.uow)
    with app.uow() as uow:
        keys = list(uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.status == "pending")))
    assert len(keys) == 3
    return keys


def _claims(app: App) -> list[tuple[str, str | None, int]]:
    with app.uow() as uow:
        return [tuple(row) for row in uow.session.execute(
            select(OutboxMessage.status, OutboxMessage.claimed_by, OutboxMessage.attempts).order_by(OutboxMessage.id))]


def test_the_claims_of_a_process_that_died_are_released_when_its_heartbeat_lapses(bot, app) -> None:
    keys = _due(bot, app)
    dead = Replica(app.engine, app.clock, ttl=TTL)
    dead.beat()
    with pytest.raises(Crash):
        Dispatcher(app.services.uow, {"console": Dying()}, replica=dead).run_once()
    assert _claims(app) == [("sending", dead.holder, 1)] * 3  # claimed, and the process is gone

    survivor, sender = Replica(app.engine, app.clock, ttl=TTL), Recorder()
    dispatcher = Dispatcher(app.services.uow, {"console": sender}, replica=survivor)
    survivor.beat()
    assert dispatcher.run_once() == 0  # its owner's heartbeat is still live
    app.clock.advance(timedelta(seconds=TTL + 1))  # a little past the heartbeat's TTL, far from five minutes
    survivor.beat()
    assert dispatcher.run_once() == 3
    assert dispatcher.run_once() == 0
    assert sorted(sender.sent) == sorted(keys)
    assert [status for status, _, _ in _claims(app)] == ["sent"] * 3


def test_a_process_whose_heartbeat_may_have_lapsed_puts_back_what_it_did_not_try(bot, app) -> None:
    keys = _due(bot, app)
    slow = Replica(app.engine, app.clock, ttl=TTL)
    # its first send takes 25 s: past the 20 s in which its heartbeat is surely live for the others
    first = Recorder(during=lambda: app.clock.advance(timedelta(seconds=25)))
    slow.beat()
    assert Dispatcher(app.services.uow, {"console": first}, replica=slow).run_once() == 1
    assert _claims(app)[1:] == [("pending", None, 0)] * 2  # put back, their attempt not counted

    other, second = Replica(app.engine, app.clock, ttl=TTL), Recorder()
    other.beat()
    assert Dispatcher(app.services.uow, {"console": second}, replica=other).run_once() == 2
    assert sorted(first.sent + second.sent) == sorted(keys)


def test_a_claim_released_under_a_process_is_not_sent_by_it(bot, app, db_url: str) -> None:
    """Another replica, whose clock runs ahead of this one's by more than the margin, sees this one's
    heartbeat expired after its first message, releases its other claims and sends them: this one, which by
    its own clock is alive, finds its claims gone and sends none of them."""
    if not db_url.startswith("postgresql"):
        pytest.skip("two replicas at once need PostgreSQL")
    keys = _due(bot, app)
    ahead = FakeClock(app.clock.now() + timedelta(seconds=TTL + 1))
    other, second = Replica(app.engine, ahead, ttl=TTL), Recorder()
    other_dispatcher = Dispatcher(lambda: UnitOfWork(app.sessions, ahead, app.wiring), {"console": second},
                                  replica=other)
    first_sent: list[bool] = []

    def units_of_work() -> UnitOfWork:
        """This replica's units of work; the first one after its first message went out lets the other run."""
        if first_sent and first_sent.pop():
            other.beat()
            assert other_dispatcher.run_once() == 2
        return app.services.uow()

    mine = Replica(app.engine, app.clock, ttl=TTL)
    first = Recorder(during=lambda: first_sent.append(True))
    mine.beat()
    assert Dispatcher(units_of_work, {"console": first}, replica=mine).run_once() == 1
    assert mine.alive() and len(first.sent) == 1 and sorted(first.sent + second.sent) == sorted(keys)
    assert [status for status, _, _ in _claims(app)] == ["sent"] * 3


@pytest.mark.parametrize("cut_at", [1, 2, 3, 4])
def test_a_process_cut_off_and_back_after_the_ttl_sends_nothing_another_sent(bot, app, cut_at: int) -> None:
    """This process loses the database as it opens its `cut_at`-th unit of work after its first message went out
    (before or after it checked its next claim, or as it reads the message) and comes back after the heartbeat's
    TTL; meanwhile another replica released its claims and sent them. Whatever the point, it sends none of them
    again: a message goes out only from the unit of work in which its sender still finds the claim its own."""
    keys = _due(bot, app)
    other, second = Replica(app.engine, app.clock, ttl=TTL), Recorder()
    other_dispatcher = Dispatcher(app.services.uow, {"console": second}, replica=other)
    opened: list[int] = []

    def units_of_work() -> UnitOfWork:
        """This replica's units of work; the `cut_at`-th after its first message went out is opened late."""
        if opened:
            opened[0] += 1
            if opened[0] == cut_at:
                app.clock.advance(timedelta(seconds=TTL + 1))  # gone for longer than its heartbeat lasts
                other.beat()
                other_dispatcher.run_once()
        return app.services.uow()

    mine = Replica(app.engine, app.clock, ttl=TTL)
    first = Recorder(during=lambda: opened.append(0))
    mine.beat()
    Dispatcher(units_of_work, {"console": first}, replica=mine).run_once()
    assert sorted(first.sent + second.sent) == sorted(keys)  # each message once, by one of them
    assert [status for status, _, _ in _claims(app)] == ["sent"] * 3


def test_notices_merged_for_one_person_are_claimed_released_and_sent_as_one_message(bot, app) -> None:
    """Three reminders to wang due together become one message before the claim: a process that dies holding it
    has it released when its heartbeat lapses, and the survivor sends it once; the reminders themselves are
    never claimed or sent on their own."""
    bot("/customer new Acme")
    for i in range(3):
        bot(f'/visit Acme note="v{i}" next=2026-11-24')
    app.clock.advance(timedelta(days=1))
    sweep(app.services.uow)
    dead = Replica(app.engine, app.clock, ttl=TTL)
    dead.beat()
    with pytest.raises(Crash):
        Dispatcher(app.services.uow, {"console": Dying()}, replica=dead).run_once()
    assert _claims(app) == [("merged", None, 0)] * 3 + [("sending", dead.holder, 1)]

    survivor, sender = Replica(app.engine, app.clock, ttl=TTL), Recorder()
    dispatcher = Dispatcher(app.services.uow, {"console": sender}, replica=survivor)
    survivor.beat()
    assert dispatcher.run_once() == 0                     # its owner's heartbeat is still live
    app.clock.advance(timedelta(seconds=TTL + 1))
    survivor.beat()
    assert dispatcher.run_once() == 1 and dispatcher.run_once() == 0
    with app.uow() as uow:
        merged = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.status == "sent"))
    assert sender.sent == [merged.key]
    # the attempt of the process that died counts too
    assert _claims(app) == [("merged", None, 0)] * 3 + [("sent", survivor.holder, 2)]
