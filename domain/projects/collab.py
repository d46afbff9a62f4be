"""Cross-department requests carried to the end (跨部门协作): after their approval, routed, answered, accepted.

An approved `/collab` request goes to the supporting department's contact (set per department name with
`/collab route DEPARTMENT to=NAME`); without one it goes to the router — a member of 综合管理部门
(general administration) — who assigns it with `/collab assign A6 to=NAME`. The contact accepts it
(`/collab take`), may ask questions (`/collab ask`, answered the same way), and reports the result (`/collab reply
A6 result="…"`) by the due date; the day before it is due the contact is reminded, the day after it is late and
the contact's supervisor (or the router) hears of it, two days later the requesting department's manager. The
requester accepts the result (`/collab accept`) or asks for rectification (`/collab rectify A6 reason="…"`), which
starts a new round with a new due date.

Who sees a request carried on: its requester and contact, the router, those whose reporting line reaches one of
them, and the department's roles.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update

from domain.approvals import engine as approvals
from domain.delivery.due import schedule
from domain.delivery.outbox import OutButton, enqueue
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label
from domain.projects.projects import clean, line_manager, member_name, org_of, reminder_time
from domain.store.models import ApprovalRequest, CollabCase, CollabStep, DueItem, Member, Organisation
from domain.store.numbers import by_number
from domain.store.uow import UnitOfWork
from domain.team.access import TEAM_ADMIN_ROLES, parse_ref, team_ids
from domain.team.agenda import AgendaEntry
from domain.team.members import department_manager, find_member

KIND = "collab_due"
ROUTER_ROLE = "general_affairs"
STATES = {"routing": N_("waiting to be assigned"), "assigned": N_("assigned, not yet accepted"),
          "working": N_("accepted, in progress"), "answered": N_("answered, waiting for the requester"),
          "rectify": N_("sent back for rectification"), "accepted": N_("accepted and closed")}
OPEN = ("routing", "assigned", "working", "rectify")
STEP_LABELS = {"approved": N_("approved"), "routed": N_("routed"), "assigned": N_("assigned"),
               "taken": N_("accepted by the contact"), "question": N_("question"), "reply": N_("result reported"),
               "late": N_("late"), "rectify": N_("rectification asked"), "accepted": N_("result accepted")}
RECTIFY_DAYS = 3


def department_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def contacts(org: Organisation) -> dict[str, int]:
    return dict((org.settings or {}).get("collab_contacts") or {})


def router(uow: UnitOfWork, org_id: int) -> Member | None:
    return next((m for m in uow.session.scalars(select(Member).where(Member.org_id == org_id, Member.active)
                                                 .order_by(Member.id)) if ROUTER_ROLE in m.role_set), None)


def hand_over_routes(uow: UnitOfWork, leaver: Member, successor: Member) -> list[str]:
    """The supporting departments a leaving member answered for are answered for by the successor."""
    org = org_of(uow, leaver.org_id)
    routes = contacts(org)
    moved = sorted(k for k, v in routes.items() if int(v) == leaver.id)
    if moved:
        org.settings = {**(org.settings or {}), "collab_contacts": {**routes, **{k: successor.id for k in moved}}}
    return moved


def record_step(uow: UnitOfWork, c: CollabCase, kind: str, actor_id: int | None, note: str | None = None) -> None:
    """A step on the request's timeline, from elsewhere in the area (a hand-over)."""
    _step(uow, c, kind, actor_id, note)


def set_route(uow: UnitOfWork, actor: Actor, department: str, name: str | None) -> Member | None:
    """The contact of a supporting department (none: requests to it go to the router)."""
    if not actor.has_any(TEAM_ADMIN_ROLES | {ROUTER_ROLE}):
        raise Forbidden(N_("Only an admin, a manager or general administration sets the departments' contacts."))
    key = department_key(department)
    if not key or len(key) > 200:
        raise Invalid(N_("Name the department: /collab route DEPARTMENT to=NAME."))
    org = org_of(uow, actor.org_id)
    routes = contacts(org)
    member = None
    if name and name.strip().lower() not in ("off", "none", "-", "无"):
        member = find_member(uow, actor.org_id, name)
        routes[key] = member.id
    else:
        routes.pop(key, None)
    org.settings = {**(org.settings or {}), "collab_contacts": routes}
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name,
              f"collab contact {key}={member.name if member else '-'}")
    uow.commit()
    return member


