"""Appraisals (绩效考核): self-review → supervisor's scores → manager's approval →
result sent to the member → appeal within a window → the manager's ruling.

Segregation of duties: whoever scored a review neither approves it nor rules on its appeal, and is not
asked to. A manager's or deputy's own review (the `management` template, the 业务经理 indicators)
is approved by the department head; everyone else's by the managers, deputies and head — in both cases
someone other than the scorer, or else the scorer's own supervisor.

Cycles (monthly, quarterly, annual) and indicator templates are organisation settings, kept as
data with the department's defaults. A window opens as a recurring due item per cycle (like customer
care), creating one review per member whose role has a template; each review carries its
indicators, the figures the records measure for them (domain.reporting.figures) and what they were computed
from, the scores and comments of both sides, and a history of every step.
"""
from __future__ import annotations

import calendar as _cal
import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from domain.delivery.calendar import is_workday, workday_before, workday_on_or_after
from domain.delivery.due import cancel, schedule
from domain.delivery.outbox import Msg, OutButton, enqueue
from domain.kernel import periods
from domain.kernel.actor import Actor
from domain.kernel.clock import as_utc, at_local, local_today
from domain.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from domain.kernel.i18n import N_, Choices, Label, _, fmt_number, translate, use_locale
from domain.reporting import figures
from domain.reporting.exports import write_table
from domain.store.models import Member, Organisation, Review
from domain.store.numbers import next_number
from domain.store.uow import UnitOfWork
from domain.team.access import can_access, require_role, team_ids
from domain.team.members import exporter, find_member, org_setting

CYCLES = ("monthly", "quarterly", "annual")
CYCLE_LABELS = {"monthly": N_("monthly"), "quarterly": N_("quarterly"), "annual": N_("annual")}
APPROVER_ROLES = frozenset({"manager", "deputy", "head"})
MANAGEMENT_ROLES = frozenset({"manager", "deputy"})  # their own reviews go to the department head
HEAD_ROLES = frozenset({"head"})
ADMIN_ROLES = frozenset({"admin", "manager"})

DEFAULT_CONFIG: dict[str, Any] = {
    "cycles": ["monthly"],
    "self_day": 5,  # self-reviews are due by this day of the month after the period
    "close_day": 10,  # scoring closes on this day (次月上旬)
    "annual_self_day": 10,  # the annual review: self-review by 10 January ...
    "annual_close_day": 15,  # ... and scoring closed by mid-January
    "appeal_days": 5,  # days after the result during which the member may appeal
}

# The default templates, one per group. `measures` are figures-registry keys shown beside the indicator; an
# indicator with "scope": "team" measures the member's whole reporting line (a manager's department results).
# The management template is the 业务经理 indicators (部门业绩、团队管理、客户满意度、市场开拓), weighted as a
# results-led department weighs its manager: department results 40%, the other three 20% each.
DEFAULT_TEMPLATES: dict[str, dict[str, Any]] = {
    "management": {"label": N_("department management"), "roles": ["manager", "deputy"], "indicators": [
        {"key": "department_results", "label": N_("department results (contracts signed by the team)"),
         "weight": 40, "measures": ["contract_value_signed", "contracts_approved"], "scope": "team"},
        {"key": "team_management", "label": N_("team management"), "weight": 20, "measures": []},
        {"key": "customer_satisfaction", "label": N_("customer satisfaction"), "weight": 20,
         "measures": ["satisfaction_rate", "complaint_resolution", "callback_completion"], "scope": "team"},
        {"key": "market_development", "label": N_("market development"), "weight": 20,
         "measures": ["new_customers", "new_leads"], "scope": "team"},
    ]},
    "bd": {"label": N_("business development"), "roles": ["sales"], "indicators": [
        {"key": "performance", "label": N_("performance (contract value signed)"), "weight": 40,
         "measures": ["contract_value_signed", "collected_value", "target_completion"]},
        {"key": "new_customers", "label": N_("new customers developed"), "weight": 20,
         "measures": ["new_customers"]},
        {"key": "customer_info", "label": N_("customer information collected"), "weight": 15,
         "measures": ["visits"]},
        {"key": "negotiation", "label": N_("negotiation success rate"), "weight": 15,
         "measures": ["negotiation_success"]},
        {"key": "teamwork", "label": N_("teamwork"), "weight": 10, "measures": []},
    ]},
    "project": {"label": N_("project execution"), "roles": ["project_manager", "project_staff"], "indicators": [
        {"key": "schedule", "label": N_("schedule completion rate"), "weight": 30, "measures": ["project_schedule"]},
        {"key": "quality", "label": N_("quality pass rate"), "weight": 30, "measures": ["project_quality"]},
        {"key": "cost", "label": N_("cost control"), "weight": 20, "measures": ["project_cost"]},
        {"key": "documentation", "label": N_("documentation"), "weight": 10, "measures": ["project_documentation"]},
        {"key": "teamwork", "label": N_("teamwork"), "weight": 10, "measures": []},
    ]},
    # 客服人员: service quality (satisfaction, complaints), order tracking (订单按时交付率), relationship upkeep
    "service": {"label": N_("customer service"), "roles": ["service"], "indicators": [
        {"key": "satisfaction", "label": N_("customer satisfaction"), "weight": 40,
         "measures": ["satisfaction_rate", "satisfaction_average"]},
        {"key": "complaints", "label": N_("complaint timeliness and resolution"), "weight": 30,
         "measures": ["complaint_timeliness", "complaint_resolution", "complaint_rate"]},
        {"key": "callbacks", "label": N_("callback completion rate"), "weight": 15,
         "measures": ["callback_completion"]},
        {"key": "relationship", "label": N_("relationship upkeep"), "weight": 15,
         "measures": ["visits", "reply_timeliness", "on_time_delivery", "orders_handed_down"]},
    ]},
}

STATUS_LABELS = {
    "self": N_("awaiting self-review"), "scoring": N_("awaiting the supervisor's scores"),
    "approval": N_("awaiting the manager's approval"), "final": N_("result sent"),
    "appeal": N_("under appeal"), "closed": N_("closed"),
}
STEP_LABELS = {
    "opened": N_("opened"), "self": N_("self-review submitted"), "scored": N_("scored by the supervisor"),
    "returned": N_("returned by the manager"), "approved": N_("approved; result sent"),
    "appealed": N_("appealed"), "upheld": N_("appeal upheld; back to the supervisor"),
    "dismissed": N_("appeal dismissed"), "self_missed": N_("self-review window closed without one"),
}


# --- periods -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    cycle: str
    key: str  # 2026-11 · 2026-Q4 · 2026
    first: date
    end_day: date  # the day after the period


def _month_end(year: int, month: int) -> date:
    return date(year, month, _cal.monthrange(year, month)[1]) + timedelta(days=1)


