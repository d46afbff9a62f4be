"""Socket Mode (SLACK_APP_TOKEN): the same app over Slack's WebSocket instead of HTTP, end to end against a
fake Socket Mode server and the fake Web API on 127.0.0.1."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import app_mention, block_actions, event_callback, slash_command
from fakes.slack_socket_fake import FakeSocketMode
from fakes.slack_stack import SlackStack, text_of
from sqlalchemy import func, select

from domain.store.models import Customer

APP_TOKEN = "xapp-1-A1-test-app-token"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        yield server


@pytest.fixture
def socket_mode() -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as server:
        yield server


@pytest.fixture
def stack(db_url: str, clock, fake: FakeSlack, socket_mode: FakeSocketMode) -> Iterator[SlackStack]:
    fake.socket_url = socket_mode.url
    stack = SlackStack(db_url, clock, fake, slack_app_token=APP_TOKEN)
    socket_mode.wait_connected()
    yield stack
    stack.close()


def _answer(socket_mode: FakeSocketMode, envelope_id: str) -> dict:
    return socket_mode.ack_for(envelope_id).get("payload") or {}


def test_commands_buttons_and_events_arrive_over_the_socket(stack: SlackStack, fake: FakeSlack,
                                                            socket_mode: FakeSocketMode) -> None:
    (opened,) = fake.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN  # the app-level token opens the socket; the bot token calls the Web API
    first = socket_mode.send("slash_commands", slash_command(
        command="/customer", text="new Acme", response_url=fake.response_url("cmd")))
    answer = _answer(socket_mode, first)
    assert "Customer Acme" in text_of(answer) and "first member" in text_of(answer)
    listed = _answer(socket_mode, socket_mode.send("slash_commands", slash_command(
        command="/customer", text="list", response_url=fake.response_url("cmd"))))
    assert "Acme" in text_of(listed)
    with stack.app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Customer)) == 1

    # a button press: acknowledged at once, answered through its response URL
    pressed = socket_mode.send("interactive", block_actions(action_id="bizbot.cmd.0", value="/help",
                                                            response_url=fake.response_url("action")))
    socket_mode.ack_for(pressed)
    (told,) = fake.wait_for("response_url")
    assert "/customer" in json.dumps(told.args)

    # an event, and Slack's retry of it: processed once
    mention = event_callback(app_mention(text="<@UBOT> customer list"), event_id="Ev-socket-1")
    socket_mode.ack_for(socket_mode.send("events_api", mention))
    socket_mode.ack_for(socket_mode.send("events_api", mention, retry_attempt=1, retry_reason="timeout"))
    assert stack.asgi.state.slack.wait_idle(10)
    assert len(fake.calls_to("chat.postEphemeral")) == 1


def test_without_a_signature_a_socket_request_is_still_the_workspaces_own(stack: SlackStack, fake: FakeSlack,
                                                                          socket_mode: FakeSocketMode) -> None:
    """Socket Mode has no request signatures (the socket itself is authenticated); a stranger from the
    workspace still gets the one friendly message and changes nothing."""
    _answer(socket_mode, socket_mode.send("slash_commands", slash_command(command="/customer", text="new Acme")))
    stranger = _answer(socket_mode, socket_mode.send("slash_commands", slash_command(
        command="/customer", text="new Beta", user_id="U9")))
    assert "not a member of this department" in text_of(stranger)
    with stack.app.uow() as uow:
        assert list(uow.session.scalars(select(Customer.name))) == ["Acme"]
