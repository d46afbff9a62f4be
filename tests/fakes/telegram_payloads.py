"""Builders for the Updates Telegram sends to a bot, from recorded shapes in fixtures/telegram/."""
from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "telegram"
JSON = "application/json"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BOT_ID = 123
BOT_USERNAME = "bizbot_test_bot"
BOT_FIRST_NAME = "bizbot"
GROUP_ID = -4012345678
SUPERGROUP_ID = -1001234567890
CHAT_TYPES = ("private", "group", "supergroup")
BOT_USER_FIELDS = ("id", "is_bot", "first_name", "username")

JSONDict = dict[str, Any]

_update_ids = itertools.count(700_000_001)
_message_ids = itertools.count(1001)
_query_ids = itertools.count(4_382_102_950_274_913_541)


@cache
def _load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def template(name: str) -> Any:
    """A fresh deep copy of the fixture `fixtures/telegram/<name>.json`."""
    return copy.deepcopy(_load(name))


def next_update_id() -> int:
    """The next update_id of this test run; ids only ever increase, like Telegram's."""
    return next(_update_ids)


def utf16_len(text: str) -> int:
    """The length Telegram uses for entity offsets and lengths: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def user(
    user_id: int = 111,
    first_name: str = "Alice",
    username: str | None = "alice",
    language_code: str | None = "en",
    last_name: str | None = None,
) -> JSONDict:
    """A human User as it appears in `from`; optional fields are left out when None."""
    fields = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "last_name": last_name,
        "username": username,
        "language_code": language_code,
    }
    return {key: value for key, value in fields.items() if value is not None}


def bot_user(
    bot_id: int = BOT_ID,
    username: str = BOT_USERNAME,
    first_name: str = BOT_FIRST_NAME,
    get_me: bool = False,
) -> JSONDict:
    """The bot as a User: the short form inside messages, or getMe's full form."""
    me = template("bot_user")
    me.update(id=bot_id, username=username, first_name=first_name)
    return me if get_me else {key: me[key] for key in BOT_USER_FIELDS}


def chat_type_of(chat_id: int) -> str:
    """The type Telegram's id ranges imply: private > 0, supergroup -100…, else group."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def chat(
    chat_id: int | None = None,
    chat_type: str | None = None,
    title: str | None = None,
    member: Mapping[str, Any] | None = None,
) -> JSONDict:
    """A Chat; a private chat takes its names from `member`, a group gets a title."""
    if chat_type is None:
        chat_type = chat_type_of(chat_id) if chat_id is not None else "private"
    if chat_type not in CHAT_TYPES:
        raise ValueError(f"chat_type must be one of {CHAT_TYPES}, not {chat_type!r}")
    shape = template("chats")[chat_type]
    if chat_id is not None:
        shape["id"] = chat_id
    if chat_type == "private":
        if member is not None:
            for key in ("first_name", "last_name", "username"):
                shape.pop(key, None)
                if key in member:
                    shape[key] = member[key]
    elif title is not None:
        shape["title"] = title
    return shape


def chat_member(member_user: Mapping[str, Any], status: str = "member") -> JSONDict:
    """A ChatMember of the given status (creator, administrator, member, restricted, ...)."""
    shapes = template("chat_members")
    if status not in shapes:
        raise ValueError(f"status must be one of {sorted(shapes)}, not {status!r}")
    return {"user": dict(member_user), **shapes[status]}


def _chat_for(
    chat_id: int | None, chat_type: str | None, sender: Mapping[str, Any]
) -> JSONDict:
    if chat_id is None:
        defaults = {"private": sender["id"], "group": GROUP_ID, "supergroup": SUPERGROUP_ID}
        chat_id = defaults[chat_type or "private"]
    return chat(chat_id, chat_type, member=sender)


def _message_update(
    text: str,
    entities: list[JSONDict],
    user_id: int,
    chat_id: int | None,
    chat_type: str | None,
    language_code: str | None,
    update_id: int | None,
    username: str | None,
    first_name: str,
    message_id: int | None,
    date: int | None,
) -> JSONDict:
    update = template("update_message")
    sender = user(user_id, first_name, username, language_code)
    message = update["message"]
    message.update(
        message_id=next(_message_ids) if message_id is None else message_id,
        chat=_chat_for(chat_id, chat_type, sender),
        date=int(time.time()) if date is None else date,
        text=text,
        entities=entities,
    )
    message["from"] = sender
    if not entities:
        del message["entities"]
    update["update_id"] = next_update_id() if update_id is None else update_id
    return update


def command_update(
    text: str = "/visit Acme note=hi",
    user_id: int = 111,
    chat_id: int | None = None,
    chat_type: str | None = None,
    language_code: str | None = "en",
    update_id: int | None = None,
    username: str | None = "alice",
    first_name: str = "Alice",
    bot_username: str = BOT_USERNAME,
    mention: bool = False,
    message_id: int | None = None,
    date: int | None = None,
) -> JSONDict:
    """A message starting with a command, with its `bot_command` entity.

    `mention=True` writes the command as `/visit@<bot_username>`, as Telegram clients do in
    groups; the entity then covers the `@bot_username` part too. chat_id defaults to the
    user's private chat, or to a typical id for chat_type "group"/"supergroup".
    """
    if not text.startswith("/"):
        raise ValueError(f"a command starts with '/': {text!r}")
    command, space, rest = text.partition(" ")
    if mention and "@" not in command:
        command = f"{command}@{bot_username}"
    text = f"{command}{space}{rest}"
    entity = {"offset": 0, "length": utf16_len(command), "type": "bot_command"}
    return _message_update(
        text, [entity], user_id, chat_id, chat_type, language_code, update_id, username,
        first_name, message_id, date,
    )


def text_update(
    text: str = "Acme",
    user_id: int = 111,
    chat_id: int | None = None,
    chat_type: str | None = None,
    language_code: str | None = "en",
    update_id: int | None = None,
    username: str | None = "alice",
    first_name: str = "Alice",
    reply_to_message_id: int | None = None,
    reply_to_text: str = "",
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
    message_id: int | None = None,
    date: int | None = None,
) -> JSONDict:
    """A plain text message; with reply_to_message_id it answers a bot message (ForceReply)."""
    update = _message_update(
        text, [], user_id, chat_id, chat_type, language_code, update_id, username, first_name,
        message_id, date,
    )
    message = update["message"]
    if reply_to_message_id is not None:
        message["reply_to_message"] = {
            "message_id": reply_to_message_id,
            "from": bot_user(bot_id, bot_username),
            "chat": copy.deepcopy(message["chat"]),
            "date": message["date"] - 1,
            "text": reply_to_text,
        }
    return update


def inline_keyboard(*rows: Mapping[str, str]) -> JSONDict:
    """An InlineKeyboardMarkup with one row per argument: {button text: callback_data}."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row.items()]
            for row in rows
        ]
    }