def period_of(cycle: str, day: date) -> Period:
    """The period of `cycle` that contains `day`."""
    if cycle == "monthly":
        return Period(cycle, f"{day.year}-{day.month:02d}", day.replace(day=1), _month_end(day.year, day.month))
    if cycle == "quarterly":
        q = (day.month - 1) // 3 + 1
        return Period(cycle, f"{day.year}-Q{q}", date(day.year, 3 * q - 2, 1), _month_end(day.year, 3 * q))
    return Period("annual", str(day.year), date(day.year, 1, 1), date(day.year + 1, 1, 1))


def parse_period(text: str, today: date) -> Period:
    """A review period: a month, quarter or year as domain.kernel.periods reads it (2026-11, 2026年11月, 2026-Q4,
    2026年第四季度, 2026, lastmonth, quarter, …) — or refuse, translated."""
    first, end_day = periods.parse_period(text, today)
    for cycle in CYCLES:
        period = period_of(cycle, first)
        if (period.first, period.end_day) == (first, end_day):
            return period
    raise Invalid(N_("'{text}' is not a review period; write a month (2026-11), a quarter (2026-Q4) or a year "
                     "(2026)."), text=text)


# --- settings --------------------------------------------------------------------------------

def org_templates(uow: UnitOfWork, actor: Actor) -> dict[str, dict[str, Any]]:
    return templates(_org(uow, actor))


def config(org: Organisation) -> dict[str, Any]:
    return {**DEFAULT_CONFIG, **(org.settings or {}).get("reviews", {})}


def templates(org: Organisation) -> dict[str, dict[str, Any]]:
    """The department's templates; a default template it has not stored (one added to bizbot after the department
    changed its own) is there too, in the defaults' order."""
    stored = (org.settings or {}).get("review_templates") or {}
    merged = {name: stored.get(name) or copy.deepcopy(tpl) for name, tpl in DEFAULT_TEMPLATES.items()}
    return {**merged, **{name: tpl for name, tpl in stored.items() if name not in merged}}


def _store(org: Organisation, key: str, value: Any) -> None:
    org.settings = {**(org.settings or {}), key: value}  # a new dict, so the JSON column is written


def template_for(org: Organisation, member: Member) -> str | None:
    roles = set(member.roles.split(","))
    for name, tpl in templates(org).items():
        if roles & set(tpl["roles"]):
            return name
    return None


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    self_due: date  # the last day for the self-review
    closes: date  # the last day for scoring


def window(org: Organisation, period: Period) -> Window:
    cfg = config(org)
    hour = time(org_setting(org, "reminder_hour"))
    after = period.end_day
    if period.cycle == "annual":
        opens = after
        while not is_workday(org, opens):
            opens += timedelta(days=1)
        self_due, closes = date(after.year, 1, cfg["annual_self_day"]), date(after.year, 1, cfg["annual_close_day"])
        self_due, closes = workday_on_or_after(org, self_due), workday_on_or_after(org, closes)
    else:
        opens = after - timedelta(days=1)
        while not is_workday(org, opens) and opens > period.first:
            opens -= timedelta(days=1)
        self_due, closes = date(after.year, after.month, cfg["self_day"]), date(after.year, after.month,
                                                                                  cfg["close_day"])
        # a deadline on a day off (the 5th in the National Day week) moves to the next working day
        self_due, closes = workday_on_or_after(org, self_due), workday_on_or_after(org, closes)
    return Window(at_local(opens, hour, org.timezone), self_due, closes)


def next_opening(org: Organisation, cycle: str, now: datetime) -> datetime | None:
    """When the next window of `cycle` opens after `now`; None if the cycle is off."""
    if cycle not in config(org)["cycles"]:
        return None
    day = local_today(now, org.timezone)
    if cycle == "annual":
        day = date(day.year - 1, 12, 31)  # this January's window belongs to last year
    for _step in range(4):
        period = period_of(cycle, day)
        opens = window(org, period).opens_at
        if opens > now:
            return opens
        day = period.end_day
    return None


def opening_kind(cycle: str) -> str:
    """The due kind that opens the windows of `cycle`, one recurring item per organisation."""
    return f"review_open_{cycle}"


def first_opening(cycle: str) -> Callable[[Organisation, datetime], datetime | None]:
    def first_due(org: Organisation, now: datetime) -> datetime | None:
        return next_opening(org, cycle, now)
    return first_due


def opening_fire(cycle: str) -> Callable[[UnitOfWork, Any], None]:
    def fire(uow: UnitOfWork, item: Any) -> None:
        org = uow.session.get(Organisation, item.subject_id)
        if org is None or cycle not in config(org)["cycles"]:
            return
        fired_day = local_today(as_utc(item.due_at), org.timezone)
        reference = date(fired_day.year - 1, 12, 31) if cycle == "annual" else fired_day
        open_period(uow, org, period_of(cycle, reference))
        following = next_opening(org, cycle, as_utc(item.due_at) + timedelta(minutes=1))
        if following is not None:
            schedule(uow, org.id, item.kind, org.id, following)
    return fire


def opening_recompute(cycle: str) -> Callable[[UnitOfWork, Organisation, Any], datetime | None]:
    """When a pending opening falls after the department's time changed (time zone, reminder hour, days
    off): its own period's window, worked out again; the sweep opens it at once if that is already past."""
    def recompute(uow: UnitOfWork, org: Organisation, item: Any) -> datetime | None:
        if cycle not in config(org)["cycles"]:
            return None
        due_day = local_today(as_utc(item.due_at), org.timezone)
        reference = date(due_day.year - 1, 12, 31) if cycle == "annual" else due_day
        return window(org, period_of(cycle, reference)).opens_at
    return recompute


# --- figures ---------------------------------------------------------------------------------

def _figures_for(uow: UnitOfWork, org: Organisation, member_id: int, period: Period,
                 keys: list[str], over: str | None = None) -> list[dict[str, Any]]:
    """The figures of `keys` for the member's own records, or (`over` = "team") their whole reporting line's."""
    members = team_ids(uow, org.id, member_id) if over == "team" else {member_id}
    scope = figures.Scope(org.id, period.first, period.end_day, org.timezone, frozenset(members))
    measures = uow.wiring[figures.MEASURES]
    out = []
    for key in keys:
        if key not in measures:
            continue  # a measure of an area this installation does not have
        fig = measures[key].fn(uow, scope)
        value = None if fig.value is None else str(fig.value)
        out.append({"key": key, "value": value, "unit": fig.unit, "currency": fig.currency,
                    "basis": fig.basis, "params": {k: _jsonable(v) for k, v in fig.params.items()}})
    return out


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def figure_of(stored: dict[str, Any]) -> figures.Figure:
    value = stored["value"]
    return figures.Figure(stored["key"], None if value is None else Decimal(value), stored["unit"],
                          stored["basis"], stored["params"], stored.get("currency", "CNY"))


def refresh(uow: UnitOfWork, review: Review) -> None:
    """Recompute the measured figures while the review is still being filled in and scored."""
    if review.status not in ("self", "scoring"):
        return
    org = uow.session.get(Organisation, review.org_id)
    assert org is not None
    period = parse_period(review.period, local_today(uow.now, org.timezone))
    items = copy.deepcopy(review.items)
    for item in items:
        item["figures"] = _figures_for(uow, org, review.member_id, period, item.get("measures", []),
                                       item.get("scope"))
    if items != review.items:
        review.items = items


