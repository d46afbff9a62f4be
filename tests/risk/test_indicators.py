"""Automatic risk indicators: each fires once at its threshold, not again until it clears; the thresholds are the
department's; the sweep reads only what changed or fell due; the register and its monthly review."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.store.models import DueItem, OutboxMessage, RiskEntry, RiskSignal

TEAM = ("/team add sup role=sales", "/team add alice role=sales supervisor=sup")


def _warnings(app, indicator: str) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.key.like(f"risk-indicator:{indicator}:%"))) or 0)


def test_a_key_account_without_contact_warns_once_at_60_days_and_again_only_after_contact(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme level=key")
    out = bot(":advance 59d")
    assert _warnings(app, "no_contact") == 0
    out = bot(":advance 2d")
    assert "Risk indicator — key account without contact (medium (orange)): C1 Acme, owner alice" in out
    assert "no visit or callback for 60 days" in out
    assert _warnings(app, "no_contact") == 2                 # alice and her supervisor, once
    bot(":advance 30d")
    assert _warnings(app, "no_contact") == 2                 # still holding: not again
    assert "key account without contact" in bot("/risk list")
    assert "🟠 C1" in bot("/customer list")                  # the record's own level went up
    bot('/visit Acme note="lunch"', ":advance 1d")           # contact: it clears
    with app.uow() as uow:
        assert uow.session.scalar(select(RiskSignal.level).where(RiskSignal.indicator == "no_contact")) is None
    bot(":advance 61d")                                       # 60 days again: fires again
    assert _warnings(app, "no_contact") == 4


def test_three_complaints_in_90_days_warn_once_and_clear_when_the_oldest_ages_out(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme")
    for _ in range(2):
        bot('/complaint new Acme what="late" wants="refund" severity=low', ":advance 1d")
    assert _warnings(app, "complaints") == 0
    out = bot('/complaint new Acme what="late again" wants="refund" severity=low', ":advance 1m")
    assert "repeated complaints" in out and "3 complaints in the last 90 days" in out
    bot('/complaint new Acme what="4th" wants="refund" severity=low', ":advance 1h")
    assert _warnings(app, "complaints") == 2                 # a fourth while it holds: not again
    bot(":advance 92d")                                       # the oldest aged out: cleared
    with app.uow() as uow:
        assert uow.session.scalar(select(RiskSignal.cleared_at).where(RiskSignal.indicator == "complaints"))


def test_a_lead_idle_30_days_in_negotiation_warns_once(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme", "/lead new Acme value=10万", "/lead stage L1 negotiation")
    bot(":advance 29d")
    assert _warnings(app, "lead_idle") == 0
    assert "lead idle in a late stage" in bot(":advance 2d")
    bot(":advance 10d")
    assert _warnings(app, "lead_idle") == 2
    bot('/lead stage L1 followup', ":advance 1h")             # moved: the clock starts anew, it clears
    with app.uow() as uow:
        assert uow.session.scalar(select(RiskSignal.level).where(RiskSignal.indicator == "lead_idle")) is None
    bot(":advance 31d")
    assert _warnings(app, "lead_idle") == 4


def test_a_credit_rating_lowered_warns_orange_then_red_and_not_again_until_raised(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme credit=AA", ":advance 1m")
    out = bot("/customer set Acme credit=A", ":advance 1m")
    assert "credit rating lowered from AA to A (1 steps)" in out
    bot("/customer set Acme credit=BBB", ":advance 1m")      # still orange: not again
    assert _warnings(app, "credit") == 2
    out = bot("/customer set Acme credit=BB", ":advance 1m")  # three steps: red, managers too
    assert "(high (red))" in out and _warnings(app, "credit") == 5
    bot("/customer set Acme credit=AA", ":advance 1m")       # raised back: cleared
    bot("/customer set Acme credit=A", ":advance 1m")        # lowered again: fires again
    assert _warnings(app, "credit") == 7


def test_thresholds_are_the_departments_and_bad_ones_change_nothing(bot, app) -> None:
    bot(*TEAM)
    out = bot("/risk thresholds")
    assert "contact_days = 60" in out and "overdue_red_days = 90" in out and "nothing in this installation" not in out
    for bad in ("contact_days:0", "nosuch:5", "credit_orange_steps:5", "contact_days:x"):
        assert "⚠" in bot(f"/risk thresholds {bad}"), bad
    assert "⚠" in bot(":as alice", "/risk thresholds contact_days:10")
    assert "contact_days = 60" in bot(":as wang", "/risk thresholds")
    bot(":as alice", "/customer new Acme level=key", ":as wang", "/risk thresholds contact_days:10")
    assert "contact_days = 10" in bot("/risk thresholds")
    bot(":advance 11d")
    assert _warnings(app, "no_contact") == 2


def test_the_sweep_reads_only_what_changed_or_fell_due(bot, app) -> None:
    bot(*TEAM, ":as alice")
    for n in range(5):
        bot(f"/customer new C{n} level=key")
    bot(":advance 1h")
    with app.uow() as uow:
        pending = uow.session.scalars(select(DueItem.due_at).where(DueItem.kind == "risk-indicator",
                                                                   DueItem.state == "pending")).all()
    assert len(pending) == 5 and min(pending) > app.clock.now()   # each waits for its own 60th day


def test_the_register_levels_follow_ups_access_and_the_monthly_review(bot, app) -> None:
    bot(*TEAM, "/team add bob role=sales", ":as alice", "/customer new Acme", "/lead new Acme")
    out = bot('/risk new L1 what="budget may be cut" category=市场 likelihood=2 impact=3 response=accept')
    assert "Risk RK1 registered on L1: 🟡 low (yellow), market, response accept, owner alice" in out
    out = bot('/风险 登记 Acme 内容="may not pay" 类别=信用 可能性=4 影响=4 应对=降低 负责人=sup 期限=2026-12-31 '
              '预计损失=20万')
    assert "RK2 registered on C1: 🔴 high (red), customer/credit" in out and "→ @sup" in out
    assert "may not pay" in bot('/risk follow RK2 note="payment plan agreed"', "/risk show RK2")
    assert "⚠" in bot(":as bob", "/risk show RK2")            # not his line: not found
    assert "⚠" in bot(":as bob", '/risk new Acme what=x category=legal likelihood=1 impact=1 response=avoid')
    for bad in ('/risk new L1 what=x category=weather likelihood=1 impact=1 response=avoid',
                '/risk new L1 what=x category=legal likelihood=6 impact=1 response=avoid',
                '/risk new L1 what=x category=legal likelihood=1 impact=1 response=pray',
                '/risk new L1 what=x category=legal likelihood=1 impact=1 response=avoid due=2020-01-01'):
        assert "⚠" in bot(":as alice", bad), bad
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(RiskEntry)) == 2
    out = bot(":as wang", ":advance 9d")                       # Dec 1: the monthly review
    assert "Monthly risk review (风险识别): 2 open risks" in out
    assert "Risk register (2)" in bot("/risk list")
    figures = bot("/kpi risk")
    assert "Risk event rate" in figures and "Overdue receivables rate" in figures
    assert "is closed" in bot(":as alice", '/risk close RK1 note="budget confirmed"')
