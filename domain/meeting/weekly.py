"""The weekly meeting (部门例会): updates asked for before it, a digest posted at it, and
the action items its minutes hold.

The schedule lives in the organisation's settings. Three recurring due items per organisation
(kept as data, like customer care) drive it: `meeting-ask` sends each reporter a direct message
asking for their update, `meeting-nudge` reminds those who have not answered an hour before the
meeting, once, and `meeting` posts the digest to the meeting's channel. Each moves itself on to
the next week's instant when it fires; every message has an idempotency key naming the week, so
a restart or a daylight-saving change neither skips nor doubles one. A meeting that falls on a
day off (China's calendar) moves to the next working day.

A week is named by its Monday (the meeting's nominal week, before any holiday moves it).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from domain.delivery.calendar import is_workday, workday_on_or_after
from domain.delivery.due import cancel, schedule
from domain.delivery.outbox import Attachment, OutButton, attach, enqueue
from domain.kernel.actor import DEPARTMENT_ROLES, Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from domain.kernel.i18n import (
    N_,
    _,
    fmt_date,
    fmt_money,
    fmt_number,
    normalize_locale,
    translate,
    use_locale,
)
from domain.kernel.vocab import ROLES, STAGES
from domain.kernel.wiring import Wiring
from domain.reporting import chart
from domain.reporting.figures import MEASURES, Figure, Measure, Scope, compute, in_order
from domain.store.models import (
    ActionItem,
    DueItem,
    Lead,
    MeetingMinutes,
    MeetingUpdate,
    Member,
    Organisation,
)
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref, ref, require_role
from domain.team.agenda import AgendaEntry
from domain.team.members import find_member, name_key, org_setting

MEETING, ASK, NUDGE, ACTION = "meeting", "meeting-ask", "meeting-nudge", "action"
CHAIR_ROLES = frozenset({"admin", "manager", "deputy"})
DEFAULT_REPORTER_ROLES = ("sales", "service")
NUDGE_BEFORE = timedelta(hours=1)

# --- parsing what people type for the schedule -----------------------------------------------

_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2, "thu": 3, "thur": 3,
    "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}
_CN_WEEKDAY = re.compile(r"^(?:周|星期|礼拜|禮拜)([一二三四五六日天1-7])$")
_CN_DAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_CLOCK = re.compile(r"^([0-9]{1,2})\s*(?::|：|点|點|时|時|h)?\s*([0-9]{2}|半)?\s*(?:分)?$", re.I)
_BEFORE = re.compile(r"^([0-9]{1,3})\s*(m|min|h|d)$", re.I)


def parse_weekday(text: str) -> int:
    """Monday is 0: `monday`, `mon`, `1` (ISO, Monday=1), `周一`, `星期五`."""
    raw = text.strip().lower()
    if raw in _WEEKDAYS:
        return _WEEKDAYS[raw]
    if len(raw) == 1 and raw in "1234567":
        return int(raw) - 1
    if m := _CN_WEEKDAY.match(raw):
        day = m[1]
        return int(day) - 1 if day.isdecimal() else _CN_DAYS[day]
    raise Invalid(N_("Cannot read '{text}' as a day of the week. Try monday, fri or 周一."), text=text)


def parse_clock(text: str) -> time:
    """A wall-clock time: `09:30`, `9:30`, `15`, `9点半`."""
    m = _CLOCK.match(text.strip())
    if m:
        hour = int(m[1])
        minute = 30 if m[2] == "半" else int(m[2] or 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise Invalid(N_("Cannot read '{text}' as a time of day. Try 09:30 or 15:00."), text=text)


def parse_ask(text: str) -> str:
    """When updates are asked for: a time on the working day before (`15:00`), or a span before (`3h`).

    Returns the canonical form that is stored: `HH:MM`, or `<n>m` minutes before.
    """
    raw = text.strip()
    if m := _BEFORE.match(raw):
        n, unit = int(m[1]), m[2].lower()
        minutes = n * {"m": 1, "min": 1, "h": 60, "d": 1440}[unit]
        if not 60 <= minutes <= 7 * 1440:
            raise Invalid(N_("Ask for updates between 1 hour and 7 days before the meeting."))
        return f"{minutes}m"
    try:
        return parse_clock(raw).strftime("%H:%M")
    except Invalid:
        raise Invalid(N_("Cannot read '{text}' as when to ask. Try 15:00 (the working day before) or 3h."),
                      text=text) from None


# --- the schedule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    enabled: bool
    day: int = 0  # Monday
    at: time = time(9, 30)
    channel: str | None = None  # None: the organisation's own chat
    reporters: tuple[str, ...] | None = None  # role or member names; None: sales and service
    ask: str = "15:00"  # the working day before at this time, or "<n>m" minutes before
    lang: str | None = None  # the channel's language; None: the organisation's

    def to_settings(self) -> dict[str, Any]:
        return {"day": self.day, "time": self.at.strftime("%H:%M"), "channel": self.channel,
                "reporters": list(self.reporters) if self.reporters is not None else None, "ask": self.ask,
                "lang": self.lang}


def schedule_of(org: Organisation) -> Schedule:
    raw = (org.settings or {}).get("meeting")
    if not raw:
        return Schedule(enabled=False)
    reporters = raw.get("reporters")
    return Schedule(True, int(raw.get("day", 0)), parse_clock(raw.get("time", "09:30")), raw.get("channel"),
                    tuple(reporters) if reporters is not None else None, raw.get("ask", "15:00"), raw.get("lang"))


def channel_of(org: Organisation, sched: Schedule) -> str:
    return sched.channel or org.external_id


def lang_of(org: Organisation, sched: Schedule) -> str:
    return sched.lang or org.locale


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _working_before(org: Organisation, day: date) -> date:
    day -= timedelta(days=1)
    for _step in range(60):
        if is_workday(org, day):
            return day
        day -= timedelta(days=1)
    return day


def meeting_day(org: Organisation, sched: Schedule, week: date) -> date:
    """The meeting's local day in `week`, moved to the next working day if it falls on a day off."""
    return workday_on_or_after(org, week + timedelta(days=sched.day))


