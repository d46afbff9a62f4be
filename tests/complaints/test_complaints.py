"""Complaints: promised deadlines per severity, the escalation ladder, the satisfaction callback, KPIs, access."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.reporting import figures
from domain.reporting.figures import Scope
from domain.store.models import AuditEntry, Callback, Complaint, DueItem, Member, OutboxMessage

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def bot(bot):
    """The console driver, with babel's narrow no-break spaces (before AM/PM) read as spaces."""
    return lambda *lines: bot(*lines).replace("\u202f", " ")


def _sent(text: str) -> list[str]:
    """What bizbot said to others: the first line of each message, without its buttons."""
    return [line for line in text.splitlines() if "] → " in line]


def _local(value: datetime) -> datetime:
    return value.astimezone(SH).replace(tzinfo=None)


def _complaint(app, cid: int = 1) -> Complaint:
    with app.uow() as uow:
        return uow.session.get(Complaint, cid)


def _setup(bot) -> None:
    """wang (manager) ← sup (supervisor) ← alice (sales, owns Acme); carol (service) ← wang; bob (sales) ← sup."""
    bot("/team add sup role=sales supervisor=wang", "/team add alice role=sales supervisor=sup",
        "/team add bob role=sales supervisor=sup", "/team add carol role=service supervisor=wang",
        "/complaint channel #esc")
    bot(":as alice", "/customer new Acme", ":as bob", "/customer new Beta", ":as carol")


NEW_HIGH = '/complaint new Acme severity=high what="late delivery" wants="delivery this week" contact="Mr Li"'


def test_deadlines_per_severity_in_working_time(bot, app) -> None:
    _setup(bot)
    out = bot(NEW_HIGH)
    assert "Complaint Q1 from Acme logged (high severity), assigned to alice." in out
    assert "a response by Nov 23, 2026, 2:00 PM, a resolution by Nov 25, 2026, 10:00 AM" in out
    for sev in ("critical", "medium", "low"):
        bot(f'/complaint new Acme severity={sev} what=x wants=y')
    got = {c: (_local(_complaint(app, c).respond_by), _local(_complaint(app, c).resolve_by)) for c in range(1, 5)}
    assert got == {
        1: (datetime(2026, 11, 23, 14), datetime(2026, 11, 25, 10)),    # 4 working h; 2 working days of 9 h
        2: (datetime(2026, 11, 23, 11), datetime(2026, 11, 23, 18)),    # critical: calendar time
        3: (datetime(2026, 11, 24, 10), datetime(2026, 11, 30, 10)),    # 1 and 5 working days, over a weekend
        4: (datetime(2026, 11, 25, 10), datetime(2026, 12, 7, 10)),
    }


def test_deadlines_skip_holidays_and_count_make_up_days(bot, app, clock) -> None:
    clock.set(datetime(2026, 9, 30, 16, 0, tzinfo=SH))                # the day before National Day
    _setup(bot)
    bot(NEW_HIGH, '/complaint new Acme severity=medium what=x wants=y')
    high, medium = _complaint(app, 1), _complaint(app, 2)
    assert _local(high.respond_by) == datetime(2026, 10, 8, 11)       # 2 h on the 30th, 2 h after the holiday
    assert _local(high.resolve_by) == datetime(2026, 10, 9, 16)
    assert _local(medium.respond_by) == datetime(2026, 10, 8, 16)
    assert _local(medium.resolve_by) == datetime(2026, 10, 13, 16)    # Saturday 10 October is a working day


def test_reminder_then_supervisor_then_manager_once_each(bot, app) -> None:
    _setup(bot)
    bot(NEW_HIGH)
    assert _sent(bot(":advance 2h")) == []
    assert _sent(bot(":advance 1h")) == [
        "[2026-11-23 13:00] → @alice: Reminder: the promised response for complaint Q1 from Acme (high severity) "
        "is due by Nov 23, 2026, 2:00 PM."]
    out = _sent(bot(":advance 1h"))
    assert out == [
        "[2026-11-23 14:00] → #esc: Escalation: complaint Q1 from Acme (high severity) missed its promised response "
        "(Nov 23, 2026, 2:00 PM). Assigned to alice; escalated to sup.",
        "[2026-11-23 14:00] → @sup: Complaint Q1 from Acme (high severity), assigned to alice, missed its promised "
        "response (Nov 23, 2026, 2:00 PM) and is escalated to you. The customer wants: delivery this week",
    ]
    out = _sent(bot(":advance 4h"))
    assert [line.split(":", 2)[1].split("→ ")[1] for line in out] == ["#esc", "@wang"]   # 4 working hours later
    assert "Still not acknowledged: complaint Q1" in out[0] and "now with the manager, wang." in out[0]
    out = _sent(bot(":advance 40h"))                                    # to Wednesday 10:00
    assert [x.split(":")[0] + ":" + x.split(":")[1][:12] for x in out] == [
        "[2026-11-25 09:00] → @alice", "[2026-11-25 10:00] → #esc", "[2026-11-25 10:00] → @sup"]
    assert "promised resolution" in out[0] and "promised resolution" in out[1]
    with app.uow() as uow:
        keys = list(uow.session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.key.like("complaint:1:1:response%"))))
    assert len(keys) == len(set(keys)) == 5            # reminder, channel+supervisor, channel+manager
    show = bot("/complaint show Q1")
    assert "deadline missed, escalated · → sup · response" in show
    assert "escalated to manager · → wang · response" in show


