"""Targets, forecast and funnel against hand-computed examples; satisfaction and service figures; grades in the
export; bad input refused with nothing changed; the parsers on any input."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from domain.kernel.errors import Invalid
from domain.reporting.figures import Scope, compute
from domain.store.models import Callback, Contract, Customer, Lead, Member, StageChange, Target
from domain.store.numbers import next_number
from domain.targets import forecast as fc
from domain.targets import targets
from domain.team.members import actor_for

TEAM = ("/team add sup role=sales", "/team add alice role=sales supervisor=sup",
        "/team add bob role=sales supervisor=sup")


def _member(uow, name: str) -> Member:
    return uow.session.scalar(select(Member).where(Member.name == name))


def _sign(app, owner: str, customer: str, amount: int, on: datetime) -> None:
    with app.uow() as uow:
        m = _member(uow, owner)
        c = uow.session.scalar(select(Customer).where(Customer.name == customer))
        uow.add(Contract(org_id=m.org_id, number=next_number(uow, Contract, m.org_id), customer_id=c.id, owner_id=m.id,
                         title="t", amount=Decimal(amount), currency="CNY", state="signed", signed_on=on.date(),
                         signed_at=on, created_at=on, updated_at=on))
        uow.commit()


def _ranking(out: str) -> list[tuple[str, str]]:
    return re.findall(r"\d+\. (\w+): signed [^(]+\((\d+%)\)", out)


def test_completion_time_progress_and_ranking_with_a_member_who_joined_mid_period(bot, app, clock) -> None:
    bot(*TEAM)
    clock.advance(timedelta(days=17))                     # Dec 10, 10:00 Shanghai
    bot("/team add carol role=sales supervisor=sup")      # joins on Dec 10
    bot("/target set alice 2026-12 signed=10万 customers=2", "/target set bob 2026-12 signed=20万",
        "/target set carol 2026年12月 签约=5万")
    for who in ("alice", "bob", "carol"):
        bot(f":as {who}", f"/customer new {who}-co")
    bot(":as wang")
    _sign(app, "alice", "alice-co", 50_000, datetime(2026, 12, 3, 2, tzinfo=UTC))
    _sign(app, "bob", "bob-co", 150_000, datetime(2026, 12, 5, 2, tzinfo=UTC))
    _sign(app, "carol", "carol-co", 10_000, datetime(2026, 12, 10, 3, tzinfo=UTC))
    _sign(app, "bob", "bob-co", 99_000, datetime(2026, 11, 30, 2, tzinfo=UTC))  # November: not counted
    out = bot("/target 2026-12")
    # hand-computed: alice 50,000/100,000 = 50%, bob 150,000/200,000 = 75%, carol 10,000/50,000 = 20%
    assert _ranking(out) == [("bob", "75%"), ("alice", "50%"), ("carol", "20%")]
    # time progress: Dec 10 of 31 days = 32%; carol's own days: Dec 10 is day 1 of her 22 → 5%
    assert "32% of the period has passed" in out
    assert "carol: signed CN¥10,000.00 of CN¥50,000.00 (20%)" in out and "time 5% · joined 2026-12-10" in out
    assert "alice: signed CN¥50,000.00 of CN¥100,000.00 (50%) · collected CN¥0.00 · new customers 1 of 2" in out
    # the team's target is its members' sum: 350,000, of which 210,000 signed (60%)
    assert "sup's team — signed CN¥210,000.00 of CN¥350,000.00 (60%)" in out
    # a team target set on its own takes the place of the sum
    bot("/target set team:sup 2026-12 signed=30万")
    assert "sup's team — signed CN¥210,000.00 of CN¥300,000.00 (70%)" in bot("/target 2026-12")
    # a member sees their own line only; a supervisor their team
    assert _ranking(bot(":as alice", "/target 2026-12")) == [("alice", "50%")]
    assert [n for n, _s in _ranking(bot(":as sup", "/target 2026-12"))] == ["bob", "alice", "carol"]
    # the quarter with only month targets adds them up; bob's November contract counts there: 249,000 / 200,000
    assert ("bob", "124%") in _ranking(bot(":as wang", "/target 2026-Q4"))
    # the figure appraisals and the digest use
    with app.uow() as uow:
        scope = Scope(1, date(2026, 12, 1), date(2027, 1, 1), "Asia/Shanghai", frozenset({_member(uow, "bob").id}))
        fig = compute(uow, scope, ["target_completion"])["target_completion"]
    assert fig.value == pytest.approx(0.75)


def test_setting_targets_is_for_managers_and_supervisors_and_bad_input_changes_nothing(bot, app) -> None:
    bot(*TEAM)
    cases = {
        ":as alice|/target set bob 2026-12 signed=1万": "Targets are set by the managers, or by a supervisor",
        ":as alice|/target set alice 2026-12 signed=1万": "Targets are set by the managers",
        ":as wang|/target set bob 2026-12-03 signed=1万": "Cannot read",
        ":as wang|/target set bob 30d signed=1万": "is not a target period",
        ":as wang|/target set bob 2026-12": "Give at least one of",
        ":as wang|/target set bob 2026-12 signed=-5": "",
        ":as wang|/target set nobody 2026-12 signed=1万": "nobody",
        ":as wang|/target set bob 2026-12 customers=many": "",
    }
    for line, expected in cases.items():
        out = bot(*line.split("|"))
        assert "⚠" in out and expected in out, (line, out)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Target)) == 0
    assert "Target of bob for 2026-12" in bot(":as sup", "/target set bob 2026-12 signed=1万")


def _lead(app, owner: str, customer: str, stage: str, value: int, next_date: date | None = None) -> int:
    with app.uow() as uow:
        m = _member(uow, owner)
        c = uow.session.scalar(select(Customer).where(Customer.name == customer))
        lead = uow.add(Lead(org_id=m.org_id, number=next_number(uow, Lead, m.org_id), customer_id=c.id, owner_id=m.id,
                            stage=stage, value=Decimal(value), currency="CNY", next_date=next_date, version=1,
                            created_at=uow.now, updated_at=uow.now))
        uow.commit()
        return lead.id


def test_forecast_weighs_open_leads_by_their_stages_probability(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new A1", ":as bob", "/customer new B1", ":as wang")
    _lead(app, "alice", "A1", "negotiation", 100_000, date(2026, 11, 28))   # this month: 60%
    _lead(app, "alice", "A1", "proposal", 50_000, date(2026, 12, 10))       # quarter only: 40%
    _lead(app, "bob", "B1", "followup", 200_000)                            # no date: quarter, 75%
    _lead(app, "bob", "B1", "won", 999_999)                                 # closed: not in the pipeline
    _sign(app, "bob", "B1", 80_000, datetime(2026, 10, 9, 2, tzinfo=UTC))   # signed this quarter, not this month
    with app.uow() as uow:
        f = fc.forecast(uow, actor_for(uow, _member(uow, "wang")), "all")
    rows = {r.name: r for r in f.rows}
    assert rows["alice"].weighted_month == Decimal("60000.00")
    assert rows["alice"].weighted_quarter == Decimal("80000.00")             # 60,000 + 20,000
    assert (rows["bob"].weighted_month, rows["bob"].weighted_quarter) == (Decimal("0.00"), Decimal("150000.00"))
    assert (rows["bob"].signed_month, rows["bob"].signed_quarter) == (Decimal("0.00"), Decimal("80000.00"))
    assert f.total.weighted_quarter == Decimal("230000.00") and f.total.open_leads == 3
    out = bot("/forecast weights negotiation:80", "/forecast all")
    assert "alice: 2026-11 — signed CN¥0.00 + weighted CN¥80,000.00" in out
    assert "The chart of the forecast." in out
    assert "⚠" in bot(":as alice", "/forecast weights negotiation:90")        # managers only
    assert "⚠" in bot(":as alice", "/forecast all")
    assert "alice: 2026-11" in bot("/forecast") and "bob" not in bot("/forecast")
    assert "阶段概率" in bot(":as wang", "/settings lang zh", "/预测 概率")


def _history(app, lead_id: int, steps: list[tuple[str | None, str, datetime, str | None]]) -> None:
    with app.uow() as uow:
        lead = uow.session.get(Lead, lead_id)
        for old, new, at, reason in steps:
            uow.add(StageChange(org_id=lead.org_id, lead_id=lead_id, from_stage=old, to_stage=new,
                                actor_id=lead.owner_id, reason=reason, at=at))
        lead.stage = steps[-1][1]
        uow.commit()


def test_funnel_conversion_days_in_stage_and_loss_reasons_on_a_seeded_history(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new A1", ":as wang")
    d = lambda day: datetime(2026, 11, day, 2, tzinfo=UTC)  # noqa: E731
    a, b, c = (_lead(app, "alice", "A1", "research", 1) for _ in range(3))
    _history(app, a, [(None, "proposal", d(1), None), ("proposal", "negotiation", d(5), None),
                      ("negotiation", "won", d(15), None)])
    _history(app, b, [(None, "proposal", d(2), None), ("proposal", "negotiation", d(12), None),
                      ("negotiation", "lost", d(14), "price too high")])
    _history(app, c, [(None, "proposal", d(3), None), ("proposal", "lost", d(9), "price too high")])
    with app.uow() as uow:
        f = fc.funnel(uow, actor_for(uow, _member(uow, "wang")), "2026-11")
    reached = dict(f.reached)
    assert (f.cohort, reached["proposal"], reached["negotiation"], reached["won"]) == (3, 3, 2, 1)
    conv = {(x, y): v for x, y, v in f.conversion}
    assert conv[("proposal", "negotiation")] == pytest.approx(2 / 3)
    assert conv[("followup", "won")] is None
    days = {s: (avg, n) for s, avg, n in f.days}
    # left proposal after 4, 10 and 6 days → 6.67; left negotiation after 10 and 2 days → 6
    assert days["proposal"][0] == pytest.approx(20 / 3) and days["proposal"][1] == 3
    assert days["negotiation"] == (pytest.approx(6.0), 2)
    assert (f.won, f.lost, f.reasons) == (1, 2, [("price too high", 2)])
    out = bot("/funnel 2026-11")
    assert "proposal → negotiation: 67%" in out and "price too high: 2" in out
    assert "The chart of the funnel." in out
    assert "漏斗" in bot("/settings lang zh", "/漏斗 2026年11月")


def test_satisfaction_and_service_figures(bot, app) -> None:
    bot("/team add sue role=service", ":as sue", "/customer new Acme", "/customer new Beta", "/customer new Cato")
    with app.uow() as uow:
        ids = list(uow.session.scalars(select(Callback.number).order_by(Callback.id)))
    out = bot(f'/callback done CB{ids[0]} result="fine" satisfaction=5 comment="quick"',
              f'/callback done CB{ids[1]} result="meh" satisfaction=2')
    assert "Satisfaction 5 of 5." in out
    bot(f'/callback done CB{ids[2]} result="no score"')
    bot('/complaint new Acme what="late" wants="refund" severity=low', "/complaint resolve Q1",
        "/complaint callback Q1 satisfied satisfaction=4 note=\"thanks\"")
    bot('/enquiry new Acme what="price?"', '/enquiry reply E1 answer="sent"',
        '/suggestion new Beta what="monthly report"', ":advance 2d")
    with app.uow() as uow:
        sue = _member(uow, "sue")
        scope = Scope(sue.org_id, date(2026, 11, 1), date(2026, 12, 1), "Asia/Shanghai", frozenset({sue.id}))
        figs = compute(uow, scope, ["satisfaction_rate", "satisfaction_average", "complaint_rate", "reply_timeliness",
                                    "callback_completion"])
        cb = uow.session.scalar(select(Callback).where(Callback.satisfaction == 5))
    assert (cb.satisfaction_note, figs["satisfaction_rate"].value) == ("quick", pytest.approx(2 / 3))  # 5, 4 of 5,2,4
    assert figs["satisfaction_average"].value == pytest.approx(3.67)
    assert figs["complaint_rate"].value == pytest.approx(1 / 3)                 # one complaint, three customers
    assert figs["reply_timeliness"].value == pytest.approx(1 / 2)               # E1 in time, E2 still unanswered
    assert "E2" in bot("/enquiry list") and "overdue" in bot("/enquiry list")
    out = bot(":as wang", "/kpi sue")
    assert "Customer satisfaction rate: 67%" in out and "Scored by hand" in out
    for line, msg in {f"/callback done CB{ids[0]} result=x satisfaction=6": "Scores run from 1 to 5",
                      '/enquiry new Acme what=""': "",
                      "/enquiry reply E1 answer=again": "already answered"}.items():
        got = bot(":as sue", line)
        assert "⚠" in got and msg in got, (line, got)


def test_grades_and_bonus_coefficients_in_the_result_and_the_export(bot, app) -> None:
    assert "A: total from 90: bonus coefficient 1.2" in bot("/review grades")
    assert "Saved." in bot("/review grades A:85:1.3 B:70:1.0 C:60:0.8 D:0:0.4")
    for bad in ("A:85:1.3", "A:50:1 B:70:1 C:60:1 D:0:1", "A:90:1 B:75:1 C:60:1 D:10:1", "A:x"):
        assert "⚠" in bot(f"/review grades {bad}"), bad
    with app.uow() as uow:
        from domain.appraisals import reviews
        from domain.store.models import Organisation
        org = uow.session.get(Organisation, 1)
        assert reviews.grade_of(org, Decimal("85")) == ("A", Decimal("1.3"))
        assert reviews.grade_of(org, Decimal("84.9")) == ("B", Decimal("1.0"))
        assert reviews.grade_of(org, Decimal("12")) == ("D", Decimal("0.4"))
        assert reviews.REVIEW_COLUMNS[11:13] == ("Grade", "Bonus coefficient")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parsers_answer_any_input_or_refuse_it_in_words(text: str) -> None:
    from domain.appraisals.reviews import parse_grades
    from domain.risk.indicators import parse_thresholds
    for parse in (fc.parse_probabilities, parse_thresholds, parse_grades,
                  lambda t: targets.parse_period(t, date(2026, 11, 23))):
        try:
            parse(text)
        except Invalid:
            pass


@given(st.sampled_from(["negotiation", "谈判", "proposal"]), st.integers(0, 100))
def test_probabilities_read_back(stage: str, percent: int) -> None:
    got = fc.parse_probabilities(f"{stage}={percent}%")
    assert list(got.values()) == [percent]


@given(st.integers(2000, 2100), st.integers(1, 12))
def test_target_periods(year: int, month: int) -> None:
    p = targets.parse_period(f"{year}-{month:02d}", date(2026, 1, 1))
    assert (p.key, p.first, p.kind) == (f"{year}-{month:02d}", date(year, month, 1), "month")
    q = targets.parse_period(f"{year}-Q{(month - 1) // 3 + 1}", date(2026, 1, 1))
    assert q.first <= p.first < q.end_day and (q.end_day - q.first).days in (90, 91, 92)
