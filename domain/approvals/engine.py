"""Approvals (审批): one engine for contracts, changes, expenses and leave.

A request has a type, the fields of that type, a chain of steps derived from the organisation's
policy (kept with the policy version it was submitted under), the current step and a history of
decisions. States: draft → pending(step) → approved | rejected | changes; a revised request is
submitted again and the chain restarts. Every transition is one conditional UPDATE on state,
round, step and version, so two clicks on two replicas give exactly one decision.

Segregation of duties: whoever decided a step of a round decides no later step of it, and is neither
sent nor escalated one. A later step whose approver already decided goes to another holder of its role
(up the requester's line first); if nobody else holds it, it counts as decided at that person's earlier
step, as a chain is planned (one person approves once).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from domain.approvals.policy import (
    DEFAULT_RULES,
    REQUEST_KINDS,
    SUPERVISOR,
    TYPE_LABELS,
    Policy,
    Step,
    format_chain,
    from_rules,
    parse_chain,
)
from domain.delivery.due import cancel, schedule
from domain.delivery.outbox import Msg, OutButton, enqueue, revise
from domain.kernel.actor import Actor
from domain.kernel.clock import local_today
from domain.kernel.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from domain.kernel.i18n import N_, Label, translate
from domain.kernel.vocab import ROLES
from domain.kernel.wiring import Key
from domain.store.models import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
    Contract,
    Delegation,
    DueItem,
    Member,
    Organisation,
)
from domain.store.numbers import by_number, next_number
from domain.store.uow import UnitOfWork
from domain.team.access import (
    TEAM_ADMIN_ROLES,
    can_access,
    parse_ref,
    ref,
    require_role,
)
from domain.team.agenda import AgendaEntry
from domain.team.members import find_member

NUDGE = "approval_nudge"
ESCALATE = "approval_escalate"
OUTCOMES = {"approve": N_("approved"), "reject": N_("rejected"), "changes": N_("changes requested")}
STATE_FOR = {"reject": "rejected", "changes": "changes"}


def role_label(role: str) -> Label:
    return Label(N_("supervisor") if role == SUPERVISOR else ROLES.labels.get(role, role))


# --- request types say how they describe themselves and what a final decision does ----------


DescribeFn = Callable[[UnitOfWork, ApprovalRequest], Msg]
DecidedFn = Callable[[UnitOfWork, Actor, ApprovalRequest, str], None]
ResubmitFn = Callable[[UnitOfWork, Actor, ApprovalRequest], None]


@dataclass(frozen=True)
class RequestType:
    """`describe` gives a request's key fields as a message; `decided`, if any, runs in the deciding
    transaction when a request of the type is approved, rejected or sent back; `resubmit`, if any, submits a
    returned request of the type again (`/approvals resubmit`), as the area that owns it does (not committed)."""

    name: str
    describe: DescribeFn
    decided: DecidedFn | None = None
    resubmit: ResubmitFn | None = None


REQUEST_TYPES: Key[RequestType] = Key("request types")


@dataclass(frozen=True)
class DecisionListener:
    """An area above approvals that carries requests of a type on after their final decision (a project
    after its 立项, say): `heard` runs in the deciding transaction, after the type's own `decided`."""

    name: str
    type: str
    heard: DecidedFn


DECISION_LISTENERS: Key[DecisionListener] = Key("decision listeners")


# --- policy ----------------------------------------------------------------------------------


def current_policy(uow: UnitOfWork, org_id: int) -> Policy:
    row = uow.session.scalar(
        select(ApprovalPolicy).where(ApprovalPolicy.org_id == org_id).order_by(ApprovalPolicy.version.desc()).limit(1)
    )
    return from_rules(row.version, row.rules) if row is not None else from_rules(0, DEFAULT_RULES)


def policy_of(uow: UnitOfWork, org_id: int, version: int | None) -> Policy:
    row = uow.session.scalar(
        select(ApprovalPolicy).where(ApprovalPolicy.org_id == org_id, ApprovalPolicy.version == version)
    ) if version else None
    return from_rules(row.version, row.rules) if row is not None else from_rules(0, DEFAULT_RULES)


def show_policy(uow: UnitOfWork, actor: Actor) -> Policy:
    policy = current_policy(uow, actor.org_id)
    uow.audit(actor.org_id, actor.member_id, "read", "policy", f"v{policy.version}")
    uow.commit()
    return policy


