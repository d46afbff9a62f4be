"""/target, /forecast and /funnel: targets with completion and ranking, the weighted pipeline, the funnel."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from domain.kernel.i18n import N_, _, fmt_money, fmt_number, fmt_percent
from domain.kernel.vocab import STAGES, Vocabulary
from domain.targets import forecast as fc
from domain.targets import targets
from handlers.args import Args, MemberName, Money, OneOf, Text
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Reply, Section

commands = Registry()

TEAM_WORDS = {"team", "团队", "本组", "小组"}


class TargetSetArgs(Args):
    who: MemberName = Field(description=N_("a member's name, or team (your team) / team:NAME (NAME's team)"))
    period: Text = Field(description=N_("a month (2027-01), a quarter (2027-Q1) or a year (2027)"))
    signed: Money | None = Field(None, description=N_("contract value to sign, e.g. 50万"))
    collected: Money | None = Field(None, description=N_("money to collect, e.g. 40万"))
    customers: Annotated[int, Field(ge=0, le=100_000)] | None = Field(None, description=N_("new customers"))


def _who(ctx: Ctx, text: str) -> tuple[str, bool]:
    raw = text.strip()
    if raw.lower() in TEAM_WORDS:
        return ctx.actor.name, True
    for word in TEAM_WORDS:
        for sep in (":", "："):
            if raw.lower().startswith(word + sep):
                return raw[len(word) + 1:].strip(), True
    return raw, False


def _money(value: Decimal | None) -> str:
    return fmt_money(value, "CNY") if value is not None else "—"


@commands.command("target set", N_("Set a member's or a team's target for a month, quarter or year."), TargetSetArgs,
                  positional=("who", "period"), ask=("who", "period"),
                  examples=("/target set 小李 2027-01 signed=50万 collected=40万 customers=5",
                            "/target set team 2027-Q1 signed=300万", "/目标 设定 小李 2027年1月 签约=50万"))
def target_set(ctx: Ctx, args: TargetSetArgs) -> Reply:
    """Managers set anyone's; a supervisor their team's."""
    who, team = _who(ctx, args.who)
    with ctx.uow() as uow:
        done = targets.set_target(uow, ctx.actor, who, args.period,
                                  targets.Values(args.signed, args.collected, args.customers), team)
    subject = _("{name}'s team").format(name=done.subject) if done.team else done.subject
    text = _("Target of {who} for {period}: signed {signed}, collected {collected}, new customers {customers}.").format(
        who=subject, period=done.period.key, signed=_money(done.values.signed),
        collected=_money(done.values.collected),
        customers=fmt_number(done.values.customers) if done.values.customers is not None else "—")
    if done.team and not done.summed.empty:
        text += "\n" + _("Its members' own targets add up to: signed {signed}, collected {collected}, new customers "
                         "{customers}.").format(signed=_money(done.summed.signed),
                                                collected=_money(done.summed.collected),
                                                customers=fmt_number(done.summed.customers or 0))
    return Reply(text=text)


class TargetArgs(Args):
    period: Text | None = Field(None, description=N_("month, quarter, year, 2027-01, 2027-Q1 (default: this month)"))


def _share(value: float | None) -> str:
    return fmt_percent(value) if value is not None else "—"


def row_line(row: targets.Row, measured: bool) -> str:
    collected = (_("{done} of {goal} ({share})").format(done=_money(row.actual.collected),
                                                         goal=_money(row.target.collected),
                                                         share=_share(row.completion("collected")))
                 if row.actual.collected is not None else _("not measured"))
    if row.target.collected is None and row.actual.collected is not None:
        collected = _money(row.actual.collected)
    line = _("{name}: signed {signed} of {signed_goal} ({signed_share}) · collected {collected} · new customers "
             "{customers} of {customers_goal} · time {elapsed}").format(
        name=row.name, signed=_money(row.actual.signed), signed_goal=_money(row.target.signed),
        signed_share=_share(row.completion("signed")), collected=collected, customers=row.actual.customers,
        customers_goal=row.target.customers if row.target.customers is not None else "—",
        elapsed=fmt_percent(row.elapsed))
    if row.joined is not None:
        line += " · " + _("joined {date}").format(date=row.joined.isoformat())
    return line


@commands.command("target", N_("Targets for a period: completion, time progress and the ranking I may see."),
                  TargetArgs, positional=("period",), examples=("/target", "/target 2027-Q1", "/目标 本月"))
def target(ctx: Ctx, args: TargetArgs) -> Reply:
    """完成率, 时间进度 and 排行榜."""
    with ctx.uow() as uow:
        b = targets.board(uow, ctx.actor, args.period)
    ranking = [f"{n}. " + row_line(r, b.collected_measured) for n, r in enumerate(b.rows, 1)]
    teams = [_("{name}'s team").format(name=r.name) + " — " + row_line(r, b.collected_measured).split(": ", 1)[1]
             for r in b.teams]
    sections = [Section(_("Ranking (排行榜) by contract value signed against target"), ranking, _("no targets set")),
                Section(_("Teams"), teams, _("none"))]
    text = _("Time progress (时间进度): {share} of the period has passed.").format(share=fmt_percent(b.elapsed))
    if not b.collected_measured:
        text += " " + _("Money collected is not measured: no area of this installation records collections.")
    return Reply(title=_("Targets {period}").format(period=b.period.key), text=text, sections=sections,
                 private=True)


commands.describe_group("target", N_("Targets (销售任务): set them, see completion and the ranking."))


FORECAST_SCOPES = Vocabulary(N_("scope"), {"mine": N_("mine"), "team": N_("my team"), "all": N_("all")},
                             {"我的": "mine", "我": "mine", "团队": "team", "全部": "all", "所有": "all"})


class ForecastArgs(Args):
    scope: Annotated[str, OneOf(FORECAST_SCOPES)] = Field("mine", description=N_("mine, team or all"))


@commands.command("forecast", N_("The weighted pipeline and what was signed, this month and quarter."),
                  ForecastArgs, positional=("scope",), examples=("/forecast", "/forecast team", "/预测 全部"))
def forecast(ctx: Ctx, args: ForecastArgs) -> Reply:
    """Open leads weighted by their stage's probability; the chart follows in a message."""
    with ctx.uow() as uow:
        f = fc.forecast(uow, ctx.actor, args.scope)
        fc.send_chart(uow, ctx.actor, "forecast", _("the forecast"), fc.forecast_chart(f, ctx.actor.locale))

    def line(r: fc.ForecastRow) -> str:
        return _("{name}: {month} — signed {signed_month} + weighted {weighted_month}; {quarter} — signed "
                 "{signed_quarter} + weighted {weighted_quarter}; {count} open leads").format(
            name=r.name, month=f.month.key, quarter=f.quarter.key, signed_month=_money(r.signed_month),
            weighted_month=_money(r.weighted_month), signed_quarter=_money(r.signed_quarter),
            weighted_quarter=_money(r.weighted_quarter), count=r.open_leads)

    stages = [_("{stage}: {count} leads × {percent}% → {value}").format(
        stage=STAGES.label(s), count=n, percent=f.probabilities[s], value=_money(v)) for s, n, v in f.by_stage]
    return Reply(title=_("Forecast {month} and {quarter}").format(month=f.month.key, quarter=f.quarter.key),
                 sections=[Section(_("By member"), [line(r) for r in f.rows], _("no open leads")),
                           Section(_("Total"), [line(f.total)]),
                           Section(_("By stage (quarter)"), stages)],
                 text=_("The chart follows in a message."), private=True)


