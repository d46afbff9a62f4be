"""Test fixtures: a real database (SQLite always; PostgreSQL too when BIZBOT_TEST_POSTGRES_URL is set)."""
from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.bootstrap import App, bootstrap
from bot.console.app import Console
from bot.settings import Settings
from domain.kernel.clock import FakeClock
from domain.store.engine import make_engine, normalize_url, upgrade
from domain.store.models import Base

PG_URL = os.environ.get("BIZBOT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai
DATABASE_FIXTURES = {"db_url", "sqlite_template", "pg_database"}  # what `app` and `bot` stand on


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked `fast` runs without a database (`pytest -m fast`): it may not ask for one."""
    wrong = [item.nodeid for item in items
             if item.get_closest_marker("fast") and DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if wrong:
        raise pytest.UsageError("marked fast, but uses a database: " + ", ".join(wrong))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A `bizbot` command run in the test's own process (click's CliRunner) sets up logging for a process:
    the next test gets logging back as it was, so no handler, level or hook of one test filters another's."""
    root = logging.getLogger()
    handlers, level, last = list(root.handlers), root.level, logging.lastResort
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    hooks = sys.excepthook, threading.excepthook
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    logging.lastResort = last
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)
    for name in set(logging.root.manager.loggerDict) - set(levels):
        logging.getLogger(name).setLevel(logging.NOTSET)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this run's own on the PostgreSQL server, dropped at the end."""
    assert PG_URL
    admin_url = normalize_url(PG_URL)
    name = f"bizbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "bizbot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[App]:
    # open enrolment as before it was closed by default, for the adapters some tests build on this app
    settings = Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins="", open_enrolment=True)
    application = bootstrap(settings, clock)
    yield application
    application.close()


class ConsoleDriver:
    """Drives the console adapter line by line and returns what it printed."""

    def __init__(self, app: App, clock: FakeClock, user: str = "wang") -> None:
        self.out = io.StringIO()
        self.console = Console(app, clock, out=self.out, user=user)

    def __call__(self, *lines: str) -> str:
        start = self.out.tell()
        for line in lines:
            self.console.handle(line)
        self.out.seek(start)
        printed = self.out.read()
        self.out.seek(0, io.SEEK_END)
        return printed


@pytest.fixture
def bot(app: App, clock: FakeClock) -> ConsoleDriver:
    return ConsoleDriver(app, clock)