def _save_policy(uow: UnitOfWork, actor: Actor, policy: Policy, detail: str) -> Policy:
    saved = uow.add(ApprovalPolicy(org_id=actor.org_id, version=policy.version + 1, rules=policy.as_rules(),
                                   created_by_id=actor.member_id, created_at=uow.now))
    uow.audit(actor.org_id, actor.member_id, "update", "policy", f"v{saved.version}", detail)
    uow.commit()
    return from_rules(saved.version, saved.rules)


def set_chain(uow: UnitOfWork, actor: Actor, type_: str, chain_text: str) -> Policy:
    """A new policy version with this type's chain; requests already submitted keep theirs."""
    require_role(actor, TEAM_ADMIN_ROLES)
    type_ = REQUEST_KINDS.parse(type_)
    steps = parse_chain(chain_text)
    policy = current_policy(uow, actor.org_id)
    chains = {**policy.chains, type_: steps}
    return _save_policy(uow, actor, Policy(policy.version, chains, policy.nudge_hours, policy.escalate_hours),
                        f"{type_}: {format_chain(steps)}")


def set_timing(uow: UnitOfWork, actor: Actor, nudge_hours: int | None, escalate_hours: int | None) -> Policy:
    """When a pending step reminds its approver, and when it escalates to their supervisor."""
    require_role(actor, TEAM_ADMIN_ROLES)
    policy = current_policy(uow, actor.org_id)
    nudge = nudge_hours if nudge_hours is not None else policy.nudge_hours
    escalate = escalate_hours if escalate_hours is not None else policy.escalate_hours
    if not (1 <= nudge <= 24 * 30 and 1 <= escalate <= 24 * 60):
        raise Invalid(N_("Reminder and escalation times run from 1 hour to 30 and 60 days."))
    if escalate <= nudge:
        raise Invalid(N_("Escalation must come after the reminder ({nudge} h)."), nudge=nudge)
    return _save_policy(uow, actor, Policy(policy.version, policy.chains, nudge, escalate),
                        f"nudge={nudge}h escalate={escalate}h")


def set_channel(uow: UnitOfWork, actor: Actor, channel: str | None) -> Organisation:
    """Where every submitted request is also posted (none: direct messages only)."""
    require_role(actor, TEAM_ADMIN_ROLES)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    settings = dict(org.settings or {})
    if channel:
        settings["approvals_channel"] = channel.strip().lstrip("#")
    else:
        settings.pop("approvals_channel", None)
    org.settings = settings
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"approvals_channel={channel or '-'}")
    uow.commit()
    return org


# --- chains: who approves, in what order, and why --------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    applies: bool
    approver: Member | None = None
    delegate_for: Member | None = None
    same_as: int | None = None  # skipped: the approver already approves step N of this chain (审批人去重)


def _active_delegate(uow: UnitOfWork, member: Member, today: date) -> Member | None:
    row = uow.session.scalar(
        select(Delegation).where(Delegation.member_id == member.id, Delegation.until >= today)
        .order_by(Delegation.id.desc()).limit(1)
    )
    return uow.session.get(Member, row.delegate_id) if row is not None else None


def _approver(uow: UnitOfWork, requester: Member, role: str) -> Member:
    if role == SUPERVISOR:
        sup = uow.session.get(Member, requester.supervisor_id) if requester.supervisor_id else None
        if sup is None:
            raise Invalid(N_("{name} has no supervisor to approve this; an admin sets one with "
                             "/team set {name} supervisor=NAME."), name=requester.name)
        return sup
    cursor = uow.session.get(Member, requester.supervisor_id) if requester.supervisor_id else None
    seen = {requester.id}
    while cursor is not None and cursor.id not in seen:
        if role in cursor.role_set and cursor.active:
            return cursor
        seen.add(cursor.id)
        cursor = uow.session.get(Member, cursor.supervisor_id) if cursor.supervisor_id else None
    holders = [m for m in uow.session.scalars(
        select(Member).where(Member.org_id == requester.org_id, Member.active).order_by(Member.id))
        if role in m.role_set and m.id != requester.id]
    if not holders:
        raise Invalid(N_("Nobody but the requester holds the role {role}, so nobody can approve that step; "
                         "an admin gives the role with /team set NAME role=..."), role=role_label(role))
    return holders[0]