def list_routes(uow: UnitOfWork, actor: Actor) -> tuple[list[tuple[str, str]], str | None]:
    org = org_of(uow, actor.org_id)
    r = router(uow, actor.org_id)
    uow.audit(actor.org_id, actor.member_id, "read", "organisation", org.name, "collab contacts")
    uow.commit()
    return sorted((k, member_name(uow, v)) for k, v in contacts(org).items()), r.name if r else None


def _step(uow: UnitOfWork, c: CollabCase, kind: str, actor_id: int | None, note: str | None = None) -> None:
    uow.add(CollabStep(org_id=c.org_id, case_id=c.id, kind=kind, actor_id=actor_id, note=note, at=uow.now))


def _schedule(uow: UnitOfWork, org: Organisation, c: CollabCase) -> None:
    base = f"{KIND}:{c.id}:{c.round}"
    schedule(uow, org.id, KIND, c.id, reminder_time(org, c.due - timedelta(days=1)), key=f"{base}:remind")
    schedule(uow, org.id, KIND, c.id, reminder_time(org, c.due + timedelta(days=1)), key=f"{base}:late")
    schedule(uow, org.id, KIND, c.id, reminder_time(org, c.due + timedelta(days=3)), key=f"{base}:manager")


def _stop(uow: UnitOfWork, c: CollabCase) -> None:
    uow.session.execute(update(DueItem).where(DueItem.kind == KIND, DueItem.subject_id == c.id,
                                              DueItem.state == "pending").values(state="cancelled"))


def _params(uow: UnitOfWork, c: CollabCase, req: ApprovalRequest) -> dict[str, object]:
    return {"ref": approvals.rref(req), "department": c.department, "what": req.fields.get("what", ""),
            "goal": req.fields.get("goal") or "—", "due": c.due, "requester": member_name(uow, c.requester_id),
            "contact": member_name(uow, c.contact_id)}


def _tell_contact(uow: UnitOfWork, c: CollabCase, req: ApprovalRequest) -> None:
    r = approvals.rref(req)
    enqueue(uow, org_id=c.org_id, key=f"collab:{c.id}:{c.round}:assigned:{c.contact_id}", recipient_id=c.contact_id,
            msgid=N_("Cross-department request {ref} from {requester} for {department}: {what}. Expected goal: {goal}. "
                     "Needed by {due}. Accept it, ask with /collab ask {ref} question=\"…\", and report with "
                     "/collab reply {ref} result=\"…\"."),
            params=_params(uow, c, req),
            buttons=[OutButton(N_("Accept"), f"/collab take {r}", decision=True),
                     OutButton(N_("Show"), f"/collab show {r}")])


def collab_decided(uow: UnitOfWork, actor: Actor, req: ApprovalRequest, state: str) -> None:
    """Heard from the approval engine: an approved request goes to the department's contact, or the router."""
    if state != "approved" or uow.session.scalar(select(CollabCase.id).where(CollabCase.request_id == req.id)):
        return
    org = org_of(uow, req.org_id)
    department = str(req.fields.get("department", ""))[:200]
    contact_id = contacts(org).get(department_key(department))
    contact = uow.session.get(Member, contact_id) if contact_id else None
    if contact is not None and not contact.active:
        contact = None
    c = uow.add(CollabCase(org_id=req.org_id, request_id=req.id, requester_id=req.requester_id,
                           department=department, contact_id=contact.id if contact else None,
                           state="assigned" if contact else "routing", due=date.fromisoformat(req.fields["due"]),
                           round=1, late=False, version=1, created_at=uow.now, updated_at=uow.now))
    uow.session.flush()
    _step(uow, c, "approved", actor.member_id)
    uow.audit(c.org_id, actor.member_id, "create", "collab", approvals.rref(req),
              f"to {department}: {contact.name if contact else 'router'}")
    _schedule(uow, org, c)
    if contact is not None:
        _step(uow, c, "routed", None, contact.name)
        _tell_contact(uow, c, req)
        return
    r = router(uow, c.org_id) or department_manager(uow, c.org_id)
    if r is not None:
        enqueue(uow, org_id=c.org_id, key=f"collab:{c.id}:route:{r.id}", recipient_id=r.id,
                msgid=N_("Cross-department request {ref} from {requester} for {department} has no contact: {what}, "
                         "needed by {due}. Assign it with /collab assign {ref} to=NAME."),
                params=_params(uow, c, req))


