"""Approvals on the console: chains and thresholds, who may decide, resubmission, delegation, nudges,
escalation, policy versions, the ledger and its export, figures, and first-click-wins under concurrency."""
from __future__ import annotations

import csv
import io
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import PG_URL
from openpyxl import load_workbook
from sqlalchemy import func, select

from domain.approvals import engine as approvals
from domain.approvals.contracts import export_ledger
from domain.reporting import figures
from domain.reporting.figures import Scope
from domain.store.models import (
    ApprovalDecision,
    ApprovalRequest,
    AuditEntry,
    Contract,
    Lead,
    Member,
    OutboxMessage,
)
from domain.team.members import actor_for

TEAM = (
    "/team add hank role=head",
    "/team add mike role=manager supervisor=hank",
    "/team add lily role=legal",
    "/team add fay role=finance",
    "/team add dora role=deputy,manager supervisor=hank",
    "/team add alice role=sales supervisor=mike",
    "/team add bob role=sales supervisor=mike",
    "/settings contractterms optional",  # these contracts go to approval without structured payment terms
)
CONTRACT = ('/contract new Acme title="ERP rollout" amount={amount} payment="30/70" delivery=2027-01-15 '
            'term=2027-12-31')


@pytest.fixture
def team(bot):
    bot(*TEAM, ":as alice", "/customer new Acme")
    return bot


def _messages_to(out: str, name: str) -> list[str]:
    return [line for line in out.splitlines() if f"→ @{name}:" in line]


def _chain(app, rid: int) -> list[str]:
    with app.uow() as uow:
        req = uow.session.get(ApprovalRequest, rid)
        return [f"{s['role']}={uow.session.get(Member, s['approver_id']).name}" for s in req.chain]


def test_contract_chain_follows_the_amount_threshold(team, app) -> None:
    team(CONTRACT.format(amount=400000), CONTRACT.format(amount="80万"))
    team("/contract submit K1", "/contract submit K2")
    assert _chain(app, 1) == ["manager=mike", "legal=lily"]
    assert _chain(app, 2) == ["manager=mike", "legal=lily", "head=hank"]
    team("/policy set contract manager, legal, head if amount >= 300000")  # alice is no admin
    assert "Only admin" in team("/policy set contract manager, legal, head if amount >= 300000")


def test_chinese_option_names_mean_what_each_command_has(team, app) -> None:
    """金额 is a lead's value, a contract's amount and a project's budget."""
    from decimal import Decimal

    from domain.store.models import ApprovalRequest, Contract, Lead

    team("/lead new Acme 金额=10万", '/contract new Acme 标题="ERP" 金额=80万 交货期=2027-01-15 商机=L1',
         '/expense travel 金额=300 备注=打车 发票=INV-9', '/project 名称=新系统 金额=50万 开始=2027-01-04 原因=内部')
    with app.uow() as uow:
        assert uow.session.get(Lead, 1).value == Decimal("100000.00")
        contract = uow.session.get(Contract, 1)
        assert (contract.amount, contract.title, contract.lead_id) == (Decimal("800000.00"), "ERP", 1)
        amounts = uow.session.scalars(select(ApprovalRequest.amount).order_by(ApprovalRequest.id)).all()
    assert amounts[-2:] == [Decimal("300.00"), Decimal("500000.00")]


def test_choices_in_the_words_chinese_teams_use(team, app) -> None:
    """Expense types, request types and list scopes read Chinese words as well as their keys; a word that
    is none of them is answered with the choices, labelled in the reader's language, and changes nothing."""
    team(":as alice", '/expense 差旅 amount=1200 note="北京出差"', "/expense 话费 amount=99 note=电话费",
         CONTRACT.format(amount=100000), "/contract submit K1")
    with app.uow() as uow:
        kinds = uow.session.execute(select(ApprovalRequest.type, ApprovalRequest.fields).order_by(ApprovalRequest.id))
        assert [(t, f.get("category")) for t, f in kinds] == [
            ("expense", "travel"), ("expense", "communication"), ("contract", None)]
    assert "Contracts (1)" in team("/contract list 审批中") and "Contracts (0)" in team("/contract list 已签")
    assert "Your requests (3)" in team("/approvals 我的")
    assert "Waiting for you (3)" in team(":as mike", "/approvals 待我审批")
    assert "Leads (0)" in team("/lead list 全部")
    out = team(":as wang", "/policy set 报销 manager", "/policy explain 请假 days=5 by=alice")
    assert "Policy version 1: expense claim is now manager." in out and "leave by alice" in out
    before = _counts(app)
    out = team(":as alice", "/expense 吃饭 amount=1 note=x", "/lead list 大家", "/settings lang zh", "/lead list 大家")
    assert "Unknown expense type '吃饭'. Choose one of: travel, entertainment (business entertainment), or " \
           "communication." in out
    assert "Unknown scope '大家'. Choose one of: mine, team (my team), or all." in out
    assert "范围 的值「大家」无法识别。可选：我的、我的团队或全部。" in out
    assert _counts(app) == before


