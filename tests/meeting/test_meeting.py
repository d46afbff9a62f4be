"""The weekly meeting: prompts, the digest's figures and chart, holidays, action items, on the injected clock."""
from __future__ import annotations

import struct
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select

from domain.delivery.due import sweep
from domain.kernel.errors import Invalid
from domain.meeting import weekly as meeting
from domain.reporting import chart
from domain.reporting.figures import MEASURES, Figure, Measure
from domain.store.models import (
    ActionItem,
    DueItem,
    MeetingUpdate,
    Organisation,
    OutboxAttachment,
    OutboxMessage,
)


def _to(text: str, who: str) -> list[str]:
    return [line for line in _messages(text) if f"→ {who}:" in line]


def _messages(text: str) -> list[str]:
    """What bizbot said on its own, apart from the monthly appraisal prompts (tests/appraisals/test_appraisals.py)."""
    return [line for line in text.splitlines() if "] → " in line and "self-review" not in line]


def _team(bot) -> None:
    bot("/team add alice role=sales", "/team add bob role=sales", "/team add carol role=service",
        "/team add dave role=finance")


def test_prompts_reach_the_reporters_at_the_local_time_and_one_reminder_before(bot) -> None:
    _team(bot)
    out = bot("/meeting set day=monday time=09:30 channel=sales")
    assert "Reporters: alice, bob, and carol" in out and "Nov 27, 2026, 3:00\u202fPM" in out
    assert _messages(bot(":advance 4d")) == []                       # Friday 10:00: nothing yet
    prompts = _messages(bot(":advance 6h"))                          # Friday 16:00
    assert [line.split(":", 2)[0] + ":" + line.split(":", 2)[1] for line in prompts] == [
        "[2026-11-27 15:00] → @alice", "[2026-11-27 15:00] → @bob", "[2026-11-27 15:00] → @carol"]
    assert "The weekly meeting is on Nov 30, 2026 at 09:30" in prompts[0]
    out = bot(":as alice", '/meeting update done="3 visits" problems="none" plan="close Acme"')
    assert "your update for the meeting on Nov 30, 2026, 9:30\u202fAM is in" in out
    out = bot(":as wang", ":advance 2d", ":advance 16h")             # Monday 08:00
    assert _messages(out) == []
    out = bot(":advance 1h")                                         # 08:30: one reminder to bob and carol
    assert [line[:30] for line in _messages(out)] == ["[2026-11-30 08:30] → @bob: Rem",
                                                      "[2026-11-30 08:30] → @carol: R"]
    out = bot(":advance 1h")                                         # 09:30: the digest
    (digest,) = _to(out, "#sales")
    assert digest.startswith("[2026-11-30 09:30] → #sales: Weekly meeting Nov 30, 2026 09:30 — digest")
    assert "  • alice — done: 3 visits · problems: none · plan: close Acme" in out
    assert "Not answered:\n  • bob\n  • carol\n" in out
    assert "📎 " in out and "digest-1-2026-11-30.png" in out
    out = bot(":advance 7d")                                         # next week: once each, again
    assert len([line for line in _to(out, "@alice") if "Please send your update" in line]) == 1
    assert len(_to(out, "#sales")) == 1 and len(_to(out, "@dave")) == 0


