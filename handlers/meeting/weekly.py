"""/meeting, /digest and /action: the weekly meeting (部门例会), its digest, minutes and action items."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from domain.kernel.i18n import N_, _, fmt_datetime, fmt_list, lang_name
from domain.meeting import weekly as meeting
from domain.team.access import ref
from handlers.args import Args, ChannelRef, DateArg, LongText, MemberName, NextDate, Text
from handlers.context import Ctx
from handlers.format import day
from handlers.registry import Registry
from handlers.replies import Reply, Section

commands = Registry()


def _checked(parse: Any) -> BeforeValidator:
    """Check a schedule value as it is typed; the domain stores it in its own form."""
    def check(value: Any) -> str:
        text = str(value).strip()
        parse(text)
        return text
    return BeforeValidator(check)


Weekday = Annotated[str, _checked(meeting.parse_weekday)]
Clock = Annotated[str, _checked(meeting.parse_clock)]
AskWhen = Annotated[str, _checked(meeting.parse_ask)]

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))


class MeetingSetArgs(Args):
    day: Weekday | None = Field(None, description=N_("the meeting's day: monday … sunday, or 周一 … 周日"))
    time: Clock | None = Field(None, description=N_("the meeting's local time, e.g. 09:30"))
    channel: ChannelRef | None = Field(None, description=N_("where the digest is posted"))
    reporters: Text | None = Field(None, description=N_("who reports: roles or names, e.g. sales,service"))
    ask: AskWhen | None = Field(None, description=N_("when updates are asked for: 15:00 on the working day "
                                                      "before, or a span before such as 3h"))
    lang: Text | None = Field(None, description=N_("the digest's language: en or zh"))


def _ask_text(sched: meeting.Schedule) -> str:
    if sched.ask.endswith("m"):
        return _("{minutes} minutes before the meeting").format(minutes=int(sched.ask[:-1]))
    return _("{time} on the working day before").format(time=sched.ask)


def _plan_reply(ctx: Ctx, plan: meeting.Plan, title: str) -> Reply:
    sched = plan.schedule
    tz = ctx.actor.timezone
    return Reply(
        title=title,
        fields=[
            (_("Weekly on"), f"{_(WEEKDAYS[sched.day])} {sched.at.strftime('%H:%M')}"),
            (_("Next meeting"), fmt_datetime(plan.meeting, tz)),
            (_("Updates asked for"), _("{when} ({time})").format(when=_ask_text(sched),
                                                                 time=fmt_datetime(plan.ask, tz))),
            (_("Channel"), plan.channel),
            (_("Language"), lang_name(plan.lang)),
            (_("Reporters"), fmt_list([m.name for m in plan.reporters]) or _("nobody")),
        ],
        private=True,
    )


@commands.command("meeting set", N_("Set the weekly meeting: day, time, channel, reporters, when to ask."),
                  MeetingSetArgs, roles=meeting.CHAIR_ROLES,
                  examples=("/meeting set day=monday time=09:30 channel=sales reporters=sales,service ask=15:00",
                            "/meeting set day=周一 time=9点半"))
def meeting_set(ctx: Ctx, args: MeetingSetArgs) -> Reply:
    """Turn on or change the weekly meeting."""
    with ctx.uow() as uow:
        meeting.configure(uow, ctx.actor, day=args.day, at=args.time, channel=args.channel,
                          reporters=args.reporters, ask=args.ask, lang=args.lang)
    with ctx.uow() as uow:
        plan = meeting.show(uow, ctx.actor)
    return _plan_reply(ctx, plan, _("Weekly meeting set"))


class NoArgs(Args):
    pass


@commands.command("meeting show", N_("Show the weekly meeting's schedule and who reports."), NoArgs)
def meeting_show(ctx: Ctx, args: NoArgs) -> Reply:
    """The schedule and the next meeting."""
    with ctx.uow() as uow:
        plan = meeting.show(uow, ctx.actor)
    reply = _plan_reply(ctx, plan, _("Weekly meeting"))
    if not plan.schedule.enabled:
        reply.text = _("The weekly meeting is not set up yet; /meeting set turns it on with these defaults.")
    return reply


class UpdateArgs(Args):
    done: LongText = Field(description=N_("what you did last week"))
    problems: LongText = Field(description=N_("problems you met"))
    plan: LongText = Field(description=N_("your plan for this week"))


@commands.command("meeting update", N_("Send my update for the weekly meeting."), UpdateArgs,
                  ask=("done", "problems", "plan"),
                  examples=('/meeting update done="3 visits" problems="none" plan="close Acme"',))
def meeting_update(ctx: Ctx, args: UpdateArgs) -> Reply:
    """Record the actor's answers for the next meeting."""
    with ctx.uow() as uow:
        _week, held = meeting.record_update(uow, ctx.actor, args.done, args.problems, args.plan)
    return Reply(text=_("Thank you — your update for the meeting on {time} is in.").format(
        time=fmt_datetime(held, ctx.actor.timezone)), private=True)


