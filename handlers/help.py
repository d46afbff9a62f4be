"""/help: what bizbot can do, from the registry itself (the one the adapters dispatch with)."""
from __future__ import annotations

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, current_locale, lang_name, sentences, sort_key, translate
from handlers.args import Args
from handlers.context import Ctx
from handlers.registry import Command, Registry, shown_name, shown_subs, zh_reader
from handlers.replies import Reply, Section
from handlers.words import canonical

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
        if zh_reader():
            items.sort(key=lambda line: sort_key(line.split(" ", 1)[0]))
        return Reply(title=_("bizbot commands"), sections=[Section(_("Commands"), items)],
                     text=_("Type /help COMMAND for details, e.g. /help lead new."), private=True)
    topic = " ".join(canonical("/" + args.topic.lstrip("/／")).lstrip("/").lower().split())
    if topic in registry.commands:
        cmd = registry.commands[topic]
        options = [
            _("{name}: {meaning}").format(name=_argument(cmd, name), meaning=translate(info.description))
            if info.description else _argument(cmd, name)
            for name, info in cmd.args.model_fields.items()
        ]
        return Reply(
            title=f"/{shown_name(cmd.name)}",
            text=translate(cmd.summary),
            fields=[(_("Usage"), cmd.usage())],
            sections=[Section(_("Arguments"), options)] + (
                [Section(_("Examples"), [translate(e) for e in cmd.examples])] if cmd.examples else []),
            private=True,
        )
    groups = registry.groups()
    if topic in groups:
        return Reply(
            title=f"/{shown_name(topic)}",
            sections=[Section(_("Commands"), [f"{c.usage()} — {translate(c.summary)}" for c in groups[topic]])],
            private=True,
        )
    raise Invalid(N_("No help for '{topic}'. Type /help for the list."), topic=args.topic)


def first_welcome(name: str) -> str:
    """What the first member of a department reads (in the department's language): who they are now, which
    language bizbot speaks, and how to switch it."""
    other = "英文" if zh_reader() else "zh"
    return sentences(
        _("Welcome, {name}! You are the first member, so you are admin and manager.").format(name=name),
        _("I speak {language} in this department; to switch, type {command}.").format(
            language=lang_name(current_locale()), command=f"/{shown_name('settings deptlang')} {other}"),
        _("Type /help to begin."))


def _argument(cmd: Command, name: str) -> str:
    """An argument as the help lists it: a positional's placeholder, an option's name as typed."""
    return cmd.placeholder(name) if name in cmd.positional else cmd.option(name)


def _line(registry: Registry, group: str, cmds: list[Command]) -> str:
    """A group in the command list: what it is for and, for several commands, their words."""
    summary = translate(registry.summary_of(group))
    command = f"/{shown_name(group)}"
    if len(cmds) == 1:
        return f"{command} — {summary}"
    words = [shown_subs(group, [c.name.split(" ", 1)[1]])[0] if " " in c.name else command for c in cmds]
    return _("{command} — {summary} ({words})").format(command=command, summary=summary.rstrip("。."),
                                                       words=" · ".join(words))
