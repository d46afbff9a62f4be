"""DingTalk in Stream mode end to end: the server's own Stream client (dingtalk-stream's) asks the fake Open API
for a connection, connects to a local fake gateway and handles the frames it sends — robot messages and card
buttons — acknowledging each once handled; a repeated frame runs once; a dropped connection is opened again
without the server stopping."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fakes.dingtalk_fake import FakeDingTalk
from fakes.dingtalk_payloads import GROUP, robot_message
from fakes.dingtalk_stack import DingTalkStreamStack
from fakes.dingtalk_stream_fake import CARD_TOPIC, MESSAGE_TOPIC, FakeStreamGateway
from sqlalchemy import func, select

from bot.dingtalk import render
from domain.store.models import ApprovalDecision, Customer, InboundEvent

WANG, MIKE, ALICE, LEO, HANK = "s001", "s003", "s002", "s004", "s005"


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk() as server:
        yield server


@pytest.fixture
def gateway() -> Iterator[FakeStreamGateway]:
    with FakeStreamGateway(FakeDingTalk.APP_KEY) as server:
        yield server


@pytest.fixture
def st(db_url: str, clock, fake: FakeDingTalk, gateway: FakeStreamGateway) -> Iterator[DingTalkStreamStack]:
    stack = DingTalkStreamStack(db_url, clock, fake, gateway)
    try:
        gateway.wait_connected()
        yield stack
    finally:
        stack.close()


def count(stack: DingTalkStreamStack, model) -> int:
    with stack.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_the_client_subscribes_to_robot_messages_and_card_callbacks(st, gateway) -> None:
    assert sorted(gateway.subscriptions[0]) == sorted([MESSAGE_TOPIC, CARD_TOPIC])
    assert st.http.get("/readyz").json()["platforms"]["dingtalk"] == {"mode": "stream", "connected": True}


def test_a_robot_message_frame_runs_the_command_and_is_acknowledged(st, gateway, fake) -> None:
    payload = robot_message("/customer new Acme industry=IT", staff=WANG, nick="王经理", now=st.clock.now(),
                            webhook_root=fake.root)
    frame_id = gateway.send(MESSAGE_TOPIC, payload, st.clock.now())
    ack = gateway.ack_for(frame_id)
    assert ack["code"] == 200 and ack["message"] == ""
    assert ack["headers"] == {"messageId": frame_id, "contentType": "application/json"}
    assert json.loads(ack["data"]) == {"response": "OK"}
    assert count(st, Customer) == 1                                   # handled before the acknowledgement
    assert "Customer Acme (C1) created" in st.said()
    (card,) = fake.messages_to(WANG)                                  # with buttons: a card through the Open API
    assert card["kind"] == "card"
    st.say("/help", WANG, "王经理")
    (session,) = fake.calls_to("/robot/sendBySession")               # no buttons: the message's session webhook
    assert session.query["session"] and session.body["msgtype"] == "markdown"


def test_a_repeated_frame_runs_once(st, gateway, fake) -> None:
    payload = robot_message("/customer new Acme", staff=WANG, nick="王经理", now=st.clock.now(),
                            webhook_root=fake.root)
    first = st.frame(MESSAGE_TOPIC, payload)
    again = st.frame(MESSAGE_TOPIC, payload)                          # DingTalk delivers it again: a new frame
    same = st.frame(MESSAGE_TOPIC, payload, message_id=first["headers"]["messageId"])   # or the same frame
    assert [a["code"] for a in (first, again, same)] == [200, 200, 200]
    assert count(st, Customer) == 1
    assert len(st.texts()) == 1
    assert count(st, InboundEvent) == 1