def _counts(app) -> tuple[int, ...]:
    with app.uow() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(t)) for t in (ApprovalRequest, Contract, Lead))


def test_expense_and_leave_chains(team, app) -> None:
    out = team('/expense travel amount=3000 note="Shanghai trip" invoice=INV-1')
    assert "Expense claim A1 submitted" in out and "first mike" in out
    team('/expense entertainment amount=6000 note="dinner with Acme"')
    team("/leave from=2026-12-07 to=2026-12-08 reason=family handover=bob")
    team("/leave from=2026-12-14 to=2026-12-18 reason=wedding handover=bob")
    assert _chain(app, 1) == ["manager=mike"]
    assert _chain(app, 2) == ["manager=mike", "finance=fay"]
    assert _chain(app, 3) == ["supervisor=mike"]
    assert _chain(app, 4) == ["supervisor=mike"]            # mike would be asked twice: he approves once
    assert "Hand over to someone else" in team("/leave from=2026-12-07 to=2026-12-08 reason=x handover=alice")
    assert "before the start" in team("/leave from=2026-12-09 to=2026-12-08 reason=x handover=bob")
    assert "Unknown expense type 'food'" in team("/expense food amount=10 note=x")
    out = team(":as mike", "/approve A2", ":as fay", "/approve A2")
    assert "All steps approved" in out
    assert any("Approved for payment: A2" in line for line in _messages_to(out, "fay"))


def test_explain_matches_what_a_submission_then_does(team, app) -> None:
    explained = team(":as wang", "/policy explain contract amount=800000 by=alice")
    assert "1. manager · mike · always" in explained
    assert "2. legal · lily · always" in explained
    assert "3. department head · hank · because amount >= 500000" in explained
    small = team("/policy explain contract amount=100000 by=alice")
    assert "skipped: department head, only if amount >= 500000" in small
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(ApprovalRequest.id))) == 0
    team(":as alice", CONTRACT.format(amount=800000), "/contract submit K1")
    assert _chain(app, 1) == ["manager=mike", "legal=lily", "head=hank"]
    leave = team("/policy explain leave days=5")
    assert "1. supervisor · mike" in leave
    assert "skipped: manager, because mike already approves at step 1" in leave
    team(":as wang", "/team add sam role=sales supervisor=dora")          # dora: deputy and manager
    leave = team("/policy explain leave days=5 by=sam")
    assert "1. supervisor · dora" in leave and "skipped: manager, because dora already approves at step 1" in leave
    leave = team("/team set sam supervisor=alice", "/policy explain leave days=5 by=sam")
    assert "1. supervisor · alice" in leave and "2. manager · mike · because days > 3" in leave


def test_requester_cannot_approve_and_wrong_role_is_refused(team, app) -> None:
    team(CONTRACT.format(amount=800000), "/contract submit K1")
    assert "You cannot decide your own request A1" in team("/approve A1")
    # bob may not see alice's request: it is not found, as one that does not exist
    team(":as bob")
    assert team("/approve A1") == team("/approve A9").replace("A9", "A1")
    assert "Step 1 of A1 is for manager (mike)" in team(":as lily", "/approve K1")
    assert "Missing reason=" in team(":as mike", "/reject A1")
    with app.uow() as uow:
        req = uow.session.get(ApprovalRequest, 1)
        assert (req.state, req.step, req.version) == ("pending", 0, 2)
        assert uow.session.scalar(select(func.count(ApprovalDecision.id))) == 0
    assert "No approval request A9" in team("/approve A9")
    assert "is not a step" in team("/approve A1 step=x")


