"""One request, three platforms: a contract approved step by step on Slack, Telegram and Feishu; a decision
taken with a Feishu card button revises the request's messages on Slack and Telegram, and a later click on
Telegram is told who was first."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from approvals.test_approvals_channels import (
    CHANNEL,
    LILY_TG,
    drain,
    latest_text,
    press_slack,
    setup_department,
    slack_posts,
    tg_keyboard,
    tg_sent,
)
from fakes.feishu_fake import FakeFeishu, buttons, card_text
from fakes.feishu_payloads import card_action, encrypt, message, signed_headers
from fakes.feishu_stack import APP_ID, APP_SECRET, KEY, TOKEN
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import callback_update, json_body, webhook_headers
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN
from sqlalchemy import select

from domain.store.models import ApprovalDecision, OutboxPost

LEO_FS = "ou_leo00000000000000000000000000009"
LEO_DM = "oc_dmleo000000000000000000000000009"


@pytest.fixture
def three(db_url: str, clock) -> Iterator[SlackStack]:
    with FakeSlack() as slack_fake, FakeTelegram(token=TG_TOKEN) as tg_fake, FakeFeishu() as fs_fake:
        for uid, name in (("U1", "Wang"), ("U2", "Alice"), ("U3", "Mike"), ("U4", "Leo"), ("U5", "Hank")):
            slack_fake.users[uid] = {"real_name": name, "locale": "en-US"}
        fs_fake.users[LEO_FS] = {"name": "Leo"}
        stack = SlackStack(db_url, clock, slack_fake, telegram_bot_token=TG_TOKEN, telegram_api_url=tg_fake.root,
                           telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                           telegram_webhook_secret=TG_SECRET, feishu_app_id=APP_ID, feishu_app_secret=APP_SECRET,
                           feishu_verification_token=TOKEN, feishu_encrypt_key=KEY, feishu_domain=fs_fake.root)
        stack.tg = tg_fake  # type: ignore[attr-defined]
        stack.fs = fs_fake  # type: ignore[attr-defined]
        yield stack
        stack.close()


def fs_post(stack: SlackStack, event: dict[str, Any]) -> httpx.Response:
    body = encrypt(event, KEY)
    response = stack.http.post("/feishu/events", content=body, headers=signed_headers(body, KEY))
    assert stack.asgi.state.feishu.wait_idle(10)
    assert response.status_code == 200, response.text
    return response


def test_a_decision_on_a_feishu_card_revises_slack_and_telegram(three: SlackStack, clock) -> None:
    setup_department(three)
    invite = three.say("/team", "invite leo")["text"]
    code = re.search(r"/start ([A-Z0-9]+)", invite).group(1)  # type: ignore[union-attr]
    fs_post(three, message(f"/start {code}", TOKEN, open_id=LEO_FS, chat_id=LEO_DM))
    fs: FakeFeishu = three.fs  # type: ignore[attr-defined]
    assert "now acts as leo" in card_text(fs.sent(LEO_DM)[-1]["content"])

    three.say("/customer", "new Acme", user_id="U2")
    three.say("/contract", 'new Acme title="Support" amount=100000', user_id="U2")
    three.say("/contract", "submit K1", user_id="U2")
    drain(three, clock)
    press_slack(three, slack_posts(three, "U3")[0], "/approve", "U3")  # step 1 on Slack
    drain(three, clock)
    lily_dm = tg_sent(three, LILY_TG)[-1]
    assert "step 2 of 2" in lily_dm["text"] or "step 2" in lily_dm["text"]

    # leo (legal too) looks the request up on Feishu and approves step 2 with the card's button
    fs_post(three, message("/approvals show A1", TOKEN, open_id=LEO_FS, chat_id=LEO_DM))
    shown = fs.sent(LEO_DM)[-1]
    approve = buttons(shown["content"])["/approve"]
    answer = fs_post(three, card_action(approve, TOKEN, open_id=LEO_FS, message_id=shown["id"], chat_id=LEO_DM))
    assert answer.json()["toast"]["type"] == "success"
    assert "/approve" not in card_text(fs.shown(shown["id"]))  # the card lost its buttons, shows the outcome
    drain(three, clock)

    with three.app.uow() as uow:
        decisions = [(d.step, d.outcome) for d in uow.session.scalars(select(ApprovalDecision))]
        assert decisions == [(0, "approve"), (1, "approve")]
        posts = list(uow.session.scalars(select(OutboxPost)))
    assert {p.platform for p in posts} >= {"slack", "telegram"}
    for post in posts:
        if post.platform == "feishu":
            continue
        shown_now = latest_text(three, post.platform, post.chat, post.message_ref)
        assert "leo" in shown_now and "bizbot.cmd" not in shown_now and "callback_data" not in shown_now, (
            post.platform, post.chat)

    # lily, on Telegram, clicks her (stale) button: told who was first, nothing decided twice
    lily_ref = next(p.message_ref for p in posts if p.chat == str(LILY_TG))
    update = callback_update(data=tg_keyboard(lily_dm)["/approve"], user_id=LILY_TG, chat_id=LILY_TG,
                             message_id=int(lily_ref), message_text=lily_dm["text"], first_name="Lily")
    three.tg.remember(update)  # type: ignore[attr-defined]
    assert three.http.post("/telegram/webhook", content=json_body(update),
                           headers=webhook_headers(TG_SECRET)).status_code == 200
    alert = three.tg.calls_to("answerCallbackQuery")[-1].params.get("text", "")  # type: ignore[attr-defined]
    assert "already decided" in alert and "leo" in alert
    with three.app.uow() as uow:
        assert len(list(uow.session.scalars(select(ApprovalDecision)))) == 2
    assert CHANNEL
