"""Appraisals: windows at the right local dates, figures from the records, weights, the whole flow
(self-review, scoring, return, approval, appeal, ruling), reminders once each, and who may see what."""
from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fakes.cli import run
from fakes.notices import notices
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from domain.appraisals import reviews as appraisals
from domain.appraisals.reviews import parse_period, parse_weights, period_of, window
from domain.kernel.actor import Actor
from domain.kernel.errors import Conflict, DomainError, Invalid
from domain.store.models import AuditEntry, DueItem, Organisation, Review
from domain.team.members import actor_for, find_member

TODAY = date(2026, 11, 23)


@pytest.mark.fast
def test_relative_periods_and_what_is_not_a_review_period() -> None:
    assert parse_period("lastmonth", TODAY).key == "2026-10" and parse_period("本季度", TODAY).key == "2026-Q4"
    assert parse_period("去年", TODAY).key == "2025" and parse_period("2026 Q4", TODAY).key == "2026-Q4"
    for text in ("week", "30d"):
        with pytest.raises(Invalid):
            parse_period(text, TODAY)


def _dms(text: str, who: str | None = None) -> list[str]:
    """Each notice sent (to `who`), also those merged with others due at the same time for the same person."""
    return notices(text, who)


@pytest.fixture
def team(bot):
    """wang (manager, admin) ← alice (sales supervisor) ← bob (sales), sue (service); carol (sales) ← wang."""
    bot("/team add alice role=sales", "/team add bob role=sales supervisor=alice",
        "/team add sue role=service supervisor=alice", "/team add carol role=sales supervisor=wang",
        "/settings contractterms optional")
    return bot


def _org(app) -> Organisation:
    with app.uow() as uow:
        return uow.session.get(Organisation, 1)


# --- windows ----------------------------------------------------------------------------------------

def test_monthly_window_opens_on_the_last_working_day(team, app) -> None:
    org = _org(app)
    nov = window(org, period_of("monthly", date(2026, 11, 5)))
    assert nov.opens_at == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)       # Monday 30 Nov, 09:00 Shanghai
    # the 5th is a Saturday: the self-review is due on Monday the 7th
    assert (nov.self_due, nov.closes) == (date(2026, 12, 7), date(2026, 12, 10))
    # October 2026 ends on a Saturday: Friday the 30th.
    assert window(org, period_of("monthly", date(2026, 10, 5))).opens_at == datetime(2026, 10, 30, 1, 0, tzinfo=UTC)
    # May 2026 ends on a Sunday; Friday the 29th is a working day in China's calendar.
    assert window(org, period_of("monthly", date(2026, 5, 5))).opens_at == datetime(2026, 5, 29, 1, 0, tzinfo=UTC)
    # February 2026 ends on Saturday the 28th, in the Spring Festival break (15–23 Feb) with the 28th a
    # make-up working day: the window opens on the 28th.
    assert window(org, period_of("monthly", date(2026, 2, 5))).opens_at == datetime(2026, 2, 28, 1, 0, tzinfo=UTC)
    # January 2027 ends on a Sunday: Friday the 29th.
    assert window(org, period_of("monthly", date(2027, 1, 5))).opens_at == datetime(2027, 1, 29, 1, 0, tzinfo=UTC)
    q4 = window(org, period_of("quarterly", date(2026, 11, 5)))
    assert q4.opens_at == datetime(2026, 12, 31, 1, 0, tzinfo=UTC) and q4.closes == date(2027, 1, 11)  # 10th: Sunday
    # the annual review does not open on New Year's Day, a day off by law even before 2027's schedule is known
    year = window(org, period_of("annual", date(2026, 6, 1)))
    assert year.opens_at.date() == date(2027, 1, 4) and (year.self_due, year.closes) == (
        date(2027, 1, 11), date(2027, 1, 15))


