"""The composition root: settings, engine, unit of work, clock and registry, built in one place."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

import domain.approvals.contracts  # noqa: F401  (registers contract requests, their due kinds and figures)
import domain.approvals.requests  # noqa: F401  (registers expense and leave requests)
import domain.complaints.cases  # noqa: F401  (registers the complaint ladder and its figures)
import domain.crm.callbacks  # noqa: F401  (registers the callback due kind)
import domain.crm.care  # noqa: F401  (registers the daily care job)
import domain.crm.holidays  # noqa: F401  (registers the notice of a year whose holidays are unknown)
import handlers
from bot.settings import Settings, load_settings
from domain.kernel.clock import Clock, SystemClock
from domain.kernel.wiring import Wiring
from domain.store.engine import Sessions, make_engine, upgrade
from domain.store.uow import UnitOfWork
from handlers.context import Services
from handlers.registry import Registry


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    wiring: Wiring
    services: Services
    registry: Registry
    sessions: Sessions

    def uow(self) -> UnitOfWork:
        return self.services.uow()

    def close(self) -> None:
        self.engine.dispose()


def wire() -> Wiring:
    """Every area's due kinds, recurring jobs, agenda sources, measures, request types, archive sections and
    export tables, each added by the area's own `register`."""
    wiring = Wiring()
    return wiring


def bootstrap(settings: Settings | None = None, clock: Clock | None = None, migrate: bool = True) -> App:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    sessions = Sessions(engine)
    wiring = wire()
    services = Services(uow=lambda: UnitOfWork(sessions, clock, wiring), clock=clock, admins=settings.admin_set,
                        open_enrolment=settings.open_enrolment)
    return App(settings, engine, clock, wiring, services, handlers.load(), sessions)
