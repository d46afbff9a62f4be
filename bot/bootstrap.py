"""The composition root: settings, engine, unit of work, clock, the areas' wiring and the command registry,
built in one place."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

import handlers
from bot.metrics import Metrics
from bot.settings import Settings, load_settings
from domain import (
    appraisals,
    approvals,
    complaints,
    crm,
    meeting,
    orders,
    projects,
    receivables,
    reporting,
    risk,
    targets,
    team,
)
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
    metrics: Metrics = field(default_factory=Metrics)  # every command run is counted (bot.metrics)

    def __post_init__(self) -> None:
        self.registry.watchers.append(self.metrics.command_ran)

    def uow(self) -> UnitOfWork:
        return self.services.uow()

    def close(self) -> None:
        self.engine.dispose()


def wire() -> Wiring:
    """Every area's due kinds, recurring jobs, agenda sources, measures, request types, archive sections and
    export tables, each added by the area's own `register`, the areas others build on first (the agenda and
    /remind list show entries in the order they were added)."""
    wiring = Wiring()
    reporting.register(wiring)
    team.register(wiring)
    risk.register(wiring)
    crm.register(wiring)
    approvals.register(wiring)
    orders.register(wiring)
    complaints.register(wiring)
    targets.register(wiring)
    meeting.register(wiring)
    appraisals.register(wiring)
    receivables.register(wiring)
    projects.register(wiring)
    return wiring


def bootstrap(settings: Settings | None = None, clock: Clock | None = None, migrate: bool = True,
              wiring: Wiring | None = None) -> App:
    """The application, with every area's wiring unless given one (an application of some areas only)."""
    settings = settings or load_settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    sessions = Sessions(engine)
    wiring = wiring if wiring is not None else wire()
    registry = handlers.load()
    services = Services(uow=lambda: UnitOfWork(sessions, clock, wiring), clock=clock, registry=registry,
                        admins=settings.admin_set, open_enrolment=settings.open_enrolment)
    return App(settings, engine, clock, wiring, services, registry, sessions)
