"""/review and /kpi: appraisals (绩效考核) — self-review, scoring, approval, appeal — and the
indicators the records measure."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo

from domain.appraisals import reviews as appraisals
from domain.appraisals.reviews import CYCLE_LABELS, STATUS_LABELS, STEP_LABELS, fmt_total
from domain.kernel.errors import Invalid
from domain.kernel.i18n import (
    N_,
    Choices,
    _,
    fmt_date,
    fmt_datetime,
    fmt_list,
    fmt_number,
    sentences,
    translate,
)
from domain.kernel.vocab import ROLES, Vocabulary
from domain.reporting.figures import MEASURES, Measure
from domain.store.models import Member, Review
from handlers.args import Args, LongText, MemberName, OneOf, Text, Widget, today_of
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()

commands.describe_group("review", N_("Appraisals: self-review, scoring, approval and appeal."))


def _points(value: Any) -> int:
    raw = str(value).strip().removesuffix("分").removesuffix("%")
    if not re.fullmatch(r"\d{1,3}", raw) or int(raw) > 100:
        raise Invalid(N_("A score is a whole number from 0 to 100; '{text}' is not one."), text=value)
    return int(raw)


def _period(value: Any, info: ValidationInfo) -> str:
    return appraisals.parse_period(str(value), today_of(info)).key


def _on_off(value: Any) -> bool:
    raw = str(value).strip().lower()
    if raw in ("on", "yes", "true", "1", "开", "开启", "是"):
        return True
    if raw in ("off", "no", "false", "0", "关", "关闭", "否"):
        return False
    raise Invalid(N_("Write on or off, not '{text}'."), text=value)


Points = Annotated[int, BeforeValidator(_points), Widget("text")]
PeriodArg = Annotated[str, BeforeValidator(_period)]
OnOff = Annotated[bool, BeforeValidator(_on_off), Widget("choice", (("on", "on"), ("off", "off")))]
def _day_of_month(value: Any) -> int:
    raw = str(value).strip().removesuffix("日").removesuffix("号")
    if not raw.isdecimal() or not 1 <= int(raw) <= 28:
        raise Invalid(N_("Write a day of the month from 1 to 28, not '{text}'."), text=value)
    return int(raw)


def _appeal_days(value: Any) -> int:
    raw = str(value).strip().removesuffix("天").removesuffix("d")
    if not raw.isdecimal() or int(raw) > 60:
        raise Invalid(N_("Write a number of days from 0 to 60, not '{text}'."), text=value)
    return int(raw)


DayOfMonth = Annotated[int, BeforeValidator(_day_of_month)]
AppealDays = Annotated[int, BeforeValidator(_appeal_days)]


def _review_fields(review: Review, member: Member, ctx: Ctx) -> list[tuple[str, str]]:
    fields = [(_("Member"), member.name), (_("Period"), review.period),
              (_("Cycle"), _(CYCLE_LABELS[review.cycle])), (_("Status"), _(STATUS_LABELS[review.status])),
              (_("Self-review due"), fmt_date(review.self_due)), (_("Scoring closes"), fmt_date(review.closes))]
    if review.self_total is not None:
        fields.append((_("Self-assessed total"), fmt_total(review.self_total)))
    if review.total is not None:
        fields.append((_("Weighted total"), fmt_total(review.total)))
    if review.appeal_until and review.status == "final":
        fields.append((_("Appeal until"), fmt_date(review.appeal_until)))
    return fields


def _indicator_items(measures: Mapping[str, Measure], review: Review) -> list[str]:
    out = []
    for n, item in enumerate(review.items, 1):
        line = f"{n}. " + _("{indicator} ({weight}%)").format(indicator=translate(item["label"]), weight=item["weight"])
        for stored in item.get("figures", []):
            fig = appraisals.figure_of(stored)
            label = _(measures[fig.key].label) if fig.key in measures else fig.key
            line += " · " + _("{measure}: {value} ({basis})").format(measure=label, value=fig.shown(),
                                                                    basis=fig.explain())
        if item.get("self_score") is not None:
            line += " · " + _("self {score}").format(score=item["self_score"])
            if item.get("self_comment"):
                line += f" “{item['self_comment']}”"
        if item.get("score") is not None:
            line += " · " + _("supervisor {score}").format(score=item["score"])
            if item.get("comment"):
                line += f" “{item['comment']}”"
        out.append(line)
    return out


def _history_items(ctx: Ctx, review: Review, names: dict[int, str]) -> list[str]:
    out = []
    for step in review.history:
        when = fmt_datetime(datetime.fromisoformat(step["at"]), ctx.actor.timezone)
        who = names.get(step["by"], "bizbot") if step.get("by") else "bizbot"
        line = f"{when} · {_(STEP_LABELS.get(step['step'], step['step']))} · {who}"
        if step.get("note"):
            line += f" · {step['note']}"
        out.append(line)
    return out


class ShowArgs(Args):
    member: MemberName | None = Field(None, description=N_("whose review (default: yours)"))
    period: PeriodArg | None = Field(None, description=N_("the period, e.g. 2026-11, 2026-Q4 or 2026"))


@commands.command("review show", N_("Show a review: indicators, figures, scores and every step."), ShowArgs,
                  positional=("member",), examples=("/review show", "/review show bob period=2026-11"))
def review_show(ctx: Ctx, args: ShowArgs) -> Reply:
    with ctx.uow() as uow:
        review, member, names = appraisals.show(uow, ctx.actor, args.member, args.period)
        measures = uow.wiring[MEASURES]
    buttons = []
    mine = member.id == ctx.actor.member_id
    if mine and review.status == "self":
        buttons = [Button(_("Score: {indicator}").format(indicator=translate(i["label"]))[:60],
                          f"/review self {n} period={review.period}") for n, i in enumerate(review.items, 1)]
        buttons.append(Button(_("Submit my self-review"), f"/review submit period={review.period}"))
    elif not mine and review.status in ("self", "scoring"):
        buttons = [Button(_("Score: {indicator}").format(indicator=translate(i["label"]))[:60],
                          f"/review score {member.name} {i['key']} period={review.period}") for i in review.items]
        buttons.append(Button(_("Send the scores"), f"/review send {member.name} period={review.period}"))
    elif mine and review.status == "final":
        buttons = [Button(_("Appeal"), f"/review appeal period={review.period}")]
    return Reply(title=_("Review {period}: {member}").format(period=review.period, member=member.name),
                 fields=_review_fields(review, member, ctx),
                 sections=[Section(_("Indicators"), _indicator_items(measures, review)),
                           Section(_("Steps"), _history_items(ctx, review, names))],
                 buttons=buttons, private=True)


class StatusArgs(Args):
    period: PeriodArg | None = Field(None, description=N_("the period, e.g. 2026-11"))


@commands.command("review status", N_("Where my review and my team's stand."), StatusArgs, positional=("period",))
def review_status(ctx: Ctx, args: StatusArgs) -> Reply:
    with ctx.uow() as uow:
        found = appraisals.status(uow, ctx.actor, args.period)
    if found.period is None:
        if found.next_opening is None:
            text = _("No appraisal has started, and every review cycle is off (/review cycles).")
        else:
            text = _("No appraisal has started yet. The next self-review window opens {when}.").format(
                when=fmt_datetime(found.next_opening, ctx.actor.timezone))
        return Reply(title=_("Appraisals"), text=text, private=True)
    items = []
    for row in found.rows:
        if row.review is None:
            items.append(_("{member}: no review").format(member=row.member.name))
            continue
        line = _("{member}: {status}").format(member=row.member.name, status=_(STATUS_LABELS[row.review.status]))
        if row.review.total is not None:
            line += " · " + _("total {total}").format(total=fmt_total(row.review.total))
        items.append(line)
    return Reply(title=_("Appraisals {period}").format(period=found.period),
                 sections=[Section(_("Reviews"), items, _("none"))], private=True)


class SelfArgs(Args):
    indicator: Text = Field(description=N_("the indicator: its key, number or name"))
    score: Points = Field(description=N_("your score, 0 to 100"))
    note: LongText | None = Field(None, description=N_("your comment on this indicator"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: your latest review)"))


@commands.command("review self", N_("Score one indicator of your self-review."), SelfArgs,
                  positional=("indicator", "score"), ask=("indicator", "score", "note"),
                  examples=('/review self performance 85 note="two contracts signed"', "/review self 2 90"))
def review_self(ctx: Ctx, args: SelfArgs) -> Reply:
    with ctx.uow() as uow:
        review, item = appraisals.self_score(uow, ctx.actor, args.indicator, args.score, args.note, args.period)
    left = [translate(i["label"]) for i in review.items if i.get("self_score") is None]
    text = _("Self-score {score} recorded for {indicator}.").format(score=args.score,
                                                                    indicator=translate(item["label"]))
    if left:
        text = sentences(text, _("Still to score: {indicators}.").format(indicators=fmt_list(left)))
        return Reply(text=text, private=True)
    return Reply(text=sentences(text, _("All indicators scored.")), private=True,
                 buttons=[Button(_("Submit my self-review"), f"/review submit period={review.period}")])


class SubmitArgs(Args):
    note: LongText | None = Field(None, description=N_("an overall comment"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: your latest review)"))


@commands.command("review submit", N_("Submit your self-review to your supervisor."), SubmitArgs)
def review_submit(ctx: Ctx, args: SubmitArgs) -> Reply:
    with ctx.uow() as uow:
        review = appraisals.submit_self(uow, ctx.actor, args.period, args.note)
    return Reply(text=_("Your {period} self-review is submitted (self-assessed {total}); your supervisor scores it "
                        "next.").format(period=review.period, total=fmt_total(review.self_total)), private=True)


class ScoreArgs(Args):
    member: MemberName = Field(description=N_("whose review"))
    indicator: Text = Field(description=N_("the indicator: its key, number or name"))
    score: Points = Field(description=N_("your score, 0 to 100"))
    note: LongText | None = Field(None, description=N_("your comment on this indicator"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: their latest review)"))


@commands.command("review score", N_("Score one indicator of a team member's review."), ScoreArgs,
                  positional=("member", "indicator", "score"), ask=("indicator", "score", "note"),
                  examples=('/review score bob performance 80 note="good month"',))
def review_score(ctx: Ctx, args: ScoreArgs) -> Reply:
    with ctx.uow() as uow:
        review, member, item = appraisals.supervisor_score(uow, ctx.actor, args.member, args.indicator, args.score,
                                                           args.note, args.period)
    left = [translate(i["label"]) for i in review.items if i.get("score") is None]
    text = _("Score {score} recorded for {member}'s {indicator}.").format(
        score=args.score, member=member.name, indicator=translate(item["label"]))
    if left:
        return Reply(text=sentences(text, _("Still to score: {indicators}.").format(indicators=fmt_list(left))),
                     private=True)
    return Reply(text=sentences(text, _("All indicators scored.")), private=True,
                 buttons=[Button(_("Send the scores"), f"/review send {member.name} period={review.period}")])


class SendArgs(Args):
    member: MemberName = Field(description=N_("whose review"))
    note: LongText | None = Field(None, description=N_("your overall comment"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: their latest review)"))


@commands.command("review send", N_("Send your scores of a review to the manager for approval."), SendArgs,
                  positional=("member",))
def review_send(ctx: Ctx, args: SendArgs) -> Reply:
    with ctx.uow() as uow:
        review, member = appraisals.send_scores(uow, ctx.actor, args.member, args.period, args.note)
    return Reply(text=_("{member}'s {period} review is scored ({total}) and sent to the manager for approval.").format(
        member=member.name, period=review.period, total=fmt_total(review.total)), private=True)


class ApproveArgs(Args):
    member: MemberName = Field(description=N_("whose review"))
    note: LongText | None = Field(None, description=N_("a note for the record"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: their latest review)"))


@commands.command("review approve", N_("Approve a scored review; the member receives the result."), ApproveArgs,
                  positional=("member",))
def review_approve(ctx: Ctx, args: ApproveArgs) -> Reply:
    with ctx.uow() as uow:
        review, member = appraisals.approve(uow, ctx.actor, args.member, args.period, args.note)
    return Reply(text=_("{member}'s {period} review is approved by {manager}: {total}. The result is sent to them.")
                 .format(member=member.name, period=review.period, manager=ctx.actor.name,
                         total=fmt_total(review.total)))


class ReturnArgs(Args):
    member: MemberName = Field(description=N_("whose review"))
    reason: LongText = Field(description=N_("why it goes back to the supervisor"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: their latest review)"))


@commands.command("review return", N_("Return a scored review to the supervisor, with a reason."), ReturnArgs,
                  positional=("member",), ask=("reason",))
def review_return(ctx: Ctx, args: ReturnArgs) -> Reply:
    with ctx.uow() as uow:
        review, member = appraisals.return_review(uow, ctx.actor, args.member, args.period, args.reason)
    return Reply(text=_("{member}'s {period} review is returned to the supervisor by {manager}: {reason}").format(
        member=member.name, period=review.period, manager=ctx.actor.name, reason=args.reason))


class AppealArgs(Args):
    reason: LongText = Field(description=N_("why you appeal"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: your latest review)"))


@commands.command("review appeal", N_("Appeal your review's result within the appeal window."), AppealArgs,
                  ask=("reason",))
def review_appeal(ctx: Ctx, args: AppealArgs) -> Reply:
    with ctx.uow() as uow:
        review = appraisals.appeal(uow, ctx.actor, args.period, args.reason)
    return Reply(text=_("Your appeal of the {period} review is with the manager.").format(period=review.period),
                 private=True)


RULINGS = Vocabulary(N_("ruling"), {"upheld": N_("upheld"), "dismissed": N_("dismissed")},
                     {"成立": "upheld", "申诉成立": "upheld", "支持": "upheld", "驳回": "dismissed",
                      "不成立": "dismissed", "申诉不成立": "dismissed", "维持": "dismissed"})
Ruling = Annotated[str, OneOf(RULINGS)]


class RuleArgs(Args):
    member: MemberName = Field(description=N_("whose appeal"))
    decision: Ruling = Field(description=N_("upheld or dismissed"))
    note: LongText | None = Field(None, description=N_("the ruling's reasons"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: their latest review)"))


@commands.command("review rule", N_("Rule on an appeal: upheld sends the review back for scoring."), RuleArgs,
                  positional=("member", "decision"), ask=("note",))
def review_rule(ctx: Ctx, args: RuleArgs) -> Reply:
    with ctx.uow() as uow:
        review, member = appraisals.rule(uow, ctx.actor, args.member, args.decision, args.period, args.note)
    msg = (N_("{manager} upheld {member}'s appeal of the {period} review; it goes back to the supervisor.")
           if args.decision == "upheld" else
           N_("{manager} dismissed {member}'s appeal of the {period} review; the result stands."))
    return Reply(text=_(msg).format(manager=ctx.actor.name, member=member.name, period=review.period))


class CyclesArgs(Args):
    monthly: OnOff | None = Field(None, description=N_("monthly reviews on or off"))
    quarterly: OnOff | None = Field(None, description=N_("quarterly reviews on or off"))
    annual: OnOff | None = Field(None, description=N_("annual reviews on or off"))
    self_day: DayOfMonth | None = Field(None, description=N_("self-reviews due by this day of the next month"))
    close_day: DayOfMonth | None = Field(None, description=N_("scoring closes on this day of the next month"))
    annual_self_day: DayOfMonth | None = Field(None, description=N_("annual self-reviews due by this day of January"))
    annual_close_day: DayOfMonth | None = Field(None, description=N_("annual scoring closes on this day of January"))
    appeal_days: AppealDays | None = Field(None, description=N_("days to appeal after the result"))


@commands.command("review cycles", N_("Show or set the appraisal cycles and their windows (admins)."), CyclesArgs,
                  examples=("/review cycles", "/review cycles quarterly=on close_day=10 appeal_days=5"))
def review_cycles(ctx: Ctx, args: CyclesArgs) -> Reply:
    changes = args.model_dump(exclude_none=True)
    with ctx.uow() as uow:
        cfg = appraisals.set_cycles(uow, ctx.actor, changes)
    on = fmt_list([_(CYCLE_LABELS[c]) for c in cfg["cycles"]]) or _("none")
    return Reply(title=_("Appraisal cycles"), text=_("Saved.") if changes else "", fields=[
        (_("Cycles"), on),
        (_("Monthly and quarterly"), _("opens on the last working day of the period; self-review by day {self}, "
                                       "scoring closes on day {close} of the next month").format(
            self=cfg["self_day"], close=cfg["close_day"])),
        (_("Annual"), _("opens on the first working day of January; self-review by {self} January, scoring closes "
                        "on {close} January").format(self=cfg["annual_self_day"], close=cfg["annual_close_day"])),
        (_("Appeal window"), _("{days} days after the result").format(days=cfg["appeal_days"]))])


class TemplateShowArgs(Args):
    name: Text | None = Field(None, description=N_("the template (default: all)"))


@commands.command("review template", N_("Show the indicator templates and their weights."), TemplateShowArgs,
                  positional=("name",))
def review_template(ctx: Ctx, args: TemplateShowArgs) -> Reply:
    with ctx.uow() as uow:
        tpls = appraisals.org_templates(uow, ctx.actor)
        measures = uow.wiring[MEASURES]
    sections = []
    for name, tpl in tpls.items():
        if args.name and name != args.name.lower():
            continue
        items = []
        for item in tpl["indicators"]:
            measured = fmt_list([_(measures[k].label) for k in item.get("measures", []) if k in measures])
            line = f"{item['key']}: " + _("{indicator} ({weight}%)").format(
                indicator=translate(item["label"]), weight=item["weight"])
            items.append(line + (" · " + _("measured: {figures}").format(figures=measured) if measured else ""))
        roles = fmt_list([ROLES.label(r) for r in tpl["roles"]])
        sections.append(Section(_("{name} — {label} ({roles})").format(name=name, label=translate(tpl["label"]),
                                                                        roles=roles), items))
    if not sections:
        raise Invalid(N_("There is no template {name}; templates: {choices}."), name=args.name,
                      choices=Choices(list(tpls)))
    return Reply(title=_("Appraisal templates"), sections=sections, private=True)


class TemplateSetArgs(Args):
    name: Text = Field(description=N_("the template: bd, project or service"))
    weights: Text = Field(description=N_("every indicator's weight, totalling 100, e.g. performance=40 ..."))
    labels: Text | None = Field(None, description=N_("labels of new indicators, e.g. \"upsell: upselling\""))
    roles: Text | None = Field(None, description=N_("the roles this template applies to, comma-separated"))


@commands.command("review weights", N_("Set a template's indicators and weights (admins); they total 100."),
                  TemplateSetArgs, positional=("name",),
                  examples=('/review weights bd weights="performance=50 new_customers=20 negotiation=20 teamwork=10"',))
def review_weights(ctx: Ctx, args: TemplateSetArgs) -> Reply:
    weights = appraisals.parse_weights(args.weights)
    labels = appraisals.parse_labels(args.labels) if args.labels else {}
    roles = [r.strip() for r in re.split(r"[,，\s]+", args.roles) if r.strip()] if args.roles else None
    with ctx.uow() as uow:
        tpl = appraisals.set_template(uow, ctx.actor, args.name.lower(), weights, labels, roles)
    return Reply(text=_("Template {name} saved: {weights}. Reviews opened from now on use it.").format(
        name=args.name.lower(), weights=fmt_list([_("{indicator} ({weight}%)").format(
            indicator=translate(i["label"]), weight=i["weight"]) for i in tpl["indicators"]])))


class KpiArgs(Args):
    member: MemberName | None = Field(None, description=N_("whose indicators (default: yours)"))
    period: PeriodArg | None = Field(None, description=N_("the period (default: this month)"))


@commands.command("kpi", N_("The indicators the records measure for a member and period."), KpiArgs,
                  positional=("member", "period"), examples=("/kpi", "/kpi bob 2026-11"))
def kpi(ctx: Ctx, args: KpiArgs) -> Reply:
    with ctx.uow() as uow:
        member, period, rows = appraisals.member_figures(uow, ctx.actor, args.member, args.period)
        measures = uow.wiring[MEASURES]
    items, by_hand = [], []
    for item, figs in rows:
        if not figs:
            by_hand.append(translate(item["label"]))
        for fig in figs:
            items.append(_("{indicator} — {measure}: {value} ({basis})").format(
                indicator=translate(item["label"]), measure=_(measures[fig.key].label), value=fig.shown(),
                basis=fig.explain()))
    return Reply(title=_("Indicators of {member}, {period}").format(member=member.name, period=period.key),
                 sections=[Section(_("Measured"), items, _("none")),
                           Section(_("Scored by hand (no records measure them)"), by_hand, _("none"))],
                 private=True)


class GradesArgs(Args):
    bands: Text | None = Field(None, description=N_("all four grades as grade:from:coefficient, e.g. A:90:1.2 "
                                                    "B:75:1.0 C:60:0.8 D:0:0.5"))


@commands.command("review grades", N_("Show or set the grade bands and bonus coefficients (admins, managers)."),
                  GradesArgs, positional=("bands",), greedy=True,
                  examples=("/review grades", "/review grades A:90:1.2 B:75:1.0 C:60:0.8 D:0:0.5"))
def review_grades(ctx: Ctx, args: GradesArgs) -> Reply:
    """绩效等级 and 奖金系数: a total at or above a band's start earns its grade."""
    bands = appraisals.parse_grades(args.bands) if args.bands else None
    with ctx.uow() as uow:
        shown = appraisals.set_grades(uow, ctx.actor, bands)
    return Reply(title=_("Grades and bonus coefficients"), text=_("Saved.") if bands else "",
                 fields=[(b["grade"], _("total from {start}: bonus coefficient {coefficient}").format(
                     start=fmt_number(Decimal(b["from"])), coefficient=fmt_number(Decimal(b["coefficient"]))))
                     for b in shown])
