"""Customer complaints (客户投诉处理): intake → investigation → solution → resolved → callback → closed.

Each severity has a promised response and resolution deadline (承诺处理时间) from the
organisation's SLA policy, counted in working time (working hours on working days of the
department's calendar) or in calendar time, as the policy says. The escalation ladder is due
items: before each deadline the assignee is reminded; at the deadline the assignee's supervisor
is pinged, and after a further time the manager — each in the escalation channel and by direct
message. Critical complaints page at once and their messages ignore quiet hours. Resolving
stops the ladder; a satisfaction callback (回访) is then due to the customer's owner, and an
unsatisfied callback reopens the complaint with fresh deadlines.

Who sees and handles a complaint (domain.team.access): department roles (manager, deputy, head, admin)
and customer service all; everyone else the complaints of customers owned in their reporting line
(their own, or their team's for a supervisor), those assigned to someone in that line, and those
they logged themselves.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from domain.crm.callbacks import check_satisfaction, schedule_callback
from domain.crm.customers import find_customer
from domain.delivery.calendar import is_workday
from domain.delivery.due import schedule
from domain.delivery.outbox import OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.dates import check_span
from domain.kernel.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label, fmt_date, translate, use_locale
from domain.kernel.vocab import Vocabulary
from domain.reporting.exports import write_table
from domain.reporting.figures import Figure, Scope, compute, count_of, rate
from domain.risk import indicators
from domain.store.models import (
    Callback,
    Complaint,
    ComplaintStep,
    Customer,
    DueItem,
    Member,
    Organisation,
)
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import (
    SERVE,
    TEAM_ADMIN_ROLES,
    can_access,
    customer_owner_ids,
    parse_ref,
    reaches_department,
    ref,
    require_role,
    team_ids,
)
from domain.team.agenda import AgendaEntry
from domain.team.members import department_manager, exporter, find_member

KIND = "complaint"
PREFIX = "Q"

SEVERITIES = Vocabulary(
    N_("severity"),
    {"low": N_("low severity"), "medium": N_("medium severity"), "high": N_("high severity"),
     "critical": N_("critical")},
    {"低": "low", "轻微": "low", "中": "medium", "一般": "medium", "高": "high", "严重": "high",
     "紧急": "critical", "重大": "critical", "特急": "critical"},
)

COMPLAINT_CHANNELS = Vocabulary(
    N_("channel"),
    {"phone": N_("phone"), "email": N_("e-mail"), "online": N_("online"), "visit": N_("visit"),
     "wechat": N_("WeChat")},
    {"电话": "phone", "邮件": "email", "e-mail": "email", "线上": "online", "网络": "online", "在线": "online",
     "来访": "visit", "拜访": "visit", "上门": "visit", "微信": "wechat", "企业微信": "wechat", "公众号": "wechat",
     "weixin": "wechat"},
)

STATUSES = {
    "open": N_("in progress"),
    "solution": N_("solution agreed"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}
ACTIVE = ("open", "solution")

STEP_LABELS = {
    "intake": N_("intake"),
    "assign": N_("assigned"),
    "update": N_("customer told"),
    "solution": N_("solution"),
    "resolve": N_("resolved"),
    "callback": N_("callback"),
    "reopen": N_("reopened"),
    "close": N_("closed"),
    "overdue": N_("deadline missed, escalated"),
    "escalate": N_("escalated to manager"),
    "ack": N_("escalation acknowledged"),
    "takeover": N_("taken over"),
}

DEADLINES = {"response": N_("response"), "resolution": N_("resolution")}

# The SLA policy (kept in the organisation's settings under "complaint_policy", merged over these).
# Durations: m, h, d, w. In working time a day is one working day (the working hours' length).
DEFAULT_POLICY: dict[str, dict[str, Any]] = {
    "critical": {"response": "1h", "resolution": "8h", "working_hours": False, "remind": "15m",
                 "manager_after": "1h"},
    "high": {"response": "4h", "resolution": "2d", "working_hours": True, "remind": "1h", "manager_after": "4h"},
    "medium": {"response": "1d", "resolution": "5d", "working_hours": True, "remind": "2h",
               "manager_after": "1d"},
    "low": {"response": "2d", "resolution": "10d", "working_hours": True, "remind": "4h",
            "manager_after": "2d"},
}
DEFAULT_WORK_HOURS = "09:00-18:00"
POLICY_FIELDS = ("response", "resolution", "remind", "manager_after")


# --- time ------------------------------------------------------------------------------------


_SPAN = re.compile(r"^\s*(\d{1,4})\s*(m|min|h|d|w)\s*$", re.I)


def parse_span(text: str) -> tuple[int, str]:
    """A policy duration such as `90m`, `4h`, `2d`, `1w`, as (number, unit)."""
    m = _SPAN.match(str(text))
    if not m or int(m[1]) == 0:
        raise Invalid(N_("Cannot read '{text}' as a duration. Try 30m, 4h, 2d or 1w."), text=text)
    unit = m[2].lower()
    return int(m[1]), "m" if unit == "min" else unit


def work_hours(org: Organisation) -> tuple[time, time]:
    raw = str((org.settings or {}).get("work_hours", DEFAULT_WORK_HOURS))
    start, end = (time.fromisoformat(x.strip()) for x in raw.split("-"))
    return start, end


def _working_length(org: Organisation, n: int, unit: str) -> timedelta:
    start, end = work_hours(org)
    day = datetime.combine(date.min, end) - datetime.combine(date.min, start)
    return {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": day * n, "w": day * 5 * n}[unit]


def add_working(org: Organisation, start: datetime, delta: timedelta) -> datetime:
    """`delta` of working time after `start`: only working hours on working days count."""
    tz = ZoneInfo(org.timezone)
    open_at, close_at = work_hours(org)
    cursor = start.astimezone(UTC)
    day = start.astimezone(tz).date()
    remaining = delta
    for _ in range(3700):
        if is_workday(org, day):
            begin = max(cursor, datetime.combine(day, open_at, tzinfo=tz).astimezone(UTC))
            end = datetime.combine(day, close_at, tzinfo=tz).astimezone(UTC)
            if begin < end:
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    raise Invalid(N_("That deadline is too far away."))


def after(org: Organisation, start: datetime, span: str, working: bool) -> datetime:
    """The instant a policy duration after `start`, in working or calendar time."""
    n, unit = parse_span(span)
    if working:
        return add_working(org, start, _working_length(org, n, unit))
    return start + {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n),
                    "w": timedelta(weeks=n)}[unit]


# --- policy ----------------------------------------------------------------------------------


def policy(org: Organisation) -> dict[str, dict[str, Any]]:
    stored = (org.settings or {}).get("complaint_policy") or {}
    return {sev: {**DEFAULT_POLICY[sev], **stored.get(sev, {})} for sev in DEFAULT_POLICY}


def show_policy(uow: UnitOfWork, actor: Actor) -> tuple[dict[str, dict[str, Any]], str | None, str, str | None]:
    """The SLA policy, escalation channel, working hours and on-duty member."""
    org = _org(uow, actor)
    duty = _on_duty_setting(uow, org)
    uow.audit(actor.org_id, actor.member_id, "read", "complaint_policy", None)
    uow.commit()
    settings = org.settings or {}
    return (policy(org), settings.get("escalation_channel"), str(settings.get("work_hours", DEFAULT_WORK_HOURS)),
            duty.name if duty else None)


def set_policy(uow: UnitOfWork, actor: Actor, severity: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change one severity's deadlines (admins and managers); pending deadlines keep their promise."""
    require_role(actor, TEAM_ADMIN_ROLES)
    if severity not in DEFAULT_POLICY:
        raise Invalid(N_("Unknown severity '{value}'. Choose one of: {choices}."), value=severity,
                      choices=", ".join(DEFAULT_POLICY))
    clean = {k: v for k, v in changes.items() if v is not None}
    if not clean:
        raise Invalid(N_("Nothing to change: give response=, resolution=, remind=, manager= or hours=."))
    for key in POLICY_FIELDS:
        if key in clean:
            n, unit = parse_span(clean[key])
            clean[key] = f"{n}{unit}"
    org = _org(uow, actor)
    stored = dict((org.settings or {}).get("complaint_policy") or {})
    stored[severity] = {**stored.get(severity, {}), **clean}
    merged = {**DEFAULT_POLICY[severity], **stored[severity]}
    if after(org, uow.now, merged["resolution"], merged["working_hours"]) < after(
            org, uow.now, merged["response"], merged["working_hours"]):
        raise Invalid(N_("The resolution deadline cannot come before the response deadline."))
    org.settings = {**(org.settings or {}), "complaint_policy": stored}
    uow.audit(actor.org_id, actor.member_id, "update", "complaint_policy", severity,
              " ".join(f"{k}={v}" for k, v in clean.items()))
    uow.commit()
    return merged


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至到]\s*(\d{1,2}):(\d{2})\s*$")


