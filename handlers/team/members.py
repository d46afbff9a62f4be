"""/team and /settings: who is in the department, their roles, supervisors and languages."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, Choices, _, fmt_list, lang_name, localize, translate, use_locale
from domain.kernel.vocab import GROUPS, ROLES
from domain.store.models import Member
from domain.team import handover
from domain.team import members as team
from domain.team.access import ROLE_RIGHTS, TEAM_ADMIN_ROLES
from handlers.args import Args, Lang, MemberName, Text
from handlers.context import Ctx
from handlers.format import local_day
from handlers.registry import Registry
from handlers.replies import Reply, Section

commands = Registry()


def _roles(roles: str) -> str:
    return fmt_list([ROLES.label(r) for r in roles.split(",") if r])


class NoArgs(Args):
    pass


def _whole_number(value: Any) -> int:
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 4:
        raise Invalid(N_("'{text}' is not a whole number."), text=value)
    return int(text)


class TeamAddArgs(Args):
    name: Text = Field(description=N_("the member's name as the team knows it"))
    role: Text = Field(description=N_("one or more roles, comma-separated, in English or Chinese (/team roles "
                                      "lists them): e.g. sales, service, manager, 技术支持"))
    supervisor: MemberName | None = Field(None, description=N_("who they report to"))
    lang: Lang | None = Field(None, description=N_("en or zh"))


@commands.command("team add", N_("Add a member to the department."), TeamAddArgs, positional=("name",),
                  greedy=True, roles=TEAM_ADMIN_ROLES,
                  examples=("/team add alice role=sales supervisor=wang lang=zh",))
def team_add(ctx: Ctx, args: TeamAddArgs) -> Reply:
    """Add a member with roles, supervisor and language."""
    with ctx.uow() as uow:
        member = team.add_member(uow, ctx.actor, args.name, args.role, args.supervisor, args.lang)
    return Reply(text=_("{name} joined as {roles}.").format(name=member.name, roles=_roles(member.roles)))


class TeamSetArgs(Args):
    name: MemberName = Field(description=N_("the member to change"))
    role: Text | None = Field(None, description=N_("the new roles, comma-separated"))
    supervisor: MemberName | None = Field(None, description=N_("the new supervisor, or - for none"))
    lang: Lang | None = Field(None, description=N_("en or zh"))


@commands.command("team set", N_("Change a member's roles, supervisor or language."), TeamSetArgs,
                  positional=("name",), greedy=True, examples=("/team set alice supervisor=wang",))
def team_set(ctx: Ctx, args: TeamSetArgs) -> Reply:
    """Change roles, supervisor or language of a member."""
    with ctx.uow() as uow:
        member = team.update_member(uow, ctx.actor, args.name, args.role, args.supervisor, args.lang)
    return Reply(text=_("{name} updated.").format(name=member.name))


class TeamLeaveArgs(Args):
    name: MemberName = Field(description=N_("the member who leaves the department"))
    to: MemberName = Field(description=N_("the successor, who takes over everything open of theirs"))


@commands.command("team leave", N_("Record that a member left (离职): everything open of theirs goes to a "
                                   "successor."), TeamLeaveArgs, positional=("name",), greedy=True,
                  roles=TEAM_ADMIN_ROLES, examples=("/team leave alice to=bob", "/team leave 小李 交接人=小赵"))
def team_leave(ctx: Ctx, args: TeamLeaveArgs) -> Reply:
    """Deactivate a member and hand their team, customers, leads, callbacks, complaints, action items,
    approval steps and reviews to score to the successor."""
    with ctx.uow() as uow:
        left = handover.leave(uow, ctx.actor, args.name, args.to)
    return Reply(
        title=_("{name} left the department").format(name=left.member.name),
        text=_("{name} can no longer use bizbot and is sent nothing; what they did stays theirs. {successor} took "
               "over what was open and has been told.").format(name=left.member.name,
                                                               successor=left.successor.name),
        sections=[Section(translate(title), refs) for title, refs in left.handed]
        or [Section(_("Handed over"), [], _("nothing was open"))],
    )


@commands.command("team list", N_("List the department's members."), NoArgs)
def team_list(ctx: Ctx, args: NoArgs) -> Reply:
    """List members with roles and supervisors; those who left, apart."""
    with ctx.uow() as uow:
        members = team.list_members(uow, ctx.actor)
    names = {m.id: m.name for m in members}
    gone = [m for m in members if not m.active]
    members = [m for m in members if m.active]

    def line(m: Member) -> str:
        text = f"{m.name} — {_roles(m.roles)}"
        if m.supervisor_id:
            text += " · " + _("reports to {name}").format(name=names.get(m.supervisor_id, "?"))
        if m.locale:
            text += f" · {lang_name(m.locale)}"
        return text

    # by the department's groups (业务拓展组, 项目执行组, 客户服务组…), each member in every group of their roles
    sections = [Section(translate(title), [line(m) for m in members if m.role_set & roles])
                for title, roles in GROUPS]
    grouped = set().union(*(roles for _title, roles in GROUPS))
    sections.append(Section(_("Members"), [line(m) for m in members if not m.role_set & grouped]))
    sections.append(Section(_("Left the department"), [
        _("{name} — left {date}, successor {successor}").format(
            name=m.name, date=local_day(m.left_at, ctx.actor.timezone) if m.left_at else "—",
            successor=names.get(m.successor_id, "—") if m.successor_id else "—")
        for m in gone]))
    return Reply(title=_("Team ({count})").format(count=len(members)),
                 sections=[s for s in sections if s.items])


@commands.command("team roles", N_("List the roles a member can be given, and what each may do."), NoArgs)
def team_roles(ctx: Ctx, args: NoArgs) -> Reply:
    """Every role by the department's groups, with its label, the words the reader may type for it and its rights:
    the key for an English reader, the other Chinese words for a Chinese one."""

    def line(role: str) -> str:
        rights = translate(ROLE_RIGHTS[role]) if role in ROLE_RIGHTS else _("no special rights: their own records")
        label = ROLES.label(role)
        chinese = [word for word, key in ROLES.aliases.items() if key == role and not word.isascii() and word != label]
        words = role if label == ROLES.labels[role] or not chinese else localize(Choices(chinese[:3]))
        return _("{label} ({key}): {rights}").format(label=label, key=words, rights=rights)

    return Reply(title=_("Roles"), sections=[
        Section(translate(title), [line(r) for r in ROLES.labels if r in roles]) for title, roles in GROUPS],
        private=True)


class TeamInviteArgs(Args):
    name: MemberName = Field(description=N_("the member who will link their chat account"))


@commands.command("team invite", N_("Make a one-time code that links a chat account to a member."),
                  TeamInviteArgs, positional=("name",), greedy=True, roles=TEAM_ADMIN_ROLES,
                  examples=("/team invite alice",))
def team_invite(ctx: Ctx, args: TeamInviteArgs) -> Reply:
    """Create an invite code; the member sends /start CODE to the bot in a private chat."""
    with ctx.uow() as uow:
        invite = team.create_invite(uow, ctx.actor, args.name)
        member = uow.session.get_one(Member, invite.member_id)
    return Reply(
        text=_("Invite code for {name}: {code}. They send /start {code} to bizbot in a private chat; "
               "the code works once, until {date}.").format(
            name=member.name, code=invite.code, date=local_day(invite.expires_at, ctx.actor.timezone)),
        private=True,
    )


@commands.command("team invite-group", N_("Make a one-time code that adds a further group to the department."),
                  NoArgs, roles=TEAM_ADMIN_ROLES, examples=("/team invite-group",))
def team_invite_group(ctx: Ctx, args: NoArgs) -> Reply:
    """Create a group code; someone in the new group sends /enrol CODE there."""
    with ctx.uow() as uow:
        code, expires = team.create_group_code(uow, ctx.actor)
    return Reply(
        text=_("Code for adding a group to the department: {code}. Add bizbot to the group and send /enrol {code} "
               "there (or, as an admin, just send /enrol there); the code works once, until {date}.").format(
            code=code, date=local_day(expires, ctx.actor.timezone)),
        private=True,
    )


class EnrolArgs(Args):
    code: Text | None = Field(None, description=N_("the one-time code you were given"))


@commands.command("enrol", N_("Start using bizbot in a new group with a one-time code."), EnrolArgs,
                  positional=("code",), examples=("/enrol ABCD-EFGH-JKLM",))
def enrol(ctx: Ctx, args: EnrolArgs) -> Reply:
    """For a member where their department already works: nothing to do (a new group is enrolled by the
    adapter, before anyone there is a member)."""
    return Reply(text=_("You are already a member here, so there is nothing to enrol. To add a further group, "
                        "an admin sends /enrol in it."))


class LangArgs(Args):
    lang: Lang = Field(description=N_("en or zh"))


@commands.command("settings lang", N_("Choose the language bizbot speaks to you."), LangArgs,
                  positional=("lang",), examples=("/settings lang zh",))
def settings_lang(ctx: Ctx, args: LangArgs) -> Reply:
    """Set my language."""
    with ctx.uow() as uow:
        lang = team.set_locale(uow, ctx.actor, args.lang)

    with use_locale(lang):
        return Reply(text=_("From now on I speak {language} with you.").format(language=lang_name(lang)))


@commands.command("settings deptlang", N_("Set the department's language: for channel posts and for members "
                                          "who have not chosen theirs."), LangArgs, positional=("lang",),
                  roles=TEAM_ADMIN_ROLES, examples=("/settings deptlang zh",))
def settings_deptlang(ctx: Ctx, args: LangArgs) -> Reply:
    """Set the department's language."""
    with ctx.uow() as uow:
        org = team.set_org_locale(uow, ctx.actor, args.lang)
    return Reply(text=_("The department's language is now {language}: bizbot posts in its channels in it, and "
                        "speaks it with members who have not chosen theirs.").format(language=lang_name(org.locale)))


