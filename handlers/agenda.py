"""/agenda: what is due for me — the same view Slack shows on the bot's Home tab."""
from __future__ import annotations

from domain.kernel.i18n import N_, _, translate
from domain.team.agenda import agenda
from handlers.args import Args
from handlers.context import Ctx
from handlers.format import day
from handlers.registry import Registry
from handlers.replies import Reply, Section

commands = Registry()


class AgendaArgs(Args):
    pass


def agenda_reply(ctx: Ctx) -> Reply:
    """The actor's due items from every registered kind, the most urgent first."""
    with ctx.uow() as uow:
        sections = agenda(uow, ctx.actor)
    return Reply(
        title=_("What is due for {name}").format(name=ctx.actor.name),
        sections=[
            Section(
                translate(title),
                [f"{e.ref} · {day(e.due)} · {e.title}" + (" · " + _("overdue") if e.overdue else "")
                 for e in entries],
                _("nothing due"),
            )
            for title, entries in sections
        ],
        private=True,
    )


@commands.command("agenda", N_("Show what is due for me: callbacks and other due items."), AgendaArgs)
def agenda_command(ctx: Ctx, args: AgendaArgs) -> Reply:
    """My due items."""
    return agenda_reply(ctx)
