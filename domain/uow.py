"""Unit of work: one transaction per use case, committed once."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from domain.clock import Clock
from domain.models import AuditEntry

_AUDIT_INSERT = insert(AuditEntry)


class UnitOfWork:
    def __init__(self, session_factory: Callable[[], Session], clock: Clock) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.now: datetime = self.clock.now()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() ends any uncommitted transaction (a rollback) without expiring loaded objects,
        # so what a use case returns stays readable after its unit of work.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

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
        self.session.connection().execute(
            _AUDIT_INSERT,
            {"org_id": org_id, "actor_id": actor_id, "action": action, "entity": entity, "entity_ref": ref,
             "detail": detail, "at": self.now},
        )


UowFactory = Callable[[], UnitOfWork]
