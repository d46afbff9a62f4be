"""Projects (项目执行): an approved initiation (立项) carried to its archive.

启动 → 计划 → 实施 → 验收 → 归档: an approved `project` request becomes project P1 with its customer, budget,
start, project manager and team, announced to them and to the department's channel (立项通知). The manager
drafts the plan — milestones with an owner, a due date and the deliverable (交付成果) — and submits it for the
department manager's review (计划审核, a `plan` request on the approval engine); the approved plan is the
baseline, and a change to it is a change request (reason, content, impact) on the same engine. Owners mark
milestones done; a milestone falling due is reminded to its owner, and one that is late escalates to the project
manager and then the department manager (due items). Each week the team is asked for its progress and the
manager gets a summary with the deviations from the baseline (late milestones, spending over the budget).
An acceptance (验收) that fails opens rectification items (整改) tracked to a new acceptance; one that passes
closes the project, whose file — request, plan and changes, progress, costs, acceptance — is its archive.

Who sees a project: its manager, team and requester, those whose reporting line reaches one of them, and the
department's roles; a project one may not see is "not found".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update

from domain.approvals import engine as approvals
from domain.delivery.due import schedule
from domain.delivery.outbox import Money, Msg, OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.dates import check_span
from domain.kernel.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label, fmt_date, fmt_money, translate, use_locale
from domain.kernel.vocab import RISKS, Vocabulary
from domain.reporting.exports import write_table
from domain.reporting.figures import Figure, Scope, count_of, rate
from domain.risk.levels import RiskRow, Subject
from domain.store.models import (
    ApprovalRequest,
    CollabCase,
    DueItem,
    Member,
    Organisation,
    Project,
    ProjectEvent,
    ProjectItem,
)
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import TEAM_ADMIN_ROLES, parse_ref, ref, require_role, team_ids
from domain.team.agenda import AgendaEntry
from domain.team.members import department_manager, find_member, org_setting

PREFIX = "P"
ITEM = "project_item"  # due kind: a milestone's or rectification's reminder and escalation ladder
ASK = "project_progress_ask"  # recurring: the weekly progress question to each active project's team
SUMMARY = "project_progress_summary"  # recurring: the weekly summary with deviations to each project manager
MAX_TEXT = 1000

STATES = {"active": N_("in progress"), "closed": N_("closed and archived")}
PLAN_STATES = {"draft": N_("plan in draft"), "pending": N_("plan in review"), "approved": N_("plan approved"),
               "changes": N_("plan sent back for changes"), "rejected": N_("plan rejected")}
ITEM_KINDS = {"milestone": "M", "rectify": "R"}
RESULTS = Vocabulary(
    N_("acceptance result"), {"passed": N_("passed"), "failed": N_("failed")},
    {"通过": "passed", "合格": "passed", "验收通过": "passed", "pass": "passed", "不通过": "failed",
     "不合格": "failed", "未通过": "failed", "fail": "failed"},
)
EVENT_LABELS = {
    "initiated": N_("initiated"), "plan_submitted": N_("plan submitted"), "plan_approved": N_("plan approved"),
    "plan_returned": N_("plan sent back"), "change_asked": N_("change requested"), "change": N_("plan changed"),
    "change_refused": N_("change not approved"), "done": N_("milestone done"), "late": N_("milestone late"),
    "update": N_("progress"), "cost": N_("cost"), "accept": N_("acceptance"), "rectify": N_("rectification"),
    "risk": N_("risk"), "closed": N_("closed and archived"), "handover": N_("handed over"),
}


def pref(p: Project) -> str:
    return ref(PREFIX, p.number)


def iref(item: ProjectItem) -> str:
    return f"{ITEM_KINDS[item.kind]}{item.number}"


def clean(text: str | None) -> str:
    value = (text or "").strip()
    if len(value) > MAX_TEXT:
        raise Invalid(N_("The text is too long ({count} characters; at most {max})."), count=len(value), max=MAX_TEXT)
    return value


def org_of(uow: UnitOfWork, org_id: int) -> Organisation:
    org = uow.session.get(Organisation, org_id)
    assert org is not None
    return org


def member_name(uow: UnitOfWork, member_id: int | None) -> str:
    member = uow.session.get(Member, member_id) if member_id else None
    return member.name if member else "?"


def _event(uow: UnitOfWork, p: Project, kind: str, actor_id: int | None, note: str | None = None,
           amount: Decimal | None = None, **data: Any) -> None:
    uow.add(ProjectEvent(org_id=p.org_id, project_id=p.id, kind=kind, actor_id=actor_id, note=note, amount=amount,
                         data=data, at=uow.now))


def record_event(uow: UnitOfWork, p: Project, kind: str, actor_id: int | None, note: str | None = None,
                 **data: Any) -> None:
    """An entry of the project's file, from elsewhere in the area (a hand-over)."""
    _event(uow, p, kind, actor_id, note, **data)




def line_manager(uow: UnitOfWork, member_id: int) -> Member | None:
    """The manager over a member: the first up their reporting line with a department role, else the
    department's manager."""
    member = uow.session.get(Member, member_id)
    seen: set[int] = set()
    cursor = uow.session.get(Member, member.supervisor_id) if member and member.supervisor_id else None
    while cursor is not None and cursor.id not in seen:
        seen.add(cursor.id)
        if cursor.active and cursor.role_set & {"manager", "deputy", "head"}:
            return cursor
        cursor = uow.session.get(Member, cursor.supervisor_id) if cursor.supervisor_id else None
    return department_manager(uow, member.org_id) if member else None


def channel_of(org: Organisation) -> str | None:
    settings = org.settings or {}
    channel = settings.get("projects_channel") or settings.get("approvals_channel")
    return str(channel) if channel else None


# --- access ----------------------------------------------------------------------------------


def people(p: Project) -> set[int]:
    """The project's own people: manager, requester and team."""
    return {p.manager_id, p.requester_id, *(int(i) for i in p.team or [])}


def visible(uow: UnitOfWork, actor: Actor, p: Project) -> bool:
    if actor.sees_department or actor.member_id in people(p):
        return True
    line = team_ids(uow, actor.org_id, actor.member_id)
    if line & people(p):
        return True
    owners = set(uow.session.scalars(select(ProjectItem.owner_id).where(ProjectItem.project_id == p.id)))
    return bool(line & owners)


def _visible_filter(uow: UnitOfWork, actor: Actor) -> list[Project]:
    rows = uow.session.scalars(select(Project).where(Project.org_id == actor.org_id).order_by(Project.number))
    return [p for p in rows if visible(uow, actor, p)]


def find_project(uow: UnitOfWork, actor: Actor, text: str) -> Project:
    """By reference (P3); one the actor may not see is not found."""
    p = by_number(uow, Project, actor.org_id, parse_ref(text, PREFIX))
    if p is None:
        raise NotFound(N_("No project {ref}."), ref=text.strip().upper()[:20])
    if not visible(uow, actor, p):
        raise Hidden(N_("No project {ref}."), ref=text.strip().upper()[:20])
    return p


