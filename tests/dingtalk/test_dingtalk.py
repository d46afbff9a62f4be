"""DingTalk end to end: signed robot callbacks into the real server (HTTP callback mode), a fake Open API out."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fakes.dingtalk_fake import FakeDingTalk
from fakes.dingtalk_payloads import CORP, GROUP, card_callback, robot_message
from fakes.dingtalk_stack import DingTalkStack
from sqlalchemy import func, select

from bot.cli import main
from bot.dingtalk import render
from domain.delivery.outbox import enqueue
from domain.store.models import Customer, Identity, InboundEvent, Member, OutboxMessage, Visit

WANG, LI = "manager4521", "sales0072"


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk() as server:
        yield server


@pytest.fixture
def dt(db_url: str, clock, fake: FakeDingTalk) -> Iterator[DingTalkStack]:
    stack = DingTalkStack(db_url, clock, fake)
    yield stack
    stack.close()


def count(dt: DingTalkStack, model) -> int:
    with dt.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def last_card(dt: DingTalkStack, chat: str) -> dict:
    return [m for m in dt.fake.messages_to(chat) if m["kind"] == "card"][-1]


def button(card: dict, label: str) -> str:
    return next(ident for text, ident in render.card_buttons(card["card"]) if text == label)


def test_first_person_in_private_chat_becomes_admin_and_the_answer_uses_the_session_webhook(dt) -> None:
    dt.say("/customer new Acme industry=IT", WANG, "王经理")
    assert "Customer Acme (C1) created" in dt.said()
    with dt.app.uow() as uow:
        member = uow.session.scalar(select(Member))
        assert (member.name, member.roles) == ("王经理", "admin,manager")
        identity = uow.session.scalar(select(Identity))
        assert (identity.platform, identity.workspace, identity.external_id) == ("dingtalk", CORP, WANG)
    (card,) = dt.fake.messages_to(WANG)                                # with buttons: a card, in private
    assert card["kind"] == "card" and dt.fake.card_targets[card["biz"]]["robotCode"] == FakeDingTalk.APP_KEY
    dt.say("/help", WANG, "王经理")
    assert dt.fake.calls_to("/robot/sendBySession")                   # no buttons: the session webhook


def test_group_command_with_chinese_words_when_the_robot_is_mentioned(dt) -> None:
    dt.say("/customer new Acme", WANG, "王经理")
    dt.say(" 客户 新建 华为", WANG, "王经理", group=True)
    assert "华为" in dt.said()
    dt.say("客户 列表", WANG, "王经理", group=True)                    # a private answer: a pointer in the group
    private = dt.texts()[-2]
    assert "Acme" in private and "华为" in private
    assert "I sent you the details in a private chat" in dt.said()
    call = dt.fake.calls_to("/robot/sendBySession")[-1]
    assert call.body["at"] == {"atUserIds": [WANG]}
    assert dt.fake.messages_to(WANG)[-1]["kind"] in ("sampleMarkdown", "card")
    assert count(dt, Customer) == 2
    silent = robot_message("/customer new Ignored", staff=WANG, nick="王经理", now=dt.clock.now(), group=True,
                           webhook_root=dt.fake.root)
    silent["isInAtList"] = False
    assert dt.post(silent).status_code == 200
    assert count(dt, Customer) == 2


def test_expired_session_webhook_answers_through_the_open_api(dt) -> None:
    dt.say("/customer new Acme", WANG, "王经理")
    before = len(dt.fake.calls_to("/robot/sendBySession"))
    dt.say("/customer list", WANG, "王经理", webhook_valid=False)
    assert len(dt.fake.calls_to("/robot/sendBySession")) == before
    (sent,) = dt.fake.calls_to("/v1.0/robot/oToMessages/batchSend")
    assert sent.body["userIds"] == [WANG] and sent.body["robotCode"] == FakeDingTalk.APP_KEY
    assert sent.body["msgKey"] == "sampleMarkdown" and "Acme" in sent.body["msgParam"]
    assert sent.token == "token-1"
    dt.say("/customer list", WANG, "王经理", group=True, webhook_valid=False)
    (pointer,) = dt.fake.calls_to("/v1.0/robot/groupMessages/send")
    assert pointer.body["openConversationId"] == GROUP and "private chat" in pointer.body["msgParam"]
    assert dt.fake.issued == 1                                        # one token, while it lasts


def test_forged_or_stale_callbacks_are_refused_and_change_nothing(dt) -> None:
    payload = robot_message("/customer new Forged", staff=WANG, nick="王经理", now=dt.clock.now(),
                            webhook_root=dt.fake.root)
    assert dt.post(payload, forge=True).status_code == 403
    assert dt.post(payload, offset_ms=-3_601_000).status_code == 401
    assert dt.post(payload, offset_ms=3_601_000).status_code == 401
    no_headers = dt.http.post("/dingtalk/events", json=payload)
    assert no_headers.status_code == 401
    assert count(dt, Member) == 0 and count(dt, Customer) == 0 and count(dt, InboundEvent) == 0
    assert dt.fake.calls == []
    assert dt.post(payload, offset_ms=-3_000_000).status_code == 200  # within the hour: DingTalk's
    assert count(dt, Customer) == 1


def test_a_repeated_callback_is_processed_once(dt) -> None:
    payload = robot_message("/customer new Acme", staff=WANG, nick="王经理", now=dt.clock.now(),
                            webhook_root=dt.fake.root)
    for _ in range(3):
        assert dt.post(payload).status_code == 200
    assert count(dt, Customer) == 1
    assert len(dt.texts()) == 1


def test_card_button_round_trip(dt) -> None:
    dt.say("/customer new Acme", WANG, "王经理")
    dt.say("/lead", WANG, "王经理")                                  # a group of commands: a menu card
    card = last_card(dt, WANG)
    assert card["card"]["contents"][0]["type"] == "markdown"
    labels = [label for label, _id in render.card_buttons(card["card"])]
    assert "new" in labels and "list" in labels
    dt.say("/lead new Acme value=50000", WANG, "王经理")
    dt.press(card["biz"], button(card, "list"), WANG)
    assert "L1" in dt.said()


def test_a_card_clicked_in_a_group_is_answered_in_the_group_and_a_refusal_privately(dt) -> None:
    dt.say("/customer new Acme industry=IT", WANG, "王经理", group=True)
    card = last_card(dt, GROUP)                                       # the answer's card, in the group
    dt.press(card["biz"], button(card, "New lead"), WANG, conversation=GROUP)
    shown = dt.fake.messages_to(GROUP)[-1]                            # answered where it was clicked
    assert "Lead L1 recorded" in render.card_text(shown["card"])
    assert not dt.fake.messages_to(WANG)
    dt.press(card["biz"], button(card, "Archive"), WANG, conversation=GROUP)   # a private answer: to the clicker
    (archive,) = dt.fake.messages_to(WANG)
    assert archive["card"]["header"]["title"]["text"] == "Acme (C1)"
    assert dt.fake.messages_to(GROUP)[-1]["param"]["text"] == "王经理, I sent you the details in a private chat."
    stale = render.encode("c", "/customer show C9")                  # a button for a customer gone since
    dt.press(card["biz"], stale, WANG, conversation=GROUP)
    refusal = dt.fake.messages_to(WANG)[-1]                           # the refusal: to the clicker alone
    assert refusal["param"]["text"].startswith("⚠️") and "C9" in refusal["param"]["text"]
    assert dt.fake.messages_to(GROUP)[-1]["param"]["text"] == "王经理, I sent you the details in a private chat."


def test_a_card_clicked_in_the_private_chat_is_answered_there(dt) -> None:
    dt.say("/customer new Acme industry=IT", WANG, "王经理")
    card = last_card(dt, WANG)
    dt.press(card["biz"], button(card, "Archive"), WANG)              # IM_ROBOT: its space is a cid… too
    (shown,) = dt.fake.messages_to(WANG)[1:]
    assert shown["card"]["header"]["title"]["text"] == "Acme (C1)"
    assert not dt.fake.calls_to("/v1.0/robot/groupMessages/send")


def test_form_asks_each_field_by_card_and_typed_answers(dt) -> None:
    dt.say("/customer new Acme", WANG, "王经理")
    dt.say("/visit", WANG, "王经理")
    card = last_card(dt, WANG)
    assert "customer" in render.card_text(card["card"]).lower()
    dt.press(card["biz"], button(card, "Acme (C1)"), WANG)
    card = last_card(dt, WANG)
    dt.press(card["biz"], next(i for label, i in render.card_buttons(card["card"])
                               if render.decode(i).value == "phone"), WANG)
    dt.say("talked about pricing", WANG, "王经理")
    dt.say("someday", WANG, "王经理")
    assert "Cannot read 'someday' as a date" in render.card_text(last_card(dt, WANG)["card"])
    dt.say("2026-12-01", WANG, "王经理")
    assert "Visit V1 to Acme recorded (phone)" in dt.said()
    assert count(dt, Visit) == 1


def test_team_add_by_mention_links_the_account_and_invites_link_another(dt) -> None:
    dt.say("/help", WANG, "王经理")
    dt.say("/team add @李娜 role=sales", WANG, "王经理", group=True, at_users=[LI])
    assert "linked to their DingTalk account" in dt.said()
    dt.say("/customer new Beta", LI, "李娜")
    with dt.app.uow() as uow:
        li = uow.session.scalar(select(Member).where(Member.name == "李娜"))
        assert li.roles == "sales"
        assert uow.session.scalar(select(Customer)).owner_id == li.id
    dt.say("/team add zhao role=sales", WANG, "王经理")
    dt.say("/team invite zhao", WANG, "王经理")
    invite = dt.said()
    code = invite.split("/start ")[1].split()[0].rstrip(";").strip("\\")
    dt.say(f"/start {code}", "sales0099", "赵六")
    assert "now acts as zhao" in dt.said()
    dt.say("/customer list", "sales0099", "赵六")
    assert count(dt, Identity) == 3


def test_a_stranger_in_a_new_organisation_is_refused_when_enrolment_is_closed(db_url, clock, fake) -> None:
    stack = DingTalkStack(db_url, clock, fake, open_enrolment=False, admins=f"dingtalk:{WANG}")
    try:
        stack.say("/customer new Acme", "someone", "路人")
        assert "not a bizbot department" in stack.said()
        assert count(stack, Member) == 0
        stack.say("/customer new Acme", WANG, "王经理")
        assert count(stack, Customer) == 1
    finally:
        stack.close()


def test_throttled_answers_go_to_the_outbox_and_the_dispatcher_waits(dt) -> None:
    dt.say("/customer new Acme", WANG, "王经理")
    dt.fake.throttle["/robot/sendBySession"] = 1
    dt.fake.throttle["/v1.0/robot/oToMessages/batchSend"] = 1
    dt.say("/customer list", WANG, "王经理")                           # webhook 130101, Open API 429
    with dt.app.uow() as uow:
        (kept,) = uow.session.scalars(select(OutboxMessage))
        assert kept.status == "pending"
    assert dt.deliver() == 1
    assert "Acme" in dt.said()


def test_outbox_sender_backs_off_when_throttled_and_refreshes_the_token(dt) -> None:
    dt.say("/help", WANG, "王经理")
    with dt.app.uow() as uow:
        member = uow.session.scalar(select(Member))
        enqueue(uow, org_id=member.org_id, key="n1", msgid="Hello {name}", params={"name": "x"},
                recipient_id=member.id, urgent=True)
        uow.commit()
    dt.fake.throttle["/v1.0/robot/oToMessages/batchSend"] = 1
    assert dt.deliver() == 0
    with dt.app.uow() as uow:
        msg = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.key == "n1"))
        assert msg.status == "pending" and msg.available_at > dt.clock.now()
        assert "throttled" in msg.last_error
    assert dt.deliver() == 0                                          # not before its time
    dt.clock.advance(timedelta(minutes=2))
    dt.fake.revoke()                                                  # the token expired meanwhile
    assert dt.deliver() == 1
    assert dt.fake.issued == 2
    assert dt.fake.messages_to(WANG)[-1]["param"]["text"] == "Hello x"


def test_card_callback_for_a_foreign_button_is_ignored(dt) -> None:
    dt.say("/help", WANG, "王经理")
    response = dt.post(card_callback(out_track_id="x", action_id="button_1646816888257", staff=WANG))
    assert response.status_code == 200
    assert count(dt, InboundEvent) == 1


def test_setup_checks_the_credentials_against_the_open_api(fake, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"DINGTALK_CLIENT_ID": fake.APP_KEY, "DINGTALK_CLIENT_SECRET": fake.APP_SECRET,
           "DINGTALK_API_URL": fake.root, "BIZBOT_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}
    done = CliRunner().invoke(main, ["dingtalk", "setup"], env=env)
    assert done.exit_code == 0, done.output
    assert "Stream" in done.output and "OK: DingTalk issued an access token" in done.output
    refused = CliRunner().invoke(main, ["dingtalk", "setup"], env={**env, "DINGTALK_CLIENT_SECRET": "wrong"})
    assert refused.exit_code == 1 and "invalidClientIdOrSecret" in refused.output