def test_acknowledged_escalation_does_not_reach_the_manager(bot) -> None:
    _setup(bot)
    bot(NEW_HIGH, ":advance 4h", ":as sup")
    assert "sup acknowledged the escalation of Q1." in bot("/complaint ack Q1")
    assert "already acknowledged by sup" in bot(":as wang", "/complaint ack Q1")
    assert [x for x in _sent(bot(":advance 5h")) if "@wang" in x or "escalated to wang" in x] == []


def test_take_over_and_reassign(bot, app) -> None:
    _setup(bot)
    bot(NEW_HIGH, ":advance 4h", ":as sup")
    assert "sup took over Q1." in bot("/complaint take Q1")
    assert _complaint(app).assignee_id == _member_id(app, "sup")
    out = bot("/complaint assign Q1 carol")
    assert "Q1 is now assigned to carol." in out
    assert any("→ @carol: Complaint Q1 from Acme (high severity) is yours" in x for x in _sent(out))
    assert "is already assigned to carol" in bot("/complaint assign Q1 carol")


def _member_id(app, name: str) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(Member.id).where(Member.name == name))


def test_resolution_stops_escalation(bot, app) -> None:
    _setup(bot)
    bot(NEW_HIGH, ":as alice", '/complaint update Q1 note="called, replacement on its way"')
    out = bot(":advance 4h")
    assert not [x for x in _sent(out) if "response" in x]                 # answered: no response escalation
    assert "Satisfaction callback CB3 is due Nov 24, 2026." in bot("/complaint resolve Q1")
    out = bot(":advance 3d")
    assert [x for x in _sent(out) if "Q1" in x] == [
        "[2026-11-24 09:00] → @alice: Satisfaction callback due Nov 24, 2026: ask Acme whether complaint Q1 is "
        'settled, then: /complaint callback Q1 satisfied|unsatisfied note="..."']
    with app.uow() as uow:
        states = set(uow.session.scalars(select(DueItem.state).where(DueItem.kind == "complaint")))
    assert states == {"cancelled"}
    c = _complaint(app)
    assert c.status == "resolved" and c.missed is False


def test_closing_without_a_callback_calls_the_callback_off(bot, app) -> None:
    """`/complaint close` says the satisfaction callback will not be made: its reminder does not come, it
    is not counted as due, and the archive says why (rather than staying open and being reminded the next day)."""
    _setup(bot)
    bot(NEW_HIGH, ":as alice", "/complaint resolve Q1", '/complaint close Q1 note="the customer cannot be reached"')
    with app.uow() as uow:
        cb = uow.session.get(Callback, _complaint(app).callback_id)
        assert (cb.status, cb.result) == ("cancelled", "the customer cannot be reached")
    assert "CB3" not in bot("/callback list")
    assert "not made: the customer cannot be reached" in bot("/customer show Acme")
    assert "was called off by alice: the customer cannot be reached" in bot('/callback done CB3 result="x"')
    assert not [x for x in _sent(bot(":advance 3d")) if "Satisfaction callback" in x]
    with app.uow() as uow:
        got = figures.compute(uow, Scope(1, date(2026, 11, 1), date(2026, 12, 31), "Asia/Shanghai"),
                              ["callbacks_due", "callback_completion"])
    assert got["callbacks_due"].value == 0 and got["callback_completion"].params["total"] == 0