def test_digest_figures_on_a_known_data_set(bot, app) -> None:
    _team(bot)
    bot("/meeting set day=monday time=09:30 channel=sales")
    # the week before: 2 customers, 2 leads, 1 visit
    bot(":as alice", "/customer new Acme", "/customer new Beta", "/lead new Acme", "/lead new Beta",
        "/visit Acme note=first")
    bot(":advance 7d")                                               # Monday 30 November 10:00
    # last week: 1 customer, 1 lead, 3 visits, 2 stage moves, a callback due and done
    bot("/customer new Gamma", "/lead new Gamma", "/lead stage L1 screening", "/lead stage L1 negotiation",
        "/visit Acme note=a next=2026-12-02", "/visit Beta note=b", "/visit Gamma note=c")
    bot(":advance 2d")
    assert "recorded" in bot('/callback done CB4 result="ok"')
    out = bot(":as wang", ":advance 4d", ":advance 24h")             # Monday 7 December 10:00
    assert "Weekly meeting Dec 7, 2026 09:30 — digest" in out
    assert "Figures Nov 30, 2026 – Dec 6, 2026:" in out
    for line in ("New customers: 1 (−1 from the week before)", "New leads: 1 (−1 from the week before)",
                 "Visits: 3 (+2 from the week before)", "Stage moves: 2 (+2 from the week before)",
                 "Callbacks due: 1 (+1 from the week before)", "Callbacks done: 1 (+1 from the week before)"):
        assert f"  • {line}\n" in out
    shown = [m for m in meeting.digest_measures(app.wiring)]
    # the digest's order: leads, visits, stage moves, contracts, complaints, callbacks
    assert [m.key for m in shown] == ["new_customers", "new_leads", "visits", "stage_moves", "contracts_submitted",
                                      "contracts_approved", "contracts_pending", "contract_value_signed",
                                      "complaints_opened", "complaints_overdue", "complaints_closed",
                                      "orders_handed_down", "target_completion", "collected_value", "orders_late",
                                      "overdue_value", "overdue_rate", "complaint_rate", "callbacks_due",
                                      "callbacks_done", "active_projects", "late_milestones", "satisfaction_rate",
                                      "open_collab", "risk_event_rate"]
    assert all(m.digest for m in shown) and "negotiation_success" not in [m.key for m in shown]
    with app.uow() as uow:
        org = uow.session.get(Organisation, 1)
        d = meeting.build_digest(uow, org, date(2026, 12, 7))
    assert [r.measure.key for r in d.figures] == [m.key for m in shown]       # whatever the registry holds
    values = {r.measure.key: (r.now.value, r.before.value) for r in d.figures}
    assert values["visits"] == (3, 1) and values["new_customers"] == (1, 2) and values["stage_moves"] == (2, 0)
    assert dict(d.pipeline)["negotiation"] == 1 and dict(d.pipeline)["research"] == 2
    assert [m.name for m in d.missing] == ["alice", "bob", "carol"]


def test_every_registered_digest_measure_is_shown(bot, app) -> None:
    """Measures other areas add (contracts, complaints) appear in the digest without changes here."""
    def money(uow, scope):
        return Figure("test_money", 1500, "money")

    app.wiring[MEASURES].add(Measure("test_money", "Test signed value", "money", money, order=999))
    out = bot("/digest")
    assert "Test signed value: CN¥1,500.00 (±CN¥0.00 from the week before)" in out


