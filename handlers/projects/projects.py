"""/project list|show|plan|change|done|update|cost|risk|progress|accept|channel: projects after their 立项."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, translate
from domain.projects import projects
from domain.projects.projects import PLAN_STATES, RESULTS, STATES, event_text, iref, pref
from domain.team.access import TEAM_ADMIN_ROLES
from handlers.args import (
    Args,
    ChannelRef,
    DateArg,
    LongText,
    MemberName,
    Money,
    NextDate,
    Risk,
    Text,
    choice,
    choices_of,
    scope,
)
from handlers.context import Ctx
from handlers.format import day, local_day, money, risk
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()

Result = Annotated[str, choice(RESULTS), choices_of(RESULTS)]
ProjectScope = Annotated[str, scope("open", "mine", "all")]


class ListArgs(Args):
    scope: ProjectScope = Field("open", description=N_("open (default), mine or all"))


@commands.command("project list", N_("The projects I may see: under way, mine, or all."), ListArgs,
                  positional=("scope",), examples=("/project list", "/project list mine"))
def project_list(ctx: Ctx, args: ListArgs) -> Reply:
    with ctx.uow() as uow:
        rows = projects.list_projects(uow, ctx.actor, args.scope)
    items = [_("{ref} · {name} · {manager} · {state} · {plan}").format(
        ref=pref(p), name=p.name, manager=manager, state=translate(STATES[p.state]),
        plan=translate(PLAN_STATES[p.plan_state])) for p, manager in rows]
    return Reply(title=_("Projects ({count})").format(count=len(rows)),
                 sections=[Section(_("Projects"), items, _("none"))], private=True)


class RefArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))


@commands.command("project show", N_("A project and its file: request, plan and changes, progress, costs, "
                                     "acceptance."), RefArgs, positional=("ref",), examples=("/project show P1",))
def project_show(ctx: Ctx, args: RefArgs) -> Reply:
    with ctx.uow() as uow:
        v = projects.show(uow, ctx.actor, args.ref)
    p, tz = v.project, ctx.actor.timezone
    fields = [(_("Status"), translate(STATES[p.state])), (_("Plan"), translate(PLAN_STATES[p.plan_state])),
              (_("Project manager"), v.manager), (_("Team"), ", ".join(v.team) or "—"),
              (_("Customer"), v.customer or "—"), (_("Start"), day(p.start)),
              (_("Budget"), money(p.budget, p.currency)), (_("Spent"), money(v.spent, p.currency)),
              (_("Risk"), risk(p.risk, p.risk_note))]
    if v.request is not None:
        fields.insert(0, (_("Initiation"), f"A{v.request.number} · {v.request.fields.get('reason', '')}"))
    plan = []
    for item, owner in v.items:
        line = _("{item} · {title} · {owner} · due {due} · {deliverable}").format(
            item=iref(item), title=item.title, owner=owner, due=day(item.due), deliverable=item.deliverable or "—")
        if item.baseline_due and item.baseline_due != item.due:
            line += " · " + _("baseline {date}").format(date=day(item.baseline_due))
        if item.state == "done" and item.done_at:
            line += " · " + _("done {date}").format(date=local_day(item.done_at, tz))
            if item.filed:
                line += " · " + _("filed: {where}").format(where=item.filed)
        elif item.late:
            line += " · " + _("late")
        plan.append(line)
    late = [_("{item} {title}: {days} days behind the baseline").format(item=iref(x.item), title=x.item.title,
                                                                          days=x.days) for x in v.progress.late]
    history = [f"{local_day(e.at, tz)} · {who} · {event_text(e)}"
               + (f" · {money(e.amount, p.currency)}" if e.amount is not None else "")
               + (f" · {e.note}" if e.note else "") for e, who in v.events]
    buttons = []
    if p.state == "active":
        buttons = [Button(_("Progress"), f"/project progress {pref(p)}"),
                   Button(_("Report progress"), f"/project update {pref(p)}")]
    return Reply(title=_("{ref} · {name}").format(ref=pref(p), name=p.name), fields=fields,
                 sections=[Section(_("Plan"), plan, _("no milestone yet")),
                           Section(_("Deviations from the baseline"), late, _("none")),
                           Section(_("File"), history, _("none"))],
                 buttons=buttons, private=True)


class PlanArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))
    title: LongText = Field(description=N_("the milestone or task, or submit to send the plan for review"))
    owner: MemberName | None = Field(None, description=N_("who answers for it"))
    due: NextDate | None = Field(None, description=N_("its due date"))
    deliverable: LongText | None = Field(None, description=N_("its deliverable (交付成果)"))


_SUBMIT = {"submit", "提交", "送审"}


@commands.command("project plan", N_("Add a milestone to a project's plan, or send the plan for review (submit)."),
                  PlanArgs, positional=("ref", "title"), greedy=True,
                  examples=('/project plan P1 "Requirements signed off" owner=sam due=2026-12-10 '
                            'deliverable="requirements document"', "/project plan P1 submit"))
def project_plan(ctx: Ctx, args: PlanArgs) -> Reply:
    if args.title.strip().lower() in _SUBMIT:
        with ctx.uow() as uow:
            p, req = projects.submit_plan(uow, ctx.actor, args.ref)
            approver = projects.member_name(uow, req.chain[0]["approver_id"])
        return Reply(text=_("The plan of {ref} is sent for review as {request}; first {name}.").format(
            ref=pref(p), request=f"A{req.number}", name=approver))
    if args.owner is None or args.due is None:
        raise Invalid(N_("A milestone needs owner=NAME and due=DATE."))
    with ctx.uow() as uow:
        p, item = projects.add_milestone(uow, ctx.actor, args.ref, args.title, args.owner, args.due,
                                         args.deliverable)
        owner = projects.member_name(uow, item.owner_id)
    return Reply(text=_("{item} added to the plan of {ref}: {title}, {owner}, due {due}.").format(
        item=iref(item), ref=pref(p), title=item.title, owner=owner, due=day(item.due)),
        buttons=[Button(_("Submit the plan"), f"/project plan {pref(p)} submit")])


class ChangeArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))
    reason: LongText = Field(description=N_("why the plan changes"))
    content: LongText = Field(description=N_("what changes"))
    impact: LongText | None = Field(None, description=N_("its impact on schedule, cost and quality"))
    item: Text | None = Field(None, description=N_("the milestone it changes (M2); none adds a milestone"))
    title: LongText | None = Field(None, description=N_("the milestone's new title"))
    owner: MemberName | None = Field(None, description=N_("its new owner"))
    due: NextDate | None = Field(None, description=N_("its new due date"))
    deliverable: LongText | None = Field(None, description=N_("its new deliverable"))


@commands.command("project change", N_("Ask to change an approved plan (变更管理): reason, content, impact."),
                  ChangeArgs, positional=("ref",), ask=("ref", "reason", "content", "impact"),
                  examples=('/project change P1 item=M2 due=2026-12-20 reason="customer late" '
                            'content="M2 moves a week" impact="none on the budget"',))
def project_change(ctx: Ctx, args: ChangeArgs) -> Reply:
    change = projects.Change(args.item, args.title, args.owner, args.due, args.deliverable)
    with ctx.uow() as uow:
        p, req = projects.request_change(uow, ctx.actor, args.ref, args.reason, args.content, args.impact, change)
        approver = projects.member_name(uow, req.chain[0]["approver_id"])
    return Reply(text=_("Change request {request} for the plan of {ref} submitted; first {name}.").format(
        request=f"A{req.number}", ref=pref(p), name=approver))


class DoneArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))
    item: Text = Field(description=N_("the milestone (M2) or rectification (R1)"))
    note: LongText | None = Field(None, description=N_("what was delivered"))
    file: LongText | None = Field(None, description=N_("where the deliverable is filed"))


@commands.command("project done", N_("Mark a milestone or rectification done, with a note."), DoneArgs,
                  positional=("ref", "item"),
                  examples=('/project done P1 M2 note="signed by the customer" file="archive/P1/M2.pdf"',))
def project_done(ctx: Ctx, args: DoneArgs) -> Reply:
    with ctx.uow() as uow:
        p, item = projects.mark_done(uow, ctx.actor, args.ref, args.item, args.note, args.file)
    return Reply(text=_("{item} of {ref} is done: {title}.").format(item=iref(item), ref=pref(p), title=item.title))


class UpdateArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))
    note: LongText = Field(description=N_("what was done, what is in the way, what comes next"))


@commands.command("project update", N_("Report a project's progress (进度)."), UpdateArgs, positional=("ref",),
                  ask=("note",), examples=('/project update P1 note="interfaces tested; data migration next"',))
def project_update(ctx: Ctx, args: UpdateArgs) -> Reply:
    with ctx.uow() as uow:
        p = projects.record_update(uow, ctx.actor, args.ref, args.note)
    return Reply(text=_("Progress of {ref} recorded.").format(ref=pref(p)))


class CostArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))
    amount: Money = Field(description=N_("the amount"))
    note: LongText = Field(description=N_("what it was for"))


@commands.command("project cost", N_("Record a cost against a project's budget."), CostArgs, positional=("ref",),
                  ask=("amount", "note"), examples=('/project cost P1 amount=12000 note="server rental"',))
def project_cost(ctx: Ctx, args: CostArgs) -> Reply:
    with ctx.uow() as uow:
        p, total = projects.record_cost(uow, ctx.actor, args.ref, args.amount, args.note)
    text = _("Cost recorded on {ref}: {spent} spent of {budget}.").format(
        ref=pref(p), spent=money(total, p.currency), budget=money(p.budget, p.currency))
    if total > p.budget:
        text += " " + _("Over the budget.")
    return Reply(text=text)


class RiskArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))
    level: Risk = Field(description=N_("high, medium or low"))
    reason: LongText | None = Field(None, description=N_("why"))


@commands.command("project risk", N_("Set a project's risk level, with why."), RiskArgs, positional=("ref", "level"),
                  examples=('/project risk P1 high reason="key engineer leaving"',))
def project_risk(ctx: Ctx, args: RiskArgs) -> Reply:
    with ctx.uow() as uow:
        p = projects.set_risk(uow, ctx.actor, args.ref, args.level, args.reason)
    return Reply(text=_("Risk of {ref}: {risk}.").format(ref=pref(p), risk=risk(p.risk, p.risk_note)))


@commands.command("project progress", N_("A project's progress and its deviations from the baseline."), RefArgs,
                  positional=("ref",), examples=("/project progress P1",))
def project_progress(ctx: Ctx, args: RefArgs) -> Reply:
    with ctx.uow() as uow:
        pr = projects.show_progress(uow, ctx.actor, args.ref)
    p = pr.project
    fields = [(_("Milestones done"), f"{pr.done}/{pr.total}"),
              (_("Spent"), _("{spent} of {budget}").format(spent=money(pr.spent, p.currency),
                                                           budget=money(p.budget, p.currency)))]
    deviations = [_("{item} {title}: {days} days behind the baseline").format(
        item=iref(x.item), title=x.item.title, days=x.days) for x in pr.late]
    if pr.over > 0:
        deviations.append(_("over the budget by {amount}").format(amount=money(pr.over, p.currency)))
    updates = [f"{local_day(e.at, ctx.actor.timezone)} · {name} · {e.note}" for e, name in pr.updates]
    return Reply(title=_("Progress of {ref} · {name}").format(ref=pref(p), name=p.name), fields=fields,
                 sections=[Section(_("Deviations from the baseline"), deviations, _("none")),
                           Section(_("Progress reported this week"), updates, _("none yet"))], private=True)


class AcceptArgs(Args):
    ref: Text = Field(description=N_("the project (P1)"))
    result: Result = Field(description=N_("passed or failed"))
    note: LongText | None = Field(None, description=N_("the finding; when failed, what to rectify"))
    owner: MemberName | None = Field(None, description=N_("who rectifies (when failed)"))
    due: DateArg | None = Field(None, description=N_("rectified by (when failed)"))


@commands.command("project accept", N_("Record a project's acceptance (验收): passed closes it, failed opens a "
                                       "rectification."), AcceptArgs, positional=("ref", "result"),
                  examples=('/project accept P1 failed note="report incomplete" owner=sam due=2026-12-30',
                            '/project accept P1 passed note="all deliverables accepted"'))
def project_accept(ctx: Ctx, args: AcceptArgs) -> Reply:
    with ctx.uow() as uow:
        p, item = projects.accept(uow, ctx.actor, args.ref, args.result, args.note, args.owner, args.due)
        owner = projects.member_name(uow, item.owner_id) if item else None
    if item is not None:
        return Reply(text=_("Acceptance {round} of {ref} failed: rectification {item} to {owner} by {due}.").format(
            round=p.accept_round, ref=pref(p), item=iref(item), owner=owner, due=day(item.due)))
    return Reply(text=_("{ref} passed its acceptance and is closed; its archive is filed (/project show {ref}).")
                 .format(ref=pref(p)))


class ChannelArgs(Args):
    channel: ChannelRef | None = Field(None, description=N_("the channel for project notices; leave out for none"))


@commands.command("project channel", N_("Set the channel where project notices are posted."), ChannelArgs,
                  positional=("channel",), roles=TEAM_ADMIN_ROLES, examples=("/project channel projects",))
def project_channel(ctx: Ctx, args: ChannelArgs) -> Reply:
    with ctx.uow() as uow:
        projects.set_channel(uow, ctx.actor, args.channel)
    if args.channel:
        return Reply(text=_("Project notices will be posted to {channel}.").format(channel=args.channel))
    return Reply(text=_("Project notices go to the project's people only."))


commands.describe_group("project", N_("Projects: initiation (立项), plan, progress, costs, acceptance, archive."))
