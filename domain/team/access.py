"""Who may see and change what: own records, the team below you, or the department."""
from __future__ import annotations

import re

from sqlalchemy import select

from domain.kernel.actor import Actor
from domain.kernel.errors import Forbidden, Hidden
from domain.kernel.i18n import N_, Labels
from domain.kernel.vocab import ROLES
from domain.store.models import Member
from domain.store.uow import UnitOfWork

TEAM_ADMIN_ROLES = frozenset({"admin", "manager"})


def team_ids(uow: UnitOfWork, org_id: int, member_id: int) -> set[int]:
    """The member and everyone whose supervisor chain leads to them."""
    rows = uow.session.execute(
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
    owners = visible_owner_ids(uow, actor)
    return owners is None or owner_id in owners


def require_access(uow: UnitOfWork, actor: Actor, owner_id: int, ref: str) -> None:
    if not can_access(uow, actor, owner_id):
        raise Forbidden(N_("You do not have access to {ref}."), ref=ref)


def require_visible(uow: UnitOfWork, actor: Actor, owner_id: int, msgid: str, **params: object) -> None:
    """A record owned by `owner_id` that the actor may not see is answered with `msgid`, the words for a
    missing one, so that neither its existence nor its reference is given away."""
    if not can_access(uow, actor, owner_id):
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
