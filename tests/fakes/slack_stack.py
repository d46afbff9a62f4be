"""bizbot's real ASGI server on 127.0.0.1 with Slack pointed at a FakeSlack; signed requests in."""
from __future__ import annotations

import json
from typing import Any

import httpx

from domain.kernel.clock import FakeClock
from fakes.server_thread import AppStack
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import FORM, form_body, interactive_body, json_body, signed_headers

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


class SlackStack(AppStack):
    def __init__(self, db_url: str, clock: FakeClock, fake: FakeSlack, **settings: Any) -> None:
        self.fake = fake
        super().__init__(db_url, clock, **{"slack_bot_token": TOKEN, "slack_signing_secret": SECRET,
                                           "slack_api_url": fake.api_url, **settings})

    def post(self, body: bytes, content_type: str = FORM, secret: str = SECRET, timestamp: int | None = None,
             extra: dict[str, str] | None = None, settle: bool = True) -> httpx.Response:
        """POST a signed request; with `settle`, also wait for the work bizbot goes on with after its ack."""
        headers = signed_headers(body, secret, timestamp, content_type=content_type)
        response = self.http.post("/slack/events", content=body, headers={**headers, **(extra or {})})
        if settle and self.asgi.state.slack is not None:
            assert self.asgi.state.slack.wait_idle(10), "work after the ack did not finish"
        return response

    def command(self, command: str, text: str = "", settle: bool = True, **fields: str) -> httpx.Response:
        from fakes.slack_payloads import slash_command

        payload = slash_command(command=command, text=text, response_url=self.fake.response_url("cmd"),
                                **fields)
        return self.post(form_body(payload), settle=settle)

    def say(self, command: str, text: str = "", **fields: str) -> dict[str, Any]:
        """Run a slash command and return the message Slack shows: the ack body, or, when bizbot acknowledged
        before its answer was ready (a loaded machine misses the ack budget), the answer that followed through
        the command's response URL."""
        before = len(self._answers())
        response = self.command(command, text, **fields)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json() if response.content else {}
        later = self._answers()[before:]
        if body.get("text") == "…" and later:
            return later[-1].args
        return body

    def _answers(self) -> list[Any]:
        return [call for call in self.fake.calls_to("response_url") if call.path.endswith("/cmd")]

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(interactive_body(payload))

    def press(self, **kw: Any) -> httpx.Response:
        """Click a button: a block_actions payload whose response_url points at the fake."""
        return self.interact(self.button(**kw))

    def button(self, **kw: Any) -> dict[str, Any]:
        from fakes.slack_payloads import block_actions

        return block_actions(response_url=self.fake.response_url("action"), **kw)

    def event(self, payload: dict[str, Any], extra: dict[str, str] | None = None) -> httpx.Response:
        return self.post(json_body(payload), content_type="application/json", extra=extra)


def text_of(message: dict[str, Any]) -> str:
    """Everything a person would read in a message: fallback text and every block's text."""
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + "\n" + message.get("text", "")