def test_duplicate_and_stale_decisions_say_who_was_first(team) -> None:
    team(CONTRACT.format(amount=800000), "/contract submit K1")
    assert "Next: lily" in team(":as mike", "/approve A1 step=1.1")
    assert "Step 1 of A1 was already decided: approved by mike" in team(":as dora", "/approve A1 step=1.1")
    assert "Step 1 of A1 was already decided: approved by mike" in team(":as mike", "/reject A1 step=1.1 reason=x")


def test_reject_revise_resubmit_restarts_the_chain(team, app) -> None:
    team(CONTRACT.format(amount=800000), "/contract submit K1")
    team(":as mike", "/approve A1")
    out = team(":as lily", '/changes A1 reason="payment in two instalments"')
    assert "changes requested" in out
    assert any("changes requested by lily" in line for line in _messages_to(out, "alice"))
    assert "was already decided" in team(":as hank", "/approve A1")
    assert "changes requested" in team(":as alice", "/contract show K1")
    assert "No contract K1." in team(":as bob", "/contract submit K1")
    team(":as alice", '/contract edit K1 payment="50/50"')
    assert "round 2" in team("/contract submit K1")
    with app.uow() as uow:
        req = uow.session.get(ApprovalRequest, 1)
        assert (req.state, req.round, req.step) == ("pending", 2, 0)
    assert "Step 1 of A1 was already decided" in team(":as mike", "/approve A1 step=1.1")
    team("/approve A1 step=2.1", ":as lily", '/reject A1 reason="no"')
    assert "rejected" in team(":as alice", "/contract show K1")
    assert "K1 revised" in team(":as alice", '/contract edit K1 amount=700000')
    assert "Nothing to change" in team('/contract edit K1')
    team("/contract submit K1", ":as mike", "/approve A1", ":as lily", "/approve A1", ":as hank", "/approve A1")
    with app.uow() as uow:
        assert uow.session.get(Contract, 1).state == "signed"
        outcomes = [(d.round, d.step, d.outcome) for d in uow.session.scalars(
            select(ApprovalDecision).order_by(ApprovalDecision.id))]
    assert outcomes == [(1, 0, "approve"), (1, 1, "changes"), (2, 0, "approve"), (2, 1, "reject"),
                        (3, 0, "approve"), (3, 1, "approve"), (3, 2, "approve")]


def test_delegation_routes_requests_and_is_recorded(team, app) -> None:
    out = team(":as mike", "/delegate dora until=2026-11-27")
    assert "go to dora" in out
    out = team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1")
    assert "first dora" in out
    assert _messages_to(out, "dora") and not _messages_to(out, "mike")
    assert "delegate of mike" in team(":as wang", "/policy explain contract amount=100000 by=alice")
    out = team(":as dora", "/approve A1")
    assert "Decided on behalf of mike" in out
    with app.uow() as uow:
        d = uow.session.scalar(select(ApprovalDecision))
        assert (uow.session.get(Member, d.actor_id).name, uow.session.get(Member, d.on_behalf_of_id).name) == (
            "dora", "mike")
    assert "delegate to yourself" in team(":as mike", "/delegate mike until=2026-11-30")
    assert "Delegation ended" in team("/delegate off")
    team(":as alice", CONTRACT.format(amount=100000), "/contract submit K2")
    assert _chain(app, 2)[0] == "manager=mike"


def test_nudge_then_escalation_once_each_on_the_injected_clock(team, app) -> None:
    team(":as wang", "/policy timing nudge=24 escalate=48h")
    team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1")
    assert not _messages_to(team(":advance 23h"), "mike")
    out = team(":advance 2h")
    (nudge,) = [m for m in _messages_to(out, "mike") if "Reminder" in m]
    assert "A1 is waiting for your decision" in nudge
    out = team(":advance 1d")
    (esc,) = _messages_to(out, "hank")
    assert "Escalated to you: A1 has waited for mike (manager)" in esc
    assert not _messages_to(team(":advance 5d"), "hank")  # once each
    assert "Decided on behalf of mike" in team(":as hank", "/approve A1")
    with app.uow() as uow:
        audit = [a.detail for a in uow.session.scalars(select(AuditEntry).where(AuditEntry.entity == "approval"))]
    assert "escalated to hank" in audit