class TimezoneArgs(Args):
    timezone: Text = Field(description=N_("an IANA time zone such as Asia/Shanghai"))


@commands.command("settings timezone", N_("Set the department's time zone."), TimezoneArgs,
                  positional=("timezone",), roles=TEAM_ADMIN_ROLES, examples=("/settings timezone Asia/Shanghai",))
def settings_timezone(ctx: Ctx, args: TimezoneArgs) -> Reply:
    """Set the organisation's time zone; pending reminders keep their local hour."""
    with ctx.uow() as uow:
        org = team.set_timezone(uow, ctx.actor, args.timezone)
    return Reply(text=_("The department's time zone is now {tz}.").format(tz=org.timezone))


class NumberArgs(Args):
    value: Annotated[int, BeforeValidator(_whole_number)] = Field(description=N_("a whole number"))


@commands.command("settings keyscore", N_("Set the screening total that makes a key account (4–20)."),
                  NumberArgs, positional=("value",), roles=TEAM_ADMIN_ROLES, examples=("/settings keyscore 16",))
def settings_keyscore(ctx: Ctx, args: NumberArgs) -> Reply:
    """Set the key-account threshold."""
    with ctx.uow() as uow:
        team.set_org_setting(uow, ctx.actor, "key_account_score", args.value)
    return Reply(text=_("A screening total of {value} or more now marks a key account.").format(value=args.value))


