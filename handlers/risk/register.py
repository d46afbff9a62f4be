"""/risk new, show, follow, close and thresholds: the risk register (风险登记) and the indicators' thresholds."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from domain.approvals.contracts import find_contract
from domain.crm.customers import find_customer, find_lead
from domain.kernel.actor import Actor
from domain.kernel.i18n import N_, _, current_locale, fmt_money, translate
from domain.kernel.periods import parse_period
from domain.kernel.vocab import RISKS
from domain.reporting.figures import MEASURES
from domain.risk import entries as risks
from domain.risk import indicators
from domain.risk.levels import subject_name, subject_of
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref, ref
from handlers.args import Args, LongText, MemberName, Money, NextDate, OneOf, Text
from handlers.context import Ctx
from handlers.format import day
from handlers.format import risk as level_text
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()
DAY = timedelta(days=1)

Scale = Annotated[int, Field(ge=1, le=5)]


def attach_to(uow: UnitOfWork, actor: Actor, text: str) -> tuple[str, int | None]:
    """What a risk is attached to: a customer (C3 or its name), a lead (L12), a contract (K4) or a record of another
    area that carries risks (a project, P3) the actor may see — or any other reference, kept as written."""
    text = text.strip()
    subject = subject_of(uow, text)
    if subject is not None:
        found = subject.find(uow, actor, text)
        return found.ref, found.owner_id
    if parse_ref(text, "L") is not None:
        lead = find_lead(uow, actor, text)
        return ref("L", lead.number), lead.owner_id
    if parse_ref(text, "K") is not None:
        contract = find_contract(uow, actor, text)
        return ref("K", contract.number), contract.owner_id
    if parse_ref(text, "C") is not None or not _other_ref(text):
        customer = find_customer(uow, actor, text)
        return ref("C", customer.number), customer.owner_id
    return text.upper(), None


def _other_ref(text: str) -> bool:
    """A reference of another kind of record (a project's P3, PRJ-12): letters then digits, no spaces."""
    head = text.rstrip("0123456789-")
    return bool(head) and head != text and head.isascii() and head.replace("-", "").isalpha() and len(text) <= 20


class RiskNewArgs(Args):
    record: Text = Field(description=N_("a customer (C3 or its name), a lead (L12), a contract (K4) or a project"))
    what: LongText = Field(description=N_("what may happen"))
    category: Annotated[str, OneOf(risks.CATEGORIES)] = Field(
        description=N_("market, project, credit (customer/credit), legal or internal"))
    likelihood: Scale = Field(description=N_("how likely, 1 to 5"))
    impact: Scale = Field(description=N_("how bad, 1 to 5"))
    response: Annotated[str, OneOf(risks.RESPONSES)] = Field(description=N_("avoid, reduce, transfer or accept"))
    owner: MemberName | None = Field(None, description=N_("who responds (default: you)"))
    due: NextDate | None = Field(None, description=N_("respond by"))
    loss: Money | None = Field(None, description=N_("estimated loss, e.g. 20万"))


@commands.command("risk new", N_("Register a risk: category, likelihood and impact, response, owner and due date."),
                  RiskNewArgs, positional=("record",), ask=("record", "what", "category", "likelihood", "impact",
                                                             "response"),
                  examples=('/risk new C3 what="may not pay the second milestone" category=credit likelihood=3 '
                            'impact=4 response=reduce owner=alice due=2027-01-31 loss=20万',
                            '/风险 登记 K4 内容="交货延误" 类别=项目 可能性=2 影响=3 应对=转移'))
def risk_new(ctx: Ctx, args: RiskNewArgs) -> Reply:
    with ctx.uow() as uow:
        record, owner_id = attach_to(uow, ctx.actor, args.record)
        entry, owner = risks.create(uow, ctx.actor, risks.NewRisk(
            record, owner_id, args.what, args.category, args.likelihood, args.impact, args.response, args.owner,
            args.due, args.loss))
    rref = ref(risks.PREFIX, entry.number)
    return Reply(text=_("Risk {ref} registered on {record}: {level}, {category}, response {response}, owner {owner}, "
                        "due {due}.").format(
        ref=rref, record=record, level=level_text(risks.level_of(entry.likelihood, entry.impact)),
        category=risks.CATEGORIES.label(entry.category), response=risks.RESPONSES.label(entry.response),
        owner=owner.name, due=day(entry.due)), buttons=[Button(_("Show"), f"/risk show {rref}")])


class RiskRefArgs(Args):
    risk: Text = Field(description=N_("risk reference, e.g. RK3"))


@commands.command("risk show", N_("Show a registered risk with its follow-ups."), RiskRefArgs, positional=("risk",),
                  examples=("/risk show RK3",))
def risk_show(ctx: Ctx, args: RiskRefArgs) -> Reply:
    with ctx.uow() as uow:
        v = risks.show(uow, ctx.actor, args.risk)
        record = attached(uow, ctx.actor.org_id, v.entry.record)
    e = v.entry
    fields = [(_("Attached to"), record), (_("What"), e.what), (_("Category"), risks.CATEGORIES.label(e.category)),
              (_("Likelihood × impact"), f"{e.likelihood} × {e.impact}"),
              (_("Level"), level_text(risks.level_of(e.likelihood, e.impact))),
              (_("Estimated loss"), fmt_money(e.loss, "CNY") if e.loss is not None else "—"),
              (_("Response"), risks.RESPONSES.label(e.response)), (_("Owner"), v.owner), (_("Due"), day(e.due)),
              (_("Status"), translate(risks.STATUSES[e.status]))]
    notes = [f"{day(f.at.date())} · {who}: {f.note}" for f, who in v.follow_ups]
    return Reply(title=_("Risk {ref}").format(ref=ref(risks.PREFIX, e.number)), fields=fields,
                 sections=[Section(_("Follow-ups"), notes, _("none"))], private=True)


class RiskFollowArgs(Args):
    risk: Text = Field(description=N_("risk reference, e.g. RK3"))
    note: LongText = Field(description=N_("what was done"))


@commands.command("risk follow", N_("Note what was done about a registered risk."), RiskFollowArgs,
                  positional=("risk",), ask=("risk", "note"),
                  examples=('/risk follow RK3 note="agreed a payment plan"',))
def risk_follow(ctx: Ctx, args: RiskFollowArgs) -> Reply:
    with ctx.uow() as uow:
        e = risks.follow_up(uow, ctx.actor, args.risk, args.note)
    return Reply(text=_("Follow-up noted on {ref}.").format(ref=ref(risks.PREFIX, e.number)))


@commands.command("risk close", N_("Close a registered risk, saying why."), RiskFollowArgs, positional=("risk",),
                  ask=("risk", "note"), examples=('/risk close RK3 note="paid in full"',))
def risk_close(ctx: Ctx, args: RiskFollowArgs) -> Reply:
    with ctx.uow() as uow:
        e = risks.follow_up(uow, ctx.actor, args.risk, args.note, close=True)
    return Reply(text=_("Risk {ref} is closed.").format(ref=ref(risks.PREFIX, e.number)))


class ThresholdArgs(Args):
    changes: Text | None = Field(None, description=N_("name:number pairs, e.g. contact_days:45 idle_days:20"))


@commands.command("risk thresholds", N_("Show or set the thresholds of the automatic risk indicators (managers)."),
                  ThresholdArgs, positional=("changes",), greedy=True,
                  examples=("/risk thresholds", "/risk thresholds contact_days:45 overdue_red_days:120"))
def risk_thresholds(ctx: Ctx, args: ThresholdArgs) -> Reply:
    with ctx.uow() as uow:
        if args.changes:
            values = indicators.set_thresholds(uow, ctx.actor, indicators.parse_thresholds(args.changes))
        else:
            values = indicators.current_limits(uow, ctx.actor)
        installed = set(uow.wiring[indicators.RISK_INDICATORS])
    items = []
    for t in indicators.THRESHOLDS:
        line = _("{name} = {value} — {indicator}: {what}").format(
            name=indicators.ZH_NAMES[t.name] if current_locale() == "zh" else t.name, value=values[t.name],
            indicator=translate(indicators.LABELS[t.indicator]),
            what=translate(t.label))
        if t.indicator not in installed:
            line += " " + _("(nothing in this installation measures it yet)")
        items.append(line)
    return Reply(title=_("Risk indicator thresholds"), text=_("Saved.") if args.changes else "",
                 sections=[Section(_("Thresholds"), items)], private=True)


def attached(uow: UnitOfWork, org_id: int, record: str) -> str:
    """What a risk is attached to, with the name of another area's record (P3 Acme ERP pilot)."""
    name = subject_name(uow, org_id, record)
    return f"{record} {name}" if name else record


def register_sections(uow: UnitOfWork, actor: Actor) -> list[Section]:
    """The open register and the indicators that hold, for /risk list."""
    rows = risks.open_register(uow, actor, actor.org_id)
    signals = indicators.active_signals(uow, actor)
    entries = [" · ".join([ref(risks.PREFIX, r.entry.number), level_text(r.level),
                           attached(uow, actor.org_id, r.entry.record), r.entry.what,
                           risks.RESPONSES.label(r.entry.response), r.owner, day(r.entry.due)]) for r in rows]
    fired = [" · ".join([s.ref, translate(s.indicator), RISKS.label(s.level), s.why, s.owner]) for s in signals]
    return [Section(_("Risk register ({count})").format(count=len(rows)), entries, _("none")),
            Section(_("Indicators that fired ({count})").format(count=len(signals)), fired, _("none"))]


class KpiRiskArgs(Args):
    period: Text | None = Field(None, description=N_("week, month, quarter, year, 2027-01, 30d (default: this month)"))


@commands.command("kpi risk", N_("Risk figures: risk event rate, overdue receivables rate, open risks."),
                  KpiRiskArgs, positional=("period",), examples=("/kpi risk", "/kpi risk quarter"))
def kpi_risk(ctx: Ctx, args: KpiRiskArgs) -> Reply:
    """风险事件发生率 and 逾期账款率 over what I may see."""
    first, end_day = parse_period(args.period, ctx.today)
    with ctx.uow() as uow:
        figures, open_count, held = risks.risk_figures(uow, ctx.actor, first, end_day)
        measures = uow.wiring[MEASURES]
    lines = [_("{measure}: {value} ({basis})").format(measure=translate(measures[k].label), value=f.shown(),
                                                      basis=f.explain()) for k, f in figures.items()]
    if "overdue_rate" not in figures:
        lines.append(_("Overdue receivables rate: not measured (no area of this installation keeps receivables)."))
    lines.append(_("Open risks in the register: {count}").format(count=open_count))
    lines.append(_("Indicators that hold now: {count}").format(count=held))
    return Reply(title=_("Risk figures {first} – {last}").format(first=day(first), last=day(end_day - DAY)),
                 sections=[Section(_("Figures"), lines)], private=True)