def _manages(actor: Actor, p: Project) -> bool:
    return actor.member_id == p.manager_id or actor.sees_department


def _require_manager(actor: Actor, p: Project) -> None:
    if not _manages(actor, p):
        raise Forbidden(N_("Only the project manager of {ref} or a manager of the department may do that."),
                        ref=pref(p))


def _require_active(p: Project) -> None:
    if p.state != "active":
        raise Conflict(N_("{ref} is closed and archived."), ref=pref(p))


def find_item(uow: UnitOfWork, p: Project, text: str) -> ProjectItem:
    raw = text.strip().upper()
    kind = next((k for k, letter in ITEM_KINDS.items() if raw.startswith(letter)), None)
    number = raw[1:]
    item = None
    if kind is not None and number.isdecimal() and len(number) < 7:
        item = uow.session.scalar(select(ProjectItem).where(
            ProjectItem.project_id == p.id, ProjectItem.kind == kind, ProjectItem.number == int(number)))
    if item is None:
        raise NotFound(N_("{ref} has no milestone or rectification {item}."), ref=pref(p), item=raw[:20])
    return item


# --- 立项: an approved initiation becomes a project -------------------------------------------


def project_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    """Heard from the approval engine: an approved 立项 becomes a project, announced (立项通知)."""
    if state != "approved" or uow.session.scalar(select(Project.id).where(Project.request_id == req.id)):
        return
    f = req.fields
    manager_id = int(f.get("manager_id") or req.requester_id)
    team = [int(i) for i in f.get("team_ids", []) if int(i) != manager_id]
    p = uow.add(Project(org_id=req.org_id, number=next_number(uow, Project, req.org_id), request_id=req.id,
                        name=str(f.get("name", ""))[:200], customer_id=f.get("customer_id"),
                        budget=req.amount or Decimal(0), currency=req.currency,
                        start=date.fromisoformat(f["start"]), manager_id=manager_id, requester_id=req.requester_id,
                        team=team, state="active", plan_state="draft", accept_round=0, risk="unassessed",
                        created_at=uow.now, updated_at=uow.now))
    uow.session.flush()
    _event(uow, p, "initiated", actor.member_id, None, req.amount, request=approvals.rref(req))
    uow.audit(p.org_id, actor.member_id, "create", "project", pref(p), f"from {approvals.rref(req)}")
    params = {"ref": pref(p), "project": p.name, "manager": member_name(uow, p.manager_id),
              "team": ", ".join(member_name(uow, i) for i in team) or "—", "budget": Money(p.budget, p.currency),
              "start": p.start, "request": approvals.rref(req)}
    msgid = N_("Project set up (立项通知): {ref} {project}, approved as {request}. Project manager: {manager}; "
               "team: {team}; budget {budget}; start {start}.")
    buttons = [OutButton(N_("Show"), f"/project show {pref(p)}")]
    for member_id in sorted({manager_id, *team}):
        enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:initiated:{member_id}", recipient_id=member_id,
                msgid=msgid, params=params, buttons=buttons)
    channel = channel_of(org_of(uow, p.org_id))
    if channel:
        enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:initiated:channel", channel=channel, msgid=msgid,
                params=params)
    enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:plan:ask", recipient_id=manager_id,
            msgid=N_("Draft the plan of {ref}: /project plan {ref} \"MILESTONE\" owner=NAME due=DATE "
                     "deliverable=\"…\", then /project plan {ref} submit."), params={"ref": pref(p)})


# --- the plan ----------------------------------------------------------------------------------


def _owner(uow: UnitOfWork, p: Project, name: str) -> Member:
    member = find_member(uow, p.org_id, name)
    if not member.active:
        raise Invalid(N_("{name} has left the department."), name=member.name)
    if member.id not in people(p):
        p.team = [*(p.team or []), member.id]  # an owner of a milestone joins the team
    return member


def _next_item_number(uow: UnitOfWork, p: Project, kind: str) -> int:
    last = uow.session.scalar(select(func.max(ProjectItem.number)).where(
        ProjectItem.project_id == p.id, ProjectItem.kind == kind))
    return int(last or 0) + 1


def _check_due(uow: UnitOfWork, p: Project, due: date) -> None:
    today = local_today(uow.now, org_of(uow, p.org_id).timezone)
    if due < today:
        raise Invalid(N_("The due date {date} has passed."), date=due.isoformat())
    check_span(today, due)


def add_milestone(uow: UnitOfWork, actor: Actor, text: str, title: str, owner: str, due: date,
                  deliverable: str | None) -> tuple[Project, ProjectItem]:
    """A milestone (or task) of the plan while it is drafted: its owner, due date and deliverable."""
    p = find_project(uow, actor, text)
    _require_active(p)
    _require_manager(actor, p)
    if p.plan_state in ("pending", "approved"):
        raise Conflict(N_("The plan of {ref} is {state}: change it with /project change {ref} reason=\"…\" "
                          "content=\"…\" impact=\"…\"."), ref=pref(p), state=Label(PLAN_STATES[p.plan_state]))
    title = clean(title)
    if not title:
        raise Invalid(N_("A value is empty."))
    _check_due(uow, p, due)
    member = _owner(uow, p, owner)
    item = uow.add(ProjectItem(org_id=p.org_id, project_id=p.id, kind="milestone",
                               number=_next_item_number(uow, p, "milestone"), title=title, owner_id=member.id,
                               due=due, deliverable=clean(deliverable) or None, state="open", round=0, rev=1,
                               late=False, created_at=uow.now))
    p.updated_at = uow.now
    uow.session.flush()
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p),
              f"plan + {iref(item)} {title} owner={member.name} due={due}")
    uow.commit()
    return p, item


def milestones(uow: UnitOfWork, p: Project, kind: str = "milestone") -> list[ProjectItem]:
    return list(uow.session.scalars(select(ProjectItem).where(ProjectItem.project_id == p.id,
                                                              ProjectItem.kind == kind)
                                    .order_by(ProjectItem.number)))


def _pending_plan_request(uow: UnitOfWork, p: Project) -> ApprovalRequest | None:
    return uow.session.scalar(select(ApprovalRequest).where(
        ApprovalRequest.org_id == p.org_id, ApprovalRequest.type == "plan", ApprovalRequest.subject_id == p.id,
        ApprovalRequest.state == "pending").limit(1))


def _plan_fields(p: Project, items: list[ProjectItem]) -> dict[str, Any]:
    return {"kind": "plan", "project": pref(p), "name": p.name,
            "milestones": [[iref(i), i.title, i.owner_id, i.due.isoformat(), i.deliverable or ""] for i in items]}