def meeting_at(org: Organisation, sched: Schedule, week: date) -> datetime:
    return at_local(meeting_day(org, sched, week), sched.at, org.timezone)


def ask_at(org: Organisation, sched: Schedule, week: date) -> datetime:
    """When the reporters are asked for their updates for `week`'s meeting."""
    if sched.ask.endswith("m"):
        return meeting_at(org, sched, week) - timedelta(minutes=int(sched.ask[:-1]))
    day = _working_before(org, meeting_day(org, sched, week))
    return at_local(day, parse_clock(sched.ask), org.timezone)


def nudge_at(org: Organisation, sched: Schedule, week: date) -> datetime:
    return meeting_at(org, sched, week) - NUDGE_BEFORE


WhenFn = Callable[[Organisation, Schedule, date], datetime]


def next_week(org: Organisation, sched: Schedule, when: WhenFn, after: datetime) -> date:
    """The first week whose instant (`when`) comes after `after`."""
    week = week_of(local_today(after, org.timezone)) - timedelta(days=21)
    for _step in range(120):
        if when(org, sched, week) > after:
            return week
        week += timedelta(days=7)
    raise AssertionError("no meeting within two years")


def week_at(org: Organisation, sched: Schedule, when: WhenFn, instant: datetime) -> date:
    """The latest week whose instant (`when`) is at or before `instant`."""
    week = week_of(local_today(instant, org.timezone)) + timedelta(days=21)
    for _step in range(120):
        if when(org, sched, week) <= instant:
            return week
        week -= timedelta(days=7)
    raise AssertionError("no meeting within two years")


def upcoming_week(org: Organisation, now: datetime) -> date:
    """The week of the next meeting (updates typed now are for it)."""
    return next_week(org, schedule_of(org), meeting_at, now)


def current_week(org: Organisation, now: datetime) -> date:
    """The week of the meeting held most recently (minutes and action items belong to it)."""
    return week_at(org, schedule_of(org), meeting_at, now)


_JOBS: dict[str, WhenFn] = {ASK: ask_at, NUDGE: nudge_at, MEETING: meeting_at}


def _plan_jobs(uow: UnitOfWork, org: Organisation) -> None:
    sched = schedule_of(org)
    for kind, when in _JOBS.items():
        if sched.enabled:
            schedule(uow, org.id, kind, org.id, when(org, sched, next_week(org, sched, when, uow.now)))
        else:
            cancel(uow, kind, org.id)


def recompute(uow: UnitOfWork, org: Organisation, item: DueItem) -> datetime | None:
    sched = schedule_of(org)
    when = _JOBS[item.kind]
    return when(org, sched, next_week(org, sched, when, uow.now)) if sched.enabled else None


