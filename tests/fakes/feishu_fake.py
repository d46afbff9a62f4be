"""A local fake of Feishu's Open API (what lark-oapi's Client calls through its domain): the tenant access
token, the bot's info, im messages (create, reply, patch), image and file upload, contact user get, the long
connection's endpoint (answered by a FakeLongConnection, tests/fakes/feishu_ws_fake.py); and Feishu's throttling
answers (HTTP 429 with code 99991400 and x-ogw-ratelimit-reset, or im's 230020)."""
from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fakes.fake_server import FakeHandler, FakeHTTPServer, FakeServer

BOT_OPEN_ID = "ou_bot0000000000000000000000000000"
TENANT = "tenant_acme"


@dataclass(frozen=True)
class Call:
    """One request: `method` is a name such as "im.message.create"; `body` its JSON (or multipart bytes)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(repr=False)


class _Server(FakeHTTPServer):
    fake: FakeFeishu


class _Handler(FakeHandler):
    server: _Server
    content_type = "application/json; charset=utf-8"

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        body: Any = raw
        if not headers.get("content-type", "").startswith("multipart/") and raw[:1] == b"{":
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        call = Call(_name(self.command, url.path), url.path, dict(parse_qsl(url.query)), body, headers)
        status, answer, extra = self.server.fake.respond(call)
        self._send(status, answer, extra)


def _name(verb: str, path: str) -> str:
    if path == "/callback/ws/endpoint":
        return "ws.endpoint"
    parts = path.removeprefix("/open-apis/").split("/")
    if parts[:2] == ["auth", "v3"]:
        return "auth.tenant_access_token"
    if parts[:2] == ["bot", "v3"]:
        return "bot.info"
    if parts[:3] == ["im", "v1", "messages"]:
        if len(parts) == 3:
            return "im.message.create"
        if len(parts) == 5 and parts[4] == "reply":
            return "im.message.reply"
        return "im.message.patch" if verb == "PATCH" else "im.message.get"
    if parts[:3] == ["im", "v1", "images"]:
        return "im.image.create"
    if parts[:3] == ["im", "v1", "files"]:
        return "im.file.create"
    if parts[:3] == ["contact", "v3", "users"]:
        return "contact.user.get"
    return "unknown"


class FakeFeishu(FakeServer[Call]):
    handler = _Handler
    server_class = _Server

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, dict[str, Any]] = {}  # open_id → {"name": …}
        self.messages: dict[str, dict[str, Any]] = {}  # message_id → {"to", "msg_type", "content", "patches"}
        self._faults: dict[str, deque[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self._ids = itertools.count(1)
        self.bot_reachable = True
        self.long_connection: Any = None  # a FakeLongConnection: where /callback/ws/endpoint sends a client
        self._held: dict[str, threading.Event] = {}

    def hold(self, method: str) -> threading.Event:
        """Calls to `method` are recorded at once but answered only once the returned event is set (or after
        ten seconds): what bizbot does while Feishu has not answered yet."""
        gate = self._held[method] = threading.Event()
        return gate

    def fail(self, method: str, status: int = 429, code: int = 99991400, times: int = 1,
             headers: dict[str, str] | None = None) -> None:
        """The next `times` calls to `method` answer this (by default Feishu's frequency limit)."""
        answer = {"code": code, "msg": "request trigger frequency limit" if code in (99991400, 230020) else "error"}
        if status == 429 and headers is None:
            headers = {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": "2"}
        for _ in range(times):
            self._faults.setdefault(method, deque()).append((status, answer, headers or {}))

    def respond(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
            faults = self._faults.get(call.method)
            if faults:
                return faults.popleft()
            gate = self._held.get(call.method)
        if gate is not None:
            gate.wait(10)
        if call.method == "ws.endpoint":
            if self.long_connection is None:
                return 404, {"code": 404, "msg": "not found"}, {}
            status, answer = self.long_connection.endpoint(call.body)
            return status, answer, {}
        if call.method == "auth.tenant_access_token":
            return 200, {"code": 0, "msg": "ok", "tenant_access_token": "t-fake-tenant-token", "expire": 7200}, {}
        if call.method != "auth.tenant_access_token" and not call.headers.get("authorization", "").startswith(
                "Bearer t-"):
            return 401, {"code": 99991661, "msg": "missing access token"}, {}
        if call.method == "bot.info":
            return 200, {"code": 0, "msg": "ok", "bot": {"open_id": BOT_OPEN_ID, "app_name": "bizbot",
                                                         "activate_status": 2}}, {}
        if call.method in ("im.message.create", "im.message.reply"):
            body = call.body if isinstance(call.body, dict) else {}
            message_id = f"om_{next(self._ids):06d}"
            to = body.get("receive_id") or call.path.split("/")[5]
            if call.method == "im.message.reply":
                to = "reply:" + self.messages.get(call.path.split("/")[5], {}).get("to", "?")
            with self._changed:
                self.messages[message_id] = {"to": to, "type": call.query.get("receive_id_type"),
                                             "msg_type": body.get("msg_type"),
                                             "content": json.loads(body.get("content") or "{}"), "patches": [],
                                             "reply_to": call.path.split("/")[5]
                                             if call.method == "im.message.reply" else None}
            return 200, {"code": 0, "msg": "success", "data": {"message_id": message_id, "msg_type":
                                                               body.get("msg_type")}}, {}
        if call.method == "im.message.patch":
            message_id = call.path.split("/")[5]
            if message_id not in self.messages:
                return 400, {"code": 230001, "msg": "message not found"}, {}
            with self._changed:
                self.messages[message_id]["patches"].append(json.loads(call.body.get("content") or "{}"))
            return 200, {"code": 0, "msg": "success", "data": {}}, {}
        if call.method == "im.image.create":
            return 200, {"code": 0, "msg": "success", "data": {"image_key": f"img_{next(self._ids)}"}}, {}
        if call.method == "im.file.create":
            return 200, {"code": 0, "msg": "success", "data": {"file_key": f"file_{next(self._ids)}"}}, {}
        if call.method == "contact.user.get":
            open_id = call.path.split("/")[-1]
            user = self.users.get(open_id)
            if user is None:
                return 400, {"code": 41050, "msg": "no user authority"}, {}
            return 200, {"code": 0, "msg": "success", "data": {"user": {"open_id": open_id, **user}}}, {}
        return 404, {"code": 404, "msg": "not found"}, {}

    # --- what a person would see ------------------------------------------------------------------
    def sent(self, to: str | None = None) -> list[dict[str, Any]]:
        """Messages bizbot sent (to a chat or person; a reply's `to` is "reply:" + its chat), oldest first."""
        with self._changed:
            return [dict(m, id=i) for i, m in self.messages.items() if to is None or m["to"] == to]

    def shown(self, message_id: str) -> dict[str, Any]:
        """A message's content as it shows now (its last patch)."""
        message = self.messages[message_id]
        return message["patches"][-1] if message["patches"] else message["content"]


def card_text(card: dict[str, Any]) -> str:
    """Everything a card says: its header, markdown, buttons' labels and values, form fields."""
    return json.dumps(card, ensure_ascii=False)


def buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A card's buttons' callback values by the command word of their line (`/approve`)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("tag") == "button":
                for behaviour in node.get("behaviors") or []:
                    value = behaviour.get("value") or {}
                    if "line" in value:
                        found[value["line"].split()[0]] = value
                    elif "form" in value:
                        found["submit"] = value
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found