def resubmit(uow: UnitOfWork, actor: Actor, req: ApprovalRequest) -> None:
    """`/approvals resubmit` of a plan sent back or rejected: the plan as it is now (revised meanwhile with /project
    plan) goes to review again on the same request; a change request goes again as it was. Not committed."""
    p = uow.session.get(Project, req.subject_id)
    if p is None or p.org_id != actor.org_id or not visible(uow, actor, p):
        raise NotFound(N_("No project for {req}."), req=approvals.rref(req))
    _require_active(p)
    if req.requester_id != actor.member_id:
        raise Forbidden(N_("Only {name}, who submitted {req}, submits it again; the project manager submits the plan "
                           "with /project plan {ref} submit."), name=member_name(uow, req.requester_id),
                        req=approvals.rref(req), ref=pref(p))
    if req.fields.get("kind") == "change":
        if p.plan_state != "approved":
            raise Conflict(N_("The plan of {ref} is {state}; only an approved plan takes a change request."),
                           ref=pref(p), state=Label(PLAN_STATES[p.plan_state]))
        pending = _pending_plan_request(uow, p)
        if pending is not None:
            raise Conflict(N_("{ref} already has a change request in approval ({req})."), ref=pref(p),
                           req=approvals.rref(pending))
        if req.fields.get("item") and find_item(uow, p, req.fields["item"]).state != "open":
            raise Conflict(N_("{item} of {ref} is done; a change is to an open milestone."), item=req.fields["item"],
                           ref=pref(p))
        approvals.submit(uow, actor, req)
        _event(uow, p, "change_asked", actor.member_id, req.fields.get("content"), request=approvals.rref(req),
               reason=req.fields.get("reason"), impact=req.fields.get("impact"))
        uow.audit(p.org_id, actor.member_id, "update", "project", pref(p),
                  f"plan change {approvals.rref(req)} resubmitted, round {req.round}")
        return
    if p.plan_request_id != req.id:
        raise Conflict(N_("{req} is no longer the plan of {ref} waiting for you; the plan is {state}. Submit it with "
                          "/project plan {ref} submit."), req=approvals.rref(req), ref=pref(p),
                       state=Label(PLAN_STATES[p.plan_state]))
    if p.plan_state not in ("changes", "rejected"):
        raise Conflict(N_("The plan of {ref} is {state}."), ref=pref(p), state=Label(PLAN_STATES[p.plan_state]))
    items = milestones(uow, p)
    if not items:
        raise Invalid(N_("The plan of {ref} has no milestone yet: /project plan {ref} \"MILESTONE\" owner=NAME "
                         "due=DATE deliverable=\"…\"."), ref=pref(p))
    req.fields = _plan_fields(p, items)
    approvals.submit(uow, actor, req)
    p.plan_state, p.updated_at = "pending", uow.now
    _event(uow, p, "plan_submitted", actor.member_id, None, request=approvals.rref(req), count=len(items))
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p),
              f"plan resubmitted as {approvals.rref(req)} round {req.round} ({len(items)} milestones)")


def submit_plan(uow: UnitOfWork, actor: Actor, text: str) -> tuple[Project, ApprovalRequest]:
    """Send the drafted plan for review (计划审核) on the approval engine."""
    p = find_project(uow, actor, text)
    _require_active(p)
    _require_manager(actor, p)
    if p.plan_state in ("pending", "approved"):
        raise Conflict(N_("The plan of {ref} is {state}."), ref=pref(p), state=Label(PLAN_STATES[p.plan_state]))
    items = milestones(uow, p)
    if not items:
        raise Invalid(N_("The plan of {ref} has no milestone yet: /project plan {ref} \"MILESTONE\" owner=NAME "
                         "due=DATE deliverable=\"…\"."), ref=pref(p))
    req = approvals.create_request(uow, actor, "plan", _plan_fields(p, items), p.budget, p.currency, p.id)
    approvals.submit(uow, actor, req)
    p.plan_state, p.plan_request_id, p.updated_at = "pending", req.id, uow.now
    _event(uow, p, "plan_submitted", actor.member_id, None, request=approvals.rref(req), count=len(items))
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p),
              f"plan submitted as {approvals.rref(req)} ({len(items)} milestones)")
    uow.commit()
    return p, req


@dataclass(frozen=True)
class Change:
    item: str | None = None  # M2; None: a new milestone
    title: str | None = None
    owner: str | None = None
    due: date | None = None
    deliverable: str | None = None


def request_change(uow: UnitOfWork, actor: Actor, text: str, reason: str, content: str, impact: str | None,
                   change: Change) -> tuple[Project, ApprovalRequest]:
    """A change to the approved plan (变更管理): reason, content, impact, and what it changes — one milestone's
    title, owner, due date or deliverable, or a new milestone — applied when approved."""
    p = find_project(uow, actor, text)
    _require_active(p)
    _require_manager(actor, p)
    if p.plan_state != "approved":
        raise Conflict(N_("The plan of {ref} is {state}; only an approved plan takes a change request."),
                       ref=pref(p), state=Label(PLAN_STATES[p.plan_state]))
    pending = _pending_plan_request(uow, p)
    if pending is not None:
        raise Conflict(N_("{ref} already has a change request in approval ({req})."), ref=pref(p),
                       req=approvals.rref(pending))
    reason, content, impact = clean(reason), clean(content), clean(impact)
    if not reason or not content:
        raise Invalid(N_("Say why and what changes: reason=\"…\" content=\"…\"."))
    new: dict[str, Any] = {}
    if change.item is not None:
        item = find_item(uow, p, change.item)
        if item.kind != "milestone" or item.state != "open":
            raise Conflict(N_("{item} of {ref} is done; a change is to an open milestone."), item=iref(item),
                           ref=pref(p))
        target = iref(item)
    else:
        if not (change.title and change.owner and change.due):
            raise Invalid(N_("A change adds a milestone (title, owner= and due=) or changes one (item=M2)."))
        target = None
    if change.title:
        new["title"] = clean(change.title)
    if change.owner:
        new["owner_id"] = find_member(uow, p.org_id, change.owner).id
    if change.due:
        _check_due(uow, p, change.due)
        new["due"] = change.due.isoformat()
    if change.deliverable:
        new["deliverable"] = clean(change.deliverable)
    if not new:
        raise Invalid(N_("Say what changes: title=, owner=, due= or deliverable=."))
    fields = {"kind": "change", "project": pref(p), "name": p.name, "item": target, "new": new, "reason": reason,
              "content": content, "impact": impact}
    req = approvals.create_request(uow, actor, "plan", fields, p.budget, p.currency, p.id)
    approvals.submit(uow, actor, req)
    _event(uow, p, "change_asked", actor.member_id, content, request=approvals.rref(req), reason=reason,
           impact=impact)
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p),
              f"plan change {approvals.rref(req)}: {reason}")
    uow.commit()
    return p, req