def callback_update(
    data: str = "approve:1",
    user_id: int = 111,
    chat_id: int | None = None,
    message_id: int | None = None,
    message_text: str = "Approve the visit to Acme?",
    update_id: int | None = None,
    chat_type: str | None = None,
    reply_markup: Mapping[str, Any] | None = None,
    language_code: str | None = "en",
    username: str | None = "alice",
    first_name: str = "Alice",
    query_id: str | None = None,
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
    date: int | None = None,
) -> JSONDict:
    """A button press on a bot message; the message carries a keyboard holding `data`."""
    update = template("update_callback_query")
    sender = user(user_id, first_name, username, language_code)
    the_chat = _chat_for(chat_id, chat_type, sender)
    query = update["callback_query"]
    query.update(
        id=str(next(_query_ids)) if query_id is None else query_id,
        chat_instance=str(-5_318_419_624_283_915_843 + the_chat["id"]),
        data=data,
    )
    query["from"] = sender
    query["message"].update(
        message_id=next(_message_ids) if message_id is None else message_id,
        chat=the_chat,
        date=int(time.time()) - 1 if date is None else date,
        text=message_text,
        reply_markup=(
            dict(reply_markup) if reply_markup is not None else inline_keyboard({"OK": data})
        ),
    )
    query["message"]["from"] = bot_user(bot_id, bot_username)
    update["update_id"] = next_update_id() if update_id is None else update_id
    return update


def my_chat_member_update(
    chat_id: int = SUPERGROUP_ID,
    user_id: int = 111,
    new_status: str = "member",
    old_status: str | None = None,
    chat_type: str | None = None,
    title: str | None = None,
    update_id: int | None = None,
    language_code: str | None = "en",
    username: str | None = "alice",
    first_name: str = "Alice",
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
    date: int | None = None,
) -> JSONDict:
    """The bot's own membership changed in a chat, by `user_id` (default: added to a group)."""
    if old_status is None:
        old_status = "left" if new_status in ("member", "administrator") else "member"
    update = template("update_my_chat_member")
    sender = user(user_id, first_name, username, language_code)
    change = update["my_chat_member"]
    the_bot = bot_user(bot_id, bot_username)
    change.update(
        chat=chat(chat_id, chat_type, title, member=sender),
        date=int(time.time()) if date is None else date,
        old_chat_member=chat_member(the_bot, old_status),
        new_chat_member=chat_member(the_bot, new_status),
    )
    change["from"] = sender
    update["update_id"] = next_update_id() if update_id is None else update_id
    return update


def json_body(update: Mapping[str, Any]) -> bytes:
    """The body Telegram POSTs to a webhook."""
    return json.dumps(update, ensure_ascii=False).encode("utf-8")


def webhook_headers(secret: str | None = None) -> dict[str, str]:
    """Headers of a webhook POST; the secret header only when setWebhook got a secret_token."""
    headers = {"Content-Type": JSON}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    return headers