def plan(uow: UnitOfWork, org: Organisation, requester: Member, type_: str, policy: Policy,
         values: dict[str, Decimal | None]) -> list[PlannedStep]:
    """The chain a request of this type and these values would follow, delegations included."""
    today = local_today(uow.now, org.timezone)
    out: list[PlannedStep] = []
    deciding: dict[int, int] = {}  # member id → the step number they already decide
    for step in policy.chains[type_]:
        if not step.applies(values):
            out.append(PlannedStep(step, False))
            continue
        approver = _approver(uow, requester, step.role)
        delegate = _active_delegate(uow, approver, today)
        planned = (PlannedStep(step, True, delegate, approver) if delegate is not None and delegate.id != requester.id
                   else PlannedStep(step, True, approver))
        assert planned.approver is not None
        if planned.approver.id in deciding:  # one person approves once, at their first step
            out.append(PlannedStep(step, False, planned.approver, same_as=deciding[planned.approver.id]))
            continue
        deciding[planned.approver.id] = sum(1 for p in out if p.applies) + 1
        out.append(planned)
    if not any(p.applies for p in out):
        raise Invalid(N_("The policy gives this request no approval step."))
    return out


@dataclass(frozen=True)
class Explanation:
    type: str
    policy: Policy
    requester: Member
    steps: list[PlannedStep]


def explain(uow: UnitOfWork, actor: Actor, type_: str, amount: Decimal | None, days: Decimal | None,
            by: str | None) -> Explanation:
    """Who would approve such a request, in what order and why; nothing is created."""
    type_ = REQUEST_KINDS.parse(type_)
    requester = find_member(uow, actor.org_id, by) if by else uow.session.get(Member, actor.member_id)
    assert requester is not None
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    policy = current_policy(uow, actor.org_id)
    steps = plan(uow, org, requester, type_, policy, {"amount": amount, "days": days})
    uow.audit(actor.org_id, actor.member_id, "read", "policy", f"v{policy.version}",
              f"explain {type_} amount={amount} days={days} by={requester.name}")
    uow.commit()
    return Explanation(type_, policy, requester, steps)


# --- the request and its messages ------------------------------------------------------------


def rref(req: ApprovalRequest) -> str:
    return ref("A", req.number)


def subject(req: ApprovalRequest) -> str:
    return f"approval:{req.id}"


def member_name(uow: UnitOfWork, member_id: int | None) -> str:
    member = uow.session.get(Member, member_id) if member_id else None
    return member.name if member else "?"


def _status(uow: UnitOfWork, req: ApprovalRequest) -> Msg:
    if req.state == "pending":
        step = req.chain[req.step]
        return Msg(N_("Waiting for {role} ({name}), step {step} of {steps}."),
                   {"role": role_label(step["role"]), "name": member_name(uow, step["approver_id"]),
                    "step": req.step + 1, "steps": len(req.chain)})
    last = _last_decision(uow, req)
    if req.state == "draft" or last is None:
        return Msg(N_("Draft, not submitted."), {})
    params = {"name": member_name(uow, last.actor_id), "role": role_label(last.role), "reason": last.reason or "—"}
    if req.state == "approved":
        return Msg(N_("Approved: the last step ({role}) by {name}."), params)
    if req.state == "rejected":
        return Msg(N_("Rejected by {name} ({role}): {reason}"), params)
    return Msg(N_("Changes requested by {name} ({role}): {reason}"), params)


def _last_decision(uow: UnitOfWork, req: ApprovalRequest) -> ApprovalDecision | None:
    return uow.session.scalar(
        select(ApprovalDecision).where(ApprovalDecision.request_id == req.id)
        .order_by(ApprovalDecision.id.desc()).limit(1)
    )


CARD = N_("{ref} · {summary}\n{status}")


def card(uow: UnitOfWork, req: ApprovalRequest) -> dict[str, Any]:
    summary = uow.wiring[REQUEST_TYPES][req.type].describe(uow, req)
    return {"ref": rref(req), "summary": summary, "status": _status(uow, req)}


def _buttons(req: ApprovalRequest) -> list[OutButton]:
    at = f"{req.round}.{req.step + 1}"
    r = rref(req)
    return [OutButton(N_("Approve"), f"/approve {r} step={at}", decision=True),
            OutButton(N_("Reject"), f"/reject {r} step={at}", decision=True),
            OutButton(N_("Request changes"), f"/changes {r} step={at}", decision=True)]