def set_work_hours(uow: UnitOfWork, actor: Actor, text: str) -> str:
    """The working day that working-time deadlines count in, e.g. 09:00-18:00 (admins and managers).
    Deadlines already promised keep their time."""
    require_role(actor, TEAM_ADMIN_ROLES)
    m = _HOURS.match(text or "")
    if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
        raise Invalid(N_("'{text}' is not a working day; write it like 09:00-18:00."), text=text)
    start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) < timedelta(hours=1):
        raise Invalid(N_("The working day must end at least an hour after it starts."))
    value = f"{start:%H:%M}-{end:%H:%M}"
    org = _org(uow, actor)
    org.settings = {**(org.settings or {}), "work_hours": value}
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"work_hours={value}")
    uow.commit()
    return value


# a channel's or a chat's id as the platforms write them: a Slack channel, a Telegram chat (-100…), a Feishu chat
# (oc_…), a DingTalk group's openConversationId (base64: cid…+/…==)
_CHANNEL = re.compile(r"^#?([\w\-+/=]{1,120})$")


def set_escalation_channel(uow: UnitOfWork, actor: Actor, channel: str) -> str | None:
    """Where escalation pings go (a Slack channel id, a Telegram or Feishu chat id, a DingTalk group's
    openConversationId); `-` for none."""
    require_role(actor, TEAM_ADMIN_ROLES)
    raw = channel.strip()
    value: str | None
    if raw in ("-", "none", "无"):
        value = None
    else:
        m = _CHANNEL.match(raw)
        if not m:
            raise Invalid(N_("'{text}' is not a channel."), text=channel)
        value = m[1]
    org = _org(uow, actor)
    org.settings = {**(org.settings or {}), "escalation_channel": value}
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"escalation_channel={value}")
    uow.commit()
    return value


def set_on_duty(uow: UnitOfWork, actor: Actor, name: str) -> Member | None:
    """The service member on duty for complaints no one else takes; `-` for the least-loaded rule."""
    require_role(actor, TEAM_ADMIN_ROLES)
    org = _org(uow, actor)
    member = None if name.strip() in ("-", "none", "无") else find_member(uow, actor.org_id, name)
    org.settings = {**(org.settings or {}), "complaint_on_duty": member.id if member else None}
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name,
              f"complaint_on_duty={member.name if member else '-'}")
    uow.commit()
    return member