# --- opening -------------------------------------------------------------------------------

def _locale_of(uow: UnitOfWork, member: Member) -> str:
    org = uow.session.get(Organisation, member.org_id)
    return member.locale or (org.locale if org else "en")


def open_period(uow: UnitOfWork, org: Organisation, period: Period) -> list[Review]:
    """Create the period's reviews (idempotent) and ask each member for their self-review."""
    win = window(org, period)
    existing = set(uow.session.scalars(select(Review.member_id).where(
        Review.org_id == org.id, Review.period == period.key)))
    members = uow.session.scalars(select(Member).where(Member.org_id == org.id, Member.active.is_(True))
                                  .order_by(Member.id))
    tpls = templates(org)
    created = []
    for member in members:
        name = template_for(org, member)
        if name is None or member.id in existing:
            continue
        items = [{"key": i["key"], "label": i["label"], "weight": i["weight"], "measures": i.get("measures", []),
                  **({"scope": i["scope"]} if i.get("scope") else {}),
                  "figures": _figures_for(uow, org, member.id, period, i.get("measures", []), i.get("scope"))}
                 for i in tpls[name]["indicators"]]
        review = uow.add(Review(
            org_id=org.id, number=next_number(uow, Review, org.id), member_id=member.id, cycle=period.cycle,
            period=period.key, template=name,
            status="self", items=items, history=[_step("opened", None, uow.now)], version=1,
            self_due=win.self_due, closes=win.closes, appeals=0, created_at=uow.now, updated_at=uow.now))
        uow.session.flush()
        created.append(review)
        uow.audit(org.id, None, "create", "review", _ref(review), f"{member.name} {period.key}")
        hour = time(org_setting(org, "reminder_hour"))
        schedule(uow, org.id, SELF_REMINDER, review.id,
                 at_local(workday_before(org, win.self_due), hour, org.timezone))
        schedule(uow, org.id, SCORE_REMINDER, review.id,
                 at_local(workday_before(org, win.closes), hour, org.timezone))
        schedule(uow, org.id, SELF_CLOSE, review.id, at_local(win.self_due + timedelta(days=1), time(0),
                                                                org.timezone))
        schedule(uow, org.id, SCORE_OVERDUE, review.id, at_local(win.closes + timedelta(days=1), hour,
                                                                   org.timezone))
        _ask_self(uow, org, member, review)
    return created


def _ask_self(uow: UnitOfWork, org: Organisation, member: Member, review: Review) -> None:
    with use_locale(_locale_of(uow, member)):
        lines = "\n".join(_indicator_line(uow.wiring[figures.MEASURES], i) for i in review.items)
        buttons = [OutButton(_("Score: {indicator}").format(indicator=translate(i["label"]))[:60],
                             f"/review self {n} period={review.period}") for n, i in enumerate(review.items, 1)]
    buttons.append(OutButton(N_("Submit my self-review"), f"/review submit period={review.period}"))
    enqueue(uow, org_id=org.id, key=f"review:ask:{review.id}", recipient_id=member.id, kind="review",
            msgid=N_("Your {period} self-review is open until {date}. Score each indicator from 0 to 100 "
                     "with a comment; your figures from the records are shown beside them:\n{lines}"),
            params={"period": review.period, "date": review.self_due, "lines": lines}, buttons=buttons)


def _indicator_line(measures: Mapping[str, figures.Measure], item: dict[str, Any]) -> str:
    """One indicator, in the current locale: label, weight, figures and their basis."""
    text = _("{indicator} ({weight}%)").format(indicator=translate(item["label"]), weight=item["weight"])
    shown = []
    for stored in item.get("figures", []):
        fig = figure_of(stored)
        shown.append(_("{measure}: {value} ({basis})").format(
            measure=_(measures[fig.key].label) if fig.key in measures else fig.key,
            value=fig.shown(), basis=fig.explain()))
    if shown:
        # the separator is the reader's: "; " in English, "；" in Chinese
        text = _("{indicator}; {figures}").format(indicator=text, figures=_("; ").join(shown))
    else:
        text = _("{indicator}; {figures}").format(indicator=text, figures=_(HAND_SCORED))
    return "• " + text


HAND_SCORED = N_("no records measure it: scored by hand")

# --- grades (绩效等级) and bonus coefficients (绩效奖金系数) -------------------------------------------------

GRADES = ("A", "B", "C", "D")
DEFAULT_GRADES: list[dict[str, str]] = [
    {"grade": "A", "from": "90", "coefficient": "1.2"},
    {"grade": "B", "from": "75", "coefficient": "1.0"},
    {"grade": "C", "from": "60", "coefficient": "0.8"},
    {"grade": "D", "from": "0", "coefficient": "0.5"},
]


def grade_bands(org: Organisation) -> list[dict[str, str]]:
    """The department's score bands, highest first: a total at or above a band's `from` earns its grade and
    bonus coefficient (defaults A ≥ 90 ×1.2, B ≥ 75 ×1.0, C ≥ 60 ×0.8, D below ×0.5)."""
    bands = (org.settings or {}).get("review_grades") or DEFAULT_GRADES
    return sorted(bands, key=lambda b: -Decimal(b["from"]))


def grade_of(org: Organisation, total: Decimal | None) -> tuple[str, Decimal] | None:
    if total is None:
        return None
    bands = grade_bands(org)
    for band in bands:
        if total >= Decimal(band["from"]):
            return band["grade"], Decimal(band["coefficient"])
    return bands[-1]["grade"], Decimal(bands[-1]["coefficient"])


_BAND = re.compile(r"^([A-Da-d])\s*[=:：]\s*(\d{1,3}(?:\.\d)?)\s*[:：x×*]\s*(\d(?:\.\d{1,2})?)$")


def parse_grades(text: str) -> list[dict[str, str]]:
    """`A=90:1.2 B=75:1.0 C=60:0.8 D=0:0.5` — each grade, the lowest total that earns it and its bonus
    coefficient; all four grades, bands falling from A to D, D from 0."""
    found: dict[str, dict[str, str]] = {}
    for part in text.replace("，", " ").replace(",", " ").split():
        m = _BAND.match(part)
        if m is None:
            raise Invalid(N_("Cannot read '{text}'; write grade:from:coefficient, e.g. A:90:1.2."), text=part)
        grade, low, coefficient = m[1].upper(), Decimal(m[2]), Decimal(m[3])
        if grade in found:
            raise Invalid(N_("Grade {grade} is given twice."), grade=grade)
        if low > 100 or coefficient > 5:
            raise Invalid(N_("A band starts at most at 100 and a coefficient is at most 5; '{text}' is not one."),
                          text=part)
        found[grade] = {"grade": grade, "from": str(low), "coefficient": str(coefficient)}
    if set(found) != set(GRADES):
        raise Invalid(N_("Give all four grades A, B, C and D, e.g. A:90:1.2 B:75:1.0 C:60:0.8 D:0:0.5."))
    lows = [Decimal(found[g]["from"]) for g in GRADES]
    if any(a <= b for a, b in zip(lows, lows[1:], strict=False)) or lows[-1] != 0:
        raise Invalid(N_("The bands must fall from A to D, and D must start at 0."))
    return [found[g] for g in GRADES]


