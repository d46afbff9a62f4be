"""Who runs the scheduler: one process at a time, the holder of a lease that expires.

Every process (a replica) keeps a heartbeat: a `replica:<id>` row in `leases` whose expiry it pushes on at
each tick. The outbox's claims carry that id, so the claims of a process whose heartbeat stopped are
released by the others (bot.delivery). In the same statement a replica renews the `scheduler` lease if it
holds it, or takes it if it has expired: one atomic INSERT … ON CONFLICT DO UPDATE … WHERE holder = me OR
expires_at <= now, which two replicas cannot both win.

Why a lease and not an advisory lock held by a connection: such a lock lasts as long as the database
believes the connection lives, and after a silent network drop it believes so for its TCP keepalive time
(two hours by default) while nobody sweeps. A lease lapses on its own, TTL after its last renewal,
whatever the network did, and its holder stops believing in it before anyone else may take it:

- the fence: the holder counts itself leader only for `hold` (two thirds of the TTL) after the start of its
  last successful renewal, by its own monotonic clock, and every sweep batch checks, in its own
  transaction, that the lease row still names it and has not expired;
- every call on the lease takes bounded time: it runs on a thread of its own over a dedicated connection
  (autocommit: no lock outlives its statement) and is given up, with the connection, after `call_timeout`.
  TCP keepalives and tcp_user_timeout end a dead connection on a real network, but a silent drop is not
  always seen by TCP (anything in between that acknowledges, a proxy, hides it), so nothing here waits for
  the socket to notice.

Lease times come from the injected clock (app.clock), so the replicas' clocks must agree (NTP): the last
third of the TTL, between the holder's own end of the lease and the others' start, is the margin for clock
skew and for a pause between a check and what it guards.

SQLite serves one process: a second `bizbot serve` on the same file is refused at start (a file lock), and
the one process holds the lease unconditionally.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import Connection, Engine, and_, case, create_engine, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from domain.kernel.clock import Clock, SystemClock
from domain.store.models import Lease
from domain.store.uow import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEDULER = "scheduler"
REPLICA = "replica:"  # + the replica's id: its heartbeat
FORGET_AFTER = timedelta(days=1)  # a stopped replica's heartbeat row is deleted this long after it expired


class SingleProcessError(RuntimeError):
    """A second process tried to serve the same SQLite database."""


class LeaseTimeout(Exception):
    """A call on the lease did not finish in time: the network may have dropped it without a word."""


def replica_id() -> str:
    """This process's id among the replicas: host, pid and a random part (a restarted process has a new one)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class LeaseState:
    """The scheduler's lease as the database has it."""

    holder: str
    acquired_at: datetime
    expires_at: datetime
    last_sweep_at: datetime | None


