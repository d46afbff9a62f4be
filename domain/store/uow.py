"""Unit of work: one transaction per use case, committed once.

A unit of work opens its connection and transaction when its use case first needs them, and builds an ORM
session only if the use case asks for one: the commands people run most (a visit, a lead list, who is
acting) are Core statements, and the session's bookkeeping cost them more than their SQL (measured with
instruction counts: a sixth of a /visit's work in the database thread). A session, when there is one,
joins the unit's transaction on that connection.

An adapter that already holds a unit of work for a command (who is acting, the delivery's record) lets the
command's use cases *join* it (`joined()`), rather than each opening a connection of its own. A joined
unit of work behaves as a separate one would: what it leaves uncommitted when it ends is rolled back, and
objects it loaded stay readable (expunged, not expired). Work the owner *carries* (`carry()`) is committed
with the first commit in the unit, so a delivery's record and the command's changes are committed together
or not at all; a rollback before that commit puts the carried work back.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from domain.kernel.clock import Clock
from domain.kernel.wiring import Wiring
from domain.store.engine import Lease, Sessions
from domain.store.models import AuditEntry

_AUDIT_INSERT = insert(AuditEntry)
T = TypeVar("T")


class UnitOfWork:
    def __init__(self, sessions: Sessions, clock: Clock, wiring: Wiring, owner: UnitOfWork | None = None) -> None:
        self._sessions = sessions
        self.clock = clock
        self.wiring = wiring  # the registries the application was built with (due kinds, measures, ...)
        self._owner = owner
        self._open = False
        self._busy = False  # a joined unit of work is going on in this (owner's) transaction
        self._carried: list[Callable[[UnitOfWork], Any]] = []
        # the owner's connection and session (a joined unit uses its owner's), made when first needed
        self._lease: Lease | None = None
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        owner = self._owner
        if owner is not None and (not owner._open or owner._busy):
            # its owner has ended, or another use case is half-way in that transaction: one of its own
            self._owner = owner = None
        if owner is not None:
            owner._busy = True
        self._open = True
        self.now: datetime = self.clock.now()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        owner = self._owner
        if owner is None:
            # what is uncommitted is rolled back; loaded objects are not expired, so what a use case
            # returns stays readable after its unit of work
            self._carried.clear()
            self._end()
            return
        owner._busy = False
        if owner._in_transaction():
            # as its own end would: nothing it left uncommitted survives, and what it loaded stays readable
            if owner._session is not None:
                owner._session.expunge_all()
            self.rollback()

    @property
    def _root(self) -> UnitOfWork:
        return self._owner or self

    def connection(self) -> Connection:
        """The unit's connection, in its transaction (begun now if need be), for Core statements."""
        root = self._root
        lease = root._lease
        if lease is None:
            lease = root._lease = self._sessions.lease()
        conn = lease.connection
        if not conn.in_transaction():
            conn.begin()
        return conn

    @property
    def session(self) -> Session:
        """The unit's ORM session, on its connection and in its transaction (built when first asked for)."""
        root = self._root
        if not root._open and root._session is not None:
            return root._session  # the unit has ended: its (closed) session, as the objects it loaded know it
        self.connection()  # begun first, so the session joins the unit's transaction
        if root._session is None:
            assert root._lease is not None
            root._session = root._lease.session()
        return root._session

    def _in_transaction(self) -> bool:
        lease, session = self._lease, self._session
        return (lease is not None and lease.connection.in_transaction()) or (
            session is not None and session.in_transaction())

    def _end(self) -> None:
        lease, session = self._lease, self._session
        self._lease = None
        if lease is None:
            return
        if session is not None:
            session.close()  # its part of the transaction; the session object stays for identity checks
        if lease.connection.in_transaction():
            lease.connection.rollback()
        lease.give_back()

    def joined(self) -> UnitOfWork:
        """A unit of work for a use case run inside this one's transaction (enter it with `with`)."""
        return UnitOfWork(self._sessions, self.clock, self.wiring, owner=self._root)

    def carry(self, work: Callable[[UnitOfWork], T]) -> T:
        """Do `work` now, uncommitted, to be committed with the unit's next commit, whoever commits;
        if the unit is rolled back before then, the work is done again."""
        self._root._carried.append(work)
        return work(self)

    def commit(self) -> None:
        root = self._root
        if root._session is not None:
            self._sessions.committing()  # a flush may fail after its connection was found alive
            root._session.commit()  # flushes; the transaction is the connection's
        if root._lease is not None and root._lease.connection.in_transaction():
            self._sessions.committing()
            root._lease.connection.commit()
        root._carried.clear()

    def rollback(self) -> None:
        root = self._root
        if root._session is not None:
            root._session.rollback()
        if root._lease is not None and root._lease.connection.in_transaction():
            root._lease.connection.rollback()
        for work in root._carried:
            work(self)

    def add(self, obj: Any) -> Any:
        self.session.add(obj)
        return obj

    def audit(
        self,
        org_id: int,
        actor_id: int | None,
        action: str,
        entity: str,
        ref: str | None = None,
        detail: str | None = None,
    ) -> None:
        # a Core INSERT in the use case's transaction: an audit row is written, never read back here, so it
        # needs none of the ORM's bookkeeping (which costs more than the INSERT itself)
        self.connection().execute(
            _AUDIT_INSERT,
            {"org_id": org_id, "actor_id": actor_id, "action": action, "entity": entity, "entity_ref": ref,
             "detail": detail, "at": self.now},
        )


UowFactory = Callable[[], UnitOfWork]
