"""A local fake of Telegram's Bot API, reached through python-telegram-bot's base_url."""
from __future__ import annotations

import copy
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from fakes import telegram_payloads as tp
from fakes.fake_server import FakeHandler, FakeHTTPServer, FakeServer

Params = dict[str, Any]
Answer = dict[str, Any]
ChatKey = int | str

API_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?")
TEXT_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url",
        "secret_token", "ip_address", "language_code", "description", "short_description",
        "name", "title", "query", "data", "emoji", "business_connection_id", "action",
        "message_effect_id", "custom_title", "file_id", "switch_pm_text", "start_parameter",
    }
)
LIMITED_METHODS = frozenset({"sendmessage", "editmessagetext", "sendphoto", "senddocument"})
HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
        "tg-spoiler", "tg-emoji", "code", "pre", "blockquote",
    }
)
HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
INTEGER = re.compile(r"-?[0-9]+")
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
PER_CHAT_INTERVAL = 1.0
GROUP_WINDOW = 60.0
GROUP_PER_MINUTE = 20
GLOBAL_PER_SECOND = 30

PER_CHAT = "more than 1 message per second to one chat"
PER_GROUP = "more than 20 messages per minute to one group"
OVERALL = "more than 30 messages per second overall"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active;"
    " use deleteWebhook to delete the webhook first"
)
POLL_TERMINATED = (
    "Conflict: terminated by other getUpdates request;"
    " make sure that only one bot instance is running"
)
NOT_FOUND: Answer = {"ok": False, "error_code": 404, "description": "Not Found"}
METHOD_NOT_FOUND: Answer = {
    "ok": False,
    "error_code": 404,
    "description": "Not Found: method not found",
}


@dataclass(frozen=True)
class Call:
    """One Bot API request the fake answered; the token never shows in repr."""

    method: str
    params: Params
    token: str = field(repr=False)
    at: float = 0.0
    status: int = 200

    @property
    def ok(self) -> bool:
        """Whether the fake answered `{"ok": true}`."""
        return self.status == 200


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as recorded in Call.params."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Violation:
    """A send that broke one of Telegram's broadcast limits (`rule` says which)."""

    rule: str
    chat_id: ChatKey | None
    call: Call


class BotApiError(Exception):
    """An error answer: `{"ok": false, "error_code": code, "description": ...}`."""

    def __init__(self, description: str, code: int = 400, retry_after: int | None = None):
        super().__init__(description)
        self.description = description
        self.code = code
        self.retry_after = retry_after

    def answer(self) -> Answer:
        """The JSON body Telegram sends for this error."""
        body: Answer = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _ok(result: Any, description: str | None = None) -> Answer:
    answer: Answer = {"ok": True, "result": result}
    if description is not None:
        answer["description"] = description
    return answer


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _decode_value(name: str, value: str) -> Any:
    if name in TEXT_PARAMS:
        return value
    try:
        return json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value


def _decode_form(raw: str) -> Params:
    return {k: _decode_value(k, v) for k, v in parse_qsl(raw, keep_blank_values=True)}


def _decode_json(body: bytes) -> Params:
    decoded = json.loads(body)
    if not isinstance(decoded, dict):
        raise BotApiError("Bad Request: can't parse JSON object")
    return {
        k: _decode_value(k, v) if isinstance(v, str) and v[:1] in ("{", "[") else v
        for k, v in decoded.items()
    }


def _decode_multipart(content_type: str, body: bytes) -> Params:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    params: Params = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            charset = part.get_content_charset() or "utf-8"
            params[name] = _decode_value(name, data.decode(charset))
    return params