def set_grades(uow: UnitOfWork, actor: Actor, bands: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """Show (None) or set the department's grade bands and bonus coefficients (admins and managers)."""
    org = _org(uow, actor)
    if bands is not None:
        require_role(actor, ADMIN_ROLES)
        _store(org, "review_grades", bands)
        uow.audit(org.id, actor.member_id, "update", "settings", "review grades",
                  " ".join(f"{b['grade']}={b['from']}:{b['coefficient']}" for b in bands))
    uow.commit()
    return grade_bands(org)


# --- reminders -------------------------------------------------------------------------------

SELF_REMINDER = "review_self"
SCORE_REMINDER = "review_score"
SELF_CLOSE = "review_self_close"
SCORE_OVERDUE = "review_overdue"


def close_self(uow: UnitOfWork, item: Any) -> None:
    """The self-review window closed: an unsubmitted review goes to the supervisor as it is."""
    found = _due_review(uow, item, ("self",))
    if found is None:
        return
    review, member = found
    review.status, review.version, review.updated_at = "scoring", review.version + 1, uow.now
    review.history = [*review.history, _step("self_missed", None, uow.now)]
    uow.audit(review.org_id, None, "update", "review", _ref(review), "self-review window closed")
    scorer = scorer_of(uow, member)
    if scorer is not None:
        enqueue(uow, org_id=review.org_id, key=f"review:self-missed:{review.id}", recipient_id=scorer.id,
                kind="review", msgid=N_("{member} did not submit a self-review for {period} by {date}; please score "
                                        "it without one by {closes}."),
                params={"member": member.name, "period": review.period, "date": review.self_due,
                        "closes": review.closes},
                buttons=[_open_button(member, review)])


def score_overdue(uow: UnitOfWork, item: Any) -> None:
    """Scoring closed with the review still unscored: the managers are told, once."""
    found = _due_review(uow, item, ("self", "scoring"))
    if found is None:
        return
    review, member = found
    for manager in _managers(uow, review.org_id, exclude=member.id):
        enqueue(uow, org_id=review.org_id, key=f"review:overdue:{review.id}:{manager.id}", recipient_id=manager.id,
                kind="review", msgid=N_("{member}'s {period} review was not scored by {date}."),
                params={"member": member.name, "period": review.period, "date": review.closes},
                buttons=[_open_button(member, review)])


def remind_self(uow: UnitOfWork, item: Any) -> None:
    review = uow.session.get(Review, item.subject_id)
    if review is None or review.status != "self":
        return
    enqueue(uow, org_id=review.org_id, key=f"review:remind-self:{review.id}", recipient_id=review.member_id,
            kind="review", msgid=N_("Reminder: your {period} self-review is due by {date}."),
            params={"period": review.period, "date": review.self_due},
            buttons=[OutButton(N_("Open my review"), f"/review show period={review.period}")])


def remind_score(uow: UnitOfWork, item: Any) -> None:
    found = _due_review(uow, item, ("self", "scoring"))
    if found is None:
        return
    review, member = found
    scorer = scorer_of(uow, member)
    if scorer is None:
        return
    enqueue(uow, org_id=review.org_id, key=f"review:remind-score:{review.id}", recipient_id=scorer.id,
            kind="review", msgid=N_("Reminder: scoring of {member}'s {period} review closes on {date}."),
            params={"member": member.name, "period": review.period, "date": review.closes},
            buttons=[_open_button(member, review)])


# --- people ------------------------------------------------------------------------------------

def scorer_of(uow: UnitOfWork, member: Member) -> Member | None:
    """The supervisor, or — for someone without one — the department's manager (a department head, for a
    manager or deputy)."""
    if member.supervisor_id:
        return uow.session.get(Member, member.supervisor_id)
    managers = _managers(uow, member.org_id, exclude=member.id, roles=_above(member))
    return managers[0] if managers else None


def _above(member: Member) -> frozenset[str]:
    """The roles that score (besides the supervisor) and approve the member's review."""
    return HEAD_ROLES if member.role_set & MANAGEMENT_ROLES else APPROVER_ROLES


def _managers(uow: UnitOfWork, org_id: int, exclude: int | None = None,
              roles: frozenset[str] = APPROVER_ROLES) -> list[Member]:
    rows = uow.session.scalars(select(Member).where(Member.org_id == org_id, Member.active.is_(True))
                               .order_by(Member.id))
    return [m for m in rows if m.role_set & roles and m.id != exclude]


def approvers_of(uow: UnitOfWork, member: Member, scorer_id: int | None) -> list[Member]:
    """Who approves the member's review, and rules on its appeal: the roles above them (the department head
    for a manager or deputy; else the managers, deputies and head) but never the member nor whoever scored it —
    or, if that leaves nobody, the scorer's own supervisors, nearest first."""
    excluded = {member.id, scorer_id}
    found = [m for m in _managers(uow, member.org_id, roles=_above(member)) if m.id not in excluded]
    if found or scorer_id is None:
        return found
    scorer = uow.session.get(Member, scorer_id)
    cursor = uow.session.get(Member, scorer.supervisor_id) if scorer and scorer.supervisor_id else None
    seen = set(excluded)
    while cursor is not None and cursor.id not in seen:
        if cursor.active:
            return [cursor]
        seen.add(cursor.id)
        cursor = uow.session.get(Member, cursor.supervisor_id) if cursor.supervisor_id else None
    return []


def _names(members: list[Member]) -> Choices | str:
    """The people who may decide, as alternatives in the reader's language ("wang or hu", "wang或hu")."""
    return Choices(m.name for m in members) if members else "—"


def _open_button(member: Member, review: Review) -> OutButton:
    return OutButton(N_("Open the review"), f"/review show {member.name} period={review.period}")


def _due_review(uow: UnitOfWork, item: Any, states: tuple[str, ...]) -> tuple[Review, Member] | None:
    """The review a due item is about, with its member, if it is still in one of `states`."""
    review = uow.session.get(Review, item.subject_id)
    if review is None or review.status not in states:
        return None
    member = uow.session.get(Member, review.member_id)
    assert member is not None
    return review, member


def _ref(review: Review) -> str:
    return f"R{review.number}"


def _step(step: str, actor_id: int | None, at: datetime, note: str | None = None) -> dict[str, Any]:
    return {"step": step, "by": actor_id, "at": at.isoformat(), "note": note}


# --- finding and seeing --------------------------------------------------------------------------

def latest_period_key(uow: UnitOfWork, org_id: int, member_id: int) -> str | None:
    return uow.session.scalar(select(Review.period).where(Review.org_id == org_id, Review.member_id == member_id)
                              .order_by(Review.created_at.desc(), Review.id.desc()).limit(1))


def find_review(uow: UnitOfWork, actor: Actor, member_name: str | None, period: str | None,
                purpose: str = "read") -> tuple[Review, Member]:
    """The review of a member (default: the actor) for a period (default: their latest), if the
    actor may see it: their own; their reporting line's; the department's for managers."""
    org_id = actor.org_id
    member = find_member(uow, org_id, member_name) if member_name else uow.session.get(Member, actor.member_id)
    assert member is not None
    if member.id != actor.member_id and not can_access(uow, actor, member.id):
        uow.audit(org_id, actor.member_id, "refuse", "review", None, f"{purpose} {member.name}")
        uow.commit()
        raise Forbidden(N_("You may not see {member}'s review."), member=member.name)
    key = parse_period(period, local_today(uow.now, actor.timezone)).key if period else latest_period_key(
        uow, org_id, member.id)
    review = uow.session.scalar(select(Review).where(
        Review.org_id == org_id, Review.member_id == member.id, Review.period == key)) if key else None
    if review is None:
        raise NotFound(N_("{member} has no review for {period}."), member=member.name,
                       period=key or Label(N_("any period")))
    return review, member


def show(uow: UnitOfWork, actor: Actor, member_name: str | None, period: str | None
         ) -> tuple[Review, Member, dict[int, str]]:
    """A review, its figures refreshed while it is open, and the names of who took its steps."""
    review, member = find_review(uow, actor, member_name, period)
    refresh(uow, review)
    uow.audit(actor.org_id, actor.member_id, "read", "review", _ref(review), member.name)
    uow.commit()
    ids = {s["by"] for s in review.history if s.get("by")}
    names = dict(uow.session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))).all()) if ids else {}
    return review, member, names


