"""/holiday: the department's working calendar — days off and make-up working days (调休) over China's."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from domain.crm import holidays
from domain.delivery.calendar import HOLIDAY_NAMES
from domain.kernel.clock import local_today
from domain.kernel.dates import TooFar, parse_date
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, fmt_date_range, fmt_list
from domain.team.access import TEAM_ADMIN_ROLES
from handlers.args import Args, DateArg, Text
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Reply, Section

commands = Registry()


def _year(value: Any) -> int:
    text = str(value).strip().removesuffix("年")
    if not text.isdecimal() or not 2000 <= int(text) <= 2100:
        raise Invalid(N_("'{text}' is not a year between 2000 and 2100."), text=value)
    return int(text)


Year = Annotated[int, BeforeValidator(_year)]


class MarkArgs(Args):
    first: DateArg = Field(description=N_("the first day"))
    last: DateArg | None = Field(None, description=N_("the last day (if more than one)"))
    name: Text | None = Field(None, description=N_("the holiday's name, e.g. 春节"))

    @model_validator(mode="before")
    @classmethod
    def _one_day_and_a_name(cls, data: Any, info: ValidationInfo) -> Any:
        """`/holiday add 2027-10-01 国庆节`: for one day, what follows the date is the name."""
        if not isinstance(data, dict) or not isinstance(data.get("last"), str) or not info.context:
            return data
        try:
            parse_date(data["last"], info.context["today"])
        except TooFar:
            return data  # a date, refused as one
        except Invalid:
            rest = [data["last"], data.get("name") or ""]
            return {**data, "last": None, "name": " ".join(part for part in rest if part)}
        return data


class UnmarkArgs(Args):
    first: DateArg = Field(description=N_("the first day"))
    last: DateArg | None = Field(None, description=N_("the last day (if more than one)"))


class ListArgs(Args):
    year: Year | None = Field(None, description=N_("a year, e.g. 2027 (default: this year)"))


def _span_text(first: date, last: date, name: str | None) -> str:
    when = fmt_date_range(first, last)
    return _("{days} ({name})").format(days=when, name=name) if name else when


@commands.command("holiday add", N_("Mark days off for the department (a public holiday, a company day off)."),
                  MarkArgs, positional=("first", "last", "name"), greedy=True, roles=TEAM_ADMIN_ROLES,
                  ask=("first", "last", "name"),
                  examples=("/holiday add 2027-02-06 2027-02-12 春节", "/holiday add 2027-10-01 name=国庆节"))
def holiday_add(ctx: Ctx, args: MarkArgs) -> Reply:
    """Mark days off."""
    with ctx.uow() as uow:
        days = holidays.mark(uow, ctx.actor, args.first, args.last, working=False, name=args.name)
    return Reply(text=_("Days off: {days}. Deadlines counted in working days, reminders and the weekly "
                        "meeting now skip them.").format(days=_span_text(days[0], days[-1], args.name)))


@commands.command("holiday workday", N_("Mark make-up working days (调休上班), e.g. a Saturday worked for a holiday."),
                  MarkArgs, positional=("first", "last", "name"), greedy=True, roles=TEAM_ADMIN_ROLES,
                  ask=("first", "last", "name"), examples=("/holiday workday 2027-02-20 春节",))
def holiday_workday(ctx: Ctx, args: MarkArgs) -> Reply:
    """Mark make-up working days."""
    with ctx.uow() as uow:
        days = holidays.mark(uow, ctx.actor, args.first, args.last, working=True, name=args.name)
    return Reply(text=_("Working days: {days}.").format(days=_span_text(days[0], days[-1], args.name)))


@commands.command("holiday remove", N_("Take back the department's own marks on days (China's calendar applies)."),
                  UnmarkArgs, positional=("first", "last"), roles=TEAM_ADMIN_ROLES,
                  examples=("/holiday remove 2027-02-06 2027-02-12",))
def holiday_remove(ctx: Ctx, args: UnmarkArgs) -> Reply:
    """Remove the department's own marks."""
    with ctx.uow() as uow:
        removed = holidays.unmark(uow, ctx.actor, args.first, args.last)
    span = fmt_date_range(args.first, args.last or args.first)
    if not removed:
        return Reply(text=_("The department had marked none of {days}; nothing changed.").format(days=span),
                     private=True)
    return Reply(text=_("The department's own marks on {days} are removed; China's calendar applies to "
                        "those days again.").format(days=fmt_date_range(removed[0], removed[-1])))


@commands.command("holiday list", N_("Show a year's days off and make-up working days."), ListArgs,
                  positional=("year",), examples=("/holiday list", "/holiday list 2027"))
def holiday_list(ctx: Ctx, args: ListArgs) -> Reply:
    """The year's working calendar."""
    year = args.year or local_today(ctx.now, ctx.actor.timezone).year
    with ctx.uow() as uow:
        view = holidays.year_view(uow, ctx.actor, year)

    def item(span: holidays.Span) -> str:
        name = span.name if span.own or span.name not in HOLIDAY_NAMES else _(HOLIDAY_NAMES[span.name])
        text = _span_text(span.first, span.last, name)
        if span.own:
            return _("{days} — set by the department").format(days=text)
        return _("{days} — fixed by law").format(days=text) if span.fixed else text

    off = [item(s) for s in view.spans if not s.working]
    working = [item(s) for s in view.spans if s.working]
    note = ""
    if view.unknown:
        note = _("China's holiday schedule for {year} is not in bizbot's calendar yet. It knows the days off "
                 "fixed by law and the days the department marked (below); it does not know {missing} yet, nor "
                 "the make-up working days. Add them with /holiday add and /holiday workday.").format(
            year=year, missing=fmt_list([_(HOLIDAY_NAMES[name]) for name in view.unknown]))
    elif not view.known:
        note = _("China's holiday schedule for {year} is not in bizbot's calendar yet; the department has marked "
                 "its holidays (below). Mark the make-up working days with /holiday workday.").format(year=year)
    return Reply(
        title=_("Working calendar {year}").format(year=year),
        text=note,
        sections=[Section(_("Days off"), off, _("Only weekends.")),
                  Section(_("Make-up working days"), working, _("none"))],
        private=True,
    )


commands.describe_group("holiday", N_("The department's days off and make-up working days."))
