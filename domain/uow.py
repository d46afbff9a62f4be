"""Unit of work: one transaction per use case, committed once.

An adapter that already holds a session for a command (who is acting, the delivery's record) lets the
command's use cases *join* it (`joined()`), rather than each checking out a session and connection of its
own. A joined unit of work behaves as a separate one would: what it leaves uncommitted when it ends is
rolled back, and objects it loaded stay readable (expunged, not expired). Work the owner *carries*
(`carry()`) is committed with the first commit in the session, so a delivery's record and the command's
changes are committed together or not at all; a rollback before that commit puts the carried work back.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from domain.clock import Clock
from domain.models import AuditEntry

_AUDIT_INSERT = insert(AuditEntry)
CONNECTION = "bizbot.connection"  # Session.info key: the connection of the session's open transaction
IN_USE = "bizbot.in_use"  # Session.info key: a held session (domain.db.Sessions) is lent to a unit of work
T = TypeVar("T")


class UnitOfWork:
    def __init__(self, session_factory: Callable[[], Session], clock: Clock,
                 owner: UnitOfWork | None = None) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.session: Session
        self._owner = owner
        self._open = False
        self._busy = False  # a joined unit of work is going on in this (owner's) session
        self._carried: list[Callable[[UnitOfWork], Any]] = []

    def __enter__(self) -> UnitOfWork:
        owner = self._owner
        if owner is not None and (not owner._open or owner._busy):
            # its owner has ended, or another use case is half-way in that session: a session of its own
            self._owner = owner = None
        if owner is not None:
            owner._busy = True
            self.session = owner.session
        else:
            self.session = self._session_factory()
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
            # close() ends any uncommitted transaction (a rollback) without expiring loaded objects,
            # so what a use case returns stays readable after its unit of work.
            self._carried.clear()
            self.session.close()
            self.session.info.pop(IN_USE, None)
            return
        owner._busy = False
        if self.session.in_transaction():
            # as close() would: nothing it left uncommitted survives, and what it loaded stays readable
            self.session.expunge_all()
            self.rollback()

    def joined(self) -> UnitOfWork:
        """A unit of work for a use case run inside this one's session (enter it with `with`)."""
        return UnitOfWork(self._session_factory, self.clock, owner=self._owner or self)

    def carry(self, work: Callable[[UnitOfWork], T]) -> T:
        """Do `work` now, uncommitted, to be committed with the session's next commit, whoever commits;
        if the session is rolled back before then, the work is done again."""
        (self._owner or self)._carried.append(work)
        return work(self)

    def commit(self) -> None:
        self.session.commit()
        (self._owner or self)._carried.clear()

    def rollback(self) -> None:
        self.session.rollback()
        for work in (self._owner or self)._carried:
            work(self)

    def connection(self) -> Connection:
        """The transaction's connection, for Core statements. Kept by the session from the moment its
        transaction begins until it ends (domain.db's session events), so the hot commands' several
        statements do not each ask the session for it again."""
        conn = self.session.info.get(CONNECTION)
        return conn if conn is not None else self.session.connection()

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
