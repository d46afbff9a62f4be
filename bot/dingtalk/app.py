"""The DingTalk adapter: robot messages and card button callbacks in, replies out.

It translates both ways and nothing more: a robot message (a private chat, or a group where the robot is
@-mentioned) becomes a `Ctx` and a command line; a neutral `Reply` becomes markdown (through the message's
session webhook while it is valid, else the Open API) or an interactive card when it has buttons. The same
handling serves Stream mode (dingtalk-stream) and the HTTP callback (/dingtalk/events). A department is a
DingTalk organisation (chatbotCorpId); a member's account is their staffId within it.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from dingtalk_stream import ChatbotMessage
from dingtalk_stream.card_callback import CardCallbackMessage

from bot.bootstrap import App
from bot.delivery import DeliveryError, failure_reason
from bot.dingtalk import render
from bot.dingtalk.api import OpenApi, Refused
from bot.later import keep_reply
from bot.settings import Settings
from bot.transient import transient
from domain.crm.customers import find_customer
from domain.delivery import dialogs
from domain.delivery.inbound import first_delivery, record_delivery, seen_delivery
from domain.kernel.errors import DomainError
from domain.kernel.i18n import _, first_language, translate, use_locale
from domain.store.uow import UnitOfWork
from domain.team.access import READ
from domain.team.handover import LEFT_NOTICE
from domain.team.members import (
    Account,
    Place,
    acting,
    ensure_org,
    find_org,
    link_identity,
    may_open,
    member_by_account,
    redeem_enrolment,
    redeem_invite,
    resolve_member,
)
from handlers import forms
from handlers.context import Ctx
from handlers.help import first_welcome
from handlers.registry import Command, clean_line, field_problem, precheck, translate_error
from handlers.replies import Reply, error

log = logging.getLogger(__name__)

PLATFORM = "dingtalk"
DIALOG_TTL = timedelta(minutes=15)
_AT = re.compile(r"@(\S+)")


@dataclass(frozen=True)
class Who:
    """The person and the chat a robot message (or a card click) comes from."""

    corp: str
    staff: str
    name: str
    conversation: str | None = None  # the open conversation id (None: a card click in a private chat)
    group: bool = False
    webhook: str | None = None
    webhook_until_ms: int = 0

    @property
    def dialog_key(self) -> str:
        return f"form:{self.corp}:{self.staff}"

    @property
    def chat(self) -> str:
        """Where an answer to them goes: the group, or their private chat with the robot (their staffId)."""
        return self.conversation if self.group and self.conversation else self.staff


def message_text(message: ChatbotMessage) -> str | None:
    """The text of a text or rich-text message (None for a picture, a file, a voice message...)."""
    if message.message_type == "text" and message.text is not None:
        return message.text.content or ""
    if message.message_type == "richText" and message.rich_text_content is not None:
        return "".join(str(part.get("text", "")) for part in message.rich_text_content.rich_text_list or []
                       if isinstance(part, dict))
    return None


class DingTalkAdapter:
    def __init__(self, app: App, settings: Settings, executor: Executor, api: OpenApi | None = None) -> None:
        self.app = app
        self.settings = settings
        self.registry = app.registry
        self.executor = executor
        self.api = api or OpenApi(settings)
        self._welcome: set[tuple[str, str]] = set()

    # --- plumbing ----------------------------------------------------------------------
    async def db(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def http(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """An Open API call, off the event loop and off the database thread."""
        return await asyncio.to_thread(fn, *args, **kw)

    def now_ms(self) -> int:
        return int(self.app.clock.now().timestamp() * 1000)

    def _seen(self, key: str) -> bool:
        with self.app.uow() as uow:
            return seen_delivery(uow, PLATFORM, key)

    def _first(self, key: str) -> bool:
        with self.app.uow() as uow:
            return first_delivery(uow, PLATFORM, key)

    def _known(self, uow: UnitOfWork, who: Who) -> Ctx | None:
        known = acting(uow, PLATFORM, who.staff, who.corp)
        return Ctx(self.app.services, known.actor, PLATFORM) if known is not None else None

    def _enrol(self, who: Who) -> Ctx | Reply:
        """The member behind a staffId: enrolment when the organisation is new (the first person, or one
        named in BIZBOT_ADMINS, where the operator allows it); a friendly refusal otherwise."""
        with self.app.uow() as uow:
            known = self._known(uow, who)
            if known is not None:
                return known
            org = find_org(uow, PLATFORM, who.corp)
            if org is None:
                services = self.app.services
                if not may_open(PLATFORM, who.staff, services.admins, services.open_enrolment):
                    with use_locale(self.settings.locale):
                        return error(_("This workspace is not a bizbot department, and new departments are "
                                       "opened only by whoever runs this bizbot. If you were given a code, send "
                                       "/enrol CODE here."))
                org = ensure_org(uow, PLATFORM, who.corp, who.corp, self.settings.timezone, self.settings.locale)
                uow.commit()
            language = None if self.settings.language_chosen else first_language(None, who.name)
            resolved = resolve_member(uow, org, PLATFORM, who.corp, who.staff, who.name or who.staff,
                                      self.app.services.admins, language)
            if resolved.member is None:
                with use_locale(org.locale):
                    if resolved.left:
                        return error(translate(LEFT_NOTICE))
                    return error(_("You are not a member of this department yet. Ask an admin or manager "
                                   "to add you with /team add @you role=sales."))
            ctx = self._known(uow, who)
        assert ctx is not None
        if resolved.created_first:
            self._welcome.add((who.corp, who.staff))
        return ctx

    # --- robot messages ----------------------------------------------------------------
    async def on_message(self, data: dict[str, Any], once: str | None = None) -> bool:
        """One robot message, handled once (its msgId is remembered across restarts). False when its handling
        failed for a reason that may pass: nothing of it was recorded, and a redelivery runs it."""
        try:
            message = ChatbotMessage.from_dict(data)
        except (TypeError, AttributeError, ValueError, KeyError):
            log.warning("dingtalk message skipped: unreadable")
            return True
        text = message_text(message)
        staff = message.sender_staff_id or message.sender_id
        corp = message.chatbot_corp_id or message.sender_corp_id
        if text is None or not staff or not corp:
            return True  # nothing bizbot answers (a picture, an outside sender)
        group = str(message.conversation_type) == "2"
        if group and message.is_in_at_list is False:
            return True
        who = Who(str(corp), str(staff), str(message.sender_nick or staff), message.conversation_id, group,
                  message.session_webhook, int(message.session_webhook_expired_time or 0))
        once = once or f"msg:{message.message_id or ''}"
        links = [u.staff_id for u in message.at_users if u.staff_id and u.staff_id != staff]
        try:
            await self.on_text(who, clean_line(text), once, links)
        except Exception as exc:
            if transient(exc):
                log.warning("dingtalk message %s not handled (%s); to be delivered again", once,
                            failure_reason(exc))
                return False
            log.error("dingtalk message %s failed", once, exc_info=exc)
            await self.db(self._first, once)
        return True

    async def on_text(self, who: Who, text: str, once: str, links: list[str]) -> None:
        text = _AT.sub("", text, count=0).strip() if not text.startswith("/") and text.startswith("@") else text
        form = None if text.startswith("/") else await self.db(self._load, who.dialog_key)
        if form is not None:
            if await self.db(self._seen, once):
                return
            ctx = await self.db(self._enrol, who)
            if isinstance(ctx, Ctx):
                await self.on_answer(ctx, who, form, text, chosen=False)
            await self.db(self._first, once)
            return
        line = "/" + text.lstrip("/").strip() if text.strip("/ ") else "/help"
        head, _sep, rest = line.partition(" ")
        name = head[1:].lower()
        if name in ("start", "enrol", "cancel", "开始"):
            if await self.db(self._seen, once):
                return
            await self.special(who, name, rest.strip())
            await self.db(self._first, once)
            return
        form_cmd = self.registry.form_for(name, rest)
        run = line if rest.strip() and form_cmd is None else None
        job = await self.db(self._command_job, who, run, once, links)
        if job is None:
            return  # seen before
        ctx, reply = job
        if isinstance(ctx, Reply):
            await self.say(who, ctx, self.settings.locale)
        elif form_cmd is not None:
            refusal = await self.db(precheck, ctx, form_cmd, {})
            if refusal:
                await self.say(who, error(refusal), ctx.actor.locale)
            else:
                await self.start_form(ctx, who, form_cmd, {}, None)
        elif reply is None:
            await self.without_arguments(ctx, who, name)
        else:
            await self.answer(ctx, who, reply)
        if run is None:
            await self.db(self._first, once)

    def _command_job(self, who: Who, line: str | None, once: str, links: list[str]
                     ) -> tuple[Ctx | Reply, Reply | None] | None:
        """Who acts and, for a command with arguments, its answer — run in the unit of work that records the
        message as seen, so both are committed together (None: seen before)."""
        reply = None
        with self.app.uow() as uow:
            known = self._known(uow, who)
            if line is not None and known is not None:
                if not uow.carry(lambda u: record_delivery(u, PLATFORM, once)):
                    return None
                if dialogs.is_open(uow, PLATFORM, who.dialog_key):
                    uow.carry(lambda u: dialogs.discard(u, PLATFORM, who.dialog_key))
                reply = self.registry.dispatch(known.within(uow), self._named(line, links))
                uow.commit()
            elif seen_delivery(uow, PLATFORM, once):
                return None
        ctx = known if known is not None else self._enrol(who)
        if isinstance(ctx, Reply) or line is None:
            return ctx, None
        if reply is None:
            with self.app.uow() as uow:
                if not uow.carry(lambda u: record_delivery(u, PLATFORM, once)):
                    return None
                reply = self.registry.dispatch(ctx.within(uow), self._named(line, links))
                uow.commit()
        if links and line.split()[0].lower() in ("/team", "/团队") and not reply.error:
            reply = self._link_accounts(ctx, who, line, links, reply)
        return ctx, reply

    @staticmethod
    def _named(line: str, links: list[str]) -> str:
        """`@王芳` in a command is the name it mentions (DingTalk writes mentions as @ and the nickname)."""
        return _AT.sub(r"\1", line) if links else line

    def _link_accounts(self, ctx: Ctx, who: Who, line: str, links: list[str], reply: Reply) -> Reply:
        """After /team add (or set) naming @someone, that DingTalk account acts as that member: the people
        mentioned (DingTalk's atUsers, in the order written) are the names after @ in the line."""
        names = _AT.findall(line)
        notes = []
        for label, staff in zip(names, links, strict=False):
            with self.app.uow() as uow:
                try:
                    member = link_identity(uow, ctx.actor, label, PLATFORM, who.corp, staff)
                except DomainError as exc:
                    with use_locale(ctx.actor.locale):
                        notes.append(translate_error(exc))
                    continue
            with use_locale(ctx.actor.locale):
                notes.append(_("{name} is now linked to their DingTalk account.").format(name=member.name))
        return replace(reply, text="\n".join([reply.text, *notes]).strip())

    async def special(self, who: Who, name: str, code: str) -> None:
        """/start CODE links this account to an invited member; /enrol CODE opens a department; /cancel."""
        locale = self.settings.locale
        if name == "cancel":
            await self.db(self._drop, who.dialog_key)
            with use_locale(locale):
                await self.say(who, Reply(text=_("Cancelled.")), locale)
            return
        if not code:
            ctx = await self.db(self._enrol, who)
            if isinstance(ctx, Reply):
                await self.say(who, ctx, locale)
                return
            reply = await self.db(self.registry.dispatch, ctx, "/help" if name != "enrol" else "/enrol")
            await self.answer(ctx, who, reply)
            return
        reply = await self.db(self._redeem, who, name, code)
        await self.say(who, reply, locale)

    def _redeem(self, who: Who, name: str, code: str) -> Reply:
        locale = self.settings.locale
        with self.app.uow() as uow:
            try:
                if name == "enrol":
                    done = redeem_enrolment(uow, code, Place(PLATFORM, who.corp, who.corp),
                                            Account(PLATFORM, who.corp, who.staff, who.name),
                                            self.settings.timezone, locale, joinable=False)
                    with use_locale(locale):
                        return Reply(text=_("Welcome, {name}! This chat is now a bizbot department, and you are "
                                            "its admin and manager. Type /help to begin.").format(
                            name=done.member.name if done.member else who.name))
                member = redeem_invite(uow, code, PLATFORM, who.corp, who.staff)
            except DomainError as exc:
                with use_locale(locale):
                    return error(translate_error(exc))
            with use_locale(member.locale or locale):
                return Reply(text=_("Welcome, {name}! This DingTalk account now acts as {name}. "
                                    "Type /help to begin.").format(name=member.name))

    async def without_arguments(self, ctx: Ctx, who: Who, group: str) -> None:
        """A group of commands offers its sub-commands; a command that needs answers starts a form."""
        if group not in self.registry.groups():
            await self.answer(ctx, who, await self.db(self.registry.dispatch, ctx, f"/{group}"))
            return
        root = self.registry.commands.get(group)
        if root is None:
            with use_locale(ctx.actor.locale):
                menu = forms.menu(self.registry, group)
            await self.answer(ctx, who, menu)
            return
        if root.missing({}):
            await self.start_form(ctx, who, root, {}, None)
            return
        await self.answer(ctx, who, await self.db(self.registry.dispatch, ctx, f"/{group}"))

    # --- answers -----------------------------------------------------------------------
    async def answer(self, ctx: Ctx, who: Who, reply: Reply, aside: bool = False) -> None:
        """Private replies (and, with `aside`, any reply) go to the private chat, with a short pointer in the
        group."""
        locale = ctx.actor.locale
        if (who.corp, who.staff) in self._welcome:
            self._welcome.discard((who.corp, who.staff))
            with use_locale(locale):
                reply = replace(reply, text="\n".join([first_welcome(ctx.actor.name), reply.text]).strip())
        if (reply.private or aside) and who.group:
            await self.say(replace(who, group=False, webhook=None), reply, locale)
            with use_locale(locale):
                pointer = _("{name}, I sent you the details in a private chat.").format(name=who.name)
            await self.say(who, Reply(text=pointer), locale)
            return
        await self.say(who, reply, locale)

    async def say(self, who: Who, reply: Reply, locale: str) -> None:
        """A reply in the chat: a card when it has buttons (the Open API), else markdown through the session
        webhook while it is valid, or the Open API. What DingTalk will not take now goes to the outbox."""
        try:
            if reply.buttons:
                with use_locale(locale):
                    data = render.card(reply)
                await self.http(self._send_card, who, data)
                return
            with use_locale(locale):
                title, text = render.markdown(reply)
            if who.webhook and who.webhook_until_ms > self.now_ms():
                body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
                if who.group:
                    body["at"] = {"atUserIds": [who.staff]}
                try:
                    await self.http(self.api.webhook, who.webhook, body)
                    return
                except Refused as exc:
                    log.info("dingtalk session webhook refused (%s); the Open API answers", exc)
                except DeliveryError as exc:
                    if exc.retry_after is None:  # not throttled: the webhook is no way now
                        log.info("dingtalk session webhook failed (%s); the Open API answers", exc)
            await self.http(self._send_markdown, who, title, text)
        except Refused as exc:
            log.warning("dingtalk refused an answer to %s: %s", who.chat, exc)
        except DeliveryError as exc:
            await self.db(self._keep, who, reply, exc)

    def _send_card(self, who: Who, data: dict[str, Any]) -> str:
        biz = "bizbot-" + secrets.token_hex(20)
        if who.group and who.conversation:
            return self.api.send_card(biz, data, conversation=who.conversation)
        return self.api.send_card(biz, data, user_id=who.staff)

    def _send_markdown(self, who: Who, title: str, text: str) -> None:
        param = {"title": title, "text": text}
        if who.group and who.conversation:
            self.api.send_to_group(who.conversation, "sampleMarkdown", param)
        else:
            self.api.send_to_people([who.staff], "sampleMarkdown", param)

    def _keep(self, who: Who, reply: Reply, exc: DeliveryError) -> None:
        """An answer DingTalk did not take now: queued for the chat it answers, for the dispatcher."""
        with self.app.uow() as uow:
            member = member_by_account(uow, PLATFORM, who.staff)
            org = find_org(uow, PLATFORM, who.corp)
            org_id = member.org_id if member is not None else (org.id if org is not None else None)
            if org_id is None:
                log.warning("dingtalk answer to %s not taken (%s) and not kept: nobody known there", who.chat,
                            failure_reason(exc))
                return
            keep_reply(uow, reply, org_id=org_id, platform=PLATFORM,
                       recipient_id=member.id if member is not None and not who.group else None, chat=who.chat,
                       retry_after=exc.retry_after, reason=failure_reason(exc))
            uow.commit()

    # --- forms -------------------------------------------------------------------------
    def _load(self, key: str) -> dict[str, Any] | None:
        with self.app.uow() as uow:
            return dialogs.get(uow, PLATFORM, key)

    def _save(self, key: str, form: dict[str, Any]) -> None:
        with self.app.uow() as uow:
            dialogs.put(uow, PLATFORM, key, form, DIALOG_TTL)

    def _drop(self, key: str) -> None:
        with self.app.uow() as uow:
            dialogs.drop(uow, PLATFORM, key)

    async def start_form(self, ctx: Ctx, who: Who, cmd: Command, data: dict[str, Any],
                         origin: dict[str, Any] | None) -> None:
        form: dict[str, Any] = {"cmd": cmd.name, "data": {k: str(v) for k, v in data.items()}, "skipped": [],
                                "field": None, "origin": origin, "group": who.group,
                                "conversation": who.conversation}
        await self.ask(ctx, who, form)

    async def ask(self, ctx: Ctx, who: Who, form: dict[str, Any], problem: str | None = None,
                  options: list[tuple[str, str]] | None = None) -> None:
        """The next question as a card: its choices as buttons, Skip (when it may be left out) and Cancel;
        anything else is typed (in a group, @-mentioning the robot)."""
        cmd = self.registry.commands[form["cmd"]]
        q = forms.next_question(cmd, form["data"], set(form["skipped"]))
        if q is None:
            await self.finish(ctx, who, form)
            return
        form["field"] = q.field
        await self.db(self._save, who.dialog_key, form)
        choices = list(q.choices) if q.kind == "choice" else options
        if choices is None and q.kind in ("customer", "member"):
            choices = await self.db(forms.search, ctx, q.kind, "", 6)
        with use_locale(ctx.actor.locale):
            lines = [f"⚠️ {problem}"] if problem else []
            lines.append(f"/{cmd.name} · {q.label}")
            if q.hint:
                lines.append(q.hint)
            if q.kind == "date":
                lines.append(_("Type a date: tomorrow, next friday, 下周三, 12月1日 or 2026-12-01."))
            elif q.kind in ("customer", "member"):
                lines.append(_("Type part of the name, or choose below."))
            buttons = [(label, render.encode("f", value)) for value, label in (choices or [])[:8]]
            if not q.required:
                buttons.append((_("Skip"), render.encode("s", "")))
            buttons.append((_("Cancel"), render.encode("x", "")))
            data = render.card(Reply(text="\n".join(lines)), buttons)
        try:
            await self.http(self._send_card, who, data)
        except DeliveryError as exc:
            await self.db(self._keep, who, Reply(text="\n".join(lines)), exc)

    async def on_answer(self, ctx: Ctx, who: Who, form: dict[str, Any], value: str, chosen: bool) -> None:
        """One answer, checked on its own; a problem asks the same question again with the reason."""
        cmd = self.registry.commands.get(form.get("cmd", ""))
        field = form.get("field")
        if cmd is None or field is None:
            return
        q = forms.question(cmd, field)
        if q.kind in ("customer", "member") and not chosen:
            found = await self.db(forms.search, ctx, q.kind, value, 8)
            wanted = value.casefold()
            exact = [v for v, label in found if wanted in (label.casefold(), v.casefold())]
            if len(found) == 1 or len(exact) == 1:
                value = (exact or [found[0][0]])[0]
            elif found:
                with use_locale(ctx.actor.locale):
                    await self.ask(ctx, who, form, _("Several match; choose one."), found)
                return
        problem = await self.db(field_problem, ctx, cmd, field, value)
        if problem is None and q.kind == "customer":
            problem = await self.db(self._customer_problem, ctx, value)
        if problem:
            await self.ask(ctx, who, form, problem)
            return
        form["data"][field] = value
        await self.ask(ctx, who, form)

    def _customer_problem(self, ctx: Ctx, text: str) -> str | None:
        with ctx.uow() as uow, use_locale(ctx.actor.locale):
            try:
                find_customer(uow, ctx.actor, text, READ)
            except DomainError as exc:
                return translate_error(exc)
        return None

    async def finish(self, ctx: Ctx, who: Who, form: dict[str, Any]) -> None:
        cmd = self.registry.commands[form["cmd"]]
        outcome = await self.db(self.registry.submit, ctx, cmd, form["data"])
        if isinstance(outcome, dict):
            field, problem = next(iter(outcome.items()))
            form["data"].pop(field, None)
            await self.ask(ctx, who, form, problem)
            return
        await self.db(self._drop, who.dialog_key)
        origin = form.get("origin")
        if origin and not outcome.error:
            await self.settle(origin["card"], outcome, ctx)
        await self.answer(ctx, who, outcome)

    # --- card buttons ------------------------------------------------------------------
    async def on_card(self, data: dict[str, Any], once: str) -> bool:
        """A button pressed on a card, handled once. False when its handling failed for a reason that may
        pass (nothing recorded: a redelivery runs it)."""
        try:
            await self._card(data, once)
        except Exception as exc:
            if transient(exc):
                log.warning("dingtalk card callback %s not handled (%s)", once, failure_reason(exc))
                return False
            log.error("dingtalk card callback %s failed", once, exc_info=exc)
            await self.db(self._first, once)
        return True

    async def _card(self, data: dict[str, Any], once: str) -> None:
        callback = CardCallbackMessage.from_dict(data)
        private = (callback.content or {}).get("cardPrivateData") or {}
        actions = private.get("actionIds") or []
        pressed = render.decode(str(actions[0])) if actions else None
        if pressed is None or not callback.user_id or not callback.corp_id:
            return
        conversation = clicked_in(data)
        who = Who(str(callback.corp_id), str(callback.user_id), str(callback.user_id), conversation,
                  conversation is not None)
        if not await self.db(self._first, once):
            return
        ctx = await self.db(self._enrol, who)
        if isinstance(ctx, Reply):
            await self.say(replace(who, group=False), ctx, self.settings.locale)
            return
        who = replace(who, name=ctx.actor.name)
        card = callback.card_instance_id
        if pressed.kind in ("c", "d"):
            await self.press(ctx, who, card, pressed.value, pressed.kind == "d")
            return
        form = await self.db(self._load, who.dialog_key)
        if form is None:
            with use_locale(ctx.actor.locale):
                await self.say(who, error(_("This conversation has timed out; start again with the command.")),
                               ctx.actor.locale)
            return
        who = replace(who, group=bool(form.get("group")), conversation=form.get("conversation"))
        if pressed.kind == "x":
            await self.db(self._drop, who.dialog_key)
            with use_locale(ctx.actor.locale):
                await self.say(who, Reply(text=_("Cancelled.")), ctx.actor.locale)
        elif pressed.kind == "s" and form.get("field"):
            form["skipped"].append(form["field"])
            await self.ask(ctx, who, form)
        elif pressed.kind == "f":
            await self.on_answer(ctx, who, form, pressed.value, chosen=True)

    async def press(self, ctx: Ctx, who: Who, card: str, line: str, decision: bool) -> None:
        """A button runs its command; a decision settles its card (the first click wins: a later one is
        refused by the command itself and told so). A click on a card in a group is answered in the group; a
        refusal goes to the clicker alone (their private chat, with a pointer in the group)."""
        try:
            cmd, data = self.registry.fields(line)
        except DomainError as exc:
            with use_locale(ctx.actor.locale):
                await self.answer(ctx, who, error(translate_error(exc)), aside=True)
            return
        if cmd.missing(data):
            refusal = await self.db(precheck, ctx, cmd, data)
            if refusal:
                await self.answer(ctx, who, error(refusal), aside=True)
                return
            await self.db(self._drop, who.dialog_key)
            await self.start_form(ctx, who, cmd, data, {"card": card} if decision else None)
            return
        reply = await self.db(self.registry.dispatch, ctx, line)
        if decision and not reply.error:
            await self.settle(card, reply, ctx)
        await self.answer(ctx, who, reply, aside=reply.error)

    async def settle(self, card: str, reply: Reply, ctx: Ctx) -> None:
        """The card a decision was made on shows the outcome and loses its buttons."""
        settled = Reply(text=f"✓ {reply.text} — {ctx.actor.name}")
        with use_locale(ctx.actor.locale):
            data = render.card(settled)
        try:
            await self.http(self.api.update_card, card, data)
        except DeliveryError as exc:
            log.info("could not update the decided card: %s", exc)


def clicked_in(data: dict[str, Any]) -> str | None:
    """The group a card was clicked in (its openConversationId), or None for the clicker's private chat with
    the robot. A card callback names its space: spaceType IM_GROUP with the group as spaceId; IM_ROBOT (or
    IM_SINGLE) for a private chat, whose id (a conversation id too, cid…) is no group. A callback without a
    spaceType names a group by its openConversationId."""
    space_type = data.get("spaceType")
    if space_type is None:
        found = data.get("openConversationId")
    else:
        found = data.get("spaceId") if space_type == "IM_GROUP" else None
    return found if isinstance(found, str) and found else None


def card_once(data: dict[str, Any], timestamp: str) -> str:
    """A card callback's identity when DingTalk gives none (the HTTP callback): its signed timestamp and
    what it says (which button, by whom, on which card)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
    return f"card:{timestamp}:{digest}"