def _announce_step(uow: UnitOfWork, req: ApprovalRequest) -> None:
    """Post the current step to its approver (direct) and to the approvals channel, with buttons."""
    org = uow.session.get(Organisation, req.org_id)
    assert org is not None
    step = req.chain[req.step]
    base = f"approval:{req.id}:{req.round}:{req.step}"
    params = card(uow, req)
    enqueue(uow, org_id=req.org_id, key=f"{base}:dm", recipient_id=step["approver_id"], msgid=CARD,
            params=params, buttons=_buttons(req), subject=subject(req))
    channel = (org.settings or {}).get("approvals_channel")
    if channel:
        enqueue(uow, org_id=req.org_id, key=f"{base}:channel", channel=channel, msgid=CARD, params=params,
                buttons=_buttons(req), subject=subject(req))
    policy = policy_of(uow, req.org_id, req.policy_version)
    schedule(uow, req.org_id, NUDGE, req.id, uow.now + timedelta(hours=policy.nudge_hours), key=f"{NUDGE}:{base}")
    schedule(uow, req.org_id, ESCALATE, req.id, uow.now + timedelta(hours=policy.escalate_hours),
             key=f"{ESCALATE}:{base}")


def _cancel_timers(uow: UnitOfWork, req: ApprovalRequest) -> None:
    base = f"approval:{req.id}:{req.round}:{req.step}"
    cancel(uow, NUDGE, req.id, key=f"{NUDGE}:{base}")
    cancel(uow, ESCALATE, req.id, key=f"{ESCALATE}:{base}")


def create_request(uow: UnitOfWork, actor: Actor, type_: str, fields: dict[str, Any], amount: Decimal | None,
                   currency: str = "CNY", subject_id: int | None = None) -> ApprovalRequest:
    """A draft request of a type (not yet submitted, nothing committed)."""
    req = uow.add(ApprovalRequest(org_id=actor.org_id, number=next_number(uow, ApprovalRequest, actor.org_id),
                                  type=type_, requester_id=actor.member_id,
                                  subject_id=subject_id, fields=fields, amount=amount, currency=currency,
                                  state="draft", round=0, step=0, chain=[], version=1, created_at=uow.now))
    uow.session.flush()
    return req


def submit(uow: UnitOfWork, actor: Actor, req: ApprovalRequest) -> ApprovalRequest:
    """Submit (or resubmit) under the current policy: the chain starts again at its first step."""
    if req.requester_id != actor.member_id:
        raise Forbidden(N_("Only {name}, who drafted {ref}, can submit it."), name=member_name(uow, req.requester_id),
                        ref=rref(req))
    if req.state not in ("draft", "changes", "rejected"):
        raise Conflict(N_("{ref} is already {state}."), ref=rref(req), state=Label(STATES[req.state]))
    org = uow.session.get(Organisation, req.org_id)
    requester = uow.session.get(Member, req.requester_id)
    assert org is not None and requester is not None
    policy = current_policy(uow, req.org_id)
    days = req.fields.get("days")
    steps = plan(uow, org, requester, req.type, policy,
                 {"amount": req.amount, "days": Decimal(str(days)) if days is not None else None})
    chain: list[dict[str, Any]] = [{"role": p.step.role, "approver_id": p.approver.id if p.approver else None,
              "for_id": p.delegate_for.id if p.delegate_for else None} for p in steps if p.applies]
    done = cast(CursorResult[Any], uow.session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == req.id, ApprovalRequest.version == req.version,
               ApprovalRequest.state == req.state)
        .values(state="pending", round=req.round + 1, step=0, chain=chain, policy_version=policy.version,
                escalated_to_id=None, version=req.version + 1, submitted_at=uow.now, decided_at=None)
        .execution_options(synchronize_session=False)
    ))
    if done.rowcount != 1:
        uow.rollback()
        raise Conflict(N_("{ref} changed meanwhile; look again with /approvals."), ref=rref(req))
    uow.session.refresh(req)
    revise(uow, org_id=req.org_id, subject=subject(req), msgid=CARD, params=card(uow, req))
    _announce_step(uow, req)
    uow.audit(req.org_id, actor.member_id, "update", "approval", rref(req),
              f"submitted round {req.round} under policy v{policy.version}: "
              + " > ".join(f"{s['role']}={member_name(uow, s['approver_id'])}" for s in chain))
    return req


STATES = {"draft": N_("a draft"), "pending": N_("pending"), "approved": N_("approved"), "rejected": N_("rejected"),
          "changes": N_("sent back for changes")}


