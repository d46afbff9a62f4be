"""One scheduler among replicas: the holder of a lease that expires on PostgreSQL, one process on SQLite."""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fakes.tcp_proxy import proxy_to
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.delivery import Dispatcher, Outgoing
from bot.leader import Leadership, Replica, SingleProcessError
from bot.server import Worker
from domain.kernel.clock import FakeClock
from domain.store.engine import make_engine
from domain.store.models import DueItem, Lease, OutboxMessage

TTL = 30.0  # the lease's time to live in these tests (the default)
PG_ONLY = pytest.mark.skipif(not os.environ.get("BIZBOT_TEST_POSTGRES_URL"), reason="needs PostgreSQL")


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, message: Outgoing) -> None:
        with self.lock:
            self.sent.append(message.key)


def _leadership(url: str, clock: FakeClock) -> Leadership:
    # a lease call the network swallows is given up after a second of real time: the one real-time bound here
    return Leadership(make_engine(url), clock, ttl=TTL, call_timeout=1.0)


def _worker(app: App, leadership: Leadership, sender: Recorder) -> Worker:
    dispatcher = Dispatcher(app.services.uow, {"console": sender}, replica=leadership.replica)
    return Worker(app, ThreadPoolExecutor(1), dispatcher, leadership)


def _fired(app: App) -> set[str]:
    with app.uow() as uow:
        return set(uow.session.scalars(select(DueItem.key).where(DueItem.state == "fired")))


