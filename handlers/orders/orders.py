"""/order: orders (订单) handed down from signed contracts, their routing steps, shipping and acceptance (验收)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, fmt_date, fmt_datetime, sentences, translate
from domain.kernel.vocab import ROLES, Vocabulary
from domain.orders import orders
from domain.orders.orders import ACCEPTANCE, STATES, STEP_STATES, Shipment, StepRow, Tracked
from domain.orders.routes import STEP_KINDS, RouteStep
from domain.store.models import Order, OrderStep
from handlers.args import Args, LongText, NextDate, OneOf, PastDate, Text, scope
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


def _o(order: Order) -> str:
    return orders.oref(order)


class OrderNewArgs(Args):
    contract: Text = Field(description=N_("the signed contract, e.g. K1"))
    items: LongText = Field(description=N_("what is ordered: products or services and their specification"))
    qty: Text = Field(description=N_("quantity, e.g. 100 or 100台"))
    delivery: NextDate = Field(description=N_("delivery date (交货期)"))
    requirements: LongText | None = Field(None, description=N_("the customer's requirements"))


@commands.command("order new", N_("Hand an order down from a signed contract through the routing steps."),
                  OrderNewArgs, positional=("contract",), ask=("contract", "items", "qty", "delivery"),
                  examples=('/order new K1 items="ERP server rack" qty=10台 delivery=2026-12-20 '
                            'requirements="deliver to the Pudong site"',))
def order_new(ctx: Ctx, args: OrderNewArgs) -> Reply:
    """订单下达."""
    with ctx.uow() as uow:
        made = orders.new_order(uow, ctx.actor, args.contract, items=args.items, qty=args.qty,
                                delivery=args.delivery, requirements=args.requirements)
    o = made.order
    first = made.steps[0]
    route = " → ".join(STEP_KINDS.label(s.kind) for s in made.steps)
    return Reply(text=sentences(
        _("Order {ref} handed down from {contract} for {customer}: {items}, {qty}, delivery {date}.").format(
            ref=_o(o), contract=f"K{made.contract.number}", customer=made.customer.name, items=o.items,
            qty=orders.qty_text(o), date=fmt_date(o.delivery)),
        _("Route: {route}.").format(route=route),
        _("Step {step} is with {who}, due {due}.").format(
            step=STEP_KINDS.label(first.kind), who=_who_of(ctx, first),
            due=_when(ctx, first.due_at))),
        buttons=[Button(_("Show"), f"/order show {_o(o)}")])


def _who_of(ctx: Ctx, step: OrderStep) -> str:
    with ctx.uow() as uow:
        return orders.who_of(uow, step)


def _when(ctx: Ctx, value: datetime | None) -> str:
    return fmt_datetime(value, ctx.actor.timezone) if value is not None else "—"


class OrderRefArgs(Args):
    order: Text = Field(description=N_("order reference, e.g. O1"))


class OrderStepArgs(Args):
    order: Text = Field(description=N_("order reference, e.g. O1"))
    step: Text | None = Field(None, description=N_("the step (default: the one in progress)"))


class OrderDoneArgs(Args):
    order: Text = Field(description=N_("order reference, e.g. O1"))
    step: Text | None = Field(None, description=N_("the step (default: the one in progress)"))
    note: LongText | None = Field(None, description=N_("what was done"))
    carrier: Text | None = Field(None, description=N_("the carrier (shipping)"))
    tracking: Text | None = Field(None, description=N_("the tracking number (shipping)"))
    date: PastDate | None = Field(None, description=N_("the ship date (default today)"))


class OrderShipArgs(Args):
    order: Text = Field(description=N_("order reference, e.g. O1"))
    carrier: Text = Field(description=N_("the carrier"))
    tracking: Text = Field(description=N_("the tracking number"))
    date: PastDate | None = Field(None, description=N_("the ship date (default today)"))
    note: LongText | None = Field(None, description=N_("a note"))


@commands.command("order ack", N_("Acknowledge an order step handed to you."), OrderStepArgs,
                  positional=("order", "step"), examples=("/order ack O1", "/order ack O1 production"))
def order_ack(ctx: Ctx, args: OrderStepArgs) -> Reply:
    """确认接单."""
    with ctx.uow() as uow:
        o, step = orders.acknowledge(uow, ctx.actor, args.order, args.step)
    return Reply(text=_("{name} acknowledged step {step} of {ref}.").format(
        name=ctx.actor.name, step=STEP_KINDS.label(step.kind), ref=_o(o)))


def _done_reply(ctx: Ctx, o: Order, step: OrderStep, nxt: OrderStep | None) -> Reply:
    kind = STEP_KINDS.label(step.kind)
    parts = [_("Step {step} of {ref} is done.").format(step=kind, ref=_o(o))]
    if o.state == "shipped" and step.kind == "shipping":
        parts.append(_("Shipped on {date} by {carrier}, tracking number {tracking}; the contract is told of the "
                       "delivery and the customer's callback follows it.").format(
            date=fmt_date(o.shipped_on) if o.shipped_on else "—", carrier=o.carrier, tracking=o.tracking))
    elif step.kind == "rectify":
        parts.append(_("Record the customer's new acceptance with /order accept {ref} passed|failed.").format(
            ref=_o(o)))
    elif nxt is not None:
        parts.append(_("Next: {step} with {who}, due {due}.").format(
            step=STEP_KINDS.label(nxt.kind), who=_who_of(ctx, nxt), due=_when(ctx, nxt.due_at)))
    return Reply(text=sentences(*parts), buttons=[Button(_("Show"), f"/order show {_o(o)}")])


@commands.command("order done", N_("Complete an order step, with a note; the next step is handed down."),
                  OrderDoneArgs, positional=("order", "step"),
                  examples=('/order done O1 production note="200 units made"',
                            "/order done O1 shipping carrier=SF tracking=SF1234567"))
def order_done(ctx: Ctx, args: OrderDoneArgs) -> Reply:
    """A step is complete."""
    shipment = None
    if args.carrier or args.tracking:
        if not (args.carrier and args.tracking):
            raise Invalid(N_("Shipping records the carrier and the tracking number: /order ship {ref} carrier=… "
                             "tracking=…"), ref=args.order.strip().upper())
        shipment = Shipment(args.carrier, args.tracking, args.date or ctx.today)
    with ctx.uow() as uow:
        o, step, nxt = orders.complete(uow, ctx.actor, args.order, args.step, args.note, shipment)
    return _done_reply(ctx, o, step, nxt)


@commands.command("order ship", N_("Record an order's shipment: carrier, tracking number and ship date."),
                  OrderShipArgs, positional=("order",), ask=("order", "carrier", "tracking"),
                  examples=("/order ship O1 carrier=SF tracking=SF1234567 date=2026-12-18",))
def order_ship(ctx: Ctx, args: OrderShipArgs) -> Reply:
    """发货."""
    with ctx.uow() as uow:
        o, step, nxt = orders.complete(uow, ctx.actor, args.order, "shipping", args.note,
                                       Shipment(args.carrier, args.tracking, args.date or ctx.today))
    return _done_reply(ctx, o, step, nxt)


OUTCOMES = Vocabulary(N_("acceptance"), dict(ACCEPTANCE),
                      {"合格": "passed", "通过": "passed", "验收通过": "passed", "验收合格": "passed",
                       "pass": "passed", "ok": "passed", "不合格": "failed", "未通过": "failed",
                       "验收不合格": "failed", "fail": "failed"})
Outcome = Annotated[str, OneOf(OUTCOMES)]


class OrderAcceptArgs(Args):
    order: Text = Field(description=N_("order reference, e.g. O1"))
    outcome: Outcome = Field(description=N_("passed or failed"))
    note: LongText | None = Field(None, description=N_("what the customer said"))
    rectify: LongText | None = Field(None, description=N_("the rectification required (failed)"))
    owner: Text | None = Field(None, description=N_("who rectifies: a member or a named contact"))
    due: NextDate | None = Field(None, description=N_("when the rectification is due"))


@commands.command("order accept", N_("Record the customer's acceptance: passed, or failed with the rectification."),
                  OrderAcceptArgs, positional=("order", "outcome"),
                  examples=("/order accept O1 passed",
                            '/order accept O1 failed rectify="replace two damaged panels" owner=quinn due=2026-12-28'))
def order_accept(ctx: Ctx, args: OrderAcceptArgs) -> Reply:
    """验收."""
    with ctx.uow() as uow:
        o, step = orders.accept(uow, ctx.actor, args.order, args.outcome == "passed", args.note, args.rectify,
                                args.owner, args.due)
        who = orders.who_of(uow, step) if step is not None else None
    if step is None:
        return Reply(text=_("The customer accepted {ref}.").format(ref=_o(o)))
    return Reply(text=sentences(
        _("The acceptance of {ref} failed; rectification required: {what}.").format(ref=_o(o), what=step.what),
        _("The rectification is with {who}, due {due}; a new acceptance follows it.").format(
            who=who, due=_when(ctx, step.due_at))),
        buttons=[Button(_("Show"), f"/order show {_o(o)}")])


def _step_line(ctx: Ctx, row: StepRow) -> str:
    s = row.step
    parts = [STEP_KINDS.label(s.kind), row.who, translate(STEP_STATES[s.state])]
    if s.state in orders.ACTIVE_STEP and s.due_at is not None:
        parts.append(_("due {time}").format(time=_when(ctx, s.due_at)))
    if s.done_at is not None:
        parts.append(_("done {time}").format(time=_when(ctx, s.done_at))
                     + (f" ({row.done_by})" if row.done_by else ""))
    if s.late:
        parts.append(_("late"))
    if s.what:
        parts.append(s.what)
    if s.note:
        parts.append(s.note)
    return " · ".join(parts)


def _state(ctx: Ctx, o: Order) -> str:
    text = translate(STATES[o.state])
    if orders.is_late(o, ctx.today):
        text += " · " + _("late")
    return text


@commands.command("order show", N_("Show an order, its steps, shipment and acceptance."), OrderRefArgs,
                  positional=("order",))
def order_show(ctx: Ctx, args: OrderRefArgs) -> Reply:
    """One order and where it stands."""
    with ctx.uow() as uow:
        v = orders.show(uow, ctx.actor, args.order)
    o = v.order
    fields = [
        (_("Contract"), f"K{v.contract.number} · {v.contract.title}"),
        (_("Customer"), v.customer.name),
        (_("Items"), o.items),
        (_("Quantity"), orders.qty_text(o)),
        (_("Delivery date"), fmt_date(o.delivery)),
        (_("Requirements"), o.requirements or "—"),
        (_("Status"), _state(ctx, o)),
        (_("Owner"), v.owner.name),
    ]
    if o.shipped_on is not None:
        fields.append((_("Shipped"), _("{date} by {carrier}, tracking number {tracking}").format(
            date=fmt_date(o.shipped_on), carrier=o.carrier, tracking=o.tracking)))
    if o.acceptance is not None:
        fields.append((_("Acceptance"), translate(ACCEPTANCE[o.acceptance])
                       + (" · " + fmt_date(o.accepted_on) if o.accepted_on else "")))
    buttons = []
    current = next((r.step for r in v.steps if r.step.state in orders.ACTIVE_STEP), None)
    if current is not None:
        if current.state == "open":
            buttons.append(Button(_("Acknowledge"), f"/order ack {_o(o)} {current.kind}"))
        buttons.append(Button(_("Shipped"), f"/order ship {_o(o)}") if current.kind == "shipping"
                       else Button(_("Done"), f"/order done {_o(o)} {current.kind}"))
    elif o.state == "shipped":
        buttons = [Button(_("Accepted"), f"/order accept {_o(o)} passed"),
                   Button(_("Failed"), f"/order accept {_o(o)} failed")]
    return Reply(title=_("Order {ref}").format(ref=_o(o)), fields=fields,
                 sections=[Section(_("Steps"), [_step_line(ctx, r) for r in v.steps])], buttons=buttons,
                 private=True)


OrderScope = Annotated[str, scope("open", "overdue", "mine", "team", "all")]


class OrderListArgs(Args):
    scope: OrderScope = Field("open", description=N_("open, overdue (late), mine, team or all"))


def _tracked_line(ctx: Ctx, t: Tracked) -> str:
    o = t.order
    parts = [_o(o), f"K{t.contract.number}", t.customer.name, o.items if len(o.items) <= 40 else o.items[:39] + "…",
             orders.qty_text(o), _("delivery {date}").format(date=fmt_date(o.delivery)), _state(ctx, o)]
    if t.current is not None:
        parts.append(_("at {step} with {who}, due {due}").format(
            step=STEP_KINDS.label(t.current.step.kind), who=t.current.who, due=_when(ctx, t.current.step.due_at)))
    return " · ".join(parts)


@commands.command("order list", N_("List orders: open, late, mine, my team's or all."), OrderListArgs,
                  positional=("scope",), examples=("/order list overdue",))
def order_list(ctx: Ctx, args: OrderListArgs) -> Reply:
    """Orders in scope, the nearest delivery first."""
    with ctx.uow() as uow:
        rows = orders.list_orders(uow, ctx.actor, "late" if args.scope == "overdue" else args.scope)
    return Reply(title=_("Orders ({count})").format(count=len(rows)),
                 sections=[Section(_("Orders"), [_tracked_line(ctx, t) for t in rows], _("none"))], private=True)


class OrderTrackArgs(Args):
    contract: Text | None = Field(None, description=N_("a contract (K1), or none for every open order"))


@commands.command("order track", N_("Track where every order stands, step by step (of one contract, or all open)."),
                  OrderTrackArgs, positional=("contract",), examples=("/order track", "/order track K1"))
def order_track(ctx: Ctx, args: OrderTrackArgs) -> Reply:
    """订单跟踪."""
    with ctx.uow() as uow:
        rows = orders.list_orders(uow, ctx.actor, "open", args.contract)
    sections = [Section(_tracked_line(ctx, t), [_step_line(ctx, r) for r in t.steps]) for t in rows]
    return Reply(title=_("Order tracking ({count})").format(count=len(rows)),
                 text="" if rows else _("none"), sections=sections, private=True)


ROUTE_ACTIONS = Vocabulary(N_("action"), {"show": N_("show"), "set": N_("set")},
                           {"查看": "show", "显示": "show", "设置": "set", "修改": "set"})


class OrderRouteArgs(Args):
    action: Annotated[str, OneOf(ROUTE_ACTIONS)] = Field("show", description=N_("show, or set"))
    route: LongText | None = Field(None, description=N_("the steps in order, STEP:OWNER:DAYS, or default"))


def _route_line(s: RouteStep) -> str:
    owner = ROLES.label(s.role) if s.role else s.contact or "—"
    return _("{step}: {owner}, {days} days").format(step=STEP_KINDS.label(s.kind), owner=owner, days=s.days)


@commands.command("order route", N_("Show or set the routing steps orders are handed down through."),
                  OrderRouteArgs, positional=("action", "route"), greedy=True,
                  examples=("/order route",
                            '/order route set "production:5d, purchasing:3d, quality:2d, shipping:logistics:2d"',
                            "/order route set 生产安排:生产:5天, 质量检验:质检:2, 发货:张经理:1"))
def order_route(ctx: Ctx, args: OrderRouteArgs) -> Reply:
    """The department's route (下达流程)."""
    if args.action == "set":
        if not args.route:
            raise Invalid(N_("Missing {name}. Usage: {usage}"), name="ROUTE",
                          usage="/order route set STEP:OWNER:DAYS, …")
        with ctx.uow() as uow:
            route = orders.set_route(uow, ctx.actor, args.route)
        return Reply(text=_("The order route is set; orders handed down from now on follow it."),
                     sections=[Section(_("Route"), [_route_line(s) for s in route])])
    with ctx.uow() as uow:
        route = orders.show_route(uow, ctx.actor)
    return Reply(title=_("Order route"), sections=[Section(_("Route"), [_route_line(s) for s in route])],
                 private=True)


commands.describe_group("order", N_("Orders handed down from signed contracts: steps, shipping, acceptance."))
