"""/risk: the risk levels of customers, leads and contracts (风险管理), and the risk list (风险清单)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.approvals.contracts import find_contract
from domain.crm.customers import find_customer, find_lead
from domain.kernel.actor import Actor
from domain.kernel.i18n import N_, _, fmt_list, translate
from domain.kernel.vocab import RISKS, Vocabulary
from domain.risk import levels as risk
from domain.risk.levels import Record
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref
from handlers.args import Args, LongText, OneOf, Risk, Text
from handlers.context import Ctx
from handlers.format import risk as level
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section
from handlers.risk.register import register_sections

commands = Registry()


def find_record(uow: UnitOfWork, actor: Actor, text: str) -> Record:
    """A customer (C3 or a name), a lead (L12) or a contract (K4) the actor may see."""
    text = text.strip()
    if parse_ref(text, "L") is not None:
        return find_lead(uow, actor, text)
    if parse_ref(text, "K") is not None:
        return find_contract(uow, actor, text)
    return find_customer(uow, actor, text)


class RiskSetArgs(Args):
    record: Text = Field(description=N_("a customer (C3 or its name), a lead (L12) or a contract (K4)"))
    level: Risk = Field(description=N_("high (red), medium (orange) or low (yellow)"))
    reason: LongText | None = Field(None, description=N_("why: needed for medium and high"))


@commands.command("risk set", N_("Set the risk level of a customer, lead or contract; orange and red warn."),
                  RiskSetArgs, positional=("record", "level"), greedy=True,
                  examples=('/risk set C3 high reason="two invoices overdue"', "/risk set L12 low",
                            '/risk set K4 中 原因="交货期紧"'))
def risk_set(ctx: Ctx, args: RiskSetArgs) -> Reply:
    """Change the level; raising it to orange or red tells the supervisor (and, for red, the managers)."""
    with ctx.uow() as uow:
        change = risk.set_risk(uow, ctx.actor, find_record(uow, ctx.actor, args.record), args.level, args.reason)
    text = _("Risk of {kind} {name} ({ref}): {old} → {new}.").format(
        kind=translate(change.kind), name=change.name, ref=change.ref, old=RISKS.label(change.old),
        new=level(change.new))
    if change.warned:
        text += "\n" + _("Warned: {names}.").format(names=fmt_list(change.warned))
    return Reply(text=text)


RISK_SCOPES = Vocabulary(N_("scope"), {"all": N_("orange and red"), "high": N_("red only")},
                         {"全部": "all", "红": "high", "红色": "high", "高": "high", "高风险": "high"})
Scope = Annotated[str, OneOf(RISK_SCOPES)]


class RiskListArgs(Args):
    scope: Scope = Field("all", description=N_("all (orange and red), or high (red only)"))


@commands.command("risk list", N_("The risk list: the orange and red customers, leads, contracts and projects I may "
                                  "see, and the register."),
                  RiskListArgs, positional=("scope",), examples=("/risk list", "/risk list high"))
def risk_list(ctx: Ctx, args: RiskListArgs) -> Reply:
    """The reddest first, each with its owner and why."""
    with ctx.uow() as uow:
        rows = risk.risk_list(uow, ctx.actor, only_high=args.scope == "high")
        more = register_sections(uow, ctx.actor)
        uow.commit()
    items = [" · ".join([risk.marked(r.ref, r.level), translate(r.kind), r.name, RISKS.label(r.level), r.owner,
                         r.reason or "—"]) for r in rows]
    buttons = [Button(r.ref, r.show) for r in rows[:5] if r.show]
    return Reply(title=_("Risk list ({count})").format(count=len(rows)),
                 sections=[Section(_("Risks"), items, _("none")), *more], buttons=buttons, private=True)


commands.describe_group("risk", N_("Risk levels and warnings: customers, leads, contracts, projects."))