def find_case(uow: UnitOfWork, actor: Actor, text: str) -> tuple[CollabCase, ApprovalRequest]:
    """By the request's reference (A6); one the actor may not see is not found."""
    req = by_number(uow, ApprovalRequest, actor.org_id, parse_ref(text, "A"))
    c = uow.session.scalar(select(CollabCase).where(CollabCase.request_id == req.id)) if req is not None else None
    if c is None or req is None:
        raise NotFound(N_("No approved cross-department request {ref}."), ref=text.strip().upper()[:20])
    if not visible(uow, actor, c):
        raise Hidden(N_("No approved cross-department request {ref}."), ref=text.strip().upper()[:20])
    return c, req


def visible(uow: UnitOfWork, actor: Actor, c: CollabCase) -> bool:
    if actor.sees_department or actor.member_id in (c.requester_id, c.contact_id) or ROUTER_ROLE in actor.roles:
        return True
    return bool(team_ids(uow, actor.org_id, actor.member_id) & {c.requester_id, c.contact_id})


def _is_router(actor: Actor) -> bool:
    return actor.sees_department or ROUTER_ROLE in actor.roles


def assign(uow: UnitOfWork, actor: Actor, text: str, name: str) -> CollabCase:
    c, req = find_case(uow, actor, text)
    if not (_is_router(actor) or actor.member_id == c.contact_id):
        raise Forbidden(N_("Only general administration, a manager or the contact of {ref} assigns it."),
                        ref=approvals.rref(req))
    if c.state in ("answered", "accepted"):
        raise Conflict(N_("{ref} is {state}."), ref=approvals.rref(req), state=Label(STATES[c.state]))
    member = find_member(uow, actor.org_id, name)
    if not member.active or member.id == c.requester_id:
        raise Invalid(N_("Assign {ref} to an active member other than its requester."), ref=approvals.rref(req))
    c.contact_id, c.state, c.updated_at = member.id, "assigned", uow.now
    _step(uow, c, "assigned", actor.member_id, member.name)
    uow.audit(c.org_id, actor.member_id, "update", "collab", approvals.rref(req), f"assigned to {member.name}")
    _tell_contact(uow, c, req)
    uow.commit()
    return c


def _require_contact(uow: UnitOfWork, actor: Actor, c: CollabCase, req: ApprovalRequest) -> None:
    if actor.member_id != c.contact_id:
        raise Forbidden(N_("{ref} is for {name}, its contact."), ref=approvals.rref(req),
                        name=member_name(uow, c.contact_id))


def take(uow: UnitOfWork, actor: Actor, text: str) -> CollabCase:
    c, req = find_case(uow, actor, text)
    _require_contact(uow, actor, c, req)
    if c.state not in ("assigned", "rectify"):
        raise Conflict(N_("{ref} is {state}."), ref=approvals.rref(req), state=Label(STATES[c.state]))
    c.state, c.updated_at = "working", uow.now
    _step(uow, c, "taken", actor.member_id)
    uow.audit(c.org_id, actor.member_id, "update", "collab", approvals.rref(req), "accepted by the contact")
    enqueue(uow, org_id=c.org_id, key=f"collab:{c.id}:{c.round}:taken", recipient_id=c.requester_id,
            msgid=N_("{contact} accepted your cross-department request {ref}; the result is due by {due}."),
            params=_params(uow, c, req))
    uow.commit()
    return c


def ask(uow: UnitOfWork, actor: Actor, text: str, question: str) -> tuple[CollabCase, str]:
    """A question between the contact and the requester (either way); the other one is told."""
    c, req = find_case(uow, actor, text)
    if actor.member_id not in (c.contact_id, c.requester_id):
        raise Forbidden(N_("Only the requester and the contact of {ref} talk about it here."),
                        ref=approvals.rref(req))
    if c.state == "accepted":
        raise Conflict(N_("{ref} is {state}."), ref=approvals.rref(req), state=Label(STATES[c.state]))
    question = clean(question)
    if not question:
        raise Invalid(N_("A value is empty."))
    other = c.requester_id if actor.member_id == c.contact_id else c.contact_id
    if other is None:
        raise Conflict(N_("{ref} has no contact yet."), ref=approvals.rref(req))
    _step(uow, c, "question", actor.member_id, question)
    uow.audit(c.org_id, actor.member_id, "update", "collab", approvals.rref(req), "question")
    r = approvals.rref(req)
    enqueue(uow, org_id=c.org_id, key=f"collab:{c.id}:q:{uow.now.isoformat()}:{other}", recipient_id=other,
            msgid=N_("{name} about cross-department request {ref}: {question}"),
            params={"name": actor.name, "ref": r, "question": question},
            buttons=[OutButton(N_("Answer"), f"/collab ask {r}")])
    uow.commit()
    return c, member_name(uow, other)