def describe_plan(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    f = req.fields
    if f.get("kind") == "change":
        return Msg(N_("Change to the plan of project {ref} ({project}) by {name}: {content}. Reason: {reason}. "
                      "Impact: {impact}."),
                   {"ref": f.get("project", ""), "project": f.get("name", ""),
                    "name": member_name(uow, req.requester_id), "content": f.get("content", ""),
                    "reason": f.get("reason", ""), "impact": f.get("impact") or "—"})
    lines = "; ".join(f"{m[0]} {m[1]} ({member_name(uow, m[2])}, {m[3]})" for m in f.get("milestones", []))
    return Msg(N_("Plan of project {ref} ({project}) by {name}, {count} milestones: {milestones}."),
               {"ref": f.get("project", ""), "project": f.get("name", ""), "name": member_name(uow, req.requester_id),
                "count": len(f.get("milestones", [])), "milestones": lines})


def plan_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    """A plan approved becomes the baseline and its milestones' reminders start; a change approved is applied
    and re-baselined."""
    p = uow.session.get(Project, req.subject_id)
    if p is None:
        return
    org = org_of(uow, p.org_id)
    if req.fields.get("kind") == "change":
        if state != "approved":
            _event(uow, p, "change_refused", actor.member_id, req.fields.get("content"),
                   request=approvals.rref(req))
            return
        _apply_change(uow, org, actor, p, req)
        return
    if state != "approved":
        p.plan_state = state
        _event(uow, p, "plan_returned", actor.member_id, None, request=approvals.rref(req), state=state)
        return
    p.plan_state, p.updated_at = "approved", uow.now
    for item in milestones(uow, p):
        item.baseline_due = item.due
        _schedule_item(uow, org, p, item)
        enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:plan:{item.id}:owner", recipient_id=item.owner_id,
                msgid=N_("The plan of {ref} ({project}) is approved. Yours: {item} {title}, due {due}; deliverable: "
                         "{deliverable}."),
                params={"ref": pref(p), "project": p.name, "item": iref(item), "title": item.title, "due": item.due,
                        "deliverable": item.deliverable or "—"},
                buttons=[OutButton(N_("Mark done"), f"/project done {pref(p)} {iref(item)}")])
    _event(uow, p, "plan_approved", actor.member_id, None, request=approvals.rref(req))
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p),
              f"plan approved: baseline ({approvals.rref(req)})")


def _apply_change(uow: UnitOfWork, org: Organisation, actor: Actor, p: Project, req: ApprovalRequest) -> None:
    f = req.fields
    new = f.get("new") or {}
    if f.get("item"):
        item = find_item(uow, p, f["item"])
    else:
        item = uow.add(ProjectItem(org_id=p.org_id, project_id=p.id, kind="milestone",
                                   number=_next_item_number(uow, p, "milestone"), title=new.get("title", ""),
                                   owner_id=int(new["owner_id"]), due=date.fromisoformat(new["due"]),
                                   state="open", round=0, rev=0, late=False, created_at=uow.now))
    for key, value in new.items():
        if key == "due":
            item.due = date.fromisoformat(value)
        elif key == "owner_id":
            item.owner_id = int(value)
            if item.owner_id not in people(p):
                p.team = [*(p.team or []), item.owner_id]
        else:
            setattr(item, key, value)
    item.baseline_due, item.rev, item.late = item.due, item.rev + 1, False
    uow.session.flush()
    _schedule_item(uow, org, p, item)
    _event(uow, p, "change", actor.member_id, f.get("content"), request=approvals.rref(req), item=iref(item),
           reason=f.get("reason"), impact=f.get("impact"))
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p),
              f"change {approvals.rref(req)} applied to {iref(item)}: " + " ".join(f"{k}={v}" for k, v in new.items()))
    enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:change:{req.id}:owner", recipient_id=item.owner_id,
            msgid=N_("The plan of {ref} changed ({request}): {item} {title}, due {due}."),
            params={"ref": pref(p), "request": approvals.rref(req), "item": iref(item), "title": item.title,
                    "due": item.due})


# --- running: reminders and the escalation ladder -------------------------------------------


def reminder_time(org: Organisation, day: date) -> datetime:
    return at_local(day, time(org_setting(org, "reminder_hour")), org.timezone)


def _schedule_item(uow: UnitOfWork, org: Organisation, p: Project, item: ProjectItem) -> None:
    """The morning it falls due its owner is reminded; the next morning, still open, it is late and goes to the
    project manager; two mornings later to the department manager."""
    base = f"{ITEM}:{item.id}:{item.rev}"
    schedule(uow, org.id, ITEM, item.id, reminder_time(org, item.due), key=f"{base}:remind")
    schedule(uow, org.id, ITEM, item.id, reminder_time(org, item.due + timedelta(days=1)), key=f"{base}:pm")
    schedule(uow, org.id, ITEM, item.id, reminder_time(org, item.due + timedelta(days=3)), key=f"{base}:manager")


def _stop_items(uow: UnitOfWork, item_ids: list[int]) -> None:
    if item_ids:
        uow.session.execute(update(DueItem).where(DueItem.kind == ITEM, DueItem.subject_id.in_(item_ids),
                                                  DueItem.state == "pending").values(state="cancelled"))


def fire_item(uow: UnitOfWork, due: DueItem) -> None:
    _kind, _id, rev, step = due.key.split(":")
    item = uow.session.get(ProjectItem, due.subject_id)
    if item is None or item.state != "open" or item.rev != int(rev):
        return
    p = uow.session.get(Project, item.project_id)
    if p is None or p.state != "active":
        return
    params = {"ref": pref(p), "project": p.name, "item": iref(item), "title": item.title, "due": item.due,
              "owner": member_name(uow, item.owner_id), "deliverable": item.deliverable or "—"}
    done = OutButton(N_("Mark done"), f"/project done {pref(p)} {iref(item)}", decision=True)
    show = OutButton(N_("Show"), f"/project show {pref(p)}")
    if step == "remind":
        enqueue(uow, org_id=p.org_id, key=f"{due.key}:{item.owner_id}", recipient_id=item.owner_id, kind=ITEM,
                msgid=N_("Due today: {item} {title} of {ref} ({project}); deliverable: {deliverable}."),
                params=params, buttons=[done, show])
        return
    if step == "pm":
        item.late = True
        _event(uow, p, "late", None, None, item=iref(item), due=item.due.isoformat())
        uow.audit(p.org_id, None, "update", "project", pref(p), f"{iref(item)} late, escalated to the project manager")
        target_id: int | None = p.manager_id
        msgid = N_("Late: {item} {title} of {ref} ({project}), owner {owner}, was due {due}. Escalated to you as "
                   "the project manager.")
    else:
        manager = line_manager(uow, p.manager_id)
        target_id = manager.id if manager else None
        uow.audit(p.org_id, None, "update", "project", pref(p), f"{iref(item)} late, escalated to the manager")
        msgid = N_("Still late: {item} {title} of {ref} ({project}), owner {owner}, was due {due}; the project "
                   "manager has had it for two days. Escalated to you as the department manager.")
    if target_id is not None:
        enqueue(uow, org_id=p.org_id, key=f"{due.key}:{target_id}", recipient_id=target_id, kind=ITEM, urgent=True,
                msgid=msgid, params=params, buttons=[show])
    if target_id != item.owner_id:
        enqueue(uow, org_id=p.org_id, key=f"{due.key}:owner:{item.owner_id}", recipient_id=item.owner_id, kind=ITEM,
                msgid=N_("{item} {title} of {ref} is late (due {due}) and was escalated to {target}."),
                params={**params, "target": member_name(uow, target_id)}, buttons=[done])


