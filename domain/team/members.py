"""Organisations and their members: who is who, who reports to whom, who speaks what."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import CursorResult, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from domain.delivery.due import reschedule_org
from domain.kernel.actor import Actor
from domain.kernel.errors import Ambiguous, Conflict, Forbidden, Invalid, NotFound
from domain.kernel.i18n import N_, normalize_locale, sort_key, use_locale
from domain.kernel.text import lookalike_key, visible
from domain.kernel.vocab import ROLES
from domain.store.models import (
    EnrolmentCode,
    Identity,
    Invite,
    Member,
    Organisation,
    OrganisationLink,
)
from domain.store.uow import UnitOfWork
from domain.team.access import TEAM_ADMIN_ROLES, require_role

DEFAULT_ORG_SETTINGS = {"key_account_score": 16, "reminder_hour": 9, "stale_lead_days": 30}


def name_key(name: str) -> str:
    return " ".join(visible(name).split()).casefold()


def clean_name(name: str, max_len: int = 80) -> str:
    """A name as kept: invisible characters dropped (domain.kernel.text), white space made single spaces."""
    cleaned = " ".join(visible(name).split())
    if not cleaned or len(cleaned) > max_len or cleaned.startswith("/") or "=" in cleaned:
        raise Invalid(N_("'{name}' is not a usable name."), name=name)
    return cleaned


def check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(N_("Unknown time zone '{tz}' (try e.g. Asia/Shanghai)."), tz=tz) from None
    return tz


def ensure_org(
    uow: UnitOfWork, platform: str, external_id: str, name: str, timezone: str, locale: str
) -> Organisation:
    org = uow.session.scalar(
        select(Organisation).where(
            Organisation.platform == platform, Organisation.external_id == external_id
        )
    )
    if org is None:
        org = uow.add(
            Organisation(
                platform=platform,
                external_id=external_id,
                name=name,
                timezone=timezone,
                locale=locale,
                settings=dict(DEFAULT_ORG_SETTINGS),
                created_at=uow.now,
            )
        )
        uow.session.flush()
    return org


def find_org(uow: UnitOfWork, platform: str, external_id: str) -> Organisation | None:
    """The department a group or workspace belongs to: the one it began, or the one it was joined to."""
    org = uow.session.scalar(
        select(Organisation).where(Organisation.platform == platform, Organisation.external_id == external_id))
    if org is None:
        org = uow.session.scalar(
            select(Organisation).join(OrganisationLink, OrganisationLink.org_id == Organisation.id)
            .where(OrganisationLink.platform == platform, OrganisationLink.external_id == external_id))
    return org


def may_open(platform: str, external_id: str, admins: frozenset[str], open_enrolment: bool) -> bool:
    """Whether this account may open a new department by using bizbot in a new group or workspace: when the
    operator opened enrolment to everyone, or named the account in BIZBOT_ADMINS."""
    return open_enrolment or f"{platform}:{external_id}" in admins


def org_setting(org: Organisation, key: str) -> int:
    return int((org.settings or {}).get(key, DEFAULT_ORG_SETTINGS[key]))


def department_manager(uow: UnitOfWork, org_id: int) -> Member | None:
    """Who a matter goes to when nobody nearer takes it: the department's first active manager, else its first
    deputy, head or admin."""
    members = list(uow.session.scalars(select(Member).where(Member.org_id == org_id, Member.active)
                                       .order_by(Member.id)))
    for role in ("manager", "deputy", "head", "admin"):
        for member in members:
            if role in member.role_set:
                return member
    return None


def actor_for(uow: UnitOfWork, member: Member) -> Actor:
    org = uow.session.get(Organisation, member.org_id)
    assert org is not None
    return Actor(
        org_id=org.id,
        member_id=member.id,
        name=member.name,
        roles=member.role_set,
        locale=member.locale or org.locale,
        timezone=org.timezone,
    )


def member_by_identity(
    uow: UnitOfWork, platform: str, workspace: str, external_id: str
) -> Member | None:
    return uow.session.scalar(
        select(Member)
        .join(Identity, Identity.member_id == Member.id)
        .where(
            Identity.platform == platform,
            Identity.workspace == workspace,
            Identity.external_id == external_id,
        )
    )


@dataclass(frozen=True)
class Resolved:
    member: Member | None
    created_first: bool = False
    created_admin: bool = False
    left: bool = False  # the account is a member's who left the department: bizbot no longer acts for them


def resolve_member(
    uow: UnitOfWork,
    org: Organisation,
    platform: str,
    workspace: str,
    external_id: str,
    display_name: str,
    admins: frozenset[str] = frozenset(),
    language: str | None = None,
) -> Resolved:
    """Map a platform user to a member; the first user of an org, or a named admin, is enrolled. The first
    member's `language` (when given: the operator chose none) becomes the department's."""
    member = member_by_identity(uow, platform, workspace, external_id)
    if member is not None:
        return Resolved(member) if member.active else Resolved(None, left=True)
    count = uow.session.scalar(
        select(func.count()).select_from(Member).where(Member.org_id == org.id)
    )
    is_named_admin = f"{platform}:{external_id}" in admins
    if count and not is_named_admin:
        return Resolved(None)
    roles = "admin,manager" if not count else "admin"
    name = _free_name(uow, org.id, clean_name(display_name or external_id))
    member = uow.add(
        Member(org_id=org.id, name=name, name_key=name_key(name), roles=roles, created_at=uow.now)
    )
    uow.session.flush()
    uow.add(Identity(member_id=member.id, platform=platform, workspace=workspace, external_id=external_id))
    uow.audit(org.id, member.id, "create", "member", name, f"enrolled as {roles}")
    if not count and language and language != org.locale:
        org.locale = language
        uow.audit(org.id, member.id, "update", "organisation", org.name, f"lang={language}")
    uow.commit()
    return Resolved(member, created_first=not count, created_admin=bool(count))


def _free_name(uow: UnitOfWork, org_id: int, name: str) -> str:
    """`name`, or `name 2`, `name 3`…: one no member has, nor one that looks like it."""
    taken = {lookalike_key(other) for other in uow.session.scalars(select(Member.name).where(Member.org_id == org_id))}
    candidate, n = name, 1
    while lookalike_key(candidate) in taken:
        n += 1
        candidate = f"{name} {n}"
    return candidate


def lookalike_member(uow: UnitOfWork, org_id: int, name: str) -> Member | None:
    """The member whose name a reader could not tell from `name` (full-width letters, case, spaces aside)."""
    key = lookalike_key(name)
    for member_id, other in uow.session.execute(select(Member.id, Member.name).where(Member.org_id == org_id)):
        if lookalike_key(other) == key:
            return uow.session.get(Member, member_id)
    return None


def find_member_or_none(uow: UnitOfWork, org_id: int, name: str) -> Member | None:
    return uow.session.scalar(
        select(Member).where(Member.org_id == org_id, Member.name_key == name_key(name))
    )


def find_member(uow: UnitOfWork, org_id: int, name: str) -> Member:
    """Exact name first, then a unique prefix: people type 'ali' for 'Alice'."""
    text = name.lstrip("@")
    member = find_member_or_none(uow, org_id, text)
    if member is not None:
        return member
    key = name_key(text)
    candidates = list(
        uow.session.scalars(
            select(Member).where(Member.org_id == org_id, Member.name_key.startswith(key, autoescape=True))
        )
    )
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise Ambiguous(
            N_("'{name}' matches several members: {matches}."),
            name=name,
            matches=", ".join(m.name for m in candidates[:8]),
        )
    raise NotFound(N_("No member named '{name}'."), name=name)


def require_active(member: Member) -> Member:
    """A member who may be given work or act: one who has not left the department."""
    if not member.active:
        raise Invalid(N_("{name} has left the department."), name=member.name)
    return member


def parse_roles(text: str) -> str:
    roles = []
    for part in text.replace("，", ",").replace("、", ",").split(","):
        if part.strip():
            role = ROLES.parse(part)
            if role not in roles:
                roles.append(role)
    if not roles:
        raise Invalid(N_("Give at least one role."))
    return ",".join(roles)


def _check_supervisor(uow: UnitOfWork, member: Member | None, supervisor: Member) -> None:
    if member is None:
        return
    cursor: Member | None = supervisor
    while cursor is not None:
        if cursor.id == member.id:
            raise Invalid(
                N_("{supervisor} cannot supervise {name}: that would make a loop."),
                supervisor=supervisor.name,
                name=member.name,
            )
        cursor = uow.session.get(Member, cursor.supervisor_id) if cursor.supervisor_id else None


def add_member(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    roles: str,
    supervisor: str | None = None,
    locale: str | None = None,
) -> Member:
    require_role(actor, TEAM_ADMIN_ROLES)
    name = clean_name(name)
    role_str = parse_roles(roles)
    same = find_member_or_none(uow, actor.org_id, name) or lookalike_member(uow, actor.org_id, name)
    if same is not None and same.left_at is None:
        raise Conflict(N_("There is already a member named {name}."), name=same.name)
    sup = require_active(find_member(uow, actor.org_id, supervisor)) if supervisor else None
    if same is not None and same.name_key == name_key(name):
        # a member who left keeps their name on their history; the name is free for whoever joins now (the same
        # person back, or another): the one who left is no longer found by it
        same.name_key = f"{same.name_key[:60]}#left{same.id}"
        uow.session.flush()
    lang = _parse_locale(locale) if locale else None
    member = uow.add(
        Member(
            org_id=actor.org_id,
            name=name,
            name_key=name_key(name),
            roles=role_str,
            supervisor_id=sup.id if sup else None,
            locale=lang,
            created_at=uow.now,
        )
    )
    uow.session.flush()
    uow.audit(actor.org_id, actor.member_id, "create", "member", name, f"roles={role_str}")
    uow.commit()
    return member


def update_member(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    roles: str | None = None,
    supervisor: str | None = None,
    locale: str | None = None,
) -> Member:
    member = find_member(uow, actor.org_id, name)
    only_own_language = member.id == actor.member_id and roles is None and supervisor is None
    if not only_own_language:
        require_role(actor, TEAM_ADMIN_ROLES)
    changes = []
    if roles is not None:
        new_roles = parse_roles(roles)
        if "admin" in member.role_set and "admin" not in new_roles.split(","):
            _require_another_admin(uow, member)
        member.roles = new_roles
        changes.append(f"roles={new_roles}")
    if supervisor is not None:
        if supervisor.strip().lower() in ("", "-", "none", "无"):
            member.supervisor_id = None
            changes.append("supervisor=-")
        else:
            sup = require_active(find_member(uow, actor.org_id, supervisor))
            _check_supervisor(uow, member, sup)
            member.supervisor_id = sup.id
            changes.append(f"supervisor={sup.name}")
    if locale is not None:
        member.locale = _parse_locale(locale)
        changes.append(f"lang={member.locale}")
    if not changes:
        raise Invalid(N_("Nothing to change: give role=, supervisor= or lang=."))
    uow.audit(actor.org_id, actor.member_id, "update", "member", member.name, " ".join(changes))
    uow.commit()
    return member


def _require_another_admin(uow: UnitOfWork, member: Member) -> None:
    admins = [
        m for m in uow.session.scalars(select(Member).where(Member.org_id == member.org_id))
        if "admin" in m.role_set and m.id != member.id and m.active
    ]
    if not admins:
        raise Invalid(N_("{name} is the last admin; make someone else admin first."), name=member.name)


def _parse_locale(text: str) -> str:
    lang = normalize_locale(text)
    if lang is None:
        raise Invalid(N_("Unknown language '{lang}'. Choose en or zh."), lang=text)
    return lang


def list_members(uow: UnitOfWork, actor: Actor) -> list[Member]:
    """The department's members in the reader's order (by pinyin for a Chinese reader)."""
    found = uow.session.scalars(select(Member).where(Member.org_id == actor.org_id).order_by(Member.name_key))
    with use_locale(actor.locale):
        return sorted(found, key=lambda m: sort_key(m.name))


def set_locale(uow: UnitOfWork, actor: Actor, lang: str) -> str:
    member = uow.session.get(Member, actor.member_id)
    assert member is not None
    member.locale = _parse_locale(lang)
    uow.audit(actor.org_id, actor.member_id, "update", "member", member.name, f"lang={member.locale}")
    uow.commit()
    return member.locale


def set_timezone(uow: UnitOfWork, actor: Actor, tz: str) -> Organisation:
    """Change the department's time zone; pending reminders move to the new local hour."""

    require_role(actor, TEAM_ADMIN_ROLES)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    org.timezone = check_timezone(tz.strip())
    uow.session.flush()
    reschedule_org(uow, org)
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"timezone={tz}")
    uow.commit()
    return org