def test_a_pending_window_follows_a_new_reminder_hour_and_new_days_off(team, app) -> None:
    def opening() -> datetime:
        with app.uow() as uow:
            item = uow.session.scalar(select(DueItem).where(DueItem.kind == "review_open_monthly"))
            return item.due_at.replace(tzinfo=UTC)

    team(":advance 1m")                                                  # the job is planned
    assert opening() == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)        # Monday 30 November, 09:00
    team(":as wang", "/settings reminderhour 14")
    assert opening() == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)        # 14:00
    team("/holiday add 2026-11-30 name=盘点")
    assert opening() == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)        # the last working day is now Friday
    out = team(":advance 4d", ":advance 5h")                             # to Friday 27 November, 15:00
    assert sorted(line.split("→ @")[1].split(":")[0] for line in _dms(out) if "is open until" in line) == [
        "alice", "bob", "carol", "sue", "wang"]
    assert opening() == datetime(2026, 12, 31, 6, 0, tzinfo=UTC)        # then December's window


def test_window_opens_at_the_local_hour_and_creates_reviews_once(team, app) -> None:
    out = team(":advance 6d")                                           # to Sunday 29 November
    assert _dms(out) == []
    out = team(":advance 1d")                                           # Monday 30 November, 10:00
    opened = _dms(out)
    assert sorted(line.split("→ @")[1].split(":")[0] for line in opened) == ["alice", "bob", "carol", "sue", "wang"]
    assert all(line.startswith("[2026-11-30 09:00]") for line in opened)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(Review.id))) == 5    # wang's is the management template
        nxt = uow.session.scalar(select(DueItem).where(DueItem.kind == "review_open_monthly"))
        assert nxt.state == "pending" and nxt.due_at.replace(tzinfo=UTC) == datetime(2026, 12, 31, 1, 0, tzinfo=UTC)
        appraisals.open_period(uow, uow.session.get(Organisation, 1), period_of("monthly", date(2026, 11, 1)))
        uow.commit()
        assert uow.session.scalar(select(func.count(Review.id))) == 5    # idempotent
    assert not [x for x in _dms(team(":advance 3d")) if "is open until" in x]


def test_status_before_any_appraisal_says_when_the_next_window_opens(team) -> None:
    assert "The next self-review window opens Nov 30, 2026, 9:00\u202fAM." in team("/review status")
    assert "Saved." in team("/review cycles quarterly=on monthly=off")
    assert "opens Dec 31, 2026, 9:00\u202fAM" in team("/review status")
    team("/review cycles quarterly=off")
    assert "every review cycle is off" in team("/review status")
    team("/review cycles monthly=on", ":advance 7d")                  # Monday 30 November: November opens
    out = team("/review status")
    assert "Appraisals 2026-11" in out and "bob: " in out


def test_quarterly_cycle_turned_on_opens_at_quarter_end(team, app) -> None:
    assert "Saved." in team("/review cycles quarterly=on monthly=off")
    out = team(":advance 7d")
    assert _dms(out) == []                                             # November is not a quarter end
    out = team(":advance 31d")                                          # past Thursday 31 December
    bob = _dms(out, "bob")
    assert bob and bob[0].startswith("[2026-12-31 09:00]") and "2026-Q4" in bob[0]


def test_cycles_refuse_bad_values_and_non_admins(team) -> None:
    assert "day of the month from 1 to 28, not '31'" in team("/review cycles close_day=31")
    assert "from 0 to 60" in team("/review cycles appeal_days=99")
    assert "self_day ≤ close_day" in team("/review cycles self_day=12 close_day=10")
    assert "Write on or off" in team("/review cycles monthly=maybe")
    assert "Only" in team(":as bob", "/review cycles annual=on")


# --- figures ----------------------------------------------------------------------------------------