def test_satisfied_callback_closes_and_unsatisfied_reopens_with_fresh_deadlines(bot, app) -> None:
    _setup(bot)
    bot(NEW_HIGH, ":as alice", '/complaint solution Q1 "new delivery on friday"', "/complaint resolve Q1")
    assert 'CB3 is the satisfaction callback of complaint Q1' in bot('/callback done CB3 result="ok"')
    bot(":advance 1d")                                                   # Tue 10:00
    out = bot('/complaint callback Q1 不满意 note="still late"')      # the outcome in Chinese words too
    assert "The customer is not satisfied: Q1 is reopened." in out
    assert "a response by Nov 24, 2026, 2:00 PM, a resolution by Nov 26, 2026, 10:00 AM" in out
    c = _complaint(app)
    assert (c.status, c.round, c.responded_at, c.resolved_at) == ("open", 2, None, None)
    with app.uow() as uow:
        cb = uow.session.get(Callback, 3)
        assert (cb.status, cb.result) == ("done", "unsatisfied: still late")
    out = _sent(bot(":advance 4h"))                                      # the new round's ladder runs
    assert any("→ @sup: Complaint Q1" in x for x in out)
    assert "is in progress" in bot("/complaint callback Q1 satisfied")    # wrong state: nothing changes
    bot("/complaint resolve Q1")
    assert "The customer is satisfied: Q1 is closed." in bot("/complaint callback Q1 satisfied")
    show = bot("/complaint show Q1")
    kinds = [line.split(" · ")[1] for line in show.splitlines() if line.startswith("  • ")]
    assert kinds == ["intake", "assigned", "solution", "resolved", "callback", "reopened",
                     "deadline missed, escalated", "resolved", "callback", "closed"]
    assert "Status: closed" in show
    assert "is closed; that step is not possible now" in bot('/complaint update Q1 note="x"')


def test_critical_pages_at_once_and_ignores_quiet_hours(bot, clock) -> None:
    clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=SH))                 # Monday 21:00, in the quiet hours
    _setup(bot)
    out = _sent(bot('/complaint new Acme severity=critical what="line down" wants="engineer tonight"'))
    assert out == [
        "[2026-11-23 21:00] → @alice: Complaint Q1 from Acme (critical) is yours: line down. The customer wants: "
        "engineer tonight. Promised: response by Nov 23, 2026, 10:00 PM, resolution by Nov 24, 2026, 5:00 AM.",
        "[2026-11-23 21:00] → #esc: Critical complaint Q1 from Acme: line down. Assigned to alice; response "
        "promised by Nov 23, 2026, 10:00 PM.",
    ]
    out = _sent(bot(":advance 1h"))
    assert [x[:27] for x in out] == ["[2026-11-23 21:45] → @alice", "[2026-11-23 22:00] → #esc: ",
                                     "[2026-11-23 22:00] → @sup: "]


def test_non_critical_waits_for_working_hours(bot, clock) -> None:
    clock.set(datetime(2026, 11, 23, 19, 0, tzinfo=SH))
    _setup(bot)
    bot(":as wang", "/complaint policy set high response=4h resolution=1d hours=calendar", ":as carol", NEW_HIGH)
    out = _sent(bot(":advance 13h"))                                     # until Tuesday 08:00: all held back
    assert [x for x in out if "Q1" in x] == []
    out = _sent(bot(":advance 1h"))
    assert {x[:18] for x in out if "Q1" in x} == {"[2026-11-24 08:30]"}


def test_policy_show_and_set_are_for_admins(bot) -> None:
    _setup(bot)
    assert "high severity: response 4h, resolution 2d (working time)" in bot("/complaint policy")
    assert "Only admin or manager may do that." in bot("/complaint policy set high response=2h")
    bot(":as wang")
    assert "response 2h, resolution 2d (working time)" in bot("/complaint policy set high response=2h")
    assert "Cannot read '2x' as a duration" in bot("/complaint policy set high response=2x")
    assert "cannot come before the response" in bot("/complaint policy set low resolution=1h")
    assert "Nothing to change" in bot("/complaint policy set low")
    assert "Only admin or manager may use /complaint channel." in bot(":as alice", "/complaint channel #x")


def test_on_duty_takes_what_no_owner_can(bot, app) -> None:
    _setup(bot)
    bot(":as wang", "/team add dave role=service", "/complaint onduty dave")
    with app.uow() as uow:
        uow.session.get(Member, _member_id(app, "alice")).active = False
        uow.commit()
    assert "assigned to dave" in bot(":as carol", NEW_HIGH)
    bot(":as wang", "/complaint onduty -")
    assert "assigned to carol" in bot(":as carol", NEW_HIGH)               # the least-loaded service member
    assert "assigned to bob" in bot(NEW_HIGH + " assignee=bob")


