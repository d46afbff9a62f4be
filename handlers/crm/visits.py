"""/visit and /callback: customer visits (客户拜访) and the callbacks they schedule (回访)."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from domain.crm import callbacks
from domain.crm import customers as crm
from domain.kernel.i18n import N_, _, sentences
from domain.kernel.vocab import CALLBACK_REASONS, VISIT_CHANNELS
from handlers.args import Args, Channel, CustomerRef, LongText, NextDate, PastDate, Score, Text, scope
from handlers.context import Ctx
from handlers.format import day
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


class VisitArgs(Args):
    customer: CustomerRef = Field(description=N_("customer name or reference"))
    channel: Channel = Field("onsite", description=N_("onsite, phone, email, exhibition or online"))
    note: LongText | None = Field(None, description=N_("what happened"))
    purpose: LongText | None = Field(None, description=N_("the purpose of the visit"))
    needs: LongText | None = Field(None, description=N_("what was learned about the customer's needs"))
    next: NextDate | None = Field(None, description=N_("next follow-up date; schedules a callback"))
    lead: Text | None = Field(None, description=N_("the lead this visit belongs to"))
    date: PastDate | None = Field(None, description=N_("the day of the visit, when it is recorded afterwards "
                                                        "(补录; default: today)"))


@commands.command("visit", N_("Log a customer visit; next=DATE schedules a callback, date=DATE records an earlier "
                              "one."), VisitArgs,
                  positional=("customer",), greedy=True, ask=("customer", "channel", "note", "next"),
                  examples=("/visit Acme channel=phone note=\"discussed pricing\" next=\"next friday\"",
                            "/visit 华为 备注=\"介绍方案\" 下次=下周三", "/visit 华为 备注=\"补录\" 日期=昨天"))
def visit(ctx: Ctx, args: VisitArgs) -> Reply:
    """Record a visit and its callback."""
    with ctx.uow() as uow:
        visit_number, customer, cb = crm.record_visit(
            uow, ctx.actor, args.customer, channel=args.channel, note=args.note, purpose=args.purpose,
            needs=args.needs, next_date=args.next, lead_text=args.lead, day=args.date,
        )
    text = _("Visit {ref} to {customer} recorded ({channel}).").format(
        ref=f"V{visit_number}", customer=customer.name, channel=VISIT_CHANNELS.label(args.channel))
    if args.date is not None and args.date < ctx.today:
        text = sentences(text, _("It is recorded on {date}.").format(date=day(args.date)))
    if cb is not None:
        text = sentences(text,
                         _("Callback {ref} scheduled for {date}.").format(ref=f"CB{cb.number}", date=day(cb.due_date)))
    return Reply(text=text)


CallbackScope = Annotated[str, scope("mine", "team")]


class CallbackListArgs(Args):
    scope: CallbackScope = Field("mine", description=N_("mine, or my team's"))


@commands.command("callback list", N_("List open callbacks, the most overdue first."), CallbackListArgs,
                  positional=("scope",))
def callback_list(ctx: Ctx, args: CallbackListArgs) -> Reply:
    """Open callbacks, due first."""
    with ctx.uow() as uow:
        rows = callbacks.list_callbacks(uow, ctx.actor, args.scope)
    today = ctx.today
    items = []
    for r in rows:
        line = f"CB{r.callback.number} · {day(r.callback.due_date)} · {r.customer.name} · " \
               f"{_(CALLBACK_REASONS.get(r.callback.reason, r.callback.reason))}"
        if args.scope != "mine":
            line += f" · {r.owner.name}"
        if r.callback.due_date < today:
            line += " · " + _("overdue")
        items.append(line)
    return Reply(title=_("Open callbacks ({count})").format(count=len(rows)),
                 sections=[Section(_("Callbacks"), items, _("none"))], private=True)


class CallbackDoneArgs(Args):
    callback: Text = Field(description=N_("callback reference, e.g. CB7"))
    result: LongText = Field(description=N_("what came of it"))
    channel: Channel | None = Field(None, description=N_("how you reached them: phone, WeChat, e-mail, on-site or "
                                                          "online"))
    satisfaction: Score | None = Field(None, description=N_("the customer's satisfaction, 1 to 5"))
    comment: LongText | None = Field(None, description=N_("what the customer said of it"))


def _still_open(ctx: Ctx, data: dict[str, Any]) -> None:
    if data.get("callback"):
        with ctx.uow() as uow:
            callbacks.open_callback(uow, ctx.actor, str(data["callback"]))


@commands.command("callback done", N_("Record a callback's result; the next one is scheduled."),
                  CallbackDoneArgs, positional=("callback",), precheck=_still_open,
                  examples=("/callback done CB7 result=\"happy, wants a quote\"",
                            "/callback done CB7 result=\"客户满意\" 渠道=微信 满意度=5",
                            "/callback done CB7 result=\"ok\" satisfaction=3 comment=\"slow delivery\""))
def callback_done(ctx: Ctx, args: CallbackDoneArgs) -> Reply:
    """Complete a callback."""
    with ctx.uow() as uow:
        done = callbacks.complete_callback(uow, ctx.actor, args.callback, args.result, args.channel,
                                           args.satisfaction, args.comment)
    text = _("Callback CB{id} with {customer} recorded.").format(id=done.callback.number, customer=done.customer.name)
    if args.channel is not None:
        text = sentences(text, _("Reached by {channel}.").format(channel=VISIT_CHANNELS.label(args.channel)))
    if args.satisfaction is not None:
        text = sentences(text, _("Satisfaction {score} of 5.").format(score=args.satisfaction))
    buttons = []
    if done.next_callback is not None:
        text = sentences(text, _("Next callback {ref} due {date}.").format(
            ref=f"CB{done.next_callback.number}", date=day(done.next_callback.due_date)))
        buttons.append(Button(_("Archive"), f"/customer show C{done.customer.number}"))
    return Reply(text=text, buttons=buttons)


commands.describe_group("callback", N_("Customer callbacks."))