def test_chart_is_a_png_of_sensible_size(bot, app) -> None:
    bot("/customer new Acme", "/lead new Acme", "/visit Acme note=x")
    with app.uow() as uow:
        org = uow.session.get(Organisation, 1)
        d = meeting.build_digest(uow, org, date(2026, 11, 30))
    png = meeting.digest_chart(d, "en")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 450)
    assert 5_000 < len(png) < 300_000
    # Chinese labels are drawn in Chinese, every glyph from bizbot's own CJK font (no machine font needed)
    chinese = meeting.digest_chart(d, "zh")
    names = chart.render("商机阶段分布", [("市场调研", 1)], "上周与前一周", [("拜访 喆堃", 2, 1)], ("上周", "前一周"))
    assert chinese[:8] == names[:8] == b"\x89PNG\r\n\x1a\n" and chinese != png
    shipped = ImageFont.truetype(str(chart.FONT), 13)

    def drawn(ch: str) -> bytes:
        image = Image.new("L", (30, 30))
        ImageDraw.Draw(image).text((2, 2), ch, font=shipped, fill=255)
        return image.tobytes()

    missing = drawn("\U000f0000")  # a private-use character: the font's "no glyph" box
    for text in ("商机阶段分布市场调研上周与前一周拜访喆堃，（）：", "Zoë Müller 123,456.7 (10,000 CNY)"):
        assert all(drawn(ch) != missing for ch in text if not ch.isspace()), text
    assert chart.font_path() == chart.FONT or chart.font_path().is_file()
    out = bot("/digest")
    assert "The chart follows in a message." in out and "→ @wang: The chart for the meeting on" in out
    with app.uow() as uow:
        (stored,) = uow.session.scalars(select(OutboxAttachment))
    # stored as what it shows (a small document), drawn as a PNG where it is sent
    assert stored.mime == chart.DESCRIBED and len(stored.data) < 2_000
    assert chart.draw(stored.data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_holiday_moves_the_meeting_to_the_next_working_day(bot, app, clock) -> None:
    clock.set(datetime(2026, 9, 28, 2, 0, tzinfo=UTC))               # Monday 28 September 2026, 10:00
    _team(bot)
    out = bot("/meeting set day=monday time=09:30 channel=sales")
    assert "Next meeting: Oct 8, 2026, 9:30\u202fAM" in out           # 5 October is in the National Day holiday
    assert "Sep 30, 2026, 3:00\u202fPM" in out                          # asked on the last working day before
    out = bot(":advance 11d")
    digests = _to(out, "#sales")
    assert [line[:20] for line in digests] == ["[2026-10-08 09:30] →"]
    prompts = [line for line in _to(out, "@alice") if "The weekly meeting is on" in line]
    assert [line[:18] for line in prompts] == ["[2026-09-30 15:00]"]
    assert "The weekly meeting is on Oct 8, 2026 at 09:30" in prompts[0]
    with app.uow() as uow:
        org = uow.session.get(Organisation, 1)
        sched = meeting.schedule_of(org)
        assert meeting.meeting_day(org, sched, date(2026, 10, 5)) == date(2026, 10, 8)
        assert meeting.meeting_day(org, sched, date(2026, 10, 12)) == date(2026, 10, 12)


def test_action_items_carry_into_the_next_digest_until_done(bot, app) -> None:
    _team(bot)
    bot("/meeting set channel=sales")
    out = bot('/action alice "send Acme the price list" due=2026-11-25')
    assert "Action item A1 for alice, due Nov 25, 2026: send Acme the price list" in out
    out = bot(":advance 2d")                                          # Wednesday: the reminder, at 09:00
    (reminder,) = _to(out, "@alice")
    assert reminder.startswith("[2026-11-25 09:00] → @alice: Action item A1 is due Nov 25, 2026")
    out = bot(":advance 5d")
    assert "  • A1 · alice · send Acme the price list · due Nov 25, 2026 · overdue" in out
    assert "A1 · alice" in bot("/action list")
    assert "A1" in bot(":as alice", "/agenda")
    assert "Action item A1 is done." in bot("/action done A1")
    assert "already done" in bot("/action done A1")
    out = bot(":as wang", ":advance 7d")
    assert "Open action items:\n  none" in out and "A1 ·" not in out


def test_minutes_and_the_rules_for_action_items(bot, app) -> None:
    _team(bot)
    assert "Minutes recorded for the week of Nov 23, 2026" in bot('/meeting minutes "Focus on key accounts"')
    assert "Only" in bot(":as alice", '/meeting minutes "x"')
    notes = bot("/meeting notes")                                  # anyone may read them
    assert "Minutes of the meeting in the week of Nov 23, 2026" in notes and "wang: Focus on key accounts" in notes
    assert "none recorded" in bot("/meeting notes 2026-11-16")
    assert "纪要:\n  • 2026年11月23日" in bot("/settings lang zh", "/meeting notes")  # not the approvals' 审批记录
    bot("/settings lang en")
    assert "Only the manager" in bot('/action bob "call Beta" due=friday')
    assert "Action item A1 for alice" in bot('/action alice "call Beta" due=friday')
    assert "No action item A9" in bot("/action done A9")
    assert "has passed" in bot(":as wang", '/action bob "x" due=2026-11-01')
    assert "No member" in bot('/action nobody "x" due=friday') or "nobody" in bot('/action nobody "x" due=friday')
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(ActionItem.id))) == 1


def test_bad_settings_change_nothing(bot, app) -> None:
    _team(bot)
    for line, answer in (("/meeting set day=funday", "day of the week"), ("/meeting set time=25:00", "time of day"),
                         ("/meeting set ask=soon", "when to ask"), ("/meeting set reporters=ghosts", "ghosts"),
                         ("/meeting set lang=fr", "Unknown language")):
        assert answer in bot(line), line
    assert "Only" in bot(":as alice", "/meeting set day=friday")
    with app.uow() as uow:
        assert "meeting" not in uow.session.get(Organisation, 1).settings
        assert uow.session.scalar(select(func.count(DueItem.id)).where(DueItem.kind.like("meeting%"))) == 0
    assert "not set up yet" in bot(":as wang", "/meeting show")


