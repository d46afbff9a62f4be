"""Buttons end to end: a milestone's "Mark done" pressed in Slack and in Telegram, against fake servers."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import callback_update, command_update, json_body, webhook_headers
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN
from sqlalchemy import select

from domain.kernel.clock import FakeClock
from domain.store.models import ProjectItem

CAROL_TG = 4343


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeTelegram]]:
    with FakeSlack() as slack, FakeTelegram(token=TG_TOKEN) as telegram:
        slack.users["U1"] = {"real_name": "wang", "locale": "en-US"}
        slack.users["U2"] = {"real_name": "pat", "locale": "en-US"}
        slack.users["U3"] = {"real_name": "sam", "locale": "en-US"}
        yield slack, telegram


@pytest.fixture
def stack(db_url: str, clock: FakeClock, fakes: tuple[FakeSlack, FakeTelegram]) -> Iterator[SlackStack]:
    slack, telegram = fakes
    both = SlackStack(db_url, clock, slack, telegram_bot_token=TG_TOKEN, telegram_api_url=telegram.root,
                      telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                      telegram_webhook_secret=TG_SECRET)
    yield both
    both.close()


def tg(stack: SlackStack, telegram: FakeTelegram, update: dict) -> None:
    telegram.remember(update)
    response = stack.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(TG_SECRET))
    assert response.status_code == 200


def advance(stack: SlackStack, clock: FakeClock, delta: timedelta) -> None:
    end = clock.now() + delta
    while clock.now() < end:
        clock.advance(min(timedelta(minutes=30), end - clock.now()))
        stack.deliver()


def test_mark_done_buttons_in_slack_and_telegram(stack: SlackStack, fakes: tuple[FakeSlack, FakeTelegram],
                                                 clock: FakeClock) -> None:
    slack, telegram = fakes
    stack.say("/help")                                                   # U1 (wang): admin and manager
    stack.say("/team", "add <@U2|pat> role=project_manager supervisor=wang")
    stack.say("/team", "add <@U3|sam> role=project_staff supervisor=pat")
    stack.say("/team", "add carol role=project_staff supervisor=pat")
    code = stack.say("/team", "invite carol")["text"].split("/start ")[1].split()[0].rstrip(";.")
    tg(stack, telegram, command_update(text=f"/start {code}", user_id=CAROL_TG, chat_id=CAROL_TG, first_name="Carol"))
    out = stack.say("/project", 'name=Pilot budget=1万 start=2026-11-30 reason=trial manager=pat team=sam,carol',
                    user_id="U3")["text"]
    assert "Project initiation A1 submitted" in out
    assert "All steps approved" in stack.say("/approve", "A1")["text"]
    stack.say("/project", 'plan P1 "Spec" owner=sam due=2026-11-25', user_id="U2")
    stack.say("/project", 'plan P1 "Data" owner=carol due=2026-11-25', user_id="U2")
    assert "sent for review as A2" in stack.say("/project", "plan P1 submit", user_id="U2")["text"]
    stack.say("/approve", "A2")
    advance(stack, clock, timedelta(days=2))                           # Wednesday 25th: both are due today
    post = next(c for c in slack.calls_to("chat.postMessage")
                if c.args["channel"] == "U3" and "Due today: M1" in json.dumps(c.args, ensure_ascii=False))
    done = next(e for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"]
                if "/project done P1 M1" in e["value"])
    press = stack.button(action_id=done["action_id"], value=done["value"], user_id="U3", channel_id="U3",
                         message_ts="1700000000.000400")
    press["message"]["text"] = post.args["text"]
    assert stack.interact(press).status_code == 200
    stack.deliver()
    sent = [c for c in telegram.calls_to("sendMessage") if int(c.params["chat_id"]) == CAROL_TG
            and "Due today: M2" in c.params["text"]]
    assert sent
    markup = sent[-1].params["reply_markup"]
    keyboard = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
    data = next(b["callback_data"] for row in keyboard for b in row if b["text"] == "Mark done")
    tg(stack, telegram, callback_update(data=data, user_id=CAROL_TG, chat_id=CAROL_TG,
                                        message_text=sent[-1].params["text"], first_name="Carol"))
    stack.deliver()
    with stack.app.uow() as uow:
        states = {i.number: i.state for i in uow.session.scalars(select(ProjectItem))}
    assert states == {1: "done", 2: "done"}