class MinutesArgs(Args):
    text: LongText = Field(description=N_("the meeting's decisions"))


@commands.command("meeting minutes", N_("Record the meeting's minutes (decisions)."), MinutesArgs,
                  positional=("text",), greedy=True, roles=meeting.CHAIR_ROLES,
                  examples=('/meeting minutes "Focus on key accounts; price list by Friday"',))
def meeting_minutes(ctx: Ctx, args: MinutesArgs) -> Reply:
    """Record minutes for the latest meeting."""
    with ctx.uow() as uow:
        row, week = meeting.record_minutes(uow, ctx.actor, args.text)
    return Reply(text=_("Minutes recorded for the week of {date}. Add action items with /action NAME \"what\" "
                        "due=DATE.").format(date=day(week)))


class NotesArgs(Args):
    week: DateArg | None = Field(None, description=N_("any day of the meeting's week (default: the latest meeting)"))


@commands.command("meeting notes", N_("Show the minutes recorded for a meeting."), NotesArgs, positional=("week",),
                  examples=("/meeting notes", "/meeting notes 2026-11-23"))
def meeting_notes(ctx: Ctx, args: NotesArgs) -> Reply:
    """The minutes of the latest meeting, or of the meeting in a given week."""
    with ctx.uow() as uow:
        week, rows = meeting.minutes_of(uow, ctx.actor, args.week)
    items = [f"{fmt_datetime(m.at, ctx.actor.timezone)} · {author.name}: {m.text}" for m, author in rows]
    return Reply(title=_("Minutes of the meeting in the week of {date}").format(date=day(week)),
                 sections=[Section(_("Minutes"), items, _("none recorded"))], private=True)


commands.describe_group("meeting", N_("The weekly meeting: schedule, updates, minutes."))


class DigestArgs(Args):
    week: DateArg | None = Field(None, description=N_("any day of the meeting's week (default: the latest meeting)"))


@commands.command("digest", N_("Show the weekly meeting's digest: answers, figures, action items."), DigestArgs,
                  positional=("week",), examples=("/digest", "/digest 2026-11-30", "/digest 下周一"))
def digest(ctx: Ctx, args: DigestArgs) -> Reply:
    """The digest, in the reader's language; the chart follows as a message."""
    with ctx.uow() as uow:
        d = meeting.digest_on_demand(uow, ctx.actor, args.week)
    title, sections = meeting.digest_sections(d)
    return Reply(title=title, sections=[Section(s.title, s.items, s.empty) for s in sections],
                 text=_("The chart follows in a message."), private=True)


class ActionArgs(Args):
    name: MemberName = Field(description=N_("who does it"))
    what: LongText = Field(description=N_("what is to be done"))
    due: NextDate = Field(description=N_("by when"))


@commands.command("action", N_("Create a meeting action item for someone, with a due date."), ActionArgs,
                  positional=("name", "what"), greedy=True, ask=("name", "what", "due"),
                  examples=('/action alice "send Acme the price list" due=friday',))
def action(ctx: Ctx, args: ActionArgs) -> Reply:
    """Create an action item."""
    with ctx.uow() as uow:
        item, owner = meeting.create_action(uow, ctx.actor, args.name, args.what, args.due)
    return Reply(text=_("Action item {ref} for {name}, due {date}: {what}").format(
        ref=ref("A", item.number), name=owner.name, date=day(item.due_date), what=item.what))


class ActionDoneArgs(Args):
    item: Text = Field(description=N_("action item reference, e.g. A3"))


@commands.command("action done", N_("Mark an action item done."), ActionDoneArgs, positional=("item",),
                  examples=("/action done A3",))
def action_done(ctx: Ctx, args: ActionDoneArgs) -> Reply:
    """Close an action item."""
    with ctx.uow() as uow:
        item = meeting.complete_action(uow, ctx.actor, args.item)
    return Reply(text=_("Action item {ref} is done.").format(ref=ref("A", item.number)))


@commands.command("action list", N_("List the open action items."), NoArgs)
def action_list(ctx: Ctx, args: NoArgs) -> Reply:
    """Open action items, the earliest due first."""
    with ctx.uow() as uow:
        rows = meeting.list_actions(uow, ctx.actor)
    items = [f"{ref('A', a.number)} · {owner.name} · {a.what} · {day(a.due_date)}"
             + (" · " + _("overdue") if a.due_date < ctx.today else "") for a, owner in rows]
    return Reply(title=_("Open action items ({count})").format(count=len(rows)),
                 sections=[Section(_("Action items"), items, _("none"))], private=True)


commands.describe_group("action", N_("Meeting action items."))