def find_request(uow: UnitOfWork, actor: Actor, text: str) -> ApprovalRequest:
    """By reference (A3), or a contract's (K4) current request; one the actor may not see is not found."""
    req = by_number(uow, ApprovalRequest, actor.org_id, parse_ref(text, "A"))
    if req is None:

        contract = by_number(uow, Contract, actor.org_id, parse_ref(text, "K"))
        if contract is not None and contract.request_id:
            req = uow.session.get(ApprovalRequest, contract.request_id)
    if req is None:
        raise NotFound(N_("No approval request {ref}."), ref=text.strip().upper())
    if not sees(uow, actor, req):
        raise Hidden(N_("No approval request {ref}."), ref=text.strip().upper())
    return req


def sees(uow: UnitOfWork, actor: Actor, req: ApprovalRequest) -> bool:
    """Who may see a request: those who may see its requester (their reporting line, the department), and
    those it involves: an approver or delegator of its chain, a holder of a step's role (who may decide
    it, and is told who was first), whoever it was escalated to, who decided a step."""
    involved = {req.escalated_to_id} | {s.get(key) for s in req.chain for key in ("approver_id", "for_id")}
    if actor.member_id in involved or any(s["role"] != SUPERVISOR and s["role"] in actor.roles for s in req.chain):
        return True
    if can_access(uow, actor, req.requester_id):
        return True
    return uow.session.scalar(select(ApprovalDecision.id).where(
        ApprovalDecision.request_id == req.id, ApprovalDecision.actor_id == actor.member_id).limit(1)) is not None


def may_decide(uow: UnitOfWork, actor: Actor, req: ApprovalRequest) -> bool:
    if req.state != "pending" or actor.member_id == req.requester_id:
        return False
    step = req.chain[req.step]
    if actor.member_id not in (step["approver_id"], req.escalated_to_id) and not (
            step["role"] != SUPERVISOR and step["role"] in actor.roles):
        return False
    return actor.member_id not in deciders(uow, req)


def deciders(uow: UnitOfWork, req: ApprovalRequest) -> set[int]:
    """Who decided a step of the request's current round (none before its first step is decided)."""
    if req.step == 0 and req.state == "pending":
        return set()
    return set(uow.session.scalars(select(ApprovalDecision.actor_id).where(
        ApprovalDecision.request_id == req.id, ApprovalDecision.round == req.round)))


def _another_approver(uow: UnitOfWork, requester: Member, role: str, excluded: set[int]) -> Member | None:
    """Someone else for a step: up the requester's line first (for `supervisor`, only there), then any
    active holder of the role — never the requester nor anyone in `excluded`."""
    excluded = excluded | {requester.id}
    cursor = uow.session.get(Member, requester.supervisor_id) if requester.supervisor_id else None
    seen: set[int] = set()
    while cursor is not None and cursor.id not in seen:
        seen.add(cursor.id)
        if cursor.active and cursor.id not in excluded and (role == SUPERVISOR or role in cursor.role_set):
            return cursor
        cursor = uow.session.get(Member, cursor.supervisor_id) if cursor.supervisor_id else None
    if role == SUPERVISOR:
        return None
    return next((m for m in uow.session.scalars(
        select(Member).where(Member.org_id == requester.org_id, Member.active).order_by(Member.id))
        if role in m.role_set and m.id not in excluded), None)


def _route_on(uow: UnitOfWork, req: ApprovalRequest, start: int, decided: set[int]) -> tuple[list[Any], int]:
    """The chain with the steps from `start` routed past everyone in `decided`: a step of theirs goes to another
    holder of its role (`instead_of` keeps who it was for), or, with nobody else, is passed as decided at their
    earlier step. Returns the chain and the step now due (len(chain): none is left)."""
    chain = [dict(s) for s in req.chain]
    requester = uow.session.get(Member, req.requester_id)
    assert requester is not None
    for i in range(start, len(chain)):
        step = chain[i]
        if step["approver_id"] not in decided:
            return chain, i
        other = _another_approver(uow, requester, step["role"], decided)
        if other is not None:
            chain[i] = {**step, "approver_id": other.id, "for_id": None, "instead_of": step["approver_id"]}
            return chain, i
        chain[i] = {**step, "passed": True}
    return chain, len(chain)


@dataclass(frozen=True)
class Decided:
    request: ApprovalRequest
    outcome: str
    step: int
    role: str
    next_approver: str | None = None
    on_behalf_of: str | None = None
    notes: list[str] = field(default_factory=list)


def _first_decider(uow: UnitOfWork, req_id: int, round_: int, step: int) -> ApprovalDecision | None:
    return uow.session.scalar(
        select(ApprovalDecision).where(ApprovalDecision.request_id == req_id, ApprovalDecision.round == round_,
                                       ApprovalDecision.step == step).order_by(ApprovalDecision.id).limit(1)
    )