def set_org_locale(uow: UnitOfWork, actor: Actor, lang: str) -> Organisation:
    """The department's language: for what bizbot posts in its channels and says to members who have not
    chosen their own."""
    require_role(actor, TEAM_ADMIN_ROLES)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    org.locale = _parse_locale(lang)
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"lang={org.locale}")
    uow.commit()
    return org


ORG_SETTING_RANGES = {"key_account_score": (4, 20), "reminder_hour": (0, 23), "stale_lead_days": (7, 365)}


def set_org_setting(uow: UnitOfWork, actor: Actor, key: str, value: int) -> Organisation:
    """Change a department setting; a new reminder hour moves pending reminders with it."""

    require_role(actor, TEAM_ADMIN_ROLES)
    low, high = ORG_SETTING_RANGES[key]
    if not low <= value <= high:
        raise Invalid(N_("{value} is out of range ({low}–{high})."), value=value, low=low, high=high)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    org.settings = {**(org.settings or {}), key: value}
    uow.session.flush()
    if key == "reminder_hour":
        reschedule_org(uow, org)
    uow.audit(actor.org_id, actor.member_id, "update", "organisation", org.name, f"{key}={value}")
    uow.commit()
    return org


def get_org(uow: UnitOfWork, actor: Actor) -> Organisation:
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    return org


