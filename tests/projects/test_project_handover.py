"""A member who leaves hands their project work to the successor: open milestones and rectification items, the
projects they manage, the cross-department requests they are the contact of and the departments they answer for;
the successor is told and the reminders follow the work."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from test_projects import TEAM, planned, to

from domain.store.models import CollabCase, Member, Organisation, Project, ProjectItem

COLLAB = '/collab department=engineering what="on-site demo for Acme" due=2026-11-27 goal="customer signs off"'


@pytest.fixture
def team(bot):
    bot(*TEAM, "/team add gina role=general_affairs supervisor=hank",
        "/team add wei role=tech_support supervisor=hank",
        ":as alice", "/customer new Acme")
    return bot


def _id(app, name: str) -> int:
    with app.uow() as uow:
        return uow.session.scalars(select(Member.id).where(Member.name == name)).one()


def test_offboarding_hands_project_work_to_the_successor(team, app) -> None:
    planned(team)                                                          # P1 (A1), its plan approved (A2)
    team(":as gina", "/collab route engineering to=wei", ":as alice", COLLAB, ":as mike", "/approve A3",
         ":as hank", "/approve A3")
    with app.uow() as uow:
        assert uow.session.scalars(select(CollabCase)).one().contact_id == _id(app, "wei")
    team(":as sam", '/project done P1 M1 note="signed"')
    # sam leaves: the milestones still open (M2, M5; M1 is done) go to tom, who is told
    out = team(":as mike", "/team leave sam to=tom")
    assert "Project milestones and rectification items" in out and "P1 M2, P1 M5" in out
    assert any("P1 M2, P1 M5" in m for m in to(out, "tom"))
    with app.uow() as uow:
        owners = dict(uow.session.execute(select(ProjectItem.number, ProjectItem.owner_id)).all())
    assert owners == {1: _id(app, "sam"), 2: _id(app, "tom"), 3: _id(app, "tom"), 4: _id(app, "tom"),
                      5: _id(app, "tom")}
    # pat leaves: the project goes to zoe, who now sees it, manages it and gets its escalations
    out = team(":as mike", "/team leave pat to=zoe")
    assert "Projects managed" in out and "P1" in out
    assert any("Projects managed: P1" in m for m in to(out, "zoe"))
    shown = team(":as zoe", "/project show P1")
    assert "Project manager: zoe" in shown and "handed over" in shown
    with app.uow() as uow:
        p = uow.session.scalars(select(Project)).one()
        assert p.manager_id == _id(app, "zoe") and _id(app, "zoe") not in p.team
    # wei leaves: the cross-department request and the engineering route go to gina
    out = team(":as mike", "/team leave wei to=gina")
    assert "Cross-department requests: A3" in "\n".join(to(out, "gina"))
    assert "Supporting departments answered for" in out and "engineering" in out
    with app.uow() as uow:
        c = uow.session.scalars(select(CollabCase)).one()
        org = uow.session.scalars(select(Organisation)).first()
        assert c.contact_id == _id(app, "gina")
        assert org.settings["collab_contacts"]["engineering"] == _id(app, "gina")
    assert "You accepted A3" in team(":as gina", "/collab take A3")
    # the reminders follow the work: M2 is due on the 27th (tom), late on the 28th (zoe, the project manager)
    out = team(":advance 6d")
    assert any("Due today: M2 Prototype of P1" in m for m in to(out, "tom"))
    assert any("Late: M2 Prototype of P1" in m for m in to(out, "zoe"))
    assert not to(out, "sam") and not to(out, "pat") and not to(out, "wei")
    # nothing open: nothing handed over
    out = team(":as mike", "/team leave fay to=hank")
    assert "Projects managed" not in out and "Project milestones" not in out
