"""/remind: snooze a reminder, mute or unmute a kind, see what reminds me."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.clock import as_utc
from domain.kernel.i18n import N_, _, fmt_datetime, translate
from domain.kernel.vocab import Vocabulary
from domain.store.models import Member
from domain.team.reminders import set_muted, snooze
from handlers.agenda import agenda_reply
from handlers.args import Args, OneOf, Text
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Reply, Section

commands = Registry()

# the two snooze choices, in the words people type (the reminders' buttons say "In 1 hour", "Tomorrow morning")
SNOOZE_UNTIL = Vocabulary(
    N_("until"), {"1h": N_("In 1 hour"), "tomorrow": N_("Tomorrow morning")},
    {"1小时": "1h", "一小时": "1h", "1 hour": "1h", "an hour": "1h", "hour": "1h", "明天": "tomorrow",
     "明早": "tomorrow", "明天早上": "tomorrow", "morning": "tomorrow"})
Until = Annotated[str, OneOf(SNOOZE_UNTIL)]


class SnoozeArgs(Args):
    ref: Text = Field(description=N_("what to snooze, e.g. CB7"))
    until: Until = Field("1h", description=N_("1h, or tomorrow (the next working morning)"))


@commands.command("remind snooze", N_("Remind me again later: in an hour or tomorrow morning."), SnoozeArgs,
                  positional=("ref", "until"), examples=("/remind snooze CB7 tomorrow",))
def remind_snooze(ctx: Ctx, args: SnoozeArgs) -> Reply:
    """Snooze a reminder."""
    with ctx.uow() as uow:
        when = snooze(uow, ctx.actor, args.ref, args.until)
    return Reply(text=_("Snoozed {ref} until {time}.").format(
        ref=args.ref.upper(), time=fmt_datetime(as_utc(when), ctx.actor.timezone)))


class KindArgs(Args):
    kind: Text = Field(description=N_("a kind of reminder, e.g. callback"))


@commands.command("remind mute", N_("Stop a kind of reminder for me."), KindArgs, positional=("kind",), greedy=True,
                  examples=("/remind mute callback",))
def remind_mute(ctx: Ctx, args: KindArgs) -> Reply:
    """Mute a kind."""
    with ctx.uow() as uow:
        kinds = set_muted(uow, ctx.actor, args.kind, True)
    return Reply(text=_("You will get no more reminders of {kind}; /remind unmute {kind} brings them back.").format(
        kind=_named(uow.wiring[DUE_KINDS], kinds, args.kind)))


@commands.command("remind unmute", N_("Resume a kind of reminder for me."), KindArgs, positional=("kind",),
                  greedy=True)
def remind_unmute(ctx: Ctx, args: KindArgs) -> Reply:
    """Unmute a kind."""
    with ctx.uow() as uow:
        kinds = set_muted(uow, ctx.actor, args.kind, False)
    return Reply(text=_("Reminders of {kind} are on again.").format(
        kind=_named(uow.wiring[DUE_KINDS], kinds, args.kind)))


def _named(every: Mapping[str, DueKind], kinds: list[str], typed: str) -> str:
    """One kind by its label in the reader's language; several (a label naming them all) as typed."""
    if len(kinds) == 1:
        kind = every.get(kinds[0])
        return translate(kind.label) if kind is not None and kind.label else kinds[0]
    return typed.strip()


class RemindListArgs(Args):
    pass


@commands.command("remind list", N_("Show which reminders I get and what is due."), RemindListArgs)
def remind_list(ctx: Ctx, args: RemindListArgs) -> Reply:
    """Kinds with their muted state, then the agenda."""
    with ctx.uow() as uow:
        member = uow.session.get(Member, ctx.actor.member_id)
        muted = member.muted if member else frozenset()
        every = uow.wiring[DUE_KINDS]
    # by label, as people name them (the four appraisal reminders are one line: 考核提醒)
    groups: dict[str, list[str]] = {}
    for kind in every.values():
        groups.setdefault(translate(kind.label) if kind.label else kind.name, []).append(kind.name)
    kinds = [f"{label} · " + (_("muted") if all(n in muted for n in names) else
                              _("partly muted") if any(n in muted for n in names) else _("on"))
             for label, names in groups.items()]
    agenda = agenda_reply(ctx)
    return Reply(title=_("Reminders"), text=_("/remind mute NAME stops one kind, /remind unmute NAME brings it "
                                              "back (a name below, or a word of it)."),
                 sections=[Section(_("Kinds"), kinds), *agenda.sections], private=True)


commands.describe_group("remind", N_("Snooze, mute and list reminders."))