def link_identity(
    uow: UnitOfWork, actor: Actor, name: str, platform: str, workspace: str, external_id: str
) -> Member:
    """Tie a platform account to a member, so that account acts as them (admins and managers only)."""
    require_role(actor, TEAM_ADMIN_ROLES)
    member = find_member(uow, actor.org_id, name)
    if _attach(uow, member, platform, workspace, external_id):
        uow.audit(actor.org_id, actor.member_id, "update", "member", member.name, f"linked {platform}")
        uow.commit()
    return member


def _attach(uow: UnitOfWork, member: Member, platform: str, workspace: str, external_id: str) -> bool:
    """Give the member this account; False if it is theirs already, Conflict if someone else's."""
    existing = uow.session.scalar(
        select(Identity).where(
            Identity.platform == platform, Identity.workspace == workspace, Identity.external_id == external_id
        )
    )
    if existing is not None and existing.member_id != member.id:
        holder = uow.session.get(Member, existing.member_id)
        raise Conflict(N_("That account already belongs to {name}."), name=holder.name if holder else "?")
    if existing is None:
        uow.add(Identity(member_id=member.id, platform=platform, workspace=workspace, external_id=external_id))
    return existing is None


INVITE_TTL = timedelta(days=7)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def create_invite(uow: UnitOfWork, actor: Actor, name: str) -> Invite:
    """A one-time code with which a member links a chat account to themselves (valid for a week)."""
    require_role(actor, TEAM_ADMIN_ROLES)
    member = require_active(find_member(uow, actor.org_id, name))
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    invite = uow.add(Invite(code=code, member_id=member.id, created_by_id=actor.member_id,
                            expires_at=uow.now + INVITE_TTL))
    uow.audit(actor.org_id, actor.member_id, "create", "invite", member.name)
    uow.commit()
    return invite