def _move_on(uow: UnitOfWork, org: Organisation, item: DueItem, sched: Schedule) -> None:
    when = _JOBS[item.kind]
    after = max(item.due_at, uow.now)
    schedule(uow, org.id, item.kind, org.id, when(org, sched, next_week(org, sched, when, after)))


def resolve_reporters(uow: UnitOfWork, org: Organisation, sched: Schedule) -> list[Member]:
    """The active members who report: by role or by name; by default sales and service."""
    tokens = sched.reporters if sched.reporters is not None else DEFAULT_REPORTER_ROLES
    members = list(uow.session.scalars(
        select(Member).where(Member.org_id == org.id, Member.active).order_by(Member.name_key)))
    keys = {name_key(t) for t in tokens}
    return [m for m in members if m.name_key in keys or m.role_set & keys]


def _check_reporters(uow: UnitOfWork, org_id: int, text: str) -> tuple[str, ...]:
    tokens = tuple(t.strip() for t in re.split(r"[,，、\s]+", text) if t.strip())
    if not tokens:
        raise Invalid(N_("Name the reporters: roles (sales, service) or members, separated by commas."))
    out = []
    for token in tokens:
        key = name_key(token)
        if key in ROLES.labels:
            out.append(key)
            continue
        try:
            out.append(find_member(uow, org_id, token).name_key)
        except NotFound:
            raise NotFound(N_("No role or member called '{name}'."), name=token) from None
    return tuple(out)


def configure(uow: UnitOfWork, actor: Actor, *, day: str | None = None, at: str | None = None,
              channel: str | None = None, reporters: str | None = None, ask: str | None = None,
              lang: str | None = None) -> Schedule:
    """Set (or first turn on) the weekly meeting; what is not given keeps its value or default."""
    require_role(actor, CHAIR_ROLES)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    current = schedule_of(org)
    chosen_lang = None
    if lang is not None:
        chosen_lang = normalize_locale(lang)
        if chosen_lang is None:
            raise Invalid(N_("Unknown language '{lang}'. Choose en or zh."), lang=lang)
    new = Schedule(
        True,
        parse_weekday(day) if day is not None else current.day,
        parse_clock(at) if at is not None else current.at,
        channel.strip().lstrip("#") or None if channel is not None else current.channel,
        _check_reporters(uow, actor.org_id, reporters) if reporters is not None else current.reporters,
        parse_ask(ask) if ask is not None else current.ask,
        chosen_lang if lang is not None else current.lang,
    )
    was_next = next_week(org, current, meeting_at, uow.now)
    org.settings = {**(org.settings or {}), "meeting": new.to_settings()}
    _carry_updates(uow, org.id, was_next, next_week(org, new, meeting_at, uow.now))
    _plan_jobs(uow, org)
    uow.audit(actor.org_id, actor.member_id, "update", "meeting", None, str(new.to_settings())[:500])
    uow.commit()
    return new


def _carry_updates(uow: UnitOfWork, org_id: int, was: date, now: date) -> None:
    """When a new day or time makes another week's meeting the next one, the answers already given
    for the next meeting go with it (a member who answered again for the new one keeps that)."""
    if was == now:
        return
    answered = set(uow.session.scalars(select(MeetingUpdate.member_id).where(
        MeetingUpdate.org_id == org_id, MeetingUpdate.week == now)))
    for row in uow.session.scalars(select(MeetingUpdate).where(MeetingUpdate.org_id == org_id,
                                                               MeetingUpdate.week == was)):
        if row.member_id not in answered:
            row.week = now


@dataclass(frozen=True)
class Plan:
    schedule: Schedule
    channel: str
    lang: str
    week: date
    meeting: datetime
    ask: datetime
    reporters: list[Member]


