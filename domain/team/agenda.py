"""A member's agenda: what is due for them, gathered from the source each area adds to AGENDA_SOURCES."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from domain.kernel.actor import Actor
from domain.kernel.wiring import Key
from domain.store.uow import UnitOfWork


@dataclass(frozen=True)
class AgendaEntry:
    """One thing due for a member, as their agenda (or Slack's Home tab) lists it."""

    ref: str
    title: str
    due: date
    overdue: bool
    command: str | None = None


AgendaFn = Callable[[UnitOfWork, Actor], list[AgendaEntry]]


@dataclass(frozen=True)
class AgendaSource:
    """Where a kind's open items for a member come from; `title` (a message id) heads their section."""

    name: str
    title: str
    entries: AgendaFn


AGENDA_SOURCES: Key[AgendaSource] = Key("agenda sources")


def agenda(uow: UnitOfWork, actor: Actor) -> list[tuple[str, list[AgendaEntry]]]:
    """Each source's section, in the order the sources were added."""
    return [(source.title, source.entries(uow, actor)) for source in uow.wiring[AGENDA_SOURCES].values()]
