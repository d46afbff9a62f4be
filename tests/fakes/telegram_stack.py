"""bizbot's real ASGI server on 127.0.0.1 with Telegram pointed at a FakeTelegram; webhook updates in."""
from __future__ import annotations

from typing import Any

import httpx

from domain.kernel.clock import FakeClock
from fakes.server_thread import AppStack
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import json_body, webhook_headers

TOKEN = "123:TEST-token"
SECRET = "webhook-secret"


class TelegramStack(AppStack):
    def __init__(self, db_url: str, clock: FakeClock, fake: FakeTelegram, **settings: Any) -> None:
        self.fake = fake
        super().__init__(db_url, clock, **{
            "telegram_bot_token": TOKEN, "telegram_api_url": fake.root,
            "telegram_webhook_url": "https://bizbot.example.com/telegram/webhook",
            "telegram_webhook_secret": SECRET, **settings,
        })

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        self.fake.remember(update)
        return self.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(secret))

    def said(self, chat_id: int | None = None) -> list[str]:
        """Texts of the messages bizbot sent (to one chat, if given), oldest first."""
        return [c.params["text"] for c in self.fake.calls_to("sendMessage")
                if chat_id is None or int(c.params["chat_id"]) == chat_id]

    def last(self, chat_id: int | None = None) -> dict[str, Any]:
        return [c.params for c in self.fake.calls_to("sendMessage")
                if chat_id is None or int(c.params["chat_id"]) == chat_id][-1]