def redeem_invite(uow: UnitOfWork, code: str, platform: str, workspace: str, external_id: str) -> Member:
    """Link the account to the invited member; a code works once, within its week."""
    invite = uow.session.scalar(select(Invite).where(Invite.code == code.strip().upper()).with_for_update())
    if invite is None or invite.used_at is not None or invite.expires_at <= uow.now:
        raise Invalid(N_("That code is unknown, used or expired. Ask an admin for a new one (/team invite)."))
    member = uow.session.get(Member, invite.member_id)
    assert member is not None
    if not member.active:
        raise Invalid(N_("That code is unknown, used or expired. Ask an admin for a new one (/team invite)."))
    _attach(uow, member, platform, workspace, external_id)
    invite.used_at = uow.now
    uow.audit(member.org_id, member.id, "update", "member", member.name, f"linked {platform} by invite")
    uow.commit()
    return member


# --- enrolment: who may open a department, and how a further group joins one ------------------------------

DEPARTMENT_CODE_TTL = timedelta(hours=24)
GROUP_CODE_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Place:
    """Where a code is used: a group or workspace of a platform, with the name it goes by."""

    platform: str
    external_id: str
    name: str


@dataclass(frozen=True)
class Account:
    """Who uses a code: a chat account (its platform, workspace and id) and the name it goes by."""

    platform: str
    workspace: str
    external_id: str
    name: str


@dataclass(frozen=True)
class Enrolled:
    """What a code did: opened a department (its first member is the account) or joined the place to one
    (`member` is the account's member there, if it has one)."""

    org_id: int
    department: str
    member: Member | None
    opened: bool


def _code_hash(code: str) -> str:
    cleaned = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(cleaned.encode()).hexdigest()


def _new_code(groups: int) -> str:
    return "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(groups))


