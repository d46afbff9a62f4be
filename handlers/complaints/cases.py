"""/complaint and /kpi complaints: customer complaints (客户投诉处理) and their KPIs."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from domain.complaints import cases as complaints
from domain.complaints.cases import COMPLAINT_CHANNELS, SEVERITIES, STATUSES, STEP_LABELS
from domain.kernel.errors import DomainError, Invalid
from domain.kernel.i18n import N_, _, fmt_date, fmt_datetime, sentences, translate
from domain.kernel.notes import note_text
from domain.kernel.periods import parse_period
from domain.kernel.vocab import Vocabulary
from domain.reporting.figures import MEASURES
from domain.store.models import Complaint
from domain.team.access import TEAM_ADMIN_ROLES
from handlers.args import (
    Args,
    ChannelRef,
    LongText,
    MemberName,
    OneOf,
    Score,
    Text,
    choice,
    choices_of,
    scope,
)
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()

Severity = Annotated[str, choice(SEVERITIES), choices_of(SEVERITIES)]
ComplaintChannel = Annotated[str, choice(COMPLAINT_CHANNELS), choices_of(COMPLAINT_CHANNELS)]
Span = Annotated[str, BeforeValidator(lambda v: "{}{}".format(*complaints.parse_span(str(v))))]


def _when(ctx: Ctx, value: datetime) -> str:
    return fmt_datetime(value, ctx.actor.timezone)


def _q(c: Complaint) -> str:
    return f"Q{c.number}"


class ComplaintNewArgs(Args):
    # plain text, not the customer picker: a service member logs complaints for customers the picker
    # (which lists the actor's own customers) would not offer; the use case finds the customer
    customer: Text = Field(description=N_("customer name or reference"))
    severity: Severity = Field(description=N_("low, medium, high or critical"))
    what: LongText = Field(description=N_("what the customer complains about"))
    wants: LongText = Field(description=N_("what the customer asks for"))
    contact: Text | None = Field(None, description=N_("who to contact and how"))
    channel: ComplaintChannel = Field("phone", description=N_("phone, email, online or visit"))
    assignee: MemberName | None = Field(None, description=N_("who handles it (default: the customer's owner)"))


@commands.command("complaint new", N_("Log a customer complaint; deadlines are promised from the SLA policy."),
                  ComplaintNewArgs, positional=("customer",), greedy=True,
                  ask=("customer", "severity", "what", "wants", "channel"),
                  examples=("/complaint new Acme severity=high what=\"late delivery\" wants=\"delivery this week\" "
                            "channel=phone",))
def complaint_new(ctx: Ctx, args: ComplaintNewArgs) -> Reply:
    """Intake (受理)."""
    with ctx.uow() as uow:
        intake = complaints.log_complaint(
            uow, ctx.actor, args.customer, severity=args.severity, what=args.what, wants=args.wants,
            contact=args.contact, channel=args.channel, assignee=args.assignee)
    c = intake.complaint
    text = sentences(
        _("Complaint {ref} from {customer} logged ({severity}), assigned to {assignee}.").format(
            ref=_q(c), customer=intake.customer.name, severity=SEVERITIES.label(c.severity),
            assignee=intake.assignee.name),
        _("Promise to the customer: a response by {respond_by}, a resolution by {resolve_by}.").format(
            respond_by=_when(ctx, c.respond_by), resolve_by=_when(ctx, c.resolve_by)))
    return Reply(text=text, buttons=[Button(_("Show"), f"/complaint show {_q(c)}"),
                                     Button(_("Update"), f"/complaint update {_q(c)}")])


class ComplaintRefArgs(Args):
    complaint: Text = Field(description=N_("complaint reference, e.g. Q7"))


class ComplaintAssignArgs(Args):
    complaint: Text = Field(description=N_("complaint reference, e.g. Q7"))
    member: MemberName = Field(description=N_("who handles it from now on"))


@commands.command("complaint assign", N_("Give a complaint to another member."), ComplaintAssignArgs,
                  positional=("complaint", "member"), greedy=True, examples=("/complaint assign Q7 alice",))
def complaint_assign(ctx: Ctx, args: ComplaintAssignArgs) -> Reply:
    """Assign or reassign (调查 by the responsible member)."""
    with ctx.uow() as uow:
        c, member = complaints.assign(uow, ctx.actor, args.complaint, args.member)
    return Reply(text=_("{ref} is now assigned to {name}.").format(ref=_q(c), name=member.name))


@commands.command("complaint take", N_("Take a complaint over: it becomes yours."), ComplaintRefArgs,
                  positional=("complaint",))
def complaint_take(ctx: Ctx, args: ComplaintRefArgs) -> Reply:
    """Take over."""
    with ctx.uow() as uow:
        c = complaints.take_over(uow, ctx.actor, args.complaint)
    return Reply(text=_("{name} took over {ref}.").format(ref=_q(c), name=ctx.actor.name))


@commands.command("complaint ack", N_("Acknowledge a complaint's escalation (it goes no higher)."),
                  ComplaintRefArgs, positional=("complaint",))
def complaint_ack(ctx: Ctx, args: ComplaintRefArgs) -> Reply:
    """Acknowledge an escalation."""
    with ctx.uow() as uow:
        c = complaints.acknowledge(uow, ctx.actor, args.complaint)
    return Reply(text=_("{name} acknowledged the escalation of {ref}.").format(ref=_q(c), name=ctx.actor.name))


class ComplaintNoteArgs(Args):
    complaint: Text = Field(description=N_("complaint reference, e.g. Q7"))
    note: LongText = Field(description=N_("what the customer was told"))


@commands.command("complaint update", N_("Record progress the customer was told (the first one is the response)."),
                  ComplaintNoteArgs, positional=("complaint",),
                  examples=("/complaint update Q7 note=\"called the customer, replacement on its way\"",))
def complaint_update(ctx: Ctx, args: ComplaintNoteArgs) -> Reply:
    """Tracking (处理跟踪)."""
    with ctx.uow() as uow:
        c = complaints.record_update(uow, ctx.actor, args.complaint, args.note)
    return Reply(text=_("Progress on {ref} recorded.").format(ref=_q(c)))


class ComplaintSolutionArgs(Args):
    complaint: Text = Field(description=N_("complaint reference, e.g. Q7"))
    solution: LongText = Field(description=N_("the solution agreed with the customer"))


@commands.command("complaint solution", N_("Record the solution agreed with the customer."),
                  ComplaintSolutionArgs, positional=("complaint", "solution"), greedy=True,
                  examples=("/complaint solution Q7 \"replace the unit and waive the fee\"",))
def complaint_solution(ctx: Ctx, args: ComplaintSolutionArgs) -> Reply:
    """Solution (解决方案)."""
    with ctx.uow() as uow:
        c = complaints.record_solution(uow, ctx.actor, args.complaint, args.solution)
    return Reply(text=_("Solution for {ref} recorded.").format(ref=_q(c)),
                 buttons=[Button(_("Resolved"), f"/complaint resolve {_q(c)}")])


class ComplaintResolveArgs(Args):
    complaint: Text = Field(description=N_("complaint reference, e.g. Q7"))
    note: LongText | None = Field(None, description=N_("how it was resolved"))


@commands.command("complaint resolve", N_("Mark a complaint resolved; a satisfaction callback follows."),
                  ComplaintResolveArgs, positional=("complaint",), examples=("/complaint resolve Q7",))
def complaint_resolve(ctx: Ctx, args: ComplaintResolveArgs) -> Reply:
    """Resolved: escalation stops, the callback is scheduled."""
    with ctx.uow() as uow:
        c, cb = complaints.resolve(uow, ctx.actor, args.complaint, args.note)
    text = sentences(_("{ref} resolved.").format(ref=_q(c)),
                     _("Satisfaction callback {cb} is due {date}.").format(cb=f"CB{cb.number}",
                                                                            date=fmt_date(cb.due_date)))
    return Reply(text=text)


OUTCOMES = Vocabulary(
    N_("outcome"), {"satisfied": N_("satisfied"), "unsatisfied": N_("not satisfied")},
    {"满意": "satisfied", "非常满意": "satisfied", "基本满意": "satisfied", "不满意": "unsatisfied",
     "不太满意": "unsatisfied", "很不满意": "unsatisfied", "not satisfied": "unsatisfied",
     "dissatisfied": "unsatisfied"})
Outcome = Annotated[str, OneOf(OUTCOMES)]


class ComplaintCallbackArgs(Args):
    complaint: Text = Field(description=N_("complaint reference, e.g. Q7"))
    outcome: Outcome = Field(description=N_("satisfied or unsatisfied"))
    note: LongText | None = Field(None, description=N_("what the customer said"))
    satisfaction: Score | None = Field(None, description=N_("the customer's satisfaction, 1 to 5"))


@commands.command("complaint callback", N_("Record the satisfaction callback: satisfied closes, unsatisfied reopens."),
                  ComplaintCallbackArgs, positional=("complaint", "outcome"),
                  examples=("/complaint callback Q7 satisfied",
                            "/complaint callback Q7 unsatisfied note=\"still broken\" satisfaction=2"))
def complaint_callback(ctx: Ctx, args: ComplaintCallbackArgs) -> Reply:
    """Callback (回访)."""
    with ctx.uow() as uow:
        c = complaints.record_callback(uow, ctx.actor, args.complaint, args.outcome == "satisfied", args.note,
                                       args.satisfaction)
    if c.status == "closed":
        return Reply(text=_("The customer is satisfied: {ref} is closed.").format(ref=_q(c)))
    return Reply(text=sentences(
        _("The customer is not satisfied: {ref} is reopened.").format(ref=_q(c)),
        _("New promise: a response by {respond_by}, a resolution by {resolve_by}.").format(
            respond_by=_when(ctx, c.respond_by), resolve_by=_when(ctx, c.resolve_by))))


@commands.command("complaint close", N_("Close a resolved complaint without a callback (say why)."),
                  ComplaintNoteArgs, positional=("complaint",),
                  examples=("/complaint close Q7 note=\"customer unreachable after three calls\"",))
def complaint_close(ctx: Ctx, args: ComplaintNoteArgs) -> Reply:
    """Close."""
    with ctx.uow() as uow:
        c = complaints.close(uow, ctx.actor, args.complaint, args.note)
    return Reply(text=_("{ref} is closed.").format(ref=_q(c)))


def _step_line(ctx: Ctx, step: Any, actor: Any, target: Any) -> str:
    parts = [_when(ctx, step.at), translate(STEP_LABELS.get(step.kind, step.kind))]
    if actor is not None:
        parts.append(actor.name)
    if target is not None:
        parts.append("→ " + target.name)
    if step.note:
        parts.append(translate(complaints.DEADLINES[step.note]) if step.note in complaints.DEADLINES
                     else note_text(step.note))
    return " · ".join(parts)


@commands.command("complaint show", N_("Show a complaint and its timeline."), ComplaintRefArgs,
                  positional=("complaint",))
def complaint_show(ctx: Ctx, args: ComplaintRefArgs) -> Reply:
    """One complaint with every step timestamped."""
    with ctx.uow() as uow:
        v = complaints.show(uow, ctx.actor, args.complaint)
    c = v.complaint
    status = translate(STATUSES[c.status])
    if complaints.is_overdue(c, ctx.now):
        status += " · " + _("overdue")
    fields = [
        (_("Customer"), f"{v.customer.name} (C{v.customer.number})"),
        (_("Severity"), SEVERITIES.label(c.severity)),
        (_("Status"), status),
        (_("What happened"), c.what),
        (_("Customer wants"), c.wants),
        (_("Contact"), c.contact or "—"),
        (_("Channel"), COMPLAINT_CHANNELS.label(c.channel)),
        (_("Assignee"), v.assignee.name),
        (_("Logged by"), v.created_by.name),
        (_("Response promised by"), _when(ctx, c.respond_by)
         + (" · " + _("answered {time}").format(time=_when(ctx, c.responded_at)) if c.responded_at else "")),
        (_("Resolution promised by"), _when(ctx, c.resolve_by)),
    ]
    if c.solution:
        fields.append((_("Solution"), c.solution))
    buttons = []
    if c.status in complaints.ACTIVE:
        buttons = [Button(_("Update"), f"/complaint update {_q(c)}"),
                   Button(_("Resolved"), f"/complaint resolve {_q(c)}")]
    elif c.status == "resolved":
        buttons = [Button(_("Satisfied"), f"/complaint callback {_q(c)} satisfied"),
                   Button(_("Unsatisfied"), f"/complaint callback {_q(c)} unsatisfied")]
    return Reply(title=_("Complaint {ref}").format(ref=_q(c)), fields=fields,
                 sections=[Section(_("Timeline"), [_step_line(ctx, *row) for row in v.steps])],
                 buttons=buttons, private=True)


ComplaintScope = Annotated[str, scope("open", "overdue", "mine", "team")]


class ComplaintListArgs(Args):
    scope: ComplaintScope = Field("open", description=N_("open, overdue, mine or team"))


@commands.command("complaint list", N_("List complaints: open, overdue, mine or my team's."), ComplaintListArgs,
                  positional=("scope",), examples=("/complaint list overdue",))
def complaint_list(ctx: Ctx, args: ComplaintListArgs) -> Reply:
    """Complaints in scope, the nearest promise first."""
    with ctx.uow() as uow:
        rows = complaints.list_complaints(uow, ctx.actor, args.scope)
    items = []
    for c, customer, assignee in rows:
        line = " · ".join([_q(c), customer.name, SEVERITIES.label(c.severity), translate(STATUSES[c.status]),
                           assignee.name, _("resolve by {time}").format(time=_when(ctx, c.resolve_by))])
        if complaints.is_overdue(c, ctx.now):
            line += " · " + _("overdue")
        items.append(line)
    return Reply(title=_("Complaints ({count})").format(count=len(rows)),
                 sections=[Section(_("Complaints"), items, _("none"))], private=True)


POLICY_ACTIONS = Vocabulary(N_("action"), {"show": N_("show"), "set": N_("set")},
                            {"查看": "show", "显示": "show", "设置": "set", "修改": "set"})
PolicyAction = Annotated[str, OneOf(POLICY_ACTIONS)]
COUNTINGS = Vocabulary(N_("time counted"), {"working": N_("working time"), "calendar": N_("calendar time")},
                       {"工作时间": "working", "工作日": "working", "自然时间": "calendar", "自然日": "calendar"})
Counting = Annotated[str, OneOf(COUNTINGS)]


class PolicyArgs(Args):
    action: PolicyAction = Field("show", description=N_("show, or set"))
    severity: Severity | None = Field(None, description=N_("the severity to change"))
    response: Span | None = Field(None, description=N_("response deadline, e.g. 4h or 1d"))
    resolution: Span | None = Field(None, description=N_("resolution deadline, e.g. 2d"))
    remind: Span | None = Field(None, description=N_("remind the assignee this long before each deadline"))
    manager: Span | None = Field(None, description=N_("escalate to the manager this long after a missed deadline"))
    hours: Counting | None = Field(
        None, description=N_("count in working hours on working days, or in calendar time"))


def _policy_line(severity: str, rules: dict[str, Any]) -> str:
    counted = _("working time") if rules["working_hours"] else _("calendar time")
    return _("{severity}: response {response}, resolution {resolution} ({counted}); reminder {remind} before, "
             "manager {manager} after").format(
        severity=SEVERITIES.label(severity), response=rules["response"], resolution=rules["resolution"],
        counted=counted, remind=rules["remind"], manager=rules["manager_after"])


@commands.command("complaint policy", N_("Show or set the complaint SLA policy (deadlines per severity)."),
                  PolicyArgs, positional=("action", "severity"),
                  examples=("/complaint policy", "/complaint policy set high response=2h resolution=1d hours=working"))
def complaint_policy(ctx: Ctx, args: PolicyArgs) -> Reply:
    """The SLA policy."""
    if args.action == "set":
        if args.severity is None:
            raise Invalid(N_("Missing {name}. Usage: {usage}"), name="SEVERITY",
                          usage="/complaint policy set SEVERITY [response=…] [resolution=…] [remind=…] [manager=…] "
                                "[hours=working|calendar]")
        changes = {"response": args.response, "resolution": args.resolution, "remind": args.remind,
                   "manager_after": args.manager,
                   "working_hours": None if args.hours is None else args.hours == "working"}
        with ctx.uow() as uow:
            rules = complaints.set_policy(uow, ctx.actor, args.severity, changes)
        return Reply(text=sentences(_("Complaint policy changed."), _policy_line(args.severity, rules)))
    with ctx.uow() as uow:
        rules, channel, hours, duty = complaints.show_policy(uow, ctx.actor)
    return Reply(title=_("Complaint SLA policy"),
                 fields=[(_("Working hours"), hours), (_("Escalation channel"), channel or "—"),
                         (_("On duty"), duty or _("the service member with the fewest open complaints"))],
                 sections=[Section(_("Deadlines"), [_policy_line(s, r) for s, r in rules.items()])], private=True)


class ChannelArgs(Args):
    channel: ChannelRef = Field(description=N_("the channel for escalation pings, or - for none"))


@commands.command("complaint channel", N_("Set the channel where complaint escalations are posted."), ChannelArgs,
                  positional=("channel",), roles=TEAM_ADMIN_ROLES, examples=("/complaint channel #escalations",))
def complaint_channel(ctx: Ctx, args: ChannelArgs) -> Reply:
    """The escalation channel."""
    with ctx.uow() as uow:
        channel = complaints.set_escalation_channel(uow, ctx.actor, args.channel)
    if channel is None:
        return Reply(text=_("Escalations are sent by direct message only."))
    return Reply(text=_("Escalations will be posted in {channel}.").format(channel=channel))


class HoursArgs(Args):
    hours: Text = Field(description=N_("the working day, e.g. 09:00-18:00"))


@commands.command("complaint hours", N_("Set the working day that working-time deadlines count in."), HoursArgs,
                  positional=("hours",), roles=TEAM_ADMIN_ROLES, examples=("/complaint hours 08:30-17:30",))
def complaint_hours(ctx: Ctx, args: HoursArgs) -> Reply:
    """The working hours of the complaint policy."""
    with ctx.uow() as uow:
        value = complaints.set_work_hours(uow, ctx.actor, args.hours)
    return Reply(text=_("Working-time deadlines now count {hours} on working days; deadlines already promised "
                        "keep their time.").format(hours=value))


class OnDutyArgs(Args):
    member: MemberName = Field(description=N_("the service member on duty, or - for the least-loaded rule"))


@commands.command("complaint onduty", N_("Set who is on duty for complaints nobody else takes."), OnDutyArgs,
                  positional=("member",), greedy=True, roles=TEAM_ADMIN_ROLES, examples=("/complaint onduty carol",))
def complaint_onduty(ctx: Ctx, args: OnDutyArgs) -> Reply:
    """The on-duty member."""
    with ctx.uow() as uow:
        member = complaints.set_on_duty(uow, ctx.actor, args.member)
    if member is None:
        return Reply(text=_("Unassigned complaints go to the service member with the fewest open complaints."))
    return Reply(text=_("{name} is on duty for complaints.").format(name=member.name))


commands.describe_group("complaint", N_("Customer complaints, their deadlines and escalations."))


class KpiArgs(Args):
    who: Text | None = Field(None, description=N_("me, a member's name, team, or all"))
    period: Text | None = Field(None, description=N_("week, lastweek, month, lastmonth, quarter, year, 2026-11, 30d"))


@commands.command("kpi complaints", N_("Complaint KPIs: handling timeliness and resolution rates."), KpiArgs,
                  positional=("who", "period"), examples=("/kpi complaints team lastmonth", "/kpi complaints alice"))
def kpi_complaints(ctx: Ctx, args: KpiArgs) -> Reply:
    """投诉处理及时率 and 解决率, with counts."""
    who, period = args.who, args.period
    if who and period is None and who.lower() not in ("me", "team", "all", "department", "dept"):
        try:
            parse_period(who, ctx.today)
            who, period = None, who
        except DomainError:
            pass
    first, end_day = parse_period(period, ctx.today)
    with ctx.uow() as uow:
        k = complaints.complaint_kpis(uow, ctx.actor, who.lower() if who and who.lower() in (
            "me", "team", "all", "department", "dept") else who, first, end_day)
        measures = uow.wiring[MEASURES]
    if k.who:
        subject = k.who
    elif k.team_of:
        subject = _("{name}'s team").format(name=k.team_of)
    else:
        subject = _("the department")
    span = f"{fmt_date(first)} – {fmt_date(end_day - timedelta(days=1))}"
    lines = []
    for key, fig in k.figures.items():
        label = translate(measures[key].label)
        lines.append(_("{measure}: {value} ({basis})").format(measure=label, value=fig.shown(), basis=fig.explain()))
    return Reply(title=_("Complaint KPIs for {who}, {period}").format(who=subject, period=span),
                 sections=[Section(_("Figures"), lines)], private=True)


commands.describe_group("kpi", N_("Key figures (KPIs)."))