def test_reviews_carry_the_measured_figures(team, app) -> None:
    team(":as bob", "/customer new Acme", "/customer new Beta", "/lead new Acme", "/lead new Beta",
         "/lead stage L1 negotiation", "/lead stage L1 won", "/lead stage L2 negotiation",
         '/lead stage L2 lost reason="budget"', "/visit Acme note=a", "/visit Beta note=b", "/visit Acme note=c")
    team(":as sue", "/customer new Gamma", '/visit Gamma note=x next=2026-11-25', ":advance 3d",
         '/callback done CB4 result="ok"')
    team(":as wang", ":advance 4d")
    out = team(":as bob", "/review show")
    assert "New customers: 2 (customers created in the period: 2)" in out
    assert "Visits: 3 (visits logged in the period: 3)" in out
    assert "Negotiation success rate: 50% (1 won of 2 leads closed after reaching negotiation)" in out
    out = team(":as sue", "/review show")
    assert "Callback completion rate: 100% (1 of 1 callbacks due in the period were done)" in out
    assert "Visits: 1" in out
    out = team(":as wang", "/kpi bob 2026-11")
    assert "Negotiation success rate: 50%" in out and "New customers: 2" in out
    assert "market development — New customers: 0" in team("/kpi")    # a manager's: their line's (wang, carol)


# --- the flow -------------------------------------------------------------------------------------------

def _open(team) -> None:
    team(":advance 7d")                                                 # Monday 30 November 10:00


def _self_review(team, who: str = "bob", scores=(80, 90, 70, 60, 100)) -> str:
    lines = [f":as {who}"] + [f"/review self {n} {s} note=\"c{n}\"" for n, s in enumerate(scores, 1)]
    return team(*lines, "/review submit note=\"a good month\"")


def _score(team, who: str = "bob", scorer: str = "alice", scores=(70, 80, 60, 50, 90)) -> str:
    lines = [f":as {scorer}"] + [f"/review score {who} {n} {s}" for n, s in enumerate(scores, 1)]
    return team(*lines, f"/review send {who} note=\"solid\"")


def test_full_flow_with_return_appeal_and_ruling(team, app) -> None:
    _open(team)
    out = _self_review(team)
    assert "self-assessed 79.5" in out                                # .4*80+.2*90+.15*70+.15*60+.1*100
    assert "submitted their 2026-11 self-review" in "\n".join(_dms(out, "alice"))
    assert "already submitted" in team("/review self 1 50")
    out = _score(team)
    assert "scored (69.5)" in out                                      # .4*70+.2*80+.15*60+.15*50+.1*90
    approvals = _dms(out, "wang")
    assert len(approvals) == 1 and "Approve" in out
    out = team(":as wang", '/review return bob reason="teamwork score needs a comment"')
    assert "returned to the supervisor" in out and _dms(out, "alice")
    assert "awaiting the supervisor's scores" in team(":as wang", "/review show bob")
    out = _score(team, scores=(75, 80, 60, 50, 90))
    out = team(":as wang", "/review approve bob note=ok")
    assert _dms(out, "bob") == ["[2026-11-30 10:00] → @bob: Your 2026-11 review is final: weighted total 71.5, "
                                "grade C (bonus coefficient 0.8)."]
    assert "You may appeal until Dec 7, 2026" in out and "performance (contract value signed) (40%): 75" in out
    # a second click changes nothing
    assert "Already done by wang: bob's 2026-11 review is now result sent." in team("/review approve bob")
    out = team(":as bob", '/review appeal reason="the cost of two lost deals was not mine"')
    assert "is with the manager" in out and _dms(out, "wang")
    out = team(":as wang", '/review rule bob upheld note="agreed"')
    assert "upheld" in "\n".join(_dms(out, "bob")) and _dms(out, "alice")
    _score(team, scores=(85, 80, 60, 50, 90))
    out = team(":as wang", "/review approve bob")
    assert "weighted total 75.5" in "\n".join(_dms(out, "bob"))
    assert "already appealed once" in team(":as bob", '/review appeal reason="again"')
    shown = team(":as bob", "/review show")
    for step in ("opened", "self-review submitted", "scored by the supervisor", "returned by the manager",
                 "approved; result sent", "appealed", "appeal upheld"):
        assert step in shown
    with app.uow() as uow:
        audited = uow.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "review"))
        assert audited >= 20


