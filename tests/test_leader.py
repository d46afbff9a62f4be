"""One scheduler among replicas: the advisory-lock leader on PostgreSQL, one process on SQLite."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select, text

from bot.delivery import Dispatcher, Outgoing
from bot.leader import Leadership, SingleProcessError
from bot.server import Worker
from domain.db import make_engine
from domain.models import OutboxMessage


def test_second_sqlite_server_is_refused(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    first, second = Leadership(engine), Leadership(engine)
    assert first.claim() is True
    with pytest.raises(SingleProcessError, match="SQLite serves one process"):
        second.claim()
    first.release()
    assert second.claim() is True
    second.release()
    engine.dispose()


@pytest.mark.skipif(not os.environ.get("BIZBOT_TEST_POSTGRES_URL"), reason="needs PostgreSQL")
def test_one_leader_and_a_standby_takes_over(pg_database: str) -> None:
    engine = make_engine(pg_database)
    leader, standby = Leadership(engine), Leadership(engine)
    assert leader.claim() is True
    assert standby.claim() is False
    assert leader.claim() is True  # still leading on the next tick
    # the leader dies: its session ends, as when a process is killed
    pid = leader._conn.execute(text("SELECT pg_backend_pid()")).scalar()  # noqa: SLF001
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})  # waits for it
    assert standby.claim() is True
    assert leader.claim() is False
    leader.release()
    standby.release()
    engine.dispose()


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, message: Outgoing) -> None:
        with self.lock:
            self.sent.append(message.key)


@pytest.mark.skipif(not os.environ.get("BIZBOT_TEST_POSTGRES_URL"), reason="needs PostgreSQL")
def test_two_replicas_sweep_once_and_never_double_a_message(bot, app, db_url: str) -> None:  # noqa: ANN001
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas need PostgreSQL")
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    bot("/customer new Acme")
    for i in range(40):
        bot(f'/visit Acme note="v{i}" next=2026-11-25')
    app.clock.advance(timedelta(days=3))
    sender = Recorder()
    workers = [Worker(app, ThreadPoolExecutor(1), Dispatcher(app.services.uow, {"console": sender}))
               for _ in range(2)]
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
    assert len(sender.sent) == 40 and len(set(sender.sent)) == 40
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 40
    for w in workers:
        w.leadership.release()
