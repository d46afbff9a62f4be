"""The Telegram adapter: commands, guided conversations, inline buttons, over python-telegram-bot.

It translates both ways and nothing more: an Update becomes a `Ctx` and a command line (or one
answer of a conversation); a neutral `Reply` becomes Telegram HTML with an inline keyboard.
Conversation state and long button payloads live in the database (dialogs), so a restart or
another replica carries on where this one stopped.
"""
from __future__ import annotations

import asyncio
import contextvars
import html
import logging
import re
import secrets
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    BotCommand,
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot.bootstrap import App
from bot.delivery import failure_reason
from bot.later import keep_reply
from bot.settings import Settings
from bot.telegram import render
from bot.transient import transient
from domain.crm.customers import find_customer
from domain.delivery import dialogs
from domain.delivery.inbound import first_delivery, record_delivery, seen_delivery
from domain.kernel.errors import DomainError
from domain.kernel.i18n import _, first_language, normalize_locale, translate, use_locale
from domain.store.models import Member
from domain.store.uow import UnitOfWork
from domain.team.access import READ, TEAM_ADMIN_ROLES
from domain.team.handover import LEFT_NOTICE, left_account
from domain.team.members import (
    Account,
    Place,
    acting,
    actor_for,
    ensure_org,
    find_org,
    join_place,
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
from handlers.replies import Button, Reply, error

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ACCOUNTS = "telegram"  # Telegram user ids are global: one workspace for every linked account
DIALOG_TTL = timedelta(minutes=15)
TOKEN_TTL = timedelta(days=30)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
# Someone in a group that is no department is told so once a while, from memory (nothing is stored for them):
# a stranger cannot spend the bot's send budget by typing on.
STRANGER_QUIET = timedelta(hours=1)
CODE_TRIES = 5  # refused codes answered per person and group within STRANGER_QUIET; after that, silence
MAX_REMEMBERED = 10_000
QUIET = Reply()  # nothing to say (the person was told already)
# polling: an update whose handling failed for a reason that may pass is handled again after these waits
AGAIN_AFTER = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Unreadable(ValueError):
    """A webhook body Telegram's library cannot read as an update."""


@dataclass(frozen=True)
class Who:
    """The person and the chat an update comes from."""

    user_id: int
    name: str
    language: str | None
    chat_id: int
    chat_type: str
    chat_title: str | None

    @property
    def private(self) -> bool:
        return self.chat_type == "private"

    @property
    def dialog_key(self) -> str:
        return f"form:{self.chat_id}:{self.user_id}"


def who_of(update_user: Any, chat: Any) -> Who:
    name = " ".join(p for p in (update_user.first_name, update_user.last_name) if p) or (
        update_user.username or str(update_user.id))
    return Who(update_user.id, name, update_user.language_code, chat.id, chat.type, chat.title)


class TelegramAdapter:
    def __init__(self, app: App, settings: Settings, executor: Executor) -> None:
        assert settings.telegram_bot_token is not None
        self.app = app
        self.settings = settings
        self.registry = app.registry
        self.executor = executor
        root = settings.telegram_api_url
        builder = (
            Application.builder()
            .token(settings.telegram_bot_token.get_secret_value())
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
        )
        if settings.telegram_webhook_url:
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(TypeHandler(Update, self.on_update))
        self.application.add_error_handler(self.on_error)
        self.bot = self.application.bot
        self.username = ""
        self._welcome: set[int] = set()
        # (chat, user) → (until when, how many times told): strangers answered lately, kept in memory only
        self._told: dict[tuple[int, int], tuple[datetime, int]] = {}
        # webhook updates (by id of the Update object) whose handling failed for a reason that may pass
        self._failed: set[int] = set()
        # polling: how many times an update_id has been handled again, and the waits before the next time
        self._tries: dict[int, int] = {}
        self._again: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        await self.application.initialize()
        self.username = self.bot.username or ""
        await self.publish_commands()
        if self.settings.telegram_webhook_url:
            secret = self.settings.telegram_webhook_secret
            await self.bot.set_webhook(
                url=self.settings.telegram_webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.bot.delete_webhook()
            assert self.application.updater is not None
            await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        await self.application.start()

    async def stop(self) -> None:
        for task in list(self._again):
            task.cancel()
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def publish_commands(self) -> None:
        """The command menu, in English (the default) and in Chinese."""
        for language in (None, "zh"):
            with use_locale(language or "en"):
                commands = [BotCommand(group, translate(self.registry.summary_of(group))[:256])
                            for group in self.registry.groups()]
            await self.bot.set_my_commands(commands, language_code=language)

    def check_secret(self, header: str | None) -> bool:
        secret = self.settings.telegram_webhook_secret
        return secret is None or (header is not None and secrets.compare_digest(
            header.encode(), secret.get_secret_value().encode()))

    async def feed(self, data: dict[str, Any]) -> bool:
        """One webhook update, processed before Telegram gets its answer: False when its handling failed for a
        reason that may pass (the database unreachable...), so Telegram is to deliver it again — nothing of it
        was recorded as seen. An update the library cannot read raises Unreadable."""
        try:
            update = Update.de_json(data, self.bot)
            _check(update)
        except Exception as exc:  # whatever shape defeats the library's reading: not an update it can handle
            raise Unreadable(f"{type(exc).__name__}: {exc}"[:200]) from None
        try:
            await self.application.process_update(update)
        except (TypeError, AttributeError, KeyError, ValueError) as exc:  # the library's bookkeeping tripped
            raise Unreadable(f"{type(exc).__name__}: {exc}"[:200]) from None  # over the update's shape
        if id(update) in self._failed:
            self._failed.discard(id(update))
            return False
        return True

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """What handling an update raised (the one place it is logged): a failure that may pass leaves the
        update to come again — redelivered by Telegram after a 5xx answer (webhook), or handled again after a
        wait (polling: the library has already confirmed it to Telegram) — and a bug is logged with its
        traceback, once."""
        exc = context.error
        update_id = getattr(update, "update_id", None)
        if exc is None or not isinstance(update, Update) or not transient(exc):
            log.error("telegram update %s failed", update_id, exc_info=exc)
            if isinstance(update, Update):
                self._handled(update)
            return
        if self.settings.telegram_webhook_url:
            log.warning("telegram update %s not handled (%s); Telegram is to deliver it again", update_id,
                        failure_reason(exc))
            self._failed.add(id(update))
            return
        tries = self._tries.get(update.update_id, 0)
        if tries >= len(AGAIN_AFTER):
            self._tries.pop(update.update_id, None)
            log.error("telegram update %s not handled after %s tries (%s); given up", update_id, tries + 1,
                      failure_reason(exc))
            return
        self._tries[update.update_id] = tries + 1
        log.warning("telegram update %s not handled (%s); handled again in %ss", update_id, failure_reason(exc),
                    AGAIN_AFTER[tries])
        task = asyncio.ensure_future(self._handle_again(update, AGAIN_AFTER[tries]))
        self._again.add(task)
        task.add_done_callback(self._again.discard)

    async def _handle_again(self, update: Update, wait: float) -> None:
        await asyncio.sleep(wait)
        await self.application.update_queue.put(update)

    # --- plumbing ----------------------------------------------------------------------
    async def db(self, fn: Any, *args: Any) -> Any:
        # with the request's log context (run_in_executor alone would not carry it to the thread)
        return await asyncio.get_running_loop().run_in_executor(self.executor, contextvars.copy_context().run, fn,
                                                                *args)

    def _first(self, key: str) -> bool:
        with self.app.uow() as uow:
            return first_delivery(uow, PLATFORM, key)

    def _seen(self, key: str) -> bool:
        with self.app.uow() as uow:
            return seen_delivery(uow, PLATFORM, key)

    def _known(self, uow: UnitOfWork, who: Who) -> Ctx | None:
        """The usual case, in one read: a linked account, in private or in its own department's group."""
        known = acting(uow, PLATFORM, str(who.user_id), org=None if who.private else (PLATFORM, str(who.chat_id)))
        if known is None:
            return None
        return Ctx(self.app.services, known.speaking(normalize_locale(who.language)), PLATFORM)

    def _context(self, who: Who) -> Ctx | Reply:
        """The acting member; in a new group the first user is enrolled as admin."""
        with self.app.uow() as uow:
            ctx = self._known(uow, who)
        return ctx if ctx is not None else self._enrol(who)

    def _enrol(self, who: Who) -> Ctx | Reply:
        """Whoever `_known` did not find: the first user of a new group (enrolled, where the operator allows
        it), or a friendly refusal. A group that is no department stays unknown: nothing is stored."""
        with self.app.uow() as uow:
            member = member_by_account(uow, PLATFORM, str(who.user_id))
            org_locale = self.settings.locale
            if not who.private:
                org = find_org(uow, PLATFORM, str(who.chat_id))
                if org is None:
                    services = self.app.services
                    if member is not None or not may_open(PLATFORM, str(who.user_id), services.admins,
                                                          services.open_enrolment):
                        return self._stranger(who, member)
                    org = ensure_org(uow, PLATFORM, str(who.chat_id), who.chat_title or str(who.chat_id),
                                     self.settings.timezone, self.settings.locale)
                    uow.commit()
                org_locale = org.locale
                if member is None:
                    language = None if self.settings.language_chosen else first_language(who.language, who.name)
                    resolved = resolve_member(uow, org, PLATFORM, ACCOUNTS, str(who.user_id), who.name,
                                              self.app.services.admins, language)
                    member = resolved.member
                    if resolved.created_first:
                        self._welcome.add(who.user_id)
                elif member.org_id != org.id:
                    with use_locale(member.locale or normalize_locale(who.language) or org.locale):
                        return error(_("You belong to another department; this group is not yours."))
            if member is None:
                with use_locale(normalize_locale(who.language) or org_locale):
                    if left_account(uow, PLATFORM, str(who.user_id)) is not None:
                        return error(translate(LEFT_NOTICE))
                    return error(_("You are not a member yet. Ask an admin for an invite code (/team invite) "
                                   "and send /start CODE to me in a private chat."))
            enrolled = acting(uow, PLATFORM, str(who.user_id))
        assert enrolled is not None
        return Ctx(self.app.services, enrolled.speaking(normalize_locale(who.language)), PLATFORM)

    def _stranger(self, who: Who, member: Member | None = None) -> Reply:
        """What someone in a group that is no department hears: once within STRANGER_QUIET, then nothing.
        A member of another department hears how an admin adds the group."""
        if not self._may_tell(who, 1):
            return QUIET
        with use_locale((member.locale if member is not None else None) or normalize_locale(who.language)
                        or self.settings.locale):
            if member is not None:
                return error(_("This group is not part of your department. An admin or manager of your department "
                               "can add it by sending /enrol here."))
            return error(_("This group is not a bizbot department, and new departments are opened only by "
                           "whoever runs this bizbot. If you were given a code, send /enrol CODE here."))

    def _may_tell(self, who: Who, times: int) -> bool:
        """Whether this person in this chat may be answered again (at most `times` within STRANGER_QUIET);
        remembered in memory only, and forgotten when the window passes."""
        now = self.app.clock.now()
        key = (who.chat_id, who.user_id)
        until, told = self._told.get(key, (now, 0))
        if until <= now:
            told = 0
        if told >= times:
            return False
        if len(self._told) >= MAX_REMEMBERED:
            self._told = {k: v for k, v in self._told.items() if v[0] > now}
            if len(self._told) >= MAX_REMEMBERED:
                self._told.clear()
        self._told[key] = (now + STRANGER_QUIET if told == 0 else until, told + 1)
        return True

    def _command_job(self, who: Who, line: str | None, once: str
                     ) -> tuple[Ctx | Reply, Reply | None, list[render.Message] | None] | None:
        """One trip to the database thread per command: the update recorded as seen (None when it was
        seen before), who acts, the answer, and its messages when they go straight back to this chat.

        A command with arguments runs in the session that records the update, so the record and the
        command's changes are committed together: a failure before that commit leaves the update unrecorded
        and Telegram's redelivery runs it, and once committed a redelivery is skipped. Without arguments (a
        conversation, a menu) or for a refusal, the update is recorded when it has been answered (on_update)."""
        reply = None
        with self.app.uow() as uow:
            known = self._known(uow, who)
            # a command ends any conversation that was half-way
            half_way = known is not None and dialogs.is_open(uow, PLATFORM, who.dialog_key)
            runs_here = known is not None and line is not None
            if runs_here:
                if not uow.carry(lambda u: record_delivery(u, PLATFORM, once)):
                    return None
            elif seen_delivery(uow, PLATFORM, once):
                return None
            if half_way:
                uow.carry(lambda u: dialogs.discard(u, PLATFORM, who.dialog_key))
            if runs_here:
                reply = self.registry.dispatch(known.within(uow), line)
            uow.commit()  # what is still carried: the record, when the command itself committed nothing
        # an account not known yet is enrolled in units of work of its own
        ctx = known if known is not None else self._enrol(who)
        if isinstance(ctx, Reply):
            return ctx, None, None
        if line is None:
            return ctx, None, None
        if reply is None:
            with self.app.uow() as uow:
                if not uow.carry(lambda u: record_delivery(u, PLATFORM, once)):
                    return None
                reply = self.registry.dispatch(ctx.within(uow), line)
                uow.commit()
        if (reply.private and not who.private) or who.user_id in self._welcome:
            return ctx, reply, None
        return ctx, reply, self._messages(reply, ctx.actor.locale, line)

    async def post(self, chat_id: int, messages: list[render.Message], reply_to: int | None = None,
                   reply: Reply | None = None) -> Message | None:
        """Send the messages of a reply; if Telegram will not take them now (flood control, a network or
        server failure) and the `reply` is given, it goes to the outbox for the dispatcher to deliver."""
        last = None
        for message in messages:
            try:
                last = await self.bot.send_message(
                    chat_id, message.text, parse_mode=ParseMode.HTML, reply_markup=self._markup(message.keyboard),
                    reply_to_message_id=reply_to, disable_web_page_preview=True,
                )
            except TelegramError as exc:
                if reply is None or not _refused_for_now(exc):
                    raise
                await self.db(self._keep, chat_id, reply, exc)
                return None
        return last

    def _keep(self, chat_id: int, reply: Reply, exc: TelegramError) -> None:
        """A reply Telegram did not take: queued for this chat, for the member it is to (a private chat) or
        the department whose group it is; lost, with a line in the log, when it is neither."""
        with self.app.uow() as uow:
            member = member_by_account(uow, PLATFORM, str(chat_id)) if chat_id > 0 else None
            org = None if member is not None else find_org(uow, PLATFORM, str(chat_id))
            if member is None and org is None:
                log.warning("telegram answer to chat %s not taken (%s) and not kept: nobody known there", chat_id,
                            failure_reason(exc))
                return
            keep_reply(uow, reply, org_id=member.org_id if member is not None else org.id, platform=PLATFORM,
                       recipient_id=member.id if member is not None else None, chat=str(chat_id),
                       retry_after=_retry_after(exc), reason=failure_reason(exc))
            uow.commit()

    def _encode(self, button: Button) -> str:
        """Callback data ≤ 64 bytes: the command itself, or a token for it kept in the database."""
        kind = "d" if button.decision else "c"
        data = f"{kind}:{button.command}"
        if render.fits(data):
            return data
        token = secrets.token_urlsafe(12)
        with self.app.uow() as uow:
            dialogs.put(uow, PLATFORM, f"btn:{token}", {"line": button.command, "decision": button.decision},
                        TOKEN_TTL)
        return f"t:{token}"

    def _page_data(self, line: str) -> Any:
        def data(page: int) -> str:
            direct = f"p:{page}:{line}"
            if render.fits(direct):
                return direct
            token = secrets.token_urlsafe(12)
            with self.app.uow() as uow:
                dialogs.put(uow, PLATFORM, f"btn:{token}", {"line": line}, TOKEN_TTL)
            return f"p:{page}:t:{token}"

        return data

    def _messages(self, reply: Reply, locale: str, line: str | None, page: int = 0) -> list[render.Message]:
        with use_locale(locale):
            return render.render(reply, self._encode, page, self._page_data(line) if line else None)

    @staticmethod
    def _markup(keyboard: list[list[render.Key]]) -> InlineKeyboardMarkup | None:
        if not keyboard:
            return None
        return InlineKeyboardMarkup([[InlineKeyboardButton(k.text, callback_data=k.data, url=k.url)
                                      for k in row] for row in keyboard if row])

    async def send(self, chat_id: int, reply: Reply, locale: str, line: str | None = None,
                   reply_to: int | None = None) -> Message | None:
        return await self.post(chat_id, await self.db(self._messages, reply, locale, line), reply_to, reply)

    async def answer(self, ctx: Ctx, who: Who, reply: Reply, line: str | None = None,
                     reply_to: int | None = None) -> None:
        """Private replies go to the private chat; the group gets a short pointer."""
        if reply.private and not who.private:
            try:
                await self.send(who.user_id, reply, ctx.actor.locale, line)
            except (Forbidden, BadRequest):
                with use_locale(ctx.actor.locale):
                    pointer = _("{name}, open a private chat with me first: https://t.me/{bot}?start=hi").format(
                        name=who.name, bot=self.username)
                await self.send(who.chat_id, Reply(text=pointer), ctx.actor.locale, reply_to=reply_to)
                return
            with use_locale(ctx.actor.locale):
                pointer = _("{name}, I sent you the details in a private chat.").format(name=who.name)
            await self.send(who.chat_id, Reply(text=pointer), ctx.actor.locale, reply_to=reply_to)
            return
        if who.user_id in self._welcome:
            self._welcome.discard(who.user_id)
            with use_locale(ctx.actor.locale):
                reply = replace(reply, text="\n".join([first_welcome(ctx.actor.name), reply.text]).strip())
        await self.send(who.chat_id, reply, ctx.actor.locale, line, reply_to)

    # --- updates -----------------------------------------------------------------------
    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update, once: a retried or replayed update_id is skipped, across restarts. An update is
        recorded as seen once it has been handled — a command in the same trip to the database thread that
        runs it — so one whose handling failed for a reason that may pass (on_error) is not, and runs when it
        comes again."""
        once = f"update:{self.bot.id}:{update.update_id}"
        try:
            message = update.message
            if (update.callback_query is None and update.my_chat_member is None and message is not None
                    and message.text and message.from_user):
                if await self.on_message(message, once):
                    self._handled(update)
                    return
            elif update.callback_query is None and update.my_chat_member is None:
                return  # nothing bizbot answers (a photo, someone joining): nothing to remember either
            elif await self.db(self._seen, once):
                return
            elif update.callback_query is not None:
                await self.on_callback(update.callback_query)
            elif update.my_chat_member is not None:
                await self.on_membership(update)
        except TelegramError as exc:
            log.warning("telegram call failed while handling update %s: %s", update.update_id, exc)
        await self.db(self._first, once)
        self._handled(update)

    def _handled(self, update: Update) -> None:
        if self._tries:
            self._tries.pop(update.update_id, None)

    async def on_membership(self, update: Update) -> None:
        """Added to a group: say hello, and what comes next there (with open enrolment the group becomes a
        department; a group that is no department is told once how one is opened, and nothing is stored)."""
        change = update.my_chat_member
        assert change is not None
        if change.chat.type in ("group", "supergroup") and change.new_chat_member.status in ("member",
                                                                                            "administrator"):
            hello = await self.db(self._hello, who_of(change.from_user, change.chat))
            if hello is not QUIET:
                await self.send(change.chat.id, hello, self.settings.locale)

    def _hello(self, who: Who) -> Reply:
        with self.app.uow() as uow:
            org = find_org(uow, PLATFORM, str(who.chat_id))
            adder = member_by_account(uow, PLATFORM, str(who.user_id))
            services = self.app.services
            if org is None and services.open_enrolment:
                org = ensure_org(uow, PLATFORM, str(who.chat_id), who.chat_title or str(who.chat_id),
                                 self.settings.timezone, self.settings.locale)
                uow.commit()
                with use_locale(normalize_locale(who.language) or self.settings.locale):
                    return Reply(text=_("Hello! I am bizbot. The first person here to use a command becomes this "
                                        "department's admin. Type /help to begin."))
            if org is None and adder is not None and adder.role_set & TEAM_ADMIN_ROLES:
                with use_locale(adder.locale or normalize_locale(who.language) or self.settings.locale):
                    return Reply(text=_("Hello! I am bizbot. {name}, send /enrol here to add this group to your "
                                        "department.").format(name=who.name))
            if org is None and not may_open(PLATFORM, str(who.user_id), services.admins, False):
                return self._stranger(who, adder)
        with use_locale(normalize_locale(who.language) or self.settings.locale):
            return Reply(text=_("Hello! I am bizbot. Type /help to begin."))

    async def on_message(self, message: Message, once: str) -> bool:
        """A command runs (the update is recorded as seen in the same trip to the database thread); any
        other text may answer an open conversation. True when the update is done with (recorded as seen, or
        seen before, or not for this bot); False when it is to be recorded now that it has been handled."""
        assert message.from_user is not None and message.text is not None
        who = who_of(message.from_user, message.chat)
        # as typed lines are cleaned (conversation answers and codes too); ／lead, the full-width slash of a
        # Chinese input method, is a command although Telegram does not see one
        text = clean_line(message.text)
        if text.startswith("/"):
            head, _sep, rest = text.partition(" ")
            name, _at, target = head[1:].partition("@")
            if target and target.lower() != self.username.lower():
                return True
            name = name.lower()
            if name == "enrol" or (name == "start" and not who.private and rest.strip()):
                return await self.on_enrol(who, rest.strip(), message.message_id, once)
            if not (name == "start" and who.private) and name != "cancel":
                return await self.on_command(who, name, rest, message.message_id, once)
        if await self.db(self._seen, once):
            return True
        if text.startswith("/"):
            if name == "start":
                await self.on_start(who, rest.strip(), message.message_id)
            else:
                await self.db(self._drop, who.dialog_key)
                with use_locale(normalize_locale(who.language) or self.settings.locale):
                    await self.send(who.chat_id, Reply(text=_("Cancelled.")), self.settings.locale)
            return False
        form = await self.db(self._load, who.dialog_key)
        if form is None:
            if who.private:
                with use_locale(normalize_locale(who.language) or self.settings.locale):
                    hint = _("Commands start with /. Type /help for the list.")
                await self.send(who.chat_id, Reply(text=hint), self.settings.locale)
            return False
        ctx = await self.db(self._context, who)
        if isinstance(ctx, Reply):
            return False
        await self.on_answer(ctx, who, form, text.strip(), chosen=False)
        return False

    async def on_command(self, who: Who, name: str, rest: str, message_id: int, once: str) -> bool:
        """A typed command; True when its update was recorded with it (a command with arguments) or seen
        before."""
        form = self.registry.form_for(name, rest)
        line = f"/{name} {rest}" if rest.strip() and form is None else None
        job = await self.db(self._command_job, who, line, once)
        if job is None:
            return True
        ctx, reply, ready = job
        if ctx is QUIET:
            return False
        if isinstance(ctx, Reply):
            await self.send(who.chat_id, ctx, self.settings.locale, reply_to=message_id)
        elif form is not None:  # `/holiday add` alone: a conversation asks for what it needs
            refusal = await self.db(precheck, ctx, form, {})
            if refusal:
                await self.send(who.chat_id, error(refusal), ctx.actor.locale, reply_to=message_id)
            else:
                await self.start_form(ctx, who, form, {}, None)
        elif reply is None:
            await self.without_arguments(ctx, who, name, message_id)
        elif ready is not None:
            await self.post(who.chat_id, ready, message_id, reply)
        else:
            await self.answer(ctx, who, reply, line, message_id)
        return line is not None and not isinstance(ctx, Reply)

    async def on_start(self, who: Who, code: str, message_id: int) -> None:
        """`/start CODE` links this Telegram account to the invited member; `/start` says hello."""
        locale = normalize_locale(who.language) or self.settings.locale
        if code and code.lower() != "hi":
            def redeem() -> str:
                with self.app.uow() as uow:
                    try:
                        member = redeem_invite(uow, code, PLATFORM, ACCOUNTS, str(who.user_id))
                    except DomainError as exc:
                        with use_locale(locale):
                            return "⚠ " + translate_error(exc)
                    with use_locale(member.locale or locale):
                        return _("Welcome, {name}! This Telegram account now acts as {name}. "
                                 "Type /help to begin.").format(name=member.name)

            await self.send(who.chat_id, Reply(text=await self.db(redeem)), locale)
            return
        ctx = await self.db(self._context, who)
        if isinstance(ctx, Reply):
            if ctx is not QUIET:
                await self.send(who.chat_id, ctx, locale)
            return
        reply = await self.db(self.registry.dispatch, ctx, "/help")
        await self.answer(ctx, who, reply, reply_to=message_id)

    async def on_enrol(self, who: Who, code: str, message_id: int, once: str) -> bool:
        """`/enrol CODE` in a group (or `/start CODE`, as Telegram's startgroup link sends it): a new department,
        or the group joined to one; `/enrol` alone, from a department's admin, joins the group to theirs.
        True when the update was seen before (it is recorded once answered)."""
        if await self.db(self._seen, once):
            return True
        ctx, reply = await self.db(self._enrolment, who, code)
        if reply is QUIET:
            return False
        if ctx is None:
            await self.send(who.chat_id, reply, self.settings.locale, reply_to=message_id)
        else:
            await self.answer(ctx, who, reply, reply_to=message_id)
        return False

    def _enrolment(self, who: Who, code: str) -> tuple[Ctx | None, Reply]:
        locale = normalize_locale(who.language) or self.settings.locale
        if who.private:
            with use_locale(locale):
                return None, error(_("Add me to the group first, then send /enrol there (with the code, if you "
                                     "were given one)."))
        place = Place(PLATFORM, str(who.chat_id), who.chat_title or str(who.chat_id))
        with self.app.uow() as uow:
            member = member_by_account(uow, PLATFORM, str(who.user_id))
            if code:
                if not self._may_tell(who, CODE_TRIES):
                    return None, QUIET
                try:
                    account = Account(PLATFORM, ACCOUNTS, str(who.user_id), who.name)
                    done = redeem_enrolment(uow, code, place, account, self.settings.timezone, self.settings.locale)
                except DomainError as exc:
                    with use_locale((member.locale if member else None) or locale):
                        return None, error(translate_error(exc))
                self._told.pop((who.chat_id, who.user_id), None)
                with use_locale((done.member.locale if done.member else None) or locale):
                    if done.opened:
                        return None, Reply(text=_("Welcome, {name}! This chat is now a bizbot department, and you are "
                                                  "its admin and manager. Type /help to begin.").format(
                            name=done.member.name if done.member else who.name))
                    if done.member is None:
                        return None, Reply(text=_("This group now belongs to the department {department}. To act "
                                                  "here, ask one of its admins for an invite code (/team invite).")
                                           .format(department=done.department))
                    return None, Reply(text=_("This group now belongs to the department {department}. Its members "
                                              "can use bizbot here.").format(department=done.department))
            admin = member is not None and bool(member.role_set & TEAM_ADMIN_ROLES)
            if admin and find_org(uow, place.platform, place.external_id) is None:
                actor = actor_for(uow, member)
                try:
                    org = join_place(uow, actor, place)
                except DomainError as exc:
                    with use_locale(member.locale or locale):
                        return None, error(translate_error(exc))
                with use_locale(member.locale or locale):
                    return None, Reply(text=_("This group now belongs to the department {department}. Its members "
                                              "can use bizbot here.").format(department=org.name))
        ctx = self._context(who)  # no code: as any command here (a department's member, or a stranger told so)
        if isinstance(ctx, Reply):
            return None, ctx
        return ctx, self.registry.dispatch(ctx, "/enrol")

    async def without_arguments(self, ctx: Ctx, who: Who, group: str, reply_to: int | None) -> None:
        """A group offers its sub-commands; a command that needs answers starts a conversation."""
        if group not in self.registry.groups():
            reply = await self.db(self.registry.dispatch, ctx, f"/{group}")
            await self.answer(ctx, who, reply, reply_to=reply_to)
            return
        root = self.registry.commands.get(group)
        if root is None:
            with use_locale(ctx.actor.locale):
                menu = forms.menu(self.registry, group)
            await self.send(who.chat_id, menu, ctx.actor.locale, reply_to=reply_to)
            return
        if root.missing({}):
            await self.start_form(ctx, who, root, {}, None)
            return
        reply = await self.db(self.registry.dispatch, ctx, f"/{group}")
        await self.answer(ctx, who, reply, f"/{group}", reply_to)

    # --- conversations -----------------------------------------------------------------
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
        form = {"cmd": cmd.name, "data": {k: str(v) for k, v in data.items()}, "skipped": [], "field": None,
                "origin": origin}
        await self.ask(ctx, who, form)

    async def ask(self, ctx: Ctx, who: Who, form: dict[str, Any], problem: str | None = None,
                  options: list[tuple[str, str]] | None = None) -> None:
        cmd = self.registry.commands[form["cmd"]]
        q = forms.next_question(cmd, form["data"], set(form["skipped"]))
        if q is None:
            await self.finish(ctx, who, form)
            return
        form["field"] = q.field
        await self.db(self._save, who.dialog_key, form)
        with use_locale(ctx.actor.locale):
            lines = [f"⚠️ {render.escape(problem)}"] if problem else []
            lines.append(f"<b>/{render.escape(cmd.name)} · {render.escape(q.label)}</b>")
            if q.hint:
                lines.append(render.escape(q.hint))
            if q.kind == "date":
                lines.append(render.escape(_("Type a date: tomorrow, next friday, 下周三, 12月1日 or 2026-12-01.")))
            elif q.kind in ("customer", "member"):
                lines.append(render.escape(_("Type part of the name, or choose below.")))
            if not who.private:
                lines.append(f'<a href="tg://user?id={who.user_id}">{render.escape(who.name)}</a>')
            choices = list(q.choices) if q.kind == "choice" else options
            if choices is None and q.kind in ("customer", "member"):
                choices = await self.db(forms.search, ctx, q.kind, "", 6)
            rows = [[InlineKeyboardButton(label[:64], callback_data=f"f:{value}")
                     for value, label in (choices or [])[i:i + 2] if render.fits(f"f:{value}")]
                    for i in range(0, len(choices or []), 2)]
            controls = [InlineKeyboardButton(_("Cancel"), callback_data="x")]
            if not q.required:
                controls.insert(0, InlineKeyboardButton(_("Skip"), callback_data="s"))
        rows.append(controls)
        markup: Any = InlineKeyboardMarkup([r for r in rows if r])
        if not who.private and q.kind not in ("choice",) and not choices:
            markup = ForceReply(selective=True)
        try:
            await self.bot.send_message(who.chat_id, "\n".join(lines), parse_mode=ParseMode.HTML,
                                        reply_markup=markup)
        except TelegramError as exc:
            if not _refused_for_now(exc):
                raise
            # later, as plain text without its buttons: the answer can be typed all the same
            plain = html.unescape(re.sub(r"<[^>]*>", "", "\n".join(lines)))
            await self.db(self._keep, who.chat_id, Reply(text=plain), exc)

    async def on_answer(self, ctx: Ctx, who: Who, form: dict[str, Any], value: str, chosen: bool) -> None:
        """One answer: checked on its own; a problem re-asks the same question with the reason."""
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
                find_customer(uow, ctx.actor, text, READ)  # a customer they may read; the command decides the rest
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
            await self.settle(origin, outcome, ctx)
        await self.answer(ctx, who, outcome, f"/{cmd.name}")

    # --- buttons -----------------------------------------------------------------------
    async def on_callback(self, query: CallbackQuery) -> None:
        """Every callback query is answered, once, with a short notice when useful."""
        notice, alert = None, False
        try:
            notice, alert = await self._callback(query)
        except Exception:
            # the spinner stops all the same; what went wrong is the error's to tell, not this answer's
            try:
                await query.answer()
            except TelegramError as exc:
                log.info("could not answer callback query: %s", exc)
            raise
        await query.answer(text=notice[:200] if notice else None, show_alert=alert)

    async def _callback(self, query: CallbackQuery) -> tuple[str | None, bool]:
        message = query.message if isinstance(query.message, Message) else None
        chat = message.chat if message else None
        if chat is None:
            return None, False
        who = who_of(query.from_user, chat)
        ctx = await self.db(self._context, who)
        if isinstance(ctx, Reply):
            return (None, False) if ctx is QUIET else (ctx.text, True)
        data = query.data or ""
        kind, _sep, rest = data.partition(":")
        if kind in ("c", "d", "t"):
            line, decision = rest, kind == "d"
            if kind == "t":
                stored = await self.db(self._load, f"btn:{rest}")
                if stored is None:
                    with use_locale(ctx.actor.locale):
                        return _("This button has expired."), True
                line, decision = stored["line"], bool(stored.get("decision"))
            return await self.press(ctx, who, message, line, decision)
        if kind == "p":
            page, _sep, line = rest.partition(":")
            if line.startswith("t:"):
                stored = await self.db(self._load, f"btn:{line[2:]}")
                line = stored["line"] if stored else ""
            reply = await self.db(self.registry.dispatch, ctx, line)
            pages = await self.db(self._messages, reply, ctx.actor.locale, line, int(page))
            await message.edit_text(pages[0].text, parse_mode=ParseMode.HTML,
                                    reply_markup=self._markup(pages[-1].keyboard))
            return None, False
        form = await self.db(self._load, who.dialog_key)
        if form is None:
            with use_locale(ctx.actor.locale):
                return _("This conversation has timed out; start again with the command."), True
        if kind == "x":
            await self.db(self._drop, who.dialog_key)
            with use_locale(ctx.actor.locale):
                await message.edit_text(message.text_html + "\n\n" + render.escape(_("Cancelled.")),
                                        parse_mode=ParseMode.HTML)
            return None, False
        if kind == "s" and form.get("field"):
            form["skipped"].append(form["field"])
            await self.ask(ctx, who, form)
            return None, False
        if kind == "f":
            await self.on_answer(ctx, who, form, rest, chosen=True)
        return None, False

    async def press(self, ctx: Ctx, who: Who, message: Message, line: str, decision: bool
                    ) -> tuple[str | None, bool]:
        try:
            cmd, data = self.registry.fields(line)
        except DomainError as exc:
            with use_locale(ctx.actor.locale):
                return translate_error(exc), True
        origin = {"chat_id": message.chat.id, "message_id": message.message_id,
                  "text": message.text_html} if decision else None
        if cmd.missing(data):
            refusal = await self.db(precheck, ctx, cmd, data)
            if refusal:
                return refusal, True
            await self.db(self._drop, who.dialog_key)
            await self.start_form(ctx, who, cmd, data, origin)
            return None, False
        reply = await self.db(self.registry.dispatch, ctx, line)
        if decision:
            if reply.error:
                return reply.text, True
            await self.settle(origin or {}, reply, ctx)
            return reply.text, False
        await self.answer(ctx, who, reply, line)
        return None, False

    async def settle(self, origin: dict[str, Any], reply: Reply, ctx: Ctx) -> None:
        """A decision shows on the message it was made on, whose buttons go away."""
        text = f"{origin.get('text') or ''}\n\n✓ {render.escape(reply.text)} — {render.escape(ctx.actor.name)}"
        try:
            await self.bot.edit_message_text(text[:render.MAX_TEXT], chat_id=origin["chat_id"],
                                             message_id=origin["message_id"], parse_mode=ParseMode.HTML,
                                             reply_markup=None)
        except BadRequest as exc:
            log.info("could not edit the decided message: %s", exc)


def _check(update: Update) -> None:
    """TypeError if the parts of an update bizbot reads are not what Telegram sends (the library reads a
    number or a string wherever one is due without looking)."""
    message, query = update.effective_message, update.callback_query
    for value in (getattr(update.effective_user, "id", 0), getattr(update.effective_chat, "id", 0),
                  getattr(message, "message_id", 0)):
        if type(value) is not int:
            raise TypeError(f"an id that is a {type(value).__name__}")
    for value in (getattr(message, "text", None), getattr(query, "data", None)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"a text that is a {type(value).__name__}")


def _refused_for_now(exc: TelegramError) -> bool:
    """Telegram would take it later: flood control, a timeout, a network or server failure (not a refusal of
    the message itself, which BadRequest and Forbidden are)."""
    return isinstance(exc, RetryAfter) or (isinstance(exc, NetworkError) and not isinstance(exc, BadRequest))


def _retry_after(exc: TelegramError) -> float | None:
    """The seconds Telegram asked to wait (flood control), whichever form the library gives them in."""
    if not isinstance(exc, RetryAfter):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
