"""bizbot's real ASGI server on 127.0.0.1 with Telegram pointed at a FakeTelegram; webhook updates in."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from telegram_fake import FakeTelegram
from telegram_payloads import json_body, webhook_headers

from bot.bootstrap import App, bootstrap
from bot.server import create_asgi
from bot.settings import Settings
from domain.clock import FakeClock

TOKEN = "123:TEST-token"
SECRET = "webhook-secret"


class TelegramStack:
    def __init__(self, db_url: str, clock: FakeClock, fake: FakeTelegram, **settings: Any) -> None:
        self.fake = fake
        self.settings = Settings(**{
            "database_url": db_url, "locale": "en", "timezone": "Asia/Shanghai", "admins": "",
            "telegram_bot_token": TOKEN, "telegram_api_url": fake.root,
            "telegram_webhook_url": "https://bizbot.example.com/telegram/webhook",
            "telegram_webhook_secret": SECRET, **settings,
        })
        self.app: App = bootstrap(self.settings, clock)
        self.asgi = create_asgi(self.app, run_worker=False)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY works
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.asgi, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(10)
        self.app.close()

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

    def deliver(self) -> int:
        return self.asgi.state.worker.tick_sync()