def create_department_code(uow: UnitOfWork, ttl: timedelta = DEPARTMENT_CODE_TTL) -> tuple[str, datetime]:
    """A one-time code that opens one new department (for the operator: `bizbot enrol`); only its hash is
    kept, so the code is shown once."""
    code = _new_code(4)
    expires = uow.now + ttl
    uow.add(EnrolmentCode(code_hash=_code_hash(code), created_at=uow.now, expires_at=expires))
    uow.commit()
    return code, expires


def create_group_code(uow: UnitOfWork, actor: Actor) -> tuple[str, datetime]:
    """A one-time code that joins a further group to the actor's department (admins and managers)."""
    require_role(actor, TEAM_ADMIN_ROLES)
    code = _new_code(3)
    expires = uow.now + GROUP_CODE_TTL
    uow.add(EnrolmentCode(code_hash=_code_hash(code), org_id=actor.org_id, created_by_id=actor.member_id,
                          created_at=uow.now, expires_at=expires))
    uow.audit(actor.org_id, actor.member_id, "create", "enrolment code", None, "for a further group")
    uow.commit()
    return code, expires


def redeem_enrolment(uow: UnitOfWork, code: str, place: Place, account: Account, timezone: str, locale: str,
                     joinable: bool = True) -> Enrolled:
    """Use a one-time code in `place`: an operator's code makes it a new department with the account as its
    admin and manager; an admin's code joins it to their department. A code works once, before it expires;
    one refused (the place already a department, the account already someone's) stays unused."""
    row = uow.session.scalar(select(EnrolmentCode).where(EnrolmentCode.code_hash == _code_hash(code)))
    if row is None or row.used_at is not None or row.expires_at <= uow.now:
        raise Invalid(N_("That code is unknown, used or expired. Ask for a new one."))
    if find_org(uow, place.platform, place.external_id) is not None:
        raise Conflict(N_("This chat already belongs to a department; the code was not used. "
                          "Ask one of its admins to add you."))
    if row.org_id is not None and not joinable:
        raise Invalid(N_("This code joins a further group to a department, which cannot be done here; "
                         "the code was not used."))
    holder = member_by_identity(uow, account.platform, account.workspace, account.external_id)
    if row.org_id is None and holder is not None:
        raise Conflict(N_("Your account already belongs to a department, so it cannot open another; "
                          "the code was not used."))
    claimed = cast(CursorResult[Any], uow.session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None), EnrolmentCode.expires_at > uow.now)
        .values(used_at=uow.now, used_in=f"{place.platform}:{place.external_id}"[:160])
    ))
    if claimed.rowcount != 1:
        uow.rollback()
        raise Invalid(N_("That code is unknown, used or expired. Ask for a new one."))
    try:
        if row.org_id is None:
            org = ensure_org(uow, place.platform, place.external_id, place.name, timezone, locale)
            resolved = resolve_member(uow, org, account.platform, account.workspace, account.external_id,
                                      account.name)
            return Enrolled(org.id, org.name, resolved.member, opened=True)
        org = uow.session.get_one(Organisation, row.org_id)
        _join(uow, org, place, row.created_by_id, "by code")
        uow.commit()
    except IntegrityError:  # another code or command took this place at the same moment
        uow.rollback()
        raise Conflict(N_("This chat already belongs to a department; the code was not used. "
                          "Ask one of its admins to add you.")) from None
    return Enrolled(org.id, org.name, holder if holder is not None and holder.org_id == org.id else None,
                    opened=False)


def join_place(uow: UnitOfWork, actor: Actor, place: Place) -> Organisation:
    """An admin or manager, typing in a further group, joins it to their department."""
    require_role(actor, TEAM_ADMIN_ROLES)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    owner = find_org(uow, place.platform, place.external_id)
    if owner is not None and owner.id == org.id:
        raise Conflict(N_("This group already belongs to {department}."), department=org.name)
    if owner is not None:
        raise Conflict(N_("This group belongs to another department."))
    _join(uow, org, place, actor.member_id, "by an admin there")
    try:
        uow.commit()
    except IntegrityError:
        uow.rollback()
        raise Conflict(N_("This group belongs to another department.")) from None
    return org


def _join(uow: UnitOfWork, org: Organisation, place: Place, by: int | None, how: str) -> None:
    uow.add(OrganisationLink(org_id=org.id, platform=place.platform, external_id=place.external_id,
                             name=_title(place.name), created_by_id=by, created_at=uow.now))
    uow.session.flush()
    uow.audit(org.id, by, "create", "group", place.name[:40], f"joined {how}")


def _title(text: str, max_len: int = 200) -> str:
    return " ".join(text.split())[:max_len] or "?"


