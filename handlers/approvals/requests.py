"""/approve, /reject, /changes, /approvals, /policy and /delegate: deciding requests and shaping their chains."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from domain.approvals import engine as approvals
from domain.approvals.policy import REQUEST_KINDS, TYPE_LABELS, TYPES, shown_chain, shown_condition
from domain.delivery.outbox import decode, encode
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, current_locale, sentences, translate
from domain.team.access import TEAM_ADMIN_ROLES
from handlers.args import (
    Args,
    ChannelRef,
    Days,
    LongText,
    MemberName,
    Money,
    NextDate,
    OneOf,
    Text,
    scope,
)
from handlers.context import Ctx
from handlers.format import day, local_day
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


def _msg(ctx: Ctx, msgid: str, params: dict) -> str:
    """A domain message with parameters (as the outbox keeps them), rendered for the actor."""

    return translate(msgid).format(**{k: decode(encode(v), ctx.actor.timezone) for k, v in params.items()})


def _decided_text(d: approvals.Decided) -> str:
    r = approvals.rref(d.request)
    outcome = translate(approvals.OUTCOMES[d.outcome])
    text = _("{ref}: step {step} ({role}) {outcome}.").format(
        ref=r, step=d.step + 1, role=translate(approvals.role_label(d.role)), outcome=outcome)
    if d.on_behalf_of:
        text = sentences(text, _("Decided on behalf of {name}.").format(name=d.on_behalf_of))
    if d.next_approver:
        text = sentences(text, _("Next: {name}.").format(name=d.next_approver))
    elif d.request.state == "approved":
        text = sentences(text, _("All steps approved."))
    return text


class ApproveArgs(Args):
    ref: Text = Field(description=N_("the request (A12) or contract (K3)"))
    note: LongText | None = Field(None, description=N_("a note for the requester"))
    step: Text | None = Field(None, description=N_("the step a button was for (round.step)"))


@commands.command("approve", N_("Approve the step of a request that waits for me."), ApproveArgs,
                  positional=("ref",), examples=("/approve A12", "/approve K3 note=\"ok\""))
def approve(ctx: Ctx, args: ApproveArgs) -> Reply:
    """Approve the current step."""
    with ctx.uow() as uow:
        decided = approvals.decide(uow, ctx.actor, args.ref, "approve", args.note, args.step)
    return Reply(text=_decided_text(decided))


class ReasonArgs(Args):
    ref: Text = Field(description=N_("the request (A12) or contract (K3)"))
    reason: LongText = Field(description=N_("why, for the requester"))
    step: Text | None = Field(None, description=N_("the step a button was for (round.step)"))


@commands.command("reject", N_("Reject a request, with a reason."), ReasonArgs, positional=("ref",),
                  ask=("reason",), examples=("/reject A12 reason=\"over budget\"",))
def reject(ctx: Ctx, args: ReasonArgs) -> Reply:
    """Reject the request at the current step."""
    with ctx.uow() as uow:
        decided = approvals.decide(uow, ctx.actor, args.ref, "reject", args.reason, args.step)
    return Reply(text=_decided_text(decided))


@commands.command("changes", N_("Send a request back for changes, saying what to change."), ReasonArgs,
                  positional=("ref",), ask=("reason",),
                  examples=("/changes K3 reason=\"payment in two instalments\"",))
def changes(ctx: Ctx, args: ReasonArgs) -> Reply:
    """Ask for changes (提出修改意见); the requester revises and resubmits."""
    with ctx.uow() as uow:
        decided = approvals.decide(uow, ctx.actor, args.ref, "changes", args.reason, args.step)
    return Reply(text=_decided_text(decided))


ApprovalScope = Annotated[str, scope("waiting", "mine")]


class ApprovalsArgs(Args):
    scope: ApprovalScope = Field("waiting", description=N_("waiting (for me) or mine (I asked)"))


@commands.command("approvals", N_("Show the requests waiting for my decision, or my own."), ApprovalsArgs,
                  positional=("scope",), examples=("/approvals", "/approvals mine"))
def approvals_list(ctx: Ctx, args: ApprovalsArgs) -> Reply:
    """Requests waiting for me (with buttons), or those I asked for."""
    with ctx.uow() as uow:
        rows = approvals.waiting_for(uow, ctx.actor) if args.scope == "waiting" else approvals.my_requests(
            uow, ctx.actor)
        items = [_msg(ctx, approvals.CARD, approvals.card(uow, r)).replace("\n", " · ") for r in rows]
    buttons = []
    if args.scope == "waiting":
        for r in rows[:5]:
            at = f"{r.round}.{r.step + 1}"
            buttons.append(Button(_("Approve {ref}").format(ref=approvals.rref(r)),
                                  f"/approve {approvals.rref(r)} step={at}"))
    title = _("Waiting for you ({count})") if args.scope == "waiting" else _("Your requests ({count})")
    return Reply(title=title.format(count=len(rows)), sections=[Section(_("Requests"), items, _("none"))],
                 buttons=buttons, private=True)


class ShowArgs(Args):
    ref: Text = Field(description=N_("the request (A12) or contract (K3)"))


@commands.command("approvals show", N_("Show a request, its chain and every decision."), ShowArgs,
                  positional=("ref",))
def approvals_show(ctx: Ctx, args: ShowArgs) -> Reply:
    """One request in full."""
    with ctx.uow() as uow:
        shown = approvals.show_request(uow, ctx.actor, args.ref)
    req = shown.request
    chain = [f"{i + 1}. {translate(approvals.role_label(role))} · {name}"
             + (" " + _("(delegate of {name})").format(name=behalf) if behalf else "")
             + (" " + _("(instead of {name}, who decided an earlier step)").format(name=shown.instead_of[i])
                if i in shown.instead_of else "")
             + (" " + _("(passed: already decided at an earlier step)") if i in shown.passed else "")
             for i, (role, name, behalf) in enumerate(shown.chain)]
    decisions = [_("{day} · round {round} · {role} · {name} · {outcome}").format(
        day=local_day(d.at, ctx.actor.timezone), round=d.round, role=translate(approvals.role_label(d.role)),
        name=m.name, outcome=translate(approvals.OUTCOMES[d.outcome])) + (f" · {d.reason}" if d.reason else "")
        for d, m in shown.decisions]
    at, r = f"{req.round}.{req.step + 1}", approvals.rref(req)
    buttons = [Button(_("Approve"), f"/approve {r} step={at}", decision=True),
               Button(_("Reject"), f"/reject {r} step={at}", decision=True),
               Button(_("Request changes"), f"/changes {r} step={at}", decision=True)] if shown.may_decide else []
    return Reply(title=r, text=_msg(ctx, approvals.CARD, shown.card),
                 sections=[Section(_("Chain"), chain, _("none")), Section(_("Decisions"), decisions, _("none"))],
                 buttons=buttons, private=True)


# --- policy -----------------------------------------------------------------------------------


class NoArgs(Args):
    pass


def _policy_reply(policy) -> Reply:
    # a Chinese reader types a request type by its label (合同), anyone else by its key
    line = _("{label}: {chain}") if current_locale() == "zh" else _("{type} ({label}): {chain}")
    lines = [line.format(type=t, label=translate(TYPE_LABELS[t]), chain=shown_chain(policy.chains[t]))
             for t in TYPES]
    timing = _("Reminder after {nudge} h; escalation to the approver's supervisor after {escalate} h.").format(
        nudge=policy.nudge_hours, escalate=policy.escalate_hours)
    return Reply(title=_("Approval policy, version {version}").format(version=policy.version),
                 sections=[Section(_("Chains"), lines)], text=timing, private=True)


@commands.command("policy show", N_("Show the approval chains, thresholds and timing."), NoArgs)
def policy_show(ctx: Ctx, args: NoArgs) -> Reply:
    """The current policy."""
    with ctx.uow() as uow:
        policy = approvals.show_policy(uow, ctx.actor)
    return _policy_reply(policy)


RequestType = Annotated[str, OneOf(REQUEST_KINDS)]


class PolicySetArgs(Args):
    type: RequestType = Field(description=N_("contract, change, expense, leave, project or collab"))
    chain: Text = Field(description=N_("the steps, e.g. manager, legal, head if amount >= 500000"))


@commands.command("policy set", N_("Set a request type's approval chain (a new policy version)."), PolicySetArgs,
                  positional=("type", "chain"), greedy=True, roles=TEAM_ADMIN_ROLES,
                  examples=("/policy set contract manager, legal, head if amount >= 500000",
                            "/policy set leave supervisor, manager if days > 3"))
def policy_set(ctx: Ctx, args: PolicySetArgs) -> Reply:
    """Change one chain."""
    with ctx.uow() as uow:
        policy = approvals.set_chain(uow, ctx.actor, args.type, args.chain)
    return Reply(text=_("Policy version {version}: {type} is now {chain}.").format(
        version=policy.version, type=translate(TYPE_LABELS[args.type]), chain=shown_chain(policy.chains[args.type])))


_HOURS = re.compile(r"^(\d{1,4})\s*(h|hours?|小时|d|days?|天)?$", re.IGNORECASE)


def parse_hours(value: Any) -> int:
    """`24`, `24h`, `3d`, `3天` as a number of hours."""
    m = _HOURS.match(str(value).strip())
    if m is None:
        raise Invalid(N_("Cannot read '{text}' as hours. Try 24, 24h or 3d."), text=value)
    hours = int(m[1]) * (24 if (m[2] or "h").lower()[0] in ("d", "天") else 1)
    if not 1 <= hours <= 24 * 60:
        raise Invalid(N_("Give between 1 hour and 60 days."))
    return hours


Hours = Annotated[int, BeforeValidator(parse_hours)]


class TimingArgs(Args):
    nudge: Hours | None = Field(None, description=N_("hours until the approver is reminded"))
    escalate: Hours | None = Field(None, description=N_("hours until it escalates to the approver's supervisor"))


@commands.command("policy timing", N_("Set when pending approvals remind and escalate (in hours)."), TimingArgs,
                  roles=TEAM_ADMIN_ROLES, examples=("/policy timing nudge=24 escalate=72",))
def policy_timing(ctx: Ctx, args: TimingArgs) -> Reply:
    """Reminder and escalation times."""
    with ctx.uow() as uow:
        policy = approvals.set_timing(uow, ctx.actor, args.nudge, args.escalate)
    return _policy_reply(policy)


class ChannelArgs(Args):
    channel: ChannelRef | None = Field(None, description=N_("the channel for approval posts; leave out for none"))


@commands.command("policy channel", N_("Set the channel where every request is also posted."), ChannelArgs,
                  positional=("channel",), roles=TEAM_ADMIN_ROLES, examples=("/policy channel approvals",))
def policy_channel(ctx: Ctx, args: ChannelArgs) -> Reply:
    """The approvals channel."""
    with ctx.uow() as uow:
        approvals.set_channel(uow, ctx.actor, args.channel)
    if args.channel:
        return Reply(text=_("Requests will also be posted to {channel}.").format(channel=args.channel))
    return Reply(text=_("Requests go to approvers directly only."))


class ExplainArgs(Args):
    type: RequestType = Field(description=N_("contract, change, expense, leave, project or collab"))
    amount: Money | None = Field(None, description=N_("the amount"))
    days: Days | None = Field(None, description=N_("days of leave"))
    by: MemberName | None = Field(None, description=N_("who would ask (default: me)"))


@commands.command("policy explain", N_("Who would approve a request, in what order, and why (nothing is created)."),
                  ExplainArgs, positional=("type",),
                  examples=("/policy explain contract amount=800000 by=alice", "/policy explain leave days=5"))
def policy_explain(ctx: Ctx, args: ExplainArgs) -> Reply:
    """Explain a chain."""
    days = Decimal(args.days) if args.days is not None else None
    with ctx.uow() as uow:
        ex = approvals.explain(uow, ctx.actor, args.type, args.amount, days, args.by)
    lines, n = [], 0
    for p in ex.steps:
        role = translate(approvals.role_label(p.step.role))
        why = _("always") if p.step.field is None else _("because {condition}").format(
            condition=shown_condition(p.step))
        if p.same_as is not None:
            lines.append(_("skipped: {role}, because {name} already approves at step {step}").format(
                role=role, name=p.approver.name if p.approver else "?", step=p.same_as))
            continue
        if not p.applies:
            lines.append(_("skipped: {role}, only if {condition}").format(
                role=role, condition=shown_condition(p.step)))
            continue
        n += 1
        who = p.approver.name if p.approver else "?"
        if p.delegate_for is not None:
            who = _("{name} (delegate of {original})").format(name=who, original=p.delegate_for.name)
        lines.append(f"{n}. {role} · {who} · {why}")
    return Reply(title=_("{type} by {name} under policy version {version}").format(
        type=translate(TYPE_LABELS[ex.type]), name=ex.requester.name, version=ex.policy.version),
        sections=[Section(_("Approvers in order"), lines)], private=True)


commands.describe_group("policy", N_("Approval chains, thresholds and timing."))
commands.describe_group("approvals", N_("Requests waiting for me, and my own requests."))


# --- delegation ----------------------------------------------------------------------------------


class DelegateArgs(Args):
    name: MemberName = Field(description=N_("who decides for me while I am away, or off"))
    until: NextDate | None = Field(None, description=N_("my last day away"))


@commands.command("delegate", N_("Let a colleague decide my approvals while I am away."), DelegateArgs,
                  positional=("name",), examples=("/delegate lily until=2026-12-04", "/delegate off"))
def delegate(ctx: Ctx, args: DelegateArgs) -> Reply:
    """Set or end a delegation."""
    off = args.name.strip().lower() in ("off", "none", "-", "无")
    with ctx.uow() as uow:
        row = approvals.delegate(uow, ctx.actor, None if off else args.name, args.until)
        delegate_name = approvals.member_name(uow, row.delegate_id) if row else None
    if row is None:
        return Reply(text=_("Delegation ended: requests come to you again."))
    return Reply(text=_("Until {day}, requests for you go to {name}.").format(day=day(row.until), name=delegate_name))