def mark_done(uow: UnitOfWork, actor: Actor, text: str, item_text: str, note: str | None, filed: str | None
              ) -> tuple[Project, ProjectItem]:
    """The owner (or the project manager) marks a milestone or rectification done, with a note and where its
    deliverable is filed."""
    p = find_project(uow, actor, text)
    _require_active(p)
    item = find_item(uow, p, item_text)
    if actor.member_id != item.owner_id and not _manages(actor, p):
        raise Forbidden(N_("Only {name}, who owns {item}, or the project manager may mark it done."),
                        name=member_name(uow, item.owner_id), item=iref(item))
    if item.kind == "milestone" and p.plan_state != "approved":
        raise Conflict(N_("The plan of {ref} is {state}; milestones are done once it is approved."), ref=pref(p),
                       state=Label(PLAN_STATES[p.plan_state]))
    if item.state == "done":
        raise Conflict(N_("{item} of {ref} was already done on {date}."), item=iref(item), ref=pref(p),
                       date=fmt_date(local_today(item.done_at or uow.now, actor.timezone)))
    item.state, item.done_at = "done", uow.now
    item.note, item.filed = clean(note) or None, clean(filed) or None
    _stop_items(uow, [item.id])
    p.updated_at = uow.now
    _event(uow, p, "done", actor.member_id, item.note, item=iref(item), filed=item.filed)
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p), f"{iref(item)} done")
    if actor.member_id != p.manager_id:
        enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:done:{item.id}", recipient_id=p.manager_id,
                msgid=N_("{name} marked {item} {title} of {ref} done: {note}"),
                params={"name": actor.name, "item": iref(item), "title": item.title, "ref": pref(p),
                        "note": item.note or "—"})
    uow.commit()
    return p, item


def record_update(uow: UnitOfWork, actor: Actor, text: str, note: str) -> Project:
    """A progress note (进度) from the team."""
    p = find_project(uow, actor, text)
    _require_active(p)
    if actor.member_id not in people(p) and not actor.sees_department:
        raise Forbidden(N_("Only the team of {ref} reports its progress."), ref=pref(p))
    note = clean(note)
    if not note:
        raise Invalid(N_("A value is empty."))
    _event(uow, p, "update", actor.member_id, note)
    p.updated_at = uow.now
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p), "progress")
    uow.commit()
    return p


def spent(uow: UnitOfWork, p: Project, before: datetime | None = None) -> Decimal:
    q = select(func.coalesce(func.sum(ProjectEvent.amount), 0)).where(ProjectEvent.project_id == p.id,
                                                                       ProjectEvent.kind == "cost")
    if before is not None:
        q = q.where(ProjectEvent.at < before)
    return Decimal(str(uow.session.scalar(q) or 0))


def record_cost(uow: UnitOfWork, actor: Actor, text: str, amount: Decimal, note: str) -> tuple[Project, Decimal]:
    """A cost against the budget; crossing the budget warns the project and department managers."""
    p = find_project(uow, actor, text)
    _require_active(p)
    if actor.member_id not in people(p) and not actor.sees_department:
        raise Forbidden(N_("Only the team of {ref} records its costs."), ref=pref(p))
    if amount <= 0:
        raise Invalid(N_("The amount must be above 0 and below 1,000,000,000,000."))
    note = clean(note)
    if not note:
        raise Invalid(N_("Say what it was for: note=\"…\"."))
    before = spent(uow, p)
    _event(uow, p, "cost", actor.member_id, note, amount)
    total = before + amount
    p.updated_at = uow.now
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p), f"cost {amount}: {note}")
    if before <= p.budget < total:
        manager = line_manager(uow, p.manager_id)
        for target in sorted({p.manager_id, *([manager.id] if manager else [])}):
            enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:over:{target}:{uow.now.isoformat()}",
                    recipient_id=target, urgent=True,
                    msgid=N_("Over budget: {ref} ({project}) has spent {spent} of its budget {budget}."),
                    params={"ref": pref(p), "project": p.name, "spent": Money(total, p.currency),
                            "budget": Money(p.budget, p.currency)})
    uow.commit()
    return p, total


def set_risk(uow: UnitOfWork, actor: Actor, text: str, level: str, reason: str | None) -> Project:
    """A risk level on the project (the department's levels: red, orange, yellow); raising it to orange or red
    warns the project manager and the department manager (预警信号)."""
    p = find_project(uow, actor, text)
    _require_active(p)
    if actor.member_id not in people(p) and not actor.sees_department:
        raise Forbidden(N_("Only the team of {ref} records its risks."), ref=pref(p))
    level = RISKS.parse(level)
    reason = clean(reason) or None
    order = {"unassessed": -1, "low": 0, "medium": 1, "high": 2}
    if order.get(level, 0) > 0 and reason is None:
        raise Invalid(N_("Say why it is a risk: reason=\"...\"."))
    old = p.risk
    p.risk, p.risk_note, p.updated_at = level, reason, uow.now
    _event(uow, p, "risk", actor.member_id, reason, level=level)
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p), f"risk {old} -> {level}: {reason or ''}")
    if order.get(level, 0) > max(order.get(old, 0), 0):
        manager = line_manager(uow, p.manager_id)
        targets = {p.manager_id} | ({manager.id} if manager and level == "high" else set())
        for target in sorted(targets - {actor.member_id}):
            enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:risk:{target}:{uow.now.isoformat()}",
                    recipient_id=target, urgent=level == "high",
                    msgid=N_("Risk warning: {ref} ({project}) is now at {level}: {reason}"),
                    params={"ref": pref(p), "project": p.name, "level": Label(RISKS.labels[level]),
                            "reason": reason or "—"})
    uow.commit()
    return p


def risk_subject(uow: UnitOfWork, actor: Actor, text: str) -> Subject:
    """A project a risk in the register is attached to (/risk new P3 …): one the actor may see."""
    p = find_project(uow, actor, text)
    return Subject(pref(p), p.manager_id, p.name)


def risk_rows(uow: UnitOfWork, actor: Actor, levels: tuple[str, ...]) -> list[RiskRow]:
    """The projects under way at those risk levels that the actor may see, for the risk list."""
    rows = uow.session.scalars(select(Project).where(Project.org_id == actor.org_id, Project.state == "active",
                                                     Project.risk.in_(levels)).order_by(Project.number))
    return [RiskRow(pref(p), N_("project"), p.name, p.risk, p.risk_note, member_name(uow, p.manager_id),
                    f"/project show {pref(p)}") for p in rows if visible(uow, actor, p)]


def risk_subject_name(uow: UnitOfWork, org_id: int, reference: str) -> str | None:
    p = by_number(uow, Project, org_id, parse_ref(reference, PREFIX))
    return p.name if p is not None else None


# --- weekly progress (进度会议) -----------------------------------------------------------------


@dataclass(frozen=True)
class Late:
    item: ProjectItem
    days: int  # days past the baseline date (done late, or still open)


