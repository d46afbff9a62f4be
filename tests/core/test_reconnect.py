"""A connection the database dropped (a restart, a network reset) is found out on its first statement, not by a
ping before every unit of work: a unit of work on the database threads that had not yet tried to commit is
run once more on a fresh connection, so nobody sees the failure; one that had tried to commit is not (its
commit may have been done)."""
from __future__ import annotations

import pytest
from fakes.tcp_proxy import proxy_to
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.bootstrap import bootstrap
from bot.server import database_threads
from bot.settings import Settings
from domain.kernel.clock import FakeClock
from domain.store.uow import UnitOfWork


def _read(app) -> int:
    with app.services.uow() as uow:
        return int(uow.connection().execute(text("SELECT 1")).scalar_one())


def test_a_dropped_connection_is_replaced_without_failing_the_unit_of_work(db_url: str, clock: FakeClock) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a network between bizbot and its database")
    with proxy_to(db_url) as proxy:
        app = bootstrap(Settings(database_url=proxy.url_for(db_url), locale="en", timezone="Asia/Shanghai"), clock)
        threads = database_threads(app)
        try:
            assert threads.submit(_read, app).result(10) == 1  # the thread's pool connection exists
            proxy.cut("both")
            assert threads.submit(_read, app).result(10) == 1  # run once more, on a new connection
            # without the database threads the failure shows: the pool's connection was reset under it
            assert _read(app) == 1
            proxy.cut("both")
            with pytest.raises(DBAPIError) as failed:
                _read(app)
            assert failed.value.connection_invalidated
            assert _read(app) == 1  # the pool let go of the dead connections
        finally:
            threads.shutdown(wait=True)
            app.close()


def test_a_unit_of_work_that_tried_to_commit_is_not_run_again(db_url: str, clock: FakeClock) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a network between bizbot and its database")
    with proxy_to(db_url) as proxy:
        app = bootstrap(Settings(database_url=proxy.url_for(db_url), locale="en", timezone="Asia/Shanghai"), clock)
        threads = database_threads(app)
        runs: list[int] = []

        def commit_then_fail() -> None:
            runs.append(1)
            with UnitOfWork(app.sessions, clock, app.wiring) as uow:
                uow.connection().execute(text("SELECT 1"))
                uow.commit()
            proxy.cut("both")
            _read(app)

        try:
            assert threads.submit(_read, app).result(10) == 1
            with pytest.raises(DBAPIError):
                threads.submit(commit_then_fail).result(10)
            assert runs == [1]
            assert threads.submit(_read, app).result(10) == 1
        finally:
            threads.shutdown(wait=True)
            app.close()
