"""Segregation of duties in appraisals: whoever scored a review neither approves it nor rules on its appeal, and is
not asked to; managers' and deputies' own reviews exist (the management template) and go to the department head;
a review nobody else could approve is refused at its first score, with what to change."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.store.models import AuditEntry, Member, Review


def _dms(out: str, who: str) -> list[str]:
    return [line for line in out.splitlines() if f"→ @{who}:" in line]


def _review(app, name: str) -> Review:
    with app.uow() as uow:
        member = uow.session.scalar(select(Member).where(Member.name == name))
        return uow.session.scalar(select(Review).where(Review.member_id == member.id))


def _self(bot, who: str, indicators: int) -> None:
    bot(f":as {who}", *[f"/review self {n} 80" for n in range(1, indicators + 1)], "/review submit")


def _score(bot, scorer: str, who: str, indicators: int, score: int = 70) -> str:
    return bot(f":as {scorer}", *[f"/review score {who} {n} {score}" for n in range(1, indicators + 1)],
               f"/review send {who}")


@pytest.fixture
def dept(bot):
    """ge and hank are department heads; wang (admin, manager) reports to ge; liu and dai are deputies under wang;
    carol (sales) reports to wang, bob (sales) to liu. The November window opens on Monday 30 November."""
    bot("/team add ge role=部门负责人", "/team add hank role=head", "/team set wang supervisor=ge",
        "/team add liu role=副经理 supervisor=wang", "/team add dai role=deputy supervisor=wang",
        "/team add carol role=业务员 supervisor=wang", "/team add bob role=sales supervisor=liu",
        ":as bob", "/customer new Acme", "/lead new Acme value=10万", ":as wang", ":advance 7d")
    return bot


def test_whoever_scored_a_review_neither_approves_it_nor_rules_on_its_appeal(dept, app) -> None:
    _self(dept, "carol", 5)
    out = _score(dept, "wang", "carol", 5)
    asked = {name for name in ("liu", "dai", "ge", "hank", "wang") if [m for m in _dms(out, name) if "Approve it" in m]}
    assert asked == {"liu", "dai", "ge", "hank"}                        # everyone who may approve but the scorer
    refused = dept("/review approve carol")
    assert ("You scored carol's review, and whoever scores a review cannot also approve it or rule on its appeal: "
            "that is for ge, hank, liu, or dai.") in refused
    assert "You scored carol's review" in dept('/review return carol reason="x"')
    assert _review(app, "carol").status == "approval"
    assert "approved by liu" in dept(":as liu", "/review approve carol")
    out = dept(":as carol", '/review appeal reason="the quarter was hard"')
    assert not _dms(out, "wang") and _dms(out, "liu") and _dms(out, "hank")
    assert "You scored carol's review" in dept(":as wang", "/review rule carol dismissed")
    assert "dismissed" in "\n".join(_dms(dept(":as hank", "/review rule carol dismissed"), "carol"))
    with app.uow() as uow:
        refusals = list(uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "denied")))
    assert "/review approve carol" in refusals and "/review rule carol dismissed" in refusals


def test_managers_and_deputies_are_appraised_on_their_lines_results_and_approved_by_the_head(dept, app) -> None:
    wang, liu = _review(app, "wang"), _review(app, "liu")
    for review in (wang, liu):
        assert review.template == "management"
        assert [(i["key"], i["weight"]) for i in review.items] == [
            ("department_results", 40), ("team_management", 20), ("customer_satisfaction", 20),
            ("market_development", 20)]
    assert _review(app, "ge") is None and _review(app, "hank") is None    # the heads appraise; they are not
    shown = dept(":as liu", "/review show")
    assert "department results (contracts signed by the team) (40%)" in shown
    assert "4. market development (20%) · New customers: 1" in shown    # bob's customer: liu's line
    assert "New leads: 1" in dept(":as wang", "/kpi")                     # and wang's, above liu

    _self(dept, "liu", 4)
    out = _score(dept, "wang", "liu", 4)
    assert {n for n in ("ge", "hank", "dai", "wang") if _dms(out, n)} == {"ge", "hank"}  # the heads only
    assert "liu's 2026-11 review is for ge or hank to decide." in dept(":as dai", "/review approve liu")
    assert "approved by hank" in dept(":as hank", "/review approve liu")

    _self(dept, "wang", 4)
    assert "Only wang's supervisor or a department head may score their review." in dept(
        ":as liu", "/review score wang 1 80")
    out = _score(dept, "ge", "wang", 4, score=85)                          # wang's supervisor, a head
    assert _dms(out, "hank") and not [m for m in _dms(out, "ge") if "Approve it" in m]
    assert "You scored wang's review" in dept(":as ge", "/review approve wang")
    assert "approved by hank" in dept(":as hank", "/review approve wang")
    assert _review(app, "wang").status == "final"


def test_a_review_nobody_else_could_approve_is_refused_at_the_first_score(bot, app) -> None:
    """wang manages carol alone: if he scores her review, nobody else may approve it."""
    bot("/team add carol role=sales supervisor=wang", ":advance 7d")
    _self(bot, "carol", 5)
    out = bot(":as wang", "/review score carol 1 70")
    assert ("Whoever scores carol's review cannot also approve it, and nobody else may approve it if you score it. "
            "Let carol's supervisor score it, or give another member the role that approves it "
            "(/team set NAME role=head).") in out
    assert _review(app, "carol").items[0].get("score") is None
    bot("/team add zhou role=head")
    assert "Score 70 recorded" in bot("/review score carol 1 70")


def test_without_a_head_the_scorers_own_supervisor_approves(bot, app) -> None:
    """No department head: the deputy's review, scored by wang, goes to wang's own supervisor, the company's
    分管领导 (a member with no managing role)."""
    bot("/team add 老周 role=综合管理", "/team set wang supervisor=老周", "/team add liu role=deputy supervisor=wang",
        ":advance 7d")
    _self(bot, "liu", 4)
    out = _score(bot, "wang", "liu", 4)
    assert _dms(out, "老周") and not [m for m in _dms(out, "wang") if "Approve it" in m]
    assert "approved by 老周" in bot(":as 老周", "/review approve liu")


def test_review_refusals_in_chinese(dept) -> None:
    _self(dept, "carol", 5)
    _score(dept, "wang", "carol", 5)
    out = dept("/settings lang zh", "/review approve carol")
    assert "你为carol的考核评了分，评分人不能同时审核该考核或裁决其申诉：此事应由ge、hank、liu或dai处理。" in out
