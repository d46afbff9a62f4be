"""/customer: the customer archive (客户档案)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.crm import customers as crm
from domain.kernel.i18n import N_, _, fmt_birthday, sentences, translate
from domain.kernel.notes import note_text
from domain.kernel.vocab import CALLBACK_REASONS, LEVELS, SCALES, VISIT_CHANNELS
from domain.risk.levels import marked
from handlers.args import (
    Args,
    Birthday,
    Credit,
    CustomerRef,
    Days,
    Email,
    Level,
    LongText,
    MemberName,
    Phone,
    Risk,
    Scale,
    Text,
    scope,
)
from handlers.context import Ctx
from handlers.format import day, lead_line, local_day, risk
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


class CustomerFieldsArgs(Args):
    industry: Text | None = Field(None, description=N_("the customer's industry"))
    scale: Scale | None = Field(None, description=N_("small, medium or large"))
    level: Level | None = Field(None, description=N_("key, regular or minor"))
    credit: Credit | None = Field(None, description=N_("credit rating: AAA … C"))
    contact: Text | None = Field(None, description=N_("contact person"))
    phone: Phone | None = Field(None, description=N_("phone number"))
    email: Email | None = Field(None, description=N_("e-mail address"))
    birthday: Birthday | None = Field(None, description=N_("birthday or anniversary, for care messages"))
    cadence: Days | None = Field(None, description=N_("how often to call back, e.g. 30d"))
    risk: Risk | None = Field(None, description=N_("risk level: high, medium or low"))
    reason: LongText | None = Field(None, description=N_("why the risk level is what it is (with risk=)"))
    owner: MemberName | None = Field(None, description=N_("the member who owns the customer (default: you)"))

    def to_fields(self) -> crm.CustomerFields:
        return crm.CustomerFields(
            industry=self.industry, scale=self.scale, level=self.level, credit_rating=self.credit,
            contact_name=self.contact, phone=self.phone, email=self.email, birthday=self.birthday,
            cadence_days=self.cadence, risk=self.risk, risk_note=self.reason,
        )


class CustomerNewArgs(CustomerFieldsArgs):
    name: Text = Field(description=N_("the customer's name"))


@commands.command("customer new", N_("Open a customer archive."), CustomerNewArgs, positional=("name",),
                  greedy=True, ask=("name", "industry", "level"),
                  examples=("/customer new Acme industry=manufacturing level=key cadence=30d",
                            "/customer new 华为 行业=通信 级别=重点",
                            '/customer new Beta risk=high reason="two invoices overdue at their old supplier"'))
def customer_new(ctx: Ctx, args: CustomerNewArgs) -> Reply:
    """Create a customer; its first regular callback follows from its cadence."""
    with ctx.uow() as uow:
        customer, first = crm.create_customer(uow, ctx.actor, args.name, args.to_fields(), args.owner)
    return Reply(
        text=_("Customer {name} ({ref}) created. First callback due {date}.").format(
            name=customer.name, ref=f"C{customer.number}", date=day(first.due_date)),
        buttons=[Button(_("New lead"), f"/lead new C{customer.number}"),
                 Button(_("Archive"), f"/customer show C{customer.number}")],
    )


class CustomerSetArgs(CustomerFieldsArgs):
    customer: CustomerRef = Field(description=N_("customer name or reference"))


@commands.command("customer set", N_("Change a customer's details."), CustomerSetArgs,
                  positional=("customer",), greedy=True, examples=("/customer set C3 risk=high credit=BB",))
def customer_set(ctx: Ctx, args: CustomerSetArgs) -> Reply:
    """Update customer fields; a new owner takes what is open with it, a new cadence moves the regular callback."""
    with ctx.uow() as uow:
        done = crm.update_customer(uow, ctx.actor, args.customer, args.to_fields(), args.owner)
    customer = done.customer
    parts = [_("Customer {name} ({ref}) updated.").format(name=customer.name, ref=f"C{customer.number}")]
    if done.moved is not None:
        parts.append(_("{owner} owns it now, with what was open: {moved}.").format(
            owner=done.moved.new.name, moved=", ".join(done.moved.refs)) if done.moved.refs
            else _("{owner} owns it now.").format(owner=done.moved.new.name))
    if done.callback is not None:
        parts.append(_("The regular callback {ref} is now due {date}.").format(
            ref=f"CB{done.callback.number}", date=day(done.callback.due_date)))
    return Reply(text=sentences(*parts))


class CustomerShowArgs(Args):
    customer: CustomerRef = Field(description=N_("customer name or reference"))


@commands.command("customer show", N_("Show a customer's archive: leads, visits, contracts, complaints, callbacks."),
                  CustomerShowArgs,
                  positional=("customer",), greedy=True, examples=("/customer show Acme",))
def customer_show(ctx: Ctx, args: CustomerShowArgs) -> Reply:
    """The archive, newest first."""
    with ctx.uow() as uow:
        a = crm.customer_archive(uow, ctx.actor, args.customer)
    c = a.customer
    fields = [
        (_("Owner"), a.owner.name),
        (_("Level"), LEVELS.label(c.level)),
        (_("Risk"), risk(c.risk, c.risk_note)),
    ]
    optional = [
        (_("Industry"), c.industry), (_("Scale"), SCALES.label(c.scale) if c.scale else None),
        (_("Credit rating"), c.credit_rating), (_("Contact"), c.contact_name), (_("Phone"), c.phone),
        (_("E-mail"), c.email), (_("Birthday"), fmt_birthday(c.birthday) if c.birthday else None),
    ]
    fields += [(k, v) for k, v in optional if v]
    fields.append((_("Callback cadence"), _("every {days} days").format(days=crm.cadence_days(c))))
    leads = [lead_line(lead, c.name, value_hidden=lead.id in a.values_hidden) for lead in a.leads]
    visits = [
        f"V{v.number} · {local_day(v.at, ctx.actor.timezone)} · {VISIT_CHANNELS.label(v.channel)} · {m.name}"
        + (f" · {v.note or v.purpose or v.needs}" if (v.note or v.purpose or v.needs) else "")
        for v, m in a.visits
    ]
    callbacks = [
        f"CB{cb.number} · {day(cb.due_date)} · {_(CALLBACK_REASONS.get(cb.reason, cb.reason))} · "
        + (_("done: {result}").format(result=note_text(cb.result)) if cb.status == "done" else
           _("not made: {reason}").format(reason=note_text(cb.result)) if cb.status == "cancelled" else _("open"))
        for cb in a.callbacks
    ]
    return Reply(
        title=f"{c.name} (C{c.number})",
        fields=fields,
        sections=[
            Section(_("Leads"), leads, _("none")),
            Section(_("Visits"), visits, _("none")),
            *(Section(translate(title), lines, _("none")) for title, lines in a.more),
            Section(_("Callbacks"), callbacks, _("none")),
        ],
        buttons=[Button(_("Log visit"), f"/visit C{c.number}"), Button(_("New lead"), f"/lead new C{c.number}")],
        private=True,
    )


CustomerScope = Annotated[str, scope("mine", "all")]


class CustomerListArgs(Args):
    scope: CustomerScope = Field("all", description=N_("mine, or all you can see"))


@commands.command("customer list", N_("List the customers you can see."), CustomerListArgs,
                  positional=("scope",))
def customer_list(ctx: Ctx, args: CustomerListArgs) -> Reply:
    """Customers visible to the actor."""
    with ctx.uow() as uow:
        rows = crm.list_customers(uow, ctx.actor, args.scope)
    items = [f"{marked(f'C{c.number}', c.risk)} · {c.name} · {LEVELS.label(c.level)} · {m.name}" for c, m in rows]
    return Reply(title=_("Customers ({count})").format(count=len(rows)),
                 sections=[Section(_("Customers"), items, _("none"))], private=True)




commands.describe_group("customer", N_("The customer archive."))
