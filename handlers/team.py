"""/team and /settings: who is in the department, their roles, supervisors and languages."""
from __future__ import annotations

from pydantic import Field

from domain import team
from domain.access import TEAM_ADMIN_ROLES
from domain.i18n import N_, _, lang_name
from domain.vocab import ROLES
from handlers.args import Args, Lang, Text
from handlers.context import Ctx
from handlers.registry import REGISTRY
from handlers.replies import Reply, Section


def _roles(roles: str) -> str:
    return ", ".join(ROLES.label(r) for r in roles.split(",") if r)


class TeamAddArgs(Args):
    name: Text = Field(description=N_("the member's name as the team knows it"))
    role: Text = Field(description=N_("one or more roles, comma-separated: admin, manager, deputy, sales, "
                                      "service, project_manager, legal, finance, head"))
    supervisor: Text | None = Field(None, description=N_("who they report to"))
    lang: Lang | None = Field(None, description=N_("en or zh"))


@REGISTRY.command("team add", N_("Add a member to the department."), TeamAddArgs, positional=("name",),
                  greedy=True, roles=TEAM_ADMIN_ROLES,
                  examples=("/team add alice role=sales supervisor=wang lang=zh",))
def team_add(ctx: Ctx, args: TeamAddArgs) -> Reply:
    """Add a member with roles, supervisor and language."""
    with ctx.uow() as uow:
        member = team.add_member(uow, ctx.actor, args.name, args.role, args.supervisor, args.lang)
    return Reply(text=_("{name} joined as {roles}.").format(name=member.name, roles=_roles(member.roles)))


class TeamSetArgs(Args):
    name: Text = Field(description=N_("the member to change"))
    role: Text | None = Field(None, description=N_("the new roles, comma-separated"))
    supervisor: Text | None = Field(None, description=N_("the new supervisor, or - for none"))
    lang: Lang | None = Field(None, description=N_("en or zh"))


@REGISTRY.command("team set", N_("Change a member's roles, supervisor or language."), TeamSetArgs,
                  positional=("name",), greedy=True, examples=("/team set alice supervisor=wang",))
def team_set(ctx: Ctx, args: TeamSetArgs) -> Reply:
    """Change roles, supervisor or language of a member."""
    with ctx.uow() as uow:
        member = team.update_member(uow, ctx.actor, args.name, args.role, args.supervisor, args.lang)
    return Reply(text=_("{name} updated.").format(name=member.name))


class TeamListArgs(Args):
    pass


@REGISTRY.command("team list", N_("List the department's members."), TeamListArgs)
def team_list(ctx: Ctx, args: TeamListArgs) -> Reply:
    """List members with roles and supervisors."""
    with ctx.uow() as uow:
        members = team.list_members(uow, ctx.actor)
    names = {m.id: m.name for m in members}
    items = []
    for m in members:
        line = f"{m.name} — {_roles(m.roles)}"
        if m.supervisor_id:
            line += " · " + _("reports to {name}").format(name=names.get(m.supervisor_id, "?"))
        if m.locale:
            line += f" · {lang_name(m.locale)}"
        items.append(line)
    return Reply(title=_("Team ({count})").format(count=len(members)), sections=[Section(_("Members"), items)])


class LangArgs(Args):
    lang: Lang = Field(description=N_("en or zh"))


@REGISTRY.command("settings lang", N_("Choose the language bizbot speaks to you."), LangArgs,
                  positional=("lang",), examples=("/settings lang zh",))
def settings_lang(ctx: Ctx, args: LangArgs) -> Reply:
    """Set my language."""
    with ctx.uow() as uow:
        lang = team.set_locale(uow, ctx.actor, args.lang)
    from domain.i18n import use_locale

    with use_locale(lang):
        return Reply(text=_("From now on I speak {language} with you.").format(language=lang_name(lang)))


class TimezoneArgs(Args):
    timezone: Text = Field(description=N_("an IANA time zone such as Asia/Shanghai"))


@REGISTRY.command("settings timezone", N_("Set the department's time zone."), TimezoneArgs,
                  positional=("timezone",), roles=TEAM_ADMIN_ROLES, examples=("/settings timezone Asia/Shanghai",))
def settings_timezone(ctx: Ctx, args: TimezoneArgs) -> Reply:
    """Set the organisation's time zone; pending reminders keep their local hour."""
    with ctx.uow() as uow:
        org = team.set_timezone(uow, ctx.actor, args.timezone)
    return Reply(text=_("The department's time zone is now {tz}.").format(tz=org.timezone))