def show(uow: UnitOfWork, actor: Actor) -> Plan:
    """The schedule and the next meeting."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    sched = schedule_of(org)
    week = next_week(org, sched, meeting_at, uow.now)
    plan = Plan(sched, channel_of(org, sched), lang_of(org, sched), week, meeting_at(org, sched, week),
                ask_at(org, sched, week), resolve_reporters(uow, org, sched))
    uow.audit(actor.org_id, actor.member_id, "read", "meeting", None, "show")
    uow.commit()
    return plan


# --- collection ------------------------------------------------------------------------------

ASK_MSG = N_("The weekly meeting is on {date} at {time}. Please send your update: what you did last week, "
             "problems you met, and your plan for this week. "
             "Or type: /meeting update done=\"...\" problems=\"...\" plan=\"...\"")
NUDGE_MSG = N_("Reminder: the weekly meeting starts at {time} and your update is still missing. "
               "/meeting update done=\"...\" problems=\"...\" plan=\"...\"")


def _answered(uow: UnitOfWork, org_id: int, week: date) -> set[int]:
    return set(uow.session.scalars(
        select(MeetingUpdate.member_id).where(MeetingUpdate.org_id == org_id, MeetingUpdate.week == week)))


def _unanswered(uow: UnitOfWork, org: Organisation, sched: Schedule, week: date) -> list[Member]:
    """The reporters who have not sent their update for `week`'s meeting yet."""
    answered = _answered(uow, org.id, week)
    return [m for m in resolve_reporters(uow, org, sched) if m.id not in answered]


def _local_time(org: Organisation, when: datetime) -> str:
    return when.astimezone(ZoneInfo(org.timezone)).strftime("%H:%M")


def fire_ask(uow: UnitOfWork, item: DueItem) -> None:
    org = uow.session.get(Organisation, item.subject_id)
    if org is None or not schedule_of(org).enabled:
        return
    sched = schedule_of(org)
    week = week_at(org, sched, ask_at, item.due_at)
    held = meeting_at(org, sched, week)
    if held > uow.now:  # not when the sweep comes back after the meeting itself
        for member in _unanswered(uow, org, sched, week):
            enqueue(uow, org_id=org.id, key=f"meeting:ask:{org.id}:{week.isoformat()}:{member.id}",
                    recipient_id=member.id, kind=ASK, msgid=ASK_MSG,
                    params={"date": held.astimezone(ZoneInfo(org.timezone)).date(), "time": _local_time(org, held)},
                    buttons=[OutButton(N_("Write my update"), "/meeting update")])
    _move_on(uow, org, item, sched)


def fire_nudge(uow: UnitOfWork, item: DueItem) -> None:
    org = uow.session.get(Organisation, item.subject_id)
    if org is None or not schedule_of(org).enabled:
        return
    sched = schedule_of(org)
    week = week_at(org, sched, nudge_at, item.due_at)
    held = meeting_at(org, sched, week)
    if ask_at(org, sched, week) < item.due_at and held > uow.now:
        for member in _unanswered(uow, org, sched, week):
            enqueue(uow, org_id=org.id, key=f"meeting:nudge:{org.id}:{week.isoformat()}:{member.id}",
                    recipient_id=member.id, kind=NUDGE, msgid=NUDGE_MSG, urgent=True,
                    params={"time": _local_time(org, held)},
                    buttons=[OutButton(N_("Write my update"), "/meeting update")])
    _move_on(uow, org, item, sched)


