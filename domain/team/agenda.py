"""A member's agenda: what is due for them, gathered from every area that registers a source."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from domain.kernel.actor import Actor
from domain.store.uow import UnitOfWork


@dataclass(frozen=True)
class AgendaEntry:
    """One thing due for a member, as their agenda (or Slack's Home tab) lists it."""

    ref: str
    title: str
    due: date
    overdue: bool
    command: str | None = None


AgendaFn = Callable[[UnitOfWork, "Actor"], list[AgendaEntry]]
AGENDA: dict[str, tuple[str, AgendaFn]] = {}


def agenda_source(kind: str, title: str) -> Callable[[AgendaFn], AgendaFn]:
    """Register where a kind's open items for a member come from; `title` is a message id."""

    def register(fn: AgendaFn) -> AgendaFn:
        AGENDA[kind] = (title, fn)
        return fn

    return register


def agenda(uow: UnitOfWork, actor: Actor) -> list[tuple[str, list[AgendaEntry]]]:
    return [(title, fn(uow, actor)) for title, fn in AGENDA.values()]