@dataclass(frozen=True)
class StatusRow:
    member: Member
    review: Review | None


@dataclass(frozen=True)
class Status:
    """Where reviews stand in a period; with no period yet, when the next window opens (None: every
    cycle is off)."""

    period: str | None
    rows: list[StatusRow]
    next_opening: datetime | None = None


def status(uow: UnitOfWork, actor: Actor, period: str | None) -> Status:
    """Where my review and my team's stand (a manager sees the department)."""
    today = local_today(uow.now, actor.timezone)
    key = parse_period(period, today).key if period else latest_period_key(uow, actor.org_id, actor.member_id)
    if key is None:
        key = uow.session.scalar(select(Review.period).where(Review.org_id == actor.org_id)
                                 .order_by(Review.created_at.desc(), Review.id.desc()).limit(1))
    uow.audit(actor.org_id, actor.member_id, "read", "review", None, f"status {key}")
    if key is None:
        org = _org(uow, actor)
        openings = [t for t in (next_opening(org, cycle, uow.now) for cycle in CYCLES) if t is not None]
        uow.commit()
        return Status(None, [], min(openings, default=None))
    if actor.sees_department:
        ids = set(uow.session.scalars(select(Member.id).where(Member.org_id == actor.org_id)))
    else:
        ids = team_ids(uow, actor.org_id, actor.member_id)
    reviews = {r.member_id: r for r in uow.session.scalars(select(Review).where(
        Review.org_id == actor.org_id, Review.period == key, Review.member_id.in_(ids)))}
    members = uow.session.scalars(select(Member).where(Member.id.in_(ids)).order_by(Member.name_key))
    rows = [StatusRow(m, reviews.get(m.id)) for m in members if m.id in reviews or m.id == actor.member_id]
    uow.commit()
    return Status(key, rows)


# --- changing -----------------------------------------------------------------------------------

def _item(review: Review, text: str) -> dict[str, Any]:
    """An indicator by key, number (1-based) or label in either language — or a unique part of one."""
    wanted = text.strip().lower()
    names: list[tuple[dict[str, Any], set[str]]] = []
    for n, item in enumerate(review.items, 1):
        labels = {item["key"].lower(), str(n), item["label"].lower()}
        for locale in ("en", "zh"):
            with use_locale(locale):
                labels.add(translate(item["label"]).lower())
        if wanted in labels:
            return item
        names.append((item, labels))
    partial = [item for item, labels in names if wanted and any(wanted in label for label in labels)]
    if len(partial) == 1:
        return partial[0]
    choices = ", ".join(i["key"] for i in review.items)
    raise Invalid(N_("'{indicator}' is not an indicator of this review; choose one of: {choices}."),
                  indicator=text, choices=choices)


def _check_score(score: int) -> None:
    if not 0 <= score <= 100:
        raise Invalid(N_("A score is a whole number from 0 to 100."))


def _save(uow: UnitOfWork, review: Review, expected: str, **values: Any) -> None:
    """Move a review on, if it is still in the state and version it was read in (first wins)."""
    done = cast(CursorResult[Any], uow.session.execute(
        update(Review).where(Review.id == review.id, Review.version == review.version, Review.status == expected)
        .values(version=review.version + 1, updated_at=uow.now, **values)
        .execution_options(synchronize_session=False)))
    if done.rowcount != 1:
        uow.rollback()
        raise Conflict(N_("The review {ref} was changed by someone else meanwhile; look at it again."),
                       ref=_ref(review))
    uow.session.refresh(review)


def self_score(uow: UnitOfWork, actor: Actor, indicator: str, score: int, comment: str | None,
               period: str | None) -> tuple[Review, dict[str, Any]]:
    review, _member = find_review(uow, actor, None, period, "self")
    if review.status != "self":
        raise Conflict(N_("Your {period} self-review was already submitted."), period=review.period)
    _check_score(score)
    items = copy.deepcopy(review.items)
    item = _item(review, indicator)
    target = next(i for i in items if i["key"] == item["key"])
    target["self_score"], target["self_comment"] = score, comment
    _save(uow, review, "self", items=items)
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), f"self {item['key']}={score}")
    uow.commit()
    return review, target


def submit_self(uow: UnitOfWork, actor: Actor, period: str | None, comment: str | None) -> Review:
    review, member = find_review(uow, actor, None, period, "submit")
    if review.status != "self":
        raise Conflict(N_("Your {period} self-review was already submitted."), period=review.period)
    missing = [i["key"] for i in review.items if i.get("self_score") is None]
    if missing:
        raise Invalid(N_("Score every indicator first; still missing: {indicators}."),
                      indicators=", ".join(missing))
    refresh(uow, review)
    _save(uow, review, "self", status="scoring", self_comment=comment, self_total=weighted(review.items, "self_score"),
          history=[*review.history, _step("self", actor.member_id, uow.now, comment)])
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), "self-review submitted")
    scorer = scorer_of(uow, member)
    if scorer is not None:
        enqueue(uow, org_id=actor.org_id, key=f"review:self-done:{review.id}:{review.version}",
                recipient_id=scorer.id, kind="review",
                msgid=N_("{member} submitted their {period} self-review (self-assessed {total}). Please score it by "
                         "{date}."),
                params={"member": member.name, "period": review.period, "total": fmt_total(review.self_total),
                        "date": review.closes},
                buttons=[_open_button(member, review)])
    uow.commit()
    return review