def test_appeal_dismissed_and_window_closes(team, clock) -> None:
    _open(team)
    _self_review(team)
    _score(team)
    team(":as wang", "/review approve bob")
    team(":as bob", '/review appeal reason="unfair"')
    out = team(":as wang", "/review rule bob 驳回 note=\"scores match the records\"")  # 驳回 = dismissed
    assert "dismissed" in "\n".join(_dms(out, "bob")) and "closed" in team(":as bob", "/review show")
    # carol's result: the appeal window (5 days) passes; wang scored it, so the deputy approves it
    team(":as wang", "/team add dai role=deputy")
    team(":as carol", *[f"/review self {n} 80" for n in range(1, 6)], "/review submit")
    team(":as wang", *[f"/review score carol {n} 80" for n in range(1, 6)], "/review send carol",
         ":as dai", "/review approve carol", ":advance 8d")
    assert "appeal window" in team(":as carol", '/review appeal reason="late"')


def test_scoring_rules(team) -> None:
    _open(team)
    assert "cannot score your own review" in team(":as alice", "/review score alice 1 80")
    assert "until Dec 7, 2026" in team(":as alice", "/review score bob 1 80")   # self-review still open
    assert "You may not see bob's review." in team(":as carol", "/review score bob 1 80")
    _self_review(team)
    assert "from 0 to 100" in team(":as alice", "/review score bob 1 120")
    assert "not an indicator" in team(":as alice", "/review score bob flying 80")
    assert "still missing" in team(":as alice", "/review send bob")
    assert "Only" in team(":as alice", "/review approve bob")           # a supervisor is not a manager
    assert "bob's 2026-11 review is now awaiting the supervisor's scores" in team(":as wang", "/review approve bob")
    # the indicator can be named by key, number, its label in either language, or a unique part of one
    assert "Score 80 recorded for bob's new customers developed" in team(":as alice", "/review score bob 新客户 80")
    assert "Score 70 recorded for bob's teamwork" in team(":as alice", "/review score bob team 70")
    assert "Score 60 recorded for bob's customer information" in team(":as alice", "/review score bob 3 60")


def test_self_review_in_chinese(team) -> None:
    _open(team)
    team(":as bob", "/settings lang zh")
    out = team("/review self 业绩 85 备注=不错")
    assert "业绩" in out and "85" in out
    assert "缺少" in team("/review self") or "INDICATOR" in team("/review self")


def test_windows_close_the_self_review_and_flag_unscored_reviews(team) -> None:
    _open(team)
    _self_review(team, "carol")
    out = team(":as wang", ":advance 8d")          # the window closed at midnight on Monday 7 December
    missed = [x for x in _dms(out) if "did not submit a self-review" in x]
    assert sorted(x.split("→ @")[1].split(":")[0] for x in missed) == ["alice", "alice", "wang"]
    assert all(x.startswith("[2026-12-08 08:30]") for x in missed)        # told when working hours begin
    assert "already submitted" in team(":as bob", "/review self 1 80")
    assert "self-review window closed without one" in team(":as bob", "/review show")
    out = _score(team)
    assert "sent to the manager" in out
    out = team(":as wang", ":advance 3d")                               # Friday 11 December
    overdue = [x for x in _dms(out) if "was not scored by Dec 10, 2026" in x]
    assert sorted(x.split(" review")[0].split(": ")[1] for x in overdue) == ["alice's 2026-11", "carol's 2026-11",
                                                                            "sue's 2026-11"]
    assert not [x for x in _dms(team(":advance 7d")) if "was not scored" in x]


# --- reminders --------------------------------------------------------------------------------------------