def test_a_decision_cancels_the_pending_nudge(team) -> None:
    team(CONTRACT.format(amount=100000), "/contract submit K1", ":as mike", "/approve A1")
    out = team(":advance 26h")
    assert not [m for m in _messages_to(out, "mike") if "Reminder" in m]
    assert [m for m in _messages_to(out, "lily") if "Reminder: A1" in m]


def test_policy_is_versioned_and_a_request_keeps_its_version(team, app) -> None:
    team(CONTRACT.format(amount=400000), "/contract submit K1")
    out = team(":as wang", "/policy set contract manager, legal, head if amount >= 300000")
    assert "Policy version 1" in out
    assert "Cannot read the step" in team("/policy set contract manager if amount >>= 5")
    assert "Unknown role" in team("/policy set contract boss")
    assert "version 1" in team("/policy show")
    team(":as alice", CONTRACT.format(amount=400000), "/contract submit K2")
    with app.uow() as uow:
        r1, r2 = uow.session.get(ApprovalRequest, 1), uow.session.get(ApprovalRequest, 2)
        assert (r1.policy_version, len(r1.chain)) == (0, 2)
        assert (r2.policy_version, len(r2.chain)) == (1, 3)


def test_contract_wins_its_lead_and_enters_the_ledger(team, app) -> None:
    team("/lead new Acme value=800000 stage=negotiation")
    team(CONTRACT.format(amount=800000) + " lead=L1", "/contract submit K1")
    team(":as mike", "/approve A1", ":as lily", "/approve A1", ":as hank", "/approve A1 note=ok")
    with app.uow() as uow:
        assert uow.session.get(Lead, 1).stage == "won"
    ledger = team(":as alice", "/contract ledger from=2026-11-01 to=2026-11-30")
    assert "K1 · Nov 23, 2026 · Acme · ERP rollout · CN¥800,000.00 · Dec 31, 2027 · alice" in ledger
    assert "Contract ledger (0)" in team("/contract ledger from=2026-12-01")
    assert "Contract ledger (0)" in team(":as bob", "/contract ledger")  # not bob's to see
    assert "No contract K1." in team("/contract show K1")
    out = team(":as alice", '/contract change K1 reason="scope grew" content="add module B" amount=900000')
    assert "Change request A2 for K1 submitted" in out
    team(":as mike", "/approve A2", ":as lily", "/approve A2", ":as hank", "/approve A2")
    with app.uow() as uow:
        assert uow.session.get(Contract, 1).amount == Decimal("900000.00")
    assert "Only a signed contract" in team(":as alice", CONTRACT.format(amount=10), "/contract change K2 "
                                            'reason=x content=y')


def test_a_signed_contract_schedules_a_callback_after_its_delivery(team, app, clock) -> None:
    """A callback is due after a delivery — the first working day after the delivery date."""
    from domain.store.models import Callback

    team('/contract new Acme title="Pilot" amount=1000 delivery=2026-12-04', "/contract submit K1",
         ":as mike", "/approve A1", ":as lily", "/approve A1")                   # signed; 4 Dec is a Friday
    with app.uow() as uow:
        (cb,) = uow.session.scalars(select(Callback).where(Callback.reason == "delivery")).all()
        assert (cb.due_date, cb.source_ref, cb.status) == (date(2026, 12, 7), "K1", "open")
    assert "after delivery" in team(":as alice", "/customer show Acme")
    team('/contract change K1 reason="supplier late" content="deliver later" delivery=2026-12-10',
         ":as mike", "/approve A2", ":as lily", "/approve A2")
    with app.uow() as uow:
        callbacks = uow.session.scalars(select(Callback).where(Callback.reason == "delivery")).all()
    assert [(c.id, c.due_date) for c in callbacks] == [(cb.id, date(2026, 12, 11))]   # moved, not doubled
    out = team(":as alice", ":advance 18d")                                       # to 11 December
    reminders = [line for line in out.splitlines() if "→ @alice" in line and "after delivery" in line]
    assert [line[:18] for line in reminders] == ["[2026-12-11 09:00]"]


