"""The Slack adapter: slash commands, buttons, modals, App Home and events, over slack-bolt's AsyncApp.

It translates both ways and nothing more: a payload becomes a `Ctx` and a command line (or form
fields) for the registry; a neutral `Reply` becomes Block Kit. Use cases run in a thread, off the
event loop; Slack is acknowledged within its 3 seconds even when that work is slow.
"""
from __future__ import annotations

import asyncio
import contextvars
import html
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import App
from bot.delivery import failure_reason
from bot.later import keep_reply
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.oauth import oauth_settings
from bot.slack.shape import payload_problem
from bot.transient import transient
from domain.delivery.inbound import first_delivery, record_delivery
from domain.kernel.errors import DomainError, Invalid
from domain.kernel.i18n import _, first_language, normalize_locale, translate, use_locale
from domain.kernel.logcontext import bound
from domain.team.handover import LEFT_NOTICE
from domain.team.members import (
    Account,
    Place,
    acting,
    ensure_org,
    find_org,
    link_identity,
    may_open,
    redeem_enrolment,
    redeem_invite,
    resolve_member,
)
from handlers import forms
from handlers.agenda import agenda_reply
from handlers.context import Ctx
from handlers.help import first_welcome
from handlers.registry import Command, precheck, translate_error
from handlers.replies import Reply, error

log = logging.getLogger(__name__)

