"""A member who left the department cannot act through a chat platform: told so, nothing runs, nothing is sent."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack, text_of
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, command_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import func, select

from domain.store.models import Customer

ALICE, BOB = 111, 222


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:
    with FakeTelegram(token=TOKEN) as fake:
        stack = TelegramStack(db_url, clock, fake)
        yield stack
        stack.close()


def test_a_member_who_left_is_told_so_and_nothing_runs(tg: TelegramStack) -> None:
    tg.post(command_update(text="/team add bob role=sales", user_id=ALICE, chat_id=GROUP_ID, chat_type="group"))
    tg.post(command_update(text="/team invite bob", user_id=ALICE, chat_id=GROUP_ID, chat_type="group"))
    code = tg.last(ALICE)["text"].split("/start ")[1].split()[0].rstrip(";")
    tg.post(command_update(text=f"/start {code}", user_id=BOB, chat_id=BOB, first_name="Bob"))
    tg.post(command_update(text="/customer new BobCo", user_id=BOB, chat_id=BOB))
    assert "Customer BobCo (C1) created" in tg.last(BOB)["text"]
    tg.post(command_update(text="/team leave bob to=Alice", user_id=ALICE, chat_id=GROUP_ID, chat_type="group"))
    assert "bob left the department" in tg.last(GROUP_ID)["text"]
    for chat, chat_type in ((BOB, "private"), (GROUP_ID, "group")):
        assert tg.post(command_update(text="/customer new BobCo2", user_id=BOB, chat_id=chat,
                                      chat_type=chat_type)).status_code == 200
        assert "You have left this department" in tg.last(chat)["text"]
    with tg.app.uow() as uow:
        assert uow.session.scalar(select(func.count(Customer.id))) == 1
        assert uow.session.scalar(select(Customer)).owner_id == 1                   # BobCo went to Alice


@pytest.fixture
def slack(db_url: str, clock) -> Iterator[SlackStack]:
    with FakeSlack() as fake:
        fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        fake.users["U2"] = {"real_name": "Alice", "locale": "en-US"}
        stack = SlackStack(db_url, clock, fake)
        yield stack
        stack.close()


def test_on_slack_too(slack: SlackStack) -> None:
    slack.say("/team", "add <@U2|alice> role=sales")
    assert "Customer AliceCo (C1) created" in slack.say("/customer", "new AliceCo", user_id="U2")["text"]
    assert "alice left the department" in text_of(slack.say("/team", "leave alice to=Wang"))
    message = slack.say("/customer", "new AliceCo2", user_id="U2")
    assert "You have left this department" in message["text"]
    with slack.app.uow() as uow:
        assert uow.session.scalar(select(func.count(Customer.id))) == 1