# Who is acting is asked on every command, so these statements are built once (building a SELECT costs more
# than running it on SQLite).
_ACTOR_COLUMNS = (Member.id, Member.org_id, Member.name, Member.roles, Member.locale, Organisation.locale,
                  Organisation.timezone)
_BY_IDENTITY = (
    select(*_ACTOR_COLUMNS)
    .select_from(Identity)
    .join(Member, Member.id == Identity.member_id)
    .join(Organisation, Organisation.id == Member.org_id)
    .where(Identity.platform == bindparam("platform"), Identity.external_id == bindparam("external_id"),
           Member.active.is_(True))  # a member who left cannot act, on any platform
)
_BY_WORKSPACE_IDENTITY = _BY_IDENTITY.where(Identity.workspace == bindparam("workspace"))
_BY_ACCOUNT = _BY_IDENTITY.order_by(Identity.id.desc()).limit(1)
# the organisation a group began, or one it was joined to later (`organisation_links`)
_BY_ACCOUNT_IN_ORG = _BY_IDENTITY.where(or_(
    and_(Organisation.platform == bindparam("org_platform"), Organisation.external_id == bindparam("org_external_id")),
    Organisation.id.in_(select(OrganisationLink.org_id).where(
        OrganisationLink.platform == bindparam("org_platform"),
        OrganisationLink.external_id == bindparam("org_external_id"))),
)).order_by(Identity.id.desc()).limit(1)


@dataclass(frozen=True)
class Acting:
    """The actor behind a chat account, and whether the member chose a language (else the platform's applies)."""

    actor: Actor
    chose_locale: bool

    def speaking(self, platform_locale: str | None) -> Actor:
        if self.chose_locale or not platform_locale or platform_locale == self.actor.locale:
            return self.actor
        return replace(self.actor, locale=platform_locale)


def acting(uow: UnitOfWork, platform: str, external_id: str, workspace: str | None = None,
           org: tuple[str, str] | None = None) -> Acting | None:
    """The member linked to an account as an actor, in one statement: by (platform, workspace, user), or,
    without a workspace, the newest link of that platform account (as `member_by_account`); with `org`
    (the platform and id of a workspace or group), only a member of the organisation bound to it."""
    if workspace is not None:
        stmt = _BY_WORKSPACE_IDENTITY
    else:
        stmt = _BY_ACCOUNT if org is None else _BY_ACCOUNT_IN_ORG
    org_platform, org_external_id = org or (None, None)
    row = uow.connection().execute(stmt, {"platform": platform, "external_id": external_id, "workspace": workspace,
                                          "org_platform": org_platform, "org_external_id": org_external_id}).first()
    if row is None:
        return None
    member_id, org_id, name, roles, locale, org_locale, timezone = row
    actor = Actor(org_id=org_id, member_id=member_id, name=name, roles=frozenset(r for r in roles.split(",") if r),
                  locale=locale or org_locale, timezone=timezone)
    return Acting(actor, chose_locale=locale is not None)


def member_by_account(uow: UnitOfWork, platform: str, external_id: str) -> Member | None:
    """The member a chat account belongs to, whichever workspace it was linked in (the newest link); not one
    who left the department."""
    return uow.session.scalar(
        select(Member)
        .join(Identity, Identity.member_id == Member.id)
        .where(Identity.platform == platform, Identity.external_id == external_id, Member.active.is_(True))
        .order_by(Identity.id.desc())
        .limit(1)
    )


EXPORT_ROLES = frozenset({"admin", "manager", "deputy", "head"})


def resolve_org(uow: UnitOfWork, org_id: int | None) -> int:
    """The organisation an export is for: the one given, or the only one there is."""
    if org_id is not None:
        return org_id
    orgs = list(uow.session.scalars(select(Organisation.id).limit(2)))
    if len(orgs) != 1:
        raise Invalid(N_("Say which organisation: --org ID."))
    return orgs[0]


def exporter(uow: UnitOfWork, org_id: int | None, name: str, what: str,
             roles: frozenset[str] | None = EXPORT_ROLES) -> Actor:
    """The member an export runs as; with `roles`, they must hold one of them. Refusals are audited."""
    actor = actor_for(uow, require_active(find_member(uow, resolve_org(uow, org_id), name)))
    if roles is not None:
        try:
            require_role(actor, roles)
        except Forbidden:
            uow.audit(actor.org_id, actor.member_id, "refuse", "export", what)
            uow.commit()
            raise
    return actor
