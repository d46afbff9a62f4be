"""DingTalk in Stream mode end to end: the server's own Stream client (dingtalk-stream's) asks the fake Open API
for a connection, connects to a local fake gateway and handles the frames it sends — robot messages and card
buttons — acknowledging each once handled; a repeated frame runs once; a dropped connection is opened again
without the server stopping."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.dingtalk_fake import FakeDingTalk
from fakes.dingtalk_payloads import robot_message
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


def test_a_card_button_frame_decides_an_approval(st, gateway, fake, clock) -> None:
    st.say("/help", WANG, "wang")
    for staff, line in ((HANK, "/team add @hank role=head"), (MIKE, "/team add @mike role=manager supervisor=hank"),
                        (ALICE, "/team add @alice role=sales supervisor=mike"), (LEO, "/team add @leo role=legal")):
        st.say(line, WANG, "wang", group=True, at_users=[staff])
    st.say("/customer new Acme", ALICE, "alice")
    st.say('/contract new Acme title="Support" amount=100000 delivery=2027-01-15', ALICE, "alice")
    st.say('/contract terms K1 "100% on signing"', ALICE, "alice")
    st.say("/contract submit K1", ALICE, "alice")
    for _ in range(8):
        clock.advance(timedelta(seconds=2))
        st.deliver()
    (card,) = [m for m in fake.messages_to(MIKE) if m["kind"] == "card"]
    assert "step 1 of 2" in render.card_text(card["card"])
    approve = next(i for _label, i in render.card_buttons(card["card"])
                   if render.decode(i).value.split()[0] == "/approve")
    st.press(card["biz"], approve, MIKE)                              # acknowledged once decided
    with st.app.uow() as uow:
        (decision,) = uow.session.scalars(select(ApprovalDecision))
        assert (decision.step, decision.outcome, decision.role) == (0, "approve", "manager")
    assert render.card_buttons(fake.cards[card["biz"]]) == []         # the card shows the decision
    st.press(card["biz"], approve, MIKE)                              # pressed again: decided already
    assert count(st, ApprovalDecision) == 1


def test_a_dropped_connection_is_opened_again_and_the_server_goes_on(st, gateway, fake) -> None:
    st.say("/customer new Acme", WANG, "王经理")
    gateway.drop()                                                    # the gateway moves the client elsewhere
    gateway.wait_connected(2)                                         # a new ticket, a new websocket
    assert len(gateway.subscriptions) == 2
    st.say("/customer new Beta", WANG, "王经理")                       # frames on the new connection
    assert "Beta" in st.said() and count(st, Customer) == 2
    assert st.http.get("/readyz").json()["platforms"]["dingtalk"] == {"mode": "stream", "connected": True}


def test_while_dingtalk_refuses_a_new_connection_readyz_reports_it_and_the_server_goes_on(st, gateway, fake) -> None:
    fake.stream_refused = True
    gateway.drop()
    refused = fake.wait_for("/v1.0/gateway/connections/open", 2, timeout=10)[-1]   # asked again: refused
    assert refused.body["clientId"] == FakeDingTalk.APP_KEY
    ready = st.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["platforms"]["dingtalk"] == {"mode": "stream", "connected": False}
    assert st.http.get("/healthz").status_code == 200
    assert gateway.connections == 1
