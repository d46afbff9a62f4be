"""Feishu end to end over HTTP: encrypted, signed events into bizbot serve's /feishu/events, and a fake
Open API answering (and recording) what bizbot sends."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fakes.feishu_fake import FakeFeishu, buttons, card_text
from fakes.feishu_payloads import (
    bot_mention,
    bot_menu,
    card_action,
    encrypt,
    mention,
    message,
    signed_headers,
    url_verification,
)
from fakes.feishu_stack import KEY, TOKEN, FeishuStack
from sqlalchemy import func, select

from domain.store.models import Customer, Identity, InboundEvent, Member, OutboxMessage

WANG, ALICE, BOB = "ou_wang0000000000000000000000000001", "ou_alice000000000000000000000000002", \
    "ou_bob00000000000000000000000000003"
GROUP = "oc_group000000000000000000000000001"
WANG_DM, ALICE_DM = "oc_dmwang00000000000000000000000001", "oc_dmalice0000000000000000000000002"


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    with FakeFeishu() as server:
        server.users.update({WANG: {"name": "王经理"}, ALICE: {"name": "Alice Li"}, BOB: {"name": "Bob"}})
        yield server


@pytest.fixture
def fs(db_url: str, clock, fake: FakeFeishu) -> Iterator[FeishuStack]:
    stack = FeishuStack(db_url, clock, fake)
    yield stack
    stack.close()


def dm(fs: FeishuStack, text: str, user: str = WANG, chat: str = WANG_DM, **kw) -> list[dict]:
    before = len(fs.fake.messages)
    response = fs.post(message(text, TOKEN, open_id=user, chat_id=chat, **kw))
    assert response.status_code == 200, response.text
    return fs.fake.sent()[before:]


def test_url_verification_challenge(fs: FeishuStack) -> None:
    body = encrypt(url_verification(TOKEN), KEY)
    response = fs.http.post("/feishu/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json() == {"challenge": "ajls384kdjx98XX"}
    body = encrypt(url_verification("wrong"), KEY)
    assert fs.http.post("/feishu/events", content=body).status_code == 403


def test_private_command_enrols_the_first_person_as_admin(fs: FeishuStack) -> None:
    (answer,) = dm(fs, "/customer new Acme industry=manufacturing")
    assert answer["to"] == WANG_DM and answer["msg_type"] == "interactive"
    shown = card_text(answer["content"])
    assert "Acme" in shown and answer["content"]["schema"] == "2.0"
    with fs.app.uow() as uow:
        member = uow.session.scalar(select(Member))
        assert member.roles == "admin,manager" and member.name == "王经理"
        identity = uow.session.scalar(select(Identity))
        assert (identity.platform, identity.workspace, identity.external_id) == ("feishu", "tenant_acme", WANG)
        assert uow.session.scalar(select(func.count(Customer.id))) == 1
