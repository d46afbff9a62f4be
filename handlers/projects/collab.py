"""/collab route|assign|take|ask|reply|accept|rectify|show|list: cross-department requests after their approval."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.kernel.i18n import N_, _, translate
from domain.projects import collab
from domain.projects.collab import STATES, STEP_LABELS
from domain.projects.projects import member_name
from handlers.args import Args, LongText, MemberName, NextDate, Text, scope
from handlers.context import Ctx
from handlers.format import day, local_day
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

commands = Registry()


def _ref(number: int) -> str:
    return f"A{number}"


class RouteArgs(Args):
    department: Text = Field(description=N_("the supporting department, as requests name it"))
    to: MemberName | None = Field(None, description=N_("its contact; off for none (requests then go to the "
                                                       "router)"))


@commands.command("collab route", N_("Set a supporting department's contact for cross-department requests."),
                  RouteArgs, positional=("department",), greedy=True,
                  examples=("/collab route engineering to=wei", "/collab route engineering to=off"))
def collab_route(ctx: Ctx, args: RouteArgs) -> Reply:
    with ctx.uow() as uow:
        member = collab.set_route(uow, ctx.actor, args.department, args.to)
    if member is None:
        return Reply(text=_("Requests to {department} now go to the router (general administration).").format(
            department=args.department))
    return Reply(text=_("Requests to {department} now go to {name}.").format(department=args.department,
                                                                          name=member.name))


class NoArgs(Args):
    pass


@commands.command("collab routes", N_("The supporting departments' contacts and the router."), NoArgs)
def collab_routes(ctx: Ctx, args: NoArgs) -> Reply:
    with ctx.uow() as uow:
        routes, router = collab.list_routes(uow, ctx.actor)
    return Reply(title=_("Cross-department contacts"),
                 fields=[(_("Router"), router or "—")],
                 sections=[Section(_("Departments"), [f"{d} · {n}" for d, n in routes], _("none"))], private=True)


class RefArgs(Args):
    ref: Text = Field(description=N_("the approved request (A6)"))


class AssignArgs(Args):
    ref: Text = Field(description=N_("the approved request (A6)"))
    to: MemberName = Field(description=N_("the supporting department's contact"))


@commands.command("collab assign", N_("Assign an approved cross-department request to a contact."), AssignArgs,
                  positional=("ref",), ask=("to",), examples=("/collab assign A6 to=wei",))
def collab_assign(ctx: Ctx, args: AssignArgs) -> Reply:
    with ctx.uow() as uow:
        c = collab.assign(uow, ctx.actor, args.ref, args.to)
        name = member_name(uow, c.contact_id)
    return Reply(text=_("{ref} is assigned to {name}.").format(ref=args.ref.strip().upper(), name=name))


@commands.command("collab take", N_("Accept a cross-department request assigned to me."), RefArgs,
                  positional=("ref",), examples=("/collab take A6",))
def collab_take(ctx: Ctx, args: RefArgs) -> Reply:
    with ctx.uow() as uow:
        c = collab.take(uow, ctx.actor, args.ref)
    return Reply(text=_("You accepted {ref}; the result is due by {due}.").format(ref=args.ref.strip().upper(),
                                                                                  due=day(c.due)))


class AskArgs(Args):
    ref: Text = Field(description=N_("the approved request (A6)"))
    question: LongText = Field(description=N_("the question or the answer"))


@commands.command("collab ask", N_("Ask (or answer) a question about a cross-department request."), AskArgs,
                  positional=("ref",), ask=("question",), examples=('/collab ask A6 question="which site?"',))
def collab_ask(ctx: Ctx, args: AskArgs) -> Reply:
    with ctx.uow() as uow:
        _c, other = collab.ask(uow, ctx.actor, args.ref, args.question)
    return Reply(text=_("Sent to {name}.").format(name=other))


class ReplyArgs(Args):
    ref: Text = Field(description=N_("the approved request (A6)"))
    result: LongText = Field(description=N_("the result (协作成果)"))


@commands.command("collab reply", N_("Report the result of a cross-department request."), ReplyArgs,
                  positional=("ref",), ask=("result",), examples=('/collab reply A6 result="demo held on site"',))
def collab_reply(ctx: Ctx, args: ReplyArgs) -> Reply:
    with ctx.uow() as uow:
        c = collab.reply(uow, ctx.actor, args.ref, args.result)
    text = _("The result of {ref} is sent to its requester.").format(ref=args.ref.strip().upper())
    if c.late:
        text += " " + _("It came after the due date ({due}).").format(due=day(c.due))
    return Reply(text=text)


@commands.command("collab accept", N_("Accept the result of my cross-department request."), RefArgs,
                  positional=("ref",), examples=("/collab accept A6",))
def collab_accept(ctx: Ctx, args: RefArgs) -> Reply:
    with ctx.uow() as uow:
        collab.accept(uow, ctx.actor, args.ref)
    return Reply(text=_("{ref}: result accepted; the request is closed.").format(ref=args.ref.strip().upper()))


class RectifyArgs(Args):
    ref: Text = Field(description=N_("the approved request (A6)"))
    reason: LongText = Field(description=N_("what is not as needed"))
    due: NextDate | None = Field(None, description=N_("the new due date (default: in three days)"))


@commands.command("collab rectify", N_("Send the result of my cross-department request back for rectification."),
                  RectifyArgs, positional=("ref",), ask=("reason",),
                  examples=('/collab rectify A6 reason="the report lacks the test data" due=2026-12-18',))
def collab_rectify(ctx: Ctx, args: RectifyArgs) -> Reply:
    with ctx.uow() as uow:
        c = collab.rectify(uow, ctx.actor, args.ref, args.reason, args.due)
        name = member_name(uow, c.contact_id)
    return Reply(text=_("{ref} goes back to {name} for rectification, due {due}.").format(
        ref=args.ref.strip().upper(), name=name, due=day(c.due)))


@commands.command("collab show", N_("A cross-department request after its approval, step by step."), RefArgs,
                  positional=("ref",), examples=("/collab show A6",))
def collab_show(ctx: Ctx, args: RefArgs) -> Reply:
    with ctx.uow() as uow:
        v = collab.show(uow, ctx.actor, args.ref)
        contact = member_name(uow, v.case.contact_id)
        requester = member_name(uow, v.case.requester_id)
    c, f = v.case, v.request.fields
    fields = [(_("Department"), c.department), (_("Needed"), str(f.get("what", ""))),
              (_("Expected goal"), str(f.get("goal") or "—")), (_("Requester"), requester),
              (_("Contact"), contact), (_("Due"), day(c.due)), (_("Status"), translate(STATES[c.state])),
              (_("Result"), c.result or "—")]
    if c.late:
        fields.append((_("Late"), _("yes")))
    steps = [f"{local_day(s.at, ctx.actor.timezone)} · {who} · {translate(STEP_LABELS.get(s.kind, s.kind))}"
             + (f" · {s.note}" if s.note else "") for s, who in v.steps]
    r = _ref(v.request.number)
    buttons = []
    if c.state == "answered" and ctx.actor.member_id == c.requester_id:
        buttons = [Button(_("Accept the result"), f"/collab accept {r}", decision=True),
                   Button(_("Ask for rectification"), f"/collab rectify {r}")]
    elif c.state in ("assigned", "rectify") and ctx.actor.member_id == c.contact_id:
        buttons = [Button(_("Accept"), f"/collab take {r}", decision=True)]
    return Reply(title=_("{ref} · cross-department request").format(ref=r), fields=fields,
                 sections=[Section(_("Steps"), steps, _("none"))], buttons=buttons, private=True)


CollabScope = Annotated[str, scope("open", "mine", "all")]


class ListArgs(Args):
    scope: CollabScope = Field("open", description=N_("open (default), mine or all"))


@commands.command("collab list", N_("Approved cross-department requests I may see."), ListArgs,
                  positional=("scope",), examples=("/collab list", "/collab list mine"))
def collab_list(ctx: Ctx, args: ListArgs) -> Reply:
    with ctx.uow() as uow:
        rows = collab.list_cases(uow, ctx.actor, args.scope)
        items = [_("{ref} · {department} · {contact} · due {due} · {state}").format(
            ref=_ref(r.number), department=c.department, contact=member_name(uow, c.contact_id),
            due=day(c.due), state=translate(STATES[c.state])) for c, r in rows]
    return Reply(title=_("Cross-department requests ({count})").format(count=len(rows)),
                 sections=[Section(_("Requests"), items, _("none"))], private=True)