def reply(uow: UnitOfWork, actor: Actor, text: str, result: str) -> CollabCase:
    """The contact reports the result; after the due date it counts as late."""
    c, req = find_case(uow, actor, text)
    _require_contact(uow, actor, c, req)
    if c.state not in ("assigned", "working", "rectify"):
        raise Conflict(N_("{ref} is {state}."), ref=approvals.rref(req), state=Label(STATES[c.state]))
    result = clean(result)
    if not result:
        raise Invalid(N_("A value is empty."))
    org = org_of(uow, c.org_id)
    if local_today(uow.now, org.timezone) > c.due:
        c.late = True
    c.state, c.result, c.answered_at, c.updated_at = "answered", result, uow.now, uow.now
    _stop(uow, c)
    _step(uow, c, "reply", actor.member_id, result)
    uow.audit(c.org_id, actor.member_id, "update", "collab", approvals.rref(req), "result reported"
              + (" (late)" if c.late else ""))
    r = approvals.rref(req)
    enqueue(uow, org_id=c.org_id, key=f"collab:{c.id}:{c.round}:reply", recipient_id=c.requester_id,
            msgid=N_("{contact} reported the result of cross-department request {ref}: {result}. Accept it, or ask "
                     "for rectification with a reason."),
            params={**_params(uow, c, req), "result": result},
            buttons=[OutButton(N_("Accept the result"), f"/collab accept {r}", decision=True),
                     OutButton(N_("Ask for rectification"), f"/collab rectify {r}")])
    uow.commit()
    return c


def _require_requester(uow: UnitOfWork, actor: Actor, c: CollabCase, req: ApprovalRequest) -> None:
    if actor.member_id != c.requester_id:
        raise Forbidden(N_("Only {name}, who asked for {ref}, accepts its result."),
                        name=member_name(uow, c.requester_id), ref=approvals.rref(req))
    if c.state != "answered":
        raise Conflict(N_("{ref} is {state}."), ref=approvals.rref(req), state=Label(STATES[c.state]))


def accept(uow: UnitOfWork, actor: Actor, text: str) -> CollabCase:
    c, req = find_case(uow, actor, text)
    _require_requester(uow, actor, c, req)
    c.state, c.closed_at, c.updated_at = "accepted", uow.now, uow.now
    _step(uow, c, "accepted", actor.member_id)
    uow.audit(c.org_id, actor.member_id, "update", "collab", approvals.rref(req), "result accepted")
    if c.contact_id:
        enqueue(uow, org_id=c.org_id, key=f"collab:{c.id}:accepted", recipient_id=c.contact_id,
                msgid=N_("{requester} accepted the result of cross-department request {ref}. Thank you."),
                params=_params(uow, c, req))
    uow.commit()
    return c


def rectify(uow: UnitOfWork, actor: Actor, text: str, reason: str, due: date | None) -> CollabCase:
    """Not what was needed: back to the contact with why, and a new due date (default: in three days)."""
    c, req = find_case(uow, actor, text)
    _require_requester(uow, actor, c, req)
    reason = clean(reason)
    if not reason:
        raise Invalid(N_("Say why: reason=\"...\"."))
    org = org_of(uow, c.org_id)
    today = local_today(uow.now, org.timezone)
    new_due = due or today + timedelta(days=RECTIFY_DAYS)
    if new_due < today:
        raise Invalid(N_("The due date {date} has passed."), date=new_due.isoformat())
    c.state, c.round, c.due, c.updated_at = "rectify", c.round + 1, new_due, uow.now
    _step(uow, c, "rectify", actor.member_id, reason)
    uow.audit(c.org_id, actor.member_id, "update", "collab", approvals.rref(req), f"rectification: {reason}")
    _schedule(uow, org, c)
    r = approvals.rref(req)
    if c.contact_id:
        enqueue(uow, org_id=c.org_id, key=f"collab:{c.id}:{c.round}:rectify", recipient_id=c.contact_id,
                msgid=N_("{requester} asks for rectification of cross-department request {ref}: {reason}. New due "
                         "date {due}."),
                params={**_params(uow, c, req), "reason": reason},
                buttons=[OutButton(N_("Accept"), f"/collab take {r}", decision=True)])
    uow.commit()
    return c


