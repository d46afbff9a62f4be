"""Delivers outbox messages through the Bot API, within Telegram's limits."""
from __future__ import annotations

import json

import httpx

from bot.delivery import DeliveryError, Outgoing, Posted
from bot.ratelimit import Limit
from bot.settings import Settings
from bot.telegram import render
from domain.i18n import use_locale
from handlers.replies import Button, Reply

OVERALL = Limit("telegram:all", 30, 1.0)


class TelegramSender:
    def __init__(self, settings: Settings) -> None:
        assert settings.telegram_bot_token is not None
        self._url = f"{settings.telegram_api_url}/bot{settings.telegram_bot_token.get_secret_value()}/sendMessage"
        self._client = httpx.Client(timeout=10)

    def overall_limits(self) -> list[Limit]:
        return [OVERALL]

    def limits(self, message: Outgoing) -> list[Limit]:
        """About 30 messages a second overall, 1 a second per chat, 20 a minute per group."""
        chat = str(message.channel or message.address)
        limits = [OVERALL, Limit(f"telegram:chat:{chat}", 1, 1.0)]
        if chat.startswith("-"):
            limits.append(Limit(f"telegram:group:{chat}", 20, 60.0))
        return limits

    def send(self, message: Outgoing) -> Posted | None:
        chat = message.channel or message.address
        if not chat:
            raise DeliveryError("recipient has no Telegram account linked")
        if message.attachment is not None:
            self.send_photo(message, chat)
        reply = Reply(text=message.text,
                      buttons=[Button(b.label, b.command, decision=b.decision) for b in message.buttons])

        def encode(button: Button) -> str:
            data = f"{'d' if button.decision else 'c'}:{button.command}"
            return data if render.fits(data) else "c:/help"

        with use_locale(message.locale):
            parts = render.render(reply, encode)
        sent: dict = {}
        for part in parts:
            body: dict[str, object] = {"chat_id": chat, "text": part.text, "parse_mode": "HTML",
                                       "disable_web_page_preview": True}
            if part.keyboard:
                body["reply_markup"] = json.dumps({"inline_keyboard": [
                    [{"text": k.text, "callback_data": k.data} for k in row] for row in part.keyboard]})
            sent = self._post(body)
        return Posted(str(chat), str(sent.get("message_id"))) if sent else None

    def edit(self, message: Outgoing, posted: Posted) -> None:
        """Revise a message sent earlier (editMessageText); a keyboard no longer given disappears."""
        reply = Reply(text=message.text,
                      buttons=[Button(b.label, b.command, decision=b.decision) for b in message.buttons])
        with use_locale(message.locale):
            parts = render.render(reply, lambda b: f"{'d' if b.decision else 'c'}:{b.command}"
                                  if render.fits(f"{'d' if b.decision else 'c'}:{b.command}") else "c:/help")
        body: dict[str, object] = {"chat_id": posted.chat, "message_id": int(posted.ref), "text": parts[0].text,
                                   "parse_mode": "HTML", "disable_web_page_preview": True}
        if parts[-1].keyboard:
            body["reply_markup"] = json.dumps({"inline_keyboard": [
                [{"text": k.text, "callback_data": k.data} for k in row] for row in parts[-1].keyboard]})
        try:
            self._post(body, self._url.rsplit("/", 1)[0] + "/editMessageText")
        except DeliveryError as exc:
            if "not modified" in str(exc) or "not found" in str(exc):
                return
            raise

    def _post(self, body: dict[str, object], url: str | None = None) -> dict:
        try:
            response = self._client.post(url or self._url, json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(type(exc).__name__) from None
        if answer.get("ok"):
            return answer.get("result") if isinstance(answer.get("result"), dict) else {}
        retry_after = (answer.get("parameters") or {}).get("retry_after")
        raise DeliveryError(str(answer.get("description", "telegram error"))[:200],
                            float(retry_after) if retry_after is not None else None)

    def send_photo(self, message: Outgoing, chat: str) -> None:
        """The message's file (a chart) as a photo (multipart sendPhoto) captioned with the first line;
        the whole text follows as messages."""
        assert message.attachment is not None
        caption = render.escape(message.text.split("\n", 1)[0][:1000])
        url = self._url.removesuffix("/sendMessage") + "/sendPhoto"
        files = {"photo": (message.attachment.filename, message.attachment.data, message.attachment.mime)}
        try:
            response = self._client.post(url, data={"chat_id": chat, "caption": caption, "parse_mode": "HTML"},
                                         files=files, timeout=30)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(type(exc).__name__) from None
        if not answer.get("ok"):
            retry_after = (answer.get("parameters") or {}).get("retry_after")
            raise DeliveryError(str(answer.get("description", "telegram error"))[:200],
                                float(retry_after) if retry_after is not None else None)