def record_update(uow: UnitOfWork, actor: Actor, done: str, problems: str, plan: str) -> tuple[date, datetime]:
    """A member's answers for the next meeting; answering again replaces them."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    sched = schedule_of(org)
    week = next_week(org, sched, meeting_at, uow.now)
    row = uow.session.scalar(select(MeetingUpdate).where(
        MeetingUpdate.org_id == org.id, MeetingUpdate.week == week, MeetingUpdate.member_id == actor.member_id))
    if row is None:
        row = uow.add(MeetingUpdate(org_id=org.id, week=week, member_id=actor.member_id, done=done,
                                    problems=problems, plan=plan, created_at=uow.now, updated_at=uow.now))
        action = "create"
    else:
        row.done, row.problems, row.plan, row.updated_at = done, problems, plan, uow.now
        action = "update"
    uow.audit(org.id, actor.member_id, action, "meeting_update", week.isoformat())
    uow.commit()
    return week, meeting_at(org, sched, week)


# --- the digest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    measure: Measure
    now: Figure
    before: Figure


@dataclass(frozen=True)
class Digest:
    org_id: int
    week: date
    meeting: datetime
    tz: str
    period: Scope
    answers: list[tuple[Member, MeetingUpdate]]
    missing: list[Member]
    figures: list[FigureRow]
    pipeline: list[tuple[str, int]]  # leads by stage, in pipeline order
    actions: list[tuple[ActionItem, Member]]
    today: date


def digest_measures(wiring: Wiring) -> list[Measure]:
    """Every measure shown in the digest, in order."""
    return [m for m in in_order(wiring[MEASURES]) if m.digest]


def pipeline(uow: UnitOfWork, org_id: int) -> list[tuple[str, int]]:
    rows = dict(uow.session.execute(select(Lead.stage, func.count(Lead.id)).where(
        Lead.org_id == org_id).group_by(Lead.stage)).all())
    return [(stage, int(rows.get(stage, 0))) for stage in STAGES.labels]


def open_actions(uow: UnitOfWork, org_id: int) -> list[tuple[ActionItem, Member]]:
    return [(a, m) for a, m in uow.session.execute(
        select(ActionItem, Member).join(Member, Member.id == ActionItem.owner_id)
        .where(ActionItem.org_id == org_id, ActionItem.status == "open")
        .order_by(ActionItem.due_date, ActionItem.id)).all()]


def build_digest(uow: UnitOfWork, org: Organisation, week: date) -> Digest:
    """The answers for `week`'s meeting, last week's figures against the week before, open actions."""
    sched = schedule_of(org)
    period = Scope(org_id=org.id, first=week - timedelta(days=7), end_day=week, tz=org.timezone)
    keys = [m.key for m in digest_measures(uow.wiring)]
    now, before = compute(uow, period, keys), compute(uow, period.previous(), keys)
    measures = uow.wiring[MEASURES]
    figures = [FigureRow(measures[k], now[k], before[k]) for k in keys]
    updates = {u.member_id: u for u in uow.session.scalars(select(MeetingUpdate).where(
        MeetingUpdate.org_id == org.id, MeetingUpdate.week == week))}
    members = {m.id: m for m in uow.session.scalars(select(Member).where(Member.org_id == org.id))}
    answers = sorted(((members[mid], u) for mid, u in updates.items()), key=lambda p: p[0].name_key)
    missing = [m for m in resolve_reporters(uow, org, sched) if m.id not in updates]
    return Digest(org.id, week, meeting_at(org, sched, week), org.timezone, period, answers, missing, figures,
                  pipeline(uow, org.id), open_actions(uow, org.id), local_today(uow.now, org.timezone))


def change(row: FigureRow) -> str:
    """The change from the week before, signed, in the current locale ('' if not measurable)."""
    a, b = row.now.value, row.before.value
    if a is None or b is None:
        return ""
    if row.now.unit == "rate":
        return _("was {value}").format(value=row.before.shown())
    diff = Decimal(str(a)) - Decimal(str(b))
    sign = "+" if diff > 0 else "−" if diff < 0 else "±"
    shown = fmt_money(abs(diff), row.now.currency) if row.now.unit == "money" else fmt_number(abs(diff))
    return f"{sign}{shown}"


@dataclass(frozen=True)
class DigestSection:
    title: str
    items: list[str]
    empty: str = ""


def digest_sections(d: Digest) -> tuple[str, list[DigestSection]]:
    """The digest as a title and sections, in the current locale."""
    last = d.period.end_day - timedelta(days=1)
    local = d.meeting.astimezone(ZoneInfo(d.tz))
    title = _("Weekly meeting {date} {time} — digest").format(date=fmt_date(local.date()),
                                                               time=local.strftime("%H:%M"))
    figures = []
    for row in d.figures:
        delta = change(row)
        line = _("{measure}: {value}").format(measure=translate(row.measure.label), value=row.now.shown())
        figures.append(_("{figure} ({change} from the week before)").format(figure=line, change=delta)
                       if delta else line)
    answers = [_("{name} — done: {done} · problems: {problems} · plan: {plan}").format(
        name=m.name, done=u.done, problems=u.problems, plan=u.plan) for m, u in d.answers]
    actions = []
    for a, owner in d.actions:
        line = _("{ref} · {owner} · {what} · due {date}").format(ref=ref("A", a.number), owner=owner.name, what=a.what,
                                                                 date=fmt_date(a.due_date))
        actions.append(line + (" · " + _("overdue") if a.due_date < d.today else ""))
    return title, [
        DigestSection(_("Figures {first} – {last}").format(first=fmt_date(d.period.first), last=fmt_date(last)),
                      figures),
        DigestSection(_("Updates ({count})").format(count=len(d.answers)), answers, _("none yet")),
        DigestSection(_("Not answered"), [m.name for m in d.missing], _("everyone answered")),
        DigestSection(_("Open action items"), actions, _("none")),
    ]


def digest_text(d: Digest) -> str:
    title, sections = digest_sections(d)
    lines = [title]
    for s in sections:
        lines.append(f"{s.title}:")
        lines.extend(f"  • {item}" for item in s.items) if s.items else lines.append(f"  {s.empty}")
    return "\n".join(lines)


def digest_chart(d: Digest, lang: str) -> bytes:
    """The digest's chart (pipeline by stage; the week's figures against the week before) as PNG."""
    return chart.draw(digest_chart_description(d, lang))


def digest_chart_description(d: Digest, lang: str) -> bytes:
    """What the digest's chart shows, in `lang`, to be drawn where it is sent (chart.describe)."""
    with use_locale(lang):  # bizbot carries a CJK font: Chinese labels are drawn as Chinese
        stages = [(STAGES.label(stage), n) for stage, n in d.pipeline]
        counts = [(translate(r.measure.label), float(r.now.value or 0), float(r.before.value or 0))
                  for r in d.figures if r.now.unit == "count"]
        return chart.describe(
            _("Leads by stage"), stages,
            _("Last week and the week before"), counts, (_("last week"), _("the week before")))