def test_ledger_export_csv_and_xlsx(team, app) -> None:
    team(CONTRACT.format(amount=800000), "/contract submit K1", CONTRACT.format(amount=1000), "/contract submit K2")
    team(":as mike", "/approve A1", "/approve A2", ":as lily", "/approve A1", "/approve A2", ":as hank", "/approve A1")
    with app.uow() as uow:
        data, count, _locale = export_ledger(uow, "alice", None, "csv", None, None)
    assert count == 2
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    # the ledger's own columns, then those the areas carrying contracts on add (delivered, invoiced, ...)
    assert rows[0][:10] == ["Contract", "Sign date", "Customer", "Title", "Amount", "Currency", "Term", "Owner",
                            "Delivered on", "Accepted on"]
    assert rows[1][:10] == ["K1", "2026-11-23", "Acme", "ERP rollout", "800000.00", "CNY", "2027-12-31", "alice",
                            "", ""]
    with app.uow() as uow:
        data, count, _locale = export_ledger(uow, "bob", None, "xlsx", date(2026, 11, 1), None)
    assert count == 0
    team(":as wang", "/team set hank lang=zh")
    with app.uow() as uow:
        data, count, _locale = export_ledger(uow, "hank", None, "xlsx", None, None)
        exported = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "export")
                                      .order_by(AuditEntry.id.desc()).limit(1))
        assert exported.detail == "xlsx 2 rows"
    sheet = load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:2] == ["合同", "签订日期"]
    assert values[1][0] == "K1" and values[1][2] == "Acme" and float(values[1][4]) == 800000.0
    assert len(values) == 3


def test_figures_for_the_digest(team, app) -> None:
    team(CONTRACT.format(amount=800000), "/contract submit K1", CONTRACT.format(amount=1000), "/contract submit K2")
    team(CONTRACT.format(amount=5), ":as mike", "/approve A2", ":as lily", "/approve A2")
    with app.uow() as uow:
        alice = uow.session.scalar(select(Member.id).where(Member.name == "alice"))
    week = Scope(org_id=1, first=date(2026, 11, 23), end_day=date(2026, 11, 30), tz="Asia/Shanghai")
    with app.uow() as uow:
        f = figures.compute(uow, week, ["contracts_submitted", "contracts_approved", "contracts_pending",
                                        "contract_value_signed"])
        mine = figures.compute(uow, Scope(1, week.first, week.end_day, week.tz, frozenset({alice})),
                               ["contract_value_signed"])
        before = figures.compute(uow, week.previous(), ["contract_value_signed"])
    assert (f["contracts_submitted"].value, f["contracts_approved"].value, f["contracts_pending"].value) == (2, 1, 1)
    assert f["contract_value_signed"].value == Decimal("1000.00") == mine["contract_value_signed"].value
    assert before["contract_value_signed"].value == 0
    measures = app.wiring[figures.MEASURES]
    assert measures["contract_value_signed"].unit == "money"
    assert all(measures[k].digest for k in ("contracts_submitted", "contracts_approved", "contracts_pending"))


def test_pending_is_as_of_the_periods_end_and_other_currencies_are_named_apart(team, app, clock) -> None:
    team(CONTRACT.format(amount=1000), "/contract submit K1", CONTRACT.format(amount=2000) + " currency=USD",
         "/contract submit K2")
    team(":as mike", "/approve A2", ":as lily", "/approve A2")          # K2 (USD) signed this week
    clock.advance(timedelta(days=7))
    team(":as mike", "/approve A1", ":as lily", "/approve A1")          # K1 signed the week after
    week = Scope(org_id=1, first=date(2026, 11, 23), end_day=date(2026, 11, 30), tz="Asia/Shanghai")
    with app.uow() as uow:
        first = figures.compute(uow, week, ["contracts_pending", "contract_value_signed"])
        later = Scope(org_id=1, first=date(2026, 11, 30), end_day=date(2026, 12, 7), tz="Asia/Shanghai")
        second = figures.compute(uow, later, ["contracts_pending", "contract_value_signed"])
    assert first["contracts_pending"].value == 1                        # K1 was waiting at the end of that week
    assert second["contracts_pending"].value == 0
    signed = first["contract_value_signed"]
    assert signed.value == 0 and signed.params == {"count": 0, "other": 1, "currencies": "USD"}
    assert second["contract_value_signed"].value == Decimal("1000.00")
    assert second["contract_value_signed"].params == {"count": 1}


def test_every_decision_is_audited(team, app) -> None:
    team(CONTRACT.format(amount=800000), "/contract submit K1")
    team(":as mike", "/approve A1", ":as lily", '/reject A1 reason="liability clause"')
    with app.uow() as uow:
        details = [a.detail for a in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "approval").order_by(AuditEntry.id))]
    assert details[0].startswith("submitted round 1 under policy v0: manager=mike > legal=lily > head=hank")
    assert "round 1 step 1 (manager) approve" in details
    assert "round 1 step 2 (legal) reject: liability clause" in details