def test_reminders_before_the_deadlines_once_each(team) -> None:
    _open(team)
    _self_review(team, "bob")
    out = team(":advance 4d")                                           # Friday 4 December, 10:00
    reminded = [x for x in _dms(out) if "Reminder: your 2026-11 self-review" in x]
    assert sorted(x.split("→ @")[1].split(":")[0] for x in reminded) == ["alice", "carol", "sue", "wang"]
    assert all(x.startswith("[2026-12-04 09:00]") for x in reminded)
    out = team(":advance 5d")                                           # 9 December: scoring closes tomorrow
    scoring = [x for x in _dms(out) if "Reminder: scoring of" in x]
    assert sorted(x.split("→ @")[1].split(":")[0] for x in scoring) == ["alice", "alice", "wang", "wang"]
    assert not [x for x in _dms(team(":advance 3d")) if "Reminder" in x and "2026-11" in x]


# --- templates ---------------------------------------------------------------------------------------------

def test_weights_must_total_100(team, app) -> None:
    assert "total 90%" in team('/review weights bd weights="performance=40 new_customers=20 negotiation=20 '
                               'teamwork=10"')
    assert "give it a label" in team('/review weights bd weights="performance=40 upsell=60"')
    out = team('/review weights bd weights="performance=50 new_customers=20 upsell=20 teamwork=10" '
               'labels="upsell: upselling"')
    assert ("Template bd saved: performance (contract value signed) (50%), new customers developed (20%), "
            "upselling (20%), and teamwork (10%)") in out
    assert "bd — business development (sales):" in team("/review template bd")
    assert "季度" in team("/review cycles 季度=开", "/settings lang zh", "/review cycles")     # quarterly=on
    team("/settings lang en")
    assert "upsell: upselling (20%)" in team("/review template bd")
    assert "Only" in team(":as bob", '/review weights bd weights="performance=100"')
    _open(team)
    assert "upselling (20%)" in team(":as bob", "/review show")


@pytest.mark.fast
@given(st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True), st.integers(0, 100), min_size=1,
                       max_size=6),
       st.sampled_from([" ", ", ", "; ", "，", "\n"]), st.sampled_from(["=", ":", "："]))
def test_parse_weights_reads_back_what_was_written(weights, sep, eq) -> None:
    text = sep.join(f"{k}{eq}{v}" for k, v in weights.items())
    assert parse_weights(text) == weights


@pytest.mark.fast
@given(st.text(max_size=40))
def test_parse_weights_refuses_cleanly(text) -> None:
    try:
        parse_weights(text)
    except Invalid:
        pass


@pytest.mark.fast
@given(st.integers(2000, 2100), st.integers(1, 12))
def test_period_keys_read_back(year, month) -> None:
    for cycle in ("monthly", "quarterly", "annual"):
        period = period_of(cycle, date(year, month, 1))
        assert parse_period(period.key, TODAY) == period
        assert period.first <= date(year, month, 1) < period.end_day
    assert parse_period(f"{year}年{month}月", TODAY) == period_of("monthly", date(year, month, 1))
    q = (month - 1) // 3 + 1
    assert parse_period(f"{year}年第{'一二三四'[q - 1]}季度", TODAY) == period_of("quarterly", date(year, month, 1))


@pytest.mark.fast
@given(st.text(max_size=30))
def test_parse_period_refuses_cleanly(text) -> None:
    try:
        parse_period(text, TODAY)
    except Invalid:
        pass


# --- access ------------------------------------------------------------------------------------------------

def test_who_sees_which_review(team, app) -> None:
    _open(team)
    assert "may not see alice's review" in team(":as bob", "/review show alice")
    assert "may not see bob's review" in team(":as carol", "/review show bob")
    assert "Review 2026-11: bob" in team(":as alice", "/review show bob")
    assert "Review 2026-11: carol" in team(":as wang", "/review show carol")
    status = team(":as alice", "/review status")
    assert "bob:" in status and "sue:" in status and "carol" not in status
    status = team(":as bob", "/review status")
    assert "bob:" in status and "alice" not in status
    with app.uow() as uow:
        reads = list(uow.session.scalars(select(AuditEntry.detail).where(
            AuditEntry.entity == "review", AuditEntry.action == "read")))
        refused = uow.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == "review", AuditEntry.action == "refuse"))
    assert "bob" in reads and "carol" in reads and refused == 2


# --- concurrency ------------------------------------------------------------------------------------------