def _decode_body(content_type: str, body: bytes) -> Params:
    if not body:
        return {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        return _decode_json(body)
    if kind == "application/x-www-form-urlencoded":
        return _decode_form(body.decode("utf-8"))
    if kind == "multipart/form-data":
        return _decode_multipart(content_type, body)
    raise BotApiError(f"Bad Request: unsupported Content-Type {kind!r}")


def _chat_key(value: Any) -> ChatKey:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return int(text) if INTEGER.fullmatch(text) else text


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return NAMED_ENTITIES[name]

    return HTML_ENTITY.sub(replace, text)


def _entities_error(detail: str) -> BotApiError:
    return BotApiError(f"Bad Request: can't parse entities: {detail}")


def parse_html(text: str) -> str:
    """The plain text of a parse_mode=HTML message; BotApiError where Telegram's parser fails."""
    plain: list[str] = []
    open_tags: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        plain.append(_unescape(text[pos:start]))
        offset = len(text[:start].encode("utf-8"))
        closing = text.startswith("/", start + 1)
        end = start + 1 + closing
        if closing and not open_tags:
            raise _entities_error(f"Unexpected end tag at byte offset {offset}")
        while end < len(text) and not text[end].isspace() and text[end] != ">":
            end += 1
        name = text[start + 1 + closing : end].lower()
        if closing:
            if name and name != open_tags[-1]:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_tags[-1]}>",'
                    f' found "</{name}>"'
                )
            while end < len(text) and text[end].isspace():
                end += 1
            if end == len(text) or text[end] != ">":
                raise _entities_error(f"Unclosed end tag at byte offset {offset}")
            open_tags.pop()
        else:
            if end == len(text):
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            if name not in HTML_TAGS:
                raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
            end = text.find(">", end)
            if end == -1:
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            open_tags.append(name)
        pos = end + 1
    plain.append(_unescape(text[pos:]))
    if open_tags:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(plain)