def test_every_message_about_a_request_is_revised(team, app) -> None:
    team(":as wang", "/policy channel approvals")
    out = team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1")
    assert [line for line in out.splitlines() if "→ #approvals: A1" in line]
    out = team(":as mike", "/approve A1")
    edits = [line for line in out.splitlines() if "✎" in line]
    assert any("✎ @mike:" in e for e in edits) and any("✎ #approvals:" in e for e in edits)
    assert all("Waiting for legal (lily), step 2 of 2" in out.split(e, 1)[1].split("\n", 2)[1] for e in edits)
    with app.uow() as uow:
        pending = uow.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status != "sent"))
    assert pending == 0


def test_the_requesters_notices_keep_what_they_said(team) -> None:
    """Cards with buttons show the request's current state; a notice of a decision is history and is
    not rewritten by later decisions (it once became a copy of the card, losing who decided what)."""
    team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1")
    first = team(":as mike", "/approve A1")
    assert [line for line in _messages_to(first, "alice") if "A1: step 1 (manager) approved by mike." in line]
    out = team(":as lily", "/approve A1")
    assert "✎ @alice:" not in out
    assert [line for line in _messages_to(out, "alice") if "A1: step 2 (legal) approved by lily." in line]
    assert "✎ @mike:" in out  # mike's card now shows the outcome