class WeightsArgs(Args):
    changes: Text | None = Field(None, description=N_("stage:percent pairs, e.g. negotiation:70 proposal:45"))


@commands.command("forecast weights", N_("Show or set the stage probabilities the forecast uses (managers)."),
                  WeightsArgs, positional=("changes",), greedy=True,
                  examples=("/forecast weights", "/forecast weights negotiation:70 proposal:45", "/预测 概率 谈判:70"))
def forecast_weights(ctx: Ctx, args: WeightsArgs) -> Reply:
    with ctx.uow() as uow:
        if args.changes:
            probs = fc.set_probabilities(uow, ctx.actor, fc.parse_probabilities(args.changes))
        else:
            probs = fc.current_probabilities(uow, ctx.actor)
    return Reply(title=_("Stage probabilities"), text=_("Saved.") if args.changes else "",
                 fields=[(STAGES.label(s), f"{p}%") for s, p in probs.items()])


commands.describe_group("forecast", N_("The sales forecast (销售预测)."))


class FunnelArgs(Args):
    period: Text | None = Field(None, description=N_("month, quarter, year, 2027-01, 2027-Q1 (default: this month)"))


@commands.command("funnel", N_("The sales funnel: conversion between stages, days in stage, won and lost."),
                  FunnelArgs, positional=("period",), examples=("/funnel", "/funnel 2027-Q1", "/漏斗 上月"))