def test_who_sees_which_complaint(bot, app) -> None:
    _setup(bot)
    bot(NEW_HIGH, '/complaint new Beta severity=low what=x wants=y')
    bot(":as bob")
    assert bot("/complaint show Q1") == bot("/complaint show Q9").replace("Q9", "Q1")  # as if there were none
    listed = bot("/complaint list")
    assert "Q2 · Beta" in listed and "Q1" not in listed
    assert "No customer matches 'Acme'." in bot('/complaint new Acme severity=low what=x wants=y')
    assert "Q1 · Acme" in bot(":as sup", "/complaint list team") and "Q2 · Beta" in bot("/complaint list team")
    carol = bot(":as carol", "/complaint list mine")
    assert "Q1" in carol and "Q2" in carol                                  # she logged both
    assert "Q1" not in bot(":as wang", "/complaint list overdue")
    assert "Q1 · Acme" in bot(":advance 4h", "/complaint list overdue")
    assert "No complaint Q1." in bot(":as bob", '/complaint update Q1 note="x"')
    assert _complaint(app).responded_at is None
    assert "Timeline:" in bot(":as carol", "/complaint show Q1")
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "denied"))
        actions = set(uow.session.execute(select(AuditEntry.action, AuditEntry.entity_ref)
                                          .where(AuditEntry.entity == "complaint")).all())
    assert {("create", "Q1"), ("read", "Q1"), ("read", None)} <= actions


def test_bad_input_changes_nothing(bot, app) -> None:
    _setup(bot)
    assert "Unknown severity 'urgent'" in bot('/complaint new Acme severity=urgent what=x wants=y')
    assert "Missing wants=" in bot('/complaint new Acme severity=low what=x')
    assert "No customer matches 'Nobody'" in bot('/complaint new Nobody severity=low what=x wants=y')
    assert "No complaint Q9." in bot("/complaint show Q9")
    bot(NEW_HIGH)
    assert "a satisfaction callback follows its resolution" in bot("/complaint callback Q1 satisfied")
    assert "only a resolved complaint can be closed" in bot('/complaint close Q1 note="x"')
    assert "has not been escalated" in bot("/complaint ack Q1")
    assert "Cannot read 'someday' as a period" in bot("/kpi complaints me someday")
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Complaint)) == 1


def test_kpis_on_a_known_set(bot, app) -> None:
    _setup(bot)
    bot(NEW_HIGH, NEW_HIGH, NEW_HIGH, '/complaint new Beta severity=low what=x wants=y')  # Q1–Q3 alice, Q4 bob
    bot(":as alice", '/complaint update Q1 note="on it"', "/complaint resolve Q1",     # on time
        "/complaint callback Q1 satisfied")
    bot(":advance 5h", '/complaint update Q2 note="late"', "/complaint resolve Q2")   # response missed at 14:00
    # Q3 stays open and overdue; Q4 (bob) untouched
    bot(":as wang")
    with app.uow() as uow:
        ids = dict(uow.session.execute(select(Member.name, Member.id)).all())
        week = Scope(org_id=1, first=date(2026, 11, 23), end_day=date(2026, 11, 30), tz="Asia/Shanghai")
        alice = Scope(1, week.first, week.end_day, week.tz, frozenset({ids["alice"]}))
        dept, mine = figures.compute(uow, week), figures.compute(uow, alice)
        # carol (service) took all four in: they count for her too, and once for the department
        received = figures.compute(uow, Scope(1, week.first, week.end_day, week.tz, frozenset({ids["carol"]})))
        both = figures.compute(uow, Scope(1, week.first, week.end_day, week.tz,
                                          frozenset({ids["carol"], ids["alice"]})))
    assert mine["complaints_opened"].value == 3 and dept["complaints_opened"].value == 4
    assert received["complaints_opened"].value == 4 and received["complaints_overdue"].value == 2
    assert received["complaint_timeliness"].value == 0.5 and both["complaints_opened"].value == 4
    assert mine["complaints_overdue"].value == 2                            # Q2 and Q3 missed 14:00
    assert mine["complaints_closed"].value == 1
    assert mine["complaint_timeliness"].value == 0.5                        # Q1 of Q1, Q2
    assert abs(mine["complaint_resolution"].value - 2 / 3) < 1e-9
    measures = app.wiring[figures.MEASURES]
    assert measures["complaints_opened"].digest and not measures["complaint_timeliness"].digest
    out = bot("/kpi complaints alice week")
    assert "Complaint KPIs for alice, Nov 23, 2026 – Nov 29, 2026" in out
    assert "Complaint handling timeliness rate: 50% (1 of 2 complaints resolved in the period were answered" in out
    assert "Complaint resolution rate: 67% (2 of 3" in out
    assert "Complaints opened: 4" in bot("/kpi complaints all week")
    assert "Complaints opened: 4" in bot(":as sup", "/kpi complaints team week")     # alice's and bob's
    assert "Only managers see the whole department's figures" in bot("/kpi complaints all")
    assert "You do not have access to carol." in bot(":as alice", "/kpi complaints carol")
    assert "Complaint KPIs for alice, Nov 1, 2026 – Nov 30, 2026" in bot("/kpi complaints")


