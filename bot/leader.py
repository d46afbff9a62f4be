"""Who runs the scheduler: exactly one process, the holder of a lock.

PostgreSQL: a session-level advisory lock on a dedicated connection; when the holder dies its
session ends, the lock is released, and a standby takes it at its next tick. SQLite serves one
process only: a second `bizbot serve` on the same file is refused at start.
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCK_KEY = 0x62697A626F74  # "bizbot"


class SingleProcessError(RuntimeError):
    """A second process tried to serve the same SQLite database."""


# A leader whose host vanishes without closing its connection is noticed by the server's TCP
# keepalives after about 10 + 3 × 5 seconds, so a standby takes over within 30 seconds.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


class Leadership:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock_engine = (
            create_engine(engine.url, poolclass=NullPool, connect_args=KEEPALIVES)
            if engine.dialect.name == "postgresql" else engine
        )
        self._conn: Connection | None = None
        self._file: IO[str] | None = None
        self.leader = False

    def claim(self) -> bool:
        """Become (or stay) the leader if nobody else is; returns whether this process leads."""
        if self.engine.dialect.name != "postgresql":
            self.leader = self._file is not None or self._lock_file()
            return self.leader
        try:
            if self._conn is None:
                self._conn = self._lock_engine.connect()
            if self.leader:
                self._conn.execute(text("SELECT 1"))
            else:
                self.leader = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
                                   .scalar())
                self._conn.commit()
                if self.leader:
                    log.info("this process now runs the scheduler (leader)")
        except DBAPIError as exc:
            log.warning("lost the scheduler lock: %s", exc.__class__.__name__)
            self._drop_connection()
        return self.leader

    def _lock_file(self) -> bool:
        path = _sqlite_path(self.engine)
        if path is None:
            return True
        self._file = lock_sqlite(path)  # held for the life of the process
        return True

    def _drop_connection(self) -> None:
        self.leader = False
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except DBAPIError:
                pass
            self._conn = None

    def release(self) -> None:
        if self._conn is not None and self.leader:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
            except DBAPIError:
                pass
        self._drop_connection()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def lock_sqlite(database: Path) -> IO[str]:
    """Take the lock that says a process serves this SQLite database (`bizbot serve` holds it; `bizbot
    restore` takes it so nothing is restored under a server); closing the handle releases it."""
    path = database.resolve()
    handle = open(f"{path}.serve.lock", "a")  # noqa: SIM115 (the caller holds it)
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