def funnel(ctx: Ctx, args: FunnelArgs) -> Reply:
    """The leads I may see that moved in the period; the chart follows in a message."""
    with ctx.uow() as uow:
        f = fc.funnel(uow, ctx.actor, args.period)
        fc.send_chart(uow, ctx.actor, "funnel", _("the funnel"), fc.funnel_chart(f, ctx.actor.locale))
    reached = [_("{stage}: {count}").format(stage=STAGES.label(s), count=n) for s, n in f.reached]
    conversion = [_("{a} → {b}: {share}").format(a=STAGES.label(a), b=STAGES.label(b), share=_share(v))
                  for a, b, v in f.conversion]
    days = [_("{stage}: {days} days on average ({count} leads)").format(
        stage=STAGES.label(s), days=fmt_number(round(avg, 1)) if avg is not None else "—", count=n)
        for s, avg, n in f.days]
    reasons = [_("{reason}: {count}").format(reason=r, count=n) for r, n in f.reasons]
    return Reply(title=_("Funnel {period}").format(period=f.period.key),
                 text=_("{count} leads moved in the period; won {won}, lost {lost}.").format(
                     count=f.cohort, won=f.won, lost=f.lost) + " " + _("The chart follows in a message."),
                 sections=[Section(_("Reached each stage"), reached), Section(_("Conversion"), conversion),
                           Section(_("Days in stage"), days),
                           Section(_("Reasons for losses"), reasons, _("none"))], private=True)


class KpiTargetArgs(Args):
    period: Text | None = Field(None, description=N_("month, quarter, year, 2027-01, 2027-Q1 (default: this month)"))


@commands.command("kpi targets", N_("Target completion over what I may see, with time progress."), KpiTargetArgs,
                  positional=("period",), examples=("/kpi targets", "/kpi targets 2027-Q1"))
def kpi_targets(ctx: Ctx, args: KpiTargetArgs) -> Reply:
    """The targets' totals: completion of each kind against time progress."""
    with ctx.uow() as uow:
        b = targets.board(uow, ctx.actor, args.period)
    goal = targets.Values()
    signed, customers = Decimal(0), 0
    for r in b.rows:
        goal = goal + r.target
        signed += r.actual.signed
        customers += r.actual.customers
    total = targets.Row(_("Total"), 0, False, goal, targets.Actual(
        signed, sum((r.actual.collected or Decimal(0) for r in b.rows), Decimal(0)) if b.collected_measured else None,
        customers), b.elapsed, None)
    return Reply(title=_("Target completion {period}").format(period=b.period.key),
                 sections=[Section(_("Figures"), [row_line(total, b.collected_measured)])], private=True)
