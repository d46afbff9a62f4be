"""/lead: the sales pipeline (市场调研 → … → 签约 | 流失)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.crm import customers as crm
from domain.kernel.i18n import N_, _, sentences
from domain.kernel.notes import note_text
from domain.kernel.vocab import SOURCES, STAGES
from handlers.args import (
    Args,
    Currency,
    CustomerRef,
    LongText,
    MemberName,
    Money,
    NextDate,
    Score,
    Source,
    Stage,
    Text,
    scope,
)
from handlers.context import Ctx
from handlers.format import day, lead_line, local_day, money, risk
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


class LeadNewArgs(Args):
    customer: CustomerRef = Field(description=N_("customer name or reference"))
    value: Money | None = Field(None, description=N_("estimated value, e.g. 200000 or 20万"))
    currency: Currency = Field("CNY", description=N_("currency code, default CNY"))
    source: Source | None = Field(None, description=N_("web, report, exhibition, referral, phone, email, visit"))
    contact: Text | None = Field(None, description=N_("contact name, phone or e-mail"))
    stage: Stage = Field("research", description=N_("starting stage, default research"))
    step: LongText | None = Field(None, description=N_("the next step"))
    next: NextDate | None = Field(None, description=N_("date of the next step (today or later)"))
    owner: MemberName | None = Field(None,
                                     description=N_("the member who owns the lead (default: the customer's owner)"))


@commands.command("lead new", N_("Record a new lead for a customer."), LeadNewArgs, positional=("customer",),
                  greedy=True, ask=("customer", "value", "source"),
                  examples=("/lead new Acme value=200000 source=exhibition contact=\"Mr Li\"",))
def lead_new(ctx: Ctx, args: LeadNewArgs) -> Reply:
    """Create a lead."""
    with ctx.uow() as uow:
        lead = crm.create_lead(
            uow, ctx.actor, args.customer, value=args.value, currency=args.currency, source=args.source,
            contact=args.contact, stage=args.stage, next_step=args.step, next_date=args.next, owner=args.owner,
        )
    return Reply(
        text=_("Lead {ref} recorded at {stage}, value {value}.").format(
            ref=f"L{lead.number}", stage=STAGES.label(lead.stage), value=money(lead.value, lead.currency)),
        buttons=[Button(_("Screen"), f"/lead screen L{lead.number}"), Button(_("Show"), f"/lead show L{lead.number}")],
    )


class LeadStageArgs(Args):
    lead: CustomerRef = Field(description=N_("lead reference (L12) or customer name"))
    stage: Stage = Field(description=N_("the new stage"))
    reason: LongText | None = Field(None, description=N_("why (needed for lost and for moving back)"))


@commands.command("lead stage", N_("Move a lead to another stage."), LeadStageArgs, positional=("lead", "stage"),
                  ask=("lead", "stage", "reason"),
                  examples=("/lead stage L12 negotiation", "/lead stage L12 lost reason=\"price too high\""))
def lead_stage(ctx: Ctx, args: LeadStageArgs) -> Reply:
    """Move a lead along the pipeline."""
    with ctx.uow() as uow:
        lead, old = crm.move_stage(uow, ctx.actor, args.lead, args.stage, args.reason)
    return Reply(text=_("{ref} moved from {old} to {new}.").format(
        ref=f"L{lead.number}", old=STAGES.label(old), new=STAGES.label(lead.stage)))


class LeadScreenArgs(Args):
    lead: CustomerRef = Field(description=N_("lead reference (L12) or customer name"))
    scale: Score = Field(description=N_("customer scale, 1–5"))
    position: Score = Field(description=N_("industry position, 1–5"))
    potential: Score = Field(description=N_("growth potential, 1–5"))
    intent: Score = Field(description=N_("cooperation intent, 1–5"))


@commands.command("lead screen", N_("Score a lead on the four screening criteria."), LeadScreenArgs,
                  positional=("lead",), examples=("/lead screen L12 scale=4 position=3 potential=5 intent=4",))
def lead_screen(ctx: Ctx, args: LeadScreenArgs) -> Reply:
    """Screen a lead (客户筛选)."""
    with ctx.uow() as uow:
        s = crm.screen_lead(uow, ctx.actor, args.lead, args.scale, args.position, args.potential, args.intent)
    text = _("{ref} scored {total}/20.").format(ref=f"L{s.lead.number}", total=s.total)
    if s.key_account:
        text = sentences(text,
                         _("At or above {threshold}: a key account (重点开发客户).").format(threshold=s.threshold))
    else:
        text = sentences(text, _("Below {threshold}: not a key account.").format(threshold=s.threshold))
    return Reply(text=text)


class LeadShowArgs(Args):
    lead: CustomerRef = Field(description=N_("lead reference (L12) or customer name"))


@commands.command("lead show", N_("Show a lead and its stage history."), LeadShowArgs, positional=("lead",),
                  greedy=True)
def lead_show(ctx: Ctx, args: LeadShowArgs) -> Reply:
    """One lead in full."""
    with ctx.uow() as uow:
        v = crm.show_lead(uow, ctx.actor, args.lead)
    lead = v.lead
    fields = [
        (_("Customer"), f"{v.customer.name} (C{v.customer.number})"),
        (_("Stage"), STAGES.label(lead.stage)),
        (_("Owner"), v.owner.name),
        (_("Risk"), risk(lead.risk, lead.risk_note)),
        (_("Value"), money(lead.value, lead.currency)),
        (_("Source"), SOURCES.label(lead.source) if lead.source else "—"),
        (_("Contact"), lead.contact or "—"),
        (_("Next step"), " · ".join(x for x in (lead.next_step, day(lead.next_date) if lead.next_date else None)
                                    if x) or "—"),
    ]
    if lead.score_total is not None:
        fields.append((_("Screening"), _("{total}/20 (scale {a}, position {b}, potential {c}, intent {d})").format(
            total=lead.score_total, a=lead.score_scale, b=lead.score_position, c=lead.score_potential,
            d=lead.score_intent)))
    history = [
        f"{local_day(s.at, ctx.actor.timezone)} · {STAGES.label(s.from_stage) + ' → ' if s.from_stage else ''}"
        f"{STAGES.label(s.to_stage)} · {m.name}" + (f" · {note_text(s.reason)}" if s.reason else "")
        for s, m in v.history
    ]
    return Reply(title=f"L{lead.number}", fields=fields, sections=[Section(_("History"), history)], private=True)


LeadScope = Annotated[str, scope("mine", "team", "all")]


class LeadListArgs(Args):
    scope: LeadScope = Field("mine", description=N_("mine, team or all"))
    stage: Stage | None = Field(None, description=N_("only leads at this stage"))


@commands.command("lead list", N_("List leads: mine, my team's or all."), LeadListArgs, positional=("scope",),
                  examples=("/lead list team stage=negotiation",))
def lead_list(ctx: Ctx, args: LeadListArgs) -> Reply:
    """Leads in scope, most recently changed first."""
    with ctx.uow() as uow:
        rows = crm.list_leads(uow, ctx.actor, args.scope, args.stage)
    items = [lead_line(row, row.customer_name, row.owner_name if args.scope != "mine" else None) for row in rows]
    empty = _("none")
    if args.scope == "mine" and ctx.actor.sees_department:   # a manager's own list is often empty
        empty = _("None of your own. /lead list all shows the department's leads.")
    return Reply(title=_("Leads ({count})").format(count=len(rows)),
                 sections=[Section(_("Leads"), items, empty)], private=True)


commands.describe_group("lead", N_("Leads and the sales pipeline."))