def test_second_sqlite_server_is_refused(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    first, second = Leadership(engine), Leadership(engine)
    assert first.claim() is True
    with pytest.raises(SingleProcessError, match="SQLite serves one process"):
        second.claim()
    first.release()
    assert second.claim() is True
    second.release()
    engine.dispose()


def test_the_sqlite_process_leads_at_once_and_says_so(app, clock) -> None:
    if not app.settings.database_url.startswith("sqlite"):
        pytest.skip("the SQLite serve lock")
    # a process that led and died: the system let its lock go, its lease is still recorded and unexpired
    crashed = Replica(app.engine, clock)
    lease = crashed.beat(scheduler=True, exclusive=True)
    assert lease is not None and lease.holder == crashed.holder
    clock.advance(timedelta(seconds=5))
    restarted = Leadership(app.engine, clock)
    assert restarted.claim() is True  # the lock is what makes it the one process: no wait for the old lease
    status = restarted.status()
    assert status["leader"] is True and status["holder"] == restarted.replica.holder
    assert status["leader_since"] == clock.now().isoformat()
    restarted.release()


@PG_ONLY
def test_a_standby_takes_over_when_the_leader_stops_renewing(pg_database: str, caplog) -> None:
    from conftest import START

    clock = FakeClock(START)
    leader, standby = _leadership(pg_database, clock), _leadership(pg_database, clock)
    assert leader.claim() is True
    assert standby.claim() is False
    assert standby.lease is not None and standby.lease.holder == leader.replica.holder
    clock.advance(timedelta(seconds=5))
    assert leader.claim() is True  # still leading on the next tick
    # the leader dies without a word: its lease runs out TTL after its last renewal
    clock.advance(timedelta(seconds=TTL - 1))
    assert standby.claim() is False
    clock.advance(timedelta(seconds=1))
    with caplog.at_level(logging.INFO, logger="bot.leader"):
        assert standby.claim() is True
        assert "now leads the scheduler, after " + leader.replica.holder in caplog.text
        # the old leader comes back: by its own clock it stopped leading long ago, and the lease says whose it is
        assert leader.leader is False
        assert leader.claim() is False
    assert "lost leadership" in caplog.text
    assert leader.lease is not None and leader.lease.holder == standby.replica.holder
    leader.release()
    standby.release()


@PG_ONLY
@pytest.mark.parametrize("failure", ["blackhole", "client", "server", "both"])
def test_a_leader_cut_off_from_the_database_is_replaced_and_knows_it(bot, app, db_url: str, failure: str,
                                                                     caplog) -> None:
    """The connection that keeps the leader's lease goes silent (blackhole) or is reset on one side or both
    (and new ones are refused); the leader can still reach the database otherwise, so only the fence stops
    it from sweeping."""
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas need PostgreSQL")
    bot("/customer new Acme", '/visit Acme note="x" next=2026-11-24', '/visit Acme note="y" next=2026-11-26')
    caplog.set_level(logging.INFO, logger="bot.leader")
    sent_a, sent_b = Recorder(), Recorder()
    with proxy_to(db_url) as proxy:
        a = _worker(app, _leadership(proxy.url_for(db_url), app.clock), sent_a)
        b = _worker(app, _leadership(db_url, app.clock), sent_b)
        a.tick_sync()
        b.tick_sync()
        assert a.leadership.leader and not b.leadership.leader
        if failure == "blackhole":
            proxy.blackhole()
        else:
            proxy.cut(failure)
            proxy.refuse()

        # within its lease the leader still leads, though it cannot renew it; nobody else may take it
        app.clock.advance(timedelta(seconds=10))
        a.tick_sync()
        b.tick_sync()
        assert a.leadership.leader and a.leadership.error is not None
        assert not b.leadership.leader
        assert "lost leadership" not in caplog.text

        # past its own share of the lease (two thirds: 20 s), it stops; others still wait for the rest of it
        app.clock.advance(timedelta(seconds=12))
        a.tick_sync()
        b.tick_sync()
        assert not a.leadership.leader and not b.leadership.leader
        assert "lost leadership: the scheduler lease was last renewed" in caplog.text
        assert f"({a.leadership.replica.holder}) stops sweeping (its last sweep: 2026-" in caplog.text

        # a day later, when the first callback falls due: the standby has taken over and swept
        app.clock.advance(timedelta(days=1))
        a.tick_sync()
        b.tick_sync()
        assert b.leadership.leader and not a.leadership.leader
        assert "callback:2" in _fired(app) and "callback:3" not in _fired(app)
        assert sent_a.sent == []  # cut off, it neither swept nor sent
        assert any(key.startswith("callback:2") for key in sent_b.sent)
        status = b.leadership.status()
        assert status["holder"] == b.leadership.replica.holder
        assert status["last_sweep_at"] == app.clock.now().isoformat()
        # the logs say who leads and when it swept
        assert f"this process ({b.leadership.replica.holder}) now leads the scheduler" in caplog.text
        assert f"the scheduler ({b.leadership.replica.holder}) swept at {app.clock.now().isoformat()}" in caplog.text

        # the network is back: the old leader is a standby and knows who leads
        proxy.restore()
        a.tick_sync()
        assert not a.leadership.leader and a.leadership.error is None
        assert a.leadership.lease is not None and a.leadership.lease.holder == b.leadership.replica.holder
        app.clock.advance(timedelta(days=2))
        for worker in (a, b):
            worker.tick_sync()
        assert "callback:3" in _fired(app)

        # the leader stops: the other one leads at its next tick
        b.leadership.release()
        app.clock.advance(timedelta(seconds=5))
        a.tick_sync()
        assert a.leadership.leader
        a.leadership.release()

    sent = sent_a.sent + sent_b.sent
    assert len(sent) == len(set(sent))  # nothing sent twice
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status == "sent")) == len(sent)


@PG_ONLY
def test_two_replicas_sweep_once_and_never_double_a_message(bot, app, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas need PostgreSQL")
    bot("/customer new Acme")
    for i in range(40):
        bot(f'/visit Acme note="v{i}" next=2026-11-25')
    app.clock.advance(timedelta(days=3))
    sender = Recorder()
    workers = [_worker(app, Leadership(app.engine, app.clock, ttl=TTL), sender) for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(worker: Worker) -> None:
        barrier.wait()
        for _ in range(5):
            worker.tick_sync()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(w.leadership.leader for w in workers) == [False, True]
    assert len(set(sender.sent)) == len(sender.sent)
    with app.uow() as uow:
        # the 40 reminders to one person due together go out once each: on their own or merged into one message
        states = uow.session.scalars(select(OutboxMessage.status).where(OutboxMessage.key.startswith("callback:")))
        assert sorted(set(states)) <= ["merged", "sent"] and len(list(uow.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.key.startswith("callback:"))))) == 40
        sent = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        assert uow.session.scalar(sent) == len(sender.sent)
        assert uow.session.scalar(select(func.count()).select_from(Lease)) == 3  # the scheduler, two heartbeats
    for w in workers:
        w.leadership.release()