@dataclass(frozen=True)
class Progress:
    project: Project
    done: int
    total: int
    late: list[Late]
    spent: Decimal
    over: Decimal  # spending over the budget (0 if within)
    updates: list[tuple[ProjectEvent, str]]
    since: date
    today: date


def progress_of(uow: UnitOfWork, p: Project, days: int = 7) -> Progress:
    org = org_of(uow, p.org_id)
    today = local_today(uow.now, org.timezone)
    items = milestones(uow, p) + milestones(uow, p, "rectify")
    late = []
    for item in items:
        baseline = item.baseline_due or item.due
        finished = local_today(item.done_at, org.timezone) if item.done_at else None
        if finished is not None and finished > baseline:
            late.append(Late(item, (finished - baseline).days))
        elif finished is None and today > baseline:
            late.append(Late(item, (today - baseline).days))
    since = today - timedelta(days=days)
    updates = [(e, member_name(uow, e.actor_id)) for e in uow.session.scalars(
        select(ProjectEvent).where(ProjectEvent.project_id == p.id, ProjectEvent.kind == "update",
                                   ProjectEvent.at >= at_local(since, time(0), org.timezone))
        .order_by(ProjectEvent.at))]
    total_spent = spent(uow, p)
    mil = [i for i in items if i.kind == "milestone"]
    return Progress(p, sum(1 for i in mil if i.state == "done"), len(mil), late, total_spent,
                    max(total_spent - p.budget, Decimal(0)), updates, since, today)


def show_progress(uow: UnitOfWork, actor: Actor, text: str) -> Progress:
    p = find_project(uow, actor, text)
    out = progress_of(uow, p)
    uow.audit(p.org_id, actor.member_id, "read", "project", pref(p), "progress")
    uow.commit()
    return out


def progress_msg(pr: Progress) -> tuple[str, dict[str, Any]]:
    """The summary as an outbox message (rendered in each reader's language)."""
    p = pr.project
    late = "; ".join(f"{iref(x.item)} {x.item.title} (+{x.days})" for x in pr.late) or "—"
    updates = "; ".join(f"{name}: {e.note}" for e, name in pr.updates) or "—"
    return (N_("Weekly progress of {ref} ({project}): {done} of {total} milestones done. Late against the baseline: "
               "{late}. Spent {spent} of {budget}{over}. Progress reported: {updates}"),
            {"ref": pref(p), "project": p.name, "done": pr.done, "total": pr.total, "late": late,
             "spent": Money(pr.spent, p.currency), "budget": Money(p.budget, p.currency),
             "over": Msg(N_(", over the budget by {amount}"), {"amount": Money(pr.over, p.currency)})
             if pr.over > 0 else "", "updates": updates})


def _weekday_at(org: Organisation, now: datetime, weekday: int) -> datetime:
    """The next such weekday's reminder hour after `now`."""
    local = now.astimezone(ZoneInfo(org.timezone))
    day = local.date()
    for _i in range(8):
        when = reminder_time(org, day)
        if day.weekday() == weekday and when > now:
            return when
        day += timedelta(days=1)
    return reminder_time(org, day)


def next_thursday(org: Organisation, now: datetime) -> datetime:
    return _weekday_at(org, now, 3)


def next_friday(org: Organisation, now: datetime) -> datetime:
    return _weekday_at(org, now, 4)


def _active(uow: UnitOfWork, org_id: int) -> list[Project]:
    return list(uow.session.scalars(select(Project).where(Project.org_id == org_id, Project.state == "active")
                                    .order_by(Project.number)))


def fire_ask(uow: UnitOfWork, due: DueItem) -> None:
    """Thursday: every active project's team is asked for the week's progress."""
    org = uow.session.get(Organisation, due.subject_id)
    if org is None:
        return
    week = local_today(uow.now, org.timezone).isoformat()
    for p in _active(uow, org.id):
        for member_id in sorted({p.manager_id, *(int(i) for i in p.team or [])}):
            enqueue(uow, org_id=org.id, key=f"{ASK}:{p.id}:{week}:{member_id}", recipient_id=member_id, kind=ASK,
                    msgid=N_("Weekly progress of {ref} ({project}): what was done, what is in the way, what comes "
                             "next? Answer with /project update {ref} note=\"…\"."),
                    params={"ref": pref(p), "project": p.name},
                    buttons=[OutButton(N_("Report progress"), f"/project update {pref(p)}")])
    schedule(uow, org.id, ASK, org.id, next_thursday(org, uow.now + timedelta(minutes=1)))


def fire_summary(uow: UnitOfWork, due: DueItem) -> None:
    """Friday: each project manager (and the projects' channel) gets the week's summary with the deviations."""
    org = uow.session.get(Organisation, due.subject_id)
    if org is None:
        return
    week = local_today(uow.now, org.timezone).isoformat()
    channel = channel_of(org)
    for p in _active(uow, org.id):
        msgid, params = progress_msg(progress_of(uow, p))
        button = [OutButton(N_("Show"), f"/project show {pref(p)}")]
        enqueue(uow, org_id=org.id, key=f"{SUMMARY}:{p.id}:{week}", recipient_id=p.manager_id, kind=SUMMARY,
                msgid=msgid, params=params, buttons=button)
        if channel:
            enqueue(uow, org_id=org.id, key=f"{SUMMARY}:{p.id}:{week}:channel", channel=channel, msgid=msgid,
                    params=params)
        _event(uow, p, "update", None, None, summary=True)
    schedule(uow, org.id, SUMMARY, org.id, next_friday(org, uow.now + timedelta(minutes=1)))


# --- acceptance (验收), rectification (整改), archive ---------------------------------------------


