"""Segregation of duties on the approval engine: whoever decided a step of a round decides no later step of it,
is not sent one and is not escalated one; the step goes to another holder of its role, or — with nobody else —
is passed as decided at that person's earlier step, as the plan passes a repeated approver."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.store.models import ApprovalDecision, ApprovalRequest, Contract, Member

TEAM = (
    "/team add hank role=head",
    "/team add mike role=manager supervisor=hank",
    "/team add lily role=legal supervisor=mike",
    "/team add alice role=sales supervisor=mike",
    "/settings contractterms optional",  # these contracts go to approval without structured payment terms
)
CONTRACT = '/contract new Acme title="ERP rollout" amount={amount} delivery=2027-01-15 term=2027-12-31'


@pytest.fixture
def team(bot):
    bot(*TEAM, ":as alice", "/customer new Acme")
    return bot


def _to(out: str, name: str) -> list[str]:
    return [line for line in out.splitlines() if f"→ @{name}:" in line]


def _chain(app, rid: int = 1) -> list[tuple[str, str, dict]]:
    with app.uow() as uow:
        req = uow.session.get(ApprovalRequest, rid)
        return [(s["role"], uow.session.get(Member, s["approver_id"]).name, s) for s in req.chain]


def _deciders(app) -> list[tuple[int, str, str]]:
    with app.uow() as uow:
        return [(d.step, uow.session.get(Member, d.actor_id).name, d.outcome) for d in uow.session.scalars(
            select(ApprovalDecision).order_by(ApprovalDecision.id))]


def test_whoever_decided_a_step_cannot_decide_the_next_as_a_holder_of_its_role(team, app) -> None:
    """dora holds manager and legal: she decides the manager step as a manager, and may not then decide the legal
    step, nor does it wait for her; lily, whose step it is, decides it."""
    team(":as wang", "/team add dora role=manager,legal supervisor=hank", "/policy set contract manager, legal")
    out = team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1")
    assert _to(out, "mike") and not _to(out, "dora")
    out = team(":as dora", "/approve A1")
    assert _to(out, "lily") and not _to(out, "dora")
    refused = team("/approve A1")
    assert ("You decided an earlier step of A1, and whoever decides one step does not decide another of the same "
            "round: step 2 is for legal (lily).") in refused
    assert "A1" not in team("/approvals")                              # nothing waits for her
    assert "approved" in team(":as lily", "/approve A1")
    assert _deciders(app) == [(0, "dora", "approve"), (1, "lily", "approve")]
    with app.uow() as uow:
        assert uow.session.get(Contract, 1).state == "signed"


def test_a_step_whose_approver_decided_the_one_before_goes_to_another_holder_of_its_role(team, app) -> None:
    """lily also manages: deciding the manager step for mike, she is the legal step's approver too; that step goes
    to the other legal member, not back to her."""
    team(":as wang", "/team set lily role=legal,manager", "/team add leo role=legal",
         "/policy set contract manager, legal")
    team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1")
    assert [(r, n) for r, n, _s in _chain(app)] == [("manager", "mike"), ("legal", "lily")]
    out = team(":as lily", "/approve A1")                               # a manager may decide the manager step
    assert _to(out, "leo") and not _to(out, "lily")
    assert [(r, n) for r, n, _s in _chain(app)] == [("manager", "mike"), ("legal", "leo")]
    shown = team(":as alice", "/approvals show A1")
    assert "2. legal · leo (instead of lily, who decided an earlier step)" in shown
    assert "You decided an earlier step" in team(":as lily", "/approve A1")
    assert "approved" in team(":as leo", "/approve A1")


def test_with_nobody_else_the_step_is_passed_and_the_contract_is_signed(team, app) -> None:
    """hank decides the manager step when it is escalated to him; the head step (800,000 ≥ 500,000) would be his
    again: with no other head it is passed, so hank decides once and is not asked twice."""
    team(":as wang", "/policy timing nudge=24 escalate=48h")
    team(":as alice", CONTRACT.format(amount=800000), "/contract submit K1")
    out = team(":advance 49h")
    assert [m for m in _to(out, "hank") if "Escalated to you: A1" in m]
    assert "Decided on behalf of mike" in team(":as hank", "/approve A1")
    out = team(":as lily", "/approve A1")
    assert not [m for m in _to(out, "hank") if "A1 ·" in m]             # no card for hank's second step
    shown = team(":as alice", "/approvals show A1")
    assert "3. department head · hank (passed: already decided at an earlier step)" in shown
    assert _deciders(app) == [(0, "hank", "approve"), (1, "lily", "approve")]
    with app.uow() as uow:
        assert uow.session.get(Contract, 1).state == "signed"
        assert uow.session.get(ApprovalRequest, 1).state == "approved"


def test_with_a_second_head_the_head_step_goes_to_them(team, app) -> None:
    team(":as wang", "/team add hu role=head", "/policy timing nudge=24 escalate=48h")
    team(":as alice", CONTRACT.format(amount=800000), "/contract submit K1", ":advance 49h", ":as hank", "/approve A1")
    out = team(":as lily", "/approve A1")
    assert _to(out, "hu") and not [m for m in _to(out, "hank") if "A1 ·" in m]
    assert "approved" in team(":as hu", "/approve A1")
    assert _deciders(app) == [(0, "hank", "approve"), (1, "lily", "approve"), (2, "hu", "approve")]


def test_an_idle_step_is_not_escalated_to_whoever_decided_the_one_before(team, app) -> None:
    """lily reports to mike, who decided the manager step: her idle legal step escalates past him, to hank."""
    team(":as wang", "/policy timing nudge=24 escalate=48h", "/policy set contract manager, legal")
    team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1", ":as mike", "/approve A1")
    out = team(":advance 49h")
    assert [m for m in _to(out, "hank") if "Escalated to you: A1 has waited for lily (legal)" in m]
    assert not [m for m in _to(out, "mike") if "Escalated" in m]
    assert "You decided an earlier step of A1" in team(":as mike", "/approve A1")
    assert "Decided on behalf of lily" in team(":as hank", "/approve A1")


def test_a_new_round_starts_clean(team, app) -> None:
    """Sent back and resubmitted, the chain starts again: who decided in the last round decides again."""
    team(":as wang", "/policy set contract manager, legal")
    team(":as alice", CONTRACT.format(amount=100000), "/contract submit K1", ":as mike", "/approve A1",
         ":as lily", '/changes A1 reason="payment terms"', ":as alice", '/contract edit K1 payment="50/50"',
         "/contract submit K1")
    assert "Next: lily" in team(":as mike", "/approve A1")
    assert "approved" in team(":as lily", "/approve A1")