def fire(uow: UnitOfWork, item: DueItem) -> None:
    _kind, _id, rnd, step = item.key.split(":")
    c = uow.session.get(CollabCase, item.subject_id)
    if c is None or c.state not in OPEN or c.round != int(rnd):
        return
    req = uow.session.get(ApprovalRequest, c.request_id)
    assert req is not None
    params = _params(uow, c, req)
    r = approvals.rref(req)
    if step == "remind":
        if c.contact_id:
            enqueue(uow, org_id=c.org_id, key=f"{item.key}:{c.contact_id}", recipient_id=c.contact_id, kind=KIND,
                    msgid=N_("Reminder: the result of cross-department request {ref} ({what}) is due by {due}."),
                    params=params, buttons=[OutButton(N_("Show"), f"/collab show {r}")])
        return
    if step == "late":
        c.late = True
        _step(uow, c, "late", None)
        contact = uow.session.get(Member, c.contact_id) if c.contact_id else None
        sup = uow.session.get(Member, contact.supervisor_id) if contact and contact.supervisor_id else None
        target = sup or router(uow, c.org_id)
        targets = {t for t in (c.contact_id, c.requester_id, target.id if target else None) if t}
        msgid = N_("Late: cross-department request {ref} ({what}) for {department}, with {contact}, was due {due}.")
    else:
        manager = line_manager(uow, c.requester_id)
        targets = {manager.id} if manager else set()
        msgid = N_("Still late: cross-department request {ref} ({what}) for {department}, with {contact}, was due "
                   "{due}. Escalated to you as the department manager.")
    uow.audit(c.org_id, None, "update", "collab", r, f"{step} escalation")
    for target_id in sorted(targets):
        enqueue(uow, org_id=c.org_id, key=f"{item.key}:{target_id}", recipient_id=target_id, kind=KIND, urgent=True,
                msgid=msgid, params=params, buttons=[OutButton(N_("Show"), f"/collab show {r}")])


@dataclass(frozen=True)
class CaseView:
    case: CollabCase
    request: ApprovalRequest
    steps: list[tuple[CollabStep, str]]


def show(uow: UnitOfWork, actor: Actor, text: str) -> CaseView:
    c, req = find_case(uow, actor, text)
    steps = [(s, member_name(uow, s.actor_id) if s.actor_id else "bizbot") for s in uow.session.scalars(
        select(CollabStep).where(CollabStep.case_id == c.id).order_by(CollabStep.at, CollabStep.id))]
    uow.audit(c.org_id, actor.member_id, "read", "collab", approvals.rref(req))
    uow.commit()
    return CaseView(c, req, steps)


def list_cases(uow: UnitOfWork, actor: Actor, scope: str = "open") -> list[tuple[CollabCase, ApprovalRequest]]:
    rows = uow.session.execute(select(CollabCase, ApprovalRequest)
                               .join(ApprovalRequest, ApprovalRequest.id == CollabCase.request_id)
                               .where(CollabCase.org_id == actor.org_id).order_by(CollabCase.due, CollabCase.id)
                               .limit(500)).all()
    out = [(c, r) for c, r in rows if visible(uow, actor, c)
           and (scope == "all" or (scope == "open" and c.state != "accepted")
                or (scope == "mine" and actor.member_id in (c.requester_id, c.contact_id)))]
    uow.audit(actor.org_id, actor.member_id, "read", "collab", None, f"list {scope}")
    uow.commit()
    return out


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    rows = uow.session.execute(select(CollabCase, ApprovalRequest)
                               .join(ApprovalRequest, ApprovalRequest.id == CollabCase.request_id)
                               .where(CollabCase.contact_id == actor.member_id, CollabCase.state.in_(OPEN))
                               .order_by(CollabCase.due).limit(50)).all()
    today = local_today(uow.now, actor.timezone)
    return [AgendaEntry(approvals.rref(r), str(r.fields.get("what", "")), c.due, c.due < today,
                        f"/collab show {approvals.rref(r)}") for c, r in rows]