PLATFORM = "slack"
ACK_BUDGET = 2.0
FORM_CALLBACK = "bizbot.form"
PAGE_ACTION = "bizbot.page"
FAILED_PROFILE_TTL = 300.0
LOCALE_TTL = 3600.0
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_MENTION = re.compile(r"<#([A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class SlackUser:
    team_id: str
    user_id: str


class Said(dict[str, Any]):
    """A reply as a Slack message body, remembering the reply and whom it answers: if Slack does not take
    it, the outbox does."""

    def __init__(self, body: dict[str, Any], reply: Reply, ctx: Ctx | None) -> None:
        super().__init__(body)
        self.reply = reply
        self.ctx = ctx


class SlackAdapter:
    def __init__(self, app: App, settings: Settings, executor: Executor) -> None:
        self.app = app
        self.settings = settings
        self.registry = app.registry
        # Use cases run here. On SQLite it has one thread: one writer never fights another for the lock.
        self.executor = executor
        self._profiles: dict[tuple[str, str], tuple[float, str | None, str | None]] = {}
        self._welcome: set[tuple[str, str]] = set()
        # work that goes on after Slack has its answer (see `later`), counted so shutdown can wait for it
        self._later: set[asyncio.Future[Any]] = set()
        self._idle = threading.Condition()
        self.bolt = build_bolt(settings, app)
        self._register()

    # --- plumbing ----------------------------------------------------------------------
    async def db(self, fn: Any, *args: Any) -> Any:
        # with the request's log context (run_in_executor alone would not carry it to the thread)
        return await asyncio.get_running_loop().run_in_executor(self.executor, contextvars.copy_context().run, fn,
                                                                *args)

    def later(self, work: Any, respond: Any = None, **extra: Any) -> None:
        """Go on with `work` after the listener returns. Bolt (process_before_response) sends Slack its
        HTTP answer only when the listener returns, so whatever may be slow runs here, after the ack;
        what `work` returns, or the error that stopped it, reaches the user through `respond`."""

        async def run() -> None:
            payload = await self._guard(work)
            if payload and respond is not None:
                await self._guard(self.say(respond, payload, **extra))

        task = asyncio.ensure_future(run())
        with self._idle:
            self._later.add(task)
        task.add_done_callback(self._done)

    async def say(self, respond: Any, message: dict[str, Any], **extra: Any) -> None:
        """Answer through the response URL. What Slack does not take (an error status, no answer) goes to the
        outbox as a direct message to the member, which the dispatcher retries, honouring Retry-After."""
        try:
            answer = await respond(**message, **extra)
            status = getattr(answer, "status_code", 200)  # a notice posted some other way answers nothing
            if status < 300:
                return
            reason = f"HTTP {status}"
            wait = (getattr(answer, "headers", None) or {}).get("Retry-After") if status == 429 else None
            retry_after = _seconds(wait)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            reason, retry_after = failure_reason(exc), None
        await self.keep(message, retry_after, reason)

    async def post(self, call: Awaitable[Any], message: Said, chat: str | None = None) -> None:
        """Send a message through the Web API at once (`call`: chat.postMessage, chat.postEphemeral,
        chat.update with `message`). What Slack does not take for now (a 429 after the client's own retries, a
        server error, no answer) goes to the outbox as `say`'s answers do: to `chat` (a channel it was posted
        in) or else as a direct message to the member. A refusal that will not pass (a channel not found) is
        raised."""
        try:
            await call
            return
        except SlackApiError as exc:
            response = exc.response
            status = int(getattr(response, "status_code", None) or getattr(response, "status", None) or 0)
            if status != 429 and status < 500:
                raise
            reason = f"HTTP {status}"
            headers = getattr(response, "headers", None) or {}
            retry_after = _seconds(headers.get("Retry-After")) if status == 429 else None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            reason, retry_after = failure_reason(exc), None
        await self.keep(message, retry_after, reason, chat)

    async def keep(self, message: dict[str, Any], retry_after: float | None, reason: str,
                   chat: str | None = None) -> None:
        """A message Slack did not take, kept in the outbox for the dispatcher; one to no member is logged."""
        if not isinstance(message, Said) or message.ctx is None:
            log.warning("slack answer not taken (%s) and not kept: it is to no member", reason)
            return
        await self.db(self._keep, message, retry_after, reason, chat)

    def _keep(self, message: Said, retry_after: float | None, reason: str, chat: str | None = None) -> None:
        assert message.ctx is not None
        actor = message.ctx.actor
        with self.app.uow() as uow:
            keep_reply(uow, message.reply, org_id=actor.org_id, platform=PLATFORM,
                       recipient_id=None if chat else actor.member_id, chat=chat,
                       retry_after=retry_after, reason=reason)
            uow.commit()

    def _done(self, task: asyncio.Future[Any]) -> None:
        with self._idle:
            self._later.discard(task)
            self._idle.notify_all()

    async def drain(self) -> None:
        """Wait for the work still going on after its ack (at shutdown)."""
        while self._later:
            await asyncio.gather(*list(self._later), return_exceptions=True)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """From another thread (a test harness driving the server): wait until no work is going on
        after its ack."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._later, timeout)

    async def within_budget(self, work: Any) -> tuple[bool, asyncio.Future[Any]]:
        """Start `work` (a coroutine, or a future already under way) and wait for it up to the ack budget:
        (finished in time, its task or future). One waiter and one timer (asyncio.wait builds a set, a counter
        and a callback per awaited task on top of these)."""
        task = asyncio.ensure_future(work)
        waiter = task.get_loop().create_future()

        def wake(_: object = None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        timer = task.get_loop().call_later(ACK_BUDGET, wake)
        task.add_done_callback(wake)
        try:
            await waiter
        finally:
            timer.cancel()
            task.remove_done_callback(wake)
        return task.done(), task

    async def profile(self, client: AsyncWebClient, user: SlackUser) -> tuple[str | None, str | None]:
        """The user's Slack locale and display name (users.info, cached for an hour)."""
        known = self._known_profile(user)
        if known is not None:
            return known
        key = (user.team_id, user.user_id)
        try:
            info = (await client.users_info(user=user.user_id, include_locale=True))["user"]
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user.user_id, exc.response.get("error"))
            # remembered for a while, so a failing lookup does not cost a Web API call on every command
            self._profiles[key] = (time.monotonic() + FAILED_PROFILE_TTL, None, None)
            return None, None
        profile = info.get("profile") or {}
        name = profile.get("display_name") or info.get("real_name") or info.get("name")
        locale = normalize_locale(info.get("locale"))
        self._profiles[key] = (time.monotonic() + LOCALE_TTL, locale, name)
        return locale, name

    def _known_profile(self, user: SlackUser) -> tuple[str | None, str | None] | None:
        """The cached locale and name, while they are fresh (None: users.info is to be asked)."""
        cached = self._profiles.get((user.team_id, user.user_id))
        return (cached[1], cached[2]) if cached and cached[0] > time.monotonic() else None

    async def context(self, client: AsyncWebClient, user: SlackUser) -> Ctx | Reply:
        """The acting member, enrolling the first user of a workspace; a stranger gets a friendly Reply."""
        locale, name = await self.profile(client, user)
        return await self.db(self._enrol, user, name, locale)

    def _run(self, user: SlackUser, name: str | None, locale: str | None, line: str, once: str | None = None
             ) -> tuple[Ctx | Reply, Reply] | None:
        """Who is acting and what their command answers, in one trip to the database thread and, for a
        member, in one unit of work; the command's trigger (`once`) is recorded in it, so a replay of the same
        request is None and runs nothing."""
        with self.app.uow() as uow:
            known = acting(uow, PLATFORM, user.user_id, user.team_id)
            if once is not None and not uow.carry(lambda u: record_delivery(u, PLATFORM, once)):
                return None
            if known is not None:
                ctx = Ctx(self.app.services, known.speaking(locale), PLATFORM)
                reply = self.registry.dispatch(ctx.within(uow), line)
                uow.commit()  # what is still carried: the trigger, when the command itself committed nothing
                return ctx, reply
            uow.commit()
        if line.split(maxsplit=1)[0].lower() == "/enrol" and len(line.split()) > 1:
            redeemed = self._redeem(user, name, locale, line.split(maxsplit=1)[1])
            return redeemed, redeemed
        ctx = self._enrol(user, name, locale)
        if isinstance(ctx, Reply):
            return ctx, ctx
        return ctx, self.registry.dispatch(ctx, line)

    def _redeem(self, user: SlackUser, name: str | None, slack_locale: str | None, code: str) -> Reply:
        """`/enrol CODE` from someone who is not a member here: a `/team invite` code links this Slack account
        to the invited member (of a department on any platform); the operator's code makes this workspace a
        department with them as its admin. A code that joins a group to a department does not work here: a
        department's messages go out with one workspace's token."""
        with self.app.uow() as uow:
            try:
                member = redeem_invite(uow, code, PLATFORM, user.team_id, user.user_id)
            except Invalid:  # no member's invite: an operator's code, or none
                member = None
            except DomainError as exc:
                with use_locale(slack_locale or self.settings.locale):
                    return error(translate_error(exc))
        if member is not None:
            with use_locale(member.locale or slack_locale or self.settings.locale):
                return Reply(text=_("Welcome, {name}! This Slack account now acts as {name}. "
                                    "Type /help to begin.").format(name=member.name), private=True)
        with self.app.uow() as uow:
            try:
                done = redeem_enrolment(uow, code, Place(PLATFORM, user.team_id, user.team_id),
                                        Account(PLATFORM, user.team_id, user.user_id, name or user.user_id),
                                        self.settings.timezone, self.settings.locale, joinable=False)
            except DomainError as exc:
                with use_locale(slack_locale or self.settings.locale):
                    return error(translate_error(exc))
        with use_locale(slack_locale or self.settings.locale):
            return Reply(text=_("Welcome, {name}! This chat is now a bizbot department, and you are its admin and "
                                "manager. Type /help to begin.").format(
                name=done.member.name if done.member else user.user_id), private=True)

    def _enrol(self, user: SlackUser, name: str | None, slack_locale: str | None) -> Ctx | Reply:
        """The member behind a Slack user: one query when known; enrolment when the workspace is new."""
        with self.app.uow() as uow:
            known = acting(uow, PLATFORM, user.user_id, user.team_id)
            if known is not None:
                return Ctx(self.app.services, known.speaking(slack_locale), PLATFORM)
            org = find_org(uow, PLATFORM, user.team_id)
            if org is None:
                services = self.app.services
                if not may_open(PLATFORM, user.user_id, services.admins, services.open_enrolment):
                    # nothing is stored for a workspace that is no department; told on every try (in the
                    # command's answer, which costs no message)
                    with use_locale(slack_locale or self.settings.locale):
                        return error(_("This workspace is not a bizbot department, and new departments are "
                                       "opened only by whoever runs this bizbot. If you were given a code, send "
                                       "/enrol CODE here."))
                org = ensure_org(uow, PLATFORM, user.team_id, user.team_id, self.settings.timezone,
                                 self.settings.locale)
                uow.commit()
            language = None if self.settings.language_chosen else first_language(slack_locale, name or "")
            resolved = resolve_member(uow, org, PLATFORM, user.team_id, user.user_id, name or user.user_id,
                                      self.app.services.admins, language)
            if resolved.member is None:
                with use_locale(slack_locale or org.locale):
                    if resolved.left:
                        return error(translate(LEFT_NOTICE))
                    return error(_("You are not a member of this department yet. Ask an admin or manager "
                                   "to add you with /team add @you role=sales."))
            enrolled = acting(uow, PLATFORM, user.user_id, user.team_id)
        assert enrolled is not None
        if resolved.created_first:
            self._welcome.add((user.team_id, user.user_id))
        return Ctx(self.app.services, enrolled.speaking(slack_locale), PLATFORM)

    # --- listeners ---------------------------------------------------------------------
    def _register(self) -> None:
        bolt = self.bolt
        # One listener for every command: Bolt tries its listeners in turn, each match costing a call, and
        # slash commands are the requests that come most.
        names = "|".join(re.escape(group) for group in self.registry.groups())
        bolt.command(re.compile(f"^/(?:{names})$"))(self.on_command)
        # an interaction bizbot cannot read is refused; a replayed one (the same signed request) runs nothing
        checked = [self.check_interaction]
        bolt.action(re.compile(r"^bizbot\.cmd\.\d+$"), middleware=checked)(self.on_button)
        bolt.action(PAGE_ACTION, middleware=checked)(self.on_page)
        bolt.view_submission(FORM_CALLBACK, middleware=checked)(self.on_form)
        bolt.view_closed(FORM_CALLBACK, middleware=checked)(self.on_form_closed)
        bolt.options(re.compile(r".*"), middleware=checked)(self.on_options)
        bolt.error(self.on_error)
        # events are what Slack retries and replays; commands and interactions are never redelivered
        once = [self.dedupe_events]
        bolt.event("app_home_opened", middleware=once)(self.on_home)
        bolt.event("app_mention", middleware=once)(self.on_mention)
        bolt.event("message", middleware=once)(self.on_message_event)

    async def dedupe_events(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """A retried or replayed event (same event_id) is acknowledged and not processed again."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await self.db(self._first, f"event:{event_id}"):
            return BoltResponse(status=200, body="")
        return await next()

    async def check_interaction(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """A click, a submission or a search without the fields bizbot reads is refused (400) in one line. One
        seen before (its trigger_id, which Slack makes new for each) is a replay of the same signed request:
        acknowledged quietly, not run again."""
        problem = payload_problem(body)
        if problem:
            log.warning("slack request refused: %s", problem)
            return BoltResponse(status=400, body="")
        once = _trigger(body)
        if once is not None and not await self.db(self._first, once):
            return BoltResponse(status=200, body="")
        return await next()

    def _first(self, key: str) -> bool:
        with self.app.uow() as uow:
            return first_delivery(uow, PLATFORM, key)

    async def on_error(self, error: Exception, body: Any) -> BoltResponse:
        """What a listener or middleware raised (the one place it is logged): a payload bizbot cannot read is
        refused (400) in one line; a failure that may pass (the database unreachable) is answered 503, so
        Slack retries an event; anything else is an incident, logged with its traceback."""
        problem = payload_problem(body) if isinstance(body, dict) else "the payload is not an object"
        if problem:
            log.warning("slack request refused: %s", problem)
            return BoltResponse(status=400, body="")
        if transient(error):
            log.warning("slack request not handled (%s)", failure_reason(error))
            return BoltResponse(status=503, body="")
        log.error("slack request failed", exc_info=error)
        return BoltResponse(status=500, body="")

    async def on_command(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """A slash command: with arguments it runs; without, it opens a form (or a menu of sub-commands). The
        same signed request again (a replay) is acknowledged quietly and runs nothing."""
        quick = self._quick(body)
        if quick is not None:
            await self._quick_command(ack, respond, *quick, _trigger(body))
            return
        in_time, work = await self.within_budget(self._guard(self._command(body, client)))
        if in_time:
            await ack(**work.result())
            return
        await ack(response_type="ephemeral", text="…")
        self.later(work, respond)

    def _quick(self, body: dict[str, Any]) -> tuple[SlackUser, str, str | None, str | None] | None:
        """A command whose one slow step can only be the database (the usual case): its arguments name no
        Slack user to look up, and the caller's profile is known. The user, the line and the profile, or None
        (the command then runs as a whole within the ack budget: its Slack calls may be slow too)."""
        text = body.get("text") or ""
        group = body["command"].lstrip("/")
        if not text.strip() or self.registry.form_for(group, text) is not None:
            return None
        line = _plain(f"/{group} {text}")
        user = SlackUser(body["team_id"], body["user_id"])
        known = self._known_profile(user)
        if "<@" in line or known is None:
            return None
        return user, line, *known

    async def _quick_command(self, ack: Any, respond: Any, user: SlackUser, line: str, locale: str | None,
                             name: str | None, once: str | None) -> None:
        """Run it with only the database's part waited for within the ack budget (no task of its own)."""
        in_time, work = await self.within_budget(
            asyncio.get_running_loop().run_in_executor(self.executor, contextvars.copy_context().run, self._run,
                                                       user, name, locale, line, once))
        if not in_time:  # it goes on; its answer follows through the response URL
            await ack(response_type="ephemeral", text="…")
            self.later(self._answered(work, user, line), respond)
            return
        try:
            ran = work.result()
        except Exception:
            await ack(**_incident())
            return
        await ack(**(self._answer(*ran, user, line) if ran is not None else {}))

    async def _answered(self, result: asyncio.Future[Any], user: SlackUser, line: str) -> dict[str, Any]:
        ran = await result
        return self._answer(*ran, user, line) if ran is not None else {}

    def _answer(self, ctx: Ctx | Reply, reply: Reply, user: SlackUser, line: str) -> dict[str, Any]:
        """A command's answer: its reply, or for a stranger the one friendly message on how to be added."""
        if isinstance(ctx, Reply):
            return self.message(ctx)
        return self.message(reply, line=line, welcome=self._welcomed(user), ctx=ctx)

    async def _command(self, body: dict[str, Any], client: AsyncWebClient) -> dict[str, Any]:
        user = SlackUser(body["team_id"], body["user_id"])
        group = body["command"].lstrip("/")
        text = body.get("text") or ""
        form = self.registry.form_for(group, text)
        once = _trigger(body)
        if not text.strip() or form is not None:
            if once is not None and not await self.db(self._first, once):
                return {}
            ctx = await self.context(client, user)
            if isinstance(ctx, Reply):
                return self.message(ctx)
            if form is not None:  # `/holiday add` alone: the form asks for what it needs
                return await self._form(ctx, form, body, client)
            return await self._without_arguments(ctx, group, body, client, self._welcomed(user))
        line, links = await self._unmention(client, user.team_id, f"/{group} {text}")
        locale, name = await self.profile(client, user)
        ran = await self.db(self._run, user, name, locale, line, once)
        if ran is None:
            return {}
        ctx, reply = ran
        if isinstance(ctx, Ctx) and links and group == "team" and not reply.error:
            reply = await self.db(self._link_accounts, ctx, user.team_id, links, reply)
        return self._answer(ctx, reply, user, line)

    async def _without_arguments(
        self, ctx: Ctx, group: str, body: dict[str, Any], client: AsyncWebClient, welcome: bool
    ) -> dict[str, Any]:
        root = self.registry.commands.get(group)
        if root is None:
            with use_locale(ctx.actor.locale):
                menu = replace(forms.menu(self.registry, group), private=True)
            return self.message(menu, ctx=ctx, welcome=welcome)
        if root.missing({}):
            await self.open_form(client, body["trigger_id"], ctx, root, {}, body.get("channel_id"))
            return {}
        reply = await self.db(self.registry.dispatch, ctx, f"/{group}")
        return self.message(reply, line=f"/{group}", ctx=ctx, welcome=welcome)

    async def _form(self, ctx: Ctx, cmd: Command, body: dict[str, Any], client: AsyncWebClient) -> dict[str, Any]:
        refusal = await self.db(precheck, ctx, cmd, {})
        if refusal:
            return self.message(error(refusal), ctx=ctx)
        await self.open_form(client, body["trigger_id"], ctx, cmd, {}, body.get("channel_id"))
        return {}

    def _welcomed(self, user: SlackUser) -> bool:
        """Whether this user was just enrolled as the first member (said once)."""
        first = (user.team_id, user.user_id) in self._welcome
        self._welcome.discard((user.team_id, user.user_id))
        return first

    async def _unmention(self, client: AsyncWebClient, team_id: str, line: str) -> tuple[str, dict[str, str]]:
        """Turn `<@U123|alice>` (or `<@U123>`) into a name, and remember which account was meant;
        a channel mention `<#C123|sales>` becomes the channel's id, which is what bizbot posts to."""
        line = _plain(line)
        names: dict[str, str] = {}
        for user_id, label in _MENTION.findall(line):
            if not label and user_id not in names:
                _locale, label = await self.profile(client, SlackUser(team_id, user_id))
            names.setdefault(user_id, (label or user_id).strip())

        def name(m: re.Match[str]) -> str:
            label = names[m.group(1)]
            return f'"{label}"' if " " in label else label

        return _MENTION.sub(name, line), {label: uid for uid, label in names.items()}

    def _link_accounts(self, ctx: Ctx, team_id: str, links: dict[str, str], reply: Reply) -> Reply:
        """After /team add or /team set naming @someone, that Slack account acts as that member."""
        notes = []
        for label, user_id in links.items():
            with self.app.uow() as uow:
                try:
                    member = link_identity(uow, ctx.actor, label, PLATFORM, team_id, user_id)
                except DomainError as exc:
                    with use_locale(ctx.actor.locale):
                        notes.append(translate_error(exc))
                    continue
            with use_locale(ctx.actor.locale):
                notes.append(_("{name} is now linked to their Slack account.").format(name=member.name))
        return replace(reply, text="\n".join([reply.text, *notes]).strip())

    async def on_button(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """A button runs the command it carries; if that needs more, a form asks for the rest."""
        await ack()
        self.later(self._button(body, client, respond), respond, replace_original=False)

    async def _button(self, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> dict[str, Any]:
        action = body["actions"][0]
        user = SlackUser(body["team"]["id"], body["user"]["id"])
        ctx = await self.context(client, user)
        if isinstance(ctx, Reply):
            await self.say(respond, self.message(ctx), replace_original=False)
            return {}
        spec = json.loads(action["value"]) if action["value"].startswith("{") else {"line": action["value"]}
        line, decision = spec["line"], bool(spec.get("decision"))
        origin = self._origin(body)
        try:
            cmd, data = self.registry.fields(line)
        except DomainError as exc:
            with use_locale(ctx.actor.locale):
                await self.say(respond, self.message(error(translate_error(exc)), ctx=ctx), replace_original=False)
            return {}
        if cmd.missing(data):
            refusal = await self.db(precheck, ctx, cmd, data)
            if refusal:
                await self.say(respond, self.message(error(refusal), ctx=ctx), replace_original=False)
                return {}
            await self.open_form(client, body["trigger_id"], ctx, cmd, data, origin.get("channel"),
                                 origin if decision else None)
            return {}
        reply = await self.db(self.registry.dispatch, ctx, line)
        if decision and not reply.error and origin:
            await self.settle(client, origin, reply, user, ctx)
        else:
            await self.say(respond, self.message(reply, line=line, ctx=ctx), replace_original=False)
        return {}

    @staticmethod
    def _origin(body: dict[str, Any]) -> dict[str, Any]:
        container = body.get("container") or {}
        message = body.get("message") or {}
        if container.get("type") != "message" or not message:
            return {}
        return {"channel": container.get("channel_id") or (body.get("channel") or {}).get("id"),
                "ts": container.get("message_ts") or message.get("ts"),
                "blocks": message.get("blocks") or [], "text": message.get("text") or ""}

    async def settle(self, client: AsyncWebClient, origin: dict[str, Any], reply: Reply, user: SlackUser,
                     ctx: Ctx) -> None:
        """Show a decision on the message it was made on, and take that message's buttons away. If Slack does
        not take the edit for now, the decision's answer comes to the member as a direct message."""
        kept = [b for b in origin.get("blocks", []) if b.get("type") != "actions"] or (
            [{"type": "section", "text": {"type": "mrkdwn", "text": origin["text"][:3000]}}]
            if origin.get("text") else [])
        outcome = {"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"✓ {blocks.escape(reply.text)[:2900]} — <@{user.user_id}>"}]}
        await self.post(client.chat_update(channel=origin["channel"], ts=origin["ts"],
                                           text=origin.get("text") or reply.text, blocks=[*kept, outcome]),
                        self.message(reply, ctx=ctx))

    async def on_page(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """Next/Previous on a long list: run the same command again and show the other page."""
        await ack()
        self.later(self._page(body, client, respond), respond, replace_original=False)

    async def _page(self, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        spec = json.loads(body["actions"][0]["value"])
        user = SlackUser(body["team"]["id"], body["user"]["id"])
        ctx = await self.context(client, user)
        if isinstance(ctx, Reply):
            return
        reply = await self.db(self.registry.dispatch, ctx, spec["line"])
        await self.say(respond, self.message(reply, line=spec["line"], page=int(spec["page"]), ctx=ctx),
                      replace_original=True)

    async def open_form(
        self,
        client: AsyncWebClient,
        trigger_id: str,
        ctx: Ctx,
        cmd: Command,
        initial: dict[str, Any],
        channel: str | None,
        origin: dict[str, Any] | None = None,
    ) -> None:
        meta = {"cmd": cmd.name, "channel": channel}
        if origin:
            meta["origin"] = {"channel": origin["channel"], "ts": origin["ts"], "text": origin["text"][:1500]}
        with use_locale(ctx.actor.locale):
            view = blocks.build_modal(
                cmd, FORM_CALLBACK, json.dumps(meta), title=f"/{cmd.name}"[:24], submit=_("Submit"),
                close=_("Cancel"), initial={k: str(v) for k, v in initial.items() if v is not None},
            )
        await client.views_open(trigger_id=trigger_id, view=view)

    async def on_form(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A submitted form runs its command; field problems go back beside the fields. If that takes
        longer than the ack budget, the form closes and the outcome (or the problems) comes as a message."""
        view = body["view"]
        meta = json.loads(view.get("private_metadata") or "{}")
        cmd = self.registry.commands.get(meta.get("cmd", ""))
        user = SlackUser(body["team"]["id"] if body.get("team") else view["team_id"], body["user"]["id"])
        if cmd is None:
            await ack()
            return
        in_time, work = await self.within_budget(self._submit(client, user, cmd, view))
        if in_time and work.exception() is None and isinstance(work.result()[1], dict):
            await ack(**blocks.modal_errors(work.result()[1]))
            return
        await ack()
        self.later(self._submitted(client, user, meta, work), self._notice(client, user, meta.get("channel")))

    async def _submit(self, client: AsyncWebClient, user: SlackUser, cmd: Command, view: dict[str, Any]
                      ) -> tuple[Ctx | Reply, Reply | dict[str, str]]:
        """Who submitted, and the outcome: a reply, or problems by field."""
        ctx = await self.context(client, user)
        if isinstance(ctx, Reply):
            return ctx, ctx
        data = blocks.modal_values(cmd, view["state"]["values"])
        outcome = await self.db(self.registry.submit, ctx, cmd, data)
        if isinstance(outcome, Reply) and outcome.error:
            subject = cmd.positional[0] if cmd.positional else next(iter(cmd.args.model_fields))
            outcome = {subject: outcome.text}
        return ctx, outcome

    async def _submitted(self, client: AsyncWebClient, user: SlackUser, meta: dict[str, Any],
                         work: asyncio.Future[Any]) -> None:
        """After the form closed: show the outcome where the form came from."""
        ctx, outcome = await work
        if not isinstance(ctx, Ctx):  # not a member: the one friendly message on how to be added
            await self.tell(client, user, meta.get("channel"), ctx, None)
            return
        if isinstance(outcome, dict):  # the form closed before its problems could be shown beside the fields
            outcome = error("\n".join(outcome.values()))
        origin = meta.get("origin")
        if origin and not outcome.error:
            await self.settle(client, origin, outcome, user, ctx)
        else:
            await self.tell(client, user, meta.get("channel"), outcome, ctx)

    async def on_form_closed(self, ack: Any) -> None:
        await ack()

    def _notice(self, client: AsyncWebClient, user: SlackUser, channel: str | None) -> Any:
        """How `later` says what went wrong when there is no response_url: as `tell` does (ephemeral in
        the channel, else a direct message)."""

        async def post(*, text: str, **_rest: Any) -> None:
            await self.tell(client, user, channel, error(text), None)

        return post

    async def tell(
        self, client: AsyncWebClient, user: SlackUser, channel: str | None, reply: Reply, ctx: Ctx | None
    ) -> None:
        """Deliver a reply outside a command's response: ephemeral in the channel, or a direct message."""
        payload = self.message(reply, ctx=ctx)
        payload.pop("response_type", None)
        if channel and reply.private:  # kept, it comes as a direct message: nobody else is to read it
            await self.post(client.chat_postEphemeral(channel=channel, user=user.user_id, **payload), payload)
        else:
            await self.post(client.chat_postMessage(channel=channel or user.user_id, **payload), payload, channel)

    async def on_options(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Search for a picker (external select): customers, or members; nothing if it takes too long."""
        in_time, work = await self.within_budget(self._options(body, client))
        if not in_time:
            self.later(work)  # finishes on its own; Slack has stopped waiting for it
        elif work.exception() is not None:
            log.error("options search failed", exc_info=work.exception())
        await ack(**(work.result() if in_time and work.exception() is None else {"options": []}))

    async def _options(self, body: dict[str, Any], client: AsyncWebClient) -> dict[str, Any]:
        user = SlackUser(body["team"]["id"], body["user"]["id"])
        ctx = await self.context(client, user)
        if isinstance(ctx, Reply):
            return {"options": []}
        kind = "member" if body.get("action_id") in ("owner", "supervisor", "name") else "customer"
        found = await self.db(forms.search, ctx, kind, body.get("value") or "", 50)
        return blocks.options(found)

    async def on_home(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        """The Home tab: the member's due items, from the registry of due-item kinds (after the ack)."""
        if event.get("tab") not in (None, "home"):
            return
        self.later(self._home(event, client, context))

    async def _home(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        user = SlackUser(context.team_id, event["user"])
        ctx = await self.context(client, user)
        reply = ctx if isinstance(ctx, Reply) else await self.db(agenda_reply, ctx)
        locale = ctx.actor.locale if isinstance(ctx, Ctx) else self.settings.locale
        with use_locale(locale):
            _text, body = blocks.render(reply, page_action=PAGE_ACTION)
        await client.views_publish(user_id=user.user_id, view={"type": "home", "blocks": body[:100]})

    async def on_mention(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        """`@bizbot lead list` runs like `/lead list`; the answer goes to the one who asked (after the ack)."""
        self.later(self._mention(event, client, context),
                   self._notice(client, SlackUser(context.team_id, event["user"]), event.get("channel")))

    async def _mention(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        user = SlackUser(context.team_id, event["user"])
        ctx = await self.context(client, user)
        text = _MENTION.sub("", event.get("text") or "", count=1).strip()
        if isinstance(ctx, Reply):
            reply = ctx
        else:
            line, _links = await self._unmention(client, user.team_id, "/" + (text.lstrip("/") or "help"))
            reply = await self.db(self.registry.dispatch, ctx, line)
        payload = self.message(reply, ctx=ctx if isinstance(ctx, Ctx) else None)
        payload.pop("response_type", None)
        await self.post(client.chat_postEphemeral(channel=event["channel"], user=user.user_id, **payload), payload)

    async def on_message_event(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        """A direct message to bizbot is a command line, typed as in a mention (`客户 查看 华为`, `lead list`;
        Slack keeps `/…` for its own slash commands); the answer comes in the same conversation. Channel
        messages are not commands, and bots' own messages or edits are never read."""
        if (event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id")
                or not event.get("user") or not (event.get("text") or "").strip()):
            return
        user = SlackUser(context.team_id, event["user"])
        self.later(self._direct(event, client, user), self._notice(client, user, None))

    async def _direct(self, event: dict[str, Any], client: AsyncWebClient, user: SlackUser) -> None:
        ctx = await self.context(client, user)
        if isinstance(ctx, Reply):
            reply = ctx
        else:
            text = _MENTION.sub("", event["text"], count=1).strip()
            line, _links = await self._unmention(client, user.team_id, "/" + text.lstrip("/"))
            reply = await self.db(self.registry.dispatch, ctx, line)
        payload = self.message(reply, ctx=ctx if isinstance(ctx, Ctx) else None)
        payload.pop("response_type", None)
        await self.post(client.chat_postMessage(channel=event["channel"], **payload), payload, event["channel"])

    async def _guard(self, work: Any) -> dict[str, Any]:
        """The one boundary for the unexpected: log it with an id, tell the user, never leak details."""
        try:
            return await work
        except Exception:
            return _incident()

    def message(
        self, reply: Reply, *, line: str | None = None, page: int = 0, welcome: bool | None = None,
        ctx: Ctx | None = None,
    ) -> Said:
        """A reply as a Slack message body (for ack, respond or chat.postMessage)."""
        with use_locale(ctx.actor.locale if ctx else self.settings.locale):
            if welcome:
                reply = replace(reply, text="\n".join(
                    [first_welcome(ctx.actor.name) if ctx else _(
                        "Welcome! You are the first member of this department, so you are its admin and manager."),
                     reply.text]).strip())
            text, body = to_slack(reply, line=line, page=page)
        return Said({"response_type": "ephemeral" if reply.private or reply.error else "in_channel",
                     "text": text, "blocks": body}, reply, ctx)


def _seconds(value: Any) -> float | None:
    """A Retry-After header's seconds, if it is a number of them."""
    return float(value) if value is not None and str(value).strip().isdigit() else None


def _trigger(body: dict[str, Any]) -> str | None:
    """What makes a command, a click or a submission one of a kind: Slack's trigger_id, new for each (a replay
    of the signed request carries the same)."""
    trigger = body.get("trigger_id")
    return f"trigger:{trigger}" if isinstance(trigger, str) and trigger else None


def _incident() -> dict[str, Any]:
    """For the exception being handled: logged with an id, and the answer that tells the user (no details)."""
    incident = f"{time.time_ns():x}"[-8:]
    with bound(incident=incident):
        log.exception("slack request failed (incident %s)", incident)
    return {"response_type": "ephemeral",
            "text": _("Something went wrong (incident {id}); nothing was changed.").format(id=incident)}


def _plain(line: str) -> str:
    """A command line as Slack sent it, its HTML entities decoded and a channel mention `<#C123|sales>`
    made the channel's id, which is what bizbot posts to."""
    if "&" in line:
        line = html.unescape(line)
    return _CHANNEL_MENTION.sub(r"\1", line) if "<#" in line else line


def to_slack(reply: Reply, line: str | None = None, page: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """Block Kit for a reply; page buttons carry the command to re-run, decisions say they decide."""
    text, body = blocks.render(reply, page=page, page_action=PAGE_ACTION)
    for block in body:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            action_id = element.get("action_id", "")
            if action_id == PAGE_ACTION:
                if line is None:
                    block["elements"] = [e for e in block["elements"] if e.get("action_id") != PAGE_ACTION]
                    break
                element["value"] = json.dumps({"line": line, "page": int(element["value"])})
            elif action_id.startswith("bizbot.cmd."):
                button = reply.buttons[int(action_id.rsplit(".", 1)[1])]
                if button.decision:
                    element["value"] = json.dumps({"line": button.command, "decision": True})
    return text, [b for b in body if b.get("type") != "actions" or b.get("elements")]


def build_bolt(settings: Settings, app: App) -> AsyncApp:
    """slack-bolt's AsyncApp against SLACK_API_URL: token mode, or OAuth when a client id is set."""
    client = AsyncWebClient(
        base_url=settings.slack_api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2),
                        AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    if settings.slack_client_id:
        return AsyncApp(signing_secret=signing_secret, client=client, process_before_response=True,
                        oauth_settings=oauth_settings(settings, app.engine))
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client.token = token
    return AsyncApp(signing_secret=signing_secret, client=client, process_before_response=True)

