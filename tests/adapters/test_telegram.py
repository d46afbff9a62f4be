"""Telegram end to end: webhook updates into the real server, a fake Bot API out."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import (
    GROUP_ID,
    callback_update,
    command_update,
    my_chat_member_update,
    text_update,
)
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import func, select

from bot.ratelimit import IN_FLIGHT
from domain.store.models import Customer, Identity, InboundEvent, Member, Visit

ALICE, BOB = 111, 222


@pytest.fixture
def fake(clock) -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def tg(db_url: str, clock, fake: FakeTelegram) -> Iterator[TelegramStack]:
    stack = TelegramStack(db_url, clock, fake)
    yield stack
    stack.close()


def _count(tg: TelegramStack, model) -> int:
    with tg.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def group_cmd(text: str, user_id: int = ALICE, **kw) -> dict:
    return command_update(text=text, user_id=user_id, chat_id=GROUP_ID, chat_type="group", **kw)


def keyboard(params: dict) -> list[dict]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def test_start_registers_webhook_and_commands_in_two_languages(tg: TelegramStack) -> None:
    assert tg.fake.webhook["url"] == "https://bizbot.example.com/telegram/webhook"
    assert tg.fake.webhook["secret_token"] == "webhook-secret"
    english = {c["command"] for c in tg.fake.commands_for("")}
    chinese = tg.fake.commands_for("zh")
    assert {"visit", "lead", "customer", "help"} <= english
    assert any("拜访" in c["description"] for c in chinese)


def test_first_group_user_becomes_admin_and_command_runs(tg: TelegramStack) -> None:
    assert tg.post(group_cmd("/customer new Acme industry=IT")).status_code == 200
    text = tg.last(GROUP_ID)["text"]
    assert "first member" in text and "Customer Acme (C1) created" in text
    with tg.app.uow() as uow:
        member = uow.session.scalar(select(Member))
        assert (member.name, member.roles) == ("Alice", "admin,manager")


def test_command_addressed_to_the_bot_by_name(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme"))
    tg.post(group_cmd("/customer@bizbot_test_bot list", mention=False))
    assert "Customers (1)" in tg.said(ALICE)[-1] or "Customers (1)" in tg.said(GROUP_ID)[-1]
    before = len(tg.fake.calls_to("sendMessage"))
    tg.post(group_cmd("/customer@some_other_bot list"))
    assert len(tg.fake.calls_to("sendMessage")) == before


def test_wrong_secret_gets_403_and_changes_nothing(tg: TelegramStack) -> None:
    assert tg.post(group_cmd("/customer new Forged"), secret="wrong").status_code == 403
    assert tg.post(group_cmd("/customer new Forged"), secret=None).status_code == 403
    assert _count(tg, Customer) == 0 and _count(tg, Member) == 0


def test_duplicate_update_is_processed_once(tg: TelegramStack) -> None:
    update = group_cmd("/customer new Acme", update_id=5000)
    assert tg.post(update).status_code == 200
    assert tg.post(update).status_code == 200
    assert _count(tg, Customer) == 1
    assert sum("Acme" in t for t in tg.said(GROUP_ID)) == 1


def test_a_redelivered_command_that_changed_nothing_is_answered_once(tg: TelegramStack) -> None:
    """A member's command runs in the session that records its update; when the command commits
    nothing (a refusal, a read), the record is still committed, so a redelivery is skipped."""
    tg.post(group_cmd("/customer new Acme", update_id=5100))
    for update_id, text in ((5101, "/visit Nobody"), (5102, "/lead new"), (5103, "/customer list")):
        update = group_cmd(text, update_id=update_id)
        before = len(tg.fake.calls_to("sendMessage"))
        assert tg.post(update).status_code == 200
        answered = len(tg.fake.calls_to("sendMessage")) - before
        assert answered >= 1, text
        assert tg.post(update).status_code == 200
        assert len(tg.fake.calls_to("sendMessage")) - before == answered, text
    with tg.app.uow() as uow:
        keys = set(uow.session.scalars(select(InboundEvent.key)))
    assert {k.rsplit(":", 1)[1] for k in keys} >= {"5100", "5101", "5102", "5103"}
    assert _count(tg, Visit) == 0 and _count(tg, Customer) == 1


def test_private_replies_go_to_the_private_chat_with_a_pointer_in_the_group(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme"))
    tg.post(group_cmd("/customer show Acme"))
    assert "Acme (C1)" in tg.last(ALICE)["text"]
    assert "private chat" in tg.last(GROUP_ID)["text"]


def test_a_full_width_slash_is_a_command_too(tg: TelegramStack) -> None:
    """A Chinese input method types ／; Telegram marks no command entity, bizbot still runs it."""
    tg.post(group_cmd("/customer new Acme"))
    tg.post(text_update(text="／customer show Acme", user_id=ALICE, chat_id=ALICE))
    assert "Acme (C1)" in tg.last(ALICE)["text"]


def test_escaping_user_text_in_html(tg: TelegramStack) -> None:
    tg.post(group_cmd('/customer new "<b>Evil</b> & Co"'))
    text = tg.last(GROUP_ID)["text"]
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in text


def test_stranger_in_private_chat_is_told_how_to_join(tg: TelegramStack) -> None:
    tg.post(group_cmd("/help"))
    tg.post(command_update(text="/customer list", user_id=BOB, chat_id=BOB))
    assert "invite code" in tg.last(BOB)["text"]


def test_account_linking_with_an_invite_code(tg: TelegramStack) -> None:
    tg.post(group_cmd("/team add bob role=sales"))
    tg.post(group_cmd("/team invite bob"))
    invite = tg.last(ALICE)["text"]
    code = invite.split("/start ")[1].split()[0].rstrip(";")
    tg.post(command_update(text=f"/start {code}", user_id=BOB, chat_id=BOB, first_name="Bob"))
    assert "now acts as bob" in tg.last(BOB)["text"]
    tg.post(command_update(text="/customer new BobCo", user_id=BOB, chat_id=BOB))
    assert "Customer BobCo (C1) created" in tg.last(BOB)["text"]
    tg.post(command_update(text=f"/start {code}", user_id=333, chat_id=333))
    assert "unknown, used or expired" in tg.last(333)["text"]
    with tg.app.uow() as uow:
        ident = uow.session.scalar(select(Identity).where(Identity.external_id == str(BOB)))
        assert uow.session.get(Member, ident.member_id).name == "bob"


def test_conversation_asks_each_field_validates_and_runs(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme"))
    tg.post(command_update(text="/visit", user_id=ALICE, chat_id=ALICE))
    assert "customer" in tg.last(ALICE)["text"].lower()
    options = keyboard(tg.last(ALICE))
    assert {"text": "Acme (C1)", "callback_data": "f:C1"} in options
    tg.post(callback_update(data="f:C1", user_id=ALICE, chat_id=ALICE))
    channel = keyboard(tg.last(ALICE))
    assert any(b["callback_data"] == "f:phone" for b in channel)
    tg.post(callback_update(data="f:phone", user_id=ALICE, chat_id=ALICE))
    tg.post(text_update(text="talked about pricing", user_id=ALICE, chat_id=ALICE))
    tg.post(text_update(text="someday", user_id=ALICE, chat_id=ALICE))
    assert "Cannot read 'someday' as a date" in tg.last(ALICE)["text"]
    tg.post(text_update(text="2026-12-01", user_id=ALICE, chat_id=ALICE))
    assert "Visit V1 to Acme recorded (phone)" in tg.last(ALICE)["text"]
    assert _count(tg, Visit) == 1


def test_holiday_conversation_asks_the_days_and_a_name_that_may_be_skipped(tg: TelegramStack) -> None:
    from domain.store.models import CalendarDay

    tg.post(group_cmd("/help"))                                         # alice: the first member, an admin
    tg.post(command_update(text="/holiday add", user_id=ALICE, chat_id=ALICE))
    assert "first day" in tg.last(ALICE)["text"].lower()
    tg.post(text_update(text="2月12日", user_id=ALICE, chat_id=ALICE))
    assert "last day" in tg.last(ALICE)["text"].lower()
    tg.post(text_update(text="2027-02-06", user_id=ALICE, chat_id=ALICE))
    assert "name" in tg.last(ALICE)["text"].lower()
    tg.post(text_update(text="春节", user_id=ALICE, chat_id=ALICE))
    assert "The end 2027-02-06 is before the start 2027-02-12." in tg.last(ALICE)["text"]
    assert _count(tg, CalendarDay) == 0
    tg.post(command_update(text="/holiday workday", user_id=ALICE, chat_id=ALICE))
    tg.post(text_update(text="2027-02-20", user_id=ALICE, chat_id=ALICE))
    skip = next(b for b in keyboard(tg.last(ALICE)) if b["callback_data"] == "s")
    tg.post(callback_update(data=skip["callback_data"], user_id=ALICE, chat_id=ALICE))      # no last day
    tg.post(callback_update(data="s", user_id=ALICE, chat_id=ALICE))                       # no name
    assert "Working days: Feb 20, 2027." in tg.last(ALICE)["text"].replace("\u2009", " ")
    assert _count(tg, CalendarDay) == 1


def test_control_characters_in_answers_and_codes_are_dropped(tg: TelegramStack) -> None:
    """Typed text that is not a command line (a conversation's answer, an invite code) is cleaned as command
    lines are; on PostgreSQL a NUL in a query crashed."""
    tg.post(group_cmd("/customer new Acme"))
    tg.post(command_update(text="/visit", user_id=ALICE, chat_id=ALICE))
    tg.post(text_update(text="Ac\x00me", user_id=ALICE, chat_id=ALICE))         # the customer, typed
    assert "channel" in tg.last(ALICE)["text"].lower()
    tg.post(command_update(text="/start AB\x00CD", user_id=333, chat_id=333))
    assert "unknown, used or expired" in tg.last(333)["text"]


def test_conversation_cancel_and_timeout(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme"))
    tg.post(command_update(text="/visit", user_id=ALICE, chat_id=ALICE))
    tg.post(callback_update(data="x", user_id=ALICE, chat_id=ALICE))
    assert tg.fake.calls_to("editMessageText")
    tg.post(command_update(text="/visit", user_id=ALICE, chat_id=ALICE))
    tg.app.clock.advance(timedelta(minutes=16))
    tg.post(callback_update(data="f:C1", user_id=ALICE, chat_id=ALICE))
    answers = tg.fake.calls_to("answerCallbackQuery")
    assert "timed out" in answers[-1].params.get("text", "")
    assert _count(tg, Visit) == 0


def test_group_without_arguments_offers_sub_commands(tg: TelegramStack) -> None:
    tg.post(group_cmd("/help"))
    tg.post(group_cmd("/lead"))
    datas = {b["callback_data"] for b in keyboard(tg.last(GROUP_ID))}
    assert {"c:/lead new", "c:/lead list"} <= datas
    tg.post(callback_update(data="c:/lead list", user_id=ALICE, chat_id=GROUP_ID, chat_type="group"))
    assert "Leads (0)" in tg.last(ALICE)["text"]
    assert len(tg.fake.calls_to("answerCallbackQuery")) == 1


def test_every_command_with_arguments_answers(tg: TelegramStack) -> None:
    lines = ["/help", "/team list", "/settings show", "/customer new Acme", "/customer list",
             "/lead new Acme value=1000", "/lead list", "/lead show L1", "/lead stage L1 contact",
             "/lead screen L1 scale=3 position=3 potential=3 intent=3", '/visit Acme note="hi"',
             "/callback list", "/agenda", "/customer show Acme"]
    for line in lines:
        before = len(tg.fake.calls_to("sendMessage"))
        tg.post(command_update(text=line, user_id=ALICE, chat_id=GROUP_ID, chat_type="group"))
        assert len(tg.fake.calls_to("sendMessage")) > before, line
    assert not any(t.startswith("⚠") for t in tg.said())


def test_reminder_decision_edits_the_message(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme"))
    tg.post(group_cmd('/visit Acme note="x" next=today'))
    assert tg.deliver() == 1
    reminder = tg.last(ALICE)
    assert "Callback due" in reminder["text"]
    done = next(b for b in keyboard(reminder) if b["callback_data"].startswith("d:"))
    message_id = tg.fake.calls_to("sendMessage")[-1]
    tg.post(callback_update(data=done["callback_data"], user_id=ALICE, chat_id=ALICE,
                            message_id=7, message_text=reminder["text"]))
    assert "result" in tg.last(ALICE)["text"].lower()
    tg.post(text_update(text="wants a quote", user_id=ALICE, chat_id=ALICE))
    (edit,) = tg.fake.calls_to("editMessageText")
    assert edit.params["message_id"] in (7, "7") and "Callback CB2 with Acme recorded" in edit.params["text"]
    assert not edit.params.get("reply_markup")
    assert message_id
    tg.post(callback_update(data=done["callback_data"], user_id=ALICE, chat_id=ALICE, message_id=7))
    answer = tg.fake.calls_to("answerCallbackQuery")[-1].params
    assert "already done by Alice" in answer["text"] and answer.get("show_alert") in (True, "true")


def test_burst_of_200_reminders_to_20_chats_keeps_within_limits(tg: TelegramStack, clock) -> None:
    from domain.delivery.outbox import enqueue
    from domain.team.members import ensure_org

    tg.fake.clock = lambda: clock.now().timestamp()
    with tg.app.uow() as uow:
        org = ensure_org(uow, "telegram", str(GROUP_ID), "g", "Asia/Shanghai", "en")
        for i in range(200):
            chat = f"-{1000 + i % 20}" if i % 2 else str(5000 + i % 20)
            enqueue(uow, org_id=org.id, key=f"burst:{i}", msgid="Hello {name}", params={"name": i}, channel=chat)
        uow.commit()
    sent = 0
    for _ in range(400):
        sent += tg.deliver()
        if sent == 200:
            break
        clock.advance(timedelta(milliseconds=250))
    assert sent == 200
    assert tg.fake.limit_violations() == []
    texts = tg.said()
    assert len(texts) == 200 and len(set(texts)) == 200


def test_a_message_in_parts_goes_on_from_the_part_that_failed(tg: TelegramStack, clock) -> None:
    """Telegram takes about one message a second per chat: a long message's second part is refused with
    429; the retry sends the parts still missing, never the ones the chat already has."""
    from domain.delivery.outbox import enqueue
    from domain.store.models import OutboxMessage
    from domain.team.members import ensure_org

    tg.fake.enforce_limits = True
    tg.fake.clock = lambda: clock.now().timestamp()
    lines = [f"line {i:04d} " + "x" * 60 for i in range(150)]          # about 11,000 characters: 3 parts
    with tg.app.uow() as uow:
        org = ensure_org(uow, "telegram", str(GROUP_ID), "g", "Asia/Shanghai", "en")
        enqueue(uow, org_id=org.id, key="long", msgid="{text}", params={"text": "\n".join(lines)},
                channel=str(GROUP_ID), urgent=True)
        uow.commit()
    progress = []
    for _ in range(6):
        if tg.deliver():
            break
        with tg.app.uow() as uow:
            progress.append(uow.session.scalar(select(OutboxMessage.parts_sent)))
        clock.advance(timedelta(seconds=2))
    assert progress == [1, 2]
    delivered = [c.params["text"] for c in tg.fake.calls_to("sendMessage") if c.ok]
    assert len(delivered) == 3 and "\n".join(delivered) == "\n".join(lines)
    assert len([c for c in tg.fake.calls_to("sendMessage") if not c.ok]) == 2
    assert tg.fake.limit_violations() == []


def test_bot_api_429_is_retried_after_retry_after(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme"))
    tg.post(group_cmd('/visit Acme note="x" next=today'))
    tg.fake.rate_limit("sendMessage", times=1, retry_after=20)
    assert tg.deliver() == 0
    tg.app.clock.advance(timedelta(seconds=21))
    assert tg.deliver() == 1


def test_bot_added_to_a_group_says_hello(tg: TelegramStack) -> None:
    tg.post(my_chat_member_update(chat_id=GROUP_ID, user_id=ALICE))
    assert "I am bizbot" in tg.last(GROUP_ID)["text"]


def test_locale_from_telegram_language_code(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme", language_code="zh-hans"))
    assert "已建立客户档案" in tg.last(GROUP_ID)["text"]


def test_long_polling_without_a_webhook_url(db_url: str, clock, fake: FakeTelegram) -> None:
    stack = TelegramStack(db_url, clock, fake, telegram_webhook_url=None, telegram_webhook_secret=None)
    try:
        assert fake.calls_to("deleteWebhook")
        fake.queue_update(group_cmd("/customer new Polled"))
        fake.wait_for("sendMessage")
        assert "Customer Polled (C1) created" in stack.last(GROUP_ID)["text"]
    finally:
        stack.close()


def test_handler_level_with_respx(app, clock) -> None:
    """The adapter alone, its Bot API mocked with respx at the HTTP edge (PTB speaks httpx)."""
    import asyncio
    import json
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import parse_qs

    import httpx
    import respx

    from bot.settings import Settings
    from bot.telegram.app import TelegramAdapter

    settings = Settings(database_url="sqlite://", telegram_bot_token=TOKEN,
                        telegram_api_url="https://bot-api.test", telegram_webhook_url="https://x.test/hook")
    sent: list[dict] = []

    def send_message(request: httpx.Request) -> httpx.Response:
        params = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        sent.append(params)
        return httpx.Response(200, json={"ok": True, "result": {
            "message_id": len(sent), "date": 0, "chat": {"id": int(params["chat_id"]), "type": "group"},
            "text": params["text"]}})

    async def scenario() -> None:
        with respx.mock(base_url=f"https://bot-api.test/bot{TOKEN}", assert_all_called=False) as api:
            api.post("/getMe").respond(json={"ok": True, "result": {
                "id": 123, "is_bot": True, "first_name": "bizbot", "username": "bizbot_test_bot"}})
            api.post("/sendMessage").mock(side_effect=send_message)
            adapter = TelegramAdapter(app, settings, ThreadPoolExecutor(max_workers=1))
            await adapter.application.initialize()
            adapter.username = "bizbot_test_bot"
            await adapter.feed(group_cmd("/customer new Respx"))
            await adapter.feed(group_cmd("/lead new Respx value=5000"))
            await adapter.application.shutdown()

    asyncio.run(scenario())
    assert "Customer Respx (C1) created" in sent[0]["text"]
    assert "Lead L1 recorded" in sent[1]["text"]
    assert json.loads(sent[1]["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "c:/lead screen L1"


def test_appraisal_self_review_from_the_prompt_buttons(tg: TelegramStack, clock) -> None:
    tg.post(group_cmd("/team add bob role=sales"))
    tg.post(group_cmd("/team invite bob"))
    code = tg.last(ALICE)["text"].split("/start ")[1].split()[0].rstrip(";")
    tg.post(command_update(text=f"/start {code}", user_id=BOB, chat_id=BOB, first_name="Bob"))
    tg.deliver()                                                       # the worker schedules the org's jobs
    clock.advance(timedelta(days=7))                                   # Monday 30 November: the window opens
    tg.deliver()
    prompt = tg.last(BOB)
    assert "Your 2026-11 self-review is open until Dec 7, 2026" in prompt["text"]  # the 5th: a Saturday
    buttons = keyboard(prompt)
    assert [b["text"] for b in buttons][-1] == "Submit my self-review"
    first = next(b for b in buttons if b["text"].startswith("Score: performance"))
    tg.post(callback_update(data=first["callback_data"], user_id=BOB, chat_id=BOB, message_text=prompt["text"]))
    assert "score" in tg.last(BOB)["text"].lower()
    tg.post(text_update(text="120", user_id=BOB, chat_id=BOB))
    assert "from 0 to 100" in tg.last(BOB)["text"]
    tg.post(text_update(text="85", user_id=BOB, chat_id=BOB))
    assert "your comment on this indicator" in tg.last(BOB)["text"]
    skip = next(b for b in keyboard(tg.last(BOB)) if b["text"] == "Skip")
    tg.post(callback_update(data=skip["callback_data"], user_id=BOB, chat_id=BOB))
    assert "Self-score 85 recorded for performance (contract value signed)" in tg.last(BOB)["text"]
    for n in range(2, 6):
        tg.post(command_update(text=f"/review self {n} 80", user_id=BOB, chat_id=BOB))
    tg.post(command_update(text="/review submit", user_id=BOB, chat_id=BOB))
    assert "self-review is submitted (self-assessed 82)" in tg.last(BOB)["text"]
    tg.deliver()
    # Alice had her own self-review prompt this second: one a second a chat (and the time a request is in flight)
    clock.advance(timedelta(seconds=1 + IN_FLIGHT))
    tg.deliver()
    assert "bob submitted their 2026-11 self-review" in tg.last(ALICE)["text"]
