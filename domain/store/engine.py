"""Engine, sessions and migrations. Synchronous SQLAlchemy: adapters run use cases off the loop."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from domain.store.models import StageChange, fill_stage_history

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    if not event.contains(StageChange, "before_insert", fill_stage_history):
        event.listen(StageChange, "before_insert", fill_stage_history)  # each change keeps what the funnel needs
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # a connection whose server went away without a word (a host gone, a network dropped) fails within about
    # half a minute, as TCP is told to give up on it, instead of after the kernel's quarter of an hour of
    # retransmissions (or never, for an idle one); what the URL sets itself stays
    wanted = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3, "tcp_user_timeout": 30_000}
    query = make_url(url).query
    # no ping on checkout: it is a round trip before every unit of work (a seventh of a /visit's). A connection
    # the server dropped fails on its first statement instead; the pool then lets go of every connection as
    # old as it, and the unit of work is run once more (Sessions.once_more)
    return create_engine(url, pool_pre_ping=False, pool_size=10, max_overflow=10,
                         connect_args={name: value for name, value in wanted.items() if name not in query})


class Lease:
    """A unit of work's connection, and the session that joins its transaction if the unit asks for one."""

    def __init__(self, sessions: Sessions, connection: Connection, held: bool) -> None:
        self.sessions = sessions
        self.connection = connection
        self.held = held
        self._session: Session | None = None

    def session(self) -> Session:
        if self._session is None:
            self._session = self.sessions.factory(bind=self.connection)
        return self._session

    def give_back(self) -> None:
        if self.held:
            self.sessions.give_back(self)
        else:
            self.connection.close()


class Sessions:
    """Where units of work get their connections (and sessions): checked out of the pool each time, or, in a
    thread that *holds* one, that thread's.

    A server's database thread runs unit of work after unit of work. On SQLite (one such thread, one writer)
    it holds a connection it keeps checked out, and the session on it, instead of checking a connection out
    of the pool and back and building a session for every command. Held, they are lent to one unit of work
    at a time; one opened while they are lent gets its own, as any other thread does. On PostgreSQL every
    unit of work checks out a connection; a connection found dead (a restarted database, a dropped network)
    fails its unit of work, which is run once more on a fresh one if it had not yet tried to commit
    (`once_more`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # a session joins the transaction its unit of work began on the connection: its commit flushes and
        # leaves the commit to the unit; its rollback rolls the transaction back
        self.factory = sessionmaker(expire_on_commit=False, join_transaction_mode="rollback_only")
        self._local = threading.local()

    def lease(self) -> Lease:
        held: Lease | None = getattr(self._local, "held", None)
        if held is not None and not getattr(self._local, "lent", False):
            self._local.lent = True
            return held
        return Lease(self, self.engine.connect(), held=False)

    def give_back(self, lease: Lease) -> None:
        self._local.lent = False

    def committing(self) -> None:
        """A unit of work in this thread is about to commit: from now on its work may have been done."""
        self._local.commits = getattr(self._local, "commits", 0) + 1

    def once_more(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` (units of work); if its connection turns out dead before anything in it tried to commit,
        run it once more: the pool has let go of the dead connections by then, so it gets a fresh one. After a
        commit was tried, the failure is the caller's (the commit may or may not have been done)."""
        before = getattr(self._local, "commits", 0)
        try:
            return fn(*args)
        except DBAPIError as exc:
            if not exc.connection_invalidated or getattr(self._local, "commits", 0) != before:
                raise
        return fn(*args)

    def hold(self) -> None:
        """From now on this thread's units of work share one connection and session (SQLite only)."""
        if self.engine.dialect.name != "sqlite" or getattr(self._local, "held", None) is not None:
            return
        self._local.held = Lease(self, self.engine.connect(), held=True)
        self._local.lent = False

    def release(self) -> None:
        """This thread's held connection and session go (at the thread's end)."""
        held: Lease | None = getattr(self._local, "held", None)
        if held is None:
            return
        self._local.held = None
        if held._session is not None:
            held._session.close()
        held.connection.close()


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# the PostgreSQL advisory lock held while migrations run: bizbot's name in ASCII, one number for every bizbot
MIGRATION_LOCK = int.from_bytes(b"bizbotdb", "big") & 0x7FFF_FFFF_FFFF_FFFF


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations. On PostgreSQL one process at a time: replicas starting together (or a migration
    job and a replica) queue on an advisory lock, held on a connection of its own and released when it
    closes (a process that dies lets go), and whoever comes after finds the schema at its revision and does
    nothing. SQLite serves one process, whose database file locks it anyway."""
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
