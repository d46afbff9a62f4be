"""What a handler is given: who is acting, how to open a unit of work, and the time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.access import Actor
from domain.clock import Clock, local_today
from domain.uow import UnitOfWork, UowFactory


@dataclass(frozen=True)
class Services:
    uow: UowFactory
    clock: Clock
    admins: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Ctx:
    services: Services
    actor: Actor
    platform: str

    def uow(self) -> UnitOfWork:
        return self.services.uow()

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def today(self) -> date:
        return local_today(self.now, self.actor.timezone)