def accept(uow: UnitOfWork, actor: Actor, text: str, result: str, note: str | None, owner: str | None,
           due: date | None) -> tuple[Project, ProjectItem | None]:
    """Record an acceptance: passed closes the project and files its archive; failed opens a rectification item
    (its owner and date) tracked to a new acceptance."""
    p = find_project(uow, actor, text)
    _require_active(p)
    result = RESULTS.parse(result)
    if not (actor.sees_department or actor.member_id == p.requester_id):
        raise Forbidden(N_("The acceptance of {ref} is recorded by {name}, who asked for it, or a manager of the "
                           "department."), ref=pref(p), name=member_name(uow, p.requester_id))
    if p.plan_state != "approved":
        raise Conflict(N_("The plan of {ref} is {state}; a project is accepted against its approved plan."),
                       ref=pref(p), state=Label(PLAN_STATES[p.plan_state]))
    open_items = [i for i in milestones(uow, p) + milestones(uow, p, "rectify") if i.state == "open"]
    if open_items:
        raise Conflict(N_("{ref} still has open items: {items}."), ref=pref(p),
                       items=", ".join(iref(i) for i in open_items))
    note = clean(note)
    if result == "failed":
        if not note or not owner or due is None:
            raise Invalid(N_("A failed acceptance says what to rectify, who and by when: note=\"…\" owner=NAME "
                             "due=DATE."))
        _check_due(uow, p, due)
    p.accept_round += 1
    if p.accept_round == 1:
        p.passed_first = result == "passed"
    _event(uow, p, "accept", actor.member_id, note or None, result=result, round=p.accept_round)
    uow.audit(p.org_id, actor.member_id, "update", "project", pref(p), f"acceptance {p.accept_round} {result}")
    item = None
    if result == "failed":
        assert owner is not None and due is not None
        member = _owner(uow, p, owner)
        item = uow.add(ProjectItem(org_id=p.org_id, project_id=p.id, kind="rectify",
                                   number=_next_item_number(uow, p, "rectify"), title=note, owner_id=member.id,
                                   due=due, baseline_due=due, state="open", round=p.accept_round, rev=1, late=False,
                                   created_at=uow.now))
        uow.session.flush()
        _schedule_item(uow, org_of(uow, p.org_id), p, item)
        _event(uow, p, "rectify", actor.member_id, note, item=iref(item), owner=member.name, due=due.isoformat())
        for target in sorted({member.id, p.manager_id}):
            enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:rectify:{item.id}:{target}", recipient_id=target,
                    msgid=N_("The acceptance of {ref} ({project}) failed: rectify {item} {title}, owner {owner}, "
                             "by {due}."),
                    params={"ref": pref(p), "project": p.name, "item": iref(item), "title": note,
                            "owner": member.name, "due": due},
                    buttons=[OutButton(N_("Mark done"), f"/project done {pref(p)} {iref(item)}")])
    else:
        p.state, p.closed_at = "closed", uow.now
        _event(uow, p, "closed", actor.member_id, None)
        msgid = N_("{ref} ({project}) passed its acceptance and is closed; its archive is filed: /project show {ref}.")
        for member_id in sorted(people(p)):
            enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:closed:{member_id}", recipient_id=member_id,
                    msgid=msgid, params={"ref": pref(p), "project": p.name})
        channel = channel_of(org_of(uow, p.org_id))
        if channel:
            enqueue(uow, org_id=p.org_id, key=f"project:{p.id}:closed:channel", channel=channel, msgid=msgid,
                    params={"ref": pref(p), "project": p.name})
    p.updated_at = uow.now
    uow.commit()
    return p, item


@dataclass(frozen=True)
class ProjectView:
    project: Project
    request: ApprovalRequest | None
    manager: str
    team: list[str]
    customer: str | None
    items: list[tuple[ProjectItem, str]]
    events: list[tuple[ProjectEvent, str]]
    spent: Decimal
    progress: Progress


def show(uow: UnitOfWork, actor: Actor, text: str) -> ProjectView:
    """The project and its file: request, plan and changes, progress, costs, acceptance."""
    p = find_project(uow, actor, text)
    from_request = uow.session.get(ApprovalRequest, p.request_id)
    items = [(i, member_name(uow, i.owner_id)) for i in milestones(uow, p) + milestones(uow, p, "rectify")]
    events = [(e, member_name(uow, e.actor_id) if e.actor_id else "bizbot") for e in uow.session.scalars(
        select(ProjectEvent).where(ProjectEvent.project_id == p.id).order_by(ProjectEvent.at, ProjectEvent.id))
        if not e.data.get("summary")]
    customer = from_request.fields.get("customer") if from_request is not None else None
    view = ProjectView(p, from_request, member_name(uow, p.manager_id), [member_name(uow, i) for i in p.team or []],
                       customer, items, events, spent(uow, p), progress_of(uow, p))
    uow.audit(p.org_id, actor.member_id, "read", "project", pref(p))
    uow.commit()
    return view


def list_projects(uow: UnitOfWork, actor: Actor, scope: str = "open") -> list[tuple[Project, str]]:
    """open (default), mine (I manage or am in the team) or all (closed too), those the actor may see."""
    rows = []
    for p in _visible_filter(uow, actor):
        if scope == "open" and p.state != "active":
            continue
        if scope == "mine" and actor.member_id not in people(p):
            continue
        rows.append((p, member_name(uow, p.manager_id)))
    uow.audit(actor.org_id, actor.member_id, "read", "project", None, f"list {scope}")
    uow.commit()
    return rows


def set_channel(uow: UnitOfWork, actor: Actor, channel: str | None) -> None:
    """Where project notices (立项通知, weekly summaries, closing) are posted."""
    require_role(actor, TEAM_ADMIN_ROLES)
    org = org_of(uow, actor.org_id)
    settings = dict(org.settings or {})
    if channel:
        settings["projects_channel"] = channel.strip().lstrip("#")
    else:
        settings.pop("projects_channel", None)
    org.settings = settings
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"projects_channel={channel or '-'}")
    uow.commit()


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    rows = uow.session.execute(
        select(ProjectItem, Project).join(Project, Project.id == ProjectItem.project_id)
        .where(ProjectItem.owner_id == actor.member_id, ProjectItem.state == "open", Project.state == "active",
               or_(Project.plan_state == "approved", ProjectItem.kind == "rectify"))
        .order_by(ProjectItem.due).limit(50)).all()
    today = local_today(uow.now, actor.timezone)
    return [AgendaEntry(f"{pref(p)} {iref(i)}", i.title, i.due, i.due < today, f"/project show {pref(p)}")
            for i, p in rows]


# --- figures (项目执行考核: 进度完成率, 质量达标率, 成本控制, 文档管理) -----------------------------


def _mine(scope: Scope) -> Any:
    """An item counts for its owner and for the project's manager."""
    return or_(scope.owned(ProjectItem.owner_id), scope.owned(Project.manager_id))


