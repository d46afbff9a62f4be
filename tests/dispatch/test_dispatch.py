"""The background machinery on the injected clock: dispatch paced at a platform's limits (its budget used in
full), two dispatchers sharing one overall limit, a failing due item isolated and parked, shutdown during a
sweep and a send, and the weekly digest fired as a job of its own with its chart drawn in a worker process."""
from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.charts import ChartRenderer
from bot.delivery import Dispatcher, Outgoing
from bot.leader import Replica
from bot.pump import Pump, Sweeper
from bot.ratelimit import IN_FLIGHT, Limit, Pacer, SharedLimits
from domain.delivery.due import DUE_KINDS, MAX_FIRE_ATTEMPTS, DueKind, schedule, sweep, sweep_batch
from domain.delivery.outbox import enqueue
from domain.store.models import DueItem, Member, OutboxAttachment, OutboxMessage

OVERALL = Limit("fake:bot", 30, 1.0, shared=True)


class Paced:
    """A platform at the HTTP edge's stand-in: 30 messages a second overall (shared), one a second a chat;
    it records when (on the injected clock) each message went."""

    def __init__(self, app: App) -> None:
        self.clock = app.clock
        self.sent: list[tuple[float, str]] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def overall_limits(self) -> list[Limit]:
        return [OVERALL]

    def limits(self, message: Outgoing) -> list[Limit]:
        return [OVERALL, Limit(f"fake:chat:{message.channel}", 1, 1.0)]

    def send(self, message: Outgoing) -> None:
        with self._lock:
            self.sent.append((self.clock.now().timestamp(), message.key))
            self.threads.add(threading.current_thread().name)


def _queue(bot, app: App, n: int) -> None:
    bot("/customer new Acme")  # the department, with wang as its admin
    with app.uow() as uow:
        for i in range(n):
            enqueue(uow, org_id=1, key=f"burst:{i}", msgid="{reply}", params={"reply": f"r{i}"},
                    channel=f"chat{i}", urgent=True)
        uow.commit()


def _most_in_a_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)), default=0)


def _pacer(app: App) -> Pacer:
    return Pacer(SharedLimits(app.engine) if app.engine.dialect.name == "postgresql" else None)


def test_the_pump_uses_a_platforms_budget_in_full_and_never_more(bot, app: App) -> None:
    _queue(bot, app, 95)
    sender = Paced(app)
    dispatcher = Dispatcher(app.services.uow, {"console": sender}, pacer=_pacer(app))
    start = app.clock.now().timestamp()
    db = ThreadPoolExecutor(1)
    pump = Pump(dispatcher, app.services.uow, db, threads=8, batch=64, idle=5.0)

    async def drive() -> None:
        for _ in range(400):
            if len(sender.sent) == 95:
                return
            wait = await pump.step()
            app.clock.advance(timedelta(seconds=wait or 0.001))

    asyncio.run(drive())
    pump.close()
    db.shutdown()
    times = [t - start for t, _ in sender.sent]
    assert len(sender.sent) == len({key for _, key in sender.sent}) == 95  # none lost, none doubled
    assert sum(1 for t in times if t < 1.0) == 30  # the first second's budget, in full
    assert _most_in_a_second(times) == 30  # and never more in any second
    # 95 messages in four windows of a second and the time in flight: sleeping until the slot, not a tick
    assert max(times) < 3 * (1.0 + IN_FLIGHT) + 0.05
    assert len(sender.threads) > 1 and not any(name.startswith("bizbot-db") for name in sender.threads)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(OutboxMessage.status == "sent")) == 95


def test_messages_waiting_for_their_slot_are_held_read_not_put_back(bot, app: App) -> None:
    """Three messages to one chat (one a second): the first goes, the others wait in the pump, claimed and
    read, and go as their slots come."""
    bot("/customer new Acme")
    with app.uow() as uow:
        for i in range(3):
            enqueue(uow, org_id=1, key=f"one-chat:{i}", msgid="{reply}", params={"reply": f"r{i}"},
                    channel="chat", urgent=True)
        uow.commit()
    sender = Paced(app)
    dispatcher = Dispatcher(app.services.uow, {"console": sender}, pacer=_pacer(app))
    start = app.clock.now().timestamp()
    db = ThreadPoolExecutor(1)
    pump = Pump(dispatcher, app.services.uow, db, threads=4, batch=10, idle=5.0)

    async def drive() -> list[float]:
        waits = [await pump.step()]
        with app.uow() as uow:
            states = sorted(uow.session.scalars(select(OutboxMessage.status).where(
                OutboxMessage.key.like("one-chat:%"))))
        assert states == ["sending", "sending", "sent"]  # the two held, still this process's claims
        for _ in range(10):
            if len(sender.sent) == 3:
                break
            app.clock.advance(timedelta(seconds=waits[-1]))
            waits.append(await pump.step())
        return waits

    waits = asyncio.run(drive())
    pump.close()
    db.shutdown()
    window = 1 + IN_FLIGHT
    assert [round(t - start, 2) for t, _ in sender.sent] == [0.0, round(window, 2), round(2 * window, 2)]
    assert len(waits) == 3  # a step a slot: no polling meanwhile
    with app.uow() as uow:
        assert set(uow.session.scalars(select(OutboxMessage.attempts).where(
            OutboxMessage.key.like("one-chat:%")))) == {1}  # claimed once each