def test_reporters_by_name_and_role_and_the_update_is_replaced(bot, app) -> None:
    _team(bot)
    out = bot("/meeting set reporters=service,dave time=14:00 ask=3h")
    assert "Reporters: carol and dave" in out and "180 minutes before the meeting" in out
    bot(":as carol", '/meeting update done=a problems=b plan=c', '/meeting update done=x problems=y plan=z')
    with app.uow() as uow:
        (row,) = uow.session.scalars(select(MeetingUpdate))
        assert (row.done, row.week) == ("x", date(2026, 11, 23))      # today's meeting, at 14:00
    out = bot(":as wang", ":advance 7d")
    assert [line[:18] for line in _to(out, "@dave")][:1] == ["[2026-11-23 11:00]"]
    assert _to(out, "@carol") == []


def test_answers_given_before_the_meeting_moves_go_with_it(bot, app) -> None:
    _team(bot)
    bot("/meeting set day=monday time=09:30 channel=sales")
    out = bot(":as alice", '/meeting update done="3 visits" problems="none" plan="close Acme"')
    assert "the meeting on Nov 30, 2026" in out
    bot(":as bob", '/meeting update done="2 visits" problems="late quote" plan="chase"')
    out = bot(":as wang", "/meeting set day=friday time=16:00")       # the next meeting is now Friday 27th
    assert "Next meeting: Nov 27, 2026, 4:00\u202fPM" in out
    out = bot(":as bob", '/meeting update 完成="2 visits, 1 quote" 问题="none" 计划="chase"')  # Chinese option names
    assert "the meeting on Nov 27, 2026" in out                        # answering again replaces, there
    out = bot(":as wang", ":advance 4d", ":advance 6h")                 # Friday 16:00
    (digest,) = _to(out, "#sales")
    assert digest.startswith("[2026-11-27 16:00] → #sales: Weekly meeting Nov 27, 2026 16:00 — digest")
    assert "  • alice — done: 3 visits · problems: none · plan: close Acme" in out
    assert "  • bob — done: 2 visits, 1 quote" in out and "Not answered:\n  • carol\n" in out
    assert not [line for line in _to(out, "@alice") + _to(out, "@bob") if "Please send your update" in line]
    with app.uow() as uow:
        assert set(uow.session.scalars(select(MeetingUpdate.week))) == {date(2026, 11, 23)}


def test_restarts_and_sweeps_neither_skip_nor_double(bot, app, clock) -> None:
    _team(bot)
    bot("/meeting set channel=sales")
    bot(":advance 7d")
    for _ in range(3):
        sweep(app.services.uow)
    with app.uow() as uow:
        keys = list(uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like("meeting:%"))))
        items = list(uow.session.scalars(select(DueItem).where(DueItem.kind.like("meeting%"))))
    assert sorted(k for k in keys if "digest" in k) == ["meeting:digest:1:2026-11-30"]
    assert len([k for k in keys if ":ask:" in k]) == 3
    assert sorted(i.kind for i in items) == ["meeting", "meeting-ask", "meeting-nudge"]
    assert all(i.state == "pending" and i.due_at > clock.now() for i in items)


def test_meeting_keeps_its_local_time_across_daylight_saving(bot, app, clock) -> None:
    clock.set(datetime(2026, 10, 19, 16, 0, tzinfo=UTC))               # Monday 12:00 in New York
    _team(bot)
    bot("/settings timezone America/New_York", "/meeting set day=monday time=09:30 channel=sales")
    seen = []
    for _ in range(4):
        bot(":advance 7d")
        with app.uow() as uow:
            item = uow.session.scalar(select(DueItem).where(DueItem.kind == "meeting"))
            seen.append(item.due_at.astimezone(ZoneInfo("America/New_York")))
    assert [(x.hour, x.minute, x.weekday()) for x in seen] == [(9, 30, 0)] * 4
    assert len({x.date() for x in seen}) == 4
    with app.uow() as uow:
        digests = list(uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like("meeting:digest%"))))
    assert len(digests) == 4


def test_digest_in_the_channel_language(bot, app) -> None:
    _team(bot)
    bot("/meeting set channel=sales lang=zh", ":as alice", "/customer new Acme")
    out = bot(":as wang", ":advance 7d")
    (digest,) = _to(out, "#sales")
    assert "例会" in digest or "周会" in digest
    assert "新客户" in out or "新增客户" in out