def _already(uow: UnitOfWork, req: ApprovalRequest, round_: int, step: int) -> Conflict:
    first = _first_decider(uow, req.id, round_, step)
    if first is None:
        return Conflict(N_("{ref} is {state}; there is nothing to decide."), ref=rref(req),
                        state=Label(STATES[req.state]))
    return Conflict(N_("Step {step} of {ref} was already decided: {outcome} by {name}."), step=step + 1,
                    ref=rref(req), outcome=Label(OUTCOMES[first.outcome]), name=member_name(uow, first.actor_id))


def _parse_at(at: str | None) -> tuple[int, int] | None:
    if not at:
        return None
    round_, _sep, step = at.partition(".")
    if not (round_.isdecimal() and step.isdecimal()):
        raise Invalid(N_("'{at}' is not a step; it looks like 2.1 (round 2, step 1)."), at=at)
    return int(round_), int(step) - 1


def decide(uow: UnitOfWork, actor: Actor, text: str, outcome: str, reason: str | None = None,
           at: str | None = None) -> Decided:
    """Approve, reject or send back the current step; a stale or second decision changes nothing."""
    if outcome not in OUTCOMES:
        raise Invalid(N_("Unknown decision '{outcome}'."), outcome=outcome)
    if outcome != "approve" and not (reason and reason.strip()):
        raise Invalid(N_("Say why: reason=\"...\"."))
    req = find_request(uow, actor, text)
    wanted = _parse_at(at) or (req.round, req.step)
    if req.state != "pending" or (req.round, req.step) != wanted:
        raise _already(uow, req, *wanted)
    if actor.member_id == req.requester_id:
        raise Forbidden(N_("You cannot decide your own request {ref}."), ref=rref(req))
    step = req.chain[req.step]
    if actor.member_id in deciders(uow, req):
        raise Forbidden(N_("You decided an earlier step of {ref}, and whoever decides one step does not decide another "
                           "of the same round: step {step} is for {role} ({name})."), ref=rref(req), step=req.step + 1,
                        role=role_label(step["role"]), name=member_name(uow, step["approver_id"]))
    if not may_decide(uow, actor, req):
        raise Forbidden(N_("Step {step} of {ref} is for {role} ({name})."), step=req.step + 1, ref=rref(req),
                        role=role_label(step["role"]), name=member_name(uow, step["approver_id"]))
    chain = req.chain
    if outcome == "approve":
        chain, due = _route_on(uow, req, req.step + 1, deciders(uow, req) | {actor.member_id})
        new_state, new_step = ("approved", req.step) if due == len(chain) else ("pending", due)
    else:
        new_state, new_step = STATE_FOR[outcome], req.step
    old_round, old_step = req.round, req.step
    done = cast(CursorResult[Any], uow.session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == req.id, ApprovalRequest.version == req.version,
               ApprovalRequest.state == "pending", ApprovalRequest.round == old_round,
               ApprovalRequest.step == old_step)
        .values(state=new_state, step=new_step, chain=chain, version=req.version + 1, escalated_to_id=None,
                decided_at=uow.now if new_state != "pending" else None)
        .execution_options(synchronize_session=False)
    ))
    if done.rowcount != 1:
        uow.rollback()
        uow.session.expire_all()
        fresh = uow.session.get(ApprovalRequest, req.id)
        assert fresh is not None
        raise _already(uow, fresh, old_round, old_step)
    behalf = step.get("for_id") if actor.member_id == step["approver_id"] else (
        step["approver_id"] if actor.member_id == req.escalated_to_id else None)
    uow.add(ApprovalDecision(request_id=req.id, round=old_round, step=old_step, role=step["role"],
                             actor_id=actor.member_id, on_behalf_of_id=behalf, outcome=outcome,
                             reason=reason.strip() if reason else None, at=uow.now))
    uow.session.flush()
    uow.session.refresh(req)
    uow.audit(req.org_id, actor.member_id, "update", "approval", rref(req),
              f"round {old_round} step {old_step + 1} ({step['role']}) {outcome}"
              + (f" for {member_name(uow, behalf)}" if behalf else "") + (f": {reason.strip()}" if reason else ""))
    base = f"approval:{req.id}:{old_round}:{old_step}"
    cancel(uow, NUDGE, req.id, key=f"{NUDGE}:{base}")
    cancel(uow, ESCALATE, req.id, key=f"{ESCALATE}:{base}")
    kind = uow.wiring[REQUEST_TYPES][req.type]
    if new_state != "pending":
        if kind.decided is not None:
            kind.decided(uow, actor, req, new_state)
        for listener in uow.wiring[DECISION_LISTENERS].values():
            if listener.type == req.type:
                listener.heard(uow, actor, req, new_state)
    params = card(uow, req)
    revise(uow, org_id=req.org_id, subject=subject(req), msgid=CARD, params=params)
    # a notice of what happened, kept as it was sent (not a card: later decisions do not rewrite it)
    enqueue(uow, org_id=req.org_id, key=f"{base}:{outcome}:requester", recipient_id=req.requester_id,
            msgid=N_("{ref}: step {step} ({role}) {outcome} by {name}.\n{status}"),
            params={"ref": rref(req), "step": old_step + 1, "role": role_label(step["role"]),
                    "outcome": Label(OUTCOMES[outcome]), "name": actor.name, "status": params["status"]})
    next_name = None
    if new_state == "pending":
        _announce_step(uow, req)
        next_name = member_name(uow, req.chain[req.step]["approver_id"])
    uow.commit()
    return Decided(req, outcome, old_step, step["role"], next_name, member_name(uow, behalf) if behalf else None)