def _on_duty_setting(uow: UnitOfWork, org: Organisation) -> Member | None:
    mid = (org.settings or {}).get("complaint_on_duty")
    member = uow.session.get(Member, mid) if mid else None
    return member if member is not None and member.active and member.org_id == org.id else None


def on_duty(uow: UnitOfWork, org: Organisation) -> Member | None:
    """The member set on duty; else the active service member with the fewest open complaints."""
    member = _on_duty_setting(uow, org)
    if member is not None:
        return member
    service = [m for m in uow.session.scalars(
        select(Member).where(Member.org_id == org.id, Member.active).order_by(Member.id)) if "service" in m.role_set]
    if not service:
        return None
    load = dict(uow.session.execute(
        select(Complaint.assignee_id, func.count(Complaint.id))
        .where(Complaint.org_id == org.id, Complaint.status.in_(ACTIVE))
        .group_by(Complaint.assignee_id)).all())
    return min(service, key=lambda m: (load.get(m.id, 0), m.id))


# --- lookups and access ----------------------------------------------------------------------


def _org(uow: UnitOfWork, actor: Actor) -> Organisation:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    return org


def visible(uow: UnitOfWork, actor: Actor, c: Complaint, customer: Customer) -> bool:
    if reaches_department(actor, SERVE) or c.created_by_id == actor.member_id:
        return True
    return can_access(uow, actor, customer.owner_id) or can_access(uow, actor, c.assignee_id)


def _visible_filter(uow: UnitOfWork, actor: Actor) -> Any:
    owners = customer_owner_ids(uow, actor, SERVE)
    if owners is None:
        return and_(True)
    return or_(Customer.owner_id.in_(owners), Complaint.assignee_id.in_(owners),
               Complaint.created_by_id == actor.member_id)


def find_complaint(uow: UnitOfWork, actor: Actor, text: str) -> tuple[Complaint, Customer]:
    """By reference (Q3); one the actor may not see is not found."""
    c = by_number(uow, Complaint, actor.org_id, parse_ref(text, PREFIX))
    if c is None:
        raise NotFound(N_("No complaint {ref}."), ref=text.strip().upper())
    customer = uow.session.get(Customer, c.customer_id)
    assert customer is not None
    if not visible(uow, actor, c, customer):
        raise Hidden(N_("No complaint {ref}."), ref=text.strip().upper())
    return c, customer


def _intake_customer(uow: UnitOfWork, actor: Actor, text: str) -> Customer:
    """Service and department members log complaints for any customer; others for those they see."""
    return find_customer(uow, actor, text, SERVE)


def _member(uow: UnitOfWork, member_id: int | None) -> Member | None:
    return uow.session.get(Member, member_id) if member_id else None




def _step(uow: UnitOfWork, c: Complaint, kind: str, actor_id: int | None, note: str | None = None,
          target_id: int | None = None) -> None:
    uow.add(ComplaintStep(org_id=c.org_id, complaint_id=c.id, kind=kind, actor_id=actor_id, target_id=target_id,
                          note=note, at=uow.now))


_T = TypeVar("_T")


def transition(fn: Callable[..., _T]) -> Callable[..., _T]:
    """A change of state checks the complaint's version in the same UPDATE: of two people acting at
    once, one wins and the other is told, and nothing of theirs is written."""

    @wraps(fn)
    def run(uow: UnitOfWork, actor: Actor, text: str, *args: Any, **kwargs: Any) -> _T:
        try:
            return fn(uow, actor, text, *args, **kwargs)
        except StaleDataError:
            uow.rollback()
            raise Conflict(N_("{ref} was changed by someone else just now; look again with /complaint show {ref}."),
                           ref=text.strip().upper()) from None

    return run


# --- the escalation ladder (due items) -------------------------------------------------------


def _schedule_ladder(uow: UnitOfWork, org: Organisation, c: Complaint) -> None:
    """Reminder before, supervisor at, manager after each deadline, for this round of the complaint."""
    rules = policy(org)[c.severity]
    for deadline, due in (("response", c.respond_by), ("resolution", c.resolve_by)):
        base = f"{KIND}:{c.id}:{c.round}:{deadline}"
        remind_at = due - _calendar(rules["remind"])
        if remind_at > uow.now:
            schedule(uow, org.id, KIND, c.id, remind_at, key=f"{base}:remind")
        schedule(uow, org.id, KIND, c.id, due, key=f"{base}:supervisor")
        schedule(uow, org.id, KIND, c.id, after(org, due, rules["manager_after"], rules["working_hours"]),
                 key=f"{base}:manager")


