"""Keeping customers and leads moving: a new level or cadence moves the regular callback, a lead's next step is
reminded on its day, and leads without activity are flagged to their owner and listed to supervisors weekly."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from domain.store.models import Callback, DueItem


def _to(out: str, name: str) -> list[str]:
    return [line for line in out.splitlines() if f"→ @{name}:" in line]


def _due(app, kind: str, subject: int) -> DueItem:
    with app.uow() as uow:
        return uow.session.scalar(select(DueItem).where(DueItem.kind == kind, DueItem.subject_id == subject))


def test_a_new_level_or_cadence_moves_the_pending_regular_callback(bot, app) -> None:
    bot("/customer new Acme", '/visit Acme note="intro" next=2026-12-20')        # CB1: regular, in 60 days; CB2
    with app.uow() as uow:
        assert uow.session.get(Callback, 1).due_date.isoformat() == "2027-01-22"
    bot(":advance 10d")                                                            # Thursday 3 December
    out = bot("/customer set Acme level=key")
    assert "Customer Acme (C1) updated. The regular callback CB1 is now due Dec 23, 2026." in out
    assert _due(app, "callback", 1).due_at.replace(tzinfo=UTC) == datetime(2026, 12, 23, 1, 0, tzinfo=UTC)
    out = bot("/customer set Acme cadence=7d")                                    # 23 Nov + 7 days has passed: today
    assert "The regular callback CB1 is now due Dec 3, 2026." in out
    assert "→ @wang: Callback due Dec 3, 2026: Acme (regular callback)." in out   # reminded at once
    assert "regular callback" not in bot("/customer set Acme phone=12345678")    # other details move nothing
    with app.uow() as uow:
        assert uow.session.get(Callback, 2).due_date.isoformat() == "2026-12-20"  # a visit's callback keeps its day


def test_a_leads_next_step_is_reminded_to_its_owner_on_its_day(bot, app) -> None:
    bot("/team add bob role=sales", ":as bob", "/customer new Acme",
        '/lead new Acme next=2026-11-25 step="send the quote"', "/lead new Acme next=2026-11-26",
        "/lead stage L2 lost reason=budget")
    agenda = bot("/agenda")
    assert "Next steps of leads:" in agenda and "L1 · Nov 25, 2026 · Acme · send the quote" in agenda
    assert "L2" not in agenda
    out = bot(":advance 2d")
    assert _to(out, "bob") == ["[2026-11-25 09:00] → @bob: Next step of lead L1 (Acme) is due Nov 25, 2026: send the "
                               "quote"]
    assert "Snoozed L1 until Nov 25, 2026, 11:00\u202fAM." in bot("/remind snooze L1 1h")
    again = bot(":advance 2h")
    assert [line for line in _to(again, "bob") if line.startswith("[2026-11-25 11:00]") and "L1" in line]
    assert not [line for line in _to(bot(":advance 2d"), "bob") if "L2" in line]  # a closed lead is not reminded
    kinds = bot("/remind mute next steps", "/remind list")                     # a kind of its own, to mute
    assert "lead next steps · muted" in kinds and "stale leads · on" in kinds


def test_idle_leads_are_flagged_to_their_owner_once_and_listed_to_supervisors_each_monday(bot, app) -> None:
    bot("/team add alice role=sales", "/team add bob role=sales supervisor=alice", "/team add carol role=sales")
    bot(":as bob", "/customer new BobCo", "/lead new BobCo",                      # L1: idle from today
        "/customer new Busy", "/lead new Busy")                                   # L2: visited on day 20
    bot(":as carol", "/customer new CarolCo", "/lead new CarolCo")                # L3: carol has no supervisor
    out = bot(":advance 20d")
    bot(":as bob", '/visit Busy note="still interested"')
    out += bot(":advance 10d")                                                    # Wednesday 23 December, 10:00
    assert not [line for line in out.splitlines() if "no activity" in line]
    out = bot(":advance 1d")
    assert _to(out, "bob") == ["[2026-12-24 09:00] → @bob: Lead L1 (BobCo, market research) has had no activity for "
                               "31 days, since Nov 23, 2026. Log a visit, move it on, or close it."]
    assert len(_to(out, "carol")) == 1 and "L3 (CarolCo" in _to(out, "carol")[0]
    out = bot(":advance 4d")                                                      # Monday 28 December, 10:00
    assert not [line for line in _to(out, "bob") + _to(out, "carol") if "no activity" in line]   # flagged once
    start = out.index("→ @alice: Leads in your team with no activity for 30 days or more (1):")
    assert out[start:].split("\n")[1] == "L1 · BobCo · bob · market research · no activity since Nov 23, 2026"
    assert "[2026-12-28 09:00] → @wang: Leads in your team with no activity for 30 days or more (1):\nL3 · CarolCo" \
        in out                                                                    # a manager, for carol's
    assert "L2" not in out
    assert not [line for line in _to(bot(":advance 6d"), "alice") if "no activity" in line]  # weekly, not daily
    with app.uow() as uow:
        week = uow.session.scalar(select(DueItem).where(DueItem.kind == "lead_stale_week"))
        assert week.due_at.replace(tzinfo=UTC) == datetime(2027, 1, 4, 1, 0, tzinfo=UTC)   # the next Monday


def test_the_days_that_make_a_lead_stale_are_a_department_setting(bot) -> None:
    assert "Days until a lead is stale: 30" in bot("/settings show")
    assert "out of range (7–365)" in bot("/settings staledays 3")
    assert "flagged to its owner" in bot("/settings staledays 45")
    assert "Days until a lead is stale: 45" in bot("/settings show")
    bot("/team add bob role=sales")
    assert "Only" in bot(":as bob", "/settings staledays 10")
