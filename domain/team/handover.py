"""Hand-overs (离职交接): a member who leaves the department hands everything open to a successor.

Each area adds what it hands over to HANDOVERS (crm: customers, leads and callbacks; complaints; meeting
action items; approval steps; reviews to score); `leave` makes the member inactive and runs them in one
transaction, while the leaver's team still reports to them — then the team reports to the successor. A member
who left cannot act on any platform and is sent nothing; what they did stays theirs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from domain.delivery.outbox import enqueue
from domain.kernel.actor import Actor
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, translate, use_locale
from domain.kernel.wiring import Key
from domain.store.models import Identity, Invite, Member, Organisation, OutboxMessage
from domain.store.uow import UnitOfWork
from domain.team.access import TEAM_ADMIN_ROLES, require_role, team_ids
from domain.team.members import find_member

# what was handed over, by kind: (a message id naming the kind, how each item is referred to: 华为 (C3), L12…)
Handed = list[tuple[str, list[str]]]
HandOverFn = Callable[[UnitOfWork, Actor, Member, Member], Handed]


@dataclass(frozen=True)
class Handover:
    """What an area hands over when a member leaves: `hand_over(uow, actor, leaver, successor)` gives the
    leaver's open items to the successor and says which, by kind."""

    name: str
    hand_over: HandOverFn


HANDOVERS: Key[Handover] = Key("hand-overs")


@dataclass(frozen=True)
class Left:
    """Who left, who took over, and what was handed over: (title message id, references), by kind."""

    member: Member
    successor: Member
    handed: Handed


REPORTS = N_("Team members who reported to them")
TOLD = N_("{actor} recorded that {name} left the department. You take over what was open:\n{lines}")
TOLD_NOTHING = N_("{actor} recorded that {name} left the department, and named you their successor; "
                  "nothing of theirs was open.")


def leave(uow: UnitOfWork, actor: Actor, name: str, successor_name: str) -> Left:
    """Record that a member left (离职): they are made inactive, and everything open of theirs — their team,
    customers, leads, callbacks, complaints, action items, approval steps, reviews to score — goes to the
    successor, who is told. Audited."""
    require_role(actor, TEAM_ADMIN_ROLES)
    leaver = find_member(uow, actor.org_id, name)
    if not leaver.active:
        raise Invalid(N_("{name} has already left the department."), name=leaver.name)
    successor = find_member(uow, actor.org_id, successor_name)
    if not successor.active:
        raise Invalid(N_("{name} has left the department; name a successor who is still here."), name=successor.name)
    if successor.id == leaver.id:
        raise Invalid(N_("{name} cannot take over their own work; name someone else with to=NAME."), name=leaver.name)
    if leaver.id == actor.member_id:
        raise Invalid(N_("Your own leaving is recorded by another admin or manager."))
    if "admin" in leaver.role_set and not any(
            "admin" in m.role_set and m.id != leaver.id for m in _active_members(uow, actor.org_id)):
        raise Invalid(N_("{name} is the last admin; make someone else admin first."), name=leaver.name)
    leaver.active, leaver.left_at, leaver.successor_id = False, uow.now, successor.id
    uow.session.flush()
    by_kind: dict[str, list[str]] = {}
    for handover in uow.wiring[HANDOVERS].values():  # while the leaver's team still reports to them
        for title, refs in handover.hand_over(uow, actor, leaver, successor):
            by_kind.setdefault(title, []).extend(refs)
    handed = [(REPORTS, _move_reports(uow, leaver, successor)), *by_kind.items()]
    handed = [(title, refs) for title, refs in handed if refs]
    _silence(uow, leaver)
    _tell(uow, actor, leaver, successor, handed)
    uow.audit(actor.org_id, actor.member_id, "update", "member", leaver.name,
              " ".join([f"left successor={successor.name}", *(ref for _title, refs in handed for ref in refs)])[:2000])
    uow.commit()
    return Left(leaver, successor, handed)


def _active_members(uow: UnitOfWork, org_id: int) -> list[Member]:
    return list(uow.session.scalars(select(Member).where(Member.org_id == org_id, Member.active.is_(True))))


def _move_reports(uow: UnitOfWork, leaver: Member, successor: Member) -> list[str]:
    """Who reported to the leaver reports to the successor; where that would make a loop (the successor is
    one of them, or below one of them), to the leaver's own supervisor."""
    moved = []
    reports = list(uow.session.scalars(select(Member).where(Member.supervisor_id == leaver.id, Member.active.is_(True))
                                       .order_by(Member.name_key)))
    for member in reports:
        below = team_ids(uow, member.org_id, member.id)
        member.supervisor_id = leaver.supervisor_id if successor.id in below else successor.id
        uow.session.flush()
        if member.supervisor_id == successor.id:
            moved.append(member.name)
    return moved


def _silence(uow: UnitOfWork, leaver: Member) -> None:
    """What was still waiting to be sent to the leaver is not sent; their unused invite codes stop working."""
    uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient_id == leaver.id, OutboxMessage.status == "pending")
        .values(status="dropped", last_error="the recipient left the department")
        .execution_options(synchronize_session=False))
    uow.session.execute(
        update(Invite).where(Invite.member_id == leaver.id, Invite.used_at.is_(None))
        .values(expires_at=uow.now).execution_options(synchronize_session=False))


def _tell(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member, handed: Handed) -> None:
    """The successor hears what is theirs now, in their language (unless they recorded it themselves)."""
    if successor.id == actor.member_id:
        return
    org = uow.session.get(Organisation, successor.org_id)
    assert org is not None
    with use_locale(successor.locale or org.locale):
        lines = "\n".join(_("{title}: {refs}").format(title=translate(title), refs=", ".join(refs))
                          for title, refs in handed)
    enqueue(uow, org_id=org.id, key=f"member:left:{leaver.id}:{successor.id}", recipient_id=successor.id,
            msgid=TOLD if handed else TOLD_NOTHING, params={"actor": actor.name, "name": leaver.name, "lines": lines},
            urgent=False)


LEFT_NOTICE = N_("You have left this department, so bizbot no longer acts for you. If that is a mistake, ask an "
                 "admin or manager.")


def left_account(uow: UnitOfWork, platform: str, external_id: str) -> Member | None:
    """The member who left the department that a chat account belonged to (adapters tell them so)."""
    return uow.session.scalar(
        select(Member).join(Identity, Identity.member_id == Member.id)
        .where(Identity.platform == platform, Identity.external_id == external_id, Member.active.is_(False))
        .order_by(Identity.id.desc()).limit(1))
