"""Filling a command in steps (a chat conversation): which field to ask next, and what to offer.

Platform-neutral: Telegram's guided conversations use it; a form-less platform could too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from domain.crm.customers import search_customers
from domain.kernel.i18n import _, translate
from domain.team.members import list_members
from handlers.args import widget_of
from handlers.context import Ctx
from handlers.parsing import CONTROL
from handlers.registry import Command, Registry
from handlers.replies import Button, Reply


@dataclass(frozen=True)
class Question:
    field: str
    label: str
    hint: str
    kind: str  # text | longtext | date | choice | customer | member
    required: bool
    choices: tuple[tuple[str, str], ...] = ()  # (value, translated label)


def _literal_choices(annotation: Any) -> tuple[str, ...]:
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is Literal:
            return tuple(str(v) for v in get_args(candidate))
    return ()


def question(cmd: Command, name: str) -> Question:
    info = cmd.args.model_fields[name]
    widget = widget_of(info)
    literal = _literal_choices(info.annotation)
    kind = widget.kind if widget else ("choice" if literal else "text")
    choices = tuple((v, translate(label)) for v, label in widget.choices) if widget else tuple(
        (v, v) for v in literal)
    return Question(name, name.replace("_", " ").capitalize(),
                    translate(info.description) if info.description else "", kind, info.is_required(), choices)


def next_question(cmd: Command, data: dict[str, Any], skipped: set[str] | frozenset[str] = frozenset()
                  ) -> Question | None:
    """The first field still to ask: those the command asks for, then any other required one."""
    order = list(cmd.questions()) + [n for n in cmd.missing({}) if n not in cmd.questions()]
    for name in order:
        if name not in data and name not in skipped:
            return question(cmd, name)
    return None


def search(ctx: Ctx, kind: str, text: str, limit: int = 8) -> list[tuple[str, str]]:
    """Options for a picker: (value to submit, what to show), from what the actor may see."""
    text = CONTROL.sub("", text)
    with ctx.uow() as uow:
        if kind == "customer":
            return [(f"C{c.number}", f"{c.name} (C{c.number})") for c in search_customers(uow, ctx.actor, text, limit)]
        if kind == "member":
            key = text.strip().casefold()
            return [(m.name, m.name) for m in list_members(uow, ctx.actor) if key in m.name.casefold()][:limit]
    return []


def menu(registry: Registry, group: str) -> Reply:
    """A group's sub-commands as buttons, for a command typed without arguments (/lead)."""
    return Reply(
        text=_("What would you like to do?"),
        buttons=[Button(c.name.split(" ", 1)[1], f"/{c.name}") for c in registry.groups()[group]],
    )
