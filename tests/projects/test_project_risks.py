"""Projects in the risk list and the register: a project's own risk level shows among the customers', leads' and
contracts'; a registered risk attached to a project names it, is seen by its manager's line, and must name a
project that exists and that the registering member may see."""
from __future__ import annotations

from sqlalchemy import select
from test_projects import initiated, team  # noqa: F401 - the fixture

from domain.store.models import Member, RiskEntry

NEW = '/risk new {ref} what="key engineer may leave" category=project likelihood=4 impact=4 response=reduce'


def test_a_project_risk_shows_in_the_risk_list(team, app) -> None:  # noqa: F811
    initiated(team)                                                            # P1 managed by pat, team sam, tom
    team(":as alice", "/customer set Acme risk=medium reason=\"slow to pay\"")
    assert "P1" not in team(":as pat", "/risk list")
    team(":as pat", '/project risk P1 high reason="key engineer leaving"')
    out = team(":as mike", "/risk list")
    assert "🔴 P1 · project · Acme ERP pilot · high (red) · pat · key engineer leaving" in out
    assert out.index("P1") < out.index("C1")                                  # the reddest first
    assert "/project show P1" in out
    assert "P1" in team(":as sam", "/risk list") and "Acme ERP pilot" in team(":as pat", "/risk list high")
    assert "P1" not in team(":as zoe", "/risk list")                           # not hers to see
    team(":as pat", "/project risk P1 low")
    assert "P1" not in team(":as mike", "/risk list")


def test_a_registered_risk_on_a_project_checks_it_and_names_it(team, app) -> None:  # noqa: F811
    initiated(team)
    assert "No project P9." in team(":as pat", NEW.format(ref="P9"))
    assert "No project P1." in team(":as zoe", NEW.format(ref="P1"))          # not hers to see: not found
    with app.uow() as uow:
        assert uow.session.scalar(select(RiskEntry.id)) is None
    out = team(":as sam", NEW.format(ref="p1"))
    assert "Risk RK1 registered on P1" in out
    with app.uow() as uow:
        entry = uow.session.scalars(select(RiskEntry)).one()
        pat = uow.session.scalars(select(Member.id).where(Member.name == "pat")).one()
        assert (entry.record, entry.record_owner_id) == ("P1", pat)
    for who in ("sam", "pat", "mike"):                                        # sam's, the manager's line, managers
        assert "P1 Acme ERP pilot · key engineer may leave" in team(f":as {who}", "/risk list"), who
    assert "Attached to: P1 Acme ERP pilot" in team(":as pat", "/risk show RK1")
    assert "RK1" not in team(":as zoe", "/risk list")
    # another kind of reference is still kept as written
    assert "registered on PRJ-7" in team(":as pat", NEW.format(ref="PRJ-7"))
