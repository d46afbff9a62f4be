"""/audit: the access log (数据访问记录) — who read or changed which record, and when."""
from __future__ import annotations

from pydantic import Field

from domain.kernel.i18n import N_, _, fmt_datetime
from domain.team import auditlog
from domain.team.auditwords import detail_text, ref_text
from handlers.args import Args, DateArg, Text
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


class AuditArgs(Args):
    about: Text | None = Field(None, description=N_("a record (C3, L12, K4, Q7…) or a member's name; none: all"))
    start: DateArg | None = Field(None, description=N_("from this day (from=)"))
    end: DateArg | None = Field(None, description=N_("to this day (to=)"))


@commands.command("audit", N_("Show the access log: who read or changed a record, or what a member did."),
                  AuditArgs, positional=("about",), greedy=True, roles=auditlog.AUDIT_ROLES,
                  examples=("/audit C3", "/audit 小李 from=2026-11-01", "/audit"))
def audit(ctx: Ctx, args: AuditArgs) -> Reply:
    """The newest entries first; the whole period goes out with /export audit."""
    with ctx.uow() as uow:
        got = auditlog.trail(uow, ctx.actor, args.about, args.start, args.end)
    items = [" · ".join(x for x in (fmt_datetime(e.at, ctx.actor.timezone), name or "—",
                                    auditlog.action_label(e.action), auditlog.entity_label(e.entity),
                                    ref_text(e.entity_ref), detail_text(e.entity, e.detail)) if x)
             for e, name in got.rows]
    title = (_("Access log: {about} ({count})").format(about=got.about, count=got.total) if got.about
             else _("Access log ({count})").format(count=got.total))
    text = ""
    if got.total > len(got.rows):
        text = _("The newest {shown} of {count}; /export audit sends them all as a file.").format(
            shown=len(got.rows), count=got.total)
    span = " ".join(f"{k}={d.isoformat()}" for k, d in (("from", args.start), ("to", args.end)) if d)
    return Reply(title=title, text=text, sections=[Section(_("Entries"), items, _("none"))], private=True,
                 buttons=[Button(_("Export"), f"/export audit {span}".strip())])

