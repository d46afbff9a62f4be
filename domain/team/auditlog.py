"""The access log (数据访问记录): every read and change of a record is written with who, what and
when (UnitOfWork.audit); here admins, managers, the department head and internal audit read it — by record,
by member or the latest — and export it. Reading it is itself recorded."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from domain.kernel.actor import Actor
from domain.kernel.clock import at_local, local_today
from domain.kernel.dates import check_span
from domain.kernel.i18n import N_, translate, use_locale
from domain.reporting.exports import write_table
from domain.store.models import AuditEntry, Member
from domain.store.uow import UnitOfWork
from domain.team.access import is_ref, require_role
from domain.team.auditwords import detail_text, ref_text
from domain.team.members import find_member

AUDIT_ROLES = frozenset({"admin", "manager", "head", "audit"})  # internal audit (内部审计) checks compliance
SHOWN = 30
ACTIONS = {"create": N_("created"), "read": N_("read"), "update": N_("changed"), "delete": N_("deleted"),
           "refuse": N_("refused"), "denied": N_("refused"), "export": N_("exported")}
ENTITIES = {"customer": N_("customer"), "lead": N_("lead"), "visit": N_("visit"), "callback": N_("callback"),
            "contract": N_("contract"), "approval": N_("approval"), "complaint": N_("complaint"),
            "review": N_("appraisal"), "member": N_("member"), "ledger": N_("contract ledger"),
            "risk": N_("risk list"), "export": N_("export"), "command": N_("command"), "audit": N_("access log"),
            "policy": N_("approval rules"), "organisation": N_("department settings"), "calendar": N_("calendar"),
            "invite": N_("invite"), "enrolment code": N_("enrolment code"), "group": N_("group"),
            "meeting": N_("weekly meeting"), "meeting_update": N_("meeting update"),
            "meeting_minutes": N_("meeting minutes"), "action_item": N_("action item"),
            "delegation": N_("delegation"), "settings": N_("settings"), "kpi": N_("key figures"),
            "complaint_policy": N_("complaint deadlines"), "expense": N_("expense claim"),
            "leave": N_("leave request"), "project": N_("project proposal"), "collab": N_("collaboration request"),
            "change": N_("contract change"), "calendar notices": N_("calendar notices")}


def action_label(action: str) -> str:
    return translate(ACTIONS[action]) if action in ACTIONS else action


def entity_label(entity: str) -> str:
    return translate(ENTITIES[entity]) if entity in ENTITIES else entity


@dataclass(frozen=True)
class Trail:
    rows: list[tuple[AuditEntry, str | None]]  # newest first, with the actor's name
    total: int
    about: str | None  # the record or member asked about


def trail(uow: UnitOfWork, actor: Actor, about: str | None, start: date | None, end: date | None,
          limit: int | None = SHOWN) -> Trail:
    """Entries about a record (C3, L12, K4, Q7…), or by a member (a name), or all; newest first."""
    require_role(actor, AUDIT_ROLES)
    check_span(start, end)
    where = [AuditEntry.org_id == actor.org_id]
    shown_about = None
    if about and about.strip():
        text = about.strip()
        if is_ref(text):
            shown_about = text.upper().lstrip("#")
            where.append(AuditEntry.entity_ref == shown_about)
        else:
            member = find_member(uow, actor.org_id, text)
            shown_about = member.name
            where.append(AuditEntry.actor_id == member.id)
    if start is not None:
        where.append(AuditEntry.at >= at_local(start, time(0), actor.timezone))
    if end is not None:
        where.append(AuditEntry.at < at_local(end + timedelta(days=1), time(0), actor.timezone))
    total = uow.session.scalar(select(func.count(AuditEntry.id)).where(*where)) or 0
    query = (select(AuditEntry, Member.name).outerjoin(Member, Member.id == AuditEntry.actor_id).where(*where)
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    rows: list[tuple[AuditEntry, str | None]] = [
        (entry, name) for entry, name in uow.session.execute(query.limit(limit) if limit else query)]
    uow.audit(actor.org_id, actor.member_id, "read", "audit", shown_about, f"{len(rows)} of {total}")
    uow.commit()
    return Trail(rows, total, shown_about)


AUDIT_HEADER = (N_("Time"), N_("Member"), N_("Action"), N_("Record"), N_("Reference"), N_("Detail"))


def audit_table(uow: UnitOfWork, actor: Actor, fmt: str, start: date | None, end: date | None) -> tuple[bytes, int]:
    """The access log of a period (default: the last 30 days) as CSV or xlsx, oldest first."""

    if start is None and end is None:
        start = local_today(uow.now, actor.timezone) - timedelta(days=30)
    got = trail(uow, actor, None, start, end, limit=None)
    with use_locale(actor.locale):
        header = [translate(h) for h in AUDIT_HEADER]
        rows = [[_local(e.at, actor.timezone), name or "—", action_label(e.action), entity_label(e.entity),
                 ref_text(e.entity_ref), detail_text(e.entity, e.detail)] for e, name in reversed(got.rows)]
        title = translate(N_("Access log"))
    return write_table(header, rows, fmt, title=title), len(rows)


def _local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