@pytest.mark.skipif(not PG_URL, reason="concurrency needs PostgreSQL")
def test_fifty_concurrent_approvals_give_one_decision(team, app, db_url) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers; this is the PostgreSQL race")
    team(CONTRACT.format(amount=100000), "/contract submit K1")
    team(":as wang", *[f"/team add m{i} role=manager" for i in range(49)])
    with app.uow() as uow:
        members = list(uow.session.scalars(select(Member).where(Member.roles == "manager")))
        actors = [actor_for(uow, m) for m in members]
    assert len(actors) == 50
    barrier = threading.Barrier(len(actors))
    results: list[str] = []

    def click(actor) -> None:
        barrier.wait()
        with app.uow() as uow:
            try:
                approvals.decide(uow, actor, "A1", "approve", at="1.1")
                results.append("ok")
            except approvals.Conflict as exc:
                results.append("conflict:" + str(exc.params.get("name")))

    threads = [threading.Thread(target=click, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    with app.uow() as uow:
        decisions = list(uow.session.scalars(select(ApprovalDecision)))
        req = uow.session.get(ApprovalRequest, 1)
        assert len(decisions) == 1 and (req.step, req.version) == (1, 3)
        winner = uow.session.get(Member, decisions[0].actor_id).name
    assert results.count(f"conflict:{winner}") == 49


def test_approvals_lists_what_waits_for_me(team) -> None:
    team(CONTRACT.format(amount=800000), "/contract submit K1", '/expense travel amount=100 note=taxi')
    out = team(":as mike", "/approvals")
    assert "Waiting for you (2)" in out and "A1 ·" in out and "A2 ·" in out
    assert "Waiting for you (0)" in team(":as lily", "/approvals")
    assert "Your requests (2)" in team(":as alice", "/approvals mine")
    assert "Approvals waiting for me" in team(":as mike", "/agenda")
    shown = team("/approvals show A1")
    assert "1. manager · mike" in shown and "/approve A1 step=1.1" in shown
    assert "No approval request A1." in team(":as bob", "/approvals show A1")


def test_clock_moves_only_when_told(team, clock) -> None:
    before = clock.now()
    team(CONTRACT.format(amount=1), "/contract submit K1")
    assert clock.now() == before and clock.now() + timedelta(0) == before


def test_bizbot_export_ledger_command(team, db_url, tmp_path) -> None:
    from fakes.cli import run

    team(CONTRACT.format(amount=1000), "/contract submit K1", ":as mike", "/approve A1", ":as lily", "/approve A1")
    out = tmp_path / "ledger.csv"
    result = run(["export", "ledger", "--as", "alice", "--format", "csv", "-o", str(out)],
                 env={"BIZBOT_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "wrote 1 contract(s)" in result.stdout
    assert "K1,2026-11-23,Acme,ERP rollout,1000.00,CNY,2027-12-31,alice" in out.read_text(encoding="utf-8-sig")
    refused = run(["export", "ledger", "--as", "nobody", "-o", str(tmp_path / "x.xlsx")],
                  env={"BIZBOT_DATABASE_URL": db_url})
    assert refused.returncode != 0 and "No member named 'nobody'" in refused.stderr


def test_messages_read_in_the_approvers_language(team) -> None:
    team(":as wang", "/team set mike lang=zh", ":as alice")
    out = team(CONTRACT.format(amount=100000), "/contract submit K1")
    (dm,) = [line for line in out.splitlines() if "→ @mike:" in line]
    assert "合同 K1（Acme）：ERP rollout" in dm and "付款方式：30/70" in dm
    assert "第 1/2 步" in out and "[批准: /批准 A1 步骤=1.1]" in out
    assert "你不能审批自己的申请 A1" in team(":as wang", "/team set alice lang=zh", ":as alice", "/approve A1")


def test_expense_sent_back_is_revised_and_resubmitted(team, app) -> None:
    team('/expense entertainment amount=6000 note="dinner"')
    team(":as mike", "/approve A1", ":as fay", '/changes A1 reason="attach the invoice"')
    assert "Only alice, who drafted A1" in team(":as mike", "/approvals resubmit A1 invoice=INV-9")
    assert "No approval request A1." in team(":as bob", "/approvals resubmit A1 invoice=INV-9")
    assert "submitted again (round 2)" in team(":as alice", "/approvals resubmit A1 invoice=INV-9 amount=4000")
    with app.uow() as uow:
        req = uow.session.get(ApprovalRequest, 1)
        assert (req.state, req.round, req.fields["invoice"], req.amount) == ("pending", 2, "INV-9", Decimal("4000.00"))
        assert [s["role"] for s in req.chain] == ["manager"]  # below the finance threshold now
    assert "is already pending" in team("/approvals resubmit A1 note=x")
    team("/leave from=2026-12-07 to=2026-12-08 reason=family handover=bob")
    team(":as mike", '/reject A2 reason="busy week"')
    out = team(":as alice", "/approvals resubmit A2 from=2026-12-14 to=2026-12-18")
    assert "A2 submitted again (round 2)" in out
    with app.uow() as uow:
        # 5 days now, but alice's supervisor mike is also the manager: he approves once (审批人去重)
        assert [s["role"] for s in uow.session.get(ApprovalRequest, 2).chain] == ["supervisor"]
    team(CONTRACT.format(amount=1), "/contract submit K1")
    assert "revise it with /contract edit" in team("/approvals resubmit A3")


def test_project_initiation_and_cross_department_requests_on_the_same_engine(team, app) -> None:
    team(":as alice", "/customer new Acme")
    out = team('/project name="Acme ERP pilot" budget=30万 start=2026-12-07 reason="signed LOI" customer=Acme')
    assert "Project initiation A1 submitted: Acme ERP pilot, CN¥300,000.00; first mike." in out
    team('/project name="Regional rollout" budget=60万 start=2027-01-04 reason="three sites"')
    out = team('/collab department=engineering what="on-site demo for Acme" due=2026-12-10')
    assert "Cross-department request A3 to engineering submitted; first mike." in out
    assert _chain(app, 1) == ["manager=mike", "finance=fay"]
    assert _chain(app, 2) == ["manager=mike", "finance=fay", "head=hank"]
    assert _chain(app, 3) == ["supervisor=mike", "head=hank"]
    assert "which has passed" in team('/project name=x budget=1000 start=2026-11-01 reason=y')
    assert "has passed" in team('/collab department=x what=y due=2026-11-01')
    explained = team("/policy explain project amount=600000 by=alice")
    assert "3. department head · hank · because amount >= 500000" in explained
    out = team(":as mike", '/changes A3 reason="say which engineer"', ":as alice",
               '/approvals resubmit A3 note="on-site demo for Acme, with Wei"')
    assert "A3 submitted again (round 2)" in out
    out = team(":as mike", "/approve A3", ":as hank", "/approve A3")
    assert "All steps approved" in out
    with app.uow() as uow:
        req = uow.session.get(ApprovalRequest, 3)
        assert req.state == "approved" and req.fields["what"] == "on-site demo for Acme, with Wei"