@dataclass(frozen=True)
class RequestView:
    request: ApprovalRequest
    requester: Member
    decisions: list[tuple[ApprovalDecision, Member]]


def history(uow: UnitOfWork, req: ApprovalRequest) -> list[tuple[ApprovalDecision, Member]]:
    return [(d, m) for d, m in uow.session.execute(
        select(ApprovalDecision, Member).join(Member, Member.id == ApprovalDecision.actor_id)
        .where(ApprovalDecision.request_id == req.id).order_by(ApprovalDecision.id)).all()]


@dataclass(frozen=True)
class ShownRequest:
    request: ApprovalRequest
    card: dict[str, Any]
    chain: list[tuple[str, str, str | None]]  # role, approver, on behalf of
    decisions: list[tuple[ApprovalDecision, Member]]
    may_decide: bool
    instead_of: dict[int, str] = field(default_factory=dict)  # step → whom it was for, who decided an earlier one
    passed: frozenset[int] = frozenset()  # steps passed: their approver had decided an earlier one


def show_request(uow: UnitOfWork, actor: Actor, text: str) -> ShownRequest:
    """A request with its chain and every decision, for those who may see it (`sees`)."""
    req = find_request(uow, actor, text)
    may = may_decide(uow, actor, req)
    chain = [(s["role"], member_name(uow, s["approver_id"]), member_name(uow, s["for_id"]) if s.get("for_id") else None)
             for s in req.chain]
    shown = ShownRequest(req, card(uow, req), chain, history(uow, req), may,
                         {i: member_name(uow, s["instead_of"]) for i, s in enumerate(req.chain) if s.get("instead_of")},
                         frozenset(i for i, s in enumerate(req.chain) if s.get("passed")))
    uow.audit(actor.org_id, actor.member_id, "read", "approval", rref(req))
    uow.commit()
    return shown


def waiting_for(uow: UnitOfWork, actor: Actor) -> list[ApprovalRequest]:
    """Pending requests whose current step the actor may decide, oldest first."""
    rows = uow.session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.org_id == actor.org_id, ApprovalRequest.state == "pending")
        .order_by(ApprovalRequest.submitted_at, ApprovalRequest.id).limit(500))
    found = [r for r in rows if may_decide(uow, actor, r)]
    uow.audit(actor.org_id, actor.member_id, "read", "approval", None, f"waiting {len(found)}")
    uow.commit()
    return found


def my_requests(uow: UnitOfWork, actor: Actor) -> list[ApprovalRequest]:
    rows = list(uow.session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.org_id == actor.org_id,
                                      ApprovalRequest.requester_id == actor.member_id)
        .order_by(ApprovalRequest.id.desc()).limit(50)))
    uow.audit(actor.org_id, actor.member_id, "read", "approval", None, "mine")
    uow.commit()
    return rows


# --- delegation --------------------------------------------------------------------------------