def _link_args(url: URL, call_timeout: float) -> dict[str, Any]:
    """libpq settings of the lease's connection (those the URL does not set itself): a bounded connect, and
    client keepalives and a TCP user timeout that end a connection whose peer went away."""
    wanted = {"connect_timeout": max(2, math.ceil(call_timeout)), "keepalives": 1, "keepalives_idle": 5,
              "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 10_000}
    return {name: value for name, value in wanted.items() if name not in url.query}


class _Call:
    """One call on the lease's connection, on a thread of its own; the caller may give it up (`abandon`), and
    then the connection is closed whenever the call ends, if it ever does."""

    def __init__(self, engine: Engine, conn: Connection | None, fn: Callable[[Connection], Any]) -> None:
        self.engine, self.conn, self.fn = engine, conn, fn
        self.result: Any = None
        self.error: Exception | None = None
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = False

    def run(self) -> None:
        try:
            if self.conn is None:
                self.conn = self.engine.connect()
            self.result = self.fn(self.conn)
        except Exception as exc:  # handed to the caller, who decides
            self.error = exc
            self._close()
        with self._lock:
            self.finished.set()
            if self._abandoned:
                self._close()

    def abandon(self) -> bool:
        """Give the call up, unless it finished meanwhile: whether it was given up."""
        with self._lock:
            if self.finished.is_set():
                return False
            self._abandoned = True
            return True

    def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
            with contextlib.suppress(Exception):
                conn.close()


class Replica:
    """This process among the replicas: its id, which its outbox claims carry, and its heartbeat."""

    def __init__(self, engine: Engine, clock: Clock | None = None, *, ttl: float = 30.0, holder: str | None = None,
                 call_timeout: float | None = None) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.ttl = ttl  # how long a heartbeat or a lease lasts for the others unless renewed
        self.hold = ttl * 2 / 3  # how long it lasts for this process itself
        self.call_timeout = call_timeout if call_timeout is not None else min(5.0, ttl / 6)
        self.holder = holder or replica_id()
        self.postgres = engine.dialect.name == "postgresql"
        self._link = (create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                    connect_args=_link_args(engine.url, self.call_timeout))
                      if self.postgres else None)
        self._conn: Connection | None = None
        self._calls = threading.Lock()
        self._beat_at: float | None = None  # monotonic start of the last heartbeat the database recorded
        self.last_beat_at: datetime | None = None

    def run(self, fn: Callable[[Connection], T]) -> T:
        """`fn` on the lease's connection, committed as it goes; on PostgreSQL within `call_timeout` or
        LeaseTimeout (the connection is then given up and the next call opens another)."""
        if self._link is None:
            with self.engine.begin() as conn:
                return fn(conn)
        with self._calls:
            call = _Call(self._link, self._conn, fn)
            self._conn = None
            threading.Thread(target=call.run, name="bizbot-lease", daemon=True).start()
            if not call.finished.wait(self.call_timeout) and call.abandon():
                raise LeaseTimeout(f"no answer from the database within {self.call_timeout:g} s")
            if call.error is not None:
                raise call.error
            self._conn = call.conn
            return call.result

    def beat(self, scheduler: bool = False, exclusive: bool = False) -> LeaseState | None:
        """Record that this process is alive and, with `scheduler`, renew the scheduler's lease or take it if
        it has expired (or whatever its state, if `exclusive`); returns that lease as it now stands. Raises
        LeaseTimeout or the database's error."""
        started, now = self.clock.monotonic(), self.clock.now()
        state = self.run(lambda conn: self._renew(conn, now, scheduler, exclusive))
        self._beat_at, self.last_beat_at = started, now
        return state

    def _renew(self, conn: Connection, now: datetime, scheduler: bool, exclusive: bool) -> LeaseState | None:
        insert = pg_insert if self.postgres else sqlite_insert
        row = {"holder": self.holder, "acquired_at": now, "renewed_at": now,
               "expires_at": now + timedelta(seconds=self.ttl)}
        rows = [{"name": REPLICA + self.holder, **row}] + ([{"name": SCHEDULER, **row}] if scheduler else [])
        stmt = insert(Lease).values(rows)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[Lease.name],
            set_={"holder": new.holder,
                  "acquired_at": case((Lease.holder == new.holder, Lease.acquired_at), else_=new.acquired_at),
                  "renewed_at": new.renewed_at, "expires_at": new.expires_at},
            # the holder renews (a late statement, released by a network that held it, cannot move an
            # expiry back), anyone takes an expired lease
            where=None if exclusive else or_(and_(Lease.holder == new.holder, Lease.renewed_at <= new.renewed_at),
                                             Lease.expires_at <= new.renewed_at),
        ).returning(Lease.name, Lease.holder, Lease.acquired_at, Lease.expires_at, Lease.last_sweep_at)
        for name, *fields in conn.execute(stmt).all():
            if name == SCHEDULER:
                return LeaseState(*fields)
        if not scheduler:
            return None
        found = conn.execute(select(Lease.holder, Lease.acquired_at, Lease.expires_at, Lease.last_sweep_at)
                             .where(Lease.name == SCHEDULER)).first()
        return LeaseState(*found) if found is not None else None

    def alive(self) -> bool:
        """Whether this process's heartbeat is surely still live for the others (recorded less than `hold` ago
        by its own clock): while it is, nobody releases its claims."""
        return self._beat_at is not None and self.clock.monotonic() - self._beat_at < self.hold

    def release(self) -> None:
        """At shutdown: end the heartbeat and whatever lease this process holds (others need not wait for
        them to expire), then close the connection."""
        self._beat_at = None
        now, me = self.clock.now(), self.holder
        if self.last_beat_at is None:  # it never beat: nothing to end
            self._close()
            return
        try:
            self.run(lambda conn: conn.execute(
                update(Lease).where(Lease.holder == me, Lease.expires_at > now).values(expires_at=now)))
        except Exception as exc:  # the leases expire on their own
            log.warning("could not end this process's leases at shutdown (%s); they expire on their own",
                        type(exc).__name__)
        self._close()

    def _close(self) -> None:
        with self._calls:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        if self._link is not None:
            self._link.dispose()