@commands.command("settings reminderhour", N_("Set the local hour at which reminders are sent (0–23)."),
                  NumberArgs, positional=("value",), roles=TEAM_ADMIN_ROLES, examples=("/settings reminderhour 9",))
def settings_reminder_hour(ctx: Ctx, args: NumberArgs) -> Reply:
    """Set the reminder hour; pending reminders move with it."""
    with ctx.uow() as uow:
        team.set_org_setting(uow, ctx.actor, "reminder_hour", args.value)
    return Reply(text=_("Reminders now go out at {hour}:00 local time.").format(hour=args.value))


@commands.command("settings staledays", N_("Set after how many days without activity a lead is flagged as "
                                           "stale (7–365)."), NumberArgs, positional=("value",),
                  roles=TEAM_ADMIN_ROLES, examples=("/settings staledays 30",))
def settings_stale_days(ctx: Ctx, args: NumberArgs) -> Reply:
    """Set the days without activity that make a lead stale."""
    with ctx.uow() as uow:
        team.set_org_setting(uow, ctx.actor, "stale_lead_days", args.value)
    return Reply(text=_("A lead with no activity for {value} days is now flagged to its owner, and listed to the "
                        "supervisors each Monday.").format(value=args.value))


@commands.command("settings show", N_("Show the department's settings and mine."), NoArgs)
def settings_show(ctx: Ctx, args: NoArgs) -> Reply:
    """The department's settings and the actor's language."""
    with ctx.uow() as uow:
        org = team.get_org(uow, ctx.actor)
    return Reply(
        title=_("Settings"),
        fields=[
            (_("My language"), lang_name(ctx.actor.locale)),
            (_("Department language"), lang_name(org.locale)),
            (_("Time zone"), org.timezone),
            (_("Key account score"), str(team.org_setting(org, "key_account_score"))),
            (_("Reminder hour"), f"{team.org_setting(org, 'reminder_hour')}:00"),
            (_("Days until a lead is stale"), str(team.org_setting(org, "stale_lead_days"))),
        ],
        private=True,
    )


commands.describe_group("team", N_("Team members, roles and chat accounts."))


commands.describe_group("settings", N_("Language, time zone and department settings."))