def delegate(uow: UnitOfWork, actor: Actor, name: str | None, until: date | None) -> Delegation | None:
    """While away, requests for me go to NAME until the given day (inclusive); no name ends it."""
    me = uow.session.get(Member, actor.member_id)
    org = uow.session.get(Organisation, actor.org_id)
    assert me is not None and org is not None
    today = local_today(uow.now, org.timezone)
    active = list(uow.session.scalars(
        select(Delegation).where(Delegation.member_id == me.id, Delegation.until >= today)))
    for row in active:
        row.until = today - timedelta(days=1)
    if name is None:
        uow.audit(actor.org_id, actor.member_id, "update", "delegation", me.name, "ended")
        uow.commit()
        return None
    target = find_member(uow, actor.org_id, name)
    if target.id == me.id:
        raise Invalid(N_("You cannot delegate to yourself."))
    if until is None or until < today:
        raise Invalid(N_("Give the last day away, today or later: until=DATE."))
    row = uow.add(Delegation(org_id=actor.org_id, member_id=me.id, delegate_id=target.id, until=until,
                             created_at=uow.now))
    uow.audit(actor.org_id, actor.member_id, "create", "delegation", me.name, f"to {target.name} until {until}")
    uow.commit()
    return row


# --- nudges and escalation: due items swept on the injected clock -------------------------------


def _timer_target(uow: UnitOfWork, item: DueItem, kind: str) -> tuple[ApprovalRequest, dict[str, Any]] | None:
    _kind, _a, rid, round_, step = item.key.split(":")
    req = uow.session.get(ApprovalRequest, int(rid))
    if req is None or req.state != "pending" or (req.round, req.step) != (int(round_), int(step)):
        return None
    return req, req.chain[req.step]


def nudge(uow: UnitOfWork, item: DueItem) -> None:
    found = _timer_target(uow, item, NUDGE)
    if found is None:
        return
    req, step = found
    enqueue(uow, org_id=req.org_id, key=f"{item.key}:sent", recipient_id=step["approver_id"], kind=NUDGE,
            msgid=N_("Reminder: {ref} is waiting for your decision since {since}.\n{card}"),
            params={"ref": rref(req), "since": req.submitted_at if req.step == 0 else _step_since(uow, req),
                    "card": Msg(CARD, card(uow, req))},
            buttons=_buttons(req), subject=subject(req))


def _step_since(uow: UnitOfWork, req: ApprovalRequest) -> Any:
    last = _last_decision(uow, req)
    return last.at if last is not None else req.submitted_at


def escalate(uow: UnitOfWork, item: DueItem) -> None:
    found = _timer_target(uow, item, ESCALATE)
    if found is None:
        return
    req, step = found
    approver = uow.session.get(Member, step["approver_id"])
    sup = uow.session.get(Member, approver.supervisor_id) if approver and approver.supervisor_id else None
    decided, seen = deciders(uow, req), set[int]()
    while sup is not None and sup.id in decided and sup.id not in seen:  # not back to who decided a step
        seen.add(sup.id)
        sup = uow.session.get(Member, sup.supervisor_id) if sup.supervisor_id else None
    if sup is None or sup.id == req.requester_id or sup.id in decided:
        return
    uow.session.execute(
        update(ApprovalRequest).where(ApprovalRequest.id == req.id, ApprovalRequest.state == "pending",
                                      ApprovalRequest.round == req.round, ApprovalRequest.step == req.step)
        .values(escalated_to_id=sup.id).execution_options(synchronize_session=False))
    uow.audit(req.org_id, None, "update", "approval", rref(req), f"escalated to {sup.name}")
    enqueue(uow, org_id=req.org_id, key=f"{item.key}:sent", recipient_id=sup.id, urgent=True,
            msgid=N_("Escalated to you: {ref} has waited for {name} ({role}) since {since}. You may decide it.\n"
                     "{card}"),
            params={"ref": rref(req), "name": approver.name if approver else "?", "role": role_label(step["role"]),
                    "since": _step_since(uow, req), "card": Msg(CARD, card(uow, req))},
            buttons=_buttons(req), subject=subject(req))


def agenda_entries(uow: UnitOfWork, actor: Actor) -> list[AgendaEntry]:
    rows = uow.session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.org_id == actor.org_id, ApprovalRequest.state == "pending")
        .order_by(ApprovalRequest.submitted_at).limit(200))
    out = []
    for req in rows:
        if may_decide(uow, actor, req) and req.submitted_at is not None:
            out.append(AgendaEntry(rref(req), translate(TYPE_LABELS[req.type]),
                                   local_today(req.submitted_at, actor.timezone), False,
                                   f"/approvals show {rref(req)}"))
    return out


def count_pending(uow: UnitOfWork, org_id: int) -> int:
    return int(uow.session.scalar(select(func.count(ApprovalRequest.id)).where(
        ApprovalRequest.org_id == org_id, ApprovalRequest.state == "pending")) or 0)