def weighted(items: list[dict[str, Any]], field: str) -> Decimal | None:
    if any(i.get(field) is None for i in items):
        return None
    total = sum(Decimal(i[field]) * Decimal(i["weight"]) for i in items) / Decimal(100)
    return total.quantize(Decimal("0.1"), ROUND_HALF_UP)


def fmt_total(total: Decimal | None) -> str:
    return "—" if total is None else fmt_number(total)


def _as_scorer(uow: UnitOfWork, actor: Actor, member_name: str, period: str | None, purpose: str
               ) -> tuple[Review, Member]:
    review, member = find_review(uow, actor, member_name, period, purpose)
    if member.id == actor.member_id:
        raise Forbidden(N_("You cannot score your own review."))
    scorer = scorer_of(uow, member)
    if not (scorer is not None and scorer.id == actor.member_id) and not actor.has_any(_above(member)):
        if member.role_set & MANAGEMENT_ROLES:
            raise Forbidden(N_("Only {member}'s supervisor or a department head may score their review."),
                            member=member.name)
        raise Forbidden(N_("Only {member}'s supervisor or a manager may score their review."), member=member.name)
    if not approvers_of(uow, member, actor.member_id):
        raise Forbidden(N_("Whoever scores {member}'s review cannot also approve it, and nobody else may approve it "
                           "if you score it. Let {member}'s supervisor score it, or give another member the role "
                           "that approves it (/team set NAME role=head)."), member=member.name)
    if review.status == "self" and local_today(uow.now, _org(uow, actor).timezone) <= review.self_due:
        raise Conflict(N_("{member} has until {date} for their self-review; score it after that or once it is "
                          "submitted."), member=member.name, date=review.self_due)
    if review.status not in ("self", "scoring"):
        raise Conflict(N_("{member}'s {period} review is {status}; it cannot be scored now."),
                       member=member.name, period=review.period, status=Label(STATUS_LABELS[review.status]))
    return review, member


def _org(uow: UnitOfWork, actor: Actor) -> Organisation:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    return org


def supervisor_score(uow: UnitOfWork, actor: Actor, member_name: str, indicator: str, score: int,
                     comment: str | None, period: str | None) -> tuple[Review, Member, dict[str, Any]]:
    review, member = _as_scorer(uow, actor, member_name, period, "score")
    _check_score(score)
    items = copy.deepcopy(review.items)
    item = _item(review, indicator)
    target = next(i for i in items if i["key"] == item["key"])
    target["score"], target["comment"] = score, comment
    _save(uow, review, review.status, items=items)
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), f"score {item['key']}={score}")
    uow.commit()
    return review, member, target


def send_scores(uow: UnitOfWork, actor: Actor, member_name: str, period: str | None, comment: str | None
                ) -> tuple[Review, Member]:
    review, member = _as_scorer(uow, actor, member_name, period, "send")
    missing = [i["key"] for i in review.items if i.get("score") is None]
    if missing:
        raise Invalid(N_("Score every indicator first; still missing: {indicators}."),
                      indicators=", ".join(missing))
    refresh(uow, review)
    total = weighted(review.items, "score")
    _save(uow, review, review.status, status="approval", total=total, scorer_id=actor.member_id,
          scorer_comment=comment, history=[*review.history, _step("scored", actor.member_id, uow.now, comment)])
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), f"scored {total}")
    for manager in approvers_of(uow, member, actor.member_id):  # never back to the scorer
        enqueue(uow, org_id=actor.org_id, key=f"review:approve:{review.id}:{review.version}:{manager.id}",
                recipient_id=manager.id, kind="review",
                msgid=N_("{scorer} scored {member}'s {period} review: {total}. Approve it, or return it to the "
                         "supervisor."),
                params={"scorer": actor.name, "member": member.name, "period": review.period,
                        "total": fmt_total(total)},
                buttons=[OutButton(N_("Approve"), f"/review approve {member.name} period={review.period}", True),
                         OutButton(N_("Return"), f"/review return {member.name} period={review.period}", True),
                         _open_button(member, review)])
    uow.commit()
    return review, member


def _as_manager(uow: UnitOfWork, actor: Actor, member_name: str, period: str | None, purpose: str,
                expected: str) -> tuple[Review, Member]:
    """The review, if the actor may approve it (or return it, or rule on its appeal): one of `approvers_of`."""
    if not actor.has_any(APPROVER_ROLES) and uow.session.scalar(  # only a supervisor can be a scorer's supervisor
            select(Member.id).where(Member.supervisor_id == actor.member_id).limit(1)) is None:
        require_role(actor, APPROVER_ROLES)
    review, member = find_review(uow, actor, member_name, period, purpose)
    if member.id == actor.member_id:
        raise Forbidden(N_("You cannot decide on your own review."))
    approvers = approvers_of(uow, member, review.scorer_id)
    if actor.member_id not in {m.id for m in approvers}:
        if review.scorer_id == actor.member_id and review.status in ("approval", "appeal"):
            raise Forbidden(N_("You scored {member}'s review, and whoever scores a review cannot also approve it or "
                               "rule on its appeal: that is for {names}."), member=member.name,
                            names=_names(approvers))
        require_role(actor, APPROVER_ROLES)
        if review.status == expected:
            raise Forbidden(N_("{member}'s {period} review is for {names} to decide."), member=member.name,
                            period=review.period, names=_names(approvers))
    if review.status != expected:
        who = _last_actor(uow, review)
        raise Conflict(N_("Already done{by}: {member}'s {period} review is now {status}."), member=member.name,
                       period=review.period, status=Label(STATUS_LABELS[review.status]), by=who)
    return review, member


def _last_actor(uow: UnitOfWork, review: Review) -> str:
    last = review.history[-1] if review.history else None
    if not last or not last.get("by"):
        return ""
    who = uow.session.get(Member, last["by"])
    return _(" by {member}").format(member=who.name) if who else ""


def approve(uow: UnitOfWork, actor: Actor, member_name: str, period: str | None, note: str | None
            ) -> tuple[Review, Member]:
    review, member = _as_manager(uow, actor, member_name, period, "approve", "approval")
    org = _org(uow, actor)
    appeal_until = workday_on_or_after(
        org, local_today(uow.now, org.timezone) + timedelta(days=int(config(org)["appeal_days"])))
    _save(uow, review, "approval", status="final", approver_id=actor.member_id, approved_at=uow.now,
          appeal_until=appeal_until, history=[*review.history, _step("approved", actor.member_id, uow.now, note)])
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), "approved")
    cancel(uow, SCORE_REMINDER, review.id)
    cancel(uow, SELF_REMINDER, review.id)
    with use_locale(_locale_of(uow, member)):
        lines = "\n".join(_result_line(i) for i in review.items)
    enqueue(uow, org_id=actor.org_id, key=f"review:result:{review.id}:{review.version}", recipient_id=member.id,
            kind="review",
            msgid=N_("Your {period} review is final: weighted total {total}, grade {grade} (bonus coefficient "
                     "{coefficient}).\n{lines}\nYou may appeal until {date} with /review appeal reason=\"...\"."),
            params={"period": review.period, "total": fmt_total(review.total), "lines": lines, "date": appeal_until,
                    **_grade_params(org, review.total)},
            buttons=[OutButton(N_("Appeal"), f"/review appeal period={review.period}")])
    uow.commit()
    return review, member


