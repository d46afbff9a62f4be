"""The Feishu / Lark adapter: commands typed as messages, card buttons and form cards, over lark-oapi.

Events come two ways: POST /feishu/events (HTTP event subscription, bot.feishu.events) or the long connection
(lark.ws.Client, which hands them to this adapter's lark-oapi EventDispatcherHandler). Either way an event is
read into lark-oapi's typed event (P2ImMessageReceiveV1, …) and from there by the same code. A message or a
menu click is answered first: before Feishu gets its acknowledgement the event is recorded by its event_id,
with the event itself (a repeat is acknowledged and dropped); then a background task runs the command and
sends the card, taking the event in the command's own transaction. An event recorded but never taken — the
process stopped after the acknowledgement — is taken up again when bizbot starts, so a crash after the
acknowledgement loses no command and runs none twice. A card click waits a bounded time, since the toast it
shows is the answer to the callback; whatever is left goes on after. Use cases run on the database threads;
Open API calls on threads of their own.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures import Future as ConcurrentFuture
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any

from bot.bootstrap import App
from bot.delivery import failure_reason
from bot.feishu import cards
from bot.feishu.api import FeishuApi, FeishuError, lark
from bot.later import keep_reply
from bot.settings import Settings
from bot.threads import DatabaseThreads
from domain.delivery.inbound import pending_events, record_pending, take_pending
from domain.kernel.errors import DomainError
from domain.kernel.i18n import _, first_language, translate, use_locale
from domain.team.handover import LEFT_NOTICE
from domain.team.members import (
    Account,
    Place,
    acting,
    ensure_org,
    find_org,
    link_identity,
    may_open,
    member_by_identity,
    redeem_enrolment,
    redeem_invite,
    resolve_member,
)
from handlers import forms
from handlers.context import Ctx
from handlers.help import first_welcome
from handlers.registry import Command, clean_line, precheck, translate_error
from handlers.replies import Reply, error

log = logging.getLogger(__name__)

PLATFORM = "feishu"
ACK_BUDGET = 2.5  # Feishu waits 3 s for an answer before it delivers an event again
WORKING = 8  # commands worked on at once after their acknowledgement (their Open API calls wait on the network)
PROFILE_TTL = 3600.0
FAILED_PROFILE_TTL = 300.0
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Who:
    """The person an event comes from and the chat it happened in."""

    tenant: str
    open_id: str
    chat_id: str
    private: bool
    union_id: str | None = None


@dataclass
class Incoming:
    """A message to the bot as bizbot reads it: the typed line, and the accounts @-mentioned in it."""

    event_id: str
    who: Who
    message_id: str
    line: str
    links: dict[str, str] = field(default_factory=dict)  # name as typed in the line → open_id
    for_bot: bool = True


@dataclass
class Once:
    """The event a piece of work comes from (its key: `event:` + event_id), recorded with the event before
    Feishu was answered. The work takes it once — in the transaction of the command it runs, or on its own
    before work that keeps nothing — so a repeat, a resumption and a second replica run nothing twice."""

    key: str | None
    taken: bool = False


def event_once(event_id: str | None) -> Once:
    return Once(f"event:{event_id}" if event_id else None)


def mention_name(name: str) -> str:
    name = name.strip() or "?"
    return f'"{name}"' if " " in name else name


def typed_line(message_type: str, content: str, mentions: list[dict[str, Any]], bot_open_id: str | None
               ) -> tuple[str, dict[str, str], bool] | None:
    """A text or rich-text (post) message reduced to the line that was typed: the bot's own @-mention
    dropped, another person's made their name (and remembered: name → open_id). None for any other kind of
    message. Also whether the bot was @-mentioned."""
    try:
        body = json.loads(content or "{}")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if message_type == "text":
        text = str(body.get("text") or "")
    elif message_type == "post":
        post = body
        if "content" not in post:  # a post in several languages: the first one
            post = next((v for v in body.values() if isinstance(v, dict) and "content" in v), {})
        parts: list[str] = []
        paragraphs = post.get("content")
        for paragraph in paragraphs if isinstance(paragraphs, list) else []:
            for node in paragraph if isinstance(paragraph, list) else []:
                if not isinstance(node, dict):
                    continue
                if node.get("tag") in ("text", "a", "md"):
                    parts.append(str(node.get("text") or ""))
                elif node.get("tag") == "at":
                    parts.append(str(node.get("user_id") or ""))
            parts.append(" ")
        text = "".join(parts)
    else:
        return None
    links: dict[str, str] = {}
    to_bot = False
    for mention in mentions:
        key = str(mention.get("key") or "")
        ident = mention.get("id")
        open_id = str(ident.get("open_id") or "") if isinstance(ident, dict) else ""
        if not key:
            continue
        if bot_open_id is not None and open_id == bot_open_id:
            to_bot = True
            text = text.replace(key, " ")
        elif bot_open_id is None and mention.get("mentioned_type") in ("bot", "app"):
            to_bot = True
            text = text.replace(key, " ")
        else:
            name = mention_name(str(mention.get("name") or open_id))
            links[name.strip('"')] = open_id
            text = text.replace(key, name)
    text = text.replace("@_all", " ")
    return " ".join(text.split()), links, to_bot


def command_line(text: str) -> str:
    """A typed line as a command: `/visit …`, `／visit …`, `拜访 …` and `visit …` alike."""
    line = clean_line(text)
    if not line:
        return "/help"
    return line if line.startswith("/") else clean_line("/" + line)


class FeishuAdapter:
    def __init__(self, app: App, settings: Settings, executor: Executor) -> None:
        self.app = app
        self.settings = settings
        self.registry = app.registry
        self.executor = executor
        # recording an event before it is acknowledged goes before the commands queued (bot.threads)
        self.acks = executor.first() if isinstance(executor, DatabaseThreads) else executor
        self.api = FeishuApi(settings)
        # Open API calls and the SDK's dispatcher (its handlers wait for this adapter's coroutines)
        self.calls = ThreadPoolExecutor(16, thread_name_prefix="bizbot-feishu")
        self.dispatcher = self.build_dispatcher()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.bot_open_id: str | None = None
        self.bot_name: str | None = None
        self.status: dict[str, Any] = {"mode": "http" if settings.feishu_http else "long_connection",
                                       "bot": False, "error": None}
        self._profiles: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._welcome: set[tuple[str, str]] = set()
        self._pending: set[Any] = set()
        # commands worked on at once after their acknowledgement: a burst of events is acknowledged at the rate
        # Feishu sends them, while their commands queue here instead of all taking the CPU from the answers
        self._working = asyncio.Semaphore(WORKING)
        self._idle = threading.Condition()
        self._ws: Any = None
        self._ws_thread: threading.Thread | None = None
        self._arriving: list[tuple[str, str, asyncio.Future[bool]]] = []  # to record before their answer
        self._recording = False
        self.identified = threading.Event()  # set once the bot's identity was asked for (known or not)

    # --- the SDK's side ---------------------------------------------------------------------------
    def build_dispatcher(self) -> Any:
        """One EventDispatcherHandler for both ways in: messages, menu clicks and card callbacks."""
        sdk = lark()
        key = self.settings.feishu_encrypt_key.get_secret_value() if self.settings.feishu_encrypt_key else ""
        token = (self.settings.feishu_verification_token.get_secret_value()
                 if self.settings.feishu_verification_token else "")
        return (sdk.EventDispatcherHandler.builder(key, token)
                .register_p2_im_message_receive_v1(self.on_message_event)
                .register_p2_application_bot_menu_v6(self.on_menu_event)
                .register_p2_card_action_trigger(self.on_card_event)
                .build())

    # the typed events each way in reads, and whether its answer waits for the work (a card's toast)
    def reader(self, event_type: str) -> tuple[type, Any, bool] | None:
        """The SDK's event class for `event_type`, the method that turns such an event into the work it asks
        for, and whether the answer waits for that work."""
        from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6  # heavy: see bot.feishu.api.lark
        from lark_oapi.api.im.v1 import P2ImMessageReceiveV1
        from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger

        return {"im.message.receive_v1": (P2ImMessageReceiveV1, self.message_work, False),
                "application.bot.menu_v6": (P2ApplicationBotMenuV6, self.menu_work, False),
                "card.action.trigger": (P2CardActionTrigger, self.card_work, True)}.get(event_type)

    def message_work(self, data: Any) -> Any:
        """A private message, or a group message @-mentioning the bot, is a command line; anything else is no
        work (and is not recorded)."""
        header, event = data.header, data.event
        message, sender = event.message, event.sender
        if message is None or sender is None or sender.sender_type != "user" or sender.sender_id is None:
            return None
        mentions = [{"key": m.key, "name": m.name, "mentioned_type": m.mentioned_type,
                     "id": {"open_id": m.id.open_id if m.id else None}} for m in (message.mentions or [])]
        who = Who(sender.tenant_key or header.tenant_key or "", sender.sender_id.open_id or "",
                  message.chat_id or "", message.chat_type == "p2p", sender.sender_id.union_id)
        typed = typed_line(message.message_type or "", message.content or "", mentions, self.bot_open_id)
        if typed is None:
            return None
        text, links, to_bot = typed
        if not who.private and not to_bot:
            return None
        return self.on_message(event_once(header.event_id), who, message.message_id or "", text, links)

    def menu_work(self, data: Any) -> Any:
        header, event = data.header, data.event
        operator = event.operator.operator_id if event and event.operator else None
        if operator is None or not operator.open_id:
            return None
        who = Who(header.tenant_key or "", operator.open_id, operator.open_id, True, operator.union_id)
        return self.on_menu(event_once(header.event_id), who, event.event_key or "help")

    def card_work(self, data: Any) -> Any:
        header, event = data.header, data.event
        operator, action, context = event.operator, event.action, event.context
        if operator is None or action is None or not operator.open_id:
            return None
        chat = (context.open_chat_id if context else None) or operator.open_id
        who = Who(operator.tenant_key or header.tenant_key or "", operator.open_id, chat, chat == operator.open_id,
                  operator.union_id)
        return self.on_card(event_once(header.event_id), who, context.open_message_id if context else None,
                            action.value or {}, action.form_value or {})

    # the long connection's handlers (on the SDK's thread: it acknowledges the event once they return)
    def on_message_event(self, data: Any) -> None:
        work = self.message_work(data)
        if work is not None and self._arrived(data.header.event_id, lark().JSON.marshal(data), work):
            self.later(work)

    def on_menu_event(self, data: Any) -> None:
        work = self.menu_work(data)
        if work is not None and self._arrived(data.header.event_id, lark().JSON.marshal(data), work):
            self.later(work)

    def on_card_event(self, data: Any) -> Any:
        from lark_oapi.event.callback.model.p2_card_action_trigger import (  # heavy: see bot.feishu.api.lark
            P2CardActionTriggerResponse,
        )

        work = self.card_work(data)
        toast = None
        if work is not None and self._arrived(data.header.event_id, lark().JSON.marshal(data), work):
            toast = self._wait(work)
        return P2CardActionTriggerResponse({"toast": toast} if toast else {})

    # the HTTP route's (on the event loop)
    async def receive(self, event_type: str, event: dict[str, Any]) -> dict[str, Any]:
        """A checked and decrypted event from POST /feishu/events: what to answer Feishu. A message or a menu
        click is acknowledged at once and worked on after; a card click waits for its toast up to the budget."""
        found = self.reader(event_type)
        if found is None:
            return {"msg": "success"}
        kind, read, waits = found
        raw = json.dumps(event, ensure_ascii=False)
        data = lark().JSON.unmarshal(raw, kind)
        work = read(data)
        if work is None or not await self._record(data.header.event_id, raw, work):
            return {"msg": "success"} if not waits else {}
        task = self.later(work)
        if not waits:
            return {"msg": "success"}
        try:
            toast = await asyncio.wait_for(asyncio.shield(task), ACK_BUDGET)
        except TimeoutError:
            return {}
        return {"toast": toast} if toast else {}

    def later(self, work: Any) -> Any:
        """Go on with `work` (a coroutine) after the event is acknowledged: a task on the server's loop (a
        future when called from another thread), counted so that shutdown and tests can wait for it."""
        assert self.loop is not None
        try:
            on_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            on_loop = False
        task: Any = (self.loop.create_task(self._guard(work)) if on_loop
                     else asyncio.run_coroutine_threadsafe(self._guard(work), self.loop))
        with self._idle:
            self._pending.add(task)
        task.add_done_callback(self._done)
        return task

    def _wait(self, work: Any) -> Any:
        """Run `work` on the server's loop, waiting for it up to the ack budget (from an SDK thread)."""
        future = self.later(work)
        try:
            return future.result(ACK_BUDGET)
        except FutureTimeout:
            return None

    def _done(self, future: Any) -> None:
        with self._idle:
            self._pending.discard(future)
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """From another thread (a test harness): wait until no work is going on after its acknowledgement."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    async def drain(self) -> None:
        """Wait for the work still going on after its acknowledgement (at shutdown)."""
        while self._pending:
            await asyncio.gather(*[asyncio.wrap_future(f) if isinstance(f, ConcurrentFuture) else f
                                   for f in list(self._pending)], return_exceptions=True)

    async def _guard(self, work: Any) -> Any:
        try:
            return await work
        except Exception:
            incident = f"{time.time_ns():x}"[-8:]
            log.exception("feishu event failed (incident %s)", incident)
            return {"type": "error", "content": _("Something went wrong (incident {id}); nothing was changed.")
                    .format(id=incident)}

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop.create_task(self.identify_and_resume())
        if not self.settings.feishu_http:
            self._ws_thread = threading.Thread(target=self._connect, name="bizbot-feishu-ws", daemon=True)
            self._ws_thread.start()

    async def identify_and_resume(self) -> None:
        await self.identify()
        await self.resume()

    async def resume(self) -> int:
        """Take up the events recorded and acknowledged whose work never started (the process that took them
        stopped first): each runs as it would have, once — a replica that took it meanwhile runs it instead."""
        events = await self.db(self._still_pending)
        for key, raw in events:
            try:
                found = self.reader(str(json.loads(raw)["header"]["event_type"]))
                work = found[1](lark().JSON.unmarshal(raw, found[0])) if found is not None else None
            except (ValueError, KeyError, TypeError):
                work = None
            if work is None:  # nothing to do for it now: it is not taken up again
                await self.db(self._take, Once(key))
                continue
            log.info("feishu event %s taken up again after a restart", key)
            self.later(work)
        return len(events)

    def _still_pending(self) -> list[tuple[str, str]]:
        with self.app.uow() as uow:
            return pending_events(uow, PLATFORM)

    async def identify(self) -> None:
        """The bot's open_id (to tell a group message @-mentioning it) — a Feishu that cannot be reached only
        leaves it unknown (any @-mention of a bot is then taken as the bot's)."""
        try:
            info = await self.call(self.api.bot)
        except FeishuError as exc:
            self.status.update(bot=False, error=str(exc))
            log.warning("feishu bot info not available: %s", exc)
        else:
            self.bot_open_id, self.bot_name = info.get("open_id"), info.get("app_name")
            self.status["bot"] = True  # (an error the long connection reported stays)
        self.identified.set()

    def _connect(self) -> None:
        """The long connection (lark.ws.Client), on a thread of its own: it reconnects by itself; a failure
        to connect at all is logged and leaves the other platforms serving."""
        sdk = lark()
        assert self.settings.feishu_app_secret is not None and self.settings.feishu_app_id
        self._ws = sdk.ws.Client(self.settings.feishu_app_id, self.settings.feishu_app_secret.get_secret_value(),
                                 event_handler=self.dispatcher, domain=self.settings.feishu_domain,
                                 log_level=sdk.LogLevel.WARNING)
        # the client's observer hooks: it lost its connection (or could not open it) and tries again; it is back
        self._ws.on_reconnecting = lambda: self.status.update(connected=False)
        self._ws.on_reconnected = lambda: self.status.update(connected=True, error=None)
        self.status["connected"] = True
        try:
            self._ws.start()
        except Exception as exc:  # whatever stopped the SDK's connection: reported by /readyz
            self.status.update(connected=False, error=failure_reason(exc))
            log.error("feishu long connection stopped: %s", failure_reason(exc))

    async def stop(self) -> None:
        await self.drain()
        self.calls.shutdown(wait=False)
        self.api.close()

    # --- plumbing ---------------------------------------------------------------------------------
    async def db(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.calls, fn, *args)

    async def _record(self, event_id: str | None, raw: str, work: Any) -> bool:
        """Record an event before it is answered, together with the others arriving meanwhile: while one
        transaction writes, those that arrive wait for the next, which takes them all (a burst costs a commit a
        batch, not an event). False for a repeat (its `work`, a coroutine, is then closed unrun)."""
        if not event_id:
            return True
        arrived: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._arriving.append((event_id, raw, arrived))
        if not self._recording:
            self._recording = True
            asyncio.ensure_future(self._write_arrivals())
        first = await arrived
        if not first:
            work.close()
        return first

    async def _write_arrivals(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._arriving:
                batch, self._arriving = self._arriving, []
                try:
                    firsts = await loop.run_in_executor(self.acks, self._arrived_together,
                                                        [(event_id, raw) for event_id, raw, _f in batch])
                except Exception as exc:  # none recorded: each is answered as failed, and Feishu sends it again
                    for _event_id, _raw, arrived in batch:
                        arrived.set_exception(exc)
                    continue
                for (_event_id, _raw, arrived), first in zip(batch, firsts, strict=True):
                    arrived.set_result(first)
        finally:
            self._recording = False

    def _arrived_together(self, events: list[tuple[str, str]]) -> list[bool]:
        with self.app.uow() as uow:
            firsts = [record_pending(uow, PLATFORM, f"event:{event_id}", raw) for event_id, raw in events]
            uow.commit()
        return firsts

    def _arrived(self, event_id: str | None, raw: str, work: Any) -> bool:
        """Record an event with its work still to do, before Feishu is answered; False for a repeat (its
        `work`, a coroutine, is then closed unrun)."""
        if not event_id:
            return True
        (first,) = self._arrived_together([(event_id, raw)])
        if not first:
            work.close()
        return first

    def _take(self, once: Once) -> bool:
        """Take the event's work on its own (for work that keeps nothing, or after a failure): False when it
        was taken before."""
        if once.key is None or once.taken:
            return True
        with self.app.uow() as uow:
            took = take_pending(uow, PLATFORM, once.key)
            uow.commit()
        once.taken = True
        return took

    def _dispatch(self, ctx: Ctx, line: str, once: Once) -> Reply | None:
        """Run a command, taking its event in the command's own transaction: None when it was taken before."""
        with self.app.uow() as uow:
            if once.key is not None and not once.taken:
                key = once.key
                if not uow.carry(lambda u: take_pending(u, PLATFORM, key)):
                    return None
                once.taken = True
            reply = self.registry.dispatch(ctx.within(uow), line)
            uow.commit()  # what is still carried: the taking, when the command itself committed nothing
        return reply

    def _submit(self, ctx: Ctx, cmd: Command, data: dict[str, str], once: Once) -> Reply | dict[str, str] | None:
        """A form card's submit, like _dispatch."""
        with self.app.uow() as uow:
            if once.key is not None and not once.taken:
                key = once.key
                if not uow.carry(lambda u: take_pending(u, PLATFORM, key)):
                    return None
                once.taken = True
            outcome = self.registry.submit(ctx.within(uow), cmd, data)
            uow.commit()
        return outcome

    async def profile(self, who: Who) -> str | None:
        """The user's name (contact.v3.user.get, cached for an hour; a failure for five minutes)."""
        key = (who.tenant, who.open_id)
        cached = self._profiles.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            name = (await self.call(self.api.profile, who.open_id)).name
        except FeishuError as exc:
            log.info("feishu profile of %s not available: %s", who.open_id, exc)
            self._profiles[key] = (time.monotonic() + FAILED_PROFILE_TTL, None)
            return None
        self._profiles[key] = (time.monotonic() + PROFILE_TTL, name)
        return name

    @staticmethod
    def language(name: str | None) -> str | None:
        """The language a Feishu profile suggests (Feishu tells no locale): Chinese for a Chinese name."""
        return "zh" if name and _HAN.search(name) else None

    async def context(self, who: Who) -> Ctx | Reply:
        name = await self.profile(who)
        return await self.db(self._enrol, who, name)

    def _enrol(self, who: Who, name: str | None) -> Ctx | Reply:
        """The member behind a Feishu account (open_id within its tenant); in a new tenant the first person is
        enrolled as admin (where the operator allows it); a stranger gets one friendly refusal."""
        speaking = self.language(name)
        with self.app.uow() as uow:
            known = acting(uow, PLATFORM, who.open_id, who.tenant)
            if known is not None:
                return Ctx(self.app.services, known.speaking(speaking), PLATFORM)
            org = find_org(uow, PLATFORM, who.tenant)
            if org is None:
                services = self.app.services
                if not may_open(PLATFORM, who.open_id, services.admins, services.open_enrolment):
                    with use_locale(speaking or self.settings.locale):
                        return error(_("This workspace is not a bizbot department, and new departments are "
                                       "opened only by whoever runs this bizbot. If you were given a code, send "
                                       "/enrol CODE here."))
                org = ensure_org(uow, PLATFORM, who.tenant, who.tenant, self.settings.timezone, self.settings.locale)
                uow.commit()
            language = None if self.settings.language_chosen else first_language(None, name or "")
            resolved = resolve_member(uow, org, PLATFORM, who.tenant, who.open_id, name or who.open_id,
                                      self.app.services.admins, language)
            if resolved.member is None:
                with use_locale(speaking or org.locale):
                    if resolved.left:
                        return error(translate(LEFT_NOTICE))
                    return error(_("You are not a member of this department yet. Ask an admin or manager "
                                   "to add you with /team add @you role=sales."))
            enrolled = acting(uow, PLATFORM, who.open_id, who.tenant)
        assert enrolled is not None
        if resolved.created_first:
            self._welcome.add((who.tenant, who.open_id))
        return Ctx(self.app.services, enrolled.speaking(speaking), PLATFORM)

    # --- sending ----------------------------------------------------------------------------------
    async def send(self, to: str, reply: Reply, locale: str, *, line: str | None = None,
                   reply_to: str | None = None, ctx: Ctx | None = None) -> str | None:
        """A reply as a card: to a chat or a person (`to`), or as an answer to a message (`reply_to`). If
        Feishu will not take it for now (throttled, unreachable), it goes to the outbox."""
        with use_locale(locale):
            card = cards.card(reply, line)
        try:
            if reply_to:
                return await self.call(self.api.reply, reply_to, "interactive", card)
            return await self.call(self.api.send, to, "interactive", card)
        except FeishuError as exc:
            if not exc.passing:
                log.warning("feishu refused an answer to %s: %s", to, exc)
                return None
            await self.db(self._keep, to, reply, ctx, exc)
            return None

    def _keep(self, to: str, reply: Reply, ctx: Ctx | None, exc: FeishuError) -> None:
        if ctx is None:
            log.warning("feishu answer to %s not taken (%s) and not kept: it is to no member", to, exc)
            return
        with self.app.uow() as uow:
            keep_reply(uow, reply, org_id=ctx.actor.org_id, platform=PLATFORM,
                       recipient_id=ctx.actor.member_id if to.startswith("ou_") else None,
                       chat=None if to.startswith("ou_") else to, retry_after=exc.retry_after, reason=str(exc))
            uow.commit()

    async def answer(self, ctx: Ctx, who: Who, reply: Reply, line: str | None = None,
                     message_id: str | None = None) -> None:
        """Private replies go to the person's private chat with a pointer in the group."""
        locale = ctx.actor.locale
        if (who.tenant, who.open_id) in self._welcome:
            self._welcome.discard((who.tenant, who.open_id))
            with use_locale(locale):
                reply = replace(reply, text="\n".join([first_welcome(ctx.actor.name), reply.text]).strip())
        if (reply.private or reply.error) and not who.private:
            await self.send(who.open_id, reply, locale, line=line, ctx=ctx)
            with use_locale(locale):
                pointer = _("{name}, I sent you the details in a private chat.").format(name=ctx.actor.name)
            await self.send(who.chat_id, Reply(text=pointer), locale, reply_to=message_id, ctx=ctx)
            return
        await self.send(who.chat_id, reply, locale, line=line, reply_to=None if who.private else message_id,
                        ctx=ctx)

    # --- messages ---------------------------------------------------------------------------------
    async def on_message(self, once: Once, who: Who, message_id: str, text: str, links: dict[str, str]) -> None:
        """A command line typed to the bot; once per event."""
        async with self._working:
            await self.safely(who, self.run_line(who, command_line(text), links, message_id, once), message_id,
                              once)

    async def on_menu(self, once: Once, who: Who, key: str) -> None:
        """A click in the bot's menu (机器人菜单): its key names the command (`lead_list` runs /lead list)."""
        async with self._working:
            await self.safely(who, self.run_line(who, command_line(key.replace("_", " ")), {}, None, once), None,
                              once)

    async def safely(self, who: Who, work: Any, message_id: str | None, once: Once) -> None:
        """Run a command's work after its acknowledgement; if it fails, the person is told so in the chat (the
        failure is logged with the same incident number), rather than hearing nothing, and the event is not
        taken up again."""
        try:
            await work
        except Exception:
            await self.db(self._take, once)
            incident = f"{time.time_ns():x}"[-8:]
            log.exception("feishu command failed (incident %s)", incident)
            with use_locale(self.settings.locale):
                told = error(_("Something went wrong (incident {id}); nothing was changed.").format(id=incident))
            await self.send(who.chat_id, told, self.settings.locale, reply_to=None if who.private else message_id)

    async def run_line(self, who: Who, line: str, links: dict[str, str], message_id: str | None, once: Once
                       ) -> None:
        """A command line: its event is taken with the command's own transaction, or, on the ways that keep
        nothing of their own (or keep it once anyway: an invite or enrolment code), just before."""
        head, _sep, rest = line.partition(" ")
        name = head[1:].lower()
        if name in ("start", "join") and rest.strip() and who.private:
            if await self.db(self._take, once):
                await self.redeem(who, rest.strip())
            return
        if name == "enrol" and rest.strip():
            if not await self.db(self._take, once):
                return
            handled = await self.db(self._enrolment, who, rest.strip())
            if handled is not None:
                await self.send(who.chat_id, handled, self.settings.locale, reply_to=message_id)
                return
        ctx = await self.context(who)
        if isinstance(ctx, Reply):
            if await self.db(self._take, once):
                await self.send(who.open_id if not who.private else who.chat_id, ctx, self.settings.locale)
            return
        form = self.registry.form_for(name, rest)
        if form is not None or (not rest.strip() and name in self.registry.groups()):
            if await self.db(self._take, once):
                await self.without_arguments(ctx, who, name, form, message_id)
            return
        reply = await self.db(self._dispatch, ctx, line, once)
        if reply is None:  # a repeat: taken before
            return
        if links and name == "team" and not reply.error:
            reply = await self.db(self._link_accounts, ctx, who.tenant, links, reply)
        await self.answer(ctx, who, reply, line, message_id)

    async def without_arguments(self, ctx: Ctx, who: Who, group: str, form: Command | None,
                                message_id: str | None) -> None:
        """A group offers its sub-commands; a command that needs arguments opens a form card."""
        cmd = form or self.registry.commands.get(group)
        if cmd is None:
            with use_locale(ctx.actor.locale):
                menu = forms.menu(self.registry, group)
            await self.answer(ctx, who, menu, message_id=message_id)
            return
        if cmd.missing({}):
            await self.open_form(ctx, who, cmd, {}, None, message_id)
            return
        reply = await self.db(self._dispatch, ctx, f"/{group}", Once(None))
        await self.answer(ctx, who, reply, f"/{group}", message_id)

    async def open_form(self, ctx: Ctx, who: Who, cmd: Command, data: dict[str, Any], origin: dict[str, Any] | None,
                        message_id: str | None = None, problem: str | None = None, checked: bool = False) -> None:
        refusal = None if checked else await self.db(precheck, ctx, cmd, data)
        if refusal:
            await self.answer(ctx, who, error(refusal), message_id=message_id)
            return
        options: dict[str, list[tuple[str, str]]] = {}
        for name in cmd.args.model_fields:
            if forms.question(cmd, name).kind == "customer":
                options[name] = await self.db(forms.search, ctx, "customer", "", 50)
        with use_locale(ctx.actor.locale):
            card = cards.form(cmd, {k: str(v) for k, v in data.items()}, f"/{cmd.name}", options, problem, origin)
        try:
            if message_id and not who.private:
                await self.call(self.api.reply, message_id, "interactive", card)
            else:
                await self.call(self.api.send, who.chat_id, "interactive", card)
        except FeishuError as exc:
            log.warning("feishu form card not sent: %s", exc)

    async def redeem(self, who: Who, code: str) -> None:
        """`/start CODE` in a private chat links this Feishu account to the invited member."""
        def work() -> Reply:
            with self.app.uow() as uow:
                try:
                    member = redeem_invite(uow, code, PLATFORM, who.tenant, who.open_id)
                except DomainError as exc:
                    with use_locale(self.settings.locale):
                        return error(translate_error(exc))
                with use_locale(member.locale or self.settings.locale):
                    return Reply(text=_("Welcome, {name}! This Feishu account now acts as {name}. "
                                        "Type /help to begin.").format(name=member.name))

        await self.send(who.chat_id, await self.db(work), self.settings.locale)

    def _enrolment(self, who: Who, code: str) -> Reply | None:
        """`/enrol CODE` from someone who is not a member: the operator's code opens this tenant as a
        department with them as its admin. None when they are a member already (the command then runs)."""
        with self.app.uow() as uow:
            if acting(uow, PLATFORM, who.open_id, who.tenant) is not None:
                return None
            try:
                done = redeem_enrolment(uow, code, Place(PLATFORM, who.tenant, who.tenant),
                                        Account(PLATFORM, who.tenant, who.open_id, who.open_id),
                                        self.settings.timezone, self.settings.locale, joinable=False)
            except DomainError as exc:
                with use_locale(self.settings.locale):
                    return error(translate_error(exc))
        with use_locale(self.settings.locale):
            return Reply(text=_("Welcome, {name}! This chat is now a bizbot department, and you are its admin and "
                                "manager. Type /help to begin.").format(
                name=done.member.name if done.member else who.open_id))

    def _link_accounts(self, ctx: Ctx, tenant: str, links: dict[str, str], reply: Reply) -> Reply:
        """After /team add or /team set naming @someone, that Feishu account acts as that member."""
        notes = []
        for label, open_id in links.items():
            with self.app.uow() as uow:
                try:
                    member = link_identity(uow, ctx.actor, label, PLATFORM, tenant, open_id)
                except DomainError as exc:
                    with use_locale(ctx.actor.locale):
                        notes.append(translate_error(exc))
                    continue
            with use_locale(ctx.actor.locale):
                notes.append(_("{name} is now linked to their Feishu account.").format(name=member.name))
        return replace(reply, text="\n".join([reply.text, *notes]).strip())

    # --- card callbacks ---------------------------------------------------------------------------
    async def on_card(self, once: Once, who: Who, message_id: str | None, value: dict[str, Any],
                      form_value: dict[str, Any]) -> dict[str, Any] | None:
        """A button or a form card's submit: its toast (what the clicker sees at once), or None. Its event is
        taken with the command it runs, or just before anything else it does."""
        try:
            return await self._on_card(once, who, message_id, value, form_value)
        except Exception:
            await self.db(self._take, once)
            raise

    async def _on_card(self, once: Once, who: Who, message_id: str | None, value: dict[str, Any],
                       form_value: dict[str, Any]) -> dict[str, Any] | None:
        ctx = await self.context(who)
        if isinstance(ctx, Reply):
            return {"type": "error", "content": ctx.text} if await self.db(self._take, once) else None
        if isinstance(value.get("form"), str):
            return await self.on_form(ctx, who, message_id, value, form_value, once)
        line = str(value.get("line") or "")
        if not line:
            await self.db(self._take, once)
            return None
        if "page" in value and message_id:
            if not await self.db(self._take, once):
                return None
            reply = await self.db(self.registry.dispatch, ctx, line)
            with use_locale(ctx.actor.locale):
                card = cards.card(reply, line, int(value.get("page") or 0))
            await self.call(self.api.patch, message_id, card)
            return None
        decision = bool(value.get("decision"))
        try:
            cmd, data = self.registry.fields(line)
        except DomainError as exc:
            await self.db(self._take, once)
            with use_locale(ctx.actor.locale):
                return {"type": "error", "content": translate_error(exc)}
        if cmd.missing(data):
            if not await self.db(self._take, once):
                return None
            refusal = await self.db(precheck, ctx, cmd, data)
            if refusal:  # e.g. done already, by whom: said to the clicker, no form opened
                return {"type": "error", "content": refusal[:200]}
            origin = {"message_id": message_id, "text": str(value.get("text") or "")} if decision else None
            await self.open_form(ctx, who, cmd, data, origin, checked=True)
            return None
        reply = await self.db(self._dispatch, ctx, line, once)
        if reply is None:  # a repeat: taken before
            return None
        if decision:
            if reply.error:  # someone was first, or it may not be decided: said to the clicker only
                return {"type": "error", "content": reply.text}
            if message_id:
                await self.settle(message_id, str(value.get("text") or ""), reply, ctx)
            return {"type": "success", "content": reply.text[:200]}
        await self.answer(ctx, who, reply, line)
        return None

    async def settle(self, message_id: str, text: str, reply: Reply, ctx: Ctx) -> None:
        """A decision shows on the card it was made on (for everyone who has it), whose buttons go away."""
        with use_locale(ctx.actor.locale):
            card = cards.card(Reply(text=text), note=f"✓ {reply.text} — {ctx.actor.name}")
        try:
            await self.call(self.api.patch, message_id, card)
        except FeishuError as exc:
            log.info("could not revise the decided card: %s", exc)

    async def on_form(self, ctx: Ctx, who: Who, message_id: str | None, value: dict[str, Any],
                      form_value: dict[str, Any], once: Once) -> dict[str, Any] | None:
        cmd = self.registry.commands.get(str(value["form"]))
        if cmd is None:
            await self.db(self._take, once)
            return None
        members = await self.db(self._members, who.tenant, [str(v) for v in form_value.values()
                                                            if isinstance(v, str) and v.startswith("ou_")])
        data = cards.form_values(cmd, form_value, members)
        outcome = await self.db(self._submit, ctx, cmd, data, once)
        if outcome is None:  # a repeat: taken before
            return None
        if isinstance(outcome, dict):  # field problems: the form stays as it is, the toast says what is wrong
            return {"type": "error", "content": "\n".join(outcome.values())[:200]}
        origin = value.get("origin")
        if isinstance(origin, dict) and origin.get("message_id") and not outcome.error:
            await self.settle(str(origin["message_id"]), str(origin.get("text") or ""), outcome, ctx)
        if message_id and not outcome.error:
            with use_locale(ctx.actor.locale):
                done = cards.card(replace(outcome, buttons=[]), note=f"/{cmd.name} — {ctx.actor.name}")
            try:
                await self.call(self.api.patch, message_id, done)
            except FeishuError as exc:
                log.info("could not revise the submitted form: %s", exc)
        if outcome.error:
            return {"type": "error", "content": outcome.text[:200]}
        if outcome.buttons or outcome.private:
            await self.answer(ctx, who, outcome, f"/{cmd.name}")
        return {"type": "success", "content": (outcome.text or _("Done."))[:200]}

    def _members(self, tenant: str, open_ids: list[str]) -> dict[str, str]:
        """A person picker's open_ids as the members' names."""
        found: dict[str, str] = {}
        with self.app.uow() as uow:
            for open_id in open_ids:
                member = member_by_identity(uow, PLATFORM, tenant, open_id)
                if member is not None:
                    found[open_id] = member.name
        return found