def test_two_managers_approving_at_once_make_one_decision(team, app, db_url) -> None:
    team("/team add hu role=manager")
    _open(team)
    _self_review(team)
    _score(team)
    with app.uow() as uow:
        actors = [actor_for(uow, find_member(uow, 1, n)) for n in ("wang", "hu")] * 5
    results: list[str] = []
    barrier = threading.Barrier(len(actors))

    def click(actor: Actor) -> None:
        barrier.wait()
        try:
            with app.uow() as uow:
                appraisals.approve(uow, actor, "bob", None, None)
            results.append("ok")
        except (Conflict, DomainError):
            results.append("refused")
        except Exception as exc:  # SQLite may refuse a concurrent writer outright: also no decision
            results.append(f"error {type(exc).__name__}")

    threads = [threading.Thread(target=click, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    with app.uow() as uow:
        review = uow.session.scalar(select(Review).where(Review.member_id == find_member(uow, 1, "bob").id))
        assert review.status == "final"
        assert sum(1 for s in review.history if s["step"] == "approved") == 1


# --- export ------------------------------------------------------------------------------------------------

def test_export_reviews_for_managers_only(team, db_url, tmp_path) -> None:
    _open(team)
    _self_review(team)
    _score(team)
    team(":as wang", "/review approve bob")
    env = {"BIZBOT_DATABASE_URL": db_url}
    out = run(["export", "reviews", "--period", "2026-11", "--as", "wang"], env=env)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout.lstrip("\ufeff"))))
    bob = [r for r in rows if r["Member"] == "bob"]     # headers and values in the reader's language
    assert [r["Indicator"] for r in bob] == ["performance (contract value signed)", "new customers developed",
                                             "customer information collected", "negotiation success rate",
                                             "teamwork"]
    assert bob[0]["Score"] == "70" and bob[0]["Self-review score"] == "80" and float(bob[0]["Total"]) == 69.5
    assert bob[0]["Status"] == "result sent" and bob[0]["Template"] == "business development"
    assert {r["Member"] for r in rows} == {"alice", "bob", "carol", "sue", "wang"}
    target = tmp_path / "reviews.xlsx"
    out = run(["export", "reviews", "--period", "2026-11", "--as", "wang", "--format", "xlsx", "-o", str(target)],
              env=env)
    assert out.returncode == 0 and "wrote 23 rows" in out.stdout             # wang's four indicators too
    sheet = load_workbook(target).active
    assert [c.value for c in sheet[1]][:4] == ["Period", "Member", "Template", "Status"]
    assert sheet.max_row == 24
    refused = run(["export", "reviews", "--period", "2026-11", "--as", "bob"], env=env)
    assert refused.returncode != 0 and "Only" in refused.stderr
    assert Decimal("69.5") == Decimal(bob[0]["Total"])


def test_reviews_read_the_contract_and_complaint_figures(team) -> None:
    """Appraisals read what the approvals and complaints areas measure, through the figures registry."""
    team("/team add lily role=legal")
    team(":as bob", "/customer new Acme", "/lead new Acme value=10万",
         '/contract new Acme title="Pumps" amount=100000 payment="net 30" delivery=2026-12-20 term=2027-06-30 '
         'lead=L1', "/contract submit K1")
    team(":as wang", "/approve A1", ":as lily", "/approve A1")
    team(":as wang", '/complaint new Acme severity=low what="late invoice" wants="a corrected invoice" assignee=sue')
    team(":as sue", '/complaint update Q1 note="called, reissuing"', "/complaint resolve Q1")
    team(":as wang", ":advance 7d")
    bob = team(":as bob", "/review show")
    assert "Contract value signed: CN¥100,000.00" in bob
    assert "Negotiation success rate" in bob
    sue = team(":as sue", "/review show")
    assert "Complaint handling timeliness rate: 100%" in sue and "Complaint resolution rate: 100%" in sue
    assert "Contract value signed: CN¥100,000.00" in team(":as wang", "/kpi bob 2026-11")