def _grade_params(org: Organisation, total: Decimal | None) -> dict[str, str]:
    found = grade_of(org, total)
    return {"grade": found[0] if found else "—", "coefficient": fmt_number(found[1]) if found else "—"}


def _result_line(item: dict[str, Any]) -> str:
    return "• " + _("{indicator} ({weight}%): {score}").format(
        indicator=translate(item["label"]), weight=item["weight"], score=item.get("score")) + (
        f" — {item['comment']}" if item.get("comment") else "")


def return_review(uow: UnitOfWork, actor: Actor, member_name: str, period: str | None, reason: str
                  ) -> tuple[Review, Member]:
    review, member = _as_manager(uow, actor, member_name, period, "return", "approval")
    _save(uow, review, "approval", status="scoring", total=None,
          history=[*review.history, _step("returned", actor.member_id, uow.now, reason)])
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), f"returned: {reason}")
    if review.scorer_id:
        enqueue(uow, org_id=actor.org_id, key=f"review:returned:{review.id}:{review.version}",
                recipient_id=review.scorer_id, kind="review",
                msgid=N_("{manager} returned {member}'s {period} review to you: {reason}"),
                params={"manager": actor.name, "member": member.name, "period": review.period, "reason": reason},
                buttons=[_open_button(member, review)])
    uow.commit()
    return review, member


def appeal(uow: UnitOfWork, actor: Actor, period: str | None, reason: str) -> Review:
    review, member = find_review(uow, actor, None, period, "appeal")
    org = _org(uow, actor)
    if review.status != "final":
        raise Conflict(N_("Only a final result can be appealed; your {period} review is {status}."),
                       period=review.period, status=Label(STATUS_LABELS[review.status]))
    if review.appeals >= 1:
        raise Conflict(N_("Your {period} review was already appealed once."), period=review.period)
    if review.appeal_until and local_today(uow.now, org.timezone) > review.appeal_until:
        raise Conflict(N_("The appeal window for your {period} review closed on {date}."), period=review.period,
                       date=review.appeal_until)
    _save(uow, review, "final", status="appeal", appeal_reason=reason, appeals=review.appeals + 1,
          history=[*review.history, _step("appealed", actor.member_id, uow.now, reason)])
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), f"appeal: {reason}")
    for manager in approvers_of(uow, member, review.scorer_id):  # not whoever scored it
        enqueue(uow, org_id=actor.org_id, key=f"review:appeal:{review.id}:{manager.id}", recipient_id=manager.id,
                kind="review", msgid=N_("{member} appeals their {period} review ({total}): {reason}"),
                params={"member": member.name, "period": review.period, "total": fmt_total(review.total),
                        "reason": reason},
                buttons=[OutButton(N_("Uphold"), f"/review rule {member.name} upheld period={review.period}", True),
                         OutButton(N_("Dismiss"), f"/review rule {member.name} dismissed period={review.period}",
                                   True),
                         _open_button(member, review)])
    uow.commit()
    return review


def rule(uow: UnitOfWork, actor: Actor, member_name: str, decision: str, period: str | None, note: str | None
         ) -> tuple[Review, Member]:
    """Upheld: the review goes back to the supervisor to be scored again. Dismissed: the result stands."""
    review, member = _as_manager(uow, actor, member_name, period, "rule", "appeal")
    if decision == "upheld":
        values: dict[str, Any] = {"status": "scoring", "total": None}
        msgid = N_("Your appeal of the {period} review was upheld by {manager}: your supervisor will score it "
                   "again.{note}")
    else:
        values = {"status": "closed"}
        msgid = N_("Your appeal of the {period} review was dismissed by {manager}; the result ({total}) "
                   "stands.{note}")
    _save(uow, review, "appeal", ruling=decision, ruling_note=note, ruled_by_id=actor.member_id, ruled_at=uow.now,
          history=[*review.history, _step(decision, actor.member_id, uow.now, note)], **values)
    uow.audit(actor.org_id, actor.member_id, "update", "review", _ref(review), f"appeal {decision}")
    enqueue(uow, org_id=actor.org_id, key=f"review:ruling:{review.id}", recipient_id=member.id, kind="review",
            msgid=msgid, params={"period": review.period, "manager": actor.name, "total": fmt_total(review.total),
                                 # a separate message, so each language puts its own space (or none) before it
                                 "note": Msg(N_(" Note: {text}"), {"text": note}) if note else ""})
    if decision == "upheld" and review.scorer_id:
        enqueue(uow, org_id=actor.org_id, key=f"review:rescore:{review.id}", recipient_id=review.scorer_id,
                kind="review", msgid=N_("{manager} upheld {member}'s appeal of the {period} review: please score "
                                        "it again."),
                params={"manager": actor.name, "member": member.name, "period": review.period},
                buttons=[_open_button(member, review)])
    uow.commit()
    return review, member


# --- settings commands -----------------------------------------------------------------------------

def set_cycles(uow: UnitOfWork, actor: Actor, changes: dict[str, Any]) -> dict[str, Any]:
    require_role(actor, ADMIN_ROLES)
    org = _org(uow, actor)
    cfg = config(org)
    if changes:
        cycles = set(cfg["cycles"])
        for cycle in CYCLES:
            if cycle in changes:
                (cycles.add if changes[cycle] else cycles.discard)(cycle)
        cfg["cycles"] = [c for c in CYCLES if c in cycles]
        for key in ("self_day", "close_day", "annual_self_day", "annual_close_day", "appeal_days"):
            if changes.get(key) is not None:
                cfg[key] = int(changes[key])
        for key in ("self_day", "close_day", "annual_self_day", "annual_close_day"):
            if not 1 <= cfg[key] <= 28:
                raise Invalid(N_("{setting} must be a day of the month from 1 to 28."), setting=key)
        if cfg["self_day"] > cfg["close_day"] or cfg["annual_self_day"] > cfg["annual_close_day"]:
            raise Invalid(N_("The self-review is due before scoring closes: self_day ≤ close_day."))
        if not 0 <= cfg["appeal_days"] <= 60:
            raise Invalid(N_("appeal_days must be from 0 to 60."))
        _store(org, "reviews", cfg)
        for cycle in CYCLES:
            kind = opening_kind(cycle)
            when = next_opening(org, cycle, uow.now)
            if when is None:
                cancel(uow, kind, org.id)
            else:
                schedule(uow, org.id, kind, org.id, when)
        uow.audit(org.id, actor.member_id, "update", "settings", "reviews", str(changes))
    uow.commit()
    return cfg


