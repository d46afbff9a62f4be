"""Delivers outbox messages through the Bot API, within Telegram's limits."""
from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from bot.delivery import DeliveryError, Outgoing, Posted
from bot.ratelimit import Limit
from bot.settings import Settings
from bot.telegram import render
from domain.kernel.i18n import use_locale
from handlers.replies import Button, Reply

OVERALL = Limit("telegram:all", 30, 1.0, shared=True)


class TelegramSender:
    def __init__(self, settings: Settings) -> None:
        assert settings.telegram_bot_token is not None
        self._url = f"{settings.telegram_api_url}/bot{settings.telegram_bot_token.get_secret_value()}/sendMessage"
        # one client for the life of the process: its connections are kept and reused, by every send thread
        self._client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=64,
                                                                    max_keepalive_connections=64))
        # the bot's limit, whichever replica sends: keyed by the bot's id (the token's public part)
        bot_id = settings.telegram_bot_token.get_secret_value().partition(":")[0]
        self.overall = Limit(f"telegram:{bot_id}", OVERALL.count, OVERALL.seconds, shared=True)

    def overall_limits(self) -> list[Limit]:
        return [self.overall]

    def limits(self, message: Outgoing) -> list[Limit]:
        """About 30 messages a second overall, 1 a second per chat, 20 a minute per group."""
        chat = str(message.channel or message.address)
        limits = [self.overall, Limit(f"telegram:chat:{chat}", 1, 1.0)]
        if chat.startswith("-"):
            limits.append(Limit(f"telegram:group:{chat}", 20, 60.0))
        return limits

    def send(self, message: Outgoing) -> Posted | None:
        """The message as Telegram parts: its photo, if any, then one or more texts (the keyboard on the
        last). Parts an earlier attempt delivered (`message.done`) are not sent again; if a part fails,
        the error says how many the chat has now."""
        chat = message.channel or message.address
        if not chat:
            raise DeliveryError("recipient has no Telegram account linked")
        with use_locale(message.locale):
            parts = render.render(_reply(message), _encode)
        steps: list[Callable[[], dict]] = []
        if message.attachment is not None:
            steps.append(lambda: self.send_file(message, chat))
        for part in parts:
            body: dict[str, object] = {"chat_id": chat, "text": part.text, "parse_mode": "HTML",
                                       "disable_web_page_preview": True}
            if part.keyboard:
                body["reply_markup"] = _markup(part.keyboard)
            steps.append(lambda body=body: self._post(body))
        sent: dict = {}
        for number, step in enumerate(steps):
            if number < message.done:
                continue
            try:
                sent = step()
            except DeliveryError as exc:
                exc.done = number
                raise
        return Posted(str(chat), str(sent.get("message_id"))) if sent.get("message_id") else None

    def edit(self, message: Outgoing, posted: Posted) -> None:
        """Revise a message sent earlier (editMessageText); a keyboard no longer given disappears. A
        message sent in parts is revised in its last part, where its keyboard is: that part takes the
        last part of the revision."""
        with use_locale(message.locale):
            last = render.render(_reply(message), _encode)[-1]
        body: dict[str, object] = {"chat_id": posted.chat, "message_id": int(posted.ref), "text": last.text,
                                   "parse_mode": "HTML", "disable_web_page_preview": True}
        if last.keyboard:
            body["reply_markup"] = _markup(last.keyboard)
        try:
            self._post(body, self._url.rsplit("/", 1)[0] + "/editMessageText")
        except DeliveryError as exc:
            if "not modified" in str(exc) or "not found" in str(exc):
                return
            raise

    def _post(self, body: dict[str, object], url: str | None = None, files: dict | None = None) -> dict:
        """One Bot API call (JSON, or multipart with `files`): its result, or a DeliveryError that honours
        Telegram's retry_after."""
        try:
            if files is None:
                response = self._client.post(url or self._url, json=body)
            else:
                response = self._client.post(url or self._url, data=body, files=files, timeout=30)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(type(exc).__name__) from None
        if answer.get("ok"):
            return answer.get("result") if isinstance(answer.get("result"), dict) else {}
        retry_after = (answer.get("parameters") or {}).get("retry_after")
        raise DeliveryError(str(answer.get("description", "telegram error"))[:200],
                            float(retry_after) if retry_after is not None else None)

    def send_file(self, message: Outgoing, chat: str) -> dict:
        """The message's file captioned with the first line — an image (a chart) as a photo (sendPhoto), any
        other file (an export) as a document (sendDocument), uploaded as multipart; the whole text follows
        as messages."""
        assert message.attachment is not None
        caption = render.escape(message.text.split("\n", 1)[0][:1000])
        method, field = ("sendPhoto", "photo") if message.attachment.mime.startswith("image/") else (
            "sendDocument", "document")
        url = self._url.removesuffix("/sendMessage") + "/" + method
        files = {field: (message.attachment.filename, message.attachment.data, message.attachment.mime)}
        return self._post({"chat_id": chat, "caption": caption, "parse_mode": "HTML"}, url, files)


def _reply(message: Outgoing) -> Reply:
    return Reply(text=message.text,
                 buttons=[Button(b.label, b.command, decision=b.decision) for b in message.buttons])


def _encode(button: Button) -> str:
    """A button's callback data: the command it runs, or /help if that does not fit Telegram's 64 bytes."""
    data = f"{'d' if button.decision else 'c'}:{button.command}"
    return data if render.fits(data) else "c:/help"


def _markup(keyboard: list[list[render.Key]]) -> str:
    return json.dumps({"inline_keyboard": [[{"text": k.text, "callback_data": k.data} for k in row]
                                           for row in keyboard]})