@pytest.mark.fast
@given(st.sampled_from(["monday", "Mon", "1", "周一", "星期一", "礼拜一"]))
def test_weekday_names(text: str) -> None:
    assert meeting.parse_weekday(text) == 0


@pytest.mark.fast
@given(st.integers(0, 23), st.integers(0, 59))
def test_clock_round_trips(hour: int, minute: int) -> None:
    assert meeting.parse_clock(f"{hour:02d}:{minute:02d}").strftime("%H:%M") == f"{hour:02d}:{minute:02d}"
    assert meeting.parse_ask(f"{hour}:{minute:02d}") == f"{hour:02d}:{minute:02d}"


@pytest.mark.fast
@given(st.integers(1, 168))
def test_ask_spans_in_hours(hours: int) -> None:
    assert meeting.parse_ask(f"{hours}h") == f"{hours * 60}m"


@pytest.mark.fast
@given(st.text(max_size=20))
def test_schedule_parsers_never_crash(text: str) -> None:
    for parse in (meeting.parse_weekday, meeting.parse_clock, meeting.parse_ask):
        try:
            parse(text)
        except Invalid:
            pass


@pytest.mark.fast
@pytest.mark.parametrize("text,expected", [("9点半", "09:30"), ("15", "15:00"), ("9:05", "09:05")])
def test_clock_forms(text: str, expected: str) -> None:
    assert meeting.parse_clock(text).strftime("%H:%M") == expected


MEETING_COMMANDS = ["/meeting set", "/meeting show", "/meeting update", "/meeting minutes", "/action",
                    "/action done", "/action list", "/meeting", "/meeting nope"]
MEETING_WORDS = ["alice", "A1", "A999", "1", "²", "", '"', "周一", "sales", "=", "bob"]
MEETING_KEYS = ["day", "time", "channel", "reporters", "ask", "lang", "done", "problems", "plan", "due", "bogus"]
MEETING_VALUES = st.one_of(st.sampled_from(["monday", "周八", "25:00", "9点半", "3h", "0h", "sales,ghost", "zh", "fr",
                                            "tomorrow", "2026-01-01", "2026-02-30", '"two words"']),
                           st.text(max_size=10))


@st.composite
def meeting_lines(draw: st.DrawFn) -> str:
    parts = [draw(st.sampled_from(MEETING_COMMANDS))]
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(MEETING_WORDS)))
        else:
            parts.append(f"{draw(st.sampled_from(MEETING_KEYS))}={draw(MEETING_VALUES)}")
    return " ".join(parts)


def _counts(app) -> dict[str, int]:
    from domain.store.models import Base

    with app.uow() as uow:
        return {t.name: uow.session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables if t.name != "audit_log"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=meeting_lines())
def test_any_meeting_line_replies_and_errors_write_nothing(bot, app, line: str) -> None:
    bot.console.handle("/team add alice role=sales") if _counts(app)["members"] < 2 else None
    before = _counts(app)
    with app.uow() as uow:
        settings_before = dict(uow.session.get(Organisation, 1).settings)
    reply = app.registry.dispatch(bot.console.actor_ctx(), line)
    assert reply.as_text().strip()
    if reply.error:
        assert _counts(app) == before, line
        with app.uow() as uow:
            assert uow.session.get(Organisation, 1).settings == settings_before, line


def test_a_time_zone_change_keeps_the_meeting_at_its_local_time(bot, app) -> None:
    bot("/meeting set day=tuesday time=10:00 channel=sales")
    bot("/settings timezone Europe/Berlin")
    with app.uow() as uow:
        items = {i.kind: i.due_at for i in uow.session.scalars(select(DueItem).where(DueItem.kind.like("meeting%")))}
    berlin = {k: v.astimezone(ZoneInfo("Europe/Berlin")) for k, v in items.items()}
    assert berlin["meeting"].replace(tzinfo=None) == datetime(2026, 11, 24, 10, 0)
    assert berlin["meeting-nudge"].replace(tzinfo=None) == datetime(2026, 11, 24, 9, 0)
    assert berlin["meeting-ask"].replace(tzinfo=None) == datetime(2026, 11, 23, 15, 0)   # 03:00 in Berlin now
