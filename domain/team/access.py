"""Who may see and change what: own records, the team below you, or the department.

Beyond that line, a few roles reach further because their job needs it (the department's rules, 职责分工):

* customer service (客服) keeps up the relationship with every customer of the department: it reads the
  customer archive, makes callbacks, logs visits and handles complaints on any customer — and still changes no
  owner, drafts no lead or contract for customers outside its line, and sees no amount of a lead or contract
  outside its line;
* the archivist (档案管理) reads the department's customer archive, and changes nothing outside their line.

Three reaches say how far a use case looks for a customer: `LINE` (the reporting line; selling, owning),
`READ` (the archive) and `SERVE` (callbacks, visits, complaints, the customer's details).
"""
from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import select

from domain.kernel.actor import Actor
from domain.kernel.errors import Forbidden, Hidden
from domain.kernel.i18n import N_, Labels
from domain.kernel.vocab import ROLES
from domain.store.models import Member
from domain.store.uow import UnitOfWork

TEAM_ADMIN_ROLES = frozenset({"admin", "manager"})
SERVICE_ROLES = frozenset({"service"})
ARCHIVE_READER_ROLES = SERVICE_ROLES | {"archivist"}

Reach = Literal["line", "read", "serve"]
LINE: Reach = "line"
READ: Reach = "read"
SERVE: Reach = "serve"


def team_ids(uow: UnitOfWork, org_id: int, member_id: int) -> set[int]:
    """The member and everyone whose supervisor chain leads to them."""
    rows = uow.connection().execute(  # two columns of each member: a Core read, no ORM session needed
        select(Member.id, Member.supervisor_id).where(Member.org_id == org_id)
    ).all()
    reports: dict[int, list[int]] = {}
    for mid, sup in rows:
        if sup is not None:
            reports.setdefault(sup, []).append(mid)
    team, stack = {member_id}, [member_id]
    while stack:
        for child in reports.get(stack.pop(), []):
            if child not in team:
                team.add(child)
                stack.append(child)
    return team


def visible_owner_ids(uow: UnitOfWork, actor: Actor) -> set[int] | None:
    """None means the whole department."""
    if actor.sees_department:
        return None
    return team_ids(uow, actor.org_id, actor.member_id)


def can_access(uow: UnitOfWork, actor: Actor, owner_id: int) -> bool:
    if owner_id == actor.member_id:  # one's own: no need to walk the reporting lines
        return True
    owners = visible_owner_ids(uow, actor)
    return owners is None or owner_id in owners


def reaches_department(actor: Actor, reach: Reach) -> bool:
    """Whether the actor's role takes them to every customer of the department for this kind of work."""
    if actor.sees_department:
        return True
    if reach == READ:
        return actor.has_any(ARCHIVE_READER_ROLES)
    return reach == SERVE and actor.has_any(SERVICE_ROLES)


def customer_owner_ids(uow: UnitOfWork, actor: Actor, reach: Reach) -> set[int] | None:
    """The owners whose customers the actor may reach for this kind of work; None means the department."""
    if reaches_department(actor, reach):
        return None
    return team_ids(uow, actor.org_id, actor.member_id)


def can_reach(uow: UnitOfWork, actor: Actor, owner_id: int, reach: Reach) -> bool:
    return reaches_department(actor, reach) or can_access(uow, actor, owner_id)


def amount_owner_ids(uow: UnitOfWork, actor: Actor) -> set[int] | None:
    """The owners whose records' money (a lead's value, a contract's amount) the actor may see; None means all.
    Only their line's, or the department's for its roles: reading a customer's archive does not bring its amounts."""
    return visible_owner_ids(uow, actor)


def require_access(uow: UnitOfWork, actor: Actor, owner_id: int, ref: str) -> None:
    if not can_access(uow, actor, owner_id):
        raise Forbidden(N_("You do not have access to {ref}."), ref=ref)


def require_visible(uow: UnitOfWork, actor: Actor, owner_id: int, msgid: str, **params: object) -> None:
    """A record owned by `owner_id` that the actor may not see is answered with `msgid`, the words for a
    missing one, so that neither its existence nor its reference is given away."""
    if not can_access(uow, actor, owner_id):
        raise Hidden(msgid, **params)


def require_reach(uow: UnitOfWork, actor: Actor, owner_id: int, reach: Reach, msgid: str, **params: object) -> None:
    """As `require_visible`, for a record of a customer reached for this kind of work."""
    if not can_reach(uow, actor, owner_id, reach):
        raise Hidden(msgid, **params)


def require_role(actor: Actor, roles: frozenset[str]) -> None:
    if not actor.has_any(roles):
        raise Forbidden(N_("Only {roles} may do that."), roles=role_labels(roles))


def role_labels(roles: frozenset[str]) -> Labels:
    return Labels(ROLES.labels[r] for r in sorted(roles))


_REF = re.compile(r"^\s*#?([A-Za-z]{1,2})(\d{1,9})\s*$")


def ref(prefix: str, ident: int) -> str:
    return f"{prefix}{ident}"


def is_ref(text: str) -> bool:
    """Whether the text is a record's reference (C3, L12, CB7…), whatever its kind."""
    return _REF.match(text) is not None


def parse_ref(text: str, prefix: str) -> int | None:
    m = _REF.match(text)
    if m and m.group(1).upper() == prefix:
        return int(m.group(2))
    return None


# What each role may do beyond their own records, as /team roles says it (the rules themselves are above, in the
# approval policy's chains and in each area's checks). A role the department's rules give no special rights has
# none.
ROLE_RIGHTS: dict[str, str] = {
    "admin": N_("manages members, settings and approval chains; sees the whole department"),
    "manager": N_("sees the whole department; manages members and settings; changes customer owners; chairs the "
                  "weekly meeting; approves contracts and appraisals; reads the access log"),
    "deputy": N_("sees the whole department; changes customer owners; chairs the weekly meeting; approves "
                 "appraisals of those they did not score"),
    "head": N_("sees the whole department; approves important contracts and the appraisals of managers and "
               "deputies; reads the access log"),
    "sales": N_("their own customers, leads, visits and contracts (a supervisor: their team's too)"),
    "service": N_("reads every customer's archive and keeps its details up to date; callbacks, visits and "
                  "complaints on any customer; changes no owner, level or risk, and sees no amounts outside their "
                  "own line"),
    "project_manager": N_("project initiation and execution; appraised on project execution"),
    "project_staff": N_("project execution; appraised on project execution"),
    "legal": N_("decides the legal review of contracts and contract changes"),
    "finance": N_("decides the finance step of expense claims and projects"),
    "general_affairs": N_("decides cross-department requests where the approval policy names the role"),
    "audit": N_("reads and exports the access log"),
    "archivist": N_("reads every customer's archive; sees no amounts outside their own line"),
}