def _render(text: Any, parse_mode: Any) -> str:
    if text is None or text == "":
        raise BotApiError("Bad Request: message text is empty")
    plain = parse_html(str(text)) if str(parse_mode or "").upper() == "HTML" else str(text)
    if not plain.strip():
        raise BotApiError("Bad Request: message text is empty")
    if len(plain) > MAX_TEXT:
        raise BotApiError("Bad Request: message is too long")
    return plain


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise BotApiError("Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if not rows:
        return None
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise BotApiError("Bad Request: BUTTON_DATA_INVALID")
    return markup


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _send_target(call: Call) -> ChatKey | None:
    return _chat_key(call.params["chat_id"]) if "chat_id" in call.params else None


def _broken_rules(
    at: float, chat: ChatKey | None, earlier: list[tuple[float, ChatKey | None]], tolerance: float
) -> list[tuple[str, float]]:
    """Limits a send at `at` to `chat` breaks after `earlier` sends, with the wait each needs."""
    broken: list[tuple[str, float]] = []
    if chat is not None:
        same = [t for t, c in earlier if c == chat]
        if same and at - same[-1] < PER_CHAT_INTERVAL - tolerance:
            broken.append((PER_CHAT, PER_CHAT_INTERVAL - (at - same[-1])))
        if isinstance(chat, int) and chat < 0:
            window = [t for t in same if at - t < GROUP_WINDOW - tolerance]
            if len(window) >= GROUP_PER_MINUTE:
                broken.append((PER_GROUP, GROUP_WINDOW - (at - window[-GROUP_PER_MINUTE])))
    recent = [t for t, _ in earlier if at - t < 1.0 - tolerance]
    if len(recent) >= GLOBAL_PER_SECOND:
        broken.append((OVERALL, 1.0 - (at - recent[-GLOBAL_PER_SECOND])))
    return broken


class _Server(FakeHTTPServer):
    fake: FakeTelegram


class _Handler(FakeHandler):
    server: _Server

    def _handle(self) -> None:
        at = self.server.fake.clock()
        url = urlsplit(self.path)
        path = unquote(url.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        api = API_PATH.fullmatch(path)
        if api is None:
            self._send(404, NOT_FOUND)
            return
        try:
            params = _decode_form(url.query) | _decode_body(
                self.headers.get("Content-Type", ""), body
            )
        except BotApiError as error:
            self._send(error.code, error.answer())
            return
        except ValueError as error:
            self._send(400, BotApiError(f"Bad Request: {error}").answer())
            return
        fake = self.server.fake
        status, answer = fake._respond(api["method"], params, api["token"], at)
        self._send(status, answer)


class FakeTelegram(FakeServer[Call]):
    """Telegram's Bot API on 127.0.0.1: records every call and answers like Telegram does.

    Lenient where a test cannot know better (any chat exists, editing an unseen message
    works), strict where Telegram's rules catch real bugs: HTML that Telegram cannot parse,
    callback_data over 64 bytes, texts over 4096 characters, "message is not modified",
    getUpdates while a webhook is set, webhook URLs that are not https.
    """

    handler = _Handler
    server_class = _Server
    case_sensitive_methods = False

    def __init__(
        self,
        token: str | None = None,
        bot_username: str = tp.BOT_USERNAME,
        bot_first_name: str = tp.BOT_FIRST_NAME,
        enforce_limits: bool = False,
        limit_tolerance: float = 0.05,
        long_poll_cap: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.enforce_limits = enforce_limits
        self.limit_tolerance = limit_tolerance
        self.long_poll_cap = long_poll_cap
        self.messages: dict[tuple[ChatKey, int], dict[str, Any]] = {}
        self.chats: dict[ChatKey, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self._faults: defaultdict[str, deque[BotApiError]] = defaultdict(deque)
        self._stubs: dict[str, Any] = {}
        self._delay = 0.0
        self._updates: list[dict[str, Any]] = []
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._stopping = False
        self._webhook: dict[str, Any] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._members: dict[tuple[ChatKey, int], str] = {}
        self._last_message_ids: defaultdict[ChatKey, int] = defaultdict(int)
        self._answers: dict[str, Callable[[Params, str], Answer]] = {
            "getme": lambda params, token: _ok(self._bot(token, get_me=True)),
            "sendmessage": self._send_message,
            "editmessagetext": lambda params, token: self._edit(params, token, new_text=True),
            "editmessagereplymarkup": lambda params, token: self._edit(params, token),
            "answercallbackquery": lambda params, token: _ok(True),
            "sendchataction": lambda params, token: _ok(True),
            "deletemessage": self._delete_message,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getupdates": self._get_updates,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
        }

    def _on_start(self) -> None:
        self._stopping = False

    def _on_stop(self) -> None:
        """End waiting long polls."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    @property
    def base_url(self) -> str:
        """What to pass as python-telegram-bot's `base_url` (it appends the token)."""
        return f"{self.root}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as python-telegram-bot's `base_file_url`; file downloads answer 404."""
        return f"{self.root}/file/bot"

    @property
    def webhook(self) -> dict[str, Any]:
        """The parameters of the last successful setWebhook; empty when none is set."""
        with self._changed:
            return dict(self._webhook)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates not yet confirmed by a getUpdates offset."""
        with self._changed:
            return copy.deepcopy(self._updates)

    def queue_update(self, update: Mapping[str, Any]) -> int:
        """Queue an Update for getUpdates and return its update_id (assigned when missing)."""
        queued = copy.deepcopy(dict(update))
        with self._changed:
            if "update_id" not in queued:
                queued["update_id"] = self._last_update_id + 1
            self._last_update_id = max(self._last_update_id, int(queued["update_id"]))
            self._remember(queued)
            self._updates.append(queued)
            self._changed.notify_all()
        return int(queued["update_id"])

    def remember(self, update: Mapping[str, Any]) -> None:
        """Learn the chats, users and bot messages an update mentions (e.g. one sent by webhook)."""
        with self._changed:
            self._remember(update)

    def set_member(self, chat_id: ChatKey, user_id: int, status: str = "member") -> None:
        """Make getChatMember answer `status` for this user in this chat."""
        if status not in tp.template("chat_members"):
            raise ValueError(f"unknown chat member status {status!r}")
        with self._changed:
            self._members[(_chat_key(chat_id), user_id)] = status

    def commands_for(
        self, language_code: str = "", scope: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The commands setMyCommands stored for this scope and language."""
        with self._changed:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def stub(self, method: str, result: Any) -> None:
        """Answer every later successful call to `method` with `{"ok": true, "result": result}`."""
        with self._changed:
            self._stubs[method.lower()] = copy.deepcopy(result)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls to `method` with HTTP 429 and parameters.retry_after."""
        error = BotApiError(
            f"Too Many Requests: retry after {retry_after}", 429, retry_after=retry_after
        )
        with self._changed:
            self._faults[method.lower()].extend([error] * times)

    def fail(
        self,
        method: str,
        description: str = "Bad Request: chat not found",
        code: int = 400,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls to `method` with this error (403 for a blocked bot...)."""
        with self._changed:
            self._faults[method.lower()].extend([BotApiError(description, code)] * times)

    def delay(self, seconds: float) -> None:
        """Make every later answer wait `seconds` (after the call is recorded)."""
        self._delay = seconds

    def limit_violations(self, tolerance: float | None = None) -> list[Violation]:
        """Successful sends that broke Telegram's limits, judged by their arrival times.

        The limits (core.telegram.org/bots/faq): at most one message per second to a chat,
        20 per minute to a group, 30 per second overall. `tolerance` (seconds, default
        `limit_tolerance`) forgives timer jitter: a gap of 0.96 s counts as one second.
        """
        slack = self.limit_tolerance if tolerance is None else tolerance
        with self._changed:
            sends = sorted(
                (c for c in self.calls if c.ok and c.method.lower() in LIMITED_METHODS),
                key=lambda c: c.at,
            )
        marks = [(call.at, _send_target(call)) for call in sends]
        return [
            Violation(rule, marks[i][1], call)
            for i, call in enumerate(sends)
            for rule, _ in _broken_rules(call.at, marks[i][1], marks[:i], slack)
        ]

    def _respond(self, method: str, params: Params, token: str, at: float) -> tuple[int, Answer]:
        with self._changed:
            try:
                answer = self._answer(method, params, token, at)
                status = 200
            except BotApiError as error:
                answer, status = error.answer(), error.code
            self.calls.append(Call(method, params, token, at, status))
            self._changed.notify_all()
        if self._delay:
            time.sleep(self._delay)
        return status, answer

    def _answer(self, method: str, params: Params, token: str, at: float) -> Answer:
        if self.token is not None and token != self.token:
            raise BotApiError("Unauthorized", 401)
        key = method.lower()
        if self._faults[key]:
            raise self._faults[key].popleft()
        handler = self._answers.get(key)
        if handler is None and key not in self._stubs:
            raise BotApiError(METHOD_NOT_FOUND["description"], 404)
        if self.enforce_limits and key in LIMITED_METHODS:
            self._enforce_limits(params, at)
        if key in self._stubs:
            return _ok(copy.deepcopy(self._stubs[key]))
        assert handler is not None
        return handler(params, token)

    def _enforce_limits(self, params: Params, at: float) -> None:
        chat = _chat_key(params["chat_id"]) if "chat_id" in params else None
        earlier = sorted(
            (c.at, _send_target(c))
            for c in self.calls
            if c.ok and c.method.lower() in LIMITED_METHODS
        )
        broken = _broken_rules(at, chat, earlier, self.limit_tolerance)
        if broken:
            retry_after = max(1, math.ceil(max(wait for _, wait in broken)))
            raise BotApiError(
                f"Too Many Requests: retry after {retry_after}", 429, retry_after=retry_after
            )

    def _remember(self, update: Mapping[str, Any]) -> None:
        for key, value in update.items():
            if key == "update_id" or not isinstance(value, dict):
                continue
            self._learn(value)
            nested = value.get("message")
            if isinstance(nested, dict):
                self._learn(nested)
                if "message_id" in nested and "chat" in nested:
                    chat = _chat_key(nested["chat"]["id"])
                    self.messages[(chat, int(nested["message_id"]))] = copy.deepcopy(nested)

    def _learn(self, obj: Mapping[str, Any]) -> None:
        chat = obj.get("chat")
        if isinstance(chat, dict) and "id" in chat:
            key = _chat_key(chat["id"])
            self.chats[key] = copy.deepcopy(chat)
            if "message_id" in obj:
                self._last_message_ids[key] = max(
                    self._last_message_ids[key], int(obj["message_id"])
                )
        sender = obj.get("from")
        if isinstance(sender, dict) and not sender.get("is_bot"):
            self.users[int(sender["id"])] = copy.deepcopy(sender)

    def _bot_id(self, token: str) -> int:
        prefix = token.partition(":")[0]
        return int(prefix) if prefix.isdigit() else tp.BOT_ID

    def _bot(self, token: str, get_me: bool = False) -> dict[str, Any]:
        return tp.bot_user(self._bot_id(token), self.bot_username, self.bot_first_name, get_me)

    def _chat(self, key: ChatKey) -> dict[str, Any]:
        if key in self.chats:
            return copy.deepcopy(self.chats[key])
        if isinstance(key, int) and key > 0:
            user = self.users.get(key, {"first_name": "User"})
            names = {k: user[k] for k in ("first_name", "last_name", "username") if k in user}
            return {"id": key, **names, "type": "private"}
        return {"id": key, "title": "Group", "type": "supergroup"}

    def _user(self, user_id: int, token: str) -> dict[str, Any]:
        if user_id == self._bot_id(token):
            return self._bot(token)
        known = self.users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "User"})
        return copy.deepcopy(known)

    @staticmethod
    def _required(params: Params, name: str) -> Any:
        value = params.get(name)
        if value is None or value == "":
            raise BotApiError(f"Bad Request: {name} is empty")
        return value

    def _next_message_id(self, chat: ChatKey) -> int:
        self._last_message_ids[chat] += 1
        return self._last_message_ids[chat]

    def _reply_to(self, chat: ChatKey, params: Params) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = message_id or params.get("reply_to_message_id")
        stored = self.messages.get((chat, int(message_id))) if message_id else None
        if stored is None:
            return None
        return {k: copy.deepcopy(v) for k, v in stored.items() if k != "reply_to_message"}

    def _send_message(self, params: Params, token: str) -> Answer:
        chat = _chat_key(self._required(params, "chat_id"))
        text = _render(params.get("text"), params.get("parse_mode"))
        markup = _inline_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat),
            "from": self._bot(token),
            "chat": self._chat(chat),
            "date": int(time.time()),
            "text": text,
        }
        reply_to = self._reply_to(chat, params)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if markup is not None:
            message["reply_markup"] = copy.deepcopy(markup)
        self.messages[(chat, message["message_id"])] = copy.deepcopy(message)
        return _ok(message)

    def _send_document(self, params: Params, token: str) -> Answer:
        """Any file uploaded as a multipart part (or a file id/URL string), with an optional caption."""
        return self._send_file(params, token, "document", lambda chat, file, size: {
            "file_id": f"document-{chat}-{self._last_message_ids[chat]}", "file_unique_id": "u",
            "file_name": file.filename if isinstance(file, UploadedFile) else None, "file_size": size})

    def _send_photo(self, params: Params, token: str) -> Answer:
        """A photo uploaded as a multipart file part (or a file id/URL string), with an optional caption."""
        return self._send_file(params, token, "photo", lambda chat, _file, size: [{
            "file_id": f"photo-{chat}-{self._last_message_ids[chat]}", "file_unique_id": "u",
            "width": 1000, "height": 450, "file_size": size}])

    def _send_file(self, params: Params, token: str, field: str,
                   describe: Callable[[ChatKey, Any, int], Any]) -> Answer:
        """sendPhoto and sendDocument: the file in `field` must not be empty, the caption at most 1024
        characters; the message carries what `describe` makes of the file."""
        chat = _chat_key(self._required(params, "chat_id"))
        file = self._required(params, field)
        if isinstance(file, UploadedFile) and not file.data:
            raise BotApiError("Bad Request: file must be non-empty")
        caption = _render(params.get("caption") or "", params.get("parse_mode"))
        if len(caption) > 1024:
            raise BotApiError("Bad Request: message caption is too long")
        size = len(file.data) if isinstance(file, UploadedFile) else 0
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat),
            "from": self._bot(token),
            "chat": self._chat(chat),
            "date": int(time.time()),
        }
        message[field] = describe(chat, file, size)
        if caption:
            message["caption"] = caption
        markup = _inline_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = copy.deepcopy(markup)
        self.messages[(chat, message["message_id"])] = copy.deepcopy(message)
        return _ok(message)

    def _edit(self, params: Params, token: str, new_text: bool = False) -> Answer:
        text = _render(params.get("text"), params.get("parse_mode")) if new_text else None
        markup = _inline_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return _ok(True)
        chat = _chat_key(self._required(params, "chat_id"))
        message_id = int(self._required(params, "message_id"))
        current = self.messages.get((chat, message_id))
        edited = copy.deepcopy(current) if current is not None else {
            "message_id": message_id,
            "from": self._bot(token),
            "chat": self._chat(chat),
            "date": int(time.time()),
            "text": "",
        }
        if text is not None:
            edited["text"] = text
        edited.pop("reply_markup", None)
        if markup is not None:
            edited["reply_markup"] = copy.deepcopy(markup)
        if current is not None and all(
            edited.get(k) == current.get(k) for k in ("text", "reply_markup")
        ):
            raise BotApiError(NOT_MODIFIED)
        edited["edit_date"] = int(time.time())
        self._last_message_ids[chat] = max(self._last_message_ids[chat], message_id)
        self.messages[(chat, message_id)] = copy.deepcopy(edited)
        return _ok(edited)

    def _delete_message(self, params: Params, token: str) -> Answer:
        chat = _chat_key(self._required(params, "chat_id"))
        message_id = int(self._required(params, "message_id"))
        self.messages.pop((chat, message_id), None)
        return _ok(True)

    @staticmethod
    def _commands_key(scope: Mapping[str, Any] | None, language_code: Any) -> tuple[str, str]:
        scope_json = json.dumps(dict(scope or {"type": "default"}), sort_keys=True)
        return scope_json, str(language_code or "")

    def _set_my_commands(self, params: Params, token: str) -> Answer:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise BotApiError("Bad Request: can't parse commands JSON object")
        for command in commands:
            if not COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise BotApiError("Bad Request: BOT_COMMAND_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = copy.deepcopy(commands)
        return _ok(True)

    def _get_my_commands(self, params: Params, token: str) -> Answer:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return _ok(copy.deepcopy(self._commands.get(key, [])))

    def _delete_my_commands(self, params: Params, token: str) -> Answer:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return _ok(True)

    def _set_webhook(self, params: Params, token: str) -> Answer:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params, token)
        if not url.startswith("https://"):
            raise BotApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            raise BotApiError("Bad Request: secret token contains unallowed characters")
        already = self._webhook.get("url") == url
        self._webhook = dict(params)
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return _ok(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, params: Params, token: str) -> Answer:
        was_set = bool(self._webhook)
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return _ok(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def _get_webhook_info(self, params: Params, token: str) -> Answer:
        info: dict[str, Any] = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": "certificate" in self._webhook,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = int(self._webhook.get("max_connections") or 40)
            for name in ("ip_address", "allowed_updates"):
                if self._webhook.get(name):
                    info[name] = self._webhook[name]
        return _ok(info)

    def _get_chat(self, params: Params, token: str) -> Answer:
        chat = self._chat(_chat_key(self._required(params, "chat_id")))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return _ok(chat)

    def _get_chat_member(self, params: Params, token: str) -> Answer:
        chat = _chat_key(self._required(params, "chat_id"))
        user_id = int(self._required(params, "user_id"))
        status = self._members.get((chat, user_id), "member")
        return _ok(tp.chat_member(self._user(user_id, token), status))

    def _wanted(self, update: Mapping[str, Any]) -> bool:
        if self._allowed_updates:
            return _update_type(update) in self._allowed_updates
        return _update_type(update) not in DEFAULT_EXCLUDED_UPDATES

    def _deliverable(self) -> list[dict[str, Any]]:
        return [update for update in self._updates if self._wanted(update)]

    def _get_updates(self, params: Params, token: str) -> Answer:
        if self._webhook:
            raise BotApiError(WEBHOOK_ACTIVE, 409)
        self._poll_generation += 1
        mine = self._poll_generation
        self._changed.notify_all()
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        elif isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        self._updates = self._deliverable()
        limit = max(1, min(100, int(params.get("limit") or 100)))
        wait = min(float(params.get("timeout") or 0), self.long_poll_cap)
        self._changed.wait_for(
            lambda: bool(self._deliverable()) or self._poll_generation != mine or self._stopping,
            wait,
        )
        if self._poll_generation != mine:
            raise BotApiError(POLL_TERMINATED, 409)
        return _ok(copy.deepcopy(self._deliverable()[:limit]))


def fake_telegram_server(**settings: Any) -> Iterator[FakeTelegram]:
    """Yield a running FakeTelegram and stop it afterwards; wrap it in a pytest fixture."""
    with FakeTelegram(**settings) as fake:
        yield fake