DIGEST_MSG = N_("{digest}")


def chart_name(d: Digest) -> str:
    return f"digest-{d.org_id}-{d.week.isoformat()}.png"


def fire_meeting(uow: UnitOfWork, item: DueItem) -> None:
    org = uow.session.get(Organisation, item.subject_id)
    if org is None or not schedule_of(org).enabled:
        return
    sched = schedule_of(org)
    week = week_at(org, sched, meeting_at, item.due_at)
    d = build_digest(uow, org, week)
    lang = lang_of(org, sched)
    with use_locale(lang):
        text = digest_text(d)
    key = f"meeting:digest:{org.id}:{week.isoformat()}"
    enqueue(uow, org_id=org.id, key=key, channel=channel_of(org, sched), msgid=DIGEST_MSG, params={"digest": text},
            urgent=True)
    attach(uow, key, Attachment(chart_name(d), chart.DESCRIBED, digest_chart_description(d, lang)))
    uow.audit(org.id, None, "read", "meeting", week.isoformat(), "digest posted")
    _move_on(uow, org, item, sched)


CHART_MSG = N_("The chart for the meeting on {date}.")


def digest_on_demand(uow: UnitOfWork, actor: Actor, day: date | None) -> Digest:
    """The digest of the week containing `day` (default: the latest meeting's); the chart follows by message."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    week = week_of(day) if day is not None else current_week(org, uow.now)
    d = build_digest(uow, org, week)
    key = f"meeting:chart:{org.id}:{week.isoformat()}:{actor.member_id}:{uow.now.isoformat()}"
    enqueue(uow, org_id=org.id, key=key, recipient_id=actor.member_id, msgid=CHART_MSG, urgent=True,
            params={"date": d.meeting.astimezone(ZoneInfo(org.timezone)).date()})
    attach(uow, key, Attachment(chart_name(d), chart.DESCRIBED, digest_chart_description(d, actor.locale)))
    uow.audit(org.id, actor.member_id, "read", "meeting", week.isoformat(), "digest")
    uow.commit()
    return d


# --- minutes and action items ----------------------------------------------------------------


def record_minutes(uow: UnitOfWork, actor: Actor, text: str) -> tuple[MeetingMinutes, date]:
    require_role(actor, CHAIR_ROLES)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    week = current_week(org, uow.now)
    row = uow.add(MeetingMinutes(org_id=org.id, week=week, text=text, author_id=actor.member_id, at=uow.now))
    uow.session.flush()
    uow.audit(org.id, actor.member_id, "create", "meeting_minutes", str(row.id), week.isoformat())
    uow.commit()
    return row, week


def minutes_of(uow: UnitOfWork, actor: Actor, day: date | None) -> tuple[date, list[tuple[MeetingMinutes, Member]]]:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    week = week_of(day) if day is not None else current_week(org, uow.now)
    rows = [(m, a) for m, a in uow.session.execute(
        select(MeetingMinutes, Member).join(Member, Member.id == MeetingMinutes.author_id)
        .where(MeetingMinutes.org_id == org.id, MeetingMinutes.week == week).order_by(MeetingMinutes.id)).all()]
    uow.audit(org.id, actor.member_id, "read", "meeting_minutes", week.isoformat())
    uow.commit()
    return week, rows


def _action_reminder_at(org: Organisation, due: date) -> datetime:
    return at_local(due, time(org_setting(org, "reminder_hour")), org.timezone)


def create_action(uow: UnitOfWork, actor: Actor, owner_name: str, what: str, due: date) -> tuple[ActionItem, Member]:
    """An action item for a member (oneself, or anyone for the department's chairs), reminded when due."""
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    owner = find_member(uow, org.id, owner_name)
    if owner.id != actor.member_id and not actor.has_any(CHAIR_ROLES | DEPARTMENT_ROLES):
        raise Forbidden(N_("Only the manager, a deputy or an admin may give action items to others."))
    if due < local_today(uow.now, org.timezone):
        raise Invalid(N_("The due date {date} has passed."), date=due)
    item = uow.add(ActionItem(org_id=org.id, number=next_number(uow, ActionItem, org.id),
                              week=current_week(org, uow.now), owner_id=owner.id, what=what, due_date=due,
                              status="open", created_by_id=actor.member_id, created_at=uow.now))
    uow.session.flush()
    schedule(uow, org.id, ACTION, item.id, _action_reminder_at(org, due))
    uow.audit(org.id, actor.member_id, "create", "action_item", ref("A", item.number), owner.name)
    uow.commit()
    return item, owner


def complete_action(uow: UnitOfWork, actor: Actor, text: str) -> ActionItem:
    number = int(text.strip()) if re.fullmatch(r"[0-9]{1,9}", text.strip()) else parse_ref(text, "A")
    item = by_number(uow, ActionItem, actor.org_id, number)
    if item is None:
        raise NotFound(N_("No action item {ref}."), ref=text)
    if item.owner_id != actor.member_id and item.created_by_id != actor.member_id \
            and not actor.has_any(CHAIR_ROLES | DEPARTMENT_ROLES):
        raise Forbidden(N_("You do not have access to {ref}."), ref=ref("A", item.number))
    if item.status != "open":
        raise Conflict(N_("Action item {ref} is already done."), ref=ref("A", item.number))
    item.status, item.done_at, item.done_by_id = "done", uow.now, actor.member_id
    cancel(uow, ACTION, item.id)
    uow.audit(actor.org_id, actor.member_id, "update", "action_item", ref("A", item.number), "done")
    uow.commit()
    return item


def list_actions(uow: UnitOfWork, actor: Actor) -> list[tuple[ActionItem, Member]]:
    rows = open_actions(uow, actor.org_id)
    uow.audit(actor.org_id, actor.member_id, "read", "action_item", None, "list")
    uow.commit()
    return rows


def action_recompute(uow: UnitOfWork, org: Organisation, item: DueItem) -> datetime | None:
    action = uow.session.get(ActionItem, item.subject_id)
    return _action_reminder_at(org, action.due_date) if action is not None else None


def action_owner(uow: UnitOfWork, action_id: int) -> int | None:
    action = uow.session.get(ActionItem, action_id)
    return action.owner_id if action is not None else None


def fire_action(uow: UnitOfWork, item: DueItem) -> None:
    action = uow.session.get(ActionItem, item.subject_id)
    if action is None or action.status != "open":
        return
    aref = ref("A", action.number)
    enqueue(uow, org_id=action.org_id, key=f"action:{action.id}:{item.due_at.isoformat()}",
            recipient_id=action.owner_id, kind=ACTION,
            msgid=N_("Action item {ref} is due {date}: {what}. When done: /action done {ref}"),
            params={"ref": aref, "date": action.due_date, "what": action.what},
            buttons=[OutButton(N_("Done"), f"/action done {aref}", decision=True),
                     OutButton(N_("In 1 hour"), f"/remind snooze {aref} 1h", decision=True),
                     OutButton(N_("Tomorrow morning"), f"/remind snooze {aref} tomorrow", decision=True)])


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    today = local_today(uow.now, actor.timezone)
    rows = uow.session.scalars(select(ActionItem).where(
        ActionItem.owner_id == actor.member_id, ActionItem.status == "open").order_by(ActionItem.due_date).limit(50))
    return [AgendaEntry(ref("A", a.number), a.what, a.due_date, a.due_date < today,
                        f"/action done {ref('A', a.number)}")
            for a in rows]
