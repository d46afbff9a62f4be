"""Orders on the console: handed down through every routing step, a late step reminded and escalated, partial
shipments and the delivery callback, acceptance with rectification, access per role, figures, export,
agenda, hand-over, refusals."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from domain.approvals.contracts import FOLLOW_UPS, FollowUp
from domain.reporting import figures
from domain.reporting.exports import EXPORT_TABLES
from domain.reporting.figures import Scope
from domain.store.models import AuditEntry, Callback, DueItem, Order, OrderStep, OutboxMessage
from domain.team.members import actor_for, find_member

TEAM = (
    "/team add sup role=sales supervisor=wang", "/team add alice role=sales supervisor=sup",
    "/team add bob role=sales supervisor=wang", "/team add carol role=service supervisor=wang",
    "/team add lily role=legal", "/team add pete role=production", "/team add pam role=purchasing",
    "/team add quinn role=quality", "/team add lou role=logistics", "/team add fay role=finance",
)
NEW = '/order new K1 items="server rack" qty=10台 delivery=2026-12-10 requirements="Pudong site"'


@pytest.fixture
def team(bot):
    """wang (manager) ← sup ← alice (sales, owns Acme and K1, signed, delivery 4 Dec); bob (sales, another line);
    carol (service); pete, pam, quinn, lou: production, purchasing, quality, logistics; fay (finance)."""
    bot(*TEAM, ":as alice", "/customer new Acme",
        '/contract new Acme title="Racks" amount=1000 delivery=2026-12-04',
        '/contract terms K1 "100% on delivery"', "/contract submit K1",
        '/contract new Acme title="Spare parts" amount=500', ":as wang", "/approve A1", ":as lily", "/approve A1")
    return lambda *lines: bot(*lines).replace("\u202f", " ")


def _sent(text: str) -> list[str]:
    return [line for line in text.splitlines() if "] → " in line]


def _order(app, number: int = 1) -> Order:
    with app.uow() as uow:
        return uow.session.scalar(select(Order).where(Order.number == number))


def _steps(app, number: int = 1) -> list[tuple[str, str, bool]]:
    with app.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number))
        return [(s.kind, s.state, s.late) for s in uow.session.scalars(
            select(OrderStep).where(OrderStep.order_id == order.id).order_by(OrderStep.position))]


def test_an_order_through_every_step_with_a_late_step_reminded_then_escalated(team, app) -> None:
    out = team(":as carol", NEW)
    assert "Order O1 handed down from K1 for Acme: server rack, 10 台, delivery Dec 10, 2026." in out
    assert "Route: production planning → purchasing coordination → quality inspection → shipping." in out
    assert _sent(out) == ["[2026-11-23 10:00] → @pete: Order O1 for Acme is handed to you for production planning: "
                          "server rack, 10 台, delivery Dec 10, 2026. Requirements: Pudong site. Due Nov 28, 2026, "
                          "10:00 AM."]
    assert "[Acknowledge: /order ack O1 production]  [Done: /order done O1 production]" in out
    assert "pete acknowledged step production planning of O1." in team(":as pete", "/order ack O1")
    out = team('/order done O1 note="10 racks made"')
    assert "Next: purchasing coordination with pam, due Nov 26, 2026, 10:00 AM." in out
    # purchasing is left to run late: reminded a day before, late at its deadline, the manager a day after
    assert _sent(team(":advance 47h")) == []
    reminded = _sent(team(":advance 1h"))
    assert reminded == ["[2026-11-25 10:00] → @pam: Reminder: step purchasing coordination of order O1 for Acme is due "
                        "by Nov 26, 2026, 10:00 AM."]
    late = _sent(team(":advance 1d"))
    assert late == [
        "[2026-11-26 10:00] → @pam: Late: step purchasing coordination of order O1 for Acme was due by Nov 26, 2026, "
        "10:00 AM.",
        "[2026-11-26 10:00] → @carol: Late: step purchasing coordination of your order O1 for Acme, owned by pam, was "
        "due by Nov 26, 2026, 10:00 AM and is not done."]
    escalated = _sent(team(":advance 1d"))
    assert escalated == [
        "[2026-11-27 10:00] → @wang: Escalation: step purchasing coordination of order O1 for Acme (owner carol; step "
        "with pam) was due by Nov 26, 2026, 10:00 AM and is still not done; delivery is promised for Dec 10, 2026."]
    assert [x for x in _sent(team(":advance 3d")) if "order O1" in x] == []    # once each
    team(":as pam", '/order done O1 purchasing note="panels ordered"', ":as quinn", "/order ack O1",
         '/order done O1 质检 note="passed QC"')
    out = team(":as lou", "/order ship O1 carrier=SF tracking=SF123 date=2026-11-30")
    assert "Shipped on Nov 30, 2026 by SF, tracking number SF123" in out
    assert _steps(app) == [("production", "done", False), ("purchasing", "done", True), ("quality", "done", False),
                           ("shipping", "done", False)]
    show = team(":as carol", "/order show O1")
    assert "Status: shipped, awaiting acceptance" in show and "purchasing coordination · pam · done" in show
    assert "· late · panels ordered" in show
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(DueItem.id)).where(
            DueItem.kind == "order", DueItem.state == "pending")) == 0
        keys = list(uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like("order:%"))))
    assert len(keys) == len(set(keys))


def test_partial_shipments_two_orders_and_the_delivery_callback_moved(team, app) -> None:
    told: list[tuple[str, str, date]] = []
    app.wiring[FOLLOW_UPS].add(FollowUp("listener", on_event=lambda uow, c, event, day: told.append(
        (f"K{c.number}", event, day))))
    team(":as carol", NEW, '/order new K1 items="cabling" qty="200 m" delivery=2026-12-20')
    for n in (1, 2):
        team(":as pete", f"/order done O{n}", ":as pam", f"/order done O{n}", ":as quinn", f"/order done O{n}")
    with app.uow() as uow:
        (cb,) = uow.session.scalars(select(Callback).where(Callback.reason == "delivery")).all()
    assert cb.due_date == date(2026, 12, 7)                                    # planned from the contract's date
    team(":as lou", "/order ship O1 carrier=SF tracking=SF1 date=2026-11-23")
    with app.uow() as uow:
        cb = uow.session.get(Callback, cb.id)
        assert cb.due_date == date(2026, 11, 24)                               # from the real ship date
    view = team(":as alice", "/contract show K1")
    assert "Delivered: 1 of 2 orders shipped; last on Nov 23, 2026; accepted: 0 of 2" in view
    assert "O1 · server rack · 10 台 · delivery Dec 10, 2026 · shipped, awaiting acceptance" in view
    assert "O2 · cabling · 200 m · delivery Dec 20, 2026 · in progress · shipping" in view
    team(":advance 2d", ":as lou", "/order ship O2 carrier=EMS tracking=E2")
    with app.uow() as uow:
        callbacks = uow.session.scalars(select(Callback).where(Callback.reason == "delivery")).all()
    assert [(c.id, c.due_date) for c in callbacks] == [(cb.id, date(2026, 11, 26))]  # still one, moved again
    assert told == [("K1", "delivered", date(2026, 11, 23)), ("K1", "delivered", date(2026, 11, 25))]
    assert "Delivered: 2 of 2 orders shipped; last on Nov 25, 2026" in team(":as alice", "/contract show K1")
    assert "K1 · Nov 23, 2026 · Acme · Racks · CN¥1,000.00 · — · alice · Delivered on Nov 25, 2026" in team(
        "/contract ledger")


def test_failed_acceptance_rectification_then_passed(team, app) -> None:
    told: list[tuple[str, date]] = []
    app.wiring[FOLLOW_UPS].add(FollowUp("listener", on_event=lambda uow, c, event, day: told.append((event, day))))
    team(":as carol", NEW, ":as pete", "/order done O1", ":as pam", "/order done O1", ":as quinn", "/order done O1")
    assert "an acceptance follows its shipment" in team(":as alice", "/order accept O1 passed")
    team(":as lou", "/order ship O1 carrier=SF tracking=SF1")
    assert "says what must be rectified" in team(":as alice", "/order accept O1 failed")
    out = team('/order accept O1 failed note="two dented" rectify="replace two panels" owner=quinn due=2026-11-27')
    assert "The acceptance of O1 failed; rectification required: replace two panels." in out
    assert "The rectification is with quinn, due Nov 27, 2026, 6:00 PM" in out
    assert any("→ @quinn: Rectification of order O1 for Acme is yours: replace two panels." in x for x in _sent(out))
    assert _order(app).state == "rectifying"
    assert "is under rectification; an acceptance follows" in team("/order accept O1 passed")
    late = _sent(team(":advance 7d"))                                          # the rectification ran late
    assert any("→ @quinn: Late: step rectification of order O1" in x for x in late)
    assert any("→ @carol: Late: step rectification of your order O1" in x for x in late)
    assert "Record the customer's new acceptance" in team(":as quinn", '/order done O1 整改 note="replaced"')
    assert told == [("delivered", date(2026, 11, 23))]
    assert "The customer accepted O1." in team(":as alice", "/order accept O1 合格")
    o = _order(app)
    assert (o.state, o.acceptance, o.accepted_on, o.round) == ("accepted", "passed", date(2026, 11, 30), 2)
    assert told[-1] == ("accepted", date(2026, 11, 30))
    assert "accepted: 1 of 1" in team("/contract show K1")
    assert "Accepted on Nov 30, 2026" in team("/contract ledger")
    assert [k for k, _s, _l in _steps(app)][-1] == "rectify"


def test_access_for_each_role(team, app) -> None:
    team(":as carol", NEW)
    # sales: their own customers' orders, and supervisors their line's; another line's is not found
    assert "Order O1" in team(":as alice", "/order show O1")
    assert "Order O1" in team(":as sup", "/order show O1")
    assert "No order O1." in team(":as bob", "/order show O1")
    assert "Orders (0)" in team("/order list")
    # step owners see the orders they have a step in; finance, service and managers the department's
    for name in ("pete", "lou", "fay", "carol", "wang"):
        assert "Order O1" in team(f":as {name}", "/order show O1"), name
    # who hands down: service and sales on a contract they may see; not a production member, not another line
    assert "Only customer service and sales" in team(":as pete", NEW)
    assert "No contract K1." in team(":as bob", NEW)
    # who completes a step: its owner, the order's owner, service, a manager; not someone else's step
    assert "Only pete, the order's owner" in team(":as quinn", "/order done O1 production")
    assert "Only pete" in team(":as alice", "/order done O1")
    assert "Step production planning of O1 is done." in team(":as wang", "/order done O1")
    assert "Only the order's owner, sales, customer service or a manager" in team(":as pam", "/order accept O1 passed")
    with app.uow() as uow:
        reads = uow.session.scalars(select(AuditEntry.actor_id).where(
            AuditEntry.entity == "order", AuditEntry.action == "read")).all()
        assert len(reads) >= 8
        assert uow.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == "order", AuditEntry.action == "update")) == 1


def test_bad_input_is_refused_with_nothing_changed(team, app) -> None:
    out = team(":as carol", "/order show O9", '/order new K9 items=x qty=1 delivery=2026-12-10',
               '/order new K2 items=x qty=1 delivery=2026-12-10', '/order new K1 items=x qty=zero delivery=2026-12-10',
               '/order new K1 items=x qty=-3 delivery=2026-12-10', '/order new K1 items=x qty=1 delivery=someday',
               '/order new K1 items=x qty=1 delivery=2026-11-01', "/order ack O1", "/order route set production:5d")
    assert "No order O9." in out and "No contract K9." in out
    assert "K2 is not signed; an order is handed down from a signed contract." in out
    assert "Cannot read 'zero' as a quantity" in out and "Cannot read '-3' as a quantity" in out
    assert "Cannot read 'someday' as a date" in out and "which has passed" in out
    assert "No order O1." in out and "Only admin or manager may do that." in out
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(Order.id))) == 0
        assert uow.session.scalar(select(func.count(OrderStep.id))) == 0
    team(NEW)
    out = team("/order done O1 shipping", "/order ship O1 carrier=SF tracking=X",
               "/order done O1 production carrier=SF", "/order ack O1 painting",
               "/order accept O1 maybe", "/order done O1 production carrier=SF tracking=1")
    assert out.count("Step shipping of O1 has not started: an earlier step is not done.") == 2
    assert "Shipping records the carrier and the tracking number: /order ship O1" in out
    assert "Unknown step 'painting'" in out and "Unknown acceptance 'maybe'" in out
    assert "Carrier and tracking number belong to the shipping step." in out
    assert _steps(app)[0] == ("production", "open", False) and _order(app).shipped_on is None
    zh = team(":as carol", "/settings lang zh", "/订单 查看 O7")
    assert "没有订单 O7" in zh


def test_route_is_configured_with_roles_and_named_contacts(team, app) -> None:
    assert "Only" in team(":as carol", '/order route set "production:5d, shipping:2d"')
    out = team(":as wang", "/order route set 生产安排:生产:3天, 质量检验:质检:1, 发货:张师傅 (物流部 138):2")
    assert "shipping: 张师傅 (物流部 138), 2 days" in out
    assert "A route ends with shipping" in team('/order route set "shipping, production"')
    out = team(":as carol", NEW)
    assert "Route: production planning → quality inspection → shipping." in out
    team(":as pete", "/order done O1", ":as quinn", "/order done O1")
    with app.uow() as uow:
        ship = uow.session.scalar(select(OrderStep).where(OrderStep.kind == "shipping"))
        assert (ship.owner_id, ship.contact, ship.state) == (None, "张师傅 (物流部 138)", "open")
    agenda = team(":as carol", "/agenda")                                     # the contact's step: the owner's to chase
    assert "O1 · " in agenda.split("Order steps")[1] and "Acme: shipping" in agenda
    assert "Step shipping of O1 is done." in team("/order ship O1 carrier=自提 tracking=-")


def test_on_time_delivery_rate_and_late_orders(team, app, clock) -> None:
    """Hand count: O1 due 24 Nov shipped 24 Nov (on time), O2 due 25 Nov shipped 26 Nov (late), O3 due 10 Dec
    shipped 26 Nov (early: on time), O4 due 25 Nov not shipped (late). Shipped in the week: 3, on time 2 → 2/3;
    late at some time in the week: O2 and O4."""
    team(":as carol", '/order new K1 items=a qty=1 delivery=2026-11-24',
         '/order new K1 items=b qty=1 delivery=2026-11-25',
         '/order new K1 items=c qty=1 delivery=2026-12-10', '/order new K1 items=d qty=1 delivery=2026-11-25')
    for n in (1, 2, 3, 4):
        team(f"/order done O{n}", f"/order done O{n}", f"/order done O{n}")
    team(":advance 1d", "/order ship O1 carrier=SF tracking=1", ":advance 2d", "/order ship O2 carrier=SF tracking=2",
         "/order ship O3 carrier=SF tracking=3")
    with app.uow() as uow:
        carol = find_member(uow, 1, "carol")
        week = Scope(1, date(2026, 11, 23), date(2026, 11, 30), "Asia/Shanghai")
        figs = figures.compute(uow, week, ["orders_handed_down", "on_time_delivery", "orders_late"])
        mine = figures.compute(uow, Scope(1, date(2026, 11, 23), date(2026, 11, 30), "Asia/Shanghai",
                                          frozenset({carol.id})), ["on_time_delivery"])
        bobs = figures.compute(uow, Scope(1, date(2026, 11, 23), date(2026, 11, 30), "Asia/Shanghai",
                                          frozenset({find_member(uow, 1, "bob").id})), ["on_time_delivery"])
    assert figs["orders_handed_down"].value == 4
    assert figs["on_time_delivery"].value == pytest.approx(2 / 3)
    assert figs["on_time_delivery"].params == {"on_time": 2, "total": 3}
    assert figs["orders_late"].value == 2
    assert mine["on_time_delivery"].value == pytest.approx(2 / 3) and bobs["on_time_delivery"].value is None
    digest = team(":as wang", "/digest 2026-12-01")
    assert "Late orders: 2" in digest and "Orders handed down: 4" in digest


def test_export_handover_and_service_appraisal_indicator(team, app) -> None:
    team(":as carol", NEW)
    with app.uow() as uow:
        actor = actor_for(uow, find_member(uow, 1, "carol"))
        data, n = uow.wiring[EXPORT_TABLES]["orders"].write(uow, actor, "csv", None, None)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert n == 1 and rows[0]["Order"] == "O1" and rows[0]["Current step"] == "production planning"
    assert rows[0]["Step owner"] == "pete" and rows[0]["Quantity"].startswith("10")
    with app.uow() as uow:
        actor = actor_for(uow, find_member(uow, 1, "bob"))
        _data, n = uow.wiring[EXPORT_TABLES]["orders"].write(uow, actor, "csv", None, None)
    assert n == 0                                                             # not bob's line
    assert "O1 · " in team(":as pete", "/agenda").split("Order steps")[1]
    out = team(":as wang", "/team add paul role=production", "/team leave pete to=paul")
    assert "O1 production" in out
    with app.uow() as uow:
        step = uow.session.scalar(select(OrderStep).where(OrderStep.kind == "production"))
        assert step.owner_id == find_member(uow, 1, "paul").id
    from domain.appraisals.reviews import DEFAULT_TEMPLATES
    service = DEFAULT_TEMPLATES["service"]["indicators"]
    assert sum(i["weight"] for i in service) == 100
    assert any("on_time_delivery" in i["measures"] for i in service)
