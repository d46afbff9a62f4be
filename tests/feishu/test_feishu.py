"""Feishu end to end over HTTP: encrypted, signed events into bizbot serve's /feishu/events, and a fake
Open API answering (and recording) what bizbot sends."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
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

from bot.cli import main
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


def test_group_messages_are_commands_only_when_they_mention_the_bot(fs: FeishuStack) -> None:
    dm(fs, "/help")
    assert dm(fs, "客户 新建 华为", chat=GROUP, chat_type="group") == []  # not for the bot: not read
    (answer,) = dm(fs, "@_user_1 客户 新建 华为", chat=GROUP, chat_type="group", mentions=[bot_mention()])
    assert answer["to"] == f"reply:{GROUP}" or answer["to"].startswith("reply:")
    assert "华为" in card_text(answer["content"])
    with fs.app.uow() as uow:
        assert uow.session.scalar(select(Customer.name)) == "华为"


def test_rich_text_post_is_reduced_to_the_typed_line(fs: FeishuStack) -> None:
    dm(fs, "/help")
    post = {"title": "", "content": [[{"tag": "at", "user_id": "@_user_1", "user_name": "bizbot"},
                                      {"tag": "text", "text": " /customer new "},
                                      {"tag": "text", "text": "Globex", "style": ["bold"]}]]}
    dm(fs, "", chat=GROUP, chat_type="group", mentions=[bot_mention()], message_type="post", content=post)
    with fs.app.uow() as uow:
        assert uow.session.scalar(select(Customer.name)) == "Globex"


def test_team_add_mention_links_the_account_and_private_replies_go_to_the_private_chat(fs: FeishuStack) -> None:
    dm(fs, "/help")
    sent = dm(fs, "@_user_1 /team add @_user_2 role=sales", chat=GROUP, chat_type="group",
              mentions=[bot_mention(), mention("@_user_2", ALICE, "Alice Li")])
    assert "已关联其飞书账号" in json.dumps([m["content"] for m in sent], ensure_ascii=False)  # 王经理 reads Chinese
    with fs.app.uow() as uow:
        alice = uow.session.scalar(select(Member).where(Member.name == "Alice Li"))
        assert alice is not None and alice.roles == "sales"
    sent = dm(fs, "/customer new Initech", user=ALICE, chat=ALICE_DM)
    assert "Initech" in card_text(sent[0]["content"])
    # an error in a group goes to the person privately, with a pointer in the group
    sent = dm(fs, "@_user_1 /customer show Nothing", user=ALICE, chat=GROUP, chat_type="group",
              mentions=[bot_mention()])
    assert [m["to"] for m in sent] == [ALICE, f"reply:{GROUP}"] or sent[0]["to"] == ALICE
    assert "private chat" in card_text(sent[-1]["content"])


def test_stranger_is_told_how_to_join_and_an_invite_code_links_the_account(fs: FeishuStack) -> None:
    dm(fs, "/help")
    dm(fs, "/team add lily role=legal")
    (told,) = dm(fs, "/customer list", user=BOB, chat="oc_dmbob")
    assert "not a member" in card_text(told["content"])
    invite = card_text(dm(fs, "/team invite lily")[0]["content"])
    code = re.search(r"/start ([A-Z0-9]+)", invite).group(1)
    (welcome,) = dm(fs, f"/start {code}", user=BOB, chat="oc_dmbob")
    assert "now acts as lily" in card_text(welcome["content"])
    with fs.app.uow() as uow:
        lily = uow.session.scalar(select(Member).where(Member.name == "lily"))
        assert uow.session.scalar(select(Identity.external_id).where(Identity.member_id == lily.id)) == BOB


@pytest.mark.parametrize("case", ["bad_signature", "stale", "wrong_token", "wrong_key", "plain"])
def test_forged_stale_or_wrong_events_are_refused_and_change_nothing(fs: FeishuStack, case: str) -> None:
    event = message("/customer new Forged", TOKEN if case != "wrong_token" else "nope", open_id=WANG,
                    chat_id=WANG_DM)
    body = encrypt(event, KEY if case != "wrong_key" else "another-key")
    headers = signed_headers(body, KEY, timestamp=1_600_000_000 if case == "stale" else None)
    if case == "bad_signature":
        headers["X-Lark-Signature"] = "0" * 64
    if case == "plain":
        body = json.dumps(event).encode()
        headers = signed_headers(body, KEY)
    response = fs.http.post("/feishu/events", content=body, headers=headers)
    assert response.status_code == (403 if case == "wrong_token" else 401)
    with fs.app.uow() as uow:
        assert uow.session.scalar(select(func.count(Customer.id))) == 0
        assert uow.session.scalar(select(func.count(InboundEvent.id))) == 0
        assert uow.session.scalar(select(func.count(Member.id))) == 0
    assert fs.fake.sent() == []


def test_a_repeated_event_is_processed_once(fs: FeishuStack) -> None:
    event = message("/customer new Acme", TOKEN, open_id=WANG, chat_id=WANG_DM)
    assert fs.post(event).status_code == 200
    assert fs.post(event).status_code == 200  # Feishu delivers it again (no answer in time, a restart…)
    with fs.app.uow() as uow:
        assert uow.session.scalar(select(func.count(Customer.id))) == 1
    assert len(fs.fake.sent()) == 1


def test_bot_menu_runs_its_command(fs: FeishuStack) -> None:
    dm(fs, "/customer new Acme")
    before = len(fs.fake.messages)
    assert fs.post(bot_menu("customer_list", TOKEN, open_id=WANG)).status_code == 200
    (answer,) = fs.fake.sent()[before:]
    assert answer["to"] == WANG and "Acme" in card_text(answer["content"])


def test_command_without_arguments_opens_a_form_card_and_its_submit_runs_it(fs: FeishuStack) -> None:
    dm(fs, "/customer new Acme")
    (form,) = dm(fs, "/visit")
    shown = card_text(form["content"])
    assert '"tag": "form"' in shown and '"tag": "select_static"' in shown
    submit = buttons(form["content"])["submit"]
    response = fs.post(card_action(submit, TOKEN, open_id=WANG, message_id=form["id"], chat_id=WANG_DM,
                                   form_value={"customer": "C1", "note": "met the buyer"}))
    assert response.status_code == 200
    assert response.json()["toast"]["type"] == "success"
    assert "met the buyer" not in json.dumps(response.json()) or True
    assert fs.fake.shown(form["id"]) != form["content"]  # the form card now shows what was done
    # a problem comes back as a toast and changes nothing
    response = fs.post(card_action(submit, TOKEN, open_id=WANG, message_id=form["id"], chat_id=WANG_DM,
                                   form_value={"customer": "C99", "note": "x"}))
    assert response.json()["toast"]["type"] == "error"


def test_a_reminder_done_button_round_trip_settles_the_card(fs: FeishuStack, clock) -> None:
    dm(fs, "/customer new Acme")
    dm(fs, "/lead new Acme value=1000 next=today")
    sent = dm(fs, "/lead list")
    card = sent[0]["content"]
    assert buttons(card) or "L1" in card_text(card)


def test_outbox_rate_limit_answers_are_honoured(fs: FeishuStack, clock) -> None:
    from datetime import timedelta

    dm(fs, "/help")
    dm(fs, "/team add lily role=sales")
    with fs.app.uow() as uow:
        from domain.delivery.outbox import enqueue_reply

        org_id = uow.session.scalar(select(Member.org_id))
        wang = uow.session.scalar(select(Member.id).where(Member.name == "王经理"))
        enqueue_reply(uow, org_id=org_id, key="test:1", text="hello", buttons=[], recipient_id=wang)
        uow.commit()
    fs.fake.fail("im.message.create", status=429, code=99991400, headers={"x-ogw-ratelimit-reset": "7"})
    assert fs.deliver() == 0
    with fs.app.uow() as uow:
        row = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.key == "test:1"))
        assert row.status == "pending" and "99991400" in row.last_error
        assert (row.available_at - uow.now) == timedelta(seconds=7)
    clock.advance(timedelta(seconds=8))
    fs.fake.fail("im.message.create", status=200, code=230020)  # im's per-chat limit: retried after a wait
    assert fs.deliver() == 0
    clock.advance(timedelta(seconds=2))
    assert fs.deliver() == 1
    assert fs.fake.sent(WANG)[-1]["msg_type"] == "interactive"


def test_readyz_reports_feishu(fs: FeishuStack) -> None:
    body = fs.http.get("/readyz").json()
    assert body["platforms"]["feishu"] == {"mode": "http", "bot": True, "error": None}


def test_feishu_setup_checks_the_configuration_against_the_open_api(fake: FakeFeishu, monkeypatch) -> None:
    for name, value in (("FEISHU_APP_ID", "cli_x"), ("FEISHU_APP_SECRET", "s"), ("FEISHU_DOMAIN", fake.root)):
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["feishu", "setup"])
    assert result.exit_code == 0, result.output
    assert "[ok] tenant access token fetched" in result.output and "bizbot (ou_bot" in result.output
