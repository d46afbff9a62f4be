"""Receivables on the console: terms required at submission, milestones falling due on the contract's events,
invoices on the approval engine, payments allocated oldest first (over-payment refused, under-payment left
outstanding), ageing buckets at month end, the overdue ladder and the customer's risk raised once, figures and
the digest, the ledger and the export, access for each role, the hand-over — on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.approvals.contracts import ACCEPTED, DELIVERED, contract_event
from domain.receivables import ageing
from domain.reporting import figures
from domain.reporting.figures import Scope
from domain.store.models import (
    Allocation,
    AuditEntry,
    Contract,
    Customer,
    Invoice,
    Milestone,
    OutboxAttachment,
    Payment,
    RiskSignal,
)
from domain.team.members import actor_for, find_member

TEAM = ("/team add hank role=head", "/team add mike role=manager supervisor=hank", "/team add lily role=legal",
        "/team add fay role=finance", "/team add sup role=sales supervisor=mike",
        "/team add alice role=sales supervisor=sup", "/team add bob role=sales supervisor=sup",
        "/team add carl role=sales supervisor=mike")
TERMS = '/contract terms K1 "30% 签约, 60% 发货, 10% 验收后90天"'


@pytest.fixture
def bot(bot):
    return lambda *lines: bot(*lines).replace("\u202f", " ")


@pytest.fixture
def team(bot):
    bot(*TEAM, ":as alice", "/customer new Acme", ":as carl", "/customer new Zeta")
    return bot


def _sign(bot, amount: str = "800000", terms: str = TERMS, number: int = 1, who: str = "alice",
          customer: str = "Acme") -> str:
    """Draft, give terms, submit and approve a contract of `who`; the approvals go to A{n}."""
    out = bot(f":as {who}", f'/contract new {customer} title="ERP" amount={amount} delivery=2027-01-15',
              terms.replace("K1", f"K{number}"), f"/contract submit K{number}")
    for approver in ("mike", "lily", "hank"):
        out += bot(f":as {approver}", f"/approve K{number}")
    return out


def _event(app, number: int, event: str, day: date) -> None:
    """What the orders area tells in production: a delivery or an acceptance."""
    with app.uow() as uow:
        contract = uow.session.scalar(select(Contract).where(Contract.number == number))
        contract_event(uow, contract, event, day)
        uow.commit()


def _milestones(app, contract: int = 1) -> list[tuple[Decimal, Decimal, date | None, str]]:
    with app.uow() as uow:
        cid = uow.session.scalar(select(Contract.id).where(Contract.number == contract))
        return [(m.amount, m.received, m.due_date, m.state) for m in uow.session.scalars(
            select(Milestone).where(Milestone.contract_id == cid).order_by(Milestone.seq))]


def _counts(app) -> tuple[int, ...]:
    with app.uow() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(t))
                     for t in (Milestone, Invoice, Payment, Allocation))


def _sent(out: str, words: str) -> list[str]:
    """The messages bizbot sent (each with its lines, notices merged into one included) that say `words`;
    `words` may start with the recipient (`@alice: ...`)."""
    messages, current = [], ""
    for line in out.splitlines():
        if "] → " in line:
            messages.append(current)
            current = line.split("] → ", 1)[1]
        elif current:
            current += "\n" + line
    messages.append(current)
    who, _sep, said = words.partition(": ") if words.startswith("@") else ("", "", words)
    return [m for m in messages if m.startswith(who) and said in m]


def test_a_contract_is_submitted_with_its_delivery_date_and_terms_unless_optional(team, app) -> None:
    out = team(":as alice", '/contract new Acme title="ERP" amount=800000', "/contract submit K1")
    assert "K1 needs a delivery date before it is submitted" in out
    out = team("/contract edit K1 delivery=2027-01-15", "/contract submit K1")
    assert "K1 needs payment terms before it is submitted" in out
    out = team('/contract terms K1 "30% 签约, 60% 发货"')
    assert "The shares add up to 90%, not 100%. Nothing was changed." in out
    assert _counts(app)[0] == 0
    out = team(TERMS, "/contract submit K1")
    assert "Payment terms of K1 set: 3 milestones." in out and "K1 submitted as A1" in out
    # the approval card shows the structured terms
    assert "Payment: 30% on signing, 60% on delivery, 10% 90 days after acceptance; delivery Jan 15, 2027" in out
    team(":as wang", "/settings contractterms optional", ":as alice", '/contract new Acme title="Spare parts" '
         'amount=1000')
    assert "K2 submitted as A2" in team("/contract submit K2")
    assert "Only" in team("/settings contractterms required")  # alice is no admin


def test_chinese_words_and_the_approval_card_in_chinese(team, app) -> None:
    out = team(":as alice", "/settings lang zh", '/合同 新建 Acme 标题="ERP" 金额=80万 交货期=2027-01-15',
               '/合同 付款条件 K1 "30% 签约, 60% 发货, 10% 验收后90天"', "/合同 提交 K1")
    assert "K1 的付款条件已设置：3 个节点。" in out
    out = team(":as mike", "/settings lang zh", "/批准 K1")
    assert "付款方式: 30% 签约，60% 发货，10% 验收后90天" in out or "30% 签约，60% 发货，10% 验收后90天" in out


def test_milestones_fall_due_on_signing_first_delivery_and_acceptance(team, app) -> None:
    _sign(team)
    assert _milestones(app) == [
        (Decimal("240000.00"), 0, date(2026, 11, 23), "open"), (Decimal("480000.00"), 0, None, "waiting"),
        (Decimal("80000.00"), 0, None, "waiting")]
    _event(app, 1, DELIVERED, date(2026, 11, 25))
    _event(app, 1, DELIVERED, date(2026, 12, 20))  # a second shipment changes nothing
    _event(app, 1, ACCEPTED, date(2026, 12, 1))
    assert [(d, s) for _a, _r, d, s in _milestones(app)] == [
        (date(2026, 11, 23), "open"), (date(2026, 11, 25), "open"), (date(2027, 3, 1), "open")]


def test_invoice_approved_by_finance_and_issued(team, app) -> None:
    _sign(team)
    out = team(":as alice", "/invoice request K1 amount=300000 milestone=1")
    assert "K1#1 can be invoiced for at most CN¥240,000.00 more; CN¥300,000.00 is too much." in out
    assert _counts(app)[1] == 0
    out = team("/invoice request K1 amount=240000 milestone=1")
    assert "Invoice I1 requested as A2: CN¥240,000.00; first fay." in out
    assert "[Approve: /approve A2 step=1.1]" in out  # the engine's buttons
    out = team(":as fay", "/invoice issued I1 number=0441")
    assert "I1 is in approval; only an approved invoice is issued." in out
    assert "Invoices to issue" in team("/approve A2", "/agenda")
    out = team("/invoice issued I1 number=04410021 date=2026-11-23")
    assert "I1 issued: number 04410021, Nov 23, 2026, CN¥240,000.00." in out
    assert _sent(out, "@alice: Invoice I1 for contract K1 issued by fay")
    out = team(":as alice", "/contract show K1", "/contract ledger", "/invoice issued I1 number=1")
    assert "Invoiced: CN¥240,000.00" in out and "Invoiced CN¥240,000.00" in out
    assert "Only finance may do that." in out
    assert "I1 · K1 · Acme · CN¥240,000.00 · issued · 04410021" in team("/invoice list all")
    with app.uow() as uow:
        assert uow.session.scalar(select(Milestone.invoiced).where(Milestone.seq == 1)) == Decimal("240000.00")


def test_payments_oldest_first_over_refused_under_left_outstanding(team, app) -> None:
    _sign(team)
    _event(app, 1, DELIVERED, date(2026, 11, 25))
    before = _counts(app)
    out = team(":as alice", "/payment K1 amount=1000", ":as fay", "/payment K1 amount=900000",
               "/payment K1 amount=1000 date=2027-02-01", "/payment K1 amount=0", "/payment K9 amount=10")
    assert "Only finance may do that." in out
    assert "CN¥900,000.00 is more than K1 has outstanding (CN¥800,000.00); nothing was recorded." in out
    assert "has not come yet" in out and "No contract K9." in out
    assert _counts(app) == before
    team(":advance 2d")
    out = team("/payment K1 amount=300000 note=\"bank ref 8812\"")
    assert "Payment P1 recorded: CN¥300,000.00 on Nov 25, 2026. Still outstanding on K1: CN¥500,000.00." in out
    assert "K1#1: CN¥240,000.00, paid in full" in out and "K1#2: CN¥60,000.00, part paid" in out
    assert _sent(out, "@alice: Payment P1 received for contract K1")
    assert [(r, s) for _a, r, _d, s in _milestones(app)] == [
        (Decimal("240000.00"), "paid"), (Decimal("60000.00"), "open"), (Decimal(0), "waiting")]
    out = team("/payment K1 amount=500000")  # the rest, the waiting milestone paid in advance
    assert [s for _a, _r, _d, s in _milestones(app)] == ["paid", "paid", "paid"]
    assert "K1#3: CN¥80,000.00, paid in full" in out
    assert "is more than K1 has outstanding (CN¥0.00)" in team("/payment K1 amount=1")


def test_ageing_buckets_at_month_end(team, app, clock) -> None:
    terms = ('/contract terms K1 "20% on 2026-12-31, 20% on 2026-12-01, 20% on 2026-11-30, 20% on 2026-10-31, '
             '20% on 2026-10-01"')
    _sign(team, "100000", terms)
    team(":as fay", "/payment K1 amount=5000 date=2026-11-23")  # against the oldest: 2026-10-01
    team(":advance 38d")  # Thursday 31 December 2026
    with app.uow() as uow:
        a = ageing.ageing(uow, actor_for(uow, find_member(uow, 1, "alice")), "mine")
    assert a.today == date(2026, 12, 31)
    assert dict(a.totals["CNY"]) == {"current": Decimal(20000), "1-30": Decimal(20000), "31-60": Decimal(20000),
                                     "61-90": Decimal(20000), "90+": Decimal(15000)}
    out = team(":as alice", "/receivables mine")
    assert ("Total (CNY): not yet due CN¥20,000.00 · 1–30 days CN¥20,000.00 · 31–60 days CN¥20,000.00 · "
            "61–90 days CN¥20,000.00 · over 90 days CN¥15,000.00") in out
    assert "K1#5 · Acme · alice · due Oct 1, 2026 · 91 days overdue · CN¥15,000.00" in out
    out = team("/settings lang zh", "/应收 我的")
    assert "未到期 ¥20,000.00 · 1–30天 ¥20,000.00" in out and "90天以上 ¥15,000.00" in out


def test_scenario_800000_three_payments_one_45_days_overdue(team, app) -> None:
    """A ¥800,000 contract, 30/60/10: the signing share paid at once, the delivery share half paid and then 45
    days overdue (31–60 bucket), escalated owner → supervisor → manager, the customer turned orange, once."""
    _sign(team)
    out = team(":as fay", "/payment K1 amount=240000")
    _event(app, 1, DELIVERED, date(2026, 11, 25))
    _event(app, 1, ACCEPTED, date(2026, 12, 1))
    out = team(":advance 3d")
    assert _sent(out, "@alice: Overdue payment: K1#2 of contract K1 with Acme, CN¥480,000.00, fell due on "
                      "Nov 25, 2026 (1 days ago)")
    team(":advance 13d", ":as fay", "/payment K1 amount=300000")  # 9 December: part of the delivery share
    out = team(":advance 1d")  # 10 December: 15 days overdue
    assert _sent(out, "@sup: Overdue payment escalated to you: K1#2 of contract K1 with Acme, CN¥180,000.00")
    out = team(":advance 15d")  # 25 December: 30 days, and the risk age
    assert _sent(out, "@mike: Overdue payment escalated to you: K1#2")
    assert _sent(out, "@sup: 🟠 Risk indicator — receivables overdue (medium (orange)): C1 Acme, owner alice. Why: "
                      "receivable K1#2 (CN¥180,000.00) overdue since Nov 25, 2026: 30 days (the threshold is 30 days)")
    with app.uow() as uow:
        acme = uow.session.scalar(select(Customer).where(Customer.name == "Acme"))
        assert acme.risk == "medium"
    out = team(":advance 15d", ":as alice", "/receivables mine")  # 9 January 2027: 45 days overdue
    assert "K1#2 · Acme · alice · due Nov 25, 2026 · 45 days overdue · CN¥180,000.00" in out
    assert "Total (CNY): not yet due CN¥80,000.00 · 31–60 days CN¥180,000.00" in out
    out = team(":as fay", "/payment K1 amount=180000", ":as alice", "/contract show K1")
    assert "Collected: CN¥720,000.00" in out and "Outstanding: CN¥80,000.00" in out
    assert "#2 · 60% on delivery · CN¥480,000.00 · due Nov 25, 2026 · paid · received CN¥480,000.00" in out
    out = team(":advance 60d")  # the acceptance share falls due and is overdue: the risk stays where it is
    with app.uow() as uow:
        assert uow.session.scalar(select(Customer.risk).where(Customer.name == "Acme")) == "medium"
        org_id = acme.org_id
        alice = find_member(uow, org_id, "alice").id
        scope = Scope(org_id, date(2026, 11, 1), date(2027, 2, 1), "Asia/Shanghai", frozenset({alice}))
        got = figures.compute(uow, scope, ["collected_value", "collection_rate", "overdue_rate", "overdue_value"])
        december = figures.compute(uow, Scope(org_id, date(2026, 12, 1), date(2027, 1, 1), "Asia/Shanghai"),
                                   ["collected_value", "overdue_rate", "overdue_value"])
    assert got["collected_value"].value == Decimal("720000.00")
    assert got["collection_rate"].value == 1.0  # the shares due Nov–Jan were all received by the end of January
    assert december["collected_value"].value == Decimal("300000.00")
    assert december["overdue_value"].value == Decimal("180000.00")
    assert december["overdue_rate"].value == pytest.approx(180000 / 260000)
    out = team(":as mike", "/digest 2026-12-28")
    assert "Collected value" in out and "Overdue receivables" in out


def test_access_for_each_role(team, app) -> None:
    _sign(team)
    _sign(team, "100000", '/contract terms K1 "100% on signing"', number=2, who="carl", customer="Zeta")
    def scopes(who: str, scope: str) -> str:
        return team(f":as {who}", f"/receivables {scope}")
    assert "Acme" in scopes("alice", "mine") and "Zeta" not in scopes("alice", "all")
    assert "Acme" in scopes("sup", "team") and "Zeta" not in scopes("sup", "all")
    assert "Acme" not in scopes("bob", "all") and "Zeta" not in scopes("bob", "all")
    for who in ("fay", "mike", "wang"):
        out = scopes(who, "all")
        assert "Acme" in out and "Zeta" in out, who
    out = team(":as bob", "/invoice request K1 amount=10", "/invoice list all")
    assert "No contract K1." in out and "Invoices (0)" in out
    out = team(":as carl", "/contract terms K1 \"100% on signing\"")
    assert "No contract K1." in out
    with app.uow() as uow:
        reads = uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity == "receivable", AuditEntry.action == "read"))
    assert reads >= 9


def test_export_and_hand_over(team, app) -> None:
    _sign(team)
    team(":as alice", "/export receivables csv")
    with app.uow() as uow:
        data = uow.session.scalars(select(OutboxAttachment.data)).all()[-1]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Milestone", "Contract", "Customer", "Owner"]
    assert [r[0] for r in rows[1:]] == ["K1#1", "K1#2", "K1#3"]
    assert "without dates" in team("/export receivables csv from=2026-01-01")
    out = team(":as wang", "/team leave alice to=bob")
    assert "K1#1" in out
    with app.uow() as uow:
        owners = set(uow.session.scalars(select(Milestone.owner_id)))
        assert owners == {find_member(uow, 1, "bob").id}
    assert "Acme" in team(":as bob", "/receivables mine")


def test_bad_input_changes_nothing(team, app) -> None:
    _sign(team)
    before = _counts(app)
    out = team(":as alice", '/contract terms K1 "50% on signing"', "/invoice request K1 amount=-5",
               "/invoice request K1 amount=10 milestone=7", "/invoice request K1 amount=abc",
               ":as fay", "/payment K1 amount=10 date=2026-01-01", "/payment K1 amount=10 note=" + "x" * 600,
               "/invoice issued I9 number=1", ":as wang", "/settings contractterms sometimes",
               "/settings overduerisk 0")
    assert "The shares add up to 50%, not 100%. Nothing was changed." in out
    assert "K1 has no milestone 7" in out and "Cannot read 'abc' as an amount" in out
    assert "signed on 2026-11-23" in out and "No invoice I9." in out
    assert "Write required or optional" in out and "Traceback" not in out
    assert _counts(app) == before


def test_a_receivable_90_days_overdue_turns_its_customer_red_by_itself_and_a_payment_clears_it(team, app) -> None:
    """The risk indicator's thresholds (/risk thresholds): 30 days overdue → orange, 90 → red (the managers are
    told at once); the payment that settles it clears the indicator, and a person lowers the level."""
    _sign(team)
    team(":as fay", "/payment K1 amount=240000")
    _event(app, 1, DELIVERED, date(2026, 11, 25))
    out = team(":advance 32d")                                        # 25 December: 30 days
    assert _sent(out, "@alice: 🟠 Risk indicator — receivables overdue")
    out = team(":advance 60d")                                        # 23 February 2027: 90 days
    assert _sent(out, "@wang: 🔴 Risk indicator — receivables overdue (high (red)): C1 Acme, owner alice. Why: "
                      "receivable K1#2 (CN¥480,000.00) overdue since Nov 25, 2026: 90 days (the threshold is 90 days)")
    with app.uow() as uow:
        assert uow.session.scalar(select(Customer.risk).where(Customer.name == "Acme")) == "high"
    team(":as fay", "/payment K1 amount=480000", ":advance 1h")
    with app.uow() as uow:
        signal = uow.session.scalar(select(RiskSignal).where(RiskSignal.indicator == "receivables_overdue"))
        assert signal.level is None and signal.cleared_at is not None
    assert not _sent(team(":advance 60d"), "Risk indicator")         # nothing fires again until it holds again