def test_two_dispatchers_share_one_overall_limit(bot, app: App) -> None:
    """Two replicas sending with one bot token: together they keep its 30 a second (held in PostgreSQL; on
    SQLite, one process, in one pacer)."""
    _queue(bot, app, 120)
    sender = Paced(app)
    shared = _pacer(app)
    replicas = [Replica(app.engine, app.clock, ttl=30.0) for _ in range(2)]
    dispatchers = [Dispatcher(app.services.uow, {"console": sender}, replica=replica,
                              pacer=_pacer(app) if app.engine.dialect.name == "postgresql" else shared)
                   for replica in replicas]
    start = app.clock.now().timestamp()
    for _ in range(100):
        for replica, dispatcher in zip(replicas, dispatchers, strict=True):
            replica.beat()
            dispatcher.run_once(limit=40)
        if len(sender.sent) == 120:
            break
        app.clock.advance(timedelta(seconds=0.05))
    times = [t - start for t, _ in sender.sent]
    assert len({key for _, key in sender.sent}) == len(sender.sent) == 120
    assert _most_in_a_second(times) == 30
    assert max(times) < 3 * (1.0 + IN_FLIGHT) + 0.15  # 120 at 30 a window between them: shared, used in full


POISON = "test_poison"


@pytest.fixture
def poison(app: App):
    """A due kind whose firing fails for the item with subject 666, and enqueues a notice for any other."""

    def fire(uow, item: DueItem) -> None:
        enqueue(uow, org_id=item.org_id, key=f"fired:{item.subject_id}", msgid="{reply}",
                params={"reply": "ok"}, channel=f"c{item.subject_id}", urgent=True)
        if item.subject_id == 666:
            raise RuntimeError("the subject's record is broken")

    app.wiring[DUE_KINDS].add(DueKind(POISON, fire))
    return POISON


def test_a_poison_due_item_is_isolated_retried_and_parked(bot, app: App, poison: str) -> None:
    bot("/customer new Acme")
    with app.uow() as uow:
        for subject in (666, 1, 2):  # the broken one first in order
            schedule(uow, 1, poison, subject, uow.now - timedelta(minutes=5 - subject % 5))
        uow.commit()
    assert sweep(app.services.uow) == 3
    with app.uow() as uow:
        rows = {i.subject_id: i for i in uow.session.scalars(select(DueItem).where(DueItem.kind == poison))}
        keys = set(uow.session.scalars(select(OutboxMessage.key)))
    assert rows[1].state == rows[2].state == "fired" and {"fired:1", "fired:2"} <= keys
    assert rows[666].state == "pending" and rows[666].attempts == 1 and "broken" in rows[666].last_error
    assert "fired:666" not in keys  # its savepoint rolled back what it did
    for _ in range(MAX_FIRE_ATTEMPTS):  # retried with a growing delay, then parked
        app.clock.advance(timedelta(hours=1))
        sweep(app.services.uow)
    with app.uow() as uow:
        item = uow.session.scalar(select(DueItem).where(DueItem.subject_id == 666))
        notices = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("due-parked:"))))
        admin = uow.session.scalar(select(Member).where(Member.name == "wang"))
    assert item.state == "parked" and item.attempts == MAX_FIRE_ATTEMPTS
    assert [n.recipient_id for n in notices] == [admin.id]  # the admins told, once
    assert sweep(app.services.uow) == 0


