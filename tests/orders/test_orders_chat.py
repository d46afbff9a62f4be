"""An order step's buttons on Slack and Telegram: the step's owner acknowledges and completes it from the
message bizbot sends them (the platforms faked at their HTTP edge)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack, text_of
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, callback_update, command_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import select

from domain.store.models import Contract, OrderStep

ALICE, BOB = 111, 222


def _sign(app) -> None:
    """The contract's approval is not what these tests are about: it is signed as its approval would sign it."""
    with app.uow() as uow:
        contract = uow.session.scalar(select(Contract))
        contract.state, contract.signed_on = "signed", date(2026, 11, 23)
        uow.commit()


def _step(app) -> OrderStep:
    with app.uow() as uow:
        return uow.session.scalar(select(OrderStep).where(OrderStep.kind == "production"))


@pytest.fixture
def slack_fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        server.users["U2"] = {"real_name": "Pete", "locale": "en-US"}
        yield server


@pytest.fixture
def slack(db_url: str, clock, slack_fake: FakeSlack) -> Iterator[SlackStack]:
    stack = SlackStack(db_url, clock, slack_fake)
    yield stack
    stack.close()


def test_slack_order_step_done_from_its_button(slack: SlackStack) -> None:
    slack.say("/help")                                                           # U1 Wang: admin and manager
    slack.say("/team", "add <@U2|pete> role=production")
    slack.say("/customer", "new Acme")
    slack.say("/contract", 'new Acme title="Racks" amount=1000')
    _sign(slack.app)
    answer = slack.say("/order", 'new K1 items="server rack" qty=10 delivery=2026-12-10')
    assert "Order O1 handed down from K1 for Acme" in answer["text"]
    slack.deliver()
    handed = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "U2"][-1]
    assert "Order O1 for Acme is handed to you for production planning" in handed.args["text"]
    buttons = [e for b in handed.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["text"]["text"] for e in buttons] == ["Acknowledge", "Done", "Show"]
    done = next(e for e in buttons if e["text"]["text"] == "Done")
    assert "/order done O1 production" in (done["value"] if done["value"].startswith("/")
                                          else json.loads(done["value"])["line"])
    press = slack.button(action_id=done["action_id"], value=done["value"], message_ts="1700000000.000300",
                         user_id="U2")
    press["message"]["text"] = handed.args["text"]
    slack.interact(press)
    (update,) = slack.fake.wait_for("chat.update")
    assert "Step production planning of O1 is done." in text_of(update.args)
    assert all(b["type"] != "actions" for b in update.args["blocks"])           # a decision settles the message
    step = _step(slack.app)
    assert step.state == "done" and step.done_by_id is not None


@pytest.fixture
def tg_fake(clock) -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def tg(db_url: str, clock, tg_fake: FakeTelegram) -> Iterator[TelegramStack]:
    stack = TelegramStack(db_url, clock, tg_fake)
    yield stack
    stack.close()


def _group(text: str, user_id: int = ALICE) -> dict:
    return command_update(text=text, user_id=user_id, chat_id=GROUP_ID, chat_type="group")


def _keyboard(params: dict) -> list[dict]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def test_telegram_order_step_acknowledged_and_done_from_its_buttons(tg: TelegramStack) -> None:
    tg.post(_group("/team add pete role=production"))
    tg.post(_group("/team invite pete"))
    code = tg.last(ALICE)["text"].split("/start ")[1].split()[0].rstrip(";")
    tg.post(command_update(text=f"/start {code}", user_id=BOB, chat_id=BOB, first_name="Pete"))
    tg.post(_group("/customer new Acme"))
    tg.post(_group('/contract new Acme title="Racks" amount=1000'))
    _sign(tg.app)
    tg.post(_group('/order new K1 items="server rack" qty=10 delivery=2026-12-10'))
    tg.deliver()
    handed = tg.last(BOB)
    assert "Order O1 for Acme is handed to you for production planning" in handed["text"]
    buttons = _keyboard(handed)
    assert [b["text"] for b in buttons] == ["Acknowledge", "Done", "Show"]
    tg.post(callback_update(data=buttons[0]["callback_data"], user_id=BOB, chat_id=BOB, message_text=handed["text"]))
    assert "pete acknowledged step production planning of O1." in tg.last(BOB)["text"]
    assert _step(tg.app).state == "acked"
    tg.post(callback_update(data=buttons[1]["callback_data"], user_id=BOB, chat_id=BOB, message_text=handed["text"]))
    (edit,) = tg.fake.calls_to("editMessageText")                                # a decision settles the message
    assert "Step production planning of O1 is done." in edit.params["text"]
    assert _step(tg.app).state == "done"
