"""The Telegram fake and payload builders work with the real python-telegram-bot client."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
from fakes import telegram_payloads as tp
from fakes.telegram_fake import (
    OVERALL,
    PER_CHAT,
    PER_GROUP,
    Call,
    FakeTelegram,
    UploadedFile,
    fake_telegram_server,
    parse_html,
)
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import filters

TOKEN = "123:ABC"
T = TypeVar("T")
KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Approve", callback_data="approve:1")]]
)
KEYBOARD_JSON = {"inline_keyboard": [[{"text": "Approve", "callback_data": "approve:1"}]]}


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    yield from fake_telegram_server()


def run(fake: FakeTelegram, scenario: Callable[[Bot], Awaitable[T]], token: str = TOKEN) -> T:
    """Run `scenario` with an initialized Bot pointed at the fake."""

    async def main() -> T:
        async with Bot(token=token, base_url=fake.base_url) as bot:
            return await scenario(bot)

    return asyncio.run(main())


def test_get_me_answers_the_test_bot(fake: FakeTelegram) -> None:
    me = run(fake, lambda bot: bot.get_me())

    assert (me.id, me.is_bot, me.username) == (123, True, "bizbot_test_bot")
    assert me.can_join_groups is True and me.supports_inline_queries is False
    call = fake.calls_to("getMe")[0]
    assert call.token == TOKEN and TOKEN not in repr(call) and call.params == {}
    assert call.ok and call.at <= time.monotonic()


def test_send_message_records_decoded_params_and_answers_a_message(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> list[Any]:
        return [
            await bot.send_message(111, "Visit to Acme?", reply_markup=KEYBOARD),
            await bot.send_message(111, "second", disable_notification=True),
            await bot.send_message(-1001234567890, "to the group"),
        ]

    first, second, group = run(fake, scenario)

    params = fake.calls_to("sendMessage")[0].params
    assert params == {"chat_id": 111, "text": "Visit to Acme?", "reply_markup": KEYBOARD_JSON}
    assert fake.calls_to("sendMessage")[1].params["disable_notification"] is True
    assert first.reply_markup == KEYBOARD and first.reply_markup.inline_keyboard[0][0].callback_data
    assert (first.message_id, second.message_id, group.message_id) == (1, 2, 1)
    assert first.from_user.id == 123 and first.from_user.is_bot
    assert (first.chat.id, first.chat.type, group.chat.type) == (111, "private", "supergroup")
    assert first.text == "Visit to Acme?" and first.entities == () and second.reply_markup is None
    assert fake.messages[(111, 1)]["reply_markup"] == KEYBOARD_JSON


def test_edit_message_text_and_reply_markup(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> list[Any]:
        sent = await bot.send_message(111, "Visit to Acme?", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text("Approved by Alice", 111, sent.message_id)
        markup = await bot.edit_message_reply_markup(111, sent.message_id, reply_markup=KEYBOARD)
        inline = await bot.edit_message_text("x", inline_message_id="AAQ123")
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text(
                "Approved by Alice", 111, sent.message_id, reply_markup=KEYBOARD
            )
        return [edited, markup, inline]

    edited, markup, inline = run(fake, scenario)

    assert edited.text == "Approved by Alice" and edited.edit_date is not None
    assert edited.reply_markup is None, "editMessageText without reply_markup drops the keyboard"
    assert markup.text == "Approved by Alice" and markup.reply_markup == KEYBOARD
    assert inline is True
    assert fake.calls_to("editMessageText")[0].params == {
        "chat_id": 111,
        "message_id": 1,
        "text": "Approved by Alice",
    }


def test_edit_knows_the_message_of_a_queued_callback(fake: FakeTelegram) -> None:
    update = tp.callback_update("approve:1", message_id=77, message_text="Approve?")
    fake.queue_update(update)
    markup = update["callback_query"]["message"]["reply_markup"]

    async def scenario(bot: Bot) -> None:
        keyboard = InlineKeyboardMarkup.de_json(markup, bot)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("Approve?", 111, 77, reply_markup=keyboard)
        sent = await bot.send_message(111, "next")
        assert sent.message_id == 78

    run(fake, scenario)


def test_answer_callback_query_and_chat_queries(fake: FakeTelegram) -> None:
    fake.set_member(-1001234567890, 111, "administrator")

    async def scenario(bot: Bot) -> list[Any]:
        return [
            await bot.answer_callback_query("4382102950274913541", text="Saved", show_alert=True),
            await bot.get_chat(-1001234567890),
            await bot.get_chat_member(-1001234567890, 111),
            await bot.get_chat_member(-1001234567890, 123),
        ]

    answered, chat, admin, bot_member = run(fake, scenario)

    assert answered is True
    assert fake.calls_to("answerCallbackQuery")[0].params == {
        "callback_query_id": "4382102950274913541",
        "text": "Saved",
        "show_alert": True,
    }
    assert (chat.id, chat.type) == (-1001234567890, "supergroup")
    assert admin.status == "administrator" and admin.can_delete_messages
    assert bot_member.status == "member" and bot_member.user.is_bot


def test_set_my_commands_per_language(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> list[Any]:
        await bot.set_my_commands([BotCommand("visit", "Record a visit")])
        await bot.set_my_commands([BotCommand("visit", "记录拜访")], language_code="zh")
        scope = BotCommandScopeAllGroupChats()
        await bot.set_my_commands([BotCommand("kpi", "KPI")], scope=scope, language_code="en")
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Visit-Now", "bad")])
        return [await bot.get_my_commands(language_code="zh"), await bot.get_my_commands()]

    zh, default = run(fake, scenario)

    assert [(c.command, c.description) for c in zh] == [("visit", "记录拜访")]
    assert [c.command for c in default] == ["visit"]
    second = fake.calls_to("setMyCommands")[1].params
    assert second == {
        "commands": [{"command": "visit", "description": "记录拜访"}],
        "language_code": "zh",
    }
    scoped = fake.commands_for("en", {"type": "all_group_chats"})
    assert scoped == [{"command": "kpi", "description": "KPI"}]


def test_webhook_with_secret_token(fake: FakeTelegram) -> None:
    url = "https://bizbot.example.com/telegram"

    async def scenario(bot: Bot) -> list[Any]:
        assert await bot.set_webhook(url, secret_token="s3cr3t_-", allowed_updates=["message"])
        info = await bot.get_webhook_info()
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        with pytest.raises(BadRequest, match="https url must be provided"):
            await bot.set_webhook("http://bizbot.example.com/telegram")
        deleted = await bot.delete_webhook(drop_pending_updates=True)
        return [info, deleted, await bot.get_webhook_info()]

    info, deleted, after = run(fake, scenario)

    params = fake.calls_to("setWebhook")[0].params
    assert params["url"] == url and params["secret_token"] == "s3cr3t_-"
    assert params["allowed_updates"] == ["message"]
    assert (info.url, info.pending_update_count, info.allowed_updates) == (url, 0, ("message",))
    assert deleted is True and after.url == ""
    assert fake.calls_to("deleteWebhook")[0].params == {"drop_pending_updates": True}
    assert fake.webhook == {}


def test_rate_limit_surfaces_as_retry_after(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.rate_limit("sendMessage", retry_after=3)

    async def scenario(bot: Bot) -> RetryAfter:
        with pytest.raises(RetryAfter) as limited:
            await bot.send_message(111, "hi")
        await bot.send_message(111, "hi again")
        return limited.value

    error = run(fake, scenario)

    assert error.retry_after == timedelta(seconds=3)
    assert [c.status for c in fake.calls_to("sendMessage")] == [429, 200]


def test_fail_injects_errors_then_recovers(fake: FakeTelegram) -> None:
    fake.fail("sendMessage")
    fake.fail("sendMessage", "Forbidden: bot was blocked by the user", code=403)

    async def scenario(bot: Bot) -> None:
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(111, "hi")
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(111, "hi")
        assert (await bot.send_message(111, "hi")).message_id == 1

    run(fake, scenario)


def test_telegram_validation_errors(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> None:
        with pytest.raises(BadRequest, match='unsupported start tag "customer" at byte offset 11'):
            await bot.send_message(111, "<b>&lt;</b><customer>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            too_long = InlineKeyboardButton("x", callback_data="x" * 65)
            await bot.send_message(111, "hi", reply_markup=InlineKeyboardMarkup([[too_long]]))
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(111, "x" * 4097)
        sent = await bot.send_message(111, "<b>A&amp;B</b> &lt;x&gt;", parse_mode="HTML")
        assert sent.text == "A&B <x>"

    run(fake, scenario)


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<< Title >>", 'Unsupported start tag "<" at byte offset 0'),
        ("拜访 <客户>", 'Unsupported start tag "客户" at byte offset 7'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_parse_html_reports_like_telegram(html: str, detail: str) -> None:
    with pytest.raises(Exception) as failed:
        parse_html(html)
    assert str(failed.value) == f"Bad Request: can't parse entities: {detail}"


def test_get_updates_long_polls_and_drains_by_offset(fake: FakeTelegram) -> None:
    first = fake.queue_update(tp.command_update("/visit Acme"))
    fake.queue_update(tp.callback_update("approve:1"))

    async def scenario(bot: Bot) -> tuple[list[Update], list[Update], float]:
        updates = await bot.get_updates(timeout=10)
        started = time.monotonic()
        empty = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=10)
        return list(updates), list(empty), time.monotonic() - started

    updates, empty, waited = run(fake, scenario)

    assert [u.update_id for u in updates] == [first, first + 1]
    assert updates[0].message.text == "/visit Acme" and updates[1].callback_query.data
    assert empty == [] and waited < 1.0
    assert fake.pending_updates == []
    assert fake.calls_to("getUpdates")[1].params["offset"] == first + 2


def test_get_updates_wakes_when_an_update_is_queued() -> None:
    with FakeTelegram(long_poll_cap=10) as fake:
        timer = threading.Timer(0.1, fake.queue_update, [tp.text_update("Acme")])
        timer.start()
        started = time.monotonic()
        updates = run(fake, lambda bot: bot.get_updates(timeout=10))
        timer.join()

    assert [u.message.text for u in updates] == ["Acme"] and time.monotonic() - started < 5


def test_second_poller_terminates_the_first() -> None:
    with FakeTelegram(long_poll_cap=0.5) as fake:

        async def poll(bot: Bot) -> Any:
            async with Bot(token=TOKEN, base_url=fake.base_url) as other:
                return await asyncio.gather(
                    bot.get_updates(timeout=5), other.get_updates(timeout=5),
                    return_exceptions=True,
                )

        results = run(fake, poll)

    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1 and "only one bot instance" in conflicts[0].message


def test_limit_violations_flag_quick_sends_to_one_chat(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> None:
        await bot.send_message(111, "one")
        await bot.send_message(222, "other chat")
        await bot.send_message(-1001234567890, "group")
        await bot.send_message(111, "two")

    run(fake, scenario)

    violations = fake.limit_violations()
    assert [(v.rule, v.chat_id, v.call.params["text"]) for v in violations] == [
        (PER_CHAT, 111, "two")
    ]


def test_limit_violations_count_groups_per_minute_and_overall(fake: FakeTelegram) -> None:
    group = [Call("sendMessage", {"chat_id": -100, "text": "x"}, TOKEN, 1.5 * i) for i in range(21)]
    burst = [Call("sendMessage", {"chat_id": 1000 + i, "text": "x"}, TOKEN, 100 + i / 100)
             for i in range(31)]
    rejected = Call("sendMessage", {"chat_id": 1000, "text": "x"}, TOKEN, 100.001, status=429)
    fake.calls.extend([*group, *burst, rejected])

    violations = fake.limit_violations()

    assert [(v.rule, v.call) for v in violations] == [(PER_GROUP, group[20]), (OVERALL, burst[30])]


def test_enforce_limits_answers_429_instead() -> None:
    with FakeTelegram(enforce_limits=True) as fake:

        async def scenario(bot: Bot) -> None:
            await bot.send_message(111, "one")
            await bot.send_message(222, "other chat is fine")
            with pytest.raises(RetryAfter, match="Retry in 0:00:01"):
                await bot.send_message(111, "two")

        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PTB_TIMEDELTA", "true")
            run(fake, scenario)

        assert fake.limit_violations() == []
        assert fake.calls_to("sendMessage")[-1].status == 429


def test_wrong_token_and_unknown_method(fake: FakeTelegram) -> None:
    with FakeTelegram(token=TOKEN) as guarded, pytest.raises(InvalidToken, match="rejected"):
        run(guarded, lambda bot: bot.get_me(), token="999:WRONG")

    answer = httpx.post(f"{fake.base_url}{TOKEN}/sendCarrierPigeon", json={"chat_id": 1})
    file = httpx.get(f"{fake.base_file_url}{TOKEN}/documents/file_1.pdf")

    assert (answer.status_code, answer.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert file.status_code == 404 and file.json()["ok"] is False


def test_json_and_multipart_bodies_are_decoded(fake: FakeTelegram) -> None:
    fake.stub("sendDocument", {"message_id": 9})
    url = f"{fake.base_url}{TOKEN}"

    sent = httpx.post(
        f"{url}/sendMessage",
        json={"chat_id": "111", "text": "hi", "reply_markup": json.dumps(KEYBOARD_JSON)},
    ).json()
    uploaded = httpx.post(
        f"{url}/sendDocument",
        data={"chat_id": "-100", "caption": "123"},
        files={"document": ("report.csv", b"a,b\n", "text/csv")},
    ).json()

    assert sent["ok"] and sent["result"]["reply_markup"] == KEYBOARD_JSON
    assert fake.calls_to("sendMessage")[0].params["chat_id"] == "111"
    assert uploaded == {"ok": True, "result": {"message_id": 9}}
    params = fake.calls_to("senddocument")[0].params
    assert params == {
        "chat_id": -100,
        "caption": "123",
        "document": UploadedFile("report.csv", "text/csv", b"a,b\n"),
    }


def test_wait_for_blocks_until_calls_arrive(fake: FakeTelegram) -> None:
    worker = threading.Thread(target=run, args=(fake, lambda bot: bot.send_message(1, "later")))
    worker.start()

    calls = fake.wait_for("sendMessage")
    worker.join()

    assert calls[0].params["text"] == "later"
    with pytest.raises(AssertionError, match="setWebhook"):
        fake.wait_for("setWebhook", timeout=0.05)
    fake.clear()
    assert fake.calls == []


def test_command_update_parses_with_a_bot_command_entity() -> None:
    bot = Bot(TOKEN)
    private = Update.de_json(tp.command_update("/visit Acme note=hi"), bot)
    group = Update.de_json(
        tp.command_update("/visit Acme", chat_type="supergroup", mention=True, user_id=222), bot
    )
    basic = Update.de_json(tp.command_update("/kpi", chat_id=-4000000001), bot)

    assert private.message.text == "/visit Acme note=hi"
    assert private.effective_chat.type == "private" and private.effective_chat.id == 111
    assert (private.effective_user.language_code, private.effective_user.username) == (
        "en",
        "alice",
    )
    assert group.effective_chat.type == "supergroup" and group.effective_chat.id < -10**12
    assert group.effective_user.id == 222
    (entity,) = group.message.entities
    assert entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0
    assert group.message.parse_entity(entity) == "/visit@bizbot_test_bot"
    assert group.message.text == "/visit@bizbot_test_bot Acme"
    assert basic.effective_chat.type == "group"
    assert filters.COMMAND.check_update(private) and filters.COMMAND.check_update(group)
    assert group.update_id > private.update_id


def test_text_callback_and_my_chat_member_updates_parse() -> None:
    bot = Bot(TOKEN)
    reply = Update.de_json(tp.text_update("Acme", reply_to_message_id=5, reply_to_text="Who?"), bot)
    click = Update.de_json(
        tp.callback_update("approve:7", chat_id=-1001234567890, message_id=9, message_text="OK?"),
        bot,
    )
    added = Update.de_json(tp.my_chat_member_update(-1001234567890, 111), bot)

    assert reply.message.text == "Acme" and reply.message.entities == ()
    assert reply.message.reply_to_message.from_user.username == "bizbot_test_bot"
    assert click.callback_query.data == "approve:7"
    assert click.callback_query.message.message_id == 9
    assert click.callback_query.message.text == "OK?"
    assert click.effective_chat.type == "supergroup" and click.effective_user.id == 111
    button = click.callback_query.message.reply_markup.inline_keyboard[0][0]
    assert button.callback_data == "approve:7" and click.callback_query.chat_instance
    change = added.my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("left", "member")
    assert change.new_chat_member.user.id == 123 and change.from_user.id == 111
    assert added.effective_chat.type == "supergroup"


def test_webhook_body_and_headers() -> None:
    update = tp.command_update("/visit 拜访")

    assert json.loads(tp.json_body(update)) == update
    assert tp.webhook_headers("s3cr3t") == {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": "s3cr3t",
    }
    assert tp.webhook_headers(None) == {"Content-Type": "application/json"}


def test_serves_with_its_own_server_class_so_its_backlog_can_be_raised() -> None:
    """bench/telegram_updates.py raises telegram_fake._Server.request_queue_size for 50 concurrent clients."""
    from fakes import telegram_fake

    with FakeTelegram() as fake:
        assert type(fake._server) is telegram_fake._Server