def _calendar(span: str) -> timedelta:
    n, unit = parse_span(span)
    return {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


def _stop_ladder(uow: UnitOfWork, c: Complaint, deadline: str | None = None) -> None:
    """Cancel the pending reminders and escalations (of one deadline, or all)."""
    q = update(DueItem).where(DueItem.kind == KIND, DueItem.subject_id == c.id, DueItem.state == "pending")
    if deadline is not None:
        q = q.where(DueItem.key.like(f"{KIND}:{c.id}:%:{deadline}:%"))
    uow.session.execute(q.values(state="cancelled"))


def _params(uow: UnitOfWork, c: Complaint, customer: Customer) -> dict[str, Any]:
    assignee = _member(uow, c.assignee_id)
    return {"ref": ref(PREFIX, c.number), "customer": customer.name, "severity": Label(SEVERITIES.labels[c.severity]),
            "what": c.what, "wants": c.wants, "assignee": assignee.name if assignee else "?",
            "respond_by": c.respond_by, "resolve_by": c.resolve_by}


def _escalation_buttons(cref: str) -> list[OutButton]:
    return [
        OutButton(N_("Acknowledge"), f"/complaint ack {cref}", decision=True),
        OutButton(N_("Take over"), f"/complaint take {cref}", decision=True),
        OutButton(N_("Reassign"), f"/complaint assign {cref}"),
        OutButton(N_("Show"), f"/complaint show {cref}"),
    ]


def fire(uow: UnitOfWork, item: DueItem) -> None:
    _kind, _cid, rnd, deadline, step = item.key.split(":")
    c = uow.session.get(Complaint, item.subject_id)
    if c is None or c.status not in ACTIVE or c.round != int(rnd):
        return
    if deadline == "response" and c.responded_at is not None:
        return
    customer = uow.session.get(Customer, c.customer_id)
    org = uow.session.get(Organisation, c.org_id)
    assert customer is not None and org is not None
    urgent = c.severity == "critical"
    params = {**_params(uow, c, customer), "deadline": Label(DEADLINES[deadline]),
              "time": c.respond_by if deadline == "response" else c.resolve_by}
    key = f"{item.key}:{c.assignee_id}"
    cref = ref(PREFIX, c.number)
    if step == "remind":
        enqueue(uow, org_id=c.org_id, key=key, recipient_id=c.assignee_id, kind=KIND, urgent=urgent,
                msgid=N_("Reminder: the promised {deadline} for complaint {ref} from {customer} ({severity}) is due "
                         "by {time}."),
                params=params,
                buttons=[OutButton(N_("Show"), f"/complaint show {cref}")])
        return
    marker = f"{c.round}:{deadline}"
    assignee = _member(uow, c.assignee_id)
    first = _member(uow, assignee.supervisor_id if assignee else None) or department_manager(uow, c.org_id)
    told_already = False
    if step == "supervisor":
        target = first
        # a plain UPDATE (no version bump): the sweep never makes a person's concurrent change fail
        uow.session.execute(update(Complaint).where(Complaint.id == c.id)
                            .values(missed=True, escalated=marker, updated_at=uow.now))
        _step(uow, c, "overdue", None, Label(DEADLINES[deadline]), target.id if target else None)
    else:
        if c.acked == marker:
            return
        target = department_manager(uow, c.org_id)
        # the manager who was the first step's target has had the direct message already: the channel still hears
        told_already = target is not None and first is not None and target.id == first.id
        _step(uow, c, "escalate", None, Label(DEADLINES[deadline]), target.id if target else None)
    params["target"] = target.name if target else "—"
    channel = (org.settings or {}).get("escalation_channel")
    if channel:
        # the manager's step says what is new since the first post (nobody acknowledged it), so the channel
        # never reads the same escalation twice, even when the supervisor and the manager are one person
        msgid = N_("Escalation: complaint {ref} from {customer} ({severity}) missed its promised {deadline} "
                   "({time}). Assigned to {assignee}; escalated to {target}.") if step == "supervisor" else N_(
            "Still not acknowledged: complaint {ref} from {customer} ({severity}) missed its promised {deadline} "
            "({time}) and nobody has taken up the escalation. Assigned to {assignee}; now with the manager, "
            "{target}.")
        enqueue(uow, org_id=c.org_id, key=f"{item.key}:channel", channel=str(channel), urgent=urgent,
                msgid=msgid, params=params, buttons=_escalation_buttons(cref))
    if target is not None and not told_already:
        enqueue(uow, org_id=c.org_id, key=f"{item.key}:{target.id}", recipient_id=target.id, urgent=urgent,
                msgid=N_("Complaint {ref} from {customer} ({severity}), assigned to {assignee}, missed its promised "
                         "{deadline} ({time}) and is escalated to you. The customer wants: {wants}"),
                params=params, buttons=_escalation_buttons(cref))


# --- use cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    complaint: Complaint
    customer: Customer
    assignee: Member


def log_complaint(
    uow: UnitOfWork, actor: Actor, customer_text: str, *, severity: str, what: str, wants: str,
    contact: str | None = None, channel: str = "phone", assignee: str | None = None,
) -> Intake:
    """Intake (受理): record it, promise deadlines from the policy, route it, start the ladder."""
    customer = _intake_customer(uow, actor, customer_text)
    org = _org(uow, actor)
    member: Member | None
    if assignee:
        member = find_member(uow, actor.org_id, assignee)
    else:
        owner = uow.session.get(Member, customer.owner_id)
        member = owner if owner is not None and owner.active else on_duty(uow, org)
    if member is None or not member.active:
        raise Invalid(N_("Nobody can take this complaint: name someone with assignee=, or set who is on duty "
                         "(/complaint onduty NAME)."))
    rules = policy(org)[severity]
    c = uow.add(Complaint(
        org_id=org.id, number=next_number(uow, Complaint, org.id), customer_id=customer.id, severity=severity,
        what=what.strip(), wants=wants.strip(),
        contact=contact or customer.contact_name or customer.phone, channel=channel, status="open",
        assignee_id=member.id, created_by_id=actor.member_id, round=1,
        respond_by=after(org, uow.now, rules["response"], rules["working_hours"]),
        resolve_by=after(org, uow.now, rules["resolution"], rules["working_hours"]),
        missed=False, created_at=uow.now, updated_at=uow.now,
    ))
    uow.session.flush()
    _step(uow, c, "intake", actor.member_id, None)
    _step(uow, c, "assign", actor.member_id, None, member.id)
    _schedule_ladder(uow, org, c)
    urgent = severity == "critical"
    params = _params(uow, c, customer)
    cref = ref(PREFIX, c.number)
    if member.id != actor.member_id or urgent:
        enqueue(uow, org_id=org.id, key=f"{KIND}:{c.id}:1:assigned:{member.id}", recipient_id=member.id, kind=KIND,
                urgent=urgent,
                msgid=N_("Complaint {ref} from {customer} ({severity}) is yours: {what}. The customer wants: {wants}. "
                         "Promised: response by {respond_by}, resolution by {resolve_by}."),
                params=params, buttons=[OutButton(N_("Show"), f"/complaint show {cref}")])
    channel_id = (org.settings or {}).get("escalation_channel")
    if urgent and channel_id:
        enqueue(uow, org_id=org.id, key=f"{KIND}:{c.id}:1:page:channel", channel=str(channel_id), urgent=True,
                msgid=N_("Critical complaint {ref} from {customer}: {what}. Assigned to {assignee}; response "
                         "promised by {respond_by}."),
                params=params, buttons=_escalation_buttons(cref))
    indicators.watch(uow, org.id, "complaints", customer.id)  # repeated complaints (domain.risk.indicators)
    uow.audit(actor.org_id, actor.member_id, "create", "complaint", cref, f"{customer.name} {severity}")
    uow.commit()
    return Intake(c, customer, member)


def _active(c: Complaint) -> None:
    if c.status not in ACTIVE:
        raise Invalid(N_("{ref} is {status}; that step is not possible now."), ref=ref(PREFIX, c.number),
                      status=Label(STATUSES[c.status]))


def _responded(uow: UnitOfWork, c: Complaint) -> None:
    if c.responded_at is None:
        c.responded_at = uow.now
        if uow.now > c.respond_by:
            c.missed = True
        _stop_ladder(uow, c, "response")


def _require_note(note: str | None, msgid: str) -> str:
    if note is None or not note.strip():
        raise Invalid(msgid)
    return note.strip()


@transition
def assign(uow: UnitOfWork, actor: Actor, text: str, name: str) -> tuple[Complaint, Member]:
    """Give the complaint to another member; they are told, and an escalation counts as seen."""
    c, customer = find_complaint(uow, actor, text)
    _active(c)
    member = find_member(uow, actor.org_id, name)
    if not member.active:
        raise Invalid(N_("{name} is not active."), name=member.name)
    if member.id == c.assignee_id:
        raise Invalid(N_("{ref} is already assigned to {name}."), ref=ref(PREFIX, c.number), name=member.name)
    _hand_over(uow, actor, c, customer, member, "assign")
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", ref(PREFIX, c.number), f"assign {member.name}")
    uow.commit()
    return c, member


@transition
def take_over(uow: UnitOfWork, actor: Actor, text: str) -> Complaint:
    """The actor becomes the assignee (from an escalation's button)."""
    c, customer = find_complaint(uow, actor, text)
    _active(c)
    if c.assignee_id == actor.member_id:
        raise Invalid(N_("{ref} is already yours."), ref=ref(PREFIX, c.number))
    member = uow.session.get(Member, actor.member_id)
    assert member is not None
    _hand_over(uow, actor, c, customer, member, "takeover")
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", ref(PREFIX, c.number), "take over")
    uow.commit()
    return c


def _hand_over(uow: UnitOfWork, actor: Actor, c: Complaint, customer: Customer, member: Member, kind: str) -> None:
    c.assignee_id, c.updated_at = member.id, uow.now
    if c.escalated and c.acked != c.escalated:
        c.acked = c.escalated
    _step(uow, c, kind, actor.member_id, None, member.id)
    if member.id != actor.member_id:
        cref = ref(PREFIX, c.number)
        enqueue(uow, org_id=c.org_id, key=f"{KIND}:{c.id}:{c.round}:assigned:{member.id}:{uow.now.isoformat()}",
                recipient_id=member.id, kind=KIND, urgent=c.severity == "critical",
                msgid=N_("Complaint {ref} from {customer} ({severity}) is yours: {what}. The customer wants: {wants}. "
                         "Promised: response by {respond_by}, resolution by {resolve_by}."),
                params=_params(uow, c, customer), buttons=[OutButton(N_("Show"), f"/complaint show {cref}")])


@transition
def acknowledge(uow: UnitOfWork, actor: Actor, text: str) -> Complaint:
    """Say an escalation is seen: the ladder does not climb to the manager for this deadline."""
    c, _customer = find_complaint(uow, actor, text)
    _active(c)
    if c.escalated is None:
        raise Invalid(N_("{ref} has not been escalated."), ref=ref(PREFIX, c.number))
    if c.acked == c.escalated:
        step = uow.session.scalar(select(ComplaintStep).where(
            ComplaintStep.complaint_id == c.id, ComplaintStep.kind.in_(("ack", "takeover", "assign")))
            .order_by(ComplaintStep.id.desc()).limit(1))
        by = _member(uow, step.actor_id if step else None)
        raise Conflict(N_("The escalation of {ref} was already acknowledged by {name}."), ref=ref(PREFIX, c.number),
                       name=by.name if by else "?")
    c.acked, c.updated_at = c.escalated, uow.now
    _step(uow, c, "ack", actor.member_id)
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", ref(PREFIX, c.number), "acknowledge")
    uow.commit()
    return c


@transition
def record_update(uow: UnitOfWork, actor: Actor, text: str, note: str | None) -> Complaint:
    """Progress the customer was told (处理跟踪); the first one is the response."""
    c, _customer = find_complaint(uow, actor, text)
    _active(c)
    note = _require_note(note, N_("Say what the customer was told: note=\"...\"."))
    _responded(uow, c)
    c.updated_at = uow.now
    _step(uow, c, "update", actor.member_id, note)
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", ref(PREFIX, c.number), "update")
    uow.commit()
    return c


@transition
def record_solution(uow: UnitOfWork, actor: Actor, text: str, solution: str | None) -> Complaint:
    """The solution agreed with the customer (解决方案)."""
    c, _customer = find_complaint(uow, actor, text)
    _active(c)
    solution = _require_note(solution, N_("Say what solution was agreed with the customer."))
    _responded(uow, c)
    c.solution, c.status, c.updated_at = solution, "solution", uow.now
    _step(uow, c, "solution", actor.member_id, solution)
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", ref(PREFIX, c.number), "solution")
    uow.commit()
    return c


def _next_workday(org: Organisation, day: date) -> date:
    day += timedelta(days=1)
    for _ in range(60):
        if is_workday(org, day):
            break
        day += timedelta(days=1)
    return day


@transition
def resolve(uow: UnitOfWork, actor: Actor, text: str, note: str | None = None) -> tuple[Complaint, Callback]:
    """Resolved: the ladder stops; a satisfaction callback is due to the customer's owner next working day."""
    c, customer = find_complaint(uow, actor, text)
    _active(c)
    org = _org(uow, actor)
    _responded(uow, c)
    c.status, c.resolved_at, c.updated_at = "resolved", uow.now, uow.now
    if uow.now > c.resolve_by:
        c.missed = True
    _stop_ladder(uow, c)
    _step(uow, c, "resolve", actor.member_id, note.strip() if note and note.strip() else None)
    cb = schedule_callback(uow, org, customer, _next_workday(org, local_today(uow.now, org.timezone)), "complaint",
                           ref(PREFIX, c.number))
    c.callback_id = cb.id
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", ref(PREFIX, c.number), "resolve")
    uow.commit()
    return c, cb


@transition
def record_callback(uow: UnitOfWork, actor: Actor, text: str, satisfied: bool, note: str | None,
                    satisfaction: int | None = None) -> Complaint:
    """The satisfaction callback (回访): satisfied closes it; unsatisfied reopens it with fresh deadlines. A score
    (1–5) is kept on the callback, with the note as its comment."""
    check_satisfaction(satisfaction, None)
    c, customer = find_complaint(uow, actor, text)
    cref = ref(PREFIX, c.number)
    if c.status != "resolved":
        raise Invalid(N_("{ref} is {status}; a satisfaction callback follows its resolution."), ref=cref,
                      status=Label(STATUSES[c.status]))
    note = note.strip() if note and note.strip() else None
    outcome = "satisfied" if satisfied else "unsatisfied"
    cb = uow.session.get(Callback, c.callback_id) if c.callback_id else None
    if cb is not None and cb.status == "open":
        cb.status, cb.done_at, cb.done_by_id = "done", uow.now, actor.member_id
        cb.result = f"{outcome}: {note}" if note else outcome
        cb.satisfaction, cb.satisfaction_note = satisfaction, note if satisfaction is not None else None
    _step(uow, c, "callback", actor.member_id, f"{outcome}: {note}" if note else outcome)
    org = _org(uow, actor)
    if satisfied:
        c.status, c.closed_at, c.updated_at = "closed", uow.now, uow.now
        _step(uow, c, "close", actor.member_id)
    else:
        rules = policy(org)[c.severity]
        c.round += 1
        c.status, c.responded_at, c.resolved_at, c.escalated, c.acked = "open", None, None, None, None
        c.respond_by = after(org, uow.now, rules["response"], rules["working_hours"])
        c.resolve_by = after(org, uow.now, rules["resolution"], rules["working_hours"])
        c.updated_at = uow.now
        _step(uow, c, "reopen", actor.member_id, note)
        uow.session.flush()
        _schedule_ladder(uow, org, c)
        enqueue(uow, org_id=c.org_id, key=f"{KIND}:{c.id}:{c.round}:reopened:{c.assignee_id}",
                recipient_id=c.assignee_id, kind=KIND, urgent=c.severity == "critical",
                msgid=N_("Complaint {ref} from {customer} is reopened: the customer is not satisfied ({note}). "
                         "New promise: response by {respond_by}, resolution by {resolve_by}."),
                params={**_params(uow, c, customer), "note": note or "—"},
                buttons=[OutButton(N_("Show"), f"/complaint show {cref}")])
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", cref, f"callback {outcome}")
    uow.commit()
    return c


@transition
def close(uow: UnitOfWork, actor: Actor, text: str, note: str | None) -> Complaint:
    """Close a resolved complaint without a satisfaction callback (e.g. the customer cannot be reached)."""
    c, _customer = find_complaint(uow, actor, text)
    if c.status != "resolved":
        raise Invalid(N_("{ref} is {status}; only a resolved complaint can be closed."), ref=ref(PREFIX, c.number),
                      status=Label(STATUSES[c.status]))
    note = _require_note(note, N_("Say why it closes without a callback: note=\"...\"."))
    cb = uow.session.get(Callback, c.callback_id) if c.callback_id else None
    if cb is not None and cb.status == "open":
        # the satisfaction callback will not be made: nobody is reminded of it, and it is not counted as due
        cb.status, cb.result, cb.done_at, cb.done_by_id = "cancelled", note, uow.now, actor.member_id
    c.status, c.closed_at, c.updated_at = "closed", uow.now, uow.now
    _step(uow, c, "close", actor.member_id, note)
    uow.audit(actor.org_id, actor.member_id, "update", "complaint", ref(PREFIX, c.number), "close")
    uow.commit()
    return c


@dataclass(frozen=True)
class ComplaintView:
    complaint: Complaint
    customer: Customer
    assignee: Member
    created_by: Member
    steps: list[tuple[ComplaintStep, Member | None, Member | None]]


def show(uow: UnitOfWork, actor: Actor, text: str) -> ComplaintView:
    """The complaint and its timeline, every step timestamped."""
    c, customer = find_complaint(uow, actor, text)
    members = {m.id: m for m in uow.session.scalars(select(Member).where(Member.org_id == actor.org_id))}
    steps = [(s, members.get(s.actor_id or -1), members.get(s.target_id or -1)) for s in uow.session.scalars(
        select(ComplaintStep).where(ComplaintStep.complaint_id == c.id).order_by(ComplaintStep.at, ComplaintStep.id))]
    uow.audit(actor.org_id, actor.member_id, "read", "complaint", ref(PREFIX, c.number))
    uow.commit()
    return ComplaintView(c, customer, members[c.assignee_id], members[c.created_by_id], steps)


def is_overdue(c: Complaint, now: datetime) -> bool:
    if c.status not in ACTIVE:
        return False
    return (c.responded_at is None and c.respond_by <= now) or c.resolve_by <= now


def list_complaints(uow: UnitOfWork, actor: Actor, scope: str = "open") -> list[tuple[Complaint, Customer, Member]]:
    """open (default), overdue, mine (assigned to or logged by me) or team (my reporting line's)."""
    q = (select(Complaint, Customer, Member)
         .join(Customer, Customer.id == Complaint.customer_id)
         .join(Member, Member.id == Complaint.assignee_id)
         .where(Complaint.org_id == actor.org_id, _visible_filter(uow, actor))
         .order_by(Complaint.resolve_by, Complaint.id))
    if scope == "mine":
        q = q.where(or_(Complaint.assignee_id == actor.member_id, Complaint.created_by_id == actor.member_id),
                    Complaint.status != "closed")
    elif scope == "team":
        team = team_ids(uow, actor.org_id, actor.member_id)
        q = q.where(or_(Complaint.assignee_id.in_(team), Customer.owner_id.in_(team)), Complaint.status != "closed")
    else:
        q = q.where(Complaint.status.in_(ACTIVE))
        if scope == "overdue":
            q = q.where(or_(and_(Complaint.responded_at.is_(None), Complaint.respond_by <= uow.now),
                            Complaint.resolve_by <= uow.now))
    rows = [(c, cu, m) for c, cu, m in uow.session.execute(q.limit(200)).all()]
    uow.audit(actor.org_id, actor.member_id, "read", "complaint", None, f"list {scope}")
    uow.commit()
    return rows


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    rows = uow.session.execute(
        select(Complaint, Customer.name).join(Customer, Customer.id == Complaint.customer_id)
        .where(Complaint.assignee_id == actor.member_id, Complaint.status.in_(ACTIVE))
        .order_by(Complaint.resolve_by).limit(50)).all()
    out = []
    for c, name in rows:
        due = c.respond_by if c.responded_at is None else c.resolve_by
        out.append(AgendaEntry(ref(PREFIX, c.number), name, local_today(due, actor.timezone), is_overdue(c, uow.now),
                               f"/complaint show {ref(PREFIX, c.number)}"))
    return out


# --- figures (KPIs: 投诉处理及时率, 解决率) ----------------------------------------------------


def _handled_by(scope: Scope) -> Any:
    """A complaint counts for whoever answers for its promise: the member it is assigned to, and the one
    who received it (客服受理 — the service member who took it in, tracks it and reports back)."""
    return or_(scope.owned(Complaint.assignee_id), scope.owned(Complaint.created_by_id))


def complaints_opened(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "complaints_opened", N_("complaints logged in the period: {count}"),
                    select(func.count(Complaint.id)).where(
        Complaint.org_id == scope.org_id, _handled_by(scope), scope.during(Complaint.created_at)))


def complaints_overdue(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "complaints_overdue", N_("complaints that missed a promised deadline in the period: {count}"),
                    select(func.count(func.distinct(ComplaintStep.complaint_id)))
                    .join(Complaint, Complaint.id == ComplaintStep.complaint_id).where(
        Complaint.org_id == scope.org_id, _handled_by(scope), ComplaintStep.kind == "overdue",
        scope.during(ComplaintStep.at)))


def complaints_closed(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "complaints_closed", N_("complaints closed in the period: {count}"),
                    select(func.count(Complaint.id)).where(
        Complaint.org_id == scope.org_id, _handled_by(scope), Complaint.status == "closed",
        scope.during(Complaint.closed_at)))


def complaint_timeliness(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the complaints resolved in the period, the share responded to and resolved within the promise."""
    missed = list(uow.session.scalars(select(Complaint.missed).where(
        Complaint.org_id == scope.org_id, _handled_by(scope),
        Complaint.resolved_at.is_not(None), scope.during(Complaint.resolved_at))))
    timely = missed.count(False)
    return Figure("complaint_timeliness", rate(timely, len(missed)), "rate",
                  N_("{timely} of {total} complaints resolved in the period were answered and resolved within the "
                     "promise"), {"timely": timely, "total": len(missed)})


def complaint_resolution(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the complaints logged in the period, the share resolved (by the end of the period)."""
    rows = list(uow.session.execute(select(Complaint.status, Complaint.resolved_at, Complaint.closed_at).where(
        Complaint.org_id == scope.org_id, _handled_by(scope), scope.during(Complaint.created_at))))
    done = sum(1 for status, resolved, closed in rows
               if (resolved is not None and resolved < scope.end)
               or (status == "closed" and closed is not None and closed < scope.end))
    return Figure("complaint_resolution", rate(done, len(rows)), "rate",
                  N_("{resolved} of {total} complaints logged in the period were resolved"),
                  {"resolved": done, "total": len(rows)})


KPI_KEYS = ("complaints_opened", "complaints_overdue", "complaints_closed", "complaint_timeliness",
            "complaint_resolution")


@dataclass(frozen=True)
class Kpis:
    who: str | None  # a member's name, or None for a team / the department
    team_of: str | None
    scope: Scope
    figures: dict[str, Figure]


def complaint_kpis(uow: UnitOfWork, actor: Actor, who: str | None, first: date, end_day: date) -> Kpis:
    """The complaint KPIs for a member, a supervisor's team, or the department, over local days."""

    org = _org(uow, actor)
    members: frozenset[int] | None
    name = team_of = None
    if who in (None, "", "me"):
        members, name = frozenset({actor.member_id}), actor.name
    elif who == "team":
        members, team_of = frozenset(team_ids(uow, actor.org_id, actor.member_id)), actor.name
    elif who in ("all", "department", "dept"):
        if not actor.sees_department:
            raise Forbidden(N_("Only managers see the whole department's figures; try 'team'."))
        members = None
    else:
        member = find_member(uow, actor.org_id, who)
        if not can_access(uow, actor, member.id):
            raise Forbidden(N_("You do not have access to {ref}."), ref=member.name)
        members, name = frozenset({member.id}), member.name
    scope = Scope(org.id, first, end_day, org.timezone, members)
    figures = compute(uow, scope, KPI_KEYS)
    uow.audit(actor.org_id, actor.member_id, "read", "kpi", "complaints",
              f"{who or 'me'} {first.isoformat()}..{end_day.isoformat()}")
    uow.commit()
    return Kpis(name, team_of, scope, figures)


# --- export ------------------------------------------------------------------------------

EXPORT_HEADER = (N_("Complaint"), N_("Customer"), N_("Severity"), N_("Status"), N_("What happened"),
                 N_("The customer wants"), N_("Contact"), N_("Channel"), N_("Assigned to"), N_("Received by"),
                 N_("Received"), N_("Response promised by"), N_("Responded"), N_("Resolution promised by"),
                 N_("Resolved at"), N_("Closed"), N_("Missed a promise"), N_("Solution"), N_("Rounds"))


def export_complaints(uow: UnitOfWork, member_name: str, org_id: int | None, fmt: str, start: date | None,
                      end: date | None) -> tuple[bytes, int, str]:
    """The complaints this member may see, received between `start` and `end` (local days, inclusive),
    as xlsx or csv in their language, times in the department's zone; audited."""

    actor = exporter(uow, org_id, member_name, "complaints", roles=None)  # they get what they may see
    return (*complaints_table(uow, actor, fmt, start, end), actor.locale)


def complaints_table(uow: UnitOfWork, actor: Actor, fmt: str, start: date | None, end: date | None
                     ) -> tuple[bytes, int]:
    """The complaints the actor may see, received in the span, as a table file, and how many rows; audited."""

    check_span(start, end)
    handler, receiver = Member.__table__.alias("handler"), Member.__table__.alias("receiver")
    q = (select(Complaint, Customer.name, handler.c.name, receiver.c.name)
         .join(Customer, Customer.id == Complaint.customer_id)
         .join(handler, handler.c.id == Complaint.assignee_id).join(receiver, receiver.c.id == Complaint.created_by_id)
         .where(Complaint.org_id == actor.org_id, _visible_filter(uow, actor)).order_by(Complaint.id))
    if start is not None:
        q = q.where(Complaint.created_at >= at_local(start, time(0), actor.timezone))
    if end is not None:
        q = q.where(Complaint.created_at < at_local(end + timedelta(days=1), time(0), actor.timezone))

    def local(value: datetime | None) -> str | None:
        return value.astimezone(ZoneInfo(actor.timezone)).strftime("%Y-%m-%d %H:%M") if value else None

    found = uow.session.execute(q.limit(100_000)).all()
    with use_locale(actor.locale):
        header = [translate(h) for h in EXPORT_HEADER]
        yes, no = translate(N_("yes")), translate(N_("no"))
        rows = [[ref(PREFIX, c.number), customer, SEVERITIES.label(c.severity), translate(STATUSES[c.status]), c.what,
                 c.wants, c.contact, COMPLAINT_CHANNELS.label(c.channel), assignee, received_by, local(c.created_at),
                 local(c.respond_by), local(c.responded_at), local(c.resolve_by), local(c.resolved_at),
                 local(c.closed_at), yes if c.missed else no, c.solution, c.round]
                for c, customer, assignee, received_by in found]
        title = translate(N_("Complaints"))
    data = write_table(header, rows, fmt, title)
    uow.audit(actor.org_id, actor.member_id, "export", "complaint", None,
              f"{fmt} {start or ''}..{end or ''} {len(rows)} rows")
    uow.commit()
    return data, len(rows)


def in_archive(uow: UnitOfWork, actor: Actor, customer: Customer) -> list[str]:
    """The customer's complaints in their archive, newest first."""

    rows = uow.session.scalars(select(Complaint).where(Complaint.customer_id == customer.id)
                               .order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(20)).all()
    return [" · ".join([ref(PREFIX, c.number), fmt_date(local_today(c.created_at, actor.timezone)),
                        SEVERITIES.label(c.severity), translate(STATUSES[c.status]),
                        c.what if len(c.what) <= 60 else c.what[:59] + "…"]) for c in rows]


def complaint_rate(uow: UnitOfWork, scope: Scope) -> Figure:
    """投诉率: complaints received in the period from the scope's customers, per customer of the scope."""
    opened = int(uow.session.scalar(select(func.count(Complaint.id)).join(
        Customer, Customer.id == Complaint.customer_id).where(
        Complaint.org_id == scope.org_id, scope.owned(Customer.owner_id), scope.during(Complaint.created_at))) or 0)
    customers = int(uow.session.scalar(select(func.count(Customer.id)).where(
        Customer.org_id == scope.org_id, scope.owned(Customer.owner_id), Customer.created_at < scope.end)) or 0)
    return Figure("complaint_rate", rate(opened, customers), "rate",
                  N_("{complaints} complaints over {customers} customers"),
                  {"complaints": opened, "customers": customers})
