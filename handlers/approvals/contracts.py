"""/contract, /expense and /leave: requests that go through the approval chain; the contract ledger."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from domain.approvals import contracts
from domain.approvals import engine as approvals
from domain.approvals import requests as claims
from domain.approvals.contracts import CONTRACT_STATES, Terms
from domain.approvals.requests import EXPENSES
from domain.kernel.i18n import N_, _, translate
from domain.risk.levels import marked
from handlers.args import (
    Args,
    Currency,
    CustomerRef,
    DateArg,
    LongText,
    MemberName,
    Money,
    Names,
    NextDate,
    OneOf,
    Text,
    scope,
)
from handlers.context import Ctx
from handlers.format import day, local_day, money, risk
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


class ContractNewArgs(Args):
    customer: CustomerRef = Field(description=N_("customer name or reference"))
    title: Text = Field(description=N_("what the contract is for"))
    amount: Money = Field(description=N_("the contract amount, e.g. 800000 or 80万"))
    currency: Currency = Field("CNY", description=N_("currency code, default CNY"))
    payment: LongText | None = Field(None, description=N_("payment terms (付款方式)"))
    delivery: DateArg | None = Field(None, description=N_("delivery date (交货期)"))
    term: DateArg | None = Field(None, description=N_("end of the contract term (履行期限)"))
    clauses: LongText | None = Field(None, description=N_("key clauses: rights and duties, spec, liability"))
    lead: Text | None = Field(None, description=N_("the lead it wins (L12)"))


@commands.command("contract new", N_("Draft a contract for a customer."), ContractNewArgs, positional=("customer",),
                  greedy=True, ask=("customer", "title", "amount", "payment", "delivery", "term"),
                  examples=('/contract new Acme title="ERP rollout" amount=800000 payment="30/70" '
                            'delivery=2027-01-15 term=2027-12-31 lead=L3',))
def contract_new(ctx: Ctx, args: ContractNewArgs) -> Reply:
    """Draft a contract (not yet submitted)."""
    terms = Terms(args.title, args.amount, args.currency, args.payment, args.delivery, args.term, args.clauses)
    with ctx.uow() as uow:
        contract = contracts.new_contract(uow, ctx.actor, args.customer, terms, args.lead)
    k = contracts.kref(contract)
    return Reply(text=_("Contract {ref} drafted: {title}, {amount}. Submit it for approval with /contract submit "
                        "{ref}.").format(ref=k, title=contract.title, amount=money(contract.amount, contract.currency)),
                 buttons=[Button(_("Submit"), f"/contract submit {k}"), Button(_("Show"), f"/contract show {k}")])


class ContractRefArgs(Args):
    contract: Text = Field(description=N_("the contract (K3)"))


@commands.command("contract submit", N_("Submit a contract (again) into its approval chain."), ContractRefArgs,
                  positional=("contract",), examples=("/contract submit K3",))
def contract_submit(ctx: Ctx, args: ContractRefArgs) -> Reply:
    """Submit or resubmit."""
    with ctx.uow() as uow:
        contract, req = contracts.submit_contract(uow, ctx.actor, args.contract)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
        steps = len(req.chain)
    return Reply(text=_("{ref} submitted as {request} (round {round}): {steps} steps, first {name}.").format(
        ref=contracts.kref(contract), request=approvals.rref(req), round=req.round, steps=steps, name=first))


class ContractEditArgs(Args):
    contract: Text = Field(description=N_("the contract (K3)"))
    title: Text | None = Field(None, description=N_("what the contract is for"))
    amount: Money | None = Field(None, description=N_("the contract amount"))
    currency: Currency | None = Field(None, description=N_("currency code"))
    payment: LongText | None = Field(None, description=N_("payment terms (付款方式)"))
    delivery: DateArg | None = Field(None, description=N_("delivery date (交货期)"))
    term: DateArg | None = Field(None, description=N_("end of the contract term (履行期限)"))
    clauses: LongText | None = Field(None, description=N_("key clauses"))


@commands.command("contract edit", N_("Revise a draft or returned contract before (re)submitting it."),
                  ContractEditArgs, positional=("contract",),
                  examples=('/contract edit K3 payment="two instalments"',))
def contract_edit(ctx: Ctx, args: ContractEditArgs) -> Reply:
    """Revise a contract."""
    terms = Terms(args.title, args.amount, args.currency, args.payment, args.delivery, args.term, args.clauses)
    with ctx.uow() as uow:
        contract = contracts.edit_contract(uow, ctx.actor, args.contract, terms)
    k = contracts.kref(contract)
    return Reply(text=_("{ref} revised. Submit it again with /contract submit {ref}.").format(ref=k),
                 buttons=[Button(_("Submit"), f"/contract submit {k}")])


@commands.command("contract show", N_("Show a contract, its approvals and its state."), ContractRefArgs,
                  positional=("contract",))
def contract_show(ctx: Ctx, args: ContractRefArgs) -> Reply:
    """One contract in full."""
    with ctx.uow() as uow:
        v = contracts.show_contract(uow, ctx.actor, args.contract)
    c = v.contract
    fields = [
        (_("Customer"), f"{v.customer.name} (C{v.customer.number})"),
        (_("Title"), c.title),
        (_("Amount"), money(c.amount, c.currency)),
        (_("Payment"), c.payment or "—"),
        (_("Delivery"), day(c.delivery)),
        (_("Term"), day(c.term)),
        (_("Owner"), v.owner.name),
        (_("State"), translate(CONTRACT_STATES[c.state])),
        (_("Risk"), risk(c.risk, c.risk_note)),
    ]
    if c.signed_on:
        fields.append((_("Signed"), day(c.signed_on)))
    if v.lead is not None:
        fields.append((_("Lead"), f"L{v.lead.number}"))
    fields += [(translate(p.label), p.value) for p in v.parts if p.value is not None]
    decisions = [f"{local_day(d.at, ctx.actor.timezone)} · {v.request_refs.get(d.request_id, '?')} · "
                 f"{translate(approvals.role_label(d.role))} · {m.name} · {translate(approvals.OUTCOMES[d.outcome])}"
                 + (f" · {d.reason}" if d.reason else "") for d, m in v.decisions]
    sections = [Section(translate(p.label), p.items, _("none")) for p in v.parts if p.items is not None]
    return Reply(title=contracts.kref(c), fields=fields,
                 sections=[*sections, Section(_("Decisions"), decisions, _("none"))], private=True)


ContractScope = Annotated[str, scope("all", "pending", "signed", "mine")]


class ContractListArgs(Args):
    scope: ContractScope = Field("all", description=N_("all, pending, signed or mine"))


@commands.command("contract list", N_("List contracts: pending, signed or mine."), ContractListArgs,
                  positional=("scope",), examples=("/contract list pending",))
def contract_list(ctx: Ctx, args: ContractListArgs) -> Reply:
    """Contracts in scope."""
    with ctx.uow() as uow:
        rows = contracts.list_contracts(uow, ctx.actor, args.scope)
    items = [" · ".join([marked(contracts.kref(c), c.risk), cu.name, c.title, money(c.amount, c.currency),
                         translate(CONTRACT_STATES[c.state]), m.name]) for c, cu, m in rows]
    return Reply(title=_("Contracts ({count})").format(count=len(rows)),
                 sections=[Section(_("Contracts"), items, _("none"))], private=True)


class ContractChangeArgs(Args):
    contract: Text = Field(description=N_("the signed contract (K3)"))
    reason: LongText = Field(description=N_("why it must change"))
    content: LongText = Field(description=N_("what changes"))
    impact: LongText | None = Field(None, description=N_("the impact of the change"))
    amount: Money | None = Field(None, description=N_("the new amount"))
    payment: LongText | None = Field(None, description=N_("new payment terms"))
    delivery: DateArg | None = Field(None, description=N_("new delivery date"))
    term: DateArg | None = Field(None, description=N_("new end of term"))


@commands.command("contract change", N_("Request a change to a signed contract (same approval chain)."),
                  ContractChangeArgs, positional=("contract",), ask=("contract", "reason", "content", "impact"),
                  examples=('/contract change K3 reason="scope grew" content="add module B" amount=900000',))
def contract_change(ctx: Ctx, args: ContractChangeArgs) -> Reply:
    """A change request (变更申请)."""
    terms = Terms(None, args.amount, None, args.payment, args.delivery, args.term, None)
    with ctx.uow() as uow:
        contract, req = contracts.request_change(uow, ctx.actor, args.contract, args.reason, args.content,
                                                 args.impact, terms)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
    return Reply(text=_("Change request {request} for {ref} submitted; first {name}.").format(
        request=approvals.rref(req), ref=contracts.kref(contract), name=first))


class LedgerArgs(Args):
    start: DateArg | None = Field(None, description=N_("first sign date (from=)"))
    end: DateArg | None = Field(None, description=N_("last sign date (to=)"))


@commands.command("contract ledger", N_("Show the contract ledger (合同台账)."), LedgerArgs,
                  examples=("/contract ledger from=2026-01-01 to=2026-12-31",))
def contract_ledger(ctx: Ctx, args: LedgerArgs) -> Reply:
    """Signed contracts by sign date."""
    with ctx.uow() as uow:
        rows = contracts.ledger(uow, ctx.actor, args.start, args.end)
        columns, in_money = contracts.ledger_columns(uow)

    def more(r: contracts.LedgerRow) -> list[str]:
        return [f"{translate(label)} {money(v, r.currency) if is_money else day(v) if isinstance(v, date) else v}"
                for label, is_money, v in zip(columns, in_money, r.more, strict=True) if v is not None]

    items = [" · ".join([r.ref, day(r.signed_on), r.customer, r.title, money(r.amount, r.currency),
                         day(r.term), r.owner, *more(r)]) for r in rows]
    return Reply(title=_("Contract ledger ({count})").format(count=len(rows)),
                 sections=[Section(_("Signed contracts"), items, _("none"))], private=True)


commands.describe_group("contract", N_("Contracts: draft, approve, sign, change; the ledger."))


ExpenseType = Annotated[str, OneOf(EXPENSES)]


class ExpenseArgs(Args):
    category: ExpenseType = Field(
        description=N_("travel, entertainment or communication"))
    amount: Money = Field(description=N_("the amount"))
    currency: Currency = Field("CNY", description=N_("currency code, default CNY"))
    note: LongText = Field(description=N_("what it was for"))
    invoice: Text | None = Field(None, description=N_("invoice number"))


@commands.command("expense", N_("Claim an expense (travel, entertainment, communication)."), ExpenseArgs,
                  positional=("category",), ask=("category", "amount", "note", "invoice"),
                  examples=('/expense travel amount=3200 note="Shanghai visit" invoice=INV-88',))
def expense(ctx: Ctx, args: ExpenseArgs) -> Reply:
    """File and submit an expense claim."""
    with ctx.uow() as uow:
        req = claims.claim_expense(uow, ctx.actor, args.category, args.amount, args.currency, args.note,
                                   args.invoice)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
    return Reply(text=_("Expense claim {request} submitted: {amount}; first {name}.").format(
        request=approvals.rref(req), amount=money(req.amount, req.currency), name=first))


class LeaveArgs(Args):
    start: NextDate = Field(description=N_("first day of leave (from=)"))
    end: DateArg = Field(description=N_("last day of leave (to=)"))
    reason: LongText = Field(description=N_("why"))
    handover: MemberName = Field(description=N_("who takes over your work"))


@commands.command("leave", N_("Ask for leave, with a hand-over to a colleague."), LeaveArgs,
                  ask=("start", "end", "reason", "handover"),
                  examples=('/leave from=2026-12-07 to=2026-12-09 reason="family" handover=lily',))
def leave(ctx: Ctx, args: LeaveArgs) -> Reply:
    """Request leave."""
    with ctx.uow() as uow:
        req = claims.request_leave(uow, ctx.actor, args.start, args.end, args.reason, args.handover)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
        days = req.fields["days"]
    return Reply(text=_("Leave {request} submitted: {days} days from {start}; first {name}.").format(
        request=approvals.rref(req), days=days, start=day(date.fromisoformat(req.fields["from"])), name=first))


class ProjectArgs(Args):
    name: Text = Field(description=N_("the project's name"))
    budget: Money = Field(description=N_("the budget"))
    currency: Currency = Field("CNY", description=N_("currency code, default CNY"))
    start: NextDate = Field(description=N_("when it starts"))
    reason: LongText = Field(description=N_("why the project is needed"))
    customer: CustomerRef | None = Field(None, description=N_("the customer it serves, if any"))
    manager: MemberName | None = Field(None, description=N_("the project manager (default: me)"))
    team: Names | None = Field(None, description=N_("the project team, names separated by commas"))


@commands.command("project", N_("Ask for a project to be set up (立项), with its budget."), ProjectArgs,
                  ask=("name", "budget", "start", "reason", "customer"),
                  examples=('/project name="Acme ERP pilot" budget=30万 start=2026-12-07 reason="signed LOI" '
                            'customer=Acme manager=pat team=sam,tom',))
def project(ctx: Ctx, args: ProjectArgs) -> Reply:
    """Propose a project and submit it."""
    with ctx.uow() as uow:
        req = claims.propose_project(uow, ctx.actor, args.name, args.budget, args.currency, args.start, args.reason,
                                     args.customer, args.manager, args.team)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
    return Reply(text=_("Project initiation {request} submitted: {project}, {amount}; first {name}.").format(
        request=approvals.rref(req), project=args.name, amount=money(req.amount, req.currency), name=first))


class CollabArgs(Args):
    department: Text = Field(description=N_("the department asked"))
    what: LongText = Field(description=N_("what is needed"))
    due: NextDate = Field(description=N_("needed by"))
    goal: LongText | None = Field(None, description=N_("the expected goal"))


@commands.command("collab", N_("Ask another department for help (跨部门协作需求)."), CollabArgs,
                  ask=("department", "what", "due"),
                  examples=('/collab department=engineering what="on-site demo for Acme" due=2026-12-10 '
                            'goal="the customer signs off the demo"',))
def collab(ctx: Ctx, args: CollabArgs) -> Reply:
    """Request cross-department collaboration and submit it."""
    with ctx.uow() as uow:
        req = claims.request_collaboration(uow, ctx.actor, args.department, args.what, args.due, args.goal)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
    return Reply(text=_("Cross-department request {request} to {department} submitted; first {name}.").format(
        request=approvals.rref(req), department=args.department, name=first))


class ResubmitArgs(Args):
    ref: Text = Field(description=N_("the expense claim, leave request or project plan (A12)"))
    amount: Money | None = Field(None, description=N_("the amount"))
    note: LongText | None = Field(None, description=N_("what it was for"))
    invoice: Text | None = Field(None, description=N_("invoice number"))
    start: DateArg | None = Field(None, description=N_("first day of leave (from=)"))
    end: DateArg | None = Field(None, description=N_("last day of leave (to=)"))
    reason: LongText | None = Field(None, description=N_("why"))
    handover: MemberName | None = Field(None, description=N_("who takes over your work"))


@commands.command("approvals resubmit",
                  N_("Revise a returned expense claim, leave request or project plan and submit it again."),
                  ResubmitArgs, positional=("ref",), examples=('/approvals resubmit A12 note="with the invoice"',))
def approvals_resubmit(ctx: Ctx, args: ResubmitArgs) -> Reply:
    """Resubmit an expense or leave request, or a project's plan; its chain starts again."""
    with ctx.uow() as uow:
        req = claims.revise_claim(uow, ctx.actor, args.ref, amount=args.amount, note=args.note,
                                  invoice=args.invoice, start=args.start, end=args.end, reason=args.reason,
                                  handover=args.handover)
        first = approvals.member_name(uow, req.chain[0]["approver_id"])
    return Reply(text=_("{ref} submitted again (round {round}); first {name}.").format(
        ref=approvals.rref(req), round=req.round, name=first))