def test_sweeping_again_sends_nothing_twice(bot, app) -> None:
    _setup(bot)
    bot(NEW_HIGH)
    bot(":advance 1w")
    with app.uow() as uow:
        n = uow.session.scalar(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.key.like("complaint:1:%")))
    bot(":advance 1w")
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.key.like("complaint:1:%"))) == n


def test_two_people_acting_at_once_one_wins_and_the_other_is_told(bot, app) -> None:
    from domain.complaints import cases as complaints
    from domain.kernel.errors import Conflict
    from domain.team.members import actor_for

    _setup(bot)
    bot(NEW_HIGH)
    with app.uow() as uow:
        alice = actor_for(uow, uow.session.get(Member, _member_id(app, "alice")))
        sup = actor_for(uow, uow.session.get(Member, _member_id(app, "sup")))
    first, second = app.uow(), app.uow()
    with first, second:
        held = [complaints.find_complaint(first, alice, "Q1"),
                complaints.find_complaint(second, sup, "Q1")]   # both have read version 1 (held: the identity
        complaints.record_update(first, alice, "Q1", "called the customer")   # map keeps weak references)
        with pytest.raises(Conflict):
            complaints.take_over(second, sup, "Q1")
        assert held
    c = _complaint(app)
    assert c.assignee_id == _member_id(app, "alice") and c.responded_at is not None
    assert "· takeover" not in bot("/complaint show Q1") and "taken over" not in bot("/complaint show Q1")


def test_working_hours_are_set_by_command_and_chinese_option_names_work(bot) -> None:
    bot("/team add alice role=sales", ":as alice", "/customer new Acme", ":as wang")
    assert "not a working day" in bot("/complaint hours 9-6")
    assert "at least an hour" in bot("/complaint hours 09:00-09:30")
    assert "Only" in bot(":as alice", "/complaint hours 08:00-17:00")
    assert "now count 08:30-17:30 on working days" in bot(":as wang", "/complaint hours 08:30-17:30")
    assert "Working hours: 08:30-17:30" in bot("/complaint policy")
    out = bot('/complaint new Acme 严重程度=高 问题="发货延迟" 诉求="本周内发货" 联系方式="李先生"')
    # high: response 4 working hours (Mon 14:00), resolution 2 working days of 9 h counted from 08:30-17:30:
    # Mon 10:00-17:30 (7.5 h) + Tue (9 h) + Wed 08:30-10:00 (1.5 h) = Wed 10:00
    assert "a response by Nov 23, 2026, 2:00 PM, a resolution by Nov 25, 2026, 10:00 AM" in out
    assert "Contact: 李先生" in bot("/complaint show Q1")


def test_a_manager_who_is_also_the_supervisor_is_messaged_once_per_deadline(bot) -> None:
    bot("/team add carol role=sales supervisor=wang", "/complaint channel C0ESCAL01", ":as carol",
        "/customer new Acme", ":as wang",
        '/complaint new Acme severity=high what="late" wants="delivery"')        # response due 14:00
    out = bot(":advance 6h")                                                       # 16:00: supervisor step
    assert len([x for x in out.splitlines() if "→ @wang: Complaint Q1" in x and "escalated to you" in x]) == 1
    out = bot(":advance 5h")                                                       # past the manager step
    assert not [x for x in out.splitlines() if "→ @wang: Complaint Q1" in x and "escalated to you" in x]
    # the channel still hears, with what is new: not the first post's words again
    assert [x for x in out.splitlines() if "→ #C0ESCAL01: Still not acknowledged: complaint Q1" in x
            and "now with the manager, wang" in x]