def test_shutdown_during_a_sweep_and_a_send_loses_no_claim(bot, app: App, poison: str) -> None:
    bot("/customer new Acme")
    with app.uow() as uow:
        for subject in range(1, 61):
            schedule(uow, 1, poison, subject, uow.now)
        uow.commit()
    db = ThreadPoolExecutor(1)
    sweeper = Sweeper(app.services.uow, db, batch=20, batches=100)
    kinds = app.wiring[DUE_KINDS]
    original = kinds[poison].fire

    def stop_midway(uow, item: DueItem) -> None:  # shutdown arrives as the first batch fires
        sweeper.stop()
        original(uow, item)

    kinds._entries[poison] = DueKind(poison, stop_midway)  # the registry's own dict: a test's stand-in kind
    started = time.monotonic()
    fired, more = asyncio.run(sweeper.tick())
    assert fired == 20 and not more  # the batch in hand finished, no other begun
    with app.uow() as uow:
        states = dict(uow.session.execute(select(DueItem.state, func.count()).where(DueItem.kind == poison)
                                          .group_by(DueItem.state)).all())
    assert states == {"fired": 20, "pending": 40}  # nothing half-done: the rest is still due

    sender = Paced(app)
    dispatcher = Dispatcher(app.services.uow, {"console": sender}, pacer=_pacer(app))
    pump = Pump(dispatcher, app.services.uow, db, threads=4, batch=20, chunk=5)
    original_prepare = pump._prepare

    def prepare_then_stop(ids):  # shutdown arrives once the first chunk is read
        ready = original_prepare(ids)
        pump.stop()
        return ready

    pump._prepare = prepare_then_stop  # type: ignore[method-assign]
    asyncio.run(pump.step())
    pump.close()
    db.shutdown()
    assert time.monotonic() - started < 3.0
    with app.uow() as uow:
        states = dict(uow.session.execute(select(OutboxMessage.status, func.count())
                                          .group_by(OutboxMessage.status)).all())
    assert states == {"sent": 5, "pending": 15} and len(sender.sent) == 5  # the claims not sent put back
    with app.uow() as uow:
        assert set(uow.session.scalars(select(OutboxMessage.attempts).where(OutboxMessage.status == "pending"))) == {0}


def test_the_weekly_digest_is_a_job_of_its_own_with_its_chart_drawn_in_a_worker_process(bot, app: App,
                                                                                      poison: str) -> None:
    bot("/customer new Acme", "/lead new Acme", "/visit Acme note=x")
    bot("/meeting set day=monday time=09:30 channel=sales")
    with app.uow() as uow:
        meeting = uow.session.scalar(select(DueItem).where(DueItem.kind == "meeting"))
        for subject in range(1, 4):
            schedule(uow, 1, poison, subject, meeting.due_at)
        uow.commit()
        due = meeting.due_at
    app.clock.set(due + timedelta(minutes=1))
    batches = []
    while True:
        done, more = sweep_batch(app.services.uow)
        if not more:
            break
        batches.append(done)
    with app.uow() as uow:
        kinds = list(uow.session.scalars(select(DueItem.kind).where(DueItem.fired_at.is_not(None))
                                         .order_by(DueItem.fired_at)))
        stored = uow.session.scalar(select(OutboxAttachment))
    assert 1 in batches and sum(batches) >= 4  # the digest fired in a transaction of its own
    assert stored.mime == "application/vnd.bizbot.chart+json" and len(stored.data) < 2_000

    drawn: list[bytes] = []

    class Charts(ChartRenderer):
        def draw(self, attachment):
            result = super().draw(attachment)
            drawn.append(result.data)
            return result

    class Files(Paced):
        def send(self, message: Outgoing) -> None:
            super().send(message)
            if message.attachment is not None:
                assert message.attachment.mime == "image/png"

    charts = Charts()
    dispatcher = Dispatcher(app.services.uow, {"console": Files(app)}, charts=charts)
    while dispatcher.run_once():
        app.clock.advance(timedelta(seconds=2))
    pool = charts.pool()
    worker_pid = pool.submit(os.getpid).result(60)
    charts.close()
    assert drawn and drawn[0][:8] == b"\x89PNG\r\n\x1a\n" and worker_pid != os.getpid()
    assert kinds  # fired


def test_the_pump_reports_each_step_that_sent(bot, app: App) -> None:
    _queue(bot, app, 5)
    sender = Paced(app)
    dispatcher = Dispatcher(app.services.uow, {"console": sender}, pacer=_pacer(app))
    db = ThreadPoolExecutor(1)
    pump = Pump(dispatcher, app.services.uow, db, threads=4, batch=10, idle=5.0)
    steps: list[float] = []
    pump.on_step = steps.append
    pump.on_sent = lambda _n: pump.stop()  # the first step sends all five, then the pump stops
    asyncio.run(pump.run())
    pump.close()
    db.shutdown()
    assert len(sender.sent) == 5 and len(steps) == 1 and steps[0] >= 0
