"""/enquiry and /suggestion: customers' enquiries (咨询) and suggestions (建议), with a promised reply time."""
from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from pydantic import Field

from domain.complaints import requests
from domain.kernel.clock import at_local
from domain.kernel.i18n import N_, _, fmt_datetime, translate
from domain.team.access import ref
from handlers.args import Args, CustomerRef, LongText, MemberName, NextDate, Text, scope
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


class RequestNewArgs(Args):
    customer: CustomerRef = Field(description=N_("customer (C3 or its name)"))
    what: LongText = Field(description=N_("what the customer asked or suggested"))
    reply_by: NextDate | None = Field(None, description=N_("the day the reply is promised (default: within the "
                                                           "department's reply time)"))
    assignee: MemberName | None = Field(None, description=N_("who answers (default: you)"))


def _log(ctx: Ctx, args: RequestNewArgs, kind: str) -> Reply:
    when: datetime | None = None
    if args.reply_by is not None:
        when = at_local(args.reply_by, time(18), ctx.actor.timezone)
    with ctx.uow() as uow:
        req, customer, member = requests.log_request(uow, ctx.actor, args.customer, args.what, kind, when,
                                                     args.assignee)
    eref = ref(requests.PREFIX, req.number)
    return Reply(text=_("{kind} {ref} from {customer} logged; {member} answers it, promised by {when}.").format(
        kind=translate(requests.KINDS[kind]).capitalize(), ref=eref, customer=customer.name, member=member.name,
        when=fmt_datetime(req.reply_by, ctx.actor.timezone)),
        buttons=[Button(_("Reply"), f"/enquiry reply {eref} answer=")])


@commands.command("enquiry new", N_("Log a customer's enquiry, with the reply promised by when."), RequestNewArgs,
                  positional=("customer",), ask=("customer", "what"),
                  examples=('/enquiry new Acme what="asks for the delivery schedule"',
                            '/咨询 新建 华为 内容="询问报价" 回复期限=明天'))
def enquiry_new(ctx: Ctx, args: RequestNewArgs) -> Reply:
    return _log(ctx, args, "enquiry")


@commands.command("suggestion new", N_("Log a customer's suggestion, with the reply promised by when."),
                  RequestNewArgs, positional=("customer",), ask=("customer", "what"),
                  examples=('/suggestion new Acme what="wants monthly reports"',))
def suggestion_new(ctx: Ctx, args: RequestNewArgs) -> Reply:
    return _log(ctx, args, "suggestion")


class ReplyArgs(Args):
    request: Text = Field(description=N_("enquiry or suggestion reference, e.g. E3"))
    answer: LongText = Field(description=N_("what the customer was told"))


@commands.command("enquiry reply", N_("Record the reply given to an enquiry or suggestion."), ReplyArgs,
                  positional=("request",), ask=("request", "answer"),
                  examples=('/enquiry reply E3 answer="schedule sent by e-mail"',))
def enquiry_reply(ctx: Ctx, args: ReplyArgs) -> Reply:
    with ctx.uow() as uow:
        req, in_time = requests.reply(uow, ctx.actor, args.request, args.answer)
    eref = ref(requests.PREFIX, req.number)
    return Reply(text=(_("Reply to {ref} recorded, in time.") if in_time
                       else _("Reply to {ref} recorded, after the time promised.")).format(ref=eref))


RequestScope = Annotated[str, scope("open", "all")]


class ListArgs(Args):
    scope: RequestScope = Field("open", description=N_("open (default) or all"))


@commands.command("enquiry list", N_("The enquiries and suggestions I may see, the earliest promise first."),
                  ListArgs, positional=("scope",), examples=("/enquiry list", "/enquiry list all"))
def enquiry_list(ctx: Ctx, args: ListArgs) -> Reply:
    with ctx.uow() as uow:
        rows = requests.list_requests(uow, ctx.actor, args.scope)
    items = [" · ".join([ref(requests.PREFIX, r.req.number), translate(requests.KINDS[r.req.kind]), r.customer,
                         r.req.what, r.assignee, fmt_datetime(r.req.reply_by, ctx.actor.timezone)]
                        + ([_("overdue")] if r.req.status == "open" and r.req.reply_by < ctx.now else [])
                        + ([_("answered")] if r.req.status != "open" else [])) for r in rows]
    return Reply(title=_("Enquiries and suggestions ({count})").format(count=len(rows)),
                 sections=[Section(_("Enquiries and suggestions"), items, _("none"))], private=True)


commands.describe_group("enquiry", N_("Customers' enquiries (咨询): log, reply, list."))
commands.describe_group("suggestion", N_("Customers' suggestions (建议)."))