_WEIGHT = re.compile(r"^\s*([A-Za-z_][\w]*)\s*[=:：＝]\s*(\d{1,3})\s*%?\s*$")


def parse_weights(text: str) -> dict[str, int]:
    """'performance=40, new_customers=20 …' (commas, semicolons or spaces between; = or :)."""
    parts = [p for p in re.split(r"[,;，；\s]+(?=[A-Za-z_])", text.strip()) if p.strip()]
    out: dict[str, int] = {}
    for part in parts:
        m = _WEIGHT.match(part.strip(" ,;，；"))
        if not m:
            raise Invalid(N_("'{text}' is not a weight; write key=weight, e.g. performance=40."), text=part.strip())
        key = m.group(1).lower()
        if key in out:
            raise Invalid(N_("{key} is weighted twice."), key=key)
        out[key] = int(m.group(2))
    if not out:
        raise Invalid(N_("Give the weights, e.g. weights=\"performance=40 new_customers=20 ...\"."))
    return out


def parse_labels(text: str) -> dict[str, str]:
    """'key: label; key2: label 2'."""
    out: dict[str, str] = {}
    for part in re.split(r"[;；]", text):
        if not part.strip():
            continue
        key, sep, label = re.sub("：", ":", part).partition(":")
        if not sep or not label.strip() or not re.fullmatch(r"[A-Za-z_]\w*", key.strip()):
            raise Invalid(N_("'{text}' is not a label; write key: label."), text=part.strip())
        out[key.strip().lower()] = label.strip()
    return out


def set_template(uow: UnitOfWork, actor: Actor, name: str, weights: dict[str, int], labels: dict[str, str],
                 roles: list[str] | None) -> dict[str, Any]:
    """Replace a template's indicators with `weights` (which must total 100); new ones need a label.
    Reviews already open keep the template they were opened with."""
    require_role(actor, ADMIN_ROLES)
    org = _org(uow, actor)
    tpls = templates(org)
    if name not in tpls:
        raise NotFound(N_("There is no template {name}; templates: {choices}."), name=name,
                       choices=", ".join(tpls))
    total = sum(weights.values())
    if total != 100:
        raise Invalid(N_("The weights total {total}%; they must total 100%."), total=total)
    old = {i["key"]: i for i in tpls[name]["indicators"]}
    shared = {i["key"]: i for t in DEFAULT_TEMPLATES.values() for i in t["indicators"]}
    indicators = []
    for key, weight in weights.items():
        base = old.get(key) or shared.get(key)
        if base is None and key not in labels:
            raise Invalid(N_("{key} is a new indicator: give it a label, e.g. labels=\"{key}: what it measures\"."),
                          key=key)
        if weight == 0:
            continue
        indicator = dict(base) if base else {"key": key, "measures": []}
        indicator["weight"] = weight
        if key in labels:
            indicator["label"] = labels[key]
        indicators.append(indicator)
    tpl = dict(tpls[name], indicators=indicators)
    if roles is not None:
        tpl["roles"] = roles
    tpls[name] = tpl
    _store(org, "review_templates", tpls)
    uow.audit(org.id, actor.member_id, "update", "settings", f"template {name}", str(weights))
    uow.commit()
    return tpl


def member_figures(uow: UnitOfWork, actor: Actor, member_name: str | None, period: str | None
                   ) -> tuple[Member, Period, list[tuple[dict[str, Any], list[figures.Figure]]]]:
    """/kpi: the measured indicators of a member's template for a period (default: this month)."""
    org = _org(uow, actor)
    member = find_member(uow, org.id, member_name) if member_name else uow.session.get(Member, actor.member_id)
    assert member is not None
    if member.id != actor.member_id and not can_access(uow, actor, member.id):
        raise Forbidden(N_("You may not see {member}'s review."), member=member.name)
    today = local_today(uow.now, org.timezone)
    chosen = parse_period(period, today) if period else period_of("monthly", today)
    name = template_for(org, member)
    if name is None:
        if member.id == actor.member_id:
            raise NotFound(N_("Your role has no appraisal template, so there are no figures of yours to show; "
                              "/kpi NAME shows a member's."))
        raise NotFound(N_("{member} has no appraisal template for their role."), member=member.name)
    out = []
    for item in templates(org)[name]["indicators"]:
        stored = _figures_for(uow, org, member.id, chosen, item.get("measures", []), item.get("scope"))
        out.append((item, [figure_of(s) for s in stored]))  # none: the indicator is scored by hand
    uow.audit(org.id, actor.member_id, "read", "kpi", None, f"{member.name} {chosen.key}")
    uow.commit()
    return member, chosen, out


REVIEW_COLUMNS = (N_("Period"), N_("Member"), N_("Template"), N_("Status"), N_("Indicator"), N_("Weight"),
                  N_("Figures"), N_("Self-review score"), N_("Score"), N_("Comment"), N_("Total"), N_("Grade"),
                  N_("Bonus coefficient"), N_("Appeal"))
RULINGS = {"upheld": N_("appeal upheld; back to the supervisor"), "dismissed": N_("appeal dismissed"),
           "pending": N_("under appeal")}


def export_reviews(uow: UnitOfWork, member_name: str, org_id: int | None, period: str, fmt: str) -> tuple[bytes, int]:
    """Every review of a period, one row per indicator, for managers (checked and audited), in their language."""
    actor = exporter(uow, org_id, member_name, f"reviews {period}")
    key = parse_period(period, local_today(uow.now, actor.timezone)).key
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    known = templates(org)
    measures = uow.wiring[figures.MEASURES]
    rows = []
    reviews = uow.session.execute(select(Review, Member).join(Member, Member.id == Review.member_id).where(
        Review.org_id == actor.org_id, Review.period == key).order_by(Member.name_key))
    with use_locale(actor.locale):
        for review, member in reviews:
            template = known.get(review.template, {}).get("label")
            for item in review.items:
                shown = "; ".join(
                    _("{measure}: {value}").format(
                        measure=translate(measures[f["key"]].label) if f["key"] in measures else f["key"],
                        value=figure_of(f).shown())
                    for f in item.get("figures", [])) or (_(HAND_SCORED) if not item.get("measures") else "")
                graded = grade_of(org, review.total)
                ruling = review.ruling or ("pending" if review.status == "appeal" else None)
                rows.append([key, member.name, translate(template) if template else review.template,
                             translate(STATUS_LABELS.get(review.status, review.status)),
                             translate(item["label"]) if item.get("label") else item["key"], item["weight"], shown,
                             item.get("self_score"), item.get("score"), item.get("comment") or "", review.total,
                             graded[0] if graded else "", graded[1] if graded else None,
                             translate(RULINGS[ruling]) if ruling in RULINGS else ""])
        header = [translate(h) for h in REVIEW_COLUMNS]
        title = _("Appraisals {period}").format(period=key)
    uow.audit(actor.org_id, actor.member_id, "export", "review", None, f"{key} {fmt} {len(rows)} rows")
    uow.commit()
    return write_table(header, rows, fmt, title), len(rows)
