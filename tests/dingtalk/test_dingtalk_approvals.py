"""A contract approved by card buttons in DingTalk with one approver on Telegram: the first click wins, and
every message about the request (the DingTalk cards and the Telegram message) shows the decision."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.dingtalk_fake import FakeDingTalk
from fakes.dingtalk_payloads import GROUP, body_of, card_callback, signed
from fakes.dingtalk_stack import DingTalkStack
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import callback_update, command_update, json_body, webhook_headers
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN
from sqlalchemy import func, select

from bot.dingtalk import render
from domain.store.models import ApprovalDecision, Contract, InboundEvent, OutboxPost

WANG, MIKE, ALICE, LEO, HANK = "s001", "s003", "s002", "s004", "s005"
LILY_TG = 444


@pytest.fixture
def both(db_url: str, clock) -> Iterator[DingTalkStack]:
    with FakeDingTalk() as dt_fake, FakeTelegram(token=TG_TOKEN) as tg_fake:
        stack = DingTalkStack(db_url, clock, dt_fake, telegram_bot_token=TG_TOKEN, telegram_api_url=tg_fake.root,
                              telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                              telegram_webhook_secret=TG_SECRET)
        stack.tg = tg_fake  # type: ignore[attr-defined]
        yield stack
        stack.close()


def tg_post(stack: DingTalkStack, update: dict) -> None:
    stack.tg.remember(update)  # type: ignore[attr-defined]
    response = stack.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(TG_SECRET))
    assert response.status_code == 200


def drain(stack: DingTalkStack, clock) -> None:
    for _ in range(8):
        clock.advance(timedelta(seconds=2))
        stack.deliver()


def cards_to(stack: DingTalkStack, staff: str) -> list[dict]:
    return [m for m in stack.fake.messages_to(staff) if m["kind"] == "card"]


def press_card(stack: DingTalkStack, card: dict, command: str, staff: str) -> None:
    ident = next(i for _label, i in render.card_buttons(card["card"])
                 if render.decode(i).value.split()[0] == command)
    stack.press(card["biz"], ident, staff)


def test_first_click_wins_across_dingtalk_and_telegram(both: DingTalkStack, clock) -> None:
    both.say("/help", WANG, "wang")
    for staff, line in ((HANK, "/team add @hank role=head"), (MIKE, "/team add @mike role=manager supervisor=hank"),
                        (ALICE, "/team add @alice role=sales supervisor=mike")):
        both.say(line, WANG, "wang", group=True, at_users=[staff])
    both.say("/team add lily role=legal supervisor=hank", WANG, "wang")
    both.say("/team add @leo role=legal", WANG, "wang", group=True, at_users=[LEO])
    both.say(f'/policy channel "{GROUP}"', WANG, "wang")
    both.say("/team invite lily", WANG, "wang")
    code = both.said().split("/start ")[1].split()[0].rstrip(";")
    tg_post(both, command_update(text=f"/start {code}", user_id=LILY_TG, chat_id=LILY_TG, first_name="Lily"))
    both.say("/customer new Acme", ALICE, "alice")
    both.say('/contract new Acme title="Support" amount=100000 delivery=2027-01-15', ALICE, "alice")
    both.say('/contract terms K1 "100% on signing"', ALICE, "alice")
    both.say("/contract submit K1", ALICE, "alice")
    drain(both, clock)

    (mike_card,) = cards_to(both, MIKE)
    assert "step 1 of 2" in render.card_text(mike_card["card"])
    press_card(both, mike_card, "/approve", MIKE)                     # step 1 on DingTalk, by card button
    assert render.card_buttons(both.fake.cards[mike_card["biz"]]) == []
    drain(both, clock)

    group_card = cards_to(both, GROUP)[-1]                            # step 2: in the group, and lily on Telegram
    assert "step 2 of 2" in render.card_text(group_card["card"])
    lily = [c.params for c in both.tg.calls_to("sendMessage") if int(c.params["chat_id"]) == LILY_TG][-1]
    assert "step 2 of 2" in lily["text"]
    markup = lily["reply_markup"] if isinstance(lily["reply_markup"], dict) else json.loads(lily["reply_markup"])
    approve = next(b["callback_data"] for row in markup["inline_keyboard"] for b in row
                   if b["callback_data"].split(":", 1)[1].startswith("/approve"))
    with both.app.uow() as uow:
        lily_ref = next(p.message_ref for p in uow.session.scalars(select(OutboxPost))
                        if p.chat == str(LILY_TG))
    tg_post(both, callback_update(data=approve, user_id=LILY_TG, chat_id=LILY_TG, message_id=int(lily_ref),
                                  message_text=lily["text"], first_name="Lily"))   # lily first
    press_card(both, group_card, "/approve", LEO)                     # leo, legal too, second: refused
    assert "already decided" in both.said()
    drain(both, clock)

    with both.app.uow() as uow:
        assert uow.session.get(Contract, 1).state == "signed"
        decisions = list(uow.session.scalars(select(ApprovalDecision).where(ApprovalDecision.step == 1)))
        assert len(decisions) == 1
        posts = list(uow.session.scalars(select(OutboxPost).where(OutboxPost.platform == "dingtalk")))
    assert {p.chat for p in posts} >= {MIKE, GROUP}
    for post in posts:                                                # every card shows the final state
        shown = both.fake.cards[post.message_ref]
        assert "Approved" in render.card_text(shown), post.chat
        assert render.card_buttons(shown) == []


def test_forged_or_stale_card_callbacks_are_refused_and_decide_nothing(both: DingTalkStack, clock) -> None:
    both.say("/help", WANG, "wang")
    for staff, line in ((MIKE, "/team add @mike role=manager"), (ALICE, "/team add @alice role=sales supervisor=mike"),
                        (LEO, "/team add @leo role=legal")):
        both.say(line, WANG, "wang", group=True, at_users=[staff])
    both.say("/customer new Acme", ALICE, "alice")
    both.say('/contract new Acme title="Support" amount=100000 delivery=2027-01-15', ALICE, "alice")
    both.say('/contract terms K1 "100% on signing"', ALICE, "alice")
    both.say("/contract submit K1", ALICE, "alice")
    drain(both, clock)
    (card,) = cards_to(both, MIKE)
    approve = next(i for _label, i in render.card_buttons(card["card"])
                   if render.decode(i).value.split()[0] == "/approve")
    click = card_callback(out_track_id=card["biz"], action_id=approve, staff=MIKE)
    with both.app.uow() as uow:
        seen = uow.session.scalar(select(func.count()).select_from(InboundEvent))
    calls = len(both.fake.calls)

    assert both.post(click, forge=True).status_code == 403               # signed with another secret
    assert both.post(click, offset_ms=-3_601_000).status_code == 401     # more than an hour old
    assert both.post(click, offset_ms=3_601_000).status_code == 401      # more than an hour ahead
    assert both.http.post("/dingtalk/events", content=body_of(click)).status_code == 401   # not signed
    unsigned = signed(FakeDingTalk.APP_SECRET, clock.now())
    unsigned["timestamp"] = str(int(unsigned["timestamp"]) + 1)          # a timestamp the signature is not for
    assert both.http.post("/dingtalk/events", content=body_of(click), headers=unsigned).status_code == 403
    with both.app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ApprovalDecision)) == 0
        assert uow.session.scalar(select(func.count()).select_from(InboundEvent)) == seen
        assert uow.session.get(Contract, 1).state == "pending"
    assert len(both.fake.calls) == calls                                  # nothing said, no card touched
    assert render.card_buttons(both.fake.cards[card["biz"]]) != []

    assert both.post(click).status_code == 200                            # DingTalk's own: decided
    with both.app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ApprovalDecision)) == 1
    assert render.card_buttons(both.fake.cards[card["biz"]]) == []