class Leadership:
    """Whether this process runs the scheduler: the holder of the `scheduler` lease, fenced by time."""

    def __init__(self, engine: Engine, clock: Clock | None = None, *, ttl: float = 30.0,
                 replica: Replica | None = None, call_timeout: float | None = None) -> None:
        self.engine = engine
        self.replica = replica or Replica(engine, clock, ttl=ttl, call_timeout=call_timeout)
        self.clock = self.replica.clock
        self._file: IO[str] | None = None
        self._renewed_at: float | None = None  # monotonic start of the last renewal that kept or took the lease
        self._pruned_at: float | None = None
        # what this process last learnt, for /readyz and the logs
        self.lease: LeaseState | None = None
        self.last_sweep_at: datetime | None = None
        self.error: str | None = None  # why the last call on the lease failed; None when it did not

    @property
    def leader(self) -> bool:
        """This process leads: its last renewal of the lease is younger than `hold` by its own clock."""
        return self._renewed_at is not None and self.clock.monotonic() - self._renewed_at < self.replica.hold

    def claim(self) -> bool:
        """At each tick: record the heartbeat, and keep the scheduler's lease or take it if it has expired;
        returns whether this process leads now."""
        exclusive = not self.replica.postgres
        if exclusive and self._file is None:
            self._lock_file()  # a second process on the same SQLite file stops here
        started = self.clock.monotonic()
        try:
            state = self.replica.beat(scheduler=True, exclusive=exclusive)
        except Exception as exc:  # a timeout or whatever the driver raised: the fence decides, by time
            self._unreachable(exc)
            if exclusive:  # the one process on a SQLite file: the lease row only tells others what it does
                self._renewed_at = started
            return self._still_leading()
        self._reachable()
        me = self.replica.holder
        if state is not None and state.holder == me:
            if self._renewed_at is None:
                previous = self.lease.holder if self.lease is not None and self.lease.holder != me else None
                log.info("this process (%s) now leads the scheduler%s", me,
                         f", after {previous}" if previous else "")
            self._renewed_at = started
        else:
            if self._renewed_at is not None:
                self._lost(f"the scheduler lease is held by {state.holder if state else 'nobody'}")
            elif state is not None and (self.lease is None or self.lease.holder != state.holder):
                log.info("standby: the scheduler is led by %s", state.holder)
        self.lease = state
        if state is not None and state.last_sweep_at is not None and (
                self.last_sweep_at is None or state.last_sweep_at > self.last_sweep_at):
            self.last_sweep_at = state.last_sweep_at
        return self.leader

    def fence(self, uow: UnitOfWork) -> bool:
        """Asked before each sweep batch, in its transaction: this process still leads, by its own clock and
        by the lease row (which names it and has not expired)."""
        if not self._still_leading():
            return False
        if not self.replica.postgres:
            return True  # the one process on a SQLite file
        holder = uow.connection().execute(
            select(Lease.holder).where(Lease.name == SCHEDULER, Lease.expires_at > uow.now)).scalar()
        if holder == self.replica.holder:
            return True
        self._lost(f"the scheduler lease is {f'held by {holder}' if holder else 'expired'}")
        return False

    def swept(self, fired: int = 0) -> None:
        """Record that the scheduler swept now, firing `fired` due items (in the lease row, for every
        replica's /readyz; and in the log)."""
        now, me = self.clock.now(), self.replica.holder
        monotonic = self.clock.monotonic()
        prune = self._pruned_at is None or monotonic - self._pruned_at > 3600

        def record(conn: Connection) -> None:
            conn.execute(update(Lease).where(Lease.name == SCHEDULER, Lease.holder == me,
                                             or_(Lease.last_sweep_at.is_(None), Lease.last_sweep_at < now))
                         .values(last_sweep_at=now))
            if prune:
                conn.execute(delete(Lease).where(Lease.name.startswith(REPLICA),
                                                 Lease.expires_at < now - FORGET_AFTER))

        try:
            self.replica.run(record)
        except Exception as exc:  # as in claim: the next renewal tells, the fence decides
            self._unreachable(exc)
            return
        self.last_sweep_at = now
        if prune:
            self._pruned_at = monotonic
        log.log(logging.INFO if fired else logging.DEBUG, "the scheduler (%s) swept at %s: %d due items fired",
                me, now.isoformat(), fired)

    def status(self) -> dict[str, Any]:
        """What /readyz shows of the scheduler, as this process knows it (no database call)."""
        lease = self.lease
        return {
            "replica": self.replica.holder,
            "leader": self.leader,
            "holder": lease.holder if lease else None,
            "leader_since": _iso(lease.acquired_at if lease else None),
            "lease_expires_at": _iso(lease.expires_at if lease else None),
            "last_sweep_at": _iso(self.last_sweep_at),
            "last_heartbeat_at": _iso(self.replica.last_beat_at),
            "lease_seconds": self.replica.ttl,
            "error": self.error,
        }

    def _still_leading(self) -> bool:
        if self._renewed_at is None:
            return False
        age = self.clock.monotonic() - self._renewed_at
        if age < self.replica.hold:
            return True
        self._lost(f"the scheduler lease was last renewed {age:.0f} s ago (it is this process's for "
                   f"{self.replica.hold:.0f} s, a standby's after {self.replica.ttl:.0f} s)")
        return False

    def _lost(self, why: str) -> None:
        log.error("lost leadership: %s; this process (%s) stops sweeping (its last sweep: %s)", why,
                  self.replica.holder, _iso(self.last_sweep_at) or "none")
        self._renewed_at = None

    def _unreachable(self, exc: Exception) -> None:
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__
        if self.error is None:
            log.warning("scheduler lease: the database did not answer (%s)%s", reason,
                        f"; this process stops sweeping if it cannot renew within {self.replica.hold:.0f} s "
                        "of its last renewal" if self.leader else "")
        self.error = reason

    def _reachable(self) -> None:
        if self.error is not None:
            log.info("scheduler lease: the database answers again")
            self.error = None

    def _lock_file(self) -> None:
        path = _sqlite_path(self.engine)
        if path is not None:
            self._file = lock_sqlite(path)  # held for the life of the process

    def release(self) -> None:
        """At shutdown: give the lease and the heartbeat up, and the SQLite lock."""
        self._renewed_at = None
        self.replica.release()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def lock_sqlite(database: Path) -> IO[str]:
    """Take the lock that says a process serves this SQLite database (`bizbot serve` holds it; `bizbot
    restore` takes it so nothing is restored under a server); closing the handle releases it."""
    path = database.resolve()
    handle = open(f"{path}.serve.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SingleProcessError(
            f"another bizbot process is using {path}; SQLite serves one process "
            "(use PostgreSQL to run several replicas)"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _sqlite_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).resolve()
