"""The Slack fake and payload builders work with the real slack_sdk and slack_bolt."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.error import URLError
from urllib.parse import parse_qs

import pytest
from fakes import slack_payloads as sp
from fakes.slack_fake import FakeSlack, fake_slack_server
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

TOKEN = "xoxb-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Acme* visited"}}]
MODAL = {
    "type": "modal",
    "callback_id": "visit",
    "title": {"type": "plain_text", "text": "Visit"},
    "blocks": [],
}


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    yield from fake_slack_server()


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake_slack.api_url)


def test_sync_client_calls_are_recorded_and_answered(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    fake_slack.users["U123"] = {"locale": "zh-CN", "real_name": "王经理"}

    auth = client.auth_test()
    first = client.chat_postMessage(channel="C1", text="Acme visited", blocks=BLOCKS)
    second = client.chat_postMessage(channel="U123", text="hi")
    user = client.users_info(user="U123", include_locale=True)["user"]
    view = client.views_open(trigger_id="123.456", view=MODAL)["view"]

    assert (auth["user_id"], auth["team_id"], auth["bot_id"]) == ("UBOT", "T1", "BBOT")
    assert first["ts"] == "1700000000.000100" and first["ts"] < second["ts"]
    assert first["message"]["blocks"] == BLOCKS
    assert second["channel"] == "DU123"
    assert (user["locale"], user["real_name"], user["profile"]["real_name"]) == (
        "zh-CN",
        "王经理",
        "王经理",
    )
    assert view["id"].startswith("V") and view["callback_id"] == "visit"
    post = fake_slack.calls_to("chat.postMessage")[0]
    assert post.args == {"channel": "C1", "text": "Acme visited", "blocks": BLOCKS}
    assert post.token == TOKEN
    assert TOKEN not in repr(post)
    assert fake_slack.calls_to("users.info")[0].args == {"user": "U123", "include_locale": "1"}
    assert [c.method for c in fake_slack.calls] == [
        "auth.test",
        "chat.postMessage",
        "chat.postMessage",
        "users.info",
        "views.open",
    ]


def test_async_client_calls_are_recorded_and_answered(fake_slack: FakeSlack) -> None:
    fake_slack.users["U123"] = {"locale": "zh-CN"}

    async def scenario() -> list[Any]:
        client = AsyncWebClient(token=TOKEN, base_url=fake_slack.api_url)
        return [
            await client.auth_test(),
            await client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS),
            await client.users_info(user="U123", include_locale=True),
            await client.views_open(trigger_id="123.456", view=MODAL),
        ]

    auth, post, info, opened = asyncio.run(scenario())

    assert auth["user_id"] == "UBOT"
    assert post["message"]["blocks"] == BLOCKS
    assert info["user"]["locale"] == "zh-CN"
    assert opened["view"]["type"] == "modal"
    assert fake_slack.calls_to("users.info")[0].args == {"user": "U123", "include_locale": "1"}
    assert all(call.token == TOKEN for call in fake_slack.calls)


def test_form_encoded_blocks_and_view_are_decoded(fake_slack: FakeSlack, client: WebClient) -> None:
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps(BLOCKS)})
    client.api_call("views.publish", params={"user_id": "U1", "view": json.dumps(MODAL)})

    assert fake_slack.calls_to("chat.postMessage")[0].args["blocks"] == BLOCKS
    assert fake_slack.calls_to("views.publish")[0].args["view"] == MODAL


def test_users_info_follows_slack_rules(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.users["U1"] = {"locale": "zh-CN"}

    assert "locale" not in client.users_info(user="U1")["user"]
    with pytest.raises(SlackApiError) as missing:
        client.users_info(user="U404")
    assert missing.value.response["error"] == "user_not_found"


def test_other_methods_answer_plausibly(fake_slack: FakeSlack, client: WebClient) -> None:
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert client.chat_postEphemeral(channel="C1", user="U1", text="x")["message_ts"]
    updated = client.chat_update(channel="C1", ts="1700000000.000100", text="new")
    assert (updated["channel"], updated["text"]) == ("C1", "new")
    assert updated["ts"] == "1700000000.000100"
    assert client.views_update(view_id="V9", view=MODAL)["view"]["id"] == "V9"
    assert client.reactions_add(channel="C1", timestamp="1.2", name="eyes")["ok"]


def test_oauth_v2_access_answers_an_installation() -> None:
    with FakeSlack(team_id="T777", team_name="Globex") as fake:
        answer = WebClient(base_url=fake.api_url).oauth_v2_access(
            client_id="111.222", client_secret="shh", code="code-1"
        )
        call = fake.calls_to("oauth.v2.access")[0]

    assert answer["access_token"].startswith("xoxb-") and answer["token_type"] == "bot"
    assert answer["team"] == {"id": "T777", "name": "Globex"}
    assert answer["enterprise"] is None and answer["authed_user"]["token_type"] == "user"
    assert call.args == {"code": "code-1"}
    assert call.headers["authorization"].startswith("Basic ") and call.token is None


def test_rate_limit_is_retried_after_retry_after(fake_slack: FakeSlack) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=fake_slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake_slack.rate_limit("chat.postMessage", retry_after=1)

    started = time.monotonic()
    answer = client.chat_postMessage(channel="C1", text="hi")

    assert answer["ok"] and time.monotonic() - started >= 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_rate_limit_without_retry_surfaces_429(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="hi")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"


def test_fail_answers_an_error_then_recovers(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail("chat.postMessage", error="not_in_channel")

    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="C1", text="hi")

    assert failed.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]


def test_response_url_posts_are_recorded(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url("abc")

    response = WebhookClient(url).send(text="done", replace_original=True)

    assert response.status_code == 200
    call = fake_slack.wait_for("response_url")[0]
    assert call.args == {"text": "done", "replace_original": True}
    assert call.path == "/response/abc"


def test_wait_for_blocks_until_calls_arrive(fake_slack: FakeSlack, client: WebClient) -> None:
    worker = threading.Thread(target=lambda: client.chat_postMessage(channel="C1", text="later"))
    worker.start()

    calls = fake_slack.wait_for("chat.postMessage")
    worker.join()

    assert calls[0].args["text"] == "later"
    with pytest.raises(AssertionError, match="views.open"):
        fake_slack.wait_for("views.open", timeout=0.05)
    fake_slack.clear()
    assert fake_slack.calls == []


def test_delay_slows_every_answer(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.delay(0.2)

    started = time.monotonic()
    client.auth_test()

    assert time.monotonic() - started >= 0.2


def test_stop_releases_the_server() -> None:
    fake = FakeSlack().start()
    url = fake.api_url
    fake.stop()
    fake.stop()

    with pytest.raises(URLError):
        WebClient(token=TOKEN, base_url=url, retry_handlers=[]).auth_test()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (sp.form_body(sp.slash_command()), sp.FORM),
        (sp.interactive_body(sp.block_actions()), sp.FORM),
        (sp.json_body(sp.event_callback(sp.app_mention())), sp.JSON),
    ],
)
def test_signed_headers_verify_with_slack_sdk(body: bytes, content_type: str) -> None:
    headers = sp.signed_headers(body, SECRET, content_type=content_type)

    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    assert headers["Content-Type"] == content_type


def test_signed_headers_honour_the_timestamp() -> None:
    body = sp.form_body(sp.slash_command())
    stale = sp.signed_headers(body, SECRET, timestamp=int(time.time()) - 600)

    assert stale["X-Slack-Request-Timestamp"] == str(int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)


def test_slash_command_has_slack_fields() -> None:
    fields = sp.slash_command(text="Acme note=hi", user_id="U9")
    decoded = {k: v[0] for k, v in parse_qs(sp.form_body(fields).decode()).items()}

    assert set(fields) == {
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
        "user_name", "command", "text", "api_app_id", "is_enterprise_install",
        "response_url", "trigger_id",
    }
    assert decoded["text"] == "Acme note=hi" and decoded["user_id"] == "U9"


def test_payload_builders_apply_overrides() -> None:
    action = sp.block_actions(action_id="done", value="42", channel_id="C9", message_ts="1.5")
    view = sp.view_submission(
        callback_id="visit",
        private_metadata="m",
        state_values={"customer": {"name": {"type": "plain_text_input", "value": "Acme"}}},
    )
    suggestion = sp.block_suggestion(action_id="customer", value="Ac")
    first = sp.event_callback(sp.app_home_opened("U5"))
    second = sp.event_callback(sp.app_home_opened("U5"))

    assert action["actions"][0] | {"text": None} == {
        "action_id": "done", "block_id": "actions", "value": "42", "type": "button",
        "action_ts": action["actions"][0]["action_ts"], "text": None,
    }
    assert action["container"]["channel_id"] == action["channel"]["id"] == "C9"
    assert action["message"]["blocks"][-1]["elements"][0]["action_id"] == "done"
    assert view["view"]["state"]["values"]["customer"]["name"]["value"] == "Acme"
    assert view["view"]["blocks"][0]["block_id"] == "customer"
    assert (suggestion["action_id"], suggestion["value"]) == ("customer", "Ac")
    assert first["event"]["user"] == "U5" and first["event_id"] != second["event_id"]
    assert sp.url_verification("xyz")["challenge"] == "xyz"
    assert sp.template("slash_command") is not sp.template("slash_command")


def _dispatch(app: App, body: bytes, content_type: str) -> Any:
    headers = sp.signed_headers(body, SECRET, content_type=content_type)
    return app.dispatch(BoltRequest(body=body.decode(), headers=headers))


def test_bolt_routes_every_built_payload(fake_slack: FakeSlack) -> None:
    app = App(
        client=WebClient(token=TOKEN, base_url=fake_slack.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )
    seen: list[str] = []

    def record(name: str) -> Any:
        def listener(ack: Any) -> None:
            seen.append(name)
            ack()

        return listener

    app.command("/visit")(record("command"))
    app.action("approve")(record("action"))
    app.view("modal-identifier")(record("view"))
    app.options("es_a")(record("options"))
    app.event("app_mention")(record("mention"))
    app.event("app_home_opened")(record("home"))

    bodies = [
        (sp.form_body(sp.slash_command()), sp.FORM),
        (sp.interactive_body(sp.block_actions()), sp.FORM),
        (sp.interactive_body(sp.view_submission()), sp.FORM),
        (sp.interactive_body(sp.block_suggestion()), sp.FORM),
        (sp.json_body(sp.event_callback(sp.app_mention())), sp.JSON),
        (sp.json_body(sp.event_callback(sp.app_home_opened())), sp.JSON),
    ]
    statuses = [_dispatch(app, body, kind).status for body, kind in bodies]
    challenge = _dispatch(app, sp.json_body(sp.url_verification("c-1")), sp.JSON)

    assert statuses == [200] * 6
    assert seen == ["command", "action", "view", "options", "mention", "home"]
    assert json.loads(challenge.body) == {"challenge": "c-1"}
    assert fake_slack.calls_to("auth.test")
