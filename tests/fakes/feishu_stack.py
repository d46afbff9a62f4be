"""bizbot's real ASGI server on 127.0.0.1 with Feishu's Open API pointed at a FakeFeishu; encrypted and
signed events in at /feishu/events."""
from __future__ import annotations

from typing import Any

import httpx

from domain.kernel.clock import FakeClock
from fakes.feishu_fake import FakeFeishu
from fakes.feishu_payloads import encrypt, signed_headers
from fakes.server_thread import AppStack

APP_ID = "cli_a1b2c3d4e5f6"
APP_SECRET = "feishu-app-secret"
TOKEN = "verification-token-1"
KEY = "encrypt-key-1"


class FeishuStack(AppStack):
    def __init__(self, db_url: str, clock: FakeClock, fake: FakeFeishu, **settings: Any) -> None:
        self.fake = fake
        super().__init__(db_url, clock, **{
            "feishu_app_id": APP_ID, "feishu_app_secret": APP_SECRET, "feishu_verification_token": TOKEN,
            "feishu_encrypt_key": KEY, "feishu_domain": fake.root, **settings})
        assert self.asgi.state.feishu.identified.wait(10), "the bot's identity was not asked for"

    def post(self, event: dict[str, Any], key: str = KEY, timestamp: int | None = None,
             headers: dict[str, str] | None = None, settle: bool = True) -> httpx.Response:
        """POST an event as Feishu does (encrypted, signed); with `settle`, also wait for the work bizbot goes on
        with after its acknowledgement (the command, its card)."""
        body = encrypt(event, key)
        response = self.http.post("/feishu/events", content=body,
                                  headers={**signed_headers(body, key, timestamp), **(headers or {})})
        if settle:
            assert self.asgi.state.feishu.wait_idle(10), "work after the acknowledgement did not finish"
        return response
