"""bizbot's real ASGI server on 127.0.0.1 with DingTalk in HTTP callback mode, its Open API a FakeDingTalk; or in
Stream mode, connected to a FakeStreamGateway."""
from __future__ import annotations

import json
import re
from typing import Any

import httpx

from bot.dingtalk.render import card_text
from domain.kernel.clock import FakeClock
from fakes.dingtalk_fake import FakeDingTalk
from fakes.dingtalk_payloads import body_of, card_callback, robot_message, signed
from fakes.dingtalk_stream_fake import CARD_TOPIC, MESSAGE_TOPIC, FakeStreamGateway
from fakes.server_thread import AppStack


class DingTalkStack(AppStack):
    def __init__(self, db_url: str, clock: FakeClock, fake: FakeDingTalk, **settings: Any) -> None:
        self.fake = fake
        self.clock = clock
        super().__init__(db_url, clock, **{
            "dingtalk_client_id": fake.APP_KEY, "dingtalk_client_secret": fake.APP_SECRET,
            "dingtalk_mode": "http", "dingtalk_api_url": fake.root, **settings,
        })

    def post(self, payload: dict[str, Any], **sign: Any) -> httpx.Response:
        return self.http.post("/dingtalk/events", content=body_of(payload),
                              headers=signed(self.fake.APP_SECRET, self.clock.now(), **sign))

    def say(self, text: str, staff: str, nick: str, **kw: Any) -> httpx.Response:
        response = self.post(robot_message(text, staff=staff, nick=nick, now=self.clock.now(),
                                           webhook_root=self.fake.root, **kw))
        assert response.status_code == 200, response.text
        return response

    def press(self, out_track_id: str, action_id: str, staff: str, **kw: Any) -> httpx.Response:
        response = self.post(card_callback(out_track_id=out_track_id, action_id=action_id, staff=staff, **kw))
        assert response.status_code == 200, response.text
        return response

    def texts(self) -> list[str]:
        """What bizbot said, oldest first, however it went: through a session webhook, as a robot message of
        the Open API, or as an interactive card (its markdown)."""
        out = []
        for call in list(self.fake.calls):
            if call.method.startswith("/robot/sendBySession") and call.body.get("msgtype") == "markdown":
                out.append(call.body["markdown"]["text"])
            elif call.method in ("/v1.0/robot/oToMessages/batchSend", "/v1.0/robot/groupMessages/send"):
                out.append(json.loads(call.body["msgParam"]).get("text", ""))
            elif call.method == "/v1.0/im/v1.0/robot/interactiveCards/send":
                out.append(card_text(json.loads(call.body["cardData"])))
        return out

    def said(self) -> str:
        """The last thing bizbot said, with DingTalk markdown's escapes taken out."""
        return re.sub(r"\\(.)", r"\1", self.texts()[-1])


class DingTalkStreamStack(DingTalkStack):
    """The same server in Stream mode: its client connects to `gateway` (through the fake Open API's connection
    request) and callbacks arrive as the gateway's frames; `say` and `press` return the frame's acknowledgement
    once the client has sent it, that is once bizbot has handled the callback."""

    def __init__(self, db_url: str, clock: FakeClock, fake: FakeDingTalk, gateway: FakeStreamGateway,
                 **settings: Any) -> None:
        self.gateway = gateway
        fake.gateway = gateway
        super().__init__(db_url, clock, fake, dingtalk_mode="stream", **settings)

    def frame(self, topic: str, payload: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        """Send one frame and wait for its acknowledgement."""
        sent = self.gateway.send(topic, payload, self.clock.now(), message_id=message_id)
        return self.gateway.ack_for(sent)

    def say(self, text: str, staff: str, nick: str, **kw: Any) -> dict[str, Any]:  # type: ignore[override]
        ack = self.frame(MESSAGE_TOPIC, robot_message(text, staff=staff, nick=nick, now=self.clock.now(),
                                                      webhook_root=self.fake.root, **kw))
        assert ack["code"] == 200, ack
        return ack

    def press(self, out_track_id: str, action_id: str, staff: str, **kw: Any  # type: ignore[override]
              ) -> dict[str, Any]:
        ack = self.frame(CARD_TOPIC, card_callback(out_track_id=out_track_id, action_id=action_id, staff=staff,
                                                   **kw))
        assert ack["code"] == 200, ack
        return ack
