"""What a handler is given: who is acting, how to open a unit of work, the time, and the commands."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from domain.kernel.actor import Actor
from domain.kernel.clock import Clock, local_today
from domain.store.uow import UnitOfWork, UowFactory

if TYPE_CHECKING:
    from handlers.registry import Registry


@dataclass(frozen=True)
class Services:
    uow: UowFactory
    clock: Clock
    registry: Registry  # every command (/help lists them)
    admins: frozenset[str] = frozenset()
    open_enrolment: bool = False  # anyone may open a department in a new group or workspace


@dataclass(frozen=True)
class Ctx:
    services: Services
    actor: Actor
    platform: str
    # a unit of work the adapter holds open for this command; the handler's units of work join it
    open_uow: UnitOfWork | None = field(default=None, compare=False, repr=False)

    def uow(self) -> UnitOfWork:
        return self.open_uow.joined() if self.open_uow is not None else self.services.uow()

    def within(self, uow: UnitOfWork) -> Ctx:
        """This context, with its handler's units of work joining `uow` (one transaction for the command)."""
        return Ctx(self.services, self.actor, self.platform, uow)

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def today(self) -> date:
        return local_today(self.now, self.actor.timezone)
