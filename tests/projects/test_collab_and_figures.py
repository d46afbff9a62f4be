"""Cross-department requests carried on after approval; the project figures against hand counts; the approval
engine's decision listeners; the names parser."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from test_projects import TEAM, planned, to

from domain.approvals.engine import DECISION_LISTENERS, DecisionListener
from domain.kernel.errors import Invalid
from domain.reporting.figures import Scope, compute
from domain.store.models import CollabCase, Member
from handlers.args import parse_names

COLLAB = '/collab department=engineering what="on-site demo for Acme" due=2026-11-27 goal="customer signs off"'


@pytest.fixture
def team(bot):
    bot(*TEAM, "/team add gina role=general_affairs supervisor=hank",
        "/team add wei role=tech_support supervisor=hank",
        ":as alice", "/customer new Acme")
    return bot


def test_collab_routed_answered_late_rectified_and_accepted(team, app) -> None:
    assert "Only an admin, a manager or general administration" in team(":as alice",
                                                                         "/collab route engineering to=wei")
    out = team(":as alice", COLLAB, ":as mike", "/approve A1", ":as hank", "/approve A1")
    assert any("has no contact" in m and "/collab assign A1" in m for m in to(out, "gina"))   # the router
    assert "Expected goal: customer signs off" in team(":as mike", "/approvals show A1")
    out = team(":as gina", "/collab route engineering to=wei", "/collab assign A1 to=wei")
    assert "Requests to engineering now go to wei." in out and "A1 is assigned to wei." in out
    assert any("Cross-department request A1 from alice for engineering" in m for m in to(out, "wei"))
    assert "A1 is for wei" in team(":as alice", '/collab reply A1 result="x"')
    out = team(":as wei", "/collab take A1", '/collab ask A1 question="which site?"')
    assert any("wei accepted your cross-department request A1" in m for m in to(out, "alice"))
    assert any("which site?" in m for m in to(out, "alice"))
    team(":as alice", '/collab ask A1 question="Shanghai"')
    out = team(":advance 3d")                                  # Thursday 26th: reminded; Saturday 28th: late
    out += team(":advance 4d")                                 # Monday 30th
    assert any("Reminder: the result of cross-department request A1" in m for m in to(out, "wei"))
    assert any("Late: cross-department request A1" in m for m in to(out, "hank"))      # wei's supervisor
    out = team(":as wei", '/collab reply A1 result="demo held"')
    assert "It came after the due date" in out
    assert any("reported the result" in m for m in to(out, "alice"))
    out = team(":as alice", '/collab rectify A1 reason="no test data" due=2026-12-04')
    assert "A1 goes back to wei for rectification" in out
    assert "is sent back for rectification" in team(":as alice", "/collab accept A1")
    team(":as wei", "/collab take A1", '/collab reply A1 result="demo held, test data attached"')
    assert "result accepted" in team(":as alice", "/collab accept A1")
    shown = team("/collab show A1")
    for part in ("Expected goal: customer signs off", "Late: yes", "rectification asked", "result accepted"):
        assert part in shown, part
    assert "No approved cross-department request A1." in team(":as zoe", "/collab show A1")
    with app.uow() as uow:
        c = uow.session.scalars(select(CollabCase)).one()
        assert (c.state, c.round, c.late) == ("accepted", 2, True)


def test_a_contact_set_beforehand_gets_the_request_directly(team, app) -> None:
    team(":as gina", "/collab route Engineering to=wei")
    out = team(":as alice", COLLAB, ":as mike", "/approve A1", ":as hank", "/approve A1")
    assert any("Cross-department request A1 from alice" in m for m in to(out, "wei"))
    assert "routing" not in out


def test_project_figures_against_hand_counts(team, app) -> None:
    planned(team)                                   # five milestones due 25th, 27th, 2nd, 4th, 9th
    team(":as sam", '/project done P1 M1 file="archive/M1"')           # on time, filed
    team(":advance 5d")                                                # Saturday 28th: M2 late
    team(":as sam", "/project done P1 M2")                             # late, not filed
    team(":as tom", '/project done P1 M3 file="archive/M3"')           # early, filed
    team(":as tom", '/project done P1 M4 file="archive/M4"', ":as sam", "/project done P1 M5")  # early; M5 unfiled
    team(":as pat", "/project cost P1 amount=5万 note=licences")
    team(":as alice", '/project accept P1 failed note="gaps" owner=sam due=2026-12-01')
    with app.uow() as uow:
        pat = uow.session.scalar(select(Member).where(Member.name == "pat"))
        from datetime import date
        scope = Scope(pat.org_id, date(2026, 11, 1), date(2026, 12, 1), "Asia/Shanghai", frozenset({pat.id}))
        figures = compute(uow, scope, ["project_schedule", "project_quality", "project_cost",
                                       "project_documentation", "active_projects", "late_milestones"])
    # milestones due in November: M1 (done on time) and M2 (late): 1 of 2
    assert figures["project_schedule"].value == 0.5
    # first acceptance failed: 0 of 1
    assert figures["project_quality"].value == 0.0
    # spent 50,000 of 200,000
    assert figures["project_cost"].value == 0.25
    # done in November: M1, M3, M4 filed; M2, M5 not: 3 of 5
    assert figures["project_documentation"].value == 0.6
    assert figures["active_projects"].value == 1 and figures["late_milestones"].value == 1
    out = team(":as pat", "/kpi pat 2026-11")
    assert "Schedule completion rate: 50%" in out and "Deliverables filed: 60%" in out
    assert "Cost against budget: 25%" in out


def test_decision_listeners_hear_final_decisions_of_their_type_only(app) -> None:
    from domain.kernel.wiring import Wiring

    wiring = Wiring()
    heard: list[str] = []
    wiring[DECISION_LISTENERS].add(DecisionListener("x", "leave", lambda uow, a, r, s: heard.append(s)))
    with pytest.raises(ValueError):
        wiring[DECISION_LISTENERS].add(DecisionListener("x", "leave", lambda uow, a, r, s: None))
    assert list(app.uow().wiring[DECISION_LISTENERS]) == ["projects", "collab"]


@pytest.mark.fast
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
                min_size=1, max_size=40))
def test_names_parser_reads_any_list_or_refuses_it(names: list[str]) -> None:
    text = ",".join(names)
    try:
        parsed = parse_names(text)
    except Invalid:
        return
    assert parsed and len(parsed) <= 30 and len(set(parsed)) == len(parsed)
    assert all(n.strip() == n and n for n in parsed)


@pytest.mark.fast
def test_names_parser_separators() -> None:
    assert parse_names("alice, bob、carol；dan  eve") == ["alice", "bob", "carol", "dan", "eve"]
    assert parse_names("a,a,b") == ["a", "b"]
    with pytest.raises(Invalid):
        parse_names(" , ，")
    with pytest.raises(Invalid):
        parse_names(",".join(f"m{i}" for i in range(31)))