def project_schedule(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the milestones due in the period, the share done by their due date."""
    rows = uow.session.execute(select(ProjectItem.due, ProjectItem.done_at).join(
        Project, Project.id == ProjectItem.project_id).where(
        Project.org_id == scope.org_id, ProjectItem.kind == "milestone", Project.plan_state == "approved",
        _mine(scope), ProjectItem.due >= scope.first, ProjectItem.due < scope.end_day)).all()
    on_time = sum(1 for due, done_at in rows
                  if done_at is not None and local_today(done_at, scope.tz) <= due)
    return Figure("project_schedule", rate(on_time, len(rows)), "rate",
                  N_("{done} of {total} milestones due in the period were done by their date"),
                  {"done": on_time, "total": len(rows)})


def project_quality(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the projects whose first acceptance fell in the period, the share that passed it."""
    rows = uow.session.execute(select(ProjectEvent.data).join(Project, Project.id == ProjectEvent.project_id).where(
        Project.org_id == scope.org_id, ProjectEvent.kind == "accept", scope.owned(Project.manager_id),
        scope.during(ProjectEvent.at))).all()
    firsts = [d for (d,) in rows if int(d.get("round", 0)) == 1]
    passed = sum(1 for d in firsts if d.get("result") == "passed")
    return Figure("project_quality", rate(passed, len(firsts)), "rate",
                  N_("{passed} of {total} projects accepted for the first time in the period passed"),
                  {"passed": passed, "total": len(firsts)})


def project_cost(uow: UnitOfWork, scope: Scope) -> Figure:
    """Spending against the budget of the projects under way in the period: what was spent by its end, as a share
    of their budgets (100 % or less is within budget)."""
    projects = list(uow.session.scalars(select(Project).where(
        Project.org_id == scope.org_id, scope.owned(Project.manager_id), Project.created_at < scope.end,
        or_(Project.closed_at.is_(None), Project.closed_at >= scope.start))))
    budget = sum((p.budget for p in projects), Decimal(0))
    total = sum((spent(uow, p, scope.end) for p in projects), Decimal(0))
    return Figure("project_cost", float(total / budget) if budget else None, "rate",
                  N_("{spent} spent of budgets of {budget} ({count} projects)"),
                  {"spent": fmt_money(total, "CNY"), "budget": fmt_money(budget, "CNY"), "count": len(projects)})


def project_documentation(uow: UnitOfWork, scope: Scope) -> Figure:
    """Of the milestones done in the period, the share whose deliverable was filed."""
    rows = uow.session.execute(select(ProjectItem.filed).join(Project, Project.id == ProjectItem.project_id).where(
        Project.org_id == scope.org_id, ProjectItem.kind == "milestone", _mine(scope),
        scope.during(ProjectItem.done_at))).all()
    filed = sum(1 for (f,) in rows if f)
    return Figure("project_documentation", rate(filed, len(rows)), "rate",
                  N_("{filed} of {total} milestones done in the period had their deliverable filed"),
                  {"filed": filed, "total": len(rows)})


def active_projects(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "active_projects", N_("projects under way at the end of the period: {count}"),
                    select(func.count(Project.id)).where(
        Project.org_id == scope.org_id, scope.owned(Project.manager_id), Project.created_at < scope.end,
        or_(Project.closed_at.is_(None), Project.closed_at >= scope.end)))


def late_milestones(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "late_milestones", N_("milestones that went late in the period: {count}"),
                    select(func.count(ProjectEvent.id)).join(Project, Project.id == ProjectEvent.project_id).where(
        Project.org_id == scope.org_id, scope.owned(Project.manager_id), ProjectEvent.kind == "late",
        scope.during(ProjectEvent.at)))


def open_collab(uow: UnitOfWork, scope: Scope) -> Figure:
    return count_of(uow, "open_collab", N_("cross-department requests open at the end of the period: {count}"),
                    select(func.count(CollabCase.id)).where(
        CollabCase.org_id == scope.org_id, scope.owned(CollabCase.requester_id), CollabCase.created_at < scope.end,
        or_(CollabCase.closed_at.is_(None), CollabCase.closed_at >= scope.end)))


# --- export --------------------------------------------------------------------------------------

EXPORT_HEADER = (N_("Project"), N_("Name"), N_("Customer"), N_("Project manager"), N_("Team"), N_("Status"),
                 N_("Plan"), N_("Start"), N_("Budget"), N_("Spent"), N_("Milestones"), N_("Done"), N_("Late"),
                 N_("Acceptances"), N_("Passed first time"), N_("Closed"))
FILE_HEADER = (N_("Project"), N_("Date"), N_("Entry"), N_("By"), N_("Amount"), N_("Note"))


def projects_table(uow: UnitOfWork, actor: Actor, fmt: str, start: date | None, end: date | None
                   ) -> tuple[bytes, int]:
    """The projects the actor may see, set up in the span, one row each; audited."""
    check_span(start, end)
    chosen = []
    for p in _visible_filter(uow, actor):
        day = local_today(p.created_at, actor.timezone)
        if (start is None or day >= start) and (end is None or day <= end):
            chosen.append(p)
    with use_locale(actor.locale):
        header = [translate(h) for h in EXPORT_HEADER]
        yes, no = translate(N_("yes")), translate(N_("no"))
        rows = []
        for p in chosen:
            pr = progress_of(uow, p)
            req = uow.session.get(ApprovalRequest, p.request_id)
            rows.append([pref(p), p.name, (req.fields.get("customer") if req else None) or "",
                         member_name(uow, p.manager_id), ", ".join(member_name(uow, i) for i in p.team or []),
                         translate(STATES[p.state]), translate(PLAN_STATES[p.plan_state]), p.start.isoformat(),
                         p.budget, pr.spent, pr.total, pr.done, len(pr.late), p.accept_round,
                         "" if p.passed_first is None else yes if p.passed_first else no,
                         local_today(p.closed_at, actor.timezone).isoformat() if p.closed_at else ""])
        title = translate(N_("Projects"))
    data = write_table(header, rows, fmt, title, money_columns=(8, 9))
    uow.audit(actor.org_id, actor.member_id, "export", "project", None, f"{fmt} {start or ''}..{end or ''} "
              f"{len(rows)} rows")
    uow.commit()
    return data, len(rows)


def project_file_table(uow: UnitOfWork, actor: Actor, fmt: str, start: date | None, end: date | None
                       ) -> tuple[bytes, int]:
    """Every entry of the files (archives) of the projects the actor may see, in the span; audited."""
    check_span(start, end)
    visible_ids = {p.id: p for p in _visible_filter(uow, actor)}
    q = select(ProjectEvent).where(ProjectEvent.org_id == actor.org_id,
                                   ProjectEvent.project_id.in_(list(visible_ids) or [-1])).order_by(ProjectEvent.id)
    if start is not None:
        q = q.where(ProjectEvent.at >= at_local(start, time(0), actor.timezone))
    if end is not None:
        q = q.where(ProjectEvent.at < at_local(end + timedelta(days=1), time(0), actor.timezone))
    events = [e for e in uow.session.scalars(q.limit(100_000)) if not e.data.get("summary")]
    with use_locale(actor.locale):
        header = [translate(h) for h in FILE_HEADER]
        rows = [[pref(visible_ids[e.project_id]), local_today(e.at, actor.timezone).isoformat(),
                 event_text(e), member_name(uow, e.actor_id) if e.actor_id else "bizbot",
                 e.amount if e.amount is not None else "", e.note or ""] for e in events]
        title = translate(N_("Project files"))
    data = write_table(header, rows, fmt, title, money_columns=(4,))
    uow.audit(actor.org_id, actor.member_id, "export", "project", None, f"file {fmt} {len(rows)} rows")
    uow.commit()
    return data, len(rows)


def event_text(e: ProjectEvent) -> str:
    """An entry of the file in the current locale: its kind and the particulars kept with it."""
    label = translate(EVENT_LABELS.get(e.kind, e.kind))
    d = e.data or {}
    extra = [str(d[k]) for k in ("request", "item") if d.get(k)]
    if e.kind == "handover":
        extra += [str(d[k]) for k in ("manager", "owner") if d.get(k)]
    if e.kind == "accept":
        extra.append(translate(RESULTS.labels.get(d.get("result", ""), "")))
    if e.kind == "risk" and d.get("level") in RISKS.labels:
        extra.append(RISKS.label(d["level"]))
    if d.get("filed"):
        extra.append(str(d["filed"]))
    return " · ".join([label, *extra])
