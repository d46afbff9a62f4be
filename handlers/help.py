"""/help: what bizbot can do, from the registry itself (the one the adapters dispatch with)."""
from __future__ import annotations

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, translate
from handlers.args import Args
from handlers.context import Ctx
from handlers.registry import Command, Registry
from handlers.replies import Reply, Section

commands = Registry()


class HelpArgs(Args):
    topic: str | None = None


@commands.command("help", N_("Show what bizbot can do, or how to use one command."), HelpArgs,
                  positional=("topic",), greedy=True, examples=("/help", "/help lead new"))
def help_command(ctx: Ctx, args: HelpArgs) -> Reply:
    """Show the commands, or the usage of one command or group."""
    registry = ctx.services.registry
    if not args.topic:
        items = [_line(registry, name, cmds) for name, cmds in sorted(registry.groups().items())]
        return Reply(title=_("bizbot commands"), sections=[Section(_("Commands"), items)],
                     text=_("Type /help COMMAND for details, e.g. /help lead new."), private=True)
    topic = args.topic.lstrip("/").lower()
    if topic in registry.commands:
        cmd = registry.commands[topic]
        options = [
            f"{name}: {translate(info.description)}" if info.description else name
            for name, info in cmd.args.model_fields.items()
        ]
        return Reply(
            title=f"/{cmd.name}",
            text=translate(cmd.summary),
            fields=[(_("Usage"), cmd.usage())],
            sections=[Section(_("Arguments"), options)] + (
                [Section(_("Examples"), list(cmd.examples))] if cmd.examples else []),
            private=True,
        )
    groups = registry.groups()
    if topic in groups:
        return Reply(
            title=f"/{topic}",
            sections=[Section(_("Commands"), [f"{c.usage()} — {translate(c.summary)}" for c in groups[topic]])],
            private=True,
        )
    raise Invalid(N_("No help for '{topic}'. Type /help for the list."), topic=args.topic)


def _line(registry: Registry, group: str, cmds: list[Command]) -> str:
    """A group in the command list: what it is for and, for several commands, their words."""
    summary = translate(registry.summary_of(group))
    if len(cmds) == 1:
        return f"/{group} — {summary}"
    words = [c.name.split(" ", 1)[1] if " " in c.name else f"/{group}" for c in cmds]
    return _("{command} — {summary} ({words})").format(command=f"/{group}", summary=summary.rstrip("。."),
                                                       words=" · ".join(words))
