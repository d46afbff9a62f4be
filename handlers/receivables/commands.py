"""/contract terms, /invoice, /payment, /receivables: payment terms, invoices (开票), payments (回款) and the
receivables' ageing (账龄)."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from domain.approvals import engine as approvals
from domain.kernel.i18n import N_, _, translate
from domain.receivables import ageing, invoices, milestones, payments
from domain.receivables import terms as T
from handlers.args import Args, LongText, Money, PastDate, Text, scope
from handlers.context import Ctx
from handlers.format import day, money
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


class TermsArgs(Args):
    contract: Text = Field(description=N_("the contract (K3)"))
    terms: LongText = Field(description=N_("the payment terms, e.g. \"30% on signing, 60% on delivery, 10% 90 days "
                                           "after acceptance\""))


@commands.command("contract terms", N_("Set a contract's payment terms as milestones."), TermsArgs,
                  positional=("contract", "terms"), greedy=True, ask=("contract", "terms"),
                  examples=('/contract terms K1 "30% on signing, 60% on delivery, 10% 90 days after acceptance"',
                            '/contract terms K1 "30% 签约, 60% 发货, 10% 验收后90天"',
                            '/contract terms K2 "¥200,000 on 2027-01-31, ¥600,000 on delivery"'))
def contract_terms(ctx: Ctx, args: TermsArgs) -> Reply:
    """Structured payment terms (付款条件)."""
    with ctx.uow() as uow:
        done = milestones.set_terms(uow, ctx.actor, args.contract, args.terms)
        k = f"K{done.contract.number}"
        items = [f"#{m.seq} · {T.render(T.describe(m, m.currency))} · {money(m.amount, m.currency)}"
                 for m in done.milestones]
    return Reply(text=_("Payment terms of {ref} set: {count} milestones.").format(ref=k, count=len(items)),
                 sections=[Section(_("Payment milestones"), items)],
                 buttons=[Button(_("Show"), f"/contract show {k}")])


class InvoiceRequestArgs(Args):
    contract: Text = Field(description=N_("the contract (K3)"))
    amount: Money = Field(description=N_("the amount to invoice"))
    milestone: Annotated[int, Field(ge=1, le=99)] | None = Field(None, description=N_("the milestone's number (2)"))


@commands.command("invoice request", N_("Ask for an invoice on a signed contract (finance approves)."),
                  InvoiceRequestArgs, positional=("contract",), ask=("contract", "amount", "milestone"),
                  examples=("/invoice request K1 amount=240000 milestone=1",))
def invoice_request(ctx: Ctx, args: InvoiceRequestArgs) -> Reply:
    """An invoice request (开票申请) on the approval engine."""
    with ctx.uow() as uow:
        invoice, req = invoices.request_invoice(uow, ctx.actor, args.contract, args.amount, args.milestone)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
    return Reply(text=_("Invoice {ref} requested as {request}: {amount}; first {name}.").format(
        ref=invoices.iref(invoice), request=approvals.rref(req), amount=money(invoice.amount, invoice.currency),
        name=first))


class InvoiceIssuedArgs(Args):
    invoice: Text = Field(description=N_("the invoice (I3)"))
    number: Text = Field(description=N_("the invoice's number"))
    date: PastDate | None = Field(None, description=N_("the day it was issued (default today)"))


@commands.command("invoice issued", N_("Record an approved invoice as issued: its number and date (finance)."),
                  InvoiceIssuedArgs, positional=("invoice",), ask=("invoice", "number", "date"),
                  examples=("/invoice issued I1 number=04410021 date=2026-12-01",))
def invoice_issued(ctx: Ctx, args: InvoiceIssuedArgs) -> Reply:
    """Finance issues an invoice."""
    with ctx.uow() as uow:
        when = args.date or ctx.today
        invoice = invoices.issue_invoice(uow, ctx.actor, args.invoice, args.number, when)
    return Reply(text=_("{ref} issued: number {number}, {date}, {amount}.").format(
        ref=invoices.iref(invoice), number=invoice.invoice_no, date=day(invoice.issued_on),
        amount=money(invoice.amount, invoice.currency)))


InvoiceScope = Annotated[str, scope("open", "all")]


class InvoiceListArgs(Args):
    scope: InvoiceScope = Field("open", description=N_("open or all"))


@commands.command("invoice list", N_("List invoices: in approval and to be issued, or all."), InvoiceListArgs,
                  positional=("scope",), examples=("/invoice list", "/invoice list all"))
def invoice_list(ctx: Ctx, args: InvoiceListArgs) -> Reply:
    """Invoices in scope."""
    with ctx.uow() as uow:
        rows = invoices.list_invoices(uow, ctx.actor, args.scope)
    items = [" · ".join(x for x in [invoices.iref(i), f"K{c.number}", name, money(i.amount, i.currency),
                                    translate(invoices.INVOICE_STATES[i.state]), i.invoice_no or "",
                                    day(i.issued_on) if i.issued_on else ""] if x) for i, c, name in rows]
    buttons = [Button(_("Issue {ref}").format(ref=invoices.iref(i)), f"/invoice issued {invoices.iref(i)}")
               for i, _c, _n in rows if i.state == "approved"][:5]
    return Reply(title=_("Invoices ({count})").format(count=len(rows)),
                 sections=[Section(_("Invoices"), items, _("none"))], buttons=buttons, private=True)


class PaymentArgs(Args):
    contract: Text = Field(description=N_("the contract (K3)"))
    amount: Money = Field(description=N_("the amount received"))
    date: PastDate | None = Field(None, description=N_("the day it was received (default today)"))
    note: LongText | None = Field(None, description=N_("a note, e.g. the bank reference"))


@commands.command("payment", N_("Record a payment received against a contract (finance)."), PaymentArgs,
                  positional=("contract",), ask=("contract", "amount", "date", "note"),
                  examples=("/payment K1 amount=240000 date=2026-12-01 note=\"bank ref 8812\"",))
def payment(ctx: Ctx, args: PaymentArgs) -> Reply:
    """Money received (回款), allocated to the milestones oldest first."""
    with ctx.uow() as uow:
        done = payments.record_payment(uow, ctx.actor, args.contract, args.amount, args.date or ctx.today,
                                       args.note)
    p = done.payment
    items = [(_("{ref}: {amount}, paid in full") if full else _("{ref}: {amount}, part paid")).format(
        ref=r, amount=money(a, p.currency)) for r, a, full in done.settled]
    return Reply(text=_("Payment {ref} recorded: {amount} on {date}. Still outstanding on K{contract}: "
                        "{outstanding}.").format(ref=payments.pref(p), amount=money(p.amount, p.currency),
                                                  date=day(p.received_on), contract=_number(args.contract),
                                                  outstanding=money(done.outstanding, p.currency)),
                 sections=[Section(_("Allocated to"), items)])


def _number(text: str) -> str:
    return text.strip().upper().lstrip("#K")


ReceivableScope = Annotated[str, scope("mine", "team", "all")]


class ReceivablesArgs(Args):
    scope: ReceivableScope = Field("all", description=N_("mine, team or all"))


def _buckets(amounts: Mapping[str, Decimal], currency: str) -> str:
    return " · ".join(f"{translate(ageing.BUCKET_LABELS[b])} {money(amounts[b], currency)}"
                      for b in ageing.BUCKETS if amounts.get(b))


@commands.command("receivables", N_("Receivables by ageing: not yet due, 1–30, 31–60, 61–90, over 90 days."),
                  ReceivablesArgs, positional=("scope",), examples=("/receivables", "/receivables mine"))
def receivables(ctx: Ctx, args: ReceivablesArgs) -> Reply:
    """What is due and overdue, per customer and owner, in each currency."""
    with ctx.uow() as uow:
        a = ageing.ageing(uow, ctx.actor, args.scope)
    fields = [(_("Total ({currency})").format(currency=cur), _buckets(v, cur)) for cur, v in sorted(a.totals.items())]
    owners = [f"{name} ({cur}): {_buckets(v, cur)}" for name, cur, v in a.owners]
    customers = [f"{name} · {owner} ({cur}): {_buckets(v, cur)}" for name, owner, cur, v in a.customers]
    overdue = [_("{ref} · {customer} · {owner} · due {date} · {days} days overdue · {amount}").format(
        ref=r, customer=c, owner=o, date=day(d), days=n, amount=money(amt, cur)) for r, c, o, d, n, amt, cur
        in a.overdue]
    title = _("Receivables on {date}").format(date=day(a.today))
    return Reply(title=title, fields=fields, private=True, sections=[
        Section(_("Overdue, the oldest first"), overdue, _("none")),
        Section(_("By customer ({shown} of {count})").format(shown=len(customers), count=a.customer_count),
                customers, _("none")),
        Section(_("By owner"), owners, _("none"))],
        buttons=[Button(_("Export"), "/export receivables")])


class TermsPolicyArgs(Args):
    value: Text = Field(description=N_("required or optional"))


@commands.command("settings contractterms", N_("Whether a contract needs delivery date and payment terms before "
                                               "it is submitted: required or optional."), TermsPolicyArgs,
                  positional=("value",), roles=milestones.SETTINGS_ADMIN,
                  examples=("/settings contractterms optional",))
def settings_contract_terms(ctx: Ctx, args: TermsPolicyArgs) -> Reply:
    """The department's policy on payment terms."""
    with ctx.uow() as uow:
        key = milestones.set_terms_policy(uow, ctx.actor, args.value)
    if key == "required":
        return Reply(text=_("A contract is now submitted only with its delivery date and payment terms."))
    return Reply(text=_("A contract may now be submitted without delivery date and payment terms."))


class RiskDaysArgs(Args):
    value: Annotated[int, Field(ge=1, le=365)] = Field(description=N_("days overdue (1–365)"))


@commands.command("settings overduerisk", N_("After how many days overdue a receivable raises its customer's risk "
                                             "(1–365, default 30)."), RiskDaysArgs, positional=("value",),
                  roles=milestones.SETTINGS_ADMIN, examples=("/settings overduerisk 45",))
def settings_overdue_risk(ctx: Ctx, args: RiskDaysArgs) -> Reply:
    """The age at which an overdue receivable turns its customer orange."""
    with ctx.uow() as uow:
        days = milestones.set_risk_days(uow, ctx.actor, args.value)
    return Reply(text=_("A receivable overdue more than {days} days now raises its customer's risk to orange, for "
                        "milestones falling due from now on.").format(days=days))


commands.describe_group("invoice", N_("Invoices (开票): request, approve, issue."))
