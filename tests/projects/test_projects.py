"""Projects on the console: 立项 → project, plan review and a change, the milestone ladder on the injected clock,
progress with deviations, a failed then passed acceptance into the archive, access, and bad input refused."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.store.models import AuditEntry, Project, ProjectEvent, ProjectItem

TEAM = (
    "/team add hank role=head",
    "/team add mike role=manager supervisor=hank",
    "/team add fay role=finance supervisor=hank",
    "/team add pat role=project_manager supervisor=mike",
    "/team add sam role=project_staff supervisor=pat",
    "/team add tom role=project_staff supervisor=pat",
    "/team add alice role=sales supervisor=mike",
    "/team add zoe role=sales supervisor=hank",
)
INITIATE = ('/project name="Acme ERP pilot" budget=20万 start=2026-11-30 reason="signed LOI" customer=Acme '
            'manager=pat team=sam,tom')
PLAN = (
    '/project plan P1 "Requirements signed off" owner=sam due=2026-11-25 deliverable="requirements document"',
    '/project plan P1 "Prototype" owner=sam due=2026-11-27 deliverable="prototype"',
    '/project plan P1 "Interfaces" owner=tom due=2026-12-02 deliverable="interface specification"',
    '/project plan P1 "Data migration" owner=tom due=2026-12-04 deliverable="migration report"',
    '/project plan P1 "Training" owner=sam due=2026-12-09 deliverable="training material"',
)


def to(out: str, name: str) -> list[str]:
    """The messages bizbot sent to a member in the output (merged notices as one message)."""
    messages: list[str] = []
    current: list[str] | None = None
    for line in out.splitlines():
        if line.startswith("[20"):
            current = [line] if f"→ @{name}:" in line else None
            if current is not None:
                messages.append("")
        if current is not None and messages:
            messages[-1] += line + "\n"
    return messages


@pytest.fixture
def team(bot):
    bot(*TEAM, ":as alice", "/customer new Acme")
    return bot


def initiated(team) -> None:
    team(":as alice", INITIATE, ":as mike", "/approve A1", ":as fay", "/approve A1")


def planned(team) -> None:
    initiated(team)
    team(":as pat", *PLAN, "/project plan P1 submit", ":as mike", "/approve A2")


def test_an_approved_initiation_becomes_a_project_announced_to_its_team(team, app) -> None:
    out = team(":as alice", INITIATE)
    assert "Project initiation A1 submitted" in out
    out = team(":as mike", "/approve A1")
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(Project.id))) == 0  # not before the last step
    out = team(":as fay", "/approve A1")
    with app.uow() as uow:
        p = uow.session.scalars(select(Project)).one()
        assert (p.number, p.name, p.budget, p.start, p.state, p.plan_state) == (
            1, "Acme ERP pilot", Decimal("200000.00"), date(2026, 11, 30), "active", "draft")
    for name in ("pat", "sam", "tom"):
        assert any("Project set up (立项通知): P1 Acme ERP pilot" in line for line in to(out, name)), name
    shown = team(":as sam", "/project show P1")
    assert "Project manager: pat" in shown and "Team: sam, tom" in shown and "Customer: Acme" in shown
    assert "initiated" in shown
    # a project manager must hold the role; a rejected initiation makes no project
    assert "is not a project manager" in team(":as alice", INITIATE.replace("manager=pat", "manager=sam"))
    team(":as alice", INITIATE.replace("Acme ERP pilot", "Second"), ":as mike", '/reject A2 reason="no"')
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(Project.id))) == 1


def test_plan_review_baseline_and_a_change_request(team, app) -> None:
    initiated(team)
    out = team(":as pat", *PLAN)
    assert "M5 added to the plan of P1" in out
    assert "Only the project manager of P1" in team(":as sam", '/project plan P1 "x" owner=sam due=2026-12-01')
    out = team(":as pat", "/project plan P1 submit")
    assert "The plan of P1 is sent for review as A2; first mike." in out
    assert "plan of P1 is plan in review" in team('/project plan P1 "x" owner=sam due=2026-12-01').replace(
        "The plan", "plan")
    out = team(":as mike", '/changes A2 reason="add a training milestone owner"')
    with app.uow() as uow:
        assert uow.session.scalars(select(Project)).one().plan_state == "changes"
    out = team(":as pat", "/project plan P1 submit", ":as mike", "/approve A3")
    assert any("The plan of P1 (Acme ERP pilot) is approved. Yours: M1" in line for line in to(out, "sam"))
    with app.uow() as uow:
        assert uow.session.scalars(select(Project)).one().plan_state == "approved"
        m3 = uow.session.scalar(select(ProjectItem).where(ProjectItem.number == 3))
        assert m3.baseline_due == date(2026, 12, 2)
    assert "only an approved plan" not in team(":as pat", '/project plan P1 "late add" owner=sam due=2026-12-10')
    assert "change it with /project change" in team('/project plan P1 "late add" owner=sam due=2026-12-10')
    out = team('/project change P1 item=M3 due=2026-12-07 reason="customer late" content="M3 moves" '
               'impact="none on the budget"')
    assert "Change request A4 for the plan of P1 submitted; first mike." in out
    assert "already has a change request in approval (A4)" in team(
        '/project change P1 item=M4 due=2026-12-08 reason="x" content="y"')
    out = team(":as mike", "/approvals show A4")
    assert "Change to the plan of project P1 (Acme ERP pilot) by pat: M3 moves. Reason: customer late." in out
    out = team("/approve A4")
    assert any("The plan of P1 changed (A4): M3 Interfaces" in line for line in to(out, "tom"))
    with app.uow() as uow:
        m3 = uow.session.scalar(select(ProjectItem).where(ProjectItem.number == 3))
        assert (m3.due, m3.baseline_due, m3.rev) == (date(2026, 12, 7), date(2026, 12, 7), 2)
    # a change that adds a milestone
    team(":as pat", '/project change P1 title="Go-live" owner=tom due=2026-12-15 reason="asked" content="go-live"',
         ":as mike", "/approve A5")
    shown = team(":as pat", "/project show P1")
    assert "M6 · Go-live · tom" in shown and "plan changed · A4 · M3" in shown


def test_milestone_reminder_and_escalation_ladder(team, app, clock) -> None:
    planned(team)
    out = team(":advance 2d")                                         # Wednesday 25th, 09:00: M1 due today
    assert any("Due today: M1 Requirements signed off of P1" in line for line in to(out, "sam"))
    team(":as sam", '/project done P1 M1 note="signed by the customer" file="archive/P1/M1.pdf"')
    out = team(":advance 3d")                                         # Saturday 28th: M2 was due Friday
    assert any("Late: M2 Prototype of P1" in line for line in to(out, "pat"))
    assert not to(out, "mike")
    out += team(":advance 2d")                                        # Monday 30th: the department manager
    assert any("escalated to pat" in line for line in to(out, "sam"))  # not urgent: a working morning
    assert any("Still late: M2 Prototype of P1" in line for line in to(out, "mike"))
    team(":as sam", "/project done P1 M2")
    out = team(":advance 10d")
    assert not [line for line in to(out, "mike") if "M2" in line]     # done: the ladder stopped
    with app.uow() as uow:
        m2 = uow.session.scalar(select(ProjectItem).where(ProjectItem.number == 2))
        assert m2.late and m2.state == "done"
        assert uow.session.scalar(select(func.count(ProjectEvent.id)).where(ProjectEvent.kind == "late")) >= 1


def test_progress_summary_shows_deviations_against_the_baseline(team, app) -> None:
    planned(team)
    team(":as sam", '/project done P1 M1 note="ok" file="archive/M1"')
    team(":advance 3d")                                               # Thursday 26th: the team is asked
    team(":as sam", '/project update P1 note="prototype half done"', ":as tom", '/project update P1 note="specs"')
    out = team(":as pat", "/project cost P1 amount=15万 note=licences", "/project cost P1 amount=6万 note=servers")
    assert "Over the budget." in out
    assert any("Over budget: P1 (Acme ERP pilot) has spent" in line for line in to(out, "mike"))
    out = team(":advance 2d")                                         # Friday's summary to the project manager
    summary = [m for m in to(out, "pat") if "Weekly progress of P1" in m]
    assert summary and "over the budget by CN¥10,000.00" in summary[0] and "prototype half done" in summary[0]
    out = team("/project progress P1")                                # Saturday: M2 (due Friday) is late
    assert "Milestones done: 1/5" in out
    assert "M2 Prototype: 1 days behind the baseline" in out
    assert "over the budget by CN¥10,000.00" in out
    assert "prototype half done" in out and "specs" in out


def test_failed_acceptance_rectification_then_passed_and_archive(team, app) -> None:
    planned(team)
    assert "still has open items: M1, M2, M3, M4, M5" in team(":as alice", "/project accept P1 passed")
    for n in range(1, 6):
        team(":as pat", f'/project done P1 M{n} note="delivered" file="archive/M{n}"')
    assert "says what to rectify" in team(":as alice", "/project accept P1 failed")
    assert "recorded by alice" in team(":as pat", "/project accept P1 passed")
    out = team(":as alice", '/project accept P1 failed note="report incomplete" owner=sam due=2026-12-01')
    assert "Acceptance 1 of P1 failed: rectification R1 to sam by" in out
    assert any("rectify R1 report incomplete" in line for line in to(out, "sam"))
    assert "still has open items: R1" in team("/project accept P1 passed")
    team(":as sam", '/project done P1 R1 note="report completed"')
    out = team(":as alice", '/project accept 不合格'.replace("不合格", "P1 passed") + ' note="all accepted"')
    assert "P1 passed its acceptance and is closed" in out
    assert any("P1 (Acme ERP pilot) passed its acceptance and is closed" in line for line in to(out, "pat"))
    with app.uow() as uow:
        p = uow.session.scalars(select(Project)).one()
        assert (p.state, p.accept_round, p.passed_first) == ("closed", 2, False)
    shown = team(":as pat", "/project show P1")
    for part in ("Initiation: A1", "plan submitted · A2", "plan approved · A2", "milestone done · M1",
                 "acceptance · failed", "rectification · R1", "acceptance · passed", "closed and archived"):
        assert part in shown, part
    assert "is closed and archived" in team('/project cost P1 amount=1 note=x')
    out = team(":as mike", "/export projectfile csv")
    assert "project files" in out.lower() or "P1" in out


def test_access_by_role_and_bad_input_refused(team, app) -> None:
    planned(team)
    assert "No project P1." in team(":as zoe", "/project show P1")          # outside the lines
    assert "Acme ERP pilot" in team(":as hank", "/project show P1")          # the department
    assert "Acme ERP pilot" in team(":as mike", "/project show P1")          # pat's supervisor
    assert "Acme ERP pilot" in team(":as alice", "/project show P1")         # the requester
    assert "P1" not in team(":as zoe", "/project list all").split("Projects:")[-1]
    with app.uow() as uow:
        before = uow.session.scalar(select(func.count(ProjectEvent.id)))
    for line in ("/project done P1 M9", "/project done P9 M1", "/project cost P1 amount=-5 note=x",
                 "/project cost P1 amount=abc note=x", '/project accept P1 maybe', "/project update P1 note=\"\"",
                 '/project plan P1 "x" owner=nobody due=2026-12-01', "/project done P1 M1' OR 1=1"):
        out = team(":as pat", line)
        assert "Traceback" not in out and out.strip(), line
    assert "Only sam, who owns M1" in team(":as tom", "/project done P1 M1")
    assert "No project P1." in team(":as zoe", "/project update P1 note=x")
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(ProjectEvent.id))) == before
        audited = {e.entity for e in uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "denied"))}
        assert audited  # refusals are audited


def test_chinese_command_words(team, app) -> None:
    initiated(team)
    out = team(":as pat", '/项目 计划 P1 "需求确认" 负责人=sam 截止=2026-12-10 交付成果="需求规格说明书"',
               "/项目 计划 P1 提交", ":as mike", "/批准 A2")
    assert "M1 added to the plan of P1" in out
    team(":as sam", '/项目 完成 P1 M1 备注="客户已签字" 归档="档案/M1"', '/项目 进展 P1 备注="顺利"')
    assert "Milestones done: 1/1" in team("/项目 进度 P1")
    out = team(":as alice", '/项目 验收 P1 不合格 备注="缺报告" 负责人=sam 截止=2026-12-20')
    assert "rectification R1 to sam" in out
    assert "P1 · Acme ERP pilot" in team(":as pat", "/立项 列表 我的")


def test_a_returned_plan_is_resubmitted_with_approvals_resubmit(team, app) -> None:
    initiated(team)
    team(":as pat", *PLAN[:2], "/project plan P1 submit", ":as mike", '/changes A2 reason="add the interfaces"')
    assert "is not returned" not in team(":as pat", *PLAN[2:3])                        # revised meanwhile
    assert "No approval request A2." in team(":as zoe", "/approvals resubmit A2")      # not hers to see
    assert "Only pat, who submitted A2" in team(":as mike", "/approvals resubmit A2")
    out = team(":as pat", "/approvals resubmit A2")
    assert "A2 submitted again (round 2); first mike." in out and "contract" not in out
    with app.uow() as uow:
        p = uow.session.scalars(select(Project)).one()
        assert (p.plan_state, p.plan_request_id) == ("pending", 2)
    assert "3 milestones" in team(":as mike", "/approvals show A2")
    assert "plan of P1 is plan in review" in team(":as pat", "/approvals resubmit A2")  # in review: not twice
    team(":as mike", '/reject A2 reason="not now"', ":as pat", "/project plan P1 submit")   # a new request, A3
    assert "no longer the plan of P1" in team(":as pat", "/approvals resubmit A2")
    out = team(":as mike", "/approve A3")
    with app.uow() as uow:
        assert uow.session.scalars(select(Project)).one().plan_state == "approved"
    # a change request sent back goes again as it was
    team(":as pat", '/project change P1 item=M3 due=2026-12-07 reason="customer late" content="M3 moves"',
         ":as mike", '/changes A4 reason="say the impact"')
    out = team(":as pat", "/approvals resubmit A4", ":as mike", "/approve A4")
    assert "A4 submitted again (round 2)" in out
    with app.uow() as uow:
        assert uow.session.scalar(select(ProjectItem).where(ProjectItem.number == 3)).due == date(2026, 12, 7)
